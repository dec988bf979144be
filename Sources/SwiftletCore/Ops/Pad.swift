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

    func encode(into a: inout [Int32]) {
        a.append(mode.rawValue)
        a.append(Int32(bitPattern: value.bitPattern))
        a.append(Int32(truncatingIfNeeded: begins.count))
        for v in begins + ends { a.append(Int32(truncatingIfNeeded: v)) }
    }

    @_optimize(size)  // runs at load, as Op.decode
    static func decode(_ r: inout AttrReader) throws(SwiftletError) -> Pad {
        var p = Pad()
        p.mode = try r.choice("pad mode")
        p.value = try r.float()
        let n = try r.nonNegative("rank", max: maxRank)
        for _ in 0..<n { p.begins.append(try r.nonNegative("padding", max: OpLimits.pad)) }
        for _ in 0..<n { p.ends.append(try r.nonNegative("padding", max: OpLimits.pad)) }
        return p
    }

    @_optimize(size)  // runs at load, as Op.outputShape
    func outputShape(_ x: [Int], _ fail: (String) -> SwiftletError) throws(SwiftletError) -> [Int] {
        guard begins.count == x.count, ends.count == x.count else {
            throw fail("pads have rank \(begins.count), input \(Shape.text(x))")
        }
        var out = x
        for i in 0..<x.count {
            if begins[i] < 0 || ends[i] < 0 || begins[i] > OpLimits.pad || ends[i] > OpLimits.pad {
                throw fail("padding \(begins[i]),\(ends[i]) of axis \(i) is outside 0...\(OpLimits.pad)")
            }
            out[i] = x[i] + begins[i] + ends[i]
            if mode != .constant && (begins[i] >= max(x[i], 1) || ends[i] >= max(x[i], 1)) && (begins[i] > 0 || ends[i] > 0) {
                throw fail("reflect/edge padding \(begins[i]),\(ends[i]) needs a larger input than \(x[i])")
            }
        }
        return out
    }
}
