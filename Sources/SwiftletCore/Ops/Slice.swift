/// A strided slice of every dimension: `starts` and `steps` are normalised, `sizes` the output dims.
public struct Slice: Equatable, Sendable {
    public var starts: [Int] = []
    public var steps: [Int] = []
    public var sizes: [Int] = []
    public init() {}

    func encode(into a: inout [Int32]) {
        a.append(Int32(truncatingIfNeeded: starts.count))
        for v in starts + steps + sizes { a.append(Int32(truncatingIfNeeded: v)) }
    }

    @_optimize(size)  // runs at load, as Op.decode
    static func decode(_ r: inout AttrReader) throws(SwiftletError) -> Slice {
        var s = Slice()
        let n = try r.nonNegative("rank", max: maxRank)
        for _ in 0..<n { s.starts.append(try r.nonNegative("start", max: OpLimits.dimension)) }
        for _ in 0..<n {
            let st = try r.int()
            if st == 0 || st < -OpLimits.sliceStep || st > OpLimits.sliceStep { throw r.fail("slice step \(st) out of range") }
            s.steps.append(st)
        }
        for _ in 0..<n { s.sizes.append(try r.nonNegative("size", max: OpLimits.dimension)) }
        return s
    }

    @_optimize(size)  // runs at load, as Op.outputShape
    func outputShape(_ x: [Int], _ fail: (String) -> SwiftletError) throws(SwiftletError) -> [Int] {
        guard starts.count == x.count, steps.count == x.count, sizes.count == x.count else {
            throw fail("slice has rank \(starts.count), input \(Shape.text(x))")
        }
        for i in 0..<x.count where sizes[i] > 0 {
            let (span, o1) = (sizes[i] - 1).multipliedReportingOverflow(by: steps[i])
            let (last, o2) = starts[i].addingReportingOverflow(span)
            if o1 || o2 || starts[i] < 0 || starts[i] >= x[i] || last < 0 || last >= x[i] {
                throw fail("slice of axis \(i) reads outside \(Shape.text(x))")
            }
        }
        return sizes
    }
}
