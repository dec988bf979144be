import CSwiftletSys

// The activations' home: every fact about a pointwise activation is here, and the passes, kernels and
// the int8 conversion read it rather than listing kinds themselves. Adding one (docs/adding-an-op.md)
// is a case, its `apply` and `text`, its int8 range, and, when exporters write it as `x · gate(x)`,
// one entry in `gatedForms`.

/// A pointwise activation, standalone or fused into its producer. Raw value stored in `.swl`: append only.
public enum ActivationKind: Int32, Sendable {
    case none = 0
    case relu = 1
    /// `min(max(x, a), b)`; ReLU6 is `clip(0, 6)`. With `a > b` every value is `b` (ONNX Clip).
    case clip = 2
    /// `x < 0 ? a * x : x`.
    case leakyRelu = 3
    case sigmoid = 4
    /// `clip(a * x + b, 0, 1)`.
    case hardSigmoid = 5
    /// `x * relu6(x + 3) / 6`.
    case hardSwish = 6
    case tanh = 7
    /// SiLU or Swish: `x * sigmoid(x)` (EfficientNet, YOLOv5, YOLOv8).
    case silu = 8
    case abs = 9
    case neg = 10
    case sqrt = 11
    case exp = 12
    case log = 13
    /// The error function.
    case erf = 14
    /// `1 / x`.
    case reciprocal = 15
    case floor = 16
    case ceil = 17
    /// `a == 0`: `x · Φ(x)` with erf; `a == 1`: the tanh approximation (ONNX `approximate="tanh"`).
    case gelu = 18
    /// `x < 0 ? a · (eˣ − 1) : x`.
    case elu = 19
    /// `b · (x ≤ 0 ? a · (eˣ − 1) : x)` (alpha `a`, gamma `b`).
    case selu = 20
    /// `log(1 + eˣ)`.
    case softplus = 21
    /// `x · tanh(softplus(x))`.
    case mish = 22
    // The trigonometric and hyperbolic functions and their inverses (ONNX's, float32 only, #19).
    case sin = 23
    case cos = 24
    case tan = 25
    case asin = 26
    case acos = 27
    case atan = 28
    case sinh = 29
    case cosh = 30
    case asinh = 31
    case acosh = 32
    case atanh = 33
    /// −1, 0 or 1 (NaN stays NaN).
    case sign = 34
    /// To the nearest whole number, halves to even.
    case round = 35
    /// `x / (1 + |x|)`.
    case softsign = 36
    /// `x > a ? x : 0`.
    case thresholdedRelu = 37
    /// `max(0, x) + min(0, a · (e^(x/a) − 1))`.
    case celu = 38
    /// `x < −a ? x + b : (x > a ? x − b : 0)` (lambd `a`, bias `b`).
    case shrink = 39
}

/// An activation with its two parameters (meaning depends on the kind).
public struct Activation: Equatable, Sendable {
    public var kind: ActivationKind
    public var a: Float
    public var b: Float

    public init(_ kind: ActivationKind, _ a: Float = 0, _ b: Float = 0) {
        self.kind = kind
        self.a = a
        self.b = b
    }

    /// No activation.
    public static let none = Activation(.none)

    /// The activation applied to one value (the float reference definition; int8 tabulates it).
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch kind {
        case .none: return x
        case .relu: return x > 0 ? x : 0
        case .clip:
            let y = x < a ? a : x
            return y > b ? b : y
        case .leakyRelu: return x < 0 ? a * x : x
        case .sigmoid: return 1 / (1 + expf(-x))
        case .hardSigmoid:
            let y = a * x + b
            return y < 0 ? 0 : (y > 1 ? 1 : y)
        case .hardSwish:
            let r = x + 3
            let c = r < 0 ? 0 : (r > 6 ? 6 : r)
            return x * c / 6
        case .tanh: return tanhf(x)
        // x / (1 + e^−x): one rounding fewer than x · σ(x), ONNX Runtime's Sigmoid → Mul; they differ by rounding only.
        case .silu: return x / (1 + expf(-x))
        case .abs: return x.magnitude
        case .neg: return -x
        case .sqrt: return x.squareRoot()
        case .exp: return expf(x)
        case .log: return logf(x)
        case .erf: return erff(x)
        case .reciprocal: return 1 / x
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        case .gelu:
            if a == 1 { return 0.5 * x * (1 + tanhf(0.7978845608 * (x + 0.044715 * x * x * x))) }
            return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .elu: return x < 0 ? a * (expf(x) - 1) : x
        case .selu: return x <= 0 ? b * (a * expf(x) - a) : b * x
        case .softplus: return Activation.softplus(x)
        case .mish: return x * tanhf(Activation.softplus(x))
        case .sin: return sinf(x)
        case .cos: return cosf(x)
        case .tan: return tanf(x)
        case .asin: return asinf(x)
        case .acos: return acosf(x)
        case .atan: return atanf(x)
        case .sinh: return sinhf(x)
        case .cosh: return coshf(x)
        case .asinh: return asinhf(x)
        case .acosh: return acoshf(x)
        case .atanh: return atanhf(x)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : x)
        case .round: return x.rounded(.toNearestOrEven)
        case .softsign: return x / (1 + x.magnitude)
        case .thresholdedRelu: return x > a ? x : 0
        case .celu: return (x > 0 ? x : 0) + min(0, a * (expf(x / a) - 1))
        case .shrink: return x < -a ? x + b : (x > a ? x - b : 0)
        }
    }

    /// `log(1 + eˣ)` without overflow for large `x`.
    @inline(__always)
    static func softplus(_ x: Float) -> Float {
        x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))
    }

    /// Short text for `inspect`: `relu`, `clip(0,6)`.
    public var text: String {
        switch kind {
        case .none: return ""
        case .relu: return "relu"
        case .clip: return (a == 0 && b == 6) ? "relu6" : "clip(\(a),\(b))"
        case .leakyRelu: return "leakyrelu(\(a))"
        case .sigmoid: return "sigmoid"
        case .hardSigmoid: return "hardsigmoid(\(a),\(b))"
        case .hardSwish: return "hardswish"
        case .tanh: return "tanh"
        case .silu: return "silu"
        case .abs: return "abs"
        case .neg: return "neg"
        case .sqrt: return "sqrt"
        case .exp: return "exp"
        case .log: return "log"
        case .erf: return "erf"
        case .reciprocal: return "reciprocal"
        case .floor: return "floor"
        case .ceil: return "ceil"
        case .gelu: return a == 1 ? "gelu(tanh)" : "gelu"
        case .elu: return "elu(\(a))"
        case .selu: return "selu(\(a),\(b))"
        case .softplus: return "softplus"
        case .mish: return "mish"
        case .sin: return "sin"
        case .cos: return "cos"
        case .tan: return "tan"
        case .asin: return "asin"
        case .acos: return "acos"
        case .atan: return "atan"
        case .sinh: return "sinh"
        case .cosh: return "cosh"
        case .asinh: return "asinh"
        case .acosh: return "acosh"
        case .atanh: return "atanh"
        case .sign: return "sign"
        case .round: return "round"
        case .softsign: return "softsign"
        case .thresholdedRelu: return "thresholdedrelu(\(a))"
        case .celu: return "celu(\(a))"
        case .shrink: return "shrink(\(a),\(b))"
        }
    }

    /// Whether the int8 conversion tabulates the activation as a Lookup. The element-wise functions
    /// added for ONNX conformance (#19) are not: they stay float32 behind a Dequantize (their int8
    /// ranges, e.g. Log or Sqrt of values ≤ 0, are not worked out).
    public var hasInt8Table: Bool { kind.rawValue <= ActivationKind.silu.rawValue }

    /// The bounds when the activation is a clamp (none, relu, clip), which every kernel applies while
    /// storing: float micro-kernels and int8 kernels alike. Any other activation is a pass after a float
    /// kernel, and in int8 a separate Lookup through a table of `apply`.
    public var clampBounds: (lo: Float, hi: Float)? {
        switch kind {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        // min(max(x, a), b) is b everywhere when a > b: the clamp [b, b].
        case .clip: return (a > b ? b : a, b)
        default: return nil
        }
    }

    /// Whether the activation is a clamp (`clampBounds`): an int8 Conv, FullyConnected, Add or Mul can fuse it.
    public var isClamp: Bool { clampBounds != nil }

    /// What the int8 conversion knows of the output's range before calibration.
    public enum OutputRange: Equatable, Sendable {
        /// Nothing: the calibrated range.
        case calibrated
        /// A bounded function's fixed parameters (TFLite's: 1/256 and −128 for [0, 1], 1/128 and 0 for [−1, 1]).
        case fixed(scale: Float, zeroPoint: Int32)
        /// The calibrated maximum with the function's known minimum.
        case atLeast(Float)
        /// A clamp's bounds, within which the calibrated range is finer (as TFLite).
        case within(Float, Float)
    }

    /// The int8 output range rule: `fixed` and `atLeast` apply to a standalone activation (a Lookup),
    /// `within` to a clamp fused into its producer.
    public var outputRange: OutputRange {
        switch kind {
        case .none, .relu, .leakyRelu: return .calibrated
        // Float only (`hasInt8Table`).
        case .abs, .neg, .sqrt, .exp, .log, .erf, .reciprocal, .floor, .ceil, .gelu, .elu, .selu, .softplus, .mish,
             .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh, .sign, .round, .softsign,
             .thresholdedRelu, .celu, .shrink:
            return .calibrated
        case .clip: return .within(a > b ? b : a, b)
        case .sigmoid, .hardSigmoid: return .fixed(scale: 1.0 / 256, zeroPoint: -128)
        case .tanh: return .fixed(scale: 1.0 / 128, zeroPoint: 0)
        // x · relu6(x + 3) / 6 is least at x = −1.5.
        case .hardSwish: return .atLeast(-0.375)
        // x · σ(x) is least at x ≈ −1.27846 (where 1 + x·(1 − σ(x)) = 0).
        case .silu: return .atLeast(-0.27846455)
        }
    }

    /// `x · gate(x)`, two nodes as exporters write some activations, and the one activation it is: the
    /// importer folds the pair (`foldGatedActivations`), so a convolution can fuse it and int8 runs one
    /// table instead of a table and a Mul. PyTorch exports `nn.Hardswish` before opset 14 and `nn.SiLU`
    /// at every opset this way.
    public static let gatedForms: [(gate: Activation, product: Activation)] = [
        (Activation(.hardSigmoid, 1.0 / 6, 0.5), Activation(.hardSwish)),
        (Activation(.sigmoid), Activation(.silu)),
    ]

    /// The same kind with parameters equal within 1e-6 (exporters round 1/6).
    public func matches(_ other: Activation) -> Bool {
        func near(_ x: Float, _ y: Float) -> Bool { (x - y).magnitude < 1e-6 }
        return kind == other.kind && near(a, other.a) && near(b, other.b)
    }

    func encode(into a32: inout [Int32]) {
        a32.append(kind.rawValue)
        a32.append(Int32(bitPattern: a.bitPattern))
        a32.append(Int32(bitPattern: b.bitPattern))
    }

    static func decode(_ r: inout AttrReader) throws(SwiftletError) -> Activation {
        let k = try r.int()
        guard let kind = ActivationKind(rawValue: Int32(k)) else { throw r.fail("unknown activation \(k)") }
        return Activation(kind, try r.float(), try r.float())
    }
}
