import SwiftletCore

// Which element types each op runs on: every tensor float32, or the op's int8 form (TensorFlow
// Lite's scheme, docs/quantization.md). The reader rejects anything else, so the runtime's dispatch
// on the input's dtype never meets a combination without a kernel.

/// What is wrong with these tensor types for `op`, or nil if a kernel runs them. `inputs.count` must be
/// within `op.inputCount` (`Op.outputShape` checks it; the reader calls that first).
public func typeProblem(_ op: Op, _ inputs: [TensorInfo], _ output: TensorInfo) -> String? {
    if !op.inputCount.contains(inputs.count) { return "\(op.kind.name) takes \(op.inputCount.lowerBound)...\(op.inputCount.upperBound) inputs, got \(inputs.count)" }
    func describe() -> String {
        var s = ""
        for (i, t) in inputs.enumerated() { s += (i == 0 ? "" : ", ") + t.dtype.name }
        return "(\(s)) → \(output.dtype.name)"
    }
    let allFloat = output.dtype == .float32 && inputs.allSatisfy { $0.dtype == .float32 }
    switch op {
    case .softmax:
        if inputs.count == 1 { return allFloat ? nil : "Softmax on \(describe()) needs its int8 exponential table; float Softmax takes float32" }
        let t = inputs[1]
        let fixed = output.quant == TensorQuant(scale: 1.0 / 256, zeroPoint: -128)
        return activationInt8(inputs[0]) && activationInt8(output) && fixed && t.dtype == .int32 && t.storage == .weights
            ? nil : "Softmax int8 takes quantized int8 and an int32 weights table to int8 at scale 1/256, zero point −128, not \(describe())"
    case .quantize:
        return inputs[0].dtype == .float32 && activationInt8(output) ? nil : "Quantize takes float32 to quantized int8, not \(describe())"
    case .dequantize:
        return activationInt8(inputs[0]) && output.dtype == .float32 ? nil : "Dequantize takes quantized int8 to float32, not \(describe())"
    case .lookup:
        let table = inputs[1]
        return activationInt8(inputs[0]) && activationInt8(output) && table.dtype == .int8 && table.storage == .weights
            ? nil : "Lookup takes quantized int8 and an int8 weights table to quantized int8, not \(describe())"
    case .conv2d, .fullyConnected, .binary, .activation, .prelu, .maxPool, .avgPool, .mean, .reduce, .concat, .resize,
         .pad, .slice, .transpose, .reshape:
        break
    }
    if allFloat { return nil }
    let name = op.kind.name
    switch op.int8Form {
    case .keepsInputParams, .sharesParams:
        // Data movement (and pooling, as TFLite): the output keeps the input's scale and zero point.
        guard activationInt8(output), inputs.allSatisfy(activationInt8) else { break }
        for t in inputs where t.quant != output.quant {
            return "\(name) int8 needs '\(t.name)' to share the output's scale and zero point"
        }
        return nil
    case .compute:
        switch int8Check(op, inputs, output) {
        case .runs: return nil
        case .problem(let p): return p
        case .notThisForm: break
        }
    case .none, .conversion:
        break
    }
    return "\(name) has no kernel for \(describe()); int8 runs Conv2D, FullyConnected, Add, Mul, PRelu, Mean, Softmax, pooling, Concat, Pad, Slice, Transpose, Reshape and Lookup"
}

/// A quantized int8 activation tensor: int8 with one scale and zero point.
private func activationInt8(_ t: TensorInfo) -> Bool { t.dtype == .int8 && t.quant != nil && t.quant?.axis == nil }

private enum Int8Check {
    case runs
    case problem(String)
    /// The tensors are not this op's int8 form at all (the caller names what runs instead).
    case notThisForm
}

/// The int8 checks of an op with its own int8 kernel (`Int8Form.compute`).
private func int8Check(_ op: Op, _ inputs: [TensorInfo], _ output: TensorInfo) -> Int8Check {
    let name = op.kind.name
    switch op {
    case .conv2d, .fullyConnected:
        let w = inputs[1], b = inputs[2]
        guard activationInt8(inputs[0]), activationInt8(output) else { return .notThisForm }
        guard w.dtype == .int8, w.storage == .weights, let wq = w.quant, wq.zeroPoint == 0,
              wq.axis == nil || wq.axis == 0 else {
            return .problem("\(name) int8 needs symmetric int8 weights (per tensor or per output channel), '\(w.name)' is not")
        }
        guard b.dtype == .int32, b.quant == nil else { return .problem("\(name) int8 needs an int32 bias, '\(b.name)' is \(b.dtype.name)") }
        if let a = op.fusedActivation, !a.isClamp {
            return .problem("\(name) int8 can fuse only relu or clip, not \(a.text); the activation must be a separate Lookup")
        }
        return .runs
    case .binary(_, let a):
        guard inputs.allSatisfy(activationInt8), activationInt8(output) else { return .notThisForm }
        return a.isClamp ? .runs : .problem("\(name) int8 can fuse only relu or clip, not \(a.text)")
    case .mean, .prelu:
        return inputs.allSatisfy(activationInt8) && activationInt8(output) ? .runs : .notThisForm
    case .activation, .softmax, .maxPool, .avgPool, .reduce, .concat, .resize, .pad, .slice, .transpose, .reshape,
         .quantize, .dequantize, .lookup:
        // An activation's int8 form is a Lookup; the others are checked above.
        return .notThisForm
    }
}
