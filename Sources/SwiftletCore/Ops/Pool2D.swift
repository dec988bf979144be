/// 2-D max or average pooling over NHWC input.
///
/// With `ceilMode` the output size rounds up; windows are clipped to the input (max) and to the
/// padded input for the divisor when `countIncludePad` (average), as ONNX Runtime does.
public struct Pool2D: Equatable, Sendable {
    public var kernelH = 1, kernelW = 1, strideH = 1, strideW = 1
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    public var ceilMode = false
    public var countIncludePad = false
    public init() {}

    func encode(into a: inout [Int32]) {
        for v in [kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom, padRight,
                  ceilMode ? 1 : 0, countIncludePad ? 1 : 0] { a.append(Int32(truncatingIfNeeded: v)) }
    }

    @_optimize(size)  // runs at load, as Op.decode
    static func decode(_ r: inout AttrReader) throws(SwiftletError) -> Pool2D {
        var p = Pool2D()
        (p.kernelH, p.kernelW, p.strideH, p.strideW) = try r.kernelAndStride()
        (p.padTop, p.padLeft, p.padBottom, p.padRight) = try r.windowPadding()
        p.ceilMode = try r.nonNegative("ceil mode", max: 1) == 1
        p.countIncludePad = try r.nonNegative("count_include_pad", max: 1) == 1
        return p
    }

    /// `[N, OH, OW, C]` for input `[N, H, W, C]`; padding must be smaller than the kernel.
    @_optimize(size)  // runs at load, as Op.outputShape
    func outputShape(_ x: [Int], _ fail: (String) -> SwiftletError) throws(SwiftletError) -> [Int] {
        guard x.count == 4 else { throw fail("input must be NHWC rank 4, got \(Shape.text(x))") }
        if padTop >= kernelH || padBottom >= kernelH || padLeft >= kernelW || padRight >= kernelW {
            throw fail("padding must be smaller than the kernel")
        }
        let oh = try Window.output(x[1], kernelH, strideH, 1, padTop, padBottom, ceil: ceilMode, fail)
        let ow = try Window.output(x[2], kernelW, strideW, 1, padLeft, padRight, ceil: ceilMode, fail)
        return [x[0], oh, ow, x[3]]
    }
}
