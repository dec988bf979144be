import SwiftletCompiler
import SwiftletCore

/// Ops that make constants or convert one: Constant (its value attribute), Shape and Size (of a
/// static shape), ConstantOfShape, Range, Cast and Identity.
extension Folder {
    static let constantRules: [String: FoldRule] = [
        "Constant": { f throws(SwiftletError) in try f.constant() },
        "Shape": { f throws(SwiftletError) in try f.shapeOf() },
        "Size": { f throws(SwiftletError) in try f.size() },
        "Identity": { f throws(SwiftletError) in try f.identity() },
        "Cast": { f throws(SwiftletError) in try f.cast() },
        "ConstantOfShape": { f throws(SwiftletError) in try f.constantOfShape() },
        "Range": { f throws(SwiftletError) in try f.range() },
    ]

    /// The `value`, `value_floats`, `value_float`, `value_ints` or `value_int` attribute.
    func constant() throws(SwiftletError) -> [Result] {
        if let t = attrs.tensor("value") {
            let (s, d) = try decodeTensor(t, where: "constant")
            return [Result(shape: s, data: d)]
        }
        if let f = attrs.floats("value_floats") { return [Result(shape: [f.count], data: .floats(f))] }
        if attrs.has("value_float") { return [Result(shape: [], data: .floats([try attrs.float("value_float", 0)]))] }
        if attrs.has("value_ints") { return [Result(shape: [try attrs.ints("value_ints", []).count], data: .ints(try attrs.ints("value_ints", []).map { Int64($0) }))] }
        if attrs.has("value_int") { return [Result(shape: [], data: .ints([Int64(try attrs.int("value_int", 0))]))] }
        throw fail("Constant has no supported value attribute (sparse or string constants are not supported)", "")
    }

    /// The input's static shape between `start` and `end`.
    func shapeOf() throws(SwiftletError) -> [Result] {
        let s = try value(ins.first ?? -1).shape
        if s.contains(where: { $0 < 0 }) { throw fail("shape is dynamic", "pass --input-shape") }
        var start = try attrs.int("start", 0)
        var end = try attrs.int("end", s.count)
        if start < 0 { start += s.count }
        if end < 0 { end += s.count }
        start = min(max(start, 0), s.count)
        end = min(max(end, start), s.count)
        return [Result(shape: [end - start], data: .ints(s[start..<end].map { Int64($0) }))]
    }

    /// The element count of the input's static shape.
    func size() throws(SwiftletError) -> [Result] {
        let s = try value(ins.first ?? -1).shape
        guard let n = checkedProduct(s) else { throw fail("the size of \(Shape.text(s)) overflows", "") }
        return [Result(shape: [], data: .ints([Int64(n)]))]
    }

    /// The input as it is.
    func identity() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        return [Result(shape: a.shape, data: a.data)]
    }

    /// The input as floats (to float, double; to float16 rounded to its precision), 0/1 (to bool) or
    /// exact integers (any other type).
    func cast() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        let to = try attrs.int("to", nil)
        // float, uint8, int8, uint16, int16, int32, int64, bool, float16, double, uint32, uint64; not
        // string, complex, bfloat16, the float8/float4 and 4-bit types (Cast-24's round_mode concerns
        // float8e8m0 only: refused here, so the version table imports Cast-24).
        guard (1...13).contains(to) && to != 8 else {
            throw fail("Cast to ONNX element type \(to) is not supported (only float, double, float16, bool and the 8- to 64-bit integers)", "")
        }
        // To float16 the values round to float16's precision (nearest, ties to even), as ONNX Runtime's Cast does.
        if to == 10 { return [Result(shape: a.shape, data: .floats(a.data.asFloats.map { Float(Float16($0)) }))] }
        if to == 1 || to == 11 { return [Result(shape: a.shape, data: .floats(a.data.asFloats))] }
        if to == 9 { return [Result(shape: a.shape, data: .ints(a.data.asFloats.map { $0 != 0 ? 1 : 0 }))] }
        return [Result(shape: a.shape, data: .ints(try exactInts(a.data, "Cast's input (to type \(to))")))]
    }

    /// The shape given by input 0 filled with the `value` attribute's first element (0.0 without it).
    func constantOfShape() throws(SwiftletError) -> [Result] {
        let s = try exactInts(try c(0).data, "the shape").map { Int($0) }
        let n = try count(s)
        if let t = attrs.tensor("value") {
            let (_, d) = try decodeTensor(t, where: "ConstantOfShape")
            switch d {
            case .floats(let f): return [Result(shape: s, data: .floats([Float](repeating: f.first ?? 0, count: n)))]
            case .ints(let i): return [Result(shape: s, data: .ints([Int64](repeating: i.first ?? 0, count: n)))]
            }
        }
        return [Result(shape: s, data: .floats([Float](repeating: 0, count: n)))]
    }

    /// start, start + delta, ... below limit: integer (every step checked) or float.
    func range() throws(SwiftletError) -> [Result] {
        let s = try c(0).data, l = try c(1).data, d = try c(2).data
        guard s.count == 1, l.count == 1, d.count == 1 else {
            throw fail("start, limit and delta must be scalars, they have \(s.count), \(l.count) and \(d.count) values", "")
        }
        if isIntData(s) {
            let (a, b, st) = (s.asInts[0], l.asInts[0], d.asInts[0])
            if st == 0 { throw fail("Range delta is 0", "") }
            // n = max(0, ⌈(limit − start) / delta⌉), every step checked.
            let span = try checked(b.subtractingReportingOverflow(a), b, "-", a)
            // Int64.min / -1 is the one quotient that overflows: far beyond the cap anyway.
            var n = try checked(span.dividedReportingOverflow(by: st), span, "/", st)
            if span % st != 0 && (span < 0) == (st < 0) { n += 1 }
            n = max(0, n)
            _ = try count([Int(n)])
            var out: [Int64] = []
            out.reserveCapacity(Int(n))
            for i in 0..<n { out.append(a &+ i &* st) }  // within [start, limit): no overflow
            return [Result(shape: [out.count], data: .ints(out))]
        }
        let (a, b, st) = (s.asFloats[0], l.asFloats[0], d.asFloats[0])
        if st == 0 || !st.isFinite { throw fail("Range delta is \(st)", "") }
        let count = ((b - a) / st).rounded(.up)
        guard count.isFinite, count <= Float(Folder.foldElementCap) else {
            throw fail("Range from \(a) to \(b) by \(st) would produce \(count) elements, more than the \(Folder.foldElementCap) one folded result may have", Folder.foldHint)
        }
        let n = try foldCount([count > 0 ? Int(count) : 0], allowed: Folder.foldElementCap)
        return [Result(shape: [n], data: .floats((0..<n).map { a + Float($0) * st }))]
    }
}
