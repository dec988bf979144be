import SwiftletCore

/// Float reference maximum, minimum or product (`kind` reduceMax, reduceMin or reduceProd) over the
/// reduced dims of `plan` (a `MeanPlan`; its divisor is unused): `y[o]` combines, in input order, the
/// input elements `i` that map to output `o`, starting from the first of them. NaN propagates through
/// maximum and minimum, as ONNX Runtime's ReduceMax and ReduceMin do.
public func reduceF32_reference(kind: OpKind, x: UnsafePointer<Float>, plan p: MeanPlan, y: UnsafeMutablePointer<Float>) {
    let start: Float = kind == .reduceProd ? 1 : (kind == .reduceMax ? -.infinity : .infinity)
    for i in 0..<p.outCount { y[i] = start }
    switch kind {
    case .reduceMax:
        forEach6(p.dims, p.dims.strides, p.toOut) { _, i, o in
            let v = x[i]
            if v > y[o] || v.isNaN { y[o] = v }
        }
    case .reduceMin:
        forEach6(p.dims, p.dims.strides, p.toOut) { _, i, o in
            let v = x[i]
            if v < y[o] || v.isNaN { y[o] = v }
        }
    default:
        forEach6(p.dims, p.dims.strides, p.toOut) { _, i, o in y[o] *= x[i] }
    }
}
