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
    /// Element-wise maximum, minimum and power, float32 only (#19).
    case max = 22
    case min = 23
    case pow = 24
    /// Maximum, minimum and product over axes, float32 only (#19).
    case reduceMax = 25
    case reduceMin = 26
    case reduceProd = 27

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
        case .max: return "Max"
        case .min: return "Min"
        case .pow: return "Pow"
        case .reduceMax: return "ReduceMax"
        case .reduceMin: return "ReduceMin"
        case .reduceProd: return "ReduceProd"
        }
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
