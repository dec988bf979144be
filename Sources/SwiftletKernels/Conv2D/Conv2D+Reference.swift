import SwiftletCore

/// Float reference 2-D convolution, NHWC input `[N, H, W, C]`, OHWI weights `[O, KH, KW, C/groups]`,
/// bias `[O]`, NHWC output `[N, OH, OW, O]`. Plain loops: the definition the fast kernels are held to.
///
/// `y[n,oy,ox,o] = act(b[o] + Σ_{ky,kx,c} x[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, g·Cg + c] · w[o,ky,kx,c])`
/// with g = o / (O / groups), Cg = C / groups, and out-of-range input positions contributing zero.
/// Output pixels start `yPixelStride` elements apart (0: O, packed); a larger stride writes the
/// channels of a Concat slice in place.
///
/// Row streaming (batch 1): `rows` limits the output rows computed (nil: all); with `xRing` > 0,
/// input row iy is read from row `iy % xRing` of `x`, and with `yRing` > 0, output row oy is written
/// to row `oy % yRing` of `y` — a ring of rows instead of the whole tensor. The values are those of
/// the whole-tensor computation.
public func conv2dF32_reference(
    x: UnsafePointer<Float>, xShape: [Int], w: UnsafePointer<Float>, b: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, yShape: [Int], yPixelStride: Int = 0, params p: Conv2D,
    rows: Range<Int>? = nil, xRing: Int = 0, yRing: Int = 0
) {
    let act = p.activation
    forEachConvTap(xShape: xShape, yShape: yShape, yPixelStride: yPixelStride, params: p, rows: rows, xRing: xRing, yRing: yRing,
                   start: { o in b[o] },
                   tap: { acc, xo, wo, cg in
                       let xp = x + xo, wp = w + wo
                       var a = acc
                       for ci in 0..<cg { a += xp[ci] * wp[ci] }
                       return a
                   },
                   store: { yi, o, acc in y[yi] = act.apply(acc) })
}

/// The reference convolutions' loop nest (float and int8 differ only in the arithmetic): for each
/// output `y[yi]` of channel `o`, in order, `start(o)` gives the accumulator, `tap(acc, xOffset,
/// wOffset, Cg)` returns it plus the `Cg` products of each in-image tap (input `x + xOffset`, weights
/// `w + wOffset`), ky then kx, and `store(yi, o, acc)` writes it. Inlined with its closures, so each
/// kernel compiles to its own plain loops.
@inline(__always)
func forEachConvTap<Acc>(
    xShape: [Int], yShape: [Int], yPixelStride: Int, params p: Conv2D, rows: Range<Int>?, xRing: Int, yRing: Int,
    start: (Int) -> Acc, tap: (Acc, Int, Int, Int) -> Acc, store: (Int, Int, Acc) -> Void
) {
    let (n, h, wd, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (oh, ow, oc) = (yShape[1], yShape[2], yShape[3])
    let cg = c / p.groups
    let ocg = oc / p.groups
    let ys = yPixelStride > 0 ? yPixelStride : oc
    for b0 in 0..<n {
        for oy in rows ?? 0..<oh {
            let yRow = yRing > 0 ? oy % yRing : b0 * oh + oy
            for ox in 0..<ow {
                let yBase = (yRow * ow + ox) * ys
                for o in 0..<oc {
                    let g = o / ocg
                    var acc = start(o)
                    for ky in 0..<p.kernelH {
                        let iy = oy * p.strideH - p.padTop + ky * p.dilationH
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<p.kernelW {
                            let ix = ox * p.strideW - p.padLeft + kx * p.dilationW
                            if ix < 0 || ix >= wd { continue }
                            let xRow = xRing > 0 ? iy % xRing : b0 * h + iy
                            acc = tap(acc, (xRow * wd + ix) * c + g * cg, ((o * p.kernelH + ky) * p.kernelW + kx) * cg, cg)
                        }
                    }
                    store(yBase + o, o, acc)
                }
            }
        }
    }
}

/// Float reference fully connected layer: `y[m, o] = act(b[o] + Σ_k x[m, k] · w[o, k])`.
public func fullyConnectedF32_reference(
    x: UnsafePointer<Float>, rows: Int, depth: Int, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, units: Int, activation act: Activation
) {
    for m in 0..<rows {
        let xp = x + m * depth
        for o in 0..<units {
            let wp = w + o * depth
            var acc = b[o]
            for k in 0..<depth { acc += xp[k] * wp[k] }
            y[m * units + o] = act.apply(acc)
        }
    }
}
