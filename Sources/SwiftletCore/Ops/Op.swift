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

/// How an op's output may share arena bytes with its inputs (`Op.outputSharing`; the planner's
/// aliasing reads it).
public enum OutputSharing: Sendable {
    /// Its own bytes.
    case none
    /// The same bytes as input 0 (a Reshape is a view).
    case view
    /// Element-wise: it may write over an input of its shape and type that dies at it; with
    /// `firstInputOnly`, only over input 0 (PReLU's slope and Lookup's table are not overwritable).
    case overInput(firstInputOnly: Bool)
    /// Concat along `axis`: each input may be written by its producer straight into its slice.
    case slices(axis: Int)
}

/// One operator of a packed model, with its attributes.
public enum Op: Equatable, Sendable {
    case conv2d(Conv2D)
    /// `y = x · Wᵀ + b`, x `[M, K]` (leading dims flattened), W `[N, K]`, b `[N]`.
    case fullyConnected(Activation)
    /// Element-wise with NumPy broadcasting; `kind` is add, sub, mul, div, max, min or pow.
    case binary(OpKind, Activation)
    case activation(Activation)
    /// `x < 0 ? slope · x : x`, slope broadcast to x.
    case prelu
    case maxPool(Pool2D)
    case avgPool(Pool2D)
    /// Mean over `axes`, keeping them as size 1 when `keepDims`.
    case mean(axes: [Int], keepDims: Bool)
    /// Maximum, minimum or product (`kind` reduceMax, reduceMin or reduceProd) over `axes`, as `mean`.
    case reduce(OpKind, axes: [Int], keepDims: Bool)
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
        case .reduce(let k, _, _): return k
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
        case .conv2d, .fullyConnected, .prelu, .mean, .softmax: return .compute
        case .activation(let a): return a.hasInt8Table ? .compute : .none
        case .binary(let k, _): return k == .add || k == .mul ? .compute : .none
        case .maxPool, .avgPool, .reshape, .pad, .slice, .transpose: return .keepsInputParams
        case .concat: return .sharesParams
        case .resize, .reduce: return .none
        case .quantize, .dequantize, .lookup: return .conversion
        }
    }

    /// The op with its fused activation (if it has one) replaced by `a`.
    public func fusing(_ a: Activation) -> Op {
        switch self {
        case .conv2d(var c):
            c.activation = a
            return .conv2d(c)
        case .fullyConnected: return .fullyConnected(a)
        case .binary(let k, _): return .binary(k, a)
        case .activation, .prelu, .maxPool, .avgPool, .mean, .reduce, .concat, .softmax, .resize, .pad, .slice, .transpose,
             .reshape, .quantize, .dequantize, .lookup:
            return self
        }
    }

    /// How its output may share the arena with its inputs.
    public var outputSharing: OutputSharing {
        switch self {
        case .reshape: return .view
        case .activation, .binary: return .overInput(firstInputOnly: false)
        case .prelu, .lookup: return .overInput(firstInputOnly: true)
        case .concat(let axis): return .slices(axis: axis)
        case .conv2d, .fullyConnected, .maxPool, .avgPool, .mean, .reduce, .softmax, .resize, .pad, .slice, .transpose,
             .quantize, .dequantize:
            return .none
        }
    }

    /// Bytes of kernel scratch the op needs in the arena while it runs, for an output of `outputCount`
    /// elements (0: none). Only the int8 Mean has any: its int32 sums, one per output element. The SIMD
    /// variants' own scratch is per thread, outside the arena (`KernelVariant`).
    public func arenaScratchBytes(outputCount: Int, int8: Bool) -> Int {
        switch self {
        case .mean: return int8 ? outputCount * 4 : 0
        case .conv2d, .fullyConnected, .binary, .activation, .prelu, .maxPool, .avgPool, .reduce, .concat, .softmax, .resize,
             .pad, .slice, .transpose, .reshape, .quantize, .dequantize, .lookup:
            return 0
        }
    }

    /// The fused activation, if the op has one.
    public var fusedActivation: Activation? {
        switch self {
        case .conv2d(let c): return c.activation
        case .fullyConnected(let a), .binary(_, let a): return a
        case .activation, .prelu, .maxPool, .avgPool, .mean, .reduce, .concat, .softmax, .resize, .pad, .slice, .transpose,
             .reshape, .quantize, .dequantize, .lookup:
            return nil
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
        case .conv2d(let c): c.encode(into: &a)
        case .fullyConnected(let act), .binary(_, let act), .activation(let act):
            act.encode(into: &a)
        case .prelu, .quantize, .dequantize, .lookup:
            break
        case .maxPool(let p), .avgPool(let p): p.encode(into: &a)
        case .mean(let axes, let keep), .reduce(_, let axes, let keep):
            put(keep ? 1 : 0)
            putList(axes)
        case .concat(let axis):
            put(axis)
        case .softmax(let axis, let toEnd):
            put(axis)
            put(toEnd ? 1 : 0)
        case .resize(let r): r.encode(into: &a)
        case .pad(let p): p.encode(into: &a)
        case .slice(let s): s.encode(into: &a)
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
        case .conv2d: op = .conv2d(try Conv2D.decode(&r))
        case .fullyConnected: op = .fullyConnected(try Activation.decode(&r))
        case .add, .sub, .mul, .div, .max, .min, .pow: op = .binary(kind, try Activation.decode(&r))
        case .activation: op = .activation(try Activation.decode(&r))
        case .prelu: op = .prelu
        case .quantize: op = .quantize
        case .dequantize: op = .dequantize
        case .lookup: op = .lookup
        case .maxPool: op = .maxPool(try Pool2D.decode(&r))
        case .avgPool: op = .avgPool(try Pool2D.decode(&r))
        case .mean, .reduceMax, .reduceMin, .reduceProd:
            let keep = try r.nonNegative("keepdims", max: 1) == 1
            let n = try r.nonNegative("axis count", max: maxRank)
            var axes: [Int] = []
            for _ in 0..<n { axes.append(try r.nonNegative("axis", max: maxRank - 1)) }
            op = kind == .mean ? .mean(axes: axes, keepDims: keep) : .reduce(kind, axes: axes, keepDims: keep)
        case .concat: op = .concat(axis: try r.nonNegative("axis", max: maxRank - 1))
        case .softmax:
            let axis = try r.nonNegative("axis", max: maxRank - 1)
            op = .softmax(axis: axis, toEnd: try r.nonNegative("to-end flag", max: 1) == 1)
        case .resize: op = .resize(try Resize.decode(&r))
        case .pad: op = .pad(try Pad.decode(&r))
        case .slice: op = .slice(try Slice.decode(&r))
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
        case .activation, .maxPool, .avgPool, .mean, .reduce, .resize, .pad, .slice, .transpose, .reshape, .quantize,
             .dequantize:
            return 1...1
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
        switch self {
        case .conv2d(let c): return try c.outputShape(inputs, fail)
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
        case .maxPool(let p), .avgPool(let p): return try p.outputShape(x, fail)
        case .mean(let axes, let keep), .reduce(_, let axes, let keep):
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
        case .resize(let r): return try r.outputShape(x, fail)
        case .pad(let p): return try p.outputShape(x, fail)
        case .slice(let s): return try s.outputShape(x, fail)
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
