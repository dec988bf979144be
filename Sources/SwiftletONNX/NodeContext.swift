import SwiftletCompiler
import SwiftletCore

/// Maps one ONNX node (already known not to fold) onto the import graph; `NodeContext.rules` holds
/// one per supported op type.
typealias ImportRule = @Sendable (inout NodeContext) throws(SwiftletError) -> Void

/// What an import rule sees of its node: the inputs resolved to graph values, the attributes, the
/// opset, and the graph with its name table, to which `produce` adds the node's result.
struct NodeContext {
    let node: Onnx_NodeProto
    /// The node's name (or `<op>_<index>` when the file leaves it empty) and its op type.
    let name: String
    let op: String
    let path: String
    let opset: Int
    /// The graph value of each input, -1 for an optional input left empty.
    let ins: [Int]
    let attrs: Attributes
    let g: IRGraph
    /// ONNX tensor names to graph values; the importer's own table, lent for the node.
    var ids: [String: Int]

    /// Where messages name the node, e.g. "model.onnx: node 'conv1'".
    var location: String { "\(path): node '\(name)'" }

    /// An invalid-model error naming the file, the node, its op and the opset.
    func fail(_ detail: String, _ hint: String = "") -> SwiftletError { failure(detail, hint) }

    /// `fail` as a function to keep (the constant folder does): it holds the node's names only, since
    /// a kept copy of the context would make every later write to `ids` copy the whole table.
    var failure: (String, String) -> SwiftletError {
        let (path, name, op, opset) = (path, name, op, opset)
        return { detail, hint in .invalidModel(detail: "\(path): node '\(name)' (\(op), opset \(opset)): \(detail)", hint: hint) }
    }

    /// The unsupported-op error for this node, with `hint` saying what is not supported or why.
    func unsupported(_ hint: String) -> SwiftletError {
        .unsupportedOp(op: op, node: name, opset: opset, hint: hint)
    }

    /// The graph value of input `k`, refused when it is absent or left empty.
    func input(_ k: Int) throws(SwiftletError) -> Int {
        guard k < ins.count, ins[k] >= 0 else { throw fail("input \(k) is missing") }
        return ins[k]
    }

    func shape(_ k: Int) throws(SwiftletError) -> [Int] { g.values[try input(k)].shape }

    /// Whether optional input `k` is given.
    func has(_ k: Int) -> Bool { k < ins.count && ins[k] >= 0 }

    /// Input `k`'s values when it is a constant of whole numbers; nil when it is absent or computed.
    func constInts(_ k: Int) throws(SwiftletError) -> [Int]? {
        guard has(k), let c = g.values[ins[k]].constant else { return nil }
        switch c.exactInts {
        case .success(let v): return v.map { Int($0) }
        case .failure(let e): throw fail("input \(k) ('\(g.values[ins[k]].name)') holds \(e.value), which is not an integer")
        }
    }

    /// Input `k`'s values as floats when it is given and constant.
    func constFloats(_ k: Int) -> [Float]? {
        has(k) ? g.values[ins[k]].constant?.asFloats : nil
    }

    /// Adds the node as `irop` on `inputs`, its first output of shape `outShape`.
    mutating func produce(_ irop: IROp, _ outShape: [Int], inputs: [Int]) throws(SwiftletError) {
        guard let outName = node.output.first, !outName.isEmpty else { throw fail("has no output") }
        if let problem = shapeProblem(outShape) { throw fail("computed output shape \(Shape.text(outShape)) \(problem)") }
        // An empty tensor computed at run time is never meant (and kernels divide by its sizes).
        if outShape.contains(0) { throw fail("computed output shape \(Shape.text(outShape)) has no elements") }
        let v = g.add(IRValue(name: outName, shape: outShape))
        g.nodes.append(IRNode(name: name, op: irop, inputs: inputs, output: v))
        ids[outName] = v
    }

    /// Adds a node of a composed op before its last (`produce`): `op` on `inputs` into a new value of
    /// shape `outShape`, named after the node and `suffix`; returns the value.
    mutating func intermediate(_ op: Op, _ outShape: [Int], inputs: [Int], _ suffix: String) throws(SwiftletError) -> Int {
        // The IR keeps a fused activation beside the op (`IRNode.activation`), not in it: one given here would be lost.
        precondition(op.fusedActivation.map { $0.kind == ActivationKind.none } ?? true, "NodeContext.intermediate: give the activation its own node")
        return try intermediateIR(.op(op), outShape, inputs: inputs, suffix)
    }

    /// `intermediate` for any import-graph op (a Gemm or MatMul, which lowering rewrites).
    mutating func intermediateIR(_ irop: IROp, _ outShape: [Int], inputs: [Int], _ suffix: String) throws(SwiftletError) -> Int {
        if let problem = shapeProblem(outShape) { throw fail("computed output shape \(Shape.text(outShape)) \(problem)") }
        let v = g.add(IRValue(name: "\(name)/\(suffix)", shape: outShape))
        g.nodes.append(IRNode(name: "\(name)/\(suffix)", op: irop, inputs: inputs, output: v))
        return v
    }

        /// `produce` for a model op (attributes in the logical layout).
    mutating func produce(_ op: Op, _ outShape: [Int], inputs: [Int]) throws(SwiftletError) {
        try produce(.op(op), outShape, inputs: inputs)
    }

    /// `produce` for a model op of one input whose output has the input's shape.
    mutating func produceSameShape(_ op: Op) throws(SwiftletError) {
        try produce(.op(op), try shape(0), inputs: [try input(0)])
    }

    /// Makes the node's first output another name for value `v`.
    mutating func alias(_ v: Int) {
        if let o = node.output.first { ids[o] = v }
    }

    /// Every op type the importer maps, by family (the files under Ops/).
    static let rules: [String: ImportRule] = [convRules, activationRules, elementwiseRules, poolingRules, shapeRules,
                                              softmaxRules, padRules, resizeRules]
        .reduce(into: [:]) { all, family in all.merge(family) { _, _ in preconditionFailure("an ONNX op has two import rules") } }

    /// The hint for an op type without a rule.
    static func unsupportedHint(_ op: String) -> String {
        switch op {
        case "GridSample", "NonMaxSuppression", "TopK", "Loop", "If", "Scan":
            return "dynamic or control-flow ops are not supported; move it out of the exported graph (do it in post-processing)"
        case "ConvTranspose": return "replace it with Resize + Conv"
        case "Gather", "ConstantOfShape", "Range", "Where", "Equal":
            return "it computes on run-time data; it is supported only when its inputs are constant (pass --input-shape to make shapes static)"
        default: return ""
        }
    }
}
