import SwiftletCore

/// Float reference max / average pooling, NHWC.
///
/// Each window covers rows `oy·sh − pt …+kh` (likewise columns). Values come from the part inside the
/// input. Average divides by the window clipped to the input, or, with `countIncludePad`, clipped to the
/// explicitly padded input (`−pt ..< H + pb`), as ONNX Runtime does in ceil mode.
public func poolF32_reference(
    max isMax: Bool, x: UnsafePointer<Float>, xShape: [Int], y: UnsafeMutablePointer<Float>, yShape: [Int],
    params p: Pool2D
) {
    let (n, h, w, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (oh, ow) = (yShape[1], yShape[2])
    for b in 0..<n {
        for oy in 0..<oh {
            let y0 = oy * p.strideH - p.padTop
            let y1 = y0 + p.kernelH
            let iy0 = y0 < 0 ? 0 : y0
            let iy1 = y1 > h ? h : y1
            for ox in 0..<ow {
                let x0 = ox * p.strideW - p.padLeft
                let x1 = x0 + p.kernelW
                let ix0 = x0 < 0 ? 0 : x0
                let ix1 = x1 > w ? w : x1
                var divisor: Float
                if p.countIncludePad {
                    let py1 = y1 > h + p.padBottom ? h + p.padBottom : y1
                    let px1 = x1 > w + p.padRight ? w + p.padRight : x1
                    divisor = Float((py1 - y0) * (px1 - x0))
                } else {
                    divisor = Float((iy1 - iy0) * (ix1 - ix0))
                }
                if divisor <= 0 { divisor = 1 }
                let yp = y + ((b * oh + oy) * ow + ox) * c
                for ch in 0..<c {
                    var acc: Float = isMax ? -Float.infinity : 0
                    for iy in iy0..<max(iy0, iy1) {
                        for ix in ix0..<max(ix0, ix1) {
                            let v = x[((b * h + iy) * w + ix) * c + ch]
                            if isMax { acc = v > acc ? v : acc } else { acc += v }
                        }
                    }
                    yp[ch] = isMax ? acc : acc / divisor
                }
            }
        }
    }
}
