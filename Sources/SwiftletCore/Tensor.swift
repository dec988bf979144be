/// Element types a tensor can hold. The raw value is stored in `.swl` files: append only.
public enum DType: UInt8, Sendable {
    case float32 = 1
    case int8 = 2
    case uint8 = 3
    case int32 = 4
    case int64 = 5

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: return 4
        case .int8, .uint8: return 1
        case .int64: return 8
        }
    }

    /// The lowercase name, as in docs and messages.
    public var name: String {
        switch self {
        case .float32: return "float32"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .int64: return "int64"
        }
    }
}

/// How a tensor's bytes relate to the ONNX model's logical shape. Stored in `.swl`: append only.
public enum Layout: UInt8, Sendable {
    /// Physical order is the logical order.
    case plain = 0
    /// A logical NCHW tensor stored as NHWC (the physical shape is `[N, H, W, C]`).
    case nhwc = 1
}

/// The largest rank a tensor may have.
public let maxRank = 6

/// Shape arithmetic shared by import, load and the kernels.
public enum Shape {
    /// The number of elements, or nil if it overflows or a dimension is negative.
    public static func count(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            if d < 0 { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o || p > Int(Int32.max) * 16 { return nil }
            n = p
        }
        return n
    }

    /// Steps a row-major index within `dims` to the next element (the last axis fastest); past the
    /// last element it wraps to all zeros.
    public static func advance(_ idx: inout [Int], within dims: [Int]) {
        var a = dims.count - 1
        while a >= 0 {
            idx[a] += 1
            if idx[a] < dims[a] { return }
            idx[a] = 0
            a -= 1
        }
    }

    /// Row-major strides in elements.
    public static func strides(_ dims: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        var i = dims.count - 1
        while i >= 0 {
            s[i] = acc
            acc *= dims[i]
            i -= 1
        }
        return s
    }

    /// The products of the dims before and after `axis` (0 ≤ `axis` ≤ rank), viewing `dims` as
    /// `[outer, dims[axis], inner]` (concat, softmax).
    public static func outerInner(_ dims: [Int], axis: Int) -> (outer: Int, inner: Int) {
        var outer = 1
        for d in 0..<axis { outer *= dims[d] }
        var inner = 1
        for d in (axis + 1)..<max(axis + 1, dims.count) { inner *= dims[d] }
        return (outer, inner)
    }

    /// NumPy-style broadcast of two shapes, or nil if they do not broadcast.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = a.count > b.count ? a.count : b.count
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Dims as text: `[1, 224, 224, 3]`.
    public static func text(_ dims: [Int]) -> String {
        var s = "["
        for (i, d) in dims.enumerated() {
            if i > 0 { s += ", " }
            s += "\(d)"
        }
        return s + "]"
    }

    /// The permutation that takes a logical NCHW-family shape to its NHWC storage: `[0, 2, 3, 1]`.
    public static let nchwToNHWC: [Int] = [0, 2, 3, 1]
    /// The inverse permutation: NHWC storage back to NCHW.
    public static let nhwcToNCHW: [Int] = [0, 3, 1, 2]

    /// `dims` permuted: `out[i] = dims[perm[i]]`.
    public static func permute(_ dims: [Int], _ perm: [Int]) -> [Int] {
        var out = [Int](repeating: 0, count: perm.count)
        for i in 0..<perm.count { out[i] = dims[perm[i]] }
        return out
    }
}
