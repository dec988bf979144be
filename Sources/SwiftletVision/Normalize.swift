#if arch(x86_64)
import CSwiftletKernels
#endif

// Conversion of an 8-bit RGB image into a model's float32 NHWC input.
//
// out[(y * W + x) * 3 + c] = (Float(p[c']) - mean[c]) / std[c], where c' = c for RGB models and
// c' = 2 - c for BGR models (channels are swapped first, so mean and std are given in the model's
// channel order). The subtraction and the division are each one correctly rounded float32
// operation, never a multiply by a reciprocal, so the result is bit-identical to NumPy's
// `(u8.astype(np.float32) - np.float32(mean)) / np.float32(std)`.

// The array form is labelled `intoArray:` rather than `into:` because Swift resolves
// `normalize(…, into: &array)` to the pointer overload (an implicit array-to-pointer conversion)
// even when an `inout [Float]` overload exists, and the pointer form cannot check the length.

/// Writes `image` as NHWC float32 `(pixel - mean[c]) / std[c]` to `out` (at least `width * height * 3` floats), RGB or BGR.
/// Images of more than 256 pixels go through tables of the 3 × 256 possible values, each computed by
/// the same subtraction and division, so the floats are the same.
public func normalize(_ image: RGBImage, mean: [Float], std: [Float], bgr: Bool, into out: UnsafeMutablePointer<Float>) {
    precondition(mean.count == 3 && std.count == 3, "normalize(_:mean:std:bgr:into:): mean and std need 3 values each")
    let m0 = mean[0], m1 = mean[1], m2 = mean[2]
    let s0 = std[0], s1 = std[1], s2 = std[2]
    let r0 = bgr ? 2 : 0, r2 = bgr ? 0 : 2
    let n = image.width * image.height
    image.pixels.withUnsafeBufferPointer { src in
        precondition(src.count == n * 3, "normalize(_:mean:std:bgr:into:): pixels.count must be width * height * 3")
        guard let p = src.baseAddress else { return }
        #if arch(x86_64)
        if swk_vision_avx512() != 0 {
            // The same subtraction and IEEE division in 16 float lanes (vsubps, vdivps), so the same floats.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 6) { ms in
                let t = ms.baseAddress!
                (t[0], t[1], t[2], t[3], t[4], t[5]) = (m0, m1, m2, s0, s1, s2)
                swk_normalize_rgb_f32_avx512(p, n, t, t + 3, bgr ? 1 : 0, out)
            }
            return
        }
        #endif
        if n <= 256 {
            for i in 0..<n {
                let q = p + i * 3
                let o = out + i * 3
                o[0] = (Float(q[r0]) - m0) / s0
                o[1] = (Float(q[1]) - m1) / s1
                o[2] = (Float(q[r2]) - m2) / s2
            }
            return
        }
        // Three tables of 1 KB: the standard library puts temporary allocations that small on the stack
        // without asking the runtime (larger ones may be heap allocations, in Embedded Swift always).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { a in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { b in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { c in
                    let t0 = a.baseAddress!, t1 = b.baseAddress!, t2 = c.baseAddress!
                    for v in 0..<256 {
                        let f = Float(v)
                        t0[v] = (f - m0) / s0
                        t1[v] = (f - m1) / s1
                        t2[v] = (f - m2) / s2
                    }
                    for i in 0..<n {
                        let q = p + i &* 3
                        let o = out + i &* 3
                        o[0] = t0[Int(q[r0])]
                        o[1] = t1[Int(q[1])]
                        o[2] = t2[Int(q[r2])]
                    }
                }
            }
        }
    }
}

/// Writes `image` as NHWC float32 `(pixel - mean[c]) / std[c]` into `out`, which must hold `width * height * 3` floats.
public func normalize(_ image: RGBImage, mean: [Float], std: [Float], bgr: Bool, into out: UnsafeMutableBufferPointer<Float>) {
    precondition(out.count >= image.width * image.height * 3,
                 "normalize(_:mean:std:bgr:into:): the output buffer is smaller than width * height * 3")
    guard let base = out.baseAddress else { return }
    normalize(image, mean: mean, std: std, bgr: bgr, into: base)
}

/// Writes `image` as NHWC float32 `(pixel - mean[c]) / std[c]` into `out`, resizing it only if its count differs.
public func normalize(_ image: RGBImage, mean: [Float], std: [Float], bgr: Bool, intoArray out: inout [Float]) {
    let count = image.width * image.height * 3
    resizeKeepingStorage(&out, count: count)
    out.withUnsafeMutableBufferPointer { buf in
        normalize(image, mean: mean, std: std, bgr: bgr, into: buf)
    }
}

/// Writes `image`'s luma as a one-channel float32 input `(L − mean) / std`, with Pillow's `convert("L")`:
/// `L = (299·R + 587·G + 114·B) / 1000` in 16-bit fixed point, rounded (so a grey image gives its own
/// values). `out` must hold `width * height` floats.
public func normalizeLuma(_ image: RGBImage, mean: Float, std: Float, into out: UnsafeMutablePointer<Float>) {
    let n = image.width * image.height
    image.pixels.withUnsafeBufferPointer { src in
        precondition(src.count == n * 3, "normalizeLuma(_:mean:std:into:): pixels.count must be width * height * 3")
        guard let p = src.baseAddress else { return }
        for i in 0..<n {
            let q = p + i * 3
            let l = (UInt32(q[0]) * 19595 + UInt32(q[1]) * 38470 + UInt32(q[2]) * 7471 + 0x8000) >> 16
            out[i] = (Float(l) - mean) / std
        }
    }
}
