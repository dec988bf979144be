/// The sliding-window geometry Conv2D and pooling share: their stored attributes (kernel, stride,
/// padding) and the output size per spatial axis.
enum Window {
    /// ⌊(size + p0 + p1 − ((k − 1)·d + 1)) / s⌋ + 1, rounded up with `ceil` so that the last window still
    /// starts inside the input or its left padding (the ONNX and PyTorch rule). Checked arithmetic: the
    /// importer calls this with values straight from an ONNX file.
    @_optimize(size)  // runs at load, as Op.outputShape
    static func output(_ size: Int, _ k: Int, _ s: Int, _ d: Int, _ p0: Int, _ p1: Int, ceil: Bool,
                       _ fail: (String) -> SwiftletError) throws(SwiftletError) -> Int {
        if k < 1 || s < 1 || d < 1 || p0 < 0 || p1 < 0 || size < 0 {
            throw fail("kernel \(k), stride \(s), dilation \(d) must be at least 1 and padding \(p0), \(p1) at least 0")
        }
        let (k1, o1) = (k - 1).multipliedReportingOverflow(by: d)
        let (padded, o2) = size.addingReportingOverflow(p0)
        let (padded2, o3) = padded.addingReportingOverflow(p1)
        if o1 || o2 || o3 || k1 > Int.max / 4 || padded2 > Int.max / 4 {
            throw fail("kernel \(k) with dilation \(d) and padding \(p0), \(p1) overflows the output size")
        }
        let eff = k1 + 1
        let span = padded2 - eff
        if span < 0 { throw fail("kernel \(k) (dilation \(d)) is larger than the padded input \(padded2)") }
        var o = span / s + 1
        if ceil && span % s != 0 {
            o += 1
            if (o - 1) * s >= size + p0 { o -= 1 }
        }
        return o
    }
}

/// The window attributes conv and pooling both store, in their order: kernel height and width, then
/// strides (conv has its dilations next), then padding top, left, bottom, right.
extension AttrReader {
    mutating func kernelAndStride() throws(SwiftletError) -> (Int, Int, Int, Int) {
        let kh = try positive("kernel height", max: OpLimits.window)
        let kw = try positive("kernel width", max: OpLimits.window)
        let sh = try positive("stride", max: OpLimits.window)
        let sw = try positive("stride", max: OpLimits.window)
        return (kh, kw, sh, sw)
    }

    mutating func windowPadding() throws(SwiftletError) -> (Int, Int, Int, Int) {
        let top = try nonNegative("padding", max: OpLimits.window)
        let left = try nonNegative("padding", max: OpLimits.window)
        let bottom = try nonNegative("padding", max: OpLimits.window)
        let right = try nonNegative("padding", max: OpLimits.window)
        return (top, left, bottom, right)
    }
}
