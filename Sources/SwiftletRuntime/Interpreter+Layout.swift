import SwiftletCore
import SwiftletKernels
import SwiftletModel

// Conversions between the ONNX (logical) layout and the stored one, for the CLI and tests.
// They allocate; the inference path does not use them.

extension Interpreter {
    /// Stores graph input `i` from values in the ONNX logical layout (NCHW for `.nhwc` tensors,
    /// transposed to NHWC here). `logical.count` must equal the input's element count.
    public func setInput(_ i: Int, logical: [Float]) {
        let info = spec.tensors[spec.inputs[i]]
        let n = elementCount(info.shape)
        precondition(logical.count == n, "Interpreter.setInput(_:logical:): \(logical.count) values for a tensor of \(n)")
        let dst = inputPointer(i)
        logical.withUnsafeBufferPointer { src in
            guard let s = src.baseAddress else { return }
            if info.layout == .nhwc && info.shape.count == 4 {
                // Logical [N, C, H, W] → physical [N, H, W, C].
                let lshape = info.logicalShape
                let xs = Dims6(Shape.permute(Shape.strides(lshape), Shape.nchwToNHWC))
                transpose_reference(x: s, xs: xs, y: dst, out: Dims6(info.shape))
            } else {
                dst.update(from: s, count: n)
            }
        }
    }

    /// Graph output `i` in the ONNX logical layout (NHWC storage transposed back to NCHW).
    public func output(_ i: Int) -> [Float] {
        let info = spec.tensors[spec.outputs[i]]
        return logicalValues(of: info, at: outputPointer(i))
    }

    /// Graph input `i` in the ONNX logical layout.
    public func input(_ i: Int) -> [Float] {
        let info = spec.tensors[spec.inputs[i]]
        return logicalValues(of: info, at: UnsafePointer(inputPointer(i)))
    }

    private func logicalValues(of info: TensorInfo, at p: UnsafePointer<Float>) -> [Float] {
        let n = elementCount(info.shape)
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { dst in
            guard let d = dst.baseAddress else { return }
            if info.layout == .nhwc && info.shape.count == 4 {
                // Physical [N, H, W, C] → logical [N, C, H, W].
                let xs = Dims6(Shape.permute(Shape.strides(info.shape), Shape.nhwcToNCHW))
                transpose_reference(x: p, xs: xs, y: d, out: Dims6(info.logicalShape))
            } else {
                d.update(from: p, count: n)
            }
        }
        return out
    }
}

/// Softmax of `logits` (max subtracted first), e.g. to show a classifier's scores as probabilities.
public func softmaxProbabilities(_ logits: [Float]) -> [Float] {
    var out = logits
    logits.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { y in
            guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
            softmaxF32_reference(x: xp, y: yp, outer: 1, axis: x.count, inner: 1)
        }
    }
    return out
}
