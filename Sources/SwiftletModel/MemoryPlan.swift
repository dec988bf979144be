import SwiftletCore

/// Tensor lifetimes over the execution order: step `first[t]` defines t, step `last[t]` reads it last.
///
/// Graph inputs are defined at step −1 and, like graph outputs, live to the end: a caller may run the
/// same input again (as TFLite's `preserve_inputs`). Unused tensors get first > last.
public struct Lifetimes {
    public var first: [Int]
    public var last: [Int]

    public init(_ spec: ModelSpec) {
        let n = spec.tensors.count
        first = [Int](repeating: Int.max, count: n)
        last = [Int](repeating: Int.min, count: n)
        for t in spec.inputs {
            first[t] = -1
            last[t] = max(last[t], -1)
        }
        for (i, nd) in spec.nodes.enumerated() {
            for t in nd.outputs {
                first[t] = min(first[t], i)
                last[t] = max(last[t], i)
            }
            for t in nd.inputs where first[t] != Int.max { last[t] = max(last[t], i) }
        }
        for t in spec.outputs + spec.inputs { last[t] = spec.nodes.count }
    }
}

/// Which arena tensors may share their bytes (docs/memory.md, "Aliasing"): `group[t]` is the smallest
/// tensor index of t's alias group. Two rules, applied in execution order:
///
/// - **View:** a Reshape's output is its input's bytes (the copy step sees equal pointers and skips).
/// - **In place:** an element-wise node (Activation, Add/Sub/Mul/Div, PRelu, Lookup) writes over an
///   input of the output's shape and dtype when that input's whole group is read for the last time
///   by this node and holds no graph input (inputs are kept for a repeated run).
///
/// A pure function of the graph: the planner, the lower bound and the reader's plan check agree.
public func aliasGroups(_ spec: ModelSpec) -> [Int] {
    let n = spec.tensors.count
    let life = Lifetimes(spec)
    var parent = Array(0..<n)
    func find(_ t: Int) -> Int {
        var r = t
        while parent[r] != r { r = parent[r] }
        return r
    }
    var groupLast = life.last
    var holdsInput = [Bool](repeating: false, count: n)
    for t in spec.inputs { holdsInput[t] = true }
    func join(_ y: Int, into x: Int) {
        let rx = find(x), ry = find(y)
        if rx == ry { return }
        let (root, other) = rx < ry ? (rx, ry) : (ry, rx)
        parent[other] = root
        groupLast[root] = max(groupLast[rx], groupLast[ry])
        holdsInput[root] = holdsInput[rx] || holdsInput[ry]
    }
    for (i, node) in spec.nodes.enumerated() {
        let y = node.outputs[0]
        let yt = spec.tensors[y]
        guard yt.storage == .arena, life.first[y] <= life.last[y] else { continue }
        switch node.op {
        case .reshape:
            let x = node.inputs[0]
            if spec.tensors[x].storage == .arena && spec.tensors[x].byteCount == yt.byteCount { join(y, into: x) }
        case .activation, .binary, .prelu, .lookup:
            let candidates = node.op.kind == .lookup || node.op.kind == .prelu ? [node.inputs[0]] : node.inputs
            for x in candidates {
                let xt = spec.tensors[x]
                guard xt.storage == .arena, xt.shape == yt.shape, xt.dtype == yt.dtype else { continue }
                let r = find(x)
                // Every member of x's group dies here, and none is a graph input.
                if holdsInput[r] || groupLast[r] > i { continue }
                // x must not also be another input of this node at another position (it is read as
                // it is overwritten only at the same index).
                if node.inputs.filter({ $0 == x }).count > 1 { continue }
                join(y, into: x)
                break
            }
        default:
            break
        }
    }
    return (0..<n).map(find)
}

/// The orders and placement rules `planArena` tries. Raw values name them in docs; the first listed
/// wins ties, so the result is deterministic.
public enum PlanStrategy: Int, CaseIterable, Sendable {
    /// Largest tensor first, lowest offset that fits (TFLite Micro's `GreedyMemoryPlanner`).
    case sizeFirstFit = 0
    /// Largest tensor first, the smallest gap that fits (less fragmentation between long-lived tensors).
    case sizeBestFit = 1
    /// Longest lifetime first, then size, lowest offset that fits: long-lived tensors settle at the
    /// bottom and short ones reuse the space above them.
    case lifetimeFirstFit = 2
    /// Execution order (the order tensors are written), lowest offset that fits, like a stack.
    case orderFirstFit = 3
    /// Largest size × lifetime first (the rectangles of the plan picture), lowest offset that fits.
    case areaFirstFit = 4
    /// As `areaFirstFit`, smallest gap that fits.
    case areaBestFit = 5

    public var name: String {
        switch self {
        case .sizeFirstFit: return "greedy by size, first fit"
        case .sizeBestFit: return "greedy by size, best fit"
        case .lifetimeFirstFit: return "greedy by lifetime, first fit"
        case .orderFirstFit: return "execution order, first fit"
        case .areaFirstFit: return "greedy by size × lifetime, first fit"
        case .areaBestFit: return "greedy by size × lifetime, best fit"
        }
    }
}

/// Assigns arena offsets (64-byte aligned) to every arena tensor so that no two tensors live at the
/// same step overlap: each strategy of `PlanStrategy` is tried and the smallest arena kept. Returns
/// the arena size and sets `spec.arenaBytes`.
///
/// Alias groups (`aliasGroups`: views and in-place element-wise ops) are placed as one block.
///
/// With `reorder` (the default) the nodes first run in the order of least peak memory
/// (`reorderForMemory`); callers that index nodes across this call use that function's returned order.
///
/// Limits: O(n²) per strategy in the number of arena tensors.
@discardableResult
public func planArena(_ spec: inout ModelSpec, reorder: Bool = true) -> Int {
    if reorder { reorderForMemory(&spec) }
    var best: (Int, [Int])? = nil
    for strategy in PlanStrategy.allCases {
        let (size, offsets) = placeTensors(spec, strategy)
        if best == nil || size < best!.0 { best = (size, offsets) }
    }
    let (arena, offsets) = best!
    for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena { spec.tensors[t].offset = offsets[t] }
    spec.arenaBytes = arena
    return arena
}

/// One strategy's placement: the arena size and an offset per tensor (0 for weights and dead tensors).
public func placeTensors(_ spec: ModelSpec, _ strategy: PlanStrategy) -> (Int, [Int]) {
    let life = Lifetimes(spec)
    let group = aliasGroups(spec)
    let align = SWLFormat.alignment
    // One item per alias group: its bytes (the largest member) and the union of its lifetimes.
    let n = spec.tensors.count
    var bytesOf = [Int](repeating: 0, count: n)
    var firstOf = [Int](repeating: Int.max, count: n)
    var lastOf = [Int](repeating: Int.min, count: n)
    var order: [Int] = []
    for t in 0..<n where spec.tensors[t].storage == .arena && life.first[t] <= life.last[t] {
        let r = group[t]
        if r == t { order.append(t) }
        bytesOf[r] = max(bytesOf[r], spec.tensors[t].byteCount)
        firstOf[r] = min(firstOf[r], life.first[t])
        lastOf[r] = max(lastOf[r], life.last[t])
    }
    order = order.filter { firstOf[$0] <= lastOf[$0] }
    func size(_ t: Int) -> Int { bytesOf[t] }
    func span(_ t: Int) -> Int { lastOf[t] - firstOf[t] }
    order.sort { a, b in
        switch strategy {
        case .sizeFirstFit, .sizeBestFit:
            return size(a) != size(b) ? size(a) > size(b) : a < b
        case .lifetimeFirstFit:
            if span(a) != span(b) { return span(a) > span(b) }
            return size(a) != size(b) ? size(a) > size(b) : a < b
        case .orderFirstFit:
            return firstOf[a] != firstOf[b] ? firstOf[a] < firstOf[b] : a < b
        case .areaFirstFit, .areaBestFit:
            let ra = size(a) * (span(a) + 1), rb = size(b) * (span(b) + 1)
            return ra != rb ? ra > rb : a < b
        }
    }
    var offsets = [Int](repeating: 0, count: n)
    var placed: [Int] = []
    var arena = 0
    for t in order {
        let bytes = (size(t) + align - 1) / align * align
        if bytes == 0 { continue }
        // Intervals taken by placed groups whose lifetimes intersect, sorted by offset.
        var busy: [(Int, Int)] = []
        for p in placed where !(firstOf[p] > lastOf[t] || firstOf[t] > lastOf[p]) {
            busy.append((offsets[p], offsets[p] + size(p)))
        }
        busy.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        // Free gaps between them (the last one unbounded), in offset order.
        var gaps: [(Int, Int)] = []
        var cursor = 0
        for (s, e) in busy {
            if s > cursor { gaps.append((cursor, s)) }
            cursor = max(cursor, (e + align - 1) / align * align)
        }
        gaps.append((cursor, Int.max))
        var chosen = gaps[gaps.count - 1].0
        if strategy == .sizeBestFit || strategy == .areaBestFit {
            var bestGap = Int.max
            for (s, e) in gaps where e - s >= bytes && e - s < bestGap {
                bestGap = e - s
                chosen = s
            }
        } else {
            for (s, e) in gaps where e - s >= bytes {
                chosen = s
                break
            }
        }
        offsets[t] = chosen
        arena = max(arena, chosen + bytes)
        placed.append(t)
    }
    for t in 0..<n where spec.tensors[t].storage == .arena { offsets[t] = offsets[group[t]] }
    return (arena, offsets)
}

/// The largest sum of simultaneously live arena tensor sizes over the execution order.
public func arenaLowerBound(_ spec: ModelSpec) -> Int {
    var best = 0
    for live in liveBytesPerStep(spec) { best = max(best, live) }
    return best
}

/// The memory timeline: for each step i (node i running), the bytes of arena tensors live then —
/// its inputs, its output and everything computed earlier that a later step still reads.
public func liveBytesPerStep(_ spec: ModelSpec) -> [Int] {
    let life = Lifetimes(spec)
    let group = aliasGroups(spec)
    var out: [Int] = []
    out.reserveCapacity(spec.nodes.count)
    // An alias group's bytes (its largest member) count once: its members are the same bytes.
    var groupBytes = [Int](repeating: 0, count: spec.tensors.count)
    for t in 0..<spec.tensors.count { groupBytes[group[t]] = max(groupBytes[group[t]], spec.tensors[t].byteCount) }
    var counted = [Int](repeating: -1, count: spec.tensors.count)
    for step in 0..<max(spec.nodes.count, 1) {
        var sum = 0
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena && life.first[t] <= step && step <= life.last[t] {
            let r = group[t]
            if counted[r] == step { continue }
            counted[r] = step
            sum += groupBytes[r]
        }
        out.append(sum)
    }
    return out
}
