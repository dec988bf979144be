import SwiftletCore
import SwiftletModel

/// Parameters and multiply-accumulates of a model: totals and per node.
///
/// A node's parameters are the elements of its weight inputs; the total is `spec.parameterCount`
/// (shared weights counted once). MACs: conv2d N·OH·OW·O·KH·KW·(C/groups); fully connected
/// rows·K·units; every other op 0.
public func modelStats(_ spec: ModelSpec) -> (params: Int, macs: Int, perNode: [(params: Int, macs: Int)]) {
    var perNode: [(params: Int, macs: Int)] = []
    var macs = 0
    for node in spec.nodes {
        var params = 0
        for t in node.inputs where spec.tensors[t].storage == .weights { params += Shape.count(spec.tensors[t].shape) ?? 0 }
        var m = 0
        let x = spec.tensors[node.inputs[0]].shape
        let y = spec.tensors[node.outputs[0]].shape
        switch node.op {
        case .conv2d(let c) where x.count == 4 && y.count == 4:
            m = y[0] * y[1] * y[2] * y[3] * c.kernelH * c.kernelW * (x[3] / c.groups)
        case .fullyConnected:
            let depth = x.last ?? 0
            let units = spec.tensors[node.inputs[1]].shape.first ?? 0
            let rows = depth == 0 ? 0 : (Shape.count(x) ?? 0) / depth
            m = rows * depth * units
        default:
            m = 0
        }
        macs += m
        perNode.append((params, m))
    }
    return (spec.parameterCount, macs, perNode)
}

/// `Conv2D+relu6`, `Activation(sigmoid)`, `Add`.
public func opText(_ op: Op) -> String {
    if case .activation(let a) = op { return "Activation(\(a.kind == .none ? "none" : a.text))" }
    if let a = op.fusedActivation, a.kind != .none { return "\(op.kind.name)+\(a.text)" }
    return op.kind.name
}
