import SwiftletCore
import SwiftletKernels
import SwiftletModel

/// The steps of the layout ops (Concat, Pad, Slice, Transpose), which copy elements of either size
/// (`wide`: float32, else int8) without reading them.
extension StepBuilder {
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func concat(_ axis: Int) -> Step {
        let (outer, inner) = Shape.outerInner(yShape, axis: axis)
        var in32: [UnsafePointer<UInt32>] = []
        var in8: [UnsafePointer<UInt8>] = []
        var chunks: [Int] = []
        var offsets: [Int] = []
        var at = 0
        for k in 0..<node.inputs.count {
            let x = node.inputs[k]
            let chunk = shape(k)[axis] * inner
            defer { at += chunk }
            // An input written in its slice already (a Concat slice the plan placed there).
            if alias.sliceOf[x] == node.outputs[0] && alias.inSlice(x, tensors) { continue }
            let p = UnsafeRawPointer(raw[x])
            if wide { in32.append(p.assumingMemoryBound(to: UInt32.self)) } else { in8.append(p.assumingMemoryBound(to: UInt8.self)) }
            chunks.append(chunk)
            offsets.append(at)
        }
        return .concat(ConcatStep(wide: wide, inputs32: in32, inputs8: in8, chunks: chunks, offsets: offsets, rowLength: at,
                                  outer: outer, y: yRaw))
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func pad(_ p: Pad) -> Step {
        var begins = [Int](repeating: 0, count: 6)
        for i in 0..<p.begins.count { begins[6 - p.begins.count + i] = p.begins[i] }
        let value = wide ? p.value.bitPattern : UInt32(UInt8(bitPattern: xq.quantize(p.value)))
        return .pad(PadStep(wide: wide, x: xRaw, dims: Dims6(xShape), y: yRaw, out: Dims6(yShape), begins: Dims6(begins),
                            mode: p.mode, value: value))
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func slice(_ s: Slice) -> Step {
        let strides = Shape.strides(xShape)
        var start = 0
        var xs: [Int] = []
        for i in 0..<xShape.count {
            start += s.starts[i] * strides[i]
            xs.append(strides[i] * s.steps[i])
        }
        return .slice(SliceStep(wide: wide, x: xRaw, start: start, xs: Dims6(xs), y: yRaw, out: Dims6(yShape)))
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func transpose(_ perm: [Int]) -> Step {
        let strides = Shape.strides(xShape)
        return .transpose(TransposeStep(wide: wide, x: xRaw, xs: Dims6(Shape.permute(strides, perm)), y: yRaw, out: Dims6(yShape)))
    }
}
