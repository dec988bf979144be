import SwiftletCore
import SwiftletModel

// Execution order search (docs/memory.md, "Execution order").
//
// The peak of live arena bytes depends on the order the nodes run in: in a branching graph (SqueezeNet's
// fire modules, a residual block, a detection head hanging off the backbone) a branch whose output is
// small but whose intermediates are large is best run to completion before the other branch starts, and
// a head that reads a tensor the backbone no longer needs is best run before the backbone goes on.
//
// Cost model. Every topological order is scored by the peak over its steps of the bytes live while a
// node runs: the graph inputs (always live), every computed tensor that a later node still reads or that
// is a graph output, and the node's own output. The alias rules of `aliasGroups` are mirrored: a view
// (Reshape of equal bytes) shares its input's bytes, and an element-wise node's output takes no new
// bytes when it may overwrite an input, that is when every reader of that input's bytes has run and
// none of them is a graph input or output. This equals `arenaLowerBound` of the reordered spec for the
// rules it mirrors; `reorderForMemory` decides with `arenaLowerBound` itself, so a rule missing here
// (or added to `aliasGroups` later) can cost optimality, never correctness.
//
// Search. With S the set of nodes already run, the bytes live after S and the bytes a ready node adds
// depend on S alone, not on the order S ran in, so the best peak to reach S is a dynamic program over
// the down-closed sets S: layer k holds the sets of k nodes, each with the smallest peak that reaches it
// and a back pointer. Sets whose peak exceeds the original order's are dropped (branch and bound). A
// chain has one set per layer, and short side branches (fire modules, heads) a few more, so every
// shipped model is searched exactly (BlazeFace, the widest, visits 750 sets). Parallel chains multiply
// them ((L+1)^k for k chains of length L): when a layer holds more than `beamWidth` sets or its work
// budget, only the best (by peak so far, then bytes live now) are kept, a beam search, and at width 1
// the greedy "run the ready node that adds least". The result then is no longer proven optimal
// (`MemoryOrder.exact` says which).
//
// Deterministic: states are kept in creation order, ready nodes are tried in index order, a set's back
// pointer changes only for a strictly smaller peak, and the hash table is never iterated.
//
// Limits: at most 4,096 sets per layer, and fewer when expanding them would cost more than a work budget
// of 5·10^7 / nodes per layer (a set costs about ready × (ready + nodes / 64)), so the whole search stays
// near 5·10^7 simple operations whatever the graph. Nodes with more than one output, or a tensor written
// twice, leave the order unchanged.

/// The outcome of the execution order search.
public struct MemoryOrder: Equatable, Sendable {
    /// A topological permutation of node indices: step k runs original node `order[k]`.
    public var order: [Int]
    /// Its peak live arena bytes by the search's cost model (`arenaLowerBound` without newer alias rules).
    public var peakBytes: Int
    /// The same cost of the original order.
    public var originalPeakBytes: Int
    /// True when no layer was cut to the beam width: `order` is optimal for the cost model.
    public var exact: Bool
    /// Sets of nodes visited (a measure of the work done).
    public var states: Int
}

/// The topological order of `spec`'s nodes with the smallest peak live arena memory: exact for the
/// shipped models, a beam search on wider graphs. A permutation of `0..<spec.nodes.count`.
public func memoryOrder(_ spec: ModelSpec) -> [Int] { searchMemoryOrder(spec).order }

/// Runs `spec`'s nodes in `memoryOrder` when that lowers `arenaLowerBound` (ties keep the order given).
/// Only the node list changes; tensors and their indices stay. Returns the order applied: step k now
/// runs the node that was `result[k]` (the identity when the spec is unchanged).
@discardableResult
public func reorderForMemory(_ spec: inout ModelSpec) -> [Int] {
    let identity = Array(0..<spec.nodes.count)
    let order = memoryOrder(spec)
    if order == identity { return identity }
    var reordered = spec
    reordered.nodes = []
    reordered.nodes.reserveCapacity(order.count)
    for i in order { reordered.nodes.append(spec.nodes[i]) }
    if arenaLowerBound(reordered) < arenaLowerBound(spec) {
        spec = reordered
        return order
    }
    return identity
}

/// The search behind `memoryOrder`, with its figures. `beamWidth` caps the sets kept per layer (nil:
/// 4,096; 1: greedy); a work budget per layer caps it further on wide or large graphs.
public func searchMemoryOrder(_ spec: ModelSpec, beamWidth: Int? = nil) -> MemoryOrder {
    let n = spec.nodes.count
    let identity = Array(0..<n)
    guard n > 1, let g = OrderGraph(spec) else {
        return MemoryOrder(order: identity, peakBytes: 0, originalPeakBytes: 0, exact: true, states: n)
    }
    let original = g.peak(of: identity)
    let width = max(1, beamWidth ?? 4096)
    guard let found = g.search(beamWidth: width, layerBudget: 50_000_000 / n, bound: original) else {
        return MemoryOrder(order: identity, peakBytes: original, originalPeakBytes: original, exact: false, states: 0)
    }
    return MemoryOrder(order: found.order, peakBytes: found.peak, originalPeakBytes: original, exact: found.exact, states: found.states)
}

/// The graph as the search sees it: dependencies, and the static view groups of `aliasGroups`.
struct OrderGraph {
    let n: Int
    /// Distinct nodes producing a node's inputs, and distinct nodes reading its output.
    var preds: [[Int]]
    var succs: [[Int]]
    /// Per node: its output's group (−1: not an arena tensor), whether it is a view of its input, the
    /// inputs it may overwrite in place (in the rule's order), and the groups whose liveness it changes.
    var outGroup: [Int]
    var isView: [Bool]
    var inPlace: [[Int]]
    var touched: [[Int]]
    /// Per tensor: its view group (the smallest member index), −1 outside the arena.
    var group: [Int]
    /// Per group (indexed by its root): bytes, holds a graph input (always live), holds a graph output
    /// (live to the end once written), and the nodes reading any member.
    var bytes: [Int]
    var pinned: [Bool]
    var kept: [Bool]
    var readers: [[Int]]
    /// Bytes of the groups holding graph inputs: live at every step.
    var base = 0

    init?(_ spec: ModelSpec) {
        n = spec.nodes.count
        let nt = spec.tensors.count
        var producer = [Int](repeating: -1, count: nt)
        for (i, node) in spec.nodes.enumerated() {
            if node.outputs.count != 1 { return nil }
            let y = node.outputs[0]
            if y < 0 || y >= nt || producer[y] >= 0 { return nil }
            for t in node.inputs where t < 0 || t >= nt { return nil }
            producer[y] = i
        }
        func arena(_ t: Int) -> Bool { spec.tensors[t].storage == .arena }
        // View groups: a Reshape of equal bytes joins its input's group (order-independent).
        var parent = Array(0..<nt)
        func find(_ t: Int) -> Int {
            var r = t
            while parent[r] != r { r = parent[r] }
            return r
        }
        isView = [Bool](repeating: false, count: n)
        for (i, node) in spec.nodes.enumerated() {
            guard case .view = node.op.outputSharing, let x = node.inputs.first else { continue }
            let y = node.outputs[0]
            guard arena(x), arena(y), spec.tensors[x].byteCount == spec.tensors[y].byteCount else { continue }
            isView[i] = true
            let rx = find(x), ry = find(y)
            if rx != ry { parent[max(rx, ry)] = min(rx, ry) }
        }
        group = [Int](repeating: -1, count: nt)
        bytes = [Int](repeating: 0, count: nt)
        pinned = [Bool](repeating: false, count: nt)
        kept = [Bool](repeating: false, count: nt)
        readers = [[Int]](repeating: [], count: nt)
        for t in 0..<nt where arena(t) {
            let r = find(t)
            group[t] = r
            bytes[r] = max(bytes[r], spec.tensors[t].byteCount)
        }
        for t in spec.inputs where group[t] >= 0 { pinned[group[t]] = true }
        for t in spec.outputs where group[t] >= 0 { kept[group[t]] = true }
        for r in 0..<nt where group[r] == r && pinned[r] { base += bytes[r] }

        preds = [[Int]](repeating: [], count: n)
        succs = [[Int]](repeating: [], count: n)
        outGroup = [Int](repeating: -1, count: n)
        inPlace = [[Int]](repeating: [], count: n)
        touched = [[Int]](repeating: [], count: n)
        for (i, node) in spec.nodes.enumerated() {
            let y = node.outputs[0]
            outGroup[i] = group[y]
            for t in node.inputs {
                let p = producer[t]
                if p >= 0 && p != i && !preds[i].contains(p) {
                    preds[i].append(p)
                    succs[p].append(i)
                }
                let gt = group[t]
                if gt >= 0 && !pinned[gt] {
                    if !readers[gt].contains(i) { readers[gt].append(i) }
                    if !touched[i].contains(gt) { touched[i].append(gt) }
                }
            }
            if group[y] >= 0 && !pinned[group[y]] && !touched[i].contains(group[y]) { touched[i].append(group[y]) }
            // In place (as `Aliasing`, from `Op.outputSharing`): element-wise ops over an input of the
            // output's shape and dtype, read once by this node.
            guard group[y] >= 0, case .overInput(let firstInputOnly) = node.op.outputSharing else { continue }
            for x in firstInputOnly ? [node.inputs[0]] : node.inputs where arena(x) {
                let xt = spec.tensors[x], yt = spec.tensors[y]
                guard xt.shape == yt.shape, xt.dtype == yt.dtype else { continue }
                var uses = 0
                for t in node.inputs where t == x { uses += 1 }
                if uses == 1 { inPlace[i].append(x) }
            }
        }
    }

    @inline(__always) static func has(_ set: [UInt64], _ v: Int) -> Bool { set[v >> 6] >> UInt64(v & 63) & 1 != 0 }

    /// Running node v after the set `done`: the bytes it adds while it runs (its output, unless it is
    /// a view or overwrites an input), and the change of bytes live afterwards.
    func step(_ v: Int, after done: [UInt64]) -> (adds: Int, delta: Int) {
        let gy = outGroup[v]
        var adds = 0
        if gy >= 0 && !pinned[gy] && !isView[v] {
            adds = bytes[gy]
            for x in inPlace[v] {
                let gx = group[x]
                if pinned[gx] || kept[gx] { continue }
                var free = true
                for c in readers[gx] where c != v && !OrderGraph.has(done, c) {
                    free = false
                    break
                }
                if free {
                    adds = 0
                    break
                }
            }
        }
        var delta = 0
        for g in touched[v] {
            let was = g != gy || isView[v]
            var now = kept[g]
            if !now {
                for c in readers[g] where c != v && !OrderGraph.has(done, c) {
                    now = true
                    break
                }
            }
            if was != now { delta += now ? bytes[g] : -bytes[g] }
        }
        return (adds, delta)
    }

    /// The cost model's peak for a topological `order`.
    func peak(of order: [Int]) -> Int {
        var done = [UInt64](repeating: 0, count: (n + 63) / 64)
        var live = 0, best = base
        for v in order {
            let (adds, delta) = step(v, after: done)
            best = max(best, base + live + adds)
            live += delta
            done[v >> 6] |= 1 << UInt64(v & 63)
        }
        return best
    }

    /// Appends to `out` the ready nodes after running `v`: the `old` ones but `v`, merged in order with
    /// `v`'s readers whose inputs are all in `set` (`fresh` is scratch).
    func appendReady(after v: Int, set: [UInt64], old: ArraySlice<Int32>, fresh: inout [Int32], to out: inout [Int32]) {
        fresh.removeAll(keepingCapacity: true)
        for c in succs[v] {
            var ok = true
            for q in preds[c] where !OrderGraph.has(set, q) {
                ok = false
                break
            }
            if ok { fresh.append(Int32(c)) }
        }
        fresh.sort()
        var a = old.startIndex, b = 0
        while a < old.endIndex || b < fresh.count {
            if a < old.endIndex && (b == fresh.count || old[a] < fresh[b]) {
                if old[a] != Int32(v) { out.append(old[a]) }
                a += 1
            } else {
                out.append(fresh[b])
                b += 1
            }
        }
    }

    /// The layered dynamic program over sets of run nodes (see the file comment). Sets whose peak
    /// exceeds `bound` are dropped; nil when none is left (possible only after a beam cut).
    func search(beamWidth: Int, layerBudget: Int, bound: Int) -> (order: [Int], peak: Int, exact: Bool, states: Int)? {
        let w = (n + 63) / 64
        // The current layer: per set, its words, best peak, bytes live after it, ready next.nodes (sorted).
        var curWords = [UInt64](repeating: 0, count: w)
        var curPeak = [base]
        var curLive = [0]
        var curReady: [Int32] = []
        for v in 0..<n where preds[v].isEmpty { curReady.append(Int32(v)) }
        var curReadyStart = [0, curReady.count]
        // Per layer k ≥ 1: each set's back pointer into layer k − 1 and the node that was added.
        var backParent: [[Int32]] = []
        var backNode: [[Int32]] = []
        var exact = true
        var states = 1
        var set = [UInt64](repeating: 0, count: w)
        var fresh: [Int32] = []
        for _ in 0..<n {
            var next = OrderLayer()
            var table = [Int32](repeating: -1, count: 64)
            func hash(_ words: [UInt64], _ at: Int) -> Int {
                var h: UInt64 = 0x9E37_79B9_7F4A_7C15
                for k in 0..<w {
                    h = (h ^ words[at + k]) &* 0xBF58_476D_1CE4_E5B9
                    h ^= h >> 31
                }
                return Int(truncatingIfNeeded: h)
            }
            for s in 0..<curPeak.count {
                for k in 0..<w { set[k] = curWords[s * w + k] }
                for r in curReadyStart[s]..<curReadyStart[s + 1] {
                    let v = Int(curReady[r])
                    let (adds, delta) = step(v, after: set)
                    let p = max(curPeak[s], base + curLive[s] + adds)
                    if p > bound { continue }
                    set[v >> 6] |= 1 << UInt64(v & 63)
                    defer { set[v >> 6] &= ~(1 << UInt64(v & 63)) }
                    // Look the set up.
                    let mask = table.count - 1
                    var slot = hash(set, 0) & mask
                    var found = -1
                    while table[slot] >= 0 {
                        let e = Int(table[slot])
                        var same = true
                        for k in 0..<w where next.words[e * w + k] != set[k] {
                            same = false
                            break
                        }
                        if same {
                            found = e
                            break
                        }
                        slot = (slot + 1) & mask
                    }
                    if found >= 0 {
                        if p < next.peak[found] {
                            next.peak[found] = p
                            next.parents[found] = Int32(s)
                            next.nodes[found] = Int32(v)
                        }
                        continue
                    }
                    let e = next.peak.count
                    next.words.append(contentsOf: set)
                    next.peak.append(p)
                    next.live.append(curLive[s] + delta)
                    next.parents.append(Int32(s))
                    next.nodes.append(Int32(v))
                    // Ready after: the old ready next.nodes but v, and v's readers whose inputs are all done.
                    appendReady(after: v, set: set, old: curReady[curReadyStart[s]..<curReadyStart[s + 1]], fresh: &fresh, to: &next.ready)
                    next.readyStart.append(next.ready.count)
                    table[slot] = Int32(e)
                    if 2 * (e + 1) > table.count {
                        table = [Int32](repeating: -1, count: 2 * table.count)
                        let m2 = table.count - 1
                        for x in 0...e {
                            var sl = hash(next.words, x * w) & m2
                            while table[sl] >= 0 { sl = (sl + 1) & m2 }
                            table[sl] = Int32(x)
                        }
                    }
                }
            }
            if next.peak.isEmpty { return nil }
            states += next.peak.count
            var work = 0
            for e in 0..<next.peak.count { work += next.cost(e, w) }
            if next.peak.count > beamWidth || work > layerBudget {
                exact = false
                next.cut(beamWidth: beamWidth, layerBudget: layerBudget, w: w)
            }
            backParent.append(next.parents)
            backNode.append(next.nodes)
            curWords = next.words
            curPeak = next.peak
            curLive = next.live
            curReady = next.ready
            curReadyStart = next.readyStart
        }
        // Layer n holds one set: every node. Walk the back pointers.
        var order = [Int](repeating: 0, count: n)
        var s = 0
        for k in stride(from: n - 1, through: 0, by: -1) {
            order[k] = Int(backNode[k][s])
            s = Int(backParent[k][s])
        }
        return (order, curPeak[0], exact, states)
    }
}

/// One layer of the order search: per set of run nodes, its words, best peak, bytes live after it, its
/// ready nodes (sorted, `ready[readyStart[e]..<readyStart[e + 1]]`), and its back pointer (the parent
/// set and the node added).
struct OrderLayer {
    var words: [UInt64] = []
    var peak: [Int] = [], live: [Int] = []
    var ready: [Int32] = []
    var readyStart = [0]
    var parents: [Int32] = [], nodes: [Int32] = []

    /// Expanding a set costs about (ready nodes) × (ready nodes + words): its children, each hashed and
    /// given a ready list.
    func cost(_ e: Int, _ w: Int) -> Int {
        let r = readyStart[e + 1] - readyStart[e]
        return r * (r + w) + 1
    }

    /// The beam: keeps the best sets by peak so far, then bytes live now, then creation order, as many
    /// as the width and the work budget allow (at least one), in creation order.
    mutating func cut(beamWidth: Int, layerBudget: Int, w: Int) {
        var idx = Array(0..<peak.count)
        idx.sort { a, b in
            if peak[a] != peak[b] { return peak[a] < peak[b] }
            if live[a] != live[b] { return live[a] < live[b] }
            return a < b
        }
        var keep = 0
        var work = 0
        while keep < idx.count && keep < beamWidth && (keep == 0 || work + cost(idx[keep], w) <= layerBudget) {
            work += cost(idx[keep], w)
            keep += 1
        }
        idx = Array(idx[0..<keep])
        idx.sort()
        var kept = OrderLayer()
        for e in idx {
            kept.words.append(contentsOf: words[(e * w)..<(e * w + w)])
            kept.peak.append(peak[e])
            kept.live.append(live[e])
            kept.ready.append(contentsOf: ready[readyStart[e]..<readyStart[e + 1]])
            kept.readyStart.append(kept.ready.count)
            kept.parents.append(parents[e])
            kept.nodes.append(nodes[e])
        }
        self = kept
    }
}
