/// 2-D convolution over NHWC input with OHWI weights (`[O, KH, KW, C/groups]`) and a bias `[O]`.
///
/// Output size per spatial axis: ⌊(in + padBegin + padEnd − ((k − 1)·dilation + 1)) / stride⌋ + 1.
public struct Conv2D: Equatable, Sendable {
    public var kernelH = 1, kernelW = 1, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    public var groups = 1
    public var activation = Activation.none
    public init() {}
}

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
}

/// Resize of an NHWC tensor's H and W.
public struct Resize: Equatable, Sendable {
    /// How output pixels are computed; the raw values are stored in `.swl`.
    public enum Mode: Int32, Sendable {
        case nearest = 0
        /// Bilinear over H and W (ONNX "linear").
        case linear = 1
    }

    /// ONNX `coordinate_transformation_mode`: how an output coordinate maps to an input one; the raw
    /// values are stored in `.swl`.
    public enum Coordinate: Int32, Sendable {
        case halfPixel = 0
        case asymmetric = 1
        case alignCorners = 2
        case pytorchHalfPixel = 3
    }

    /// ONNX `nearest_mode`: how nearest mode rounds a source coordinate; the raw values are stored in `.swl`.
    public enum Rounding: Int32, Sendable {
        case roundPreferFloor = 0
        case roundPreferCeil = 1
        case floor = 2
        case ceil = 3
    }

    public var mode = Mode.nearest
    public var coordinate = Coordinate.halfPixel
    public var nearest = Rounding.roundPreferFloor
    public var outH = 1, outW = 1
    public init() {}
}

/// Constant, reflect or edge padding of every dimension.
public struct Pad: Equatable, Sendable {
    /// The raw values are stored in `.swl`.
    public enum Mode: Int32, Sendable {
        case constant = 0
        /// Mirrored about the edge element, which is not repeated.
        case reflect = 1
        /// The edge element repeated.
        case edge = 2
    }

    public var mode = Mode.constant
    public var value: Float = 0
    public var begins: [Int] = []
    public var ends: [Int] = []
    public init() {}
}

/// A strided slice of every dimension: `starts` and `steps` are normalised, `sizes` the output dims.
public struct Slice: Equatable, Sendable {
    public var starts: [Int] = []
    public var steps: [Int] = []
    public var sizes: [Int] = []
    public init() {}
}

/// The largest attribute values a `.swl` stores (`Op.decode` refuses more); the importer refuses
/// them too, naming the node, so a model that imports also loads.
public enum OpLimits {
    /// Kernel size, stride, dilation and padding of Conv2D and pooling.
    public static let window = 1 << 12
    /// Pad's padding per side.
    public static let pad = 1 << 16
    /// Resize's output height and width.
    public static let resize = 1 << 24
    /// Slice's step, either sign.
    public static let sliceStep = 1 << 20
    /// Slice's start and size, Reshape's dimensions.
    public static let dimension = 1 << 30
}

/// How an op runs in an int8 model (`Op.int8Form`).
public enum Int8Form: Sendable {
    /// No int8 kernel: the op stays float32 behind a Dequantize.
    case none
    /// Its own int8 kernel, with calibrated output parameters (or the activation's, `Activation.outputRange`);
    /// an activation runs as a Lookup.
    case compute
    /// Data movement and pooling: int8 when its input is; the output keeps the input's scale and zero
    /// point (as TFLite).
    case keepsInputParams
    /// Concat: int8 when every input is; its output and the inputs whose producers can take it share one range.
    case sharesParams
    /// Quantize, Dequantize and Lookup: written by the quantizer itself.
    case conversion
}

/// One operator of a packed model, with its attributes.
public enum Op: Equatable, Sendable {
    case conv2d(Conv2D)
    /// `y = x · Wᵀ + b`, x `[M, K]` (leading dims flattened), W `[N, K]`, b `[N]`.
    case fullyConnected(Activation)
    /// Element-wise with NumPy broadcasting; `kind` is add, sub, mul or div.
    case binary(OpKind, Activation)
    case activation(Activation)
    /// `x < 0 ? slope · x : x`, slope broadcast to x.
    case prelu
    case maxPool(Pool2D)
    case avgPool(Pool2D)
    /// Mean over `axes`, keeping them as size 1 when `keepDims`.
    case mean(axes: [Int], keepDims: Bool)
    case concat(axis: Int)
    /// Softmax along `axis`; with `toEnd`, over all dims from `axis` on (ONNX opset < 13).
    case softmax(axis: Int, toEnd: Bool)
    case resize(Resize)
    case pad(Pad)
    case slice(Slice)
    case transpose(perm: [Int])
    /// Same bytes, new shape.
    case reshape(shape: [Int])
    /// float32 → int8 (the output tensor's quantization).
    case quantize
    /// int8 → float32 (the input tensor's quantization).
    case dequantize
    /// int8 → int8: `y = table[x + 128]`, the table an int8 `[256]` weights tensor (input 1).
    case lookup

    /// The stored kind.
    public var kind: OpKind {
        switch self {
        case .conv2d: return .conv2d
        case .fullyConnected: return .fullyConnected
        case .binary(let k, _): return k
        case .activation: return .activation
        case .prelu: return .prelu
        case .maxPool: return .maxPool
        case .avgPool: return .avgPool
        case .mean: return .mean
        case .concat: return .concat
        case .softmax: return .softmax
        case .resize: return .resize
        case .pad: return .pad
        case .slice: return .slice
        case .transpose: return .transpose
        case .reshape: return .reshape
        case .quantize: return .quantize
        case .dequantize: return .dequantize
        case .lookup: return .lookup
        }
    }

    /// How the op runs in an int8 model: the one answer the type check, the quantizer's choice of
    /// int8 nodes, its parameters and its conversion all read (docs/quantization.md).
    public var int8Form: Int8Form {
        switch self {
        case .conv2d, .fullyConnected, .activation, .prelu, .mean, .softmax: return .compute
        case .binary(let k, _): return k == .add || k == .mul ? .compute : .none
        case .maxPool, .avgPool, .reshape, .pad, .slice, .transpose: return .keepsInputParams
        case .concat: return .sharesParams
        case .resize: return .none
        case .quantize, .dequantize, .lookup: return .conversion
        }
    }

    /// The fused activation, if the op has one.
    public var fusedActivation: Activation? {
        switch self {
        case .conv2d(let c): return c.activation
        case .fullyConnected(let a), .binary(_, let a): return a
        default: return nil
        }
    }

    /// Attributes as stored in `.swl` (floats as their bit patterns).
    public func encode() -> [Int32] {
        var a: [Int32] = []
        func put(_ v: Int) { a.append(Int32(truncatingIfNeeded: v)) }
        func putList(_ v: [Int]) {
            put(v.count)
            for x in v { put(x) }
        }
        switch self {
        case .conv2d(let c):
            for v in [c.kernelH, c.kernelW, c.strideH, c.strideW, c.dilationH, c.dilationW,
                      c.padTop, c.padLeft, c.padBottom, c.padRight, c.groups] { put(v) }
            c.activation.encode(into: &a)
        case .fullyConnected(let act), .binary(_, let act), .activation(let act):
            act.encode(into: &a)
        case .prelu, .quantize, .dequantize, .lookup:
            break
        case .maxPool(let p), .avgPool(let p):
            for v in [p.kernelH, p.kernelW, p.strideH, p.strideW, p.padTop, p.padLeft, p.padBottom, p.padRight,
                      p.ceilMode ? 1 : 0, p.countIncludePad ? 1 : 0] { put(v) }
        case .mean(let axes, let keep):
            put(keep ? 1 : 0)
            putList(axes)
        case .concat(let axis):
            put(axis)
        case .softmax(let axis, let toEnd):
            put(axis)
            put(toEnd ? 1 : 0)
        case .resize(let r):
            a.append(r.mode.rawValue)
            a.append(r.coordinate.rawValue)
            a.append(r.nearest.rawValue)
            put(r.outH)
            put(r.outW)
        case .pad(let p):
            a.append(p.mode.rawValue)
            a.append(Int32(bitPattern: p.value.bitPattern))
            putList(p.begins)
            for v in p.ends { put(v) }
        case .slice(let s):
            putList(s.starts)
            for v in s.steps { put(v) }
            for v in s.sizes { put(v) }
        case .transpose(let perm):
            putList(perm)
        case .reshape(let shape):
            putList(shape)
        }
        return a
    }

    /// Decodes stored attributes, checking each against its range.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    public static func decode(kind: OpKind, attrs: [Int32], where w: String) throws(SwiftletError) -> Op {
        var r = AttrReader(attrs, where: w)
        let op: Op
        switch kind {
        case .conv2d:
            var c = Conv2D()
            (c.kernelH, c.kernelW, c.strideH, c.strideW) = try r.kernelAndStride()
            c.dilationH = try r.positive("dilation", max: OpLimits.window)
            c.dilationW = try r.positive("dilation", max: OpLimits.window)
            (c.padTop, c.padLeft, c.padBottom, c.padRight) = try r.windowPadding()
            c.groups = try r.positive("groups")
            c.activation = try Activation.decode(&r)
            op = .conv2d(c)
        case .fullyConnected: op = .fullyConnected(try Activation.decode(&r))
        case .add, .sub, .mul, .div: op = .binary(kind, try Activation.decode(&r))
        case .activation: op = .activation(try Activation.decode(&r))
        case .prelu: op = .prelu
        case .quantize: op = .quantize
        case .dequantize: op = .dequantize
        case .lookup: op = .lookup
        case .maxPool, .avgPool:
            var p = Pool2D()
            (p.kernelH, p.kernelW, p.strideH, p.strideW) = try r.kernelAndStride()
            (p.padTop, p.padLeft, p.padBottom, p.padRight) = try r.windowPadding()
            p.ceilMode = try r.nonNegative("ceil mode", max: 1) == 1
            p.countIncludePad = try r.nonNegative("count_include_pad", max: 1) == 1
            op = kind == .maxPool ? .maxPool(p) : .avgPool(p)
        case .mean:
            let keep = try r.nonNegative("keepdims", max: 1) == 1
            let n = try r.nonNegative("axis count", max: maxRank)
            var axes: [Int] = []
            for _ in 0..<n { axes.append(try r.nonNegative("axis", max: maxRank - 1)) }
            op = .mean(axes: axes, keepDims: keep)
        case .concat: op = .concat(axis: try r.nonNegative("axis", max: maxRank - 1))
        case .softmax:
            let axis = try r.nonNegative("axis", max: maxRank - 1)
            op = .softmax(axis: axis, toEnd: try r.nonNegative("to-end flag", max: 1) == 1)
        case .resize:
            var z = Resize()
            z.mode = try r.choice("resize mode")
            z.coordinate = try r.choice("resize coordinate mode")
            z.nearest = try r.choice("resize nearest mode")
            z.outH = try r.positive("output height", max: OpLimits.resize)
            z.outW = try r.positive("output width", max: OpLimits.resize)
            op = .resize(z)
        case .pad:
            var p = Pad()
            p.mode = try r.choice("pad mode")
            p.value = try r.float()
            let n = try r.nonNegative("rank", max: maxRank)
            for _ in 0..<n { p.begins.append(try r.nonNegative("padding", max: OpLimits.pad)) }
            for _ in 0..<n { p.ends.append(try r.nonNegative("padding", max: OpLimits.pad)) }
            op = .pad(p)
        case .slice:
            var s = Slice()
            let n = try r.nonNegative("rank", max: maxRank)
            for _ in 0..<n { s.starts.append(try r.nonNegative("start", max: OpLimits.dimension)) }
            for _ in 0..<n {
                let st = try r.int()
                if st == 0 || st < -OpLimits.sliceStep || st > OpLimits.sliceStep { throw r.fail("slice step \(st) out of range") }
                s.steps.append(st)
            }
            for _ in 0..<n { s.sizes.append(try r.nonNegative("size", max: OpLimits.dimension)) }
            op = .slice(s)
        case .transpose:
            let n = try r.nonNegative("rank", max: maxRank)
            var perm: [Int] = []
            for _ in 0..<n { perm.append(try r.nonNegative("axis", max: n - 1)) }
            op = .transpose(perm: perm)
        case .reshape:
            let n = try r.nonNegative("rank", max: maxRank)
            var dims: [Int] = []
            for _ in 0..<n { dims.append(try r.nonNegative("dimension", max: OpLimits.dimension)) }
            op = .reshape(shape: dims)
        }
        try r.finish()
        return op
    }

    /// How many inputs the op takes.
    public var inputCount: ClosedRange<Int> {
        switch self {
        case .conv2d, .fullyConnected: return 3...3
        case .binary, .prelu, .lookup: return 2...2
        case .concat: return 1...64
        // int8 softmax takes its exponential table as a second input.
        case .softmax: return 1...2
        default: return 1...1
        }
    }

    /// The output shape for these input shapes; throws naming `w` if they do not fit.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    public func outputShape(_ inputs: [[Int]], where w: String) throws(SwiftletError) -> [Int] {
        func fail(_ d: String) -> SwiftletError {
            .invalidModel(detail: "\(w): \(d)", hint: "the model's shapes do not fit this op")
        }
        guard inputCount.contains(inputs.count) else {
            throw fail("\(kind.name) takes \(inputCount.lowerBound)...\(inputCount.upperBound) inputs, got \(inputs.count)")
        }
        let x = inputs[0]
        // Checked arithmetic: the importer calls this with values straight from an ONNX file.
        func spatial(_ size: Int, _ k: Int, _ s: Int, _ d: Int, _ p0: Int, _ p1: Int, ceil: Bool) throws(SwiftletError) -> Int {
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
                // The last window must start inside the input or left padding (ONNX/PyTorch rule).
                if (o - 1) * s >= size + p0 { o -= 1 }
            }
            return o
        }
        switch self {
        case .conv2d(let c):
            guard x.count == 4 else { throw fail("input must be NHWC rank 4, got \(Shape.text(x))") }
            let wt = inputs[1]
            guard wt.count == 4, wt[1] == c.kernelH, wt[2] == c.kernelW, c.groups >= 1, x[3] % c.groups == 0,
                  x[3] / c.groups == wt[3], wt[0] % c.groups == 0
            else { throw fail("weights \(Shape.text(wt)) do not fit input \(Shape.text(x)) with groups \(c.groups)") }
            guard inputs[2] == [wt[0]] else { throw fail("bias \(Shape.text(inputs[2])) must be [\(wt[0])]") }
            let oh = try spatial(x[1], c.kernelH, c.strideH, c.dilationH, c.padTop, c.padBottom, ceil: false)
            let ow = try spatial(x[2], c.kernelW, c.strideW, c.dilationW, c.padLeft, c.padRight, ceil: false)
            return [x[0], oh, ow, wt[0]]
        case .fullyConnected:
            let wt = inputs[1]
            guard x.count >= 1, wt.count == 2, x[x.count - 1] == wt[1] else {
                throw fail("input \(Shape.text(x)) does not fit weights \(Shape.text(wt))")
            }
            guard inputs[2] == [wt[0]] else { throw fail("bias \(Shape.text(inputs[2])) must be [\(wt[0])]") }
            var out = x
            out[out.count - 1] = wt[0]
            return out
        case .binary, .prelu:
            guard let b = Shape.broadcast(x, inputs[1]) else {
                throw fail("shapes \(Shape.text(x)) and \(Shape.text(inputs[1])) do not broadcast")
            }
            if case .prelu = self, b != x { throw fail("slope \(Shape.text(inputs[1])) must broadcast to \(Shape.text(x))") }
            return b
        case .activation, .quantize, .dequantize:
            return x
        case .lookup:
            guard inputs[1] == [256] else { throw fail("table \(Shape.text(inputs[1])) must be [256]") }
            return x
        case .maxPool(let p), .avgPool(let p):
            guard x.count == 4 else { throw fail("input must be NHWC rank 4, got \(Shape.text(x))") }
            if p.padTop >= p.kernelH || p.padBottom >= p.kernelH || p.padLeft >= p.kernelW || p.padRight >= p.kernelW {
                throw fail("padding must be smaller than the kernel")
            }
            let oh = try spatial(x[1], p.kernelH, p.strideH, 1, p.padTop, p.padBottom, ceil: p.ceilMode)
            let ow = try spatial(x[2], p.kernelW, p.strideW, 1, p.padLeft, p.padRight, ceil: p.ceilMode)
            return [x[0], oh, ow, x[3]]
        case .mean(let axes, let keep):
            var out: [Int] = []
            for i in 0..<x.count {
                if axes.contains(i) {
                    if keep { out.append(1) }
                } else {
                    out.append(x[i])
                }
            }
            for a in axes where a >= x.count { throw fail("axis \(a) is out of range for \(Shape.text(x))") }
            return out
        case .concat(let axis):
            guard axis < x.count else { throw fail("axis \(axis) is out of range for \(Shape.text(x))") }
            var out = x
            for i in 1..<inputs.count {
                let s = inputs[i]
                guard s.count == x.count else { throw fail("inputs have different ranks") }
                for d in 0..<x.count where d != axis && s[d] != x[d] {
                    throw fail("input \(i) \(Shape.text(s)) does not match \(Shape.text(x)) off the axis \(axis)")
                }
                let (sum, o) = out[axis].addingReportingOverflow(s[axis])
                if o { throw fail("concatenated axis \(axis) overflows") }
                out[axis] = sum
            }
            return out
        case .softmax(let axis, _):
            guard axis < x.count else { throw fail("axis \(axis) is out of range for \(Shape.text(x))") }
            if inputs.count == 2 && inputs[1] != [256] { throw fail("softmax table \(Shape.text(inputs[1])) must be [256]") }
            return x
        case .resize(let r):
            guard x.count == 4 else { throw fail("input must be NHWC rank 4, got \(Shape.text(x))") }
            return [x[0], r.outH, r.outW, x[3]]
        case .pad(let p):
            guard p.begins.count == x.count, p.ends.count == x.count else {
                throw fail("pads have rank \(p.begins.count), input \(Shape.text(x))")
            }
            var out = x
            for i in 0..<x.count {
                if p.begins[i] < 0 || p.ends[i] < 0 || p.begins[i] > OpLimits.pad || p.ends[i] > OpLimits.pad {
                    throw fail("padding \(p.begins[i]),\(p.ends[i]) of axis \(i) is outside 0...\(OpLimits.pad)")
                }
                out[i] = x[i] + p.begins[i] + p.ends[i]
                if p.mode != .constant && (p.begins[i] >= max(x[i], 1) || p.ends[i] >= max(x[i], 1)) && (p.begins[i] > 0 || p.ends[i] > 0) {
                    throw fail("reflect/edge padding \(p.begins[i]),\(p.ends[i]) needs a larger input than \(x[i])")
                }
            }
            return out
        case .slice(let s):
            guard s.starts.count == x.count, s.steps.count == x.count, s.sizes.count == x.count else {
                throw fail("slice has rank \(s.starts.count), input \(Shape.text(x))")
            }
            for i in 0..<x.count where s.sizes[i] > 0 {
                let (span, o1) = (s.sizes[i] - 1).multipliedReportingOverflow(by: s.steps[i])
                let (last, o2) = s.starts[i].addingReportingOverflow(span)
                if o1 || o2 || s.starts[i] < 0 || s.starts[i] >= x[i] || last < 0 || last >= x[i] {
                    throw fail("slice of axis \(i) reads outside \(Shape.text(x))")
                }
            }
            return s.sizes
        case .transpose(let perm):
            guard perm.count == x.count else { throw fail("perm has rank \(perm.count), input \(Shape.text(x))") }
            var seen = [Bool](repeating: false, count: perm.count)
            for p in perm {
                if p < 0 || p >= perm.count { throw fail("perm names axis \(p), outside rank \(perm.count)") }
                if seen[p] { throw fail("perm repeats axis \(p)") }
                seen[p] = true
            }
            return Shape.permute(x, perm)
        case .reshape(let shape):
            guard let n = Shape.count(shape), Shape.count(x) == n else {
                throw fail("cannot reshape \(Shape.text(x)) to \(Shape.text(shape))")
            }
            return shape
        }
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
