import SwiftletCore
import SwiftletKernels
import SwiftletModel

/// The steps of convolutions and fully connected layers, float32 and int8: each with its kernel
/// variant and its weights, packed here at load when the file does not store them in that variant's layout.
extension StepBuilder {
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func convQS8(_ c: Conv2D, _ fx: inout PrepareEffects) throws(SwiftletError) -> Step {
        let requant = requantization(c.activation)
        let bias = i32(2)
        let g = ConvGeometry(xShape: xShape, yShape: yShape, params: c)
        let v = variant ?? KernelTables.convQS8[0]
        let (path, name, zeroPoint) = (path, node.name, xq.zeroPoint)
        let (w, packed) = try weights(v, int8: true, &fx) { (plain) throws(SwiftletError) in
            try packConvQS8(v, g, w: plain.assumingMemoryBound(to: Int8.self), bias: bias, inputZeroPoint: zeroPoint, requant: requant,
                            what: "\(path): packed weights of node '\(name)'").weights
        }
        let comps = try compensation(v, n: g.oc, k: g.depth, packed: packed, &fx)
        return .conv2dQS8(ConvQS8Step(x: i8(0), xShape: xShape, inputZeroPoint: xq.zeroPoint, w: w.assumingMemoryBound(to: Int8.self), b: bias,
                                      y: y8, yShape: yShape, yPixelStride: yPixelStride, params: c, requant: requant,
                                      kernel: v, geometry: g, packed: packed, scratch: fastScratch, comps: comps,
                                      bounded: qs8FloatBounded(v, requant, n: g.oc, k: g.depth, packed: packed)))
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func convF32(_ c: Conv2D, _ fx: inout PrepareEffects) throws(SwiftletError) -> Step {
        let g = ConvGeometry(xShape: xShape, yShape: yShape, params: c)
        let v = variant ?? KernelTables.convF32[0]
        let (path, name, bias) = (path, node.name, f32(2))
        if v.algorithm == .winograd {
            // Transformed weights, made here from the plain ones (files never store them); the
            // file's bytes of the tensor are not read again, so out of the resident set they go.
            let t = node.inputs[1]
            let packed = try model.withPlainWeights(t) { (plain) throws(SwiftletError) in
                try packWinogradF32(g, w: plain.assumingMemoryBound(to: Float.self), b: bias,
                                    what: "\(path): Winograd weights of node '\(name)'")
            }
            fx.owned.append(packed)
            model.releaseWeights(t)
            fx.transformed = true
            // `w` is never read when `packed` is set (the file's bytes stand in, whatever their form).
            return .conv2d(ConvStep(x: f32(0), xShape: xShape, w: f32(1), b: bias, y: y, yShape: yShape, yPixelStride: yPixelStride,
                                    params: c, kernel: v, geometry: g, packed: UnsafeRawPointer(packed), scratch: fastScratch))
        }
        let (w, packed) = try weights(v, int8: false, &fx) { (plain) throws(SwiftletError) in
            try packConvF32(v, g, w: plain.assumingMemoryBound(to: Float.self), b: bias, what: "\(path): packed weights of node '\(name)'").weights
        }
        return .conv2d(ConvStep(x: f32(0), xShape: xShape, w: w.assumingMemoryBound(to: Float.self), b: bias, y: y, yShape: yShape,
                                yPixelStride: yPixelStride, params: c, kernel: v, geometry: g, packed: packed, scratch: fastScratch))
    }

    /// A fully connected layer's depth (the input's last dim) and rows (the input's other elements).
    private var fullyConnectedRows: (depth: Int, rows: Int) {
        let depth = xShape.isEmpty ? 1 : xShape[xShape.count - 1]
        return (depth, depth == 0 ? 0 : elementCount(xShape) / depth)
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func fullyConnectedQS8(_ act: Activation, _ fx: inout PrepareEffects) throws(SwiftletError) -> Step {
        let (depth, rows) = fullyConnectedRows
        let units = shape(1)[0]
        let requant = requantization(act)
        let bias = i32(2)
        let v = variant ?? KernelTables.fullyConnectedQS8[0]
        let (path, name, zeroPoint) = (path, node.name, xq.zeroPoint)
        let (w, packed) = try weights(v, int8: true, &fx) { (plain) throws(SwiftletError) in
            try packGemmQS8(w: plain.assumingMemoryBound(to: Int8.self), bias: bias, n: units, k: depth, inputZeroPoint: zeroPoint,
                            requant: requant, what: "\(path): packed weights of node '\(name)'")
        }
        let comps = try compensation(v, n: units, k: depth, packed: packed, &fx)
        return .fullyConnectedQS8(FCQS8Step(x: i8(0), rows: rows, depth: depth, inputZeroPoint: xq.zeroPoint,
                                            w: w.assumingMemoryBound(to: Int8.self), b: bias,
                                            y: y8, units: units, requant: requant, kernel: v, packed: packed, scratch: fastScratch,
                                            comps: comps, bounded: qs8FloatBounded(v, requant, n: units, k: depth, packed: packed)))
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func fullyConnectedF32(_ act: Activation, _ fx: inout PrepareEffects) throws(SwiftletError) -> Step {
        let (depth, rows) = fullyConnectedRows
        let units = shape(1)[0]
        let v = variant ?? KernelTables.fullyConnectedF32[0]
        let (path, name, bias) = (path, node.name, f32(2))
        let (w, packed) = try weights(v, int8: false, &fx) { (plain) throws(SwiftletError) in
            try packGemmF32(w: plain.assumingMemoryBound(to: Float.self), b: bias, n: units, k: depth,
                            what: "\(path): packed weights of node '\(name)'")
        }
        return .fullyConnected(FCStep(x: f32(0), rows: rows, depth: depth, w: w.assumingMemoryBound(to: Float.self), b: bias, y: y,
                                      units: units, activation: act, kernel: v, packed: packed))
    }
}
