/// 2-D convolution over NHWC input with OHWI weights (`[O, KH, KW, C/groups]`) and a bias `[O]`.
///
/// Output size per spatial axis: ⌊(in + padBegin + padEnd − ((k − 1)·dilation + 1)) / stride⌋ + 1.
public struct Conv2D: Equatable, Sendable {
    public var kernelH = 1, kernelW = 1, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    public var groups = 1
    public var activation = Activation.none
    public init() {}

    func encode(into a: inout [Int32]) {
        for v in [kernelH, kernelW, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight, groups] {
            a.append(Int32(truncatingIfNeeded: v))
        }
        activation.encode(into: &a)
    }

    @_optimize(size)  // runs at load, as Op.decode
    static func decode(_ r: inout AttrReader) throws(SwiftletError) -> Conv2D {
        var c = Conv2D()
        (c.kernelH, c.kernelW, c.strideH, c.strideW) = try r.kernelAndStride()
        c.dilationH = try r.positive("dilation", max: OpLimits.window)
        c.dilationW = try r.positive("dilation", max: OpLimits.window)
        (c.padTop, c.padLeft, c.padBottom, c.padRight) = try r.windowPadding()
        c.groups = try r.positive("groups")
        c.activation = try Activation.decode(&r)
        return c
    }

    /// `[N, OH, OW, O]` for input `[N, H, W, C]`, weights `[O, KH, KW, C/groups]` and bias `[O]`.
    @_optimize(size)  // runs at load, as Op.outputShape
    func outputShape(_ inputs: [[Int]], _ fail: (String) -> SwiftletError) throws(SwiftletError) -> [Int] {
        let x = inputs[0], wt = inputs[1]
        guard x.count == 4 else { throw fail("input must be NHWC rank 4, got \(Shape.text(x))") }
        guard wt.count == 4, wt[1] == kernelH, wt[2] == kernelW, groups >= 1, x[3] % groups == 0,
              x[3] / groups == wt[3], wt[0] % groups == 0
        else { throw fail("weights \(Shape.text(wt)) do not fit input \(Shape.text(x)) with groups \(groups)") }
        guard inputs[2] == [wt[0]] else { throw fail("bias \(Shape.text(inputs[2])) must be [\(wt[0])]") }
        let oh = try Window.output(x[1], kernelH, strideH, dilationH, padTop, padBottom, ceil: false, fail)
        let ow = try Window.output(x[2], kernelW, strideW, dilationW, padLeft, padRight, ceil: false, fail)
        return [x[0], oh, ow, wt[0]]
    }
}
