import Foundation
import SwiftletCompiler
import SwiftletCore

/// Folds one node whose inputs are all constant (the `Folder` holds the node); `Folder.rules` holds
/// one per foldable op type.
typealias FoldRule = @Sendable (Folder) throws(SwiftletError) -> [Folder.Result]

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

    /// The node's op type and inputs (graph values, -1 for an optional input left empty), which
    /// `fold` sets for the rule it runs.
    var op = ""
    var ins: [Int] = []

    /// Every op type the folder folds, by family (the files under Fold/).
    static let rules = merged([constantRules, movementRules, arithmeticRules])

    /// The rules of `families` in one table (an op type in two is a programming error).
    static func merged(_ families: [[String: FoldRule]]) -> [String: FoldRule] {
        families.reduce(into: [:]) { all, family in all.merge(family) { _, _ in preconditionFailure("an ONNX op has two fold rules") } }
    }

    /// `rule` for each op type of `ops`: a family whose ops share one fold.
    static func rule(_ rule: @escaping FoldRule, for ops: [String]) -> [String: FoldRule] {
        var out: [String: FoldRule] = [:]
        for op in ops { out[op] = rule }
        return out
    }

    /// The op types folded when all their inputs are constant: those with a rule (Constant, Shape and
    /// Size are folded whatever their inputs).
    static let foldable = Set(rules.keys)

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

    /// Folds the node as `op` on inputs `ins` (graph values) with the rule `rules` holds for `op`.
    func fold(_ op: String, _ ins: [Int]) throws(SwiftletError) -> [Result] {
        guard let rule = Folder.rules[op] else { throw fail("cannot fold \(op)", "") }
        var node = self
        node.op = op
        node.ins = ins
        return try rule(node)
    }

    /// Input `k`'s shape and values, refused when it is absent or not constant.
    func c(_ k: Int) throws(SwiftletError) -> (shape: [Int], data: ConstData) {
        guard k < ins.count else { throw fail("input \(k) is missing", "") }
        let v = try value(ins[k])
        guard let d = v.constant else { throw fail("input \(k) is not constant", "") }
        return (v.shape, d)
    }

    /// The most elements a result may have: as many as the largest input (Mul of a big weight by a
    /// scalar) or the cap.
    var allowed: Int {
        var allowed = Folder.foldElementCap
        for i in ins where i >= 0 { allowed = max(allowed, g.values[i].constant?.count ?? 0) }
        return allowed
    }

    /// `foldCount` of `shape` within `allowed`.
    func count(_ shape: [Int]) throws(SwiftletError) -> Int { try foldCount(shape, allowed: allowed) }
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
        Shape.advance(&idx, within: out)
    }
    return res
}
