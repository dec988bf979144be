import Foundation
import SwiftletCompiler
import SwiftletCore

/// Evaluates nodes whose inputs are all constant at import time (shape chains, weight reshapes),
/// so the packed model holds only the computation that depends on the input.
///
/// Bounded and checked: an op that creates elements (ConstantOfShape, Expand, Range, broadcasting,
/// Gather, Concat) may create at most `foldElementCap` per result, and all the folds of one graph
/// together at most its budget (`graphBudget`); both are checked before the result is allocated.
/// Integer arithmetic that overflows Int64 is refused, and a float cast to an integer must fit.
/// Each refusal names the node (through `fail`) and the value.
///
/// The work of a fold is linear in the elements it produces, so the budget bounds the import's
/// folding time and the memory the folded constants hold, whatever the graph: a per-result cap alone
/// let a 304-byte model fold 67 M elements in one Shape → ConstantOfShape → Mul chain (2.4 s), and
/// any number of such chains. Of the models the tests import, none folds more than 8 elements in
/// all (the shipped models fold none; docs/reliability.md); shape chains need a handful, weight rewrites
/// (a Cast of fp16 weights, a Transpose, a Mul by a scale) as many as the weights, which the file
/// itself holds.
struct Folder {
    /// The most elements one folded result may have, unless an input of the node is larger (2²²:
    /// 16 MB of float32, 32 MB of int64).
    static let foldElementCap = 1 << 22

    /// Elements every graph may fold in all (2²²), beyond the allowance for its own constants.
    static let graphBudgetBase = 1 << 22

    /// Folded elements allowed per element of the model's own constants (initializers and Constant
    /// nodes): room to rewrite every weight twice (a Cast, then a Transpose).
    static let constantAllowance = 2

    /// The folding budget of a graph whose initializers and Constant nodes hold `constantElements`.
    static func graphBudget(constantElements: Int) -> Int {
        graphBudgetBase + constantAllowance * constantElements
    }

    let g: IRGraph
    let attrs: Attributes
    let opset: Int
    /// The graph's folding budget (`graphBudget`) and what earlier folds of the graph used of it.
    let budget: Int
    let used: Int
    let fail: (String, String) -> SwiftletError

    static let foldable: Set<String> = [
        "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "ConstantOfShape", "Add", "Sub", "Mul",
        "Div", "Reshape", "Transpose", "Flatten", "Range", "Floor", "Ceil", "Sqrt", "Neg", "Equal", "Where",
        "Expand", "Min", "Max", "Abs", "Relu", "Identity", "Pow", "ReduceProd",
    ]

    struct Result {
        var shape: [Int]
        var data: ConstData
    }

    /// The element count of `shape`, refused above `allowed` (or on overflow or a negative dim), or
    /// when the graph's folding budget has not that many elements left.
    func foldCount(_ shape: [Int], allowed: Int) throws(SwiftletError) -> Int {
        for d in shape where d < 0 { throw fail("folding gives shape \(Shape.text(shape)), which has a negative dimension", "") }
        guard let n = checkedProduct(shape) else {
            throw fail("folding gives shape \(Shape.text(shape)), whose element count overflows", "")
        }
        if n > allowed {
            let limit = allowed > Folder.foldElementCap ? "its largest input's \(allowed)" : "the \(allowed) one folded result may have"
            throw fail("folding it would produce \(n) elements (shape \(Shape.text(shape))), more than \(limit)", Folder.foldHint)
        }
        if n > budget - used { throw overBudget(n, shape) }
        return n
    }

    /// What to do when folding is refused for its size.
    static let foldHint = "import computes constant subgraphs and stores their results, and shape chains need a few elements; "
        + "give the input a smaller shape (--input-shape, or export with smaller static dimensions), or simplify the model "
        + "(e.g. onnxsim) so that it does not build large constants from the input shape"

    /// The refusal of a fold of `n` elements that the graph's budget has no room for.
    func overBudget(_ n: Int, _ shape: [Int]) -> SwiftletError {
        fail("folding it would produce \(n) elements (shape \(Shape.text(shape))), and the graph's earlier folds produced \(used); "
             + "constant folding may produce at most \(budget) elements per model (\(Folder.graphBudgetBase), plus \(Folder.constantAllowance) "
             + "per value of the model's own constants)", Folder.foldHint)
    }

    /// `a op b` on Int64, refused on overflow with both values.
    func checked(_ r: (partialValue: Int64, overflow: Bool), _ a: Int64, _ sym: String, _ b: Int64) throws(SwiftletError) -> Int64 {
        if r.overflow { throw fail("integer overflow folding \(a) \(sym) \(b)", "") }
        return r.partialValue
    }

    /// Integer values of a constant; a float no Int64 holds is refused naming it.
    func exactInts(_ d: ConstData, _ what: String) throws(SwiftletError) -> [Int64] {
        switch d.exactInts {
        case .success(let v): return v
        case .failure(let e): throw fail("\(what) holds \(e.value), which no integer type holds", "")
        }
    }

    func value(_ i: Int) throws(SwiftletError) -> IRValue {
        guard i >= 0 else { throw fail("a required input is missing", "") }
        return g.values[i]
    }

    func fold(_ op: String, _ ins: [Int]) throws(SwiftletError) -> [Result] {
        func c(_ k: Int) throws(SwiftletError) -> (shape: [Int], data: ConstData) {
            guard k < ins.count else { throw fail("input \(k) is missing", "") }
            let v = try value(ins[k])
            guard let d = v.constant else { throw fail("input \(k) is not constant", "") }
            return (v.shape, d)
        }
        // A result may be as large as the largest input (Mul of a big weight by a scalar) or the cap.
        var allowed = Folder.foldElementCap
        for i in ins where i >= 0 { allowed = max(allowed, g.values[i].constant?.count ?? 0) }
        func count(_ shape: [Int]) throws(SwiftletError) -> Int { try foldCount(shape, allowed: allowed) }
        switch op {
        case "Constant":
            if let t = attrs.tensor("value") {
                let (s, d) = try decodeTensor(t, where: "constant")
                return [Result(shape: s, data: d)]
            }
            if let f = attrs.floats("value_floats") { return [Result(shape: [f.count], data: .floats(f))] }
            if attrs.has("value_float") { return [Result(shape: [], data: .floats([try attrs.float("value_float", 0)]))] }
            if attrs.has("value_ints") { return [Result(shape: [try attrs.ints("value_ints", []).count], data: .ints(try attrs.ints("value_ints", []).map { Int64($0) }))] }
            if attrs.has("value_int") { return [Result(shape: [], data: .ints([Int64(try attrs.int("value_int", 0))]))] }
            throw fail("Constant has no supported value attribute (sparse or string constants are not supported)", "")
        case "Shape":
            let s = try value(ins.first ?? -1).shape
            if s.contains(where: { $0 < 0 }) { throw fail("shape is dynamic", "pass --input-shape") }
            var start = try attrs.int("start", 0)
            var end = try attrs.int("end", s.count)
            if start < 0 { start += s.count }
            if end < 0 { end += s.count }
            start = min(max(start, 0), s.count)
            end = min(max(end, start), s.count)
            return [Result(shape: [end - start], data: .ints(s[start..<end].map { Int64($0) }))]
        case "Size":
            let s = try value(ins.first ?? -1).shape
            guard let n = checkedProduct(s) else { throw fail("the size of \(Shape.text(s)) overflows", "") }
            return [Result(shape: [], data: .ints([Int64(n)]))]
        case "Identity":
            let a = try c(0)
            return [Result(shape: a.shape, data: a.data)]
        case "Cast":
            let a = try c(0)
            let to = try attrs.int("to", nil)
            if [1, 10, 11].contains(to) { return [Result(shape: a.shape, data: .floats(a.data.asFloats))] }
            if to == 9 { return [Result(shape: a.shape, data: .ints(a.data.asFloats.map { $0 != 0 ? 1 : 0 }))] }
            return [Result(shape: a.shape, data: .ints(try exactInts(a.data, "Cast's input (to type \(to))")))]
        case "ConstantOfShape":
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
        case "Gather":
            let d = try c(0)
            let idx = try c(1)
            let axis = try normAxis(try attrs.int("axis", 0), d.shape.count, fail)
            let outer = checkedProduct(d.shape[..<axis]) ?? 0
            let inner = checkedProduct(d.shape[(axis + 1)...]) ?? 0
            let n = d.shape[axis]
            _ = try count(Array(d.shape[..<axis]) + idx.shape + Array(d.shape[(axis + 1)...]))
            var picks: [Int] = []
            for i in try exactInts(idx.data, "the indices") {
                let k = i < 0 ? Int(i) &+ n : Int(i)
                if k < 0 || k >= n { throw fail("Gather index \(i) is out of range \(n)", "") }
                picks.append(k)
            }
            let shape = Array(d.shape[..<axis]) + idx.shape + Array(d.shape[(axis + 1)...])
            func gather<T>(_ src: [T]) -> [T] {
                var out: [T] = []
                for o in 0..<outer { for k in picks { for i in 0..<inner { out.append(src[(o * n + k) * inner + i]) } } }
                return out
            }
            switch d.data {
            case .floats(let f): return [Result(shape: shape, data: .floats(gather(f)))]
            case .ints(let i): return [Result(shape: shape, data: .ints(gather(i)))]
            }
        case "Unsqueeze", "Squeeze":
            let a = try c(0)
            var axes: [Int] = []
            if opset >= 13 { axes = ins.count > 1 ? try exactInts(try c(1).data, "axes").map { Int($0) } : [] } else { axes = try attrs.ints("axes", []) }
            return [Result(shape: try squeezeShape(op == "Squeeze", a.shape, axes, fail), data: a.data)]
        case "Reshape":
            let a = try c(0)
            let t = try exactInts(try c(1).data, "the target shape").map { Int($0) }
            return [Result(shape: try reshapeTarget(a.shape, t, allowZero: try attrs.int("allowzero", 0) == 1, fail), data: a.data)]
        case "Flatten":
            let a = try c(0)
            let axis = try normAxis(try attrs.int("axis", 1), a.shape.count + 1, fail)
            return [Result(shape: try flattenShape(a.shape, axis, fail), data: a.data)]
        case "Concat":
            var parts: [(shape: [Int], data: ConstData)] = []
            for k in 0..<ins.count {
                var p = try c(k)
                if p.shape.isEmpty { p.shape = [1] }  // a scalar joins a 1-D concat as one value
                parts.append(p)
            }
            if parts.isEmpty { throw fail("has no inputs", "Concat needs at least one input") }
            let rank = parts[0].shape.count
            let axis = try normAxis(try attrs.int("axis", nil), rank, fail)
            var shape = parts[0].shape
            var total = 0
            for p in parts {
                guard p.shape.count == rank else { throw fail("inputs \(Shape.text(parts[0].shape)) and \(Shape.text(p.shape)) have different ranks", "") }
                for d in 0..<rank where d != axis && p.shape[d] != shape[d] {
                    throw fail("input \(Shape.text(p.shape)) does not match \(Shape.text(parts[0].shape)) off axis \(axis)", "")
                }
                total = try checkedSum(total, p.shape[axis], "concatenated axis \(axis)", fail)
            }
            shape[axis] = total
            // As large as its inputs together: no per-result cap, but the graph's budget.
            let n = try foldCount(shape, allowed: Int.max)
            let outer = shape[..<axis].reduce(1, *)
            let anyFloat = parts.contains { !isIntData($0.data) }
            // Each part converted once: an integer part joining a float Concat was converted once per
            // outer index (quadratic).
            func joined<T>(_ values: [[T]]) -> [T] {
                var out: [T] = []
                out.reserveCapacity(n)
                for o in 0..<outer {
                    for v in values {
                        let chunk = v.count / max(outer, 1)
                        out += v[(o * chunk)..<((o + 1) * chunk)]
                    }
                }
                return out
            }
            if anyFloat { return [Result(shape: shape, data: .floats(joined(parts.map { $0.data.asFloats })))] }
            return [Result(shape: shape, data: .ints(joined(parts.map { $0.data.asInts })))]
        case "Slice":
            let a = try c(0)
            let starts = try c(1).data.asInts.map { Int(clamping: $0) }
            let ends = try c(2).data.asInts.map { Int(clamping: $0) }
            let axes = ins.count > 3 && ins[3] >= 0 ? try exactInts(try c(3).data, "axes").map { Int($0) } : Array(0..<starts.count)
            let steps = ins.count > 4 && ins[4] >= 0 ? try exactInts(try c(4).data, "steps").map { Int($0) } : [Int](repeating: 1, count: starts.count)
            let s = try sliceParams(a.shape, starts, ends, axes, steps, fail)
            let strides = Shape.strides(a.shape)
            let n = s.sizes.reduce(1, *)
            var idx = [Int](repeating: 0, count: a.shape.count)
            var picks: [Int] = []
            for _ in 0..<n {
                var src = 0
                for d in 0..<idx.count { src += (s.starts[d] + idx[d] * s.steps[d]) * strides[d] }
                picks.append(src)
                var d = idx.count - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < s.sizes[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
            switch a.data {
            case .floats(let f): return [Result(shape: s.sizes, data: .floats(picks.map { f[$0] }))]
            case .ints(let i): return [Result(shape: s.sizes, data: .ints(picks.map { i[$0] }))]
            }
        case "Transpose":
            let a = try c(0)
            let perm = try attrs.ints("perm", Array((0..<a.shape.count).reversed()))
            guard perm.sorted() == Array(0..<a.shape.count) else {
                throw fail("perm \(Shape.text(perm)) is not a permutation of the input's rank \(a.shape.count) (shape \(Shape.text(a.shape)))", "")
            }
            let shape = Shape.permute(a.shape, perm)
            // Integers are permuted as integers: through Float they would lose digits above 2^24.
            switch a.data {
            case .floats(let f): return [Result(shape: shape, data: .floats(permuted(f, a.shape, perm)))]
            case .ints(let i): return [Result(shape: shape, data: .ints(permuted(i, a.shape, perm)))]
            }
        case "Range":
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
        case "Floor", "Ceil", "Sqrt", "Neg", "Abs", "Relu":
            let a = try c(0)
            if isIntData(a.data) {
                let i = a.data.asInts
                var r: [Int64] = []
                r.reserveCapacity(i.count)
                for v in i {
                    switch op {
                    case "Neg", "Abs":
                        if v == Int64.min { throw fail("integer overflow folding \(op) of \(v): its negation does not fit in int64", "") }
                        r.append(op == "Neg" || v < 0 ? -v : v)
                    case "Relu": r.append(max(v, 0))
                    default: r.append(v)
                    }
                }
                return [Result(shape: a.shape, data: .ints(r))]
            }
            let f = a.data.asFloats
            let r: [Float]
            switch op {
            case "Floor": r = f.map { $0.rounded(.down) }
            case "Ceil": r = f.map { $0.rounded(.up) }
            case "Sqrt": r = f.map { $0.squareRoot() }
            case "Neg": r = f.map { -$0 }
            case "Abs": r = f.map { abs($0) }
            default: r = f.map { max($0, 0) }
            }
            return [Result(shape: a.shape, data: .floats(r))]
        case "Add", "Sub", "Mul", "Div", "Equal", "Min", "Max", "Pow":
            let a = try c(0)
            let b = try c(1)
            guard let shape = Shape.broadcast(a.shape, b.shape) else { throw fail("shapes \(a.shape) and \(b.shape) do not broadcast", "") }
            _ = try count(shape)
            let ia = broadcastIndices(a.shape, shape), ib = broadcastIndices(b.shape, shape)
            if isIntData(a.data) && isIntData(b.data) {
                let x = a.data.asInts, y = b.data.asInts
                var out: [Int64] = []
                for k in 0..<ia.count {
                    let (p, q) = (x[ia[k]], y[ib[k]])
                    switch op {
                    case "Add": out.append(try checked(p.addingReportingOverflow(q), p, "+", q))
                    case "Sub": out.append(try checked(p.subtractingReportingOverflow(q), p, "-", q))
                    case "Mul": out.append(try checked(p.multipliedReportingOverflow(by: q), p, "*", q))
                    case "Div":
                        if q == 0 { throw fail("integer division by zero while folding \(p) / 0", "") }
                        out.append(try checked(p.dividedReportingOverflow(by: q), p, "/", q))
                    case "Equal": out.append(p == q ? 1 : 0)
                    case "Min": out.append(min(p, q))
                    case "Max": out.append(max(p, q))
                    default:
                        guard let r = Int64(exactly: pow(Double(p), Double(q)).rounded(.towardZero)) else {
                            throw fail("integer overflow folding \(p) ^ \(q)", "")
                        }
                        out.append(r)
                    }
                }
                return [Result(shape: shape, data: .ints(out))]
            }
            let x = a.data.asFloats, y = b.data.asFloats
            var out: [Float] = []
            for k in 0..<ia.count {
                let (p, q) = (x[ia[k]], y[ib[k]])
                switch op {
                case "Add": out.append(p + q)
                case "Sub": out.append(p - q)
                case "Mul": out.append(p * q)
                case "Div": out.append(p / q)
                case "Equal": out.append(p == q ? 1 : 0)
                case "Min": out.append(min(p, q))
                case "Max": out.append(max(p, q))
                default: out.append(Float(pow(Double(p), Double(q))))
                }
            }
            return [Result(shape: shape, data: op == "Equal" ? .ints(out.map { Int64($0) }) : .floats(out))]
        case "Where":
            let cond = try c(0), a = try c(1), b = try c(2)
            guard let s1 = Shape.broadcast(cond.shape, a.shape), let shape = Shape.broadcast(s1, b.shape) else {
                throw fail("Where shapes do not broadcast", "")
            }
            _ = try count(shape)
            let ic = broadcastIndices(cond.shape, shape), ia = broadcastIndices(a.shape, shape), ib = broadcastIndices(b.shape, shape)
            let cv = cond.data.asInts
            if isIntData(a.data) && isIntData(b.data) {
                let x = a.data.asInts, y = b.data.asInts
                return [Result(shape: shape, data: .ints((0..<ic.count).map { cv[ic[$0]] != 0 ? x[ia[$0]] : y[ib[$0]] }))]
            }
            let x = a.data.asFloats, y = b.data.asFloats
            return [Result(shape: shape, data: .floats((0..<ic.count).map { cv[ic[$0]] != 0 ? x[ia[$0]] : y[ib[$0]] }))]
        case "Expand":
            let a = try c(0)
            let target = try exactInts(try c(1).data, "the target shape").map { Int($0) }
            for t in target where t < 0 { throw fail("cannot expand \(Shape.text(a.shape)) to \(Shape.text(target)): negative dimension \(t)", "") }
            guard let shape = Shape.broadcast(a.shape, target) else { throw fail("cannot expand \(a.shape) to \(target)", "") }
            _ = try count(shape)
            let ia = broadcastIndices(a.shape, shape)
            switch a.data {
            case .floats(let f): return [Result(shape: shape, data: .floats(ia.map { f[$0] }))]
            case .ints(let i): return [Result(shape: shape, data: .ints(ia.map { i[$0] }))]
            }
        case "ReduceProd":
            let a = try c(0)
            if a.shape.count > 1 || attrs.has("axes") { throw fail("ReduceProd folding supports a 1-D input only", "") }
            let keep = try attrs.int("keepdims", 1) == 1
            var prod: Int64 = 1
            for v in try exactInts(a.data, "the input") {
                prod = try checked(prod.multipliedReportingOverflow(by: v), prod, "*", v)
            }
            return [Result(shape: keep ? [1] : [], data: .ints([prod]))]
        default:
            throw fail("cannot fold \(op)", "")
        }
    }
}

/// For each element of `out` (row-major), the index into a tensor of shape `s` broadcast to it.
func broadcastIndices(_ s: [Int], _ out: [Int]) -> [Int] {
    let r = out.count
    var padded = [Int](repeating: 1, count: r - s.count) + s
    let strides = Shape.strides(padded)
    for i in 0..<r where padded[i] == 1 { padded[i] = 0 }
    let n = out.reduce(1, *)
    var idx = [Int](repeating: 0, count: r)
    var res: [Int] = []
    res.reserveCapacity(n)
    for _ in 0..<n {
        var k = 0
        for d in 0..<r where padded[d] != 0 { k += idx[d] * strides[d] }
        res.append(k)
        var d = r - 1
        while d >= 0 {
            idx[d] += 1
            if idx[d] < out[d] { break }
            idx[d] = 0
            d -= 1
        }
    }
    return res
}

/// Row-major permutation of constant data of any element type: the result has dims
/// `Shape.permute(dims, perm)`; `perm` must be a permutation of `dims.count`.
func permuted<T>(_ data: [T], _ dims: [Int], _ perm: [Int]) -> [T] {
    let outDims = Shape.permute(dims, perm)
    let inStrides = Shape.strides(dims)
    var out: [T] = []
    out.reserveCapacity(data.count)
    var idx = [Int](repeating: 0, count: dims.count)
    for _ in 0..<data.count {
        var src = 0
        for a in 0..<perm.count { src += idx[a] * inStrides[perm[a]] }
        out.append(data[src])
        var a = perm.count - 1
        while a >= 0 {
            idx[a] += 1
            if idx[a] < outDims[a] { break }
            idx[a] = 0
            a -= 1
        }
    }
    return out
}
