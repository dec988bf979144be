import SwiftletCore

/// Concatenation along an axis: `outer` = product of dims before it; input i fills `chunks[i]`
/// elements (its axis size × the product of dims after it) at `offsets[i]` of each output row of
/// `rowLength` elements. Inputs already written in place (Concat slices) are simply not listed.
@inline(__always)
func concatElements<T>(inputs: [UnsafePointer<T>], chunks: [Int], offsets: [Int], rowLength: Int, outer: Int,
                       y: UnsafeMutablePointer<T>) {
    for o in 0..<outer {
        let row = y + o * rowLength
        for i in 0..<inputs.count {
            let c = chunks[i]
            (row + offsets[i]).update(from: inputs[i] + o * c, count: c)
        }
    }
}

/// Transpose: `out[i…] = x[perm⁻¹ …]`; `xs` are the input's strides permuted into output order.
@inline(__always)
func transposeElements<T>(x: UnsafePointer<T>, xs: Dims6, y: UnsafeMutablePointer<T>, out: Dims6) {
    forEach6(out, xs, xs) { o, i, _ in y[o] = x[i] }
}

/// Strided slice: `start` is the input offset of the first element, `xs` the input strides × steps.
@inline(__always)
func sliceElements<T>(x: UnsafePointer<T>, start: Int, xs: Dims6, y: UnsafeMutablePointer<T>, out: Dims6) {
    let base = x + start
    forEach6(out, xs, xs) { o, i, _ in y[o] = base[i] }
}

/// Padding (constant, reflect or edge) of a rank-6 padded tensor: output index `o` along a dim reads
/// input index `o − begin`, mapped back inside by reflection (no edge repeat) or clamping, or is
/// `value` (constant mode). `outputShape` guarantees reflect/edge dims are large enough.
@inline(__always)
func padElements<T>(
    x: UnsafePointer<T>, dims: Dims6, y: UnsafeMutablePointer<T>, out: Dims6, begins: Dims6, mode: Pad.Mode, value: T
) {
    let xs = dims.strides
    // Constant padding of the innermost dim only (a residual branch's channels, as BlazeFace pads
    // 24 → 28): the whole output filled with the value, then each row's values copied into place —
    // a fill and a short copy per pixel instead of a fill, a copy and a fill with their checks.
    if mode == .constant && begins.d.0 == 0 && begins.d.1 == 0 && begins.d.2 == 0 && begins.d.3 == 0 && begins.d.4 == 0
        && out.d.0 == dims.d.0 && out.d.1 == dims.d.1 && out.d.2 == dims.d.2 && out.d.3 == dims.d.3 && out.d.4 == dims.d.4
        && begins.d.5 >= 0 && begins.d.5 + dims.d.5 <= out.d.5 {
        let rows = dims.d.0 * dims.d.1 * dims.d.2 * dims.d.3 * dims.d.4
        let (n, on, start) = (dims.d.5, out.d.5, begins.d.5)
        y.update(repeating: value, count: rows * on)
        var src = x, dst = y + start
        for _ in 0..<rows {
            copySpan(from: src, to: dst, count: n)
            src += n
            dst += on
        }
        return
    }
    @inline(__always) func source(_ o: Int, _ axis: Int) -> Int {
        var i = o - begins[axis]
        let n = dims[axis]
        if i >= 0 && i < n { return i }
        switch mode {
        case .reflect:
            while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
            return i
        case .edge: return i < 0 ? 0 : n - 1
        case .constant: return -1
        }
    }
    var o = 0
    for a in 0..<out.d.0 {
        let ia = source(a, 0)
        for b in 0..<out.d.1 {
            let ib = source(b, 1)
            for c in 0..<out.d.2 {
                let ic = source(c, 2)
                for d in 0..<out.d.3 {
                    let id = source(d, 3)
                    for e in 0..<out.d.4 {
                        let ie = source(e, 4)
                        if mode == .constant {
                            // Constant padding: the innermost dim is value, a contiguous run of x, value.
                            let n5 = out.d.5
                            if ia < 0 || ib < 0 || ic < 0 || id < 0 || ie < 0 {
                                (y + o).update(repeating: value, count: n5)
                            } else {
                                let start = begins.d.5
                                let f0 = Swift.min(n5, Swift.max(0, start)), f1 = Swift.max(f0, Swift.min(n5, start + dims.d.5))
                                let base = ia * xs.d.0 + ib * xs.d.1 + ic * xs.d.2 + id * xs.d.3 + ie * xs.d.4
                                // Per pixel of a channel pad these are a few bytes: the copy without a
                                // library call, the fills only where there is something to fill.
                                if f0 > 0 { (y + o).update(repeating: value, count: f0) }
                                if f1 > f0 { copySpan(from: x + base + (f0 - start), to: y + o + f0, count: f1 - f0) }
                                if n5 > f1 { (y + o + f1).update(repeating: value, count: n5 - f1) }
                            }
                            o += n5
                            continue
                        }
                        for f in 0..<out.d.5 {
                            let iF = source(f, 5)
                            if ia < 0 || ib < 0 || ic < 0 || id < 0 || ie < 0 || iF < 0 {
                                y[o] = value
                            } else {
                                y[o] = x[ia * xs.d.0 + ib * xs.d.1 + ic * xs.d.2 + id * xs.d.3 + ie * xs.d.4 + iF * xs.d.5]
                            }
                            o += 1
                        }
                    }
                }
            }
        }
    }
}

/// Resize of NHWC `[N, H, W, C]` to `[N, OH, OW, C]`, nearest or bilinear, with ONNX coordinate modes.
public func resizeF32_reference(x: UnsafePointer<Float>, xShape: [Int], y: UnsafeMutablePointer<Float>, params r: Resize) {
    let (n, h, w, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (oh, ow) = (r.outH, r.outW)
    func source(_ o: Int, _ inSize: Int, _ outSize: Int) -> Float {
        let scale = Float(outSize) / Float(inSize)
        switch r.coordinate {
        case .asymmetric: return Float(o) / scale
        case .alignCorners: return outSize == 1 ? 0 : Float(o) * Float(inSize - 1) / Float(outSize - 1)
        case .pytorchHalfPixel: return outSize == 1 ? 0 : (Float(o) + 0.5) / scale - 0.5
        case .halfPixel: return (Float(o) + 0.5) / scale - 0.5
        }
    }
    func nearest(_ s: Float, _ size: Int) -> Int {
        var i: Int
        switch r.nearest {
        case .roundPreferCeil: i = Int((s + 0.5).rounded(.down))
        case .floor: i = Int(s.rounded(.down))
        case .ceil: i = Int(s.rounded(.up))
        case .roundPreferFloor: i = Int((s - 0.5).rounded(.up))
        }
        return i < 0 ? 0 : (i >= size ? size - 1 : i)
    }
    for b in 0..<n {
        for oy in 0..<oh {
            let sy = source(oy, h, oh)
            for ox in 0..<ow {
                let sx = source(ox, w, ow)
                let yp = y + ((b * oh + oy) * ow + ox) * c
                switch r.mode {
                case .nearest:
                    let xp = x + ((b * h + nearest(sy, h)) * w + nearest(sx, w)) * c
                    for ch in 0..<c { yp[ch] = xp[ch] }
                case .linear:
                    let fy = sy < 0 ? 0 : (sy > Float(h - 1) ? Float(h - 1) : sy)
                    let fx = sx < 0 ? 0 : (sx > Float(w - 1) ? Float(w - 1) : sx)
                    let y0 = Int(fy)
                    let x0 = Int(fx)
                    let y1 = min(y0 + 1, h - 1)
                    let x1 = min(x0 + 1, w - 1)
                    let dy = fy - Float(y0)
                    let dx = fx - Float(x0)
                    let p00 = x + ((b * h + y0) * w + x0) * c
                    let p01 = x + ((b * h + y0) * w + x1) * c
                    let p10 = x + ((b * h + y1) * w + x0) * c
                    let p11 = x + ((b * h + y1) * w + x1) * c
                    for ch in 0..<c {
                        let top = p00[ch] + (p01[ch] - p00[ch]) * dx
                        let bot = p10[ch] + (p11[ch] - p10[ch]) * dx
                        yp[ch] = top + (bot - top) * dy
                    }
                }
            }
        }
    }
}

// The public entry points are concrete: one per element width (int8 tensors move as UInt8, float32
// ones as UInt32 or Float). A generic public function called from another module runs unspecialized,
// and there it allocated twice per concatenated row (AllocationTests caught 16,368 allocations per
// SqueezeNet frame); these wrappers specialize the shared body in this module.

/// Concatenation along an axis (see `concatElements`): input i fills `chunks[i]` elements at
/// `offsets[i]` of each of the `outer` output rows of `rowLength` elements.
public func concat_reference(inputs: [UnsafePointer<UInt8>], chunks: [Int], offsets: [Int], rowLength: Int, outer: Int,
                             y: UnsafeMutablePointer<UInt8>) {
    concatElements(inputs: inputs, chunks: chunks, offsets: offsets, rowLength: rowLength, outer: outer, y: y)
}

public func concat_reference(inputs: [UnsafePointer<UInt32>], chunks: [Int], offsets: [Int], rowLength: Int, outer: Int,
                             y: UnsafeMutablePointer<UInt32>) {
    concatElements(inputs: inputs, chunks: chunks, offsets: offsets, rowLength: rowLength, outer: outer, y: y)
}

/// Transpose: `xs` are the input's strides permuted into output order.
public func transpose_reference(x: UnsafePointer<UInt8>, xs: Dims6, y: UnsafeMutablePointer<UInt8>, out: Dims6) {
    transposeElements(x: x, xs: xs, y: y, out: out)
}

public func transpose_reference(x: UnsafePointer<UInt32>, xs: Dims6, y: UnsafeMutablePointer<UInt32>, out: Dims6) {
    transposeElements(x: x, xs: xs, y: y, out: out)
}

public func transpose_reference(x: UnsafePointer<Float>, xs: Dims6, y: UnsafeMutablePointer<Float>, out: Dims6) {
    transposeElements(x: x, xs: xs, y: y, out: out)
}

/// Strided slice: `start` is the input offset of the first element, `xs` the input strides × steps.
public func slice_reference(x: UnsafePointer<UInt8>, start: Int, xs: Dims6, y: UnsafeMutablePointer<UInt8>, out: Dims6) {
    sliceElements(x: x, start: start, xs: xs, y: y, out: out)
}

public func slice_reference(x: UnsafePointer<UInt32>, start: Int, xs: Dims6, y: UnsafeMutablePointer<UInt32>, out: Dims6) {
    sliceElements(x: x, start: start, xs: xs, y: y, out: out)
}

/// Padding (constant, reflect or edge) of a rank-6 padded tensor (see `padElements`).
public func pad_reference(x: UnsafePointer<UInt8>, dims: Dims6, y: UnsafeMutablePointer<UInt8>, out: Dims6, begins: Dims6, mode: Pad.Mode, value: UInt8) {
    padElements(x: x, dims: dims, y: y, out: out, begins: begins, mode: mode, value: value)
}

public func pad_reference(x: UnsafePointer<UInt32>, dims: Dims6, y: UnsafeMutablePointer<UInt32>, out: Dims6, begins: Dims6, mode: Pad.Mode, value: UInt32) {
    padElements(x: x, dims: dims, y: y, out: out, begins: begins, mode: mode, value: value)
}
