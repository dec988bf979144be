/// Shapes and strides padded to rank 6 (leading 1s), so N-d loops are six fixed loops.
public struct Dims6: Sendable {
    public var d: (Int, Int, Int, Int, Int, Int) = (1, 1, 1, 1, 1, 1)

    public init(_ dims: [Int]) {
        var a = [1, 1, 1, 1, 1, 1]
        let off = 6 - dims.count
        for i in 0..<dims.count { a[off + i] = dims[i] }
        d = (a[0], a[1], a[2], a[3], a[4], a[5])
    }

    init(tuple: (Int, Int, Int, Int, Int, Int)) { d = tuple }

    public subscript(i: Int) -> Int {
        switch i {
        case 0: return d.0
        case 1: return d.1
        case 2: return d.2
        case 3: return d.3
        case 4: return d.4
        default: return d.5
        }
    }

    /// Row-major strides of these dims, with 0 where a dim is broadcast to `to`.
    public func broadcastStrides(to out: Dims6) -> Dims6 {
        var s = [0, 0, 0, 0, 0, 0]
        var acc = 1
        var i = 5
        while i >= 0 {
            s[i] = (self[i] == 1 && out[i] != 1) ? 0 : acc
            acc *= self[i]
            i -= 1
        }
        return Dims6(tuple: (s[0], s[1], s[2], s[3], s[4], s[5]))
    }

    /// Plain row-major strides.
    public var strides: Dims6 { broadcastStrides(to: self) }
}

/// Calls `body(outIndex, aIndex, bIndex)` for every element of `out`, in row-major order.
@inline(__always)
func forEach6(_ out: Dims6, _ sa: Dims6, _ sb: Dims6, _ body: (Int, Int, Int) -> Void) {
    var o = 0
    for i0 in 0..<out.d.0 {
        for i1 in 0..<out.d.1 {
            for i2 in 0..<out.d.2 {
                for i3 in 0..<out.d.3 {
                    for i4 in 0..<out.d.4 {
                        let a4 = i0 * sa.d.0 + i1 * sa.d.1 + i2 * sa.d.2 + i3 * sa.d.3 + i4 * sa.d.4
                        let b4 = i0 * sb.d.0 + i1 * sb.d.1 + i2 * sb.d.2 + i3 * sb.d.3 + i4 * sb.d.4
                        for i5 in 0..<out.d.5 {
                            body(o, a4 + i5 * sa.d.5, b4 + i5 * sb.d.5)
                            o += 1
                        }
                    }
                }
            }
        }
    }
}

/// Calls `body(aIndex, bIndex)` at the start of every innermost row of `out` (`out.d.5` elements,
/// `sa.d.5` and `sb.d.5` apart in a and b), in row-major order: `forEach6` with the last loop left
/// to the caller, so it can be a vectorizable loop.
@inline(__always)
func forEachRow6(_ out: Dims6, _ sa: Dims6, _ sb: Dims6, _ body: (Int, Int) -> Void) {
    for i0 in 0..<out.d.0 {
        for i1 in 0..<out.d.1 {
            for i2 in 0..<out.d.2 {
                for i3 in 0..<out.d.3 {
                    for i4 in 0..<out.d.4 {
                        body(i0 * sa.d.0 + i1 * sa.d.1 + i2 * sa.d.2 + i3 * sa.d.3 + i4 * sa.d.4,
                             i0 * sb.d.0 + i1 * sb.d.1 + i2 * sb.d.2 + i3 * sb.d.3 + i4 * sb.d.4)
                    }
                }
            }
        }
    }
}
