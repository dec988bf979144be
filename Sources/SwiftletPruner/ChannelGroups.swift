import SwiftletCore
import SwiftletModel

/// Part of a tensor that follows a channel group: removing the group's channel j removes index
/// `offset + j` along `axis` of `tensor`.
public struct ChannelSlice: Equatable, Sendable {
    public var tensor: Int
    public var axis: Int
    public var offset: Int

    public init(tensor: Int, axis: Int, offset: Int = 0) {
        self.tensor = tensor
        self.axis = axis
        self.offset = offset
    }
}

/// Channels that can only be pruned together (DepGraph's "group"): the activation tensors that carry
/// them, the layers that compute them, and every weight, bias and per-channel constant that follows.
public struct ChannelGroup: Equatable, Sendable {
    /// How many channels the group has.
    public var channels: Int
    /// Activation tensors holding the channels (a Concat's output holds them at an offset).
    public var members: [ChannelSlice] = []
    /// Nodes whose weights compute the channels (Conv2D with one group, FullyConnected): their weight
    /// rows and biases are in `weights`.
    public var sources: [Int] = []
    /// Nodes that read the channels through weights: their weight columns are in `weights`.
    public var consumers: [Int] = []
    /// Weights, biases and per-channel constants to slice with the channels.
    public var weights: [ChannelSlice] = []
    /// Why the group cannot lose channels (nil: it can).
    public var blocked: String?

    public init(channels: Int) { self.channels = channels }
}

/// The channel groups of a float model, from each op's `channelRule`: Conv2D and FullyConnected
/// outputs start groups; element-wise ops (residual Adds, squeeze-excite Muls), depthwise
/// convolutions, pooling and views join their inputs' groups to their outputs'; a Concat along the
/// channels makes its inputs' groups segments of its output, so what reads the Concat is sliced at each
/// input's offset. A group is blocked when it holds a model input or output, when an op that mixes
/// channels without weights reads or writes it (Softmax over channels, a Reshape that flattens them, a
/// grouped convolution), or when no layer computes its channels. Groups come in the order of their first
/// tensor; a Concat's output is not a group of its own.
public func channelGroups(_ spec: ModelSpec) -> [ChannelGroup] {
    var analysis = ChannelAnalysis(spec)
    for (i, node) in spec.nodes.enumerated() { analysis.visit(i, node) }
    return analysis.groups()
}

/// The union-find and bookkeeping behind `channelGroups`.
struct ChannelAnalysis {
    let spec: ModelSpec
    /// Union-find over tensors (only activation tensors are ever joined).
    var parent: [Int]
    /// The axis holding a tensor's channels.
    var axis: [Int]
    /// Per tensor (meaningful at roots): nodes computing it, nodes reading it through weights, weight
    /// slices, why it is blocked, whether a Concat writes it, and the Concat's parts.
    var sources: [[Int]]
    var consumers: [[Int]]
    var weights: [[ChannelSlice]]
    var blocked: [String?]
    var parts: [[(tensor: Int, offset: Int)]]

    init(_ spec: ModelSpec) {
        self.spec = spec
        let n = spec.tensors.count
        parent = Array(0..<n)
        axis = spec.tensors.map { max($0.shape.count - 1, 0) }
        sources = [[Int]](repeating: [], count: n)
        consumers = [[Int]](repeating: [], count: n)
        weights = [[ChannelSlice]](repeating: [], count: n)
        blocked = [String?](repeating: nil, count: n)
        parts = [[(tensor: Int, offset: Int)]](repeating: [], count: n)
        for t in spec.inputs { block(t, "it holds the model input '\(spec.tensors[t].name)'") }
        for t in spec.outputs { block(t, "it holds the model output '\(spec.tensors[t].name)'") }
    }

    func isActivation(_ t: Int) -> Bool { spec.tensors[t].storage == .arena }
    func channels(_ t: Int) -> Int { spec.tensors[t].shape.isEmpty ? 1 : spec.tensors[t].shape[axis[t]] }

    mutating func find(_ t: Int) -> Int {
        var r = t
        while parent[r] != r { r = parent[r] }
        var u = t
        while parent[u] != r { (parent[u], u) = (r, parent[u]) }
        return r
    }

    mutating func union(_ a: Int, _ b: Int) {
        let ra = find(a), rb = find(b)
        if ra == rb { return }
        let (root, other) = ra < rb ? (ra, rb) : (rb, ra)
        parent[other] = root
        sources[root] += sources[other]
        consumers[root] += consumers[other]
        weights[root] += weights[other]
        blocked[root] = blocked[root] ?? blocked[other]
        parts[root] += parts[other]
    }

    mutating func block(_ t: Int, _ why: String) {
        let r = find(t)
        if blocked[r] == nil { blocked[r] = why }
    }

    /// Adds a weight slice to `t`'s group when the constant input `k` of `node` exists.
    mutating func follow(_ t: Int, _ node: NodeInfo, _ k: Int, axis a: Int) {
        guard k < node.inputs.count else { return }
        let w = node.inputs[k]
        let r = find(t)
        weights[r].append(ChannelSlice(tensor: w, axis: a))
    }

    mutating func visit(_ i: Int, _ node: NodeInfo) {
        guard let y = node.outputs.first, let x = node.inputs.first else { return }
        let rule = node.op.channelRule(inputs: node.inputs.map { spec.tensors[$0].shape }, output: spec.tensors[y].shape)
        let what = "\(node.op.kind.name) '\(node.name)'"
        switch rule {
        case .mixes:
            let r = find(y)
            sources[r].append(i)
            follow(y, node, 1, axis: 0)
            follow(y, node, 2, axis: 0)
            if isActivation(x) {
                let rx = find(x)
                consumers[rx].append(i)
                weights[rx].append(ChannelSlice(tensor: node.inputs[1], axis: max(spec.tensors[node.inputs[1]].shape.count - 1, 0)))
            }
        case .perChannel:
            joinPerChannel(node, y, what)
        case .view:
            let xs = spec.tensors[x].shape, ys = spec.tensors[y].shape
            guard let ax = xs.lastIndex(where: { $0 != 1 }), ax == axis[x], let ay = ys.lastIndex(where: { $0 != 1 }) else {
                block(x, "\(what) moves its channels")
                block(y, "\(what) moves its channels")
                return
            }
            axis[y] = ay
            union(x, y)
        case .concatenates:
            var offset = 0
            for t in node.inputs {
                if isActivation(t) && axis[t] == spec.tensors[t].shape.count - 1 {
                    parts[find(y)].append((tensor: t, offset: offset))
                } else {
                    block(y, "\(what) concatenates a constant or a tensor whose channels are elsewhere")
                }
                offset += channels(t)
            }
        case .opaque:
            for t in node.inputs + node.outputs where isActivation(t) { block(t, "\(what) does not keep its channels apart") }
        }
    }

    /// Element-wise and per-channel ops: activation inputs of the output's channel count join its
    /// group; one channel broadcasts; per-channel constants (depthwise weights and bias, PReLU slopes,
    /// a binary op's constant) follow it.
    mutating func joinPerChannel(_ node: NodeInfo, _ y: Int, _ what: String) {
        let c = channels(y)
        let last = spec.tensors[y].shape.count - 1
        if axis[y] != last { block(y, "\(what) reads channels that are not on its last axis") }
        if case .conv2d = node.op {  // depthwise: weights [C, KH, KW, 1] and bias [C]
            if isActivation(node.inputs[0]) { union(node.inputs[0], y) }
            follow(y, node, 1, axis: 0)
            follow(y, node, 2, axis: 0)
            return
        }
        let readsConstants: Bool
        switch node.op {
        case .binary, .prelu: readsConstants = true
        default: readsConstants = false
        }
        for (k, t) in node.inputs.enumerated() where k == 0 || readsConstants || node.op.kind == .concat {
            let s = spec.tensors[t].shape
            let tc = s.last ?? 1
            if isActivation(t) {
                if tc == c && axis[t] == s.count - 1 {
                    union(t, y)
                } else if tc != 1 {
                    block(t, "\(what) reads it with channels elsewhere")
                    block(y, "\(what) reads an input with channels elsewhere")
                }
            } else if tc == c && c > 1 {
                let r = find(y)
                weights[r].append(ChannelSlice(tensor: t, axis: s.count - 1))
            } else if tc != 1 {
                block(y, "\(what) reads a constant of \(tc) channels")
            }
        }
    }

    /// The groups, blocked ones included, with each Concat's readers passed to its inputs' groups.
    mutating func groups() -> [ChannelGroup] {
        let n = spec.tensors.count
        var out: [ChannelGroup] = []
        var index = [Int](repeating: -1, count: n)
        // A Concat's output: its parts' groups take its members, readers and weight slices at their offset.
        var derived = [Bool](repeating: false, count: n)
        for t in 0..<n where isActivation(t) && !parts[find(t)].isEmpty { derived[find(t)] = true }
        for t in 0..<n where isActivation(t) {
            let r = find(t)
            if derived[r] || index[r] >= 0 { continue }
            var g = ChannelGroup(channels: channels(r))
            g.sources = sources[r].sorted()
            g.consumers = consumers[r].sorted()
            g.weights = weights[r]
            g.blocked = blocked[r] ?? (sources[r].isEmpty ? "no Conv or FullyConnected computes its channels" : nil)
            index[r] = out.count
            out.append(g)
        }
        for t in 0..<n where isActivation(t) { if index[find(t)] >= 0 { out[index[find(t)]].members.append(ChannelSlice(tensor: t, axis: axis[t])) } }
        for r in 0..<n where derived[r] && find(r) == r { passOn(from: r, through: r, offset: 0, into: &out, index, depth: 0) }
        return out
    }

    /// Gives Concat output group `r`'s members, readers and weight slices to the groups that make up
    /// `q` (`r` itself, or a Concat inside it starting at `offset`), each at its offset; a Concat
    /// output that is blocked, or that a layer also computes, blocks them.
    mutating func passOn(from r: Int, through q: Int, offset: Int, into out: inout [ChannelGroup], _ index: [Int], depth: Int) {
        let why = blocked[r] ?? (sources[r].isEmpty ? nil : "a Concat's output is also computed by a layer")
        var seen: [Int] = []
        for (t, o) in parts[q] {
            let p = find(t)
            if !parts[p].isEmpty {  // a Concat of a Concat
                if depth < 64 { passOn(from: r, through: p, offset: offset + o, into: &out, index, depth: depth + 1) }
                continue
            }
            guard index[p] >= 0 else { continue }
            var g = out[index[p]]
            if seen.contains(p) { g.blocked = g.blocked ?? "a Concat reads its channels twice" }
            seen.append(p)
            if let why { g.blocked = g.blocked ?? why }
            for m in 0..<spec.tensors.count where isActivation(m) && find(m) == r {
                g.members.append(ChannelSlice(tensor: m, axis: axis[m], offset: offset + o))
            }
            g.consumers = (g.consumers + consumers[r]).sorted()
            for w in weights[r] { g.weights.append(ChannelSlice(tensor: w.tensor, axis: w.axis, offset: w.offset + offset + o)) }
            out[index[p]] = g
        }
    }
}
