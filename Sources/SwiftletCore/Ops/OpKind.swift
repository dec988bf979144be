import CSwiftletSys

/// The operators a packed model can hold. The raw value is stored in `.swl`: append only.
public enum OpKind: UInt16, Sendable {
    case conv2d = 1
    case fullyConnected = 2
    case add = 3
    case sub = 4
    case mul = 5
    case div = 6
    case activation = 7
    case prelu = 8
    case maxPool = 9
    case avgPool = 10
    case mean = 11
    case concat = 12
    case softmax = 13
    case resize = 14
    case pad = 15
    case slice = 16
    case transpose = 17
    case reshape = 18
    /// float32 → int8 with the output tensor's scale and zero point.
    case quantize = 19
    /// int8 → float32 with the input tensor's scale and zero point.
    case dequantize = 20
    /// int8 → int8 through a 256-entry table (input 1): any pointwise function, tabulated at pack time.
    case lookup = 21

    /// The name used in `inspect` and docs.
    public var name: String {
        switch self {
        case .conv2d: return "Conv2D"
        case .fullyConnected: return "FullyConnected"
        case .add: return "Add"
        case .sub: return "Sub"
        case .mul: return "Mul"
        case .div: return "Div"
        case .activation: return "Activation"
        case .prelu: return "PRelu"
        case .maxPool: return "MaxPool"
        case .avgPool: return "AvgPool"
        case .mean: return "Mean"
        case .concat: return "Concat"
        case .softmax: return "Softmax"
        case .resize: return "Resize"
        case .pad: return "Pad"
        case .slice: return "Slice"
        case .transpose: return "Transpose"
        case .reshape: return "Reshape"
        case .quantize: return "Quantize"
        case .dequantize: return "Dequantize"
        case .lookup: return "Lookup"
        }
    }
}

/// A pointwise activation, standalone or fused into its producer. Raw value stored in `.swl`.
public enum ActivationKind: Int32, Sendable {
    case none = 0
    case relu = 1
    /// `min(max(x, a), b)`; ReLU6 is `clip(0, 6)`.
    case clip = 2
    /// `x < 0 ? a * x : x`.
    case leakyRelu = 3
    case sigmoid = 4
    /// `clip(a * x + b, 0, 1)`.
    case hardSigmoid = 5
    /// `x * relu6(x + 3) / 6`.
    case hardSwish = 6
    case tanh = 7
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

    /// The activation applied to one value (the float reference definition).
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch kind {
        case .none: return x
        case .relu: return x > 0 ? x : 0
        case .clip: return x < a ? a : (x > b ? b : x)
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
        }
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
        }
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


/// Reads a node's Int32 attribute list, failing with a message that names the node.
public struct AttrReader {
    let values: [Int32]
    var index = 0
    let where_: String

    public init(_ values: [Int32], where where_: String) {
        self.values = values
        self.where_ = where_
    }

    /// A failure naming the node.
    public func fail(_ detail: String) -> SwiftletError {
        .invalidModel(detail: "\(where_): \(detail)", hint: "the model file is corrupt or from another version; re-run 'swiftlet import'")
    }

    mutating func int() throws(SwiftletError) -> Int {
        guard index < values.count else { throw fail("attributes end early (\(values.count) values)") }
        index += 1
        return Int(values[index - 1])
    }

    mutating func nonNegative(_ what: String, max: Int = 1 << 24) throws(SwiftletError) -> Int {
        let v = try int()
        if v < 0 || v > max { throw fail("\(what) is \(v), expected 0...\(max)") }
        return v
    }

    mutating func positive(_ what: String, max: Int = 1 << 24) throws(SwiftletError) -> Int {
        let v = try int()
        if v < 1 || v > max { throw fail("\(what) is \(v), expected 1...\(max)") }
        return v
    }

    /// A stored enum case; an unknown raw value fails naming `what` and the value.
    mutating func choice<E: RawRepresentable>(_ what: String) throws(SwiftletError) -> E where E.RawValue == Int32 {
        let v = try int()
        guard let e = E(rawValue: Int32(v)) else { throw fail("unknown \(what) \(v)") }
        return e
    }

    mutating func float() throws(SwiftletError) -> Float {
        Float(bitPattern: UInt32(bitPattern: Int32(truncatingIfNeeded: try int())))
    }

    mutating func ints(_ n: Int) throws(SwiftletError) -> [Int] {
        var out: [Int] = []
        for _ in 0..<n { out.append(try int()) }
        return out
    }

    func finish() throws(SwiftletError) {
        if index != values.count { throw fail("\(values.count - index) unexpected attribute values") }
    }
}
