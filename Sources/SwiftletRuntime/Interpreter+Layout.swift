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

    /// Graph output `i` in the ONNX logical layout, written to `out` (room for its element count):
    /// `output(i)` without making an array (the frame loop's top-k).
    public func copyOutput(_ i: Int, into out: UnsafeMutablePointer<Float>) {
        copyLogical(spec.tensors[spec.outputs[i]], at: outputPointer(i), into: out)
    }

    private func logicalValues(of info: TensorInfo, at p: UnsafePointer<Float>) -> [Float] {
        let n = elementCount(info.shape)
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { dst in
            guard let d = dst.baseAddress else { return }
            copyLogical(info, at: p, into: d)
        }
        return out
    }

    private func copyLogical(_ info: TensorInfo, at p: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>) {
        if info.layout == .nhwc && info.shape.count == 4 {
            // Physical [N, H, W, C] → logical [N, C, H, W].
            let xs = Dims6(Shape.permute(Shape.strides(info.shape), Shape.nhwcToNCHW))
            transpose_reference(x: p, xs: xs, y: d, out: Dims6(info.logicalShape))
        } else {
            d.update(from: p, count: elementCount(info.shape))
        }
    }
}

/// The graph inputs' bytes, kept aside so that the same input can be run again on a model whose
/// plan reuses its inputs' memory (`ModelSpec.reuseInputs`): `restore()` writes them back. Allocates
/// once, in `init`, and only for such a model (the others keep their inputs: nothing to do);
/// `restore()` only copies.
public final class InputSnapshot {
    private let interpreter: Interpreter
    private let saved: [UnsafeMutableRawPointer]

    /// Copies every graph input as it is now.
    public init(_ interpreter: Interpreter) {
        self.interpreter = interpreter
        var s: [UnsafeMutableRawPointer] = []
        for i in 0..<(interpreter.spec.reuseInputs ? interpreter.spec.inputs.count : 0) {
            let bytes = max(interpreter.spec.tensors[interpreter.spec.inputs[i]].byteCount, 1)
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            p.copyMemory(from: UnsafeRawPointer(interpreter.inputPointer(i)), byteCount: bytes)
            s.append(p)
        }
        saved = s
    }

    deinit { for p in saved { p.deallocate() } }

    /// Writes the saved inputs back (needed before each run only when the plan reuses inputs).
    public func restore() {
        if !interpreter.spec.reuseInputs { return }
        for i in 0..<saved.count {
            let bytes = interpreter.spec.tensors[interpreter.spec.inputs[i]].byteCount
            UnsafeMutableRawPointer(interpreter.inputPointer(i)).copyMemory(from: UnsafeRawPointer(saved[i]), byteCount: bytes)
        }
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
