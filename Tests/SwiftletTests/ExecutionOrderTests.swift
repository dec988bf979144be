import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPlanner
import SwiftletQuantizer
import SwiftletRuntime
import Testing

// The execution order search (docs/memory.md, "Execution order"): on branching graphs it finds the
// topological order of least peak memory (checked against every topological order), never changes
// what the model computes, and is deterministic.

/// Every topological order of `spec`'s nodes, in lexicographic order.
func allTopologicalOrders(_ spec: ModelSpec) -> [[Int]] {
    let n = spec.nodes.count
    var producer = [Int](repeating: -1, count: spec.tensors.count)
    for (i, node) in spec.nodes.enumerated() { producer[node.outputs[0]] = i }
    var preds = [[Int]](repeating: [], count: n)
    for (i, node) in spec.nodes.enumerated() {
        for t in node.inputs where producer[t] >= 0 { preds[i].append(producer[t]) }
    }
    var out: [[Int]] = []
    var done = [Bool](repeating: false, count: n)
    var order: [Int] = []
    func extend() {
        if order.count == n {
            out.append(order)
            return
        }
        for v in 0..<n where !done[v] && preds[v].allSatisfy({ done[$0] }) {
            done[v] = true
            order.append(v)
            extend()
            order.removeLast()
            done[v] = false
        }
    }
    extend()
    return out
}

/// `spec` with its nodes in `order`.
func reordered(_ spec: ModelSpec, _ order: [Int]) -> ModelSpec {
    var r = spec
    r.nodes = order.map { spec.nodes[$0] }
    return r
}

/// True when `order` is a permutation of the nodes in which every tensor is written before it is read.
func isTopological(_ spec: ModelSpec, _ order: [Int]) -> Bool {
    guard order.sorted() == Array(0..<spec.nodes.count) else { return false }
    var defined = [Bool](repeating: false, count: spec.tensors.count)
    for t in spec.inputs { defined[t] = true }
    for (t, info) in spec.tensors.enumerated() where info.storage == .weights { defined[t] = true }
    for i in order {
        for t in spec.nodes[i].inputs where !defined[t] { return false }
        defined[spec.nodes[i].outputs[0]] = true
    }
    return true
}

/// A backbone with a detection head and a two-branch block, written in a poor order (the head last,
/// the branches interleaved). Bytes (float32):
///
///     x [1,8] 32 ─ h1 [1,256] 1024 ─┬─ h2 [1,64] 256 ─ h3 [1,16] 64 ─┬─ p [1,512] 2048 ─ q [1,16] 64 ─┐
///                                   │                                 └─ r [1,256] 1024 ─ s [1,16] 64 ─┴─ j = q + s (output)
///                                   └─ head [1,4] 16 (output)
///
/// As written (h1 h2 h3 p r q s j head) h1 stays live to the end and p waits for q while r runs: the
/// peak is x + h1 + h3 + p + r = 32 + 1024 + 64 + 2048 + 1024 = 4192 bytes, at r. Running the head
/// before h3 frees h1 early, and finishing one branch before the other starts keeps a single big
/// intermediate live: the best peak is x + head + h3 + p + q = 32 + 16 + 64 + 2048 + 64 = 2224 bytes
/// (−47 %).
func headAndBranches(seed: UInt64 = 1) -> (HandModel, naive: Int, best: Int) {
    var m = HandModel(name: "head-and-branches")
    var rng = SplitMix64(state: seed)
    let x = m.tensor("x", [1, 8])
    var sizes: [Int: Int] = [x: 8]
    func fc(_ name: String, _ input: Int, _ n: Int) -> Int {
        let k = sizes[input]!
        let w = m.weights(name + ".w", [n, k], (0..<(n * k)).map { _ in Float(rng.below(2001)) / 1000 - 1 })
        let b = m.weights(name + ".b", [n], (0..<n).map { _ in Float(rng.below(201)) / 1000 - 0.1 })
        let y = m.tensor(name, [1, n])
        sizes[y] = n
        m.node(.fullyConnected(.none), [input, w, b], y)
        return y
    }
    let h1 = fc("h1", x, 256)
    let h2 = fc("h2", h1, 64)
    let h3 = fc("h3", h2, 16)
    let p = fc("p", h3, 512)
    let r = fc("r", h3, 256)
    let q = fc("q", p, 16)
    let s = fc("s", r, 16)
    let j = m.tensor("j", [1, 16])
    m.node(.binary(.add, .none), [q, s], j)
    let head = fc("head", h1, 4)
    m.spec.inputs = [x]
    m.spec.outputs = [j, head]
    return (m, 4192, 2224)
}

@Suite struct ExecutionOrderTests {
    /// The naive order is worse; the chosen one equals the best of all topological orders.
    @Test func branchingGraphGetsTheOptimalOrder() throws {
        let (m, naive, best) = headAndBranches()
        let spec = m.spec
        #expect(arenaLowerBound(spec) == naive)
        let orders = allTopologicalOrders(spec)
        #expect(orders.count > 1)
        let bruteForce = orders.map { arenaLowerBound(reordered(spec, $0)) }.min()!
        #expect(bruteForce == best, "the best topological order peaks at \(bruteForce) bytes")
        let found = searchMemoryOrder(spec)
        #expect(found.exact && found.peakBytes == best && found.originalPeakBytes == naive)
        #expect(isTopological(spec, found.order))
        #expect(arenaLowerBound(reordered(spec, found.order)) == best)
        var planned = spec
        let applied = reorderForMemory(&planned)
        #expect(applied == found.order && planned.nodes == reordered(spec, found.order).nodes)
        #expect(planned.tensors == spec.tensors && planned.inputs == spec.inputs && planned.outputs == spec.outputs)
        // planArena applies it; the arena then fits the better bound.
        var arena = spec
        planArena(&arena)
        #expect(arena.nodes == planned.nodes && arenaLowerBound(arena) == best && arena.arenaBytes >= best)
        var kept = spec
        planArena(&kept, reorder: false)
        #expect(kept.nodes == spec.nodes && arena.arenaBytes < kept.arenaBytes)
    }

    /// Random small graphs of fully connected layers, in-place activations and adds (some reading one
    /// tensor twice), views and dead outputs: the search's peak is the brute-force optimum and equals
    /// `arenaLowerBound` of the order it returns.
    @Test(arguments: 0..<24)
    func randomGraphsMatchBruteForce(seed: Int) throws {
        var rng = SplitMix64(state: UInt64(seed) &* 7919 &+ 3)
        var spec = ModelSpec()
        func arena(_ shape: [Int]) -> Int {
            spec.tensors.append(TensorInfo(name: "t\(spec.tensors.count)", dtype: .float32, shape: shape))
            return spec.tensors.count - 1
        }
        let w = spec.tensors.count
        spec.tensors.append(TensorInfo(name: "w", dtype: .float32, shape: [1], storage: .weights))
        let x = arena([1, 16])
        spec.inputs = [x]
        var values = [x]
        let widths = [4, 16, 64, 256]
        for i in 0..<7 {
            let a = values[rng.below(values.count)]
            let shape = spec.tensors[a].shape
            var op: Op, inputs: [Int], outShape: [Int]
            switch rng.below(5) {
            case 0:
                op = .activation(Activation(.relu))
                inputs = [a]
                outShape = shape
            case 1:
                let same = values.filter { spec.tensors[$0].shape == shape }
                op = .binary(.add, .none)
                inputs = [a, same[rng.below(same.count)]]
                outShape = shape
            case 2:
                let count = Shape.count(shape) ?? 0
                op = .reshape(shape: [count])
                inputs = [a]
                outShape = [count]
            default:
                let n = widths[rng.below(widths.count)]
                op = .fullyConnected(.none)
                inputs = [a, w, w]
                outShape = [1, n]
            }
            let y = arena(outShape)
            spec.nodes.append(NodeInfo(op: op, name: "n\(i)", inputs: inputs, outputs: [y]))
            values.append(y)
        }
        spec.outputs = [values[values.count - 1]]
        if rng.below(2) == 0, values[3] != x, !spec.outputs.contains(values[3]) { spec.outputs.append(values[3]) }
        let bruteForce = allTopologicalOrders(spec).map { arenaLowerBound(reordered(spec, $0)) }.min()!
        let found = searchMemoryOrder(spec)
        #expect(isTopological(spec, found.order), "seed \(seed): \(found.order)")
        #expect(found.exact)
        #expect(found.peakBytes == bruteForce, "seed \(seed): search \(found.peakBytes), brute force \(bruteForce)")
        #expect(arenaLowerBound(reordered(spec, found.order)) == bruteForce, "seed \(seed)")
        #expect(found.originalPeakBytes == arenaLowerBound(spec), "seed \(seed): the cost model agrees with the lower bound")
        var planned = spec
        reorderForMemory(&planned)
        #expect(arenaLowerBound(planned) == min(bruteForce, arenaLowerBound(spec)))
    }

    /// Reordering changes where tensors live, not what the model computes: the outputs are the same bits.
    @Test func outputsUnchangedAfterReordering() throws {
        var (m, _, _) = headAndBranches(seed: 5)
        var keep = m.spec
        planArena(&keep, reorder: false)
        let original = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(keep)), path: "keep.swl"))
        let moved = try m.load()
        #expect(moved.spec.nodes != keep.nodes, "the planner reordered the nodes")
        let input: [Float] = [0.5, -1, 2, 0.25, -0.75, 1.5, 3, -2]
        original.setInput(0, logical: input)
        moved.setInput(0, logical: input)
        original.invoke()
        moved.invoke()
        for k in 0..<2 {
            #expect(original.output(k) == moved.output(k), "output \(k)")
            #expect(original.output(k).contains { $0 != 0 })
        }
    }

    /// The same graph always gets the same order (pinned), and applying it twice changes nothing more.
    @Test func deterministic() throws {
        let (m, _, _) = headAndBranches()
        let first = memoryOrder(m.spec)
        for _ in 0..<3 { #expect(memoryOrder(m.spec) == first) }
        // h1 h2 head, then h3, the branch through p and q, the one through r and s, and the add.
        #expect(first == [0, 1, 8, 2, 3, 5, 4, 6, 7], "\(first)")
        var spec = m.spec
        reorderForMemory(&spec)
        let again = spec
        #expect(reorderForMemory(&spec) == Array(0..<spec.nodes.count) && spec.nodes == again.nodes)
    }

    /// When no order is strictly better, the given order stays: a fire module's two expand branches
    /// tie, whichever runs first.
    @Test func tiesKeepTheOriginalOrder() throws {
        var m = HandModel(name: "fire")
        let x = m.tensor("x", [1, 16])
        let s = m.tensor("squeeze", [1, 16]), e1 = m.tensor("e1", [1, 16]), e3 = m.tensor("e3", [1, 16])
        let y = m.tensor("y", [1, 16])
        m.node(.activation(Activation(.relu)), [x], s)
        m.node(.activation(Activation(.sigmoid)), [s], e1)
        m.node(.activation(Activation(.tanh)), [s], e3)
        m.node(.binary(.add, .none), [e1, e3], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        for order in [[0, 1, 2, 3], [0, 2, 1, 3]] {
            var spec = reordered(m.spec, order)
            let before = spec.nodes
            #expect(reorderForMemory(&spec) == [0, 1, 2, 3] && spec.nodes == before, "\(order)")
        }
    }

    /// Graphs too wide for the exact search get a beam (width 1: greedy) that still returns a
    /// topological order, and is deterministic.
    @Test func wideGraphsUseTheBeam() throws {
        var m = HandModel(name: "wide")
        let x = m.tensor("x", [1, 64])
        m.spec.inputs = [x]
        var ends: [Int] = []
        for b in 0..<12 {
            var cur = x
            for j in 0..<8 {
                let t = m.tensor("b\(b)_\(j)", [1, 64 * (1 + (b * 7 + j * 3) % 5)])
                m.node(.reshape(shape: [1, 64 * (1 + (b * 7 + j * 3) % 5)]), [cur], t)  // sizes only matter here
                cur = t
            }
            ends.append(cur)
        }
        var acc = ends[0]
        for e in ends.dropFirst() {
            let t = m.tensor("sum", [1, 64])
            m.node(.binary(.add, .none), [acc, e], t)
            acc = t
        }
        m.spec.outputs = [acc]
        for width in [1, 16, nil] as [Int?] {
            let r = searchMemoryOrder(m.spec, beamWidth: width)
            #expect(isTopological(m.spec, r.order), "beam \(String(describing: width))")
            #expect(!r.exact, "9^12 sets cannot all be kept")
            #expect(r.peakBytes <= r.originalPeakBytes && r.peakBytes == arenaLowerBound(reordered(m.spec, r.order)))
            #expect(searchMemoryOrder(m.spec, beamWidth: width) == r)
        }
    }

    /// The int8 graph can want another order than the float one: here two branches read the image.
    /// In float the image is live throughout, and running branch A then B ties with starting both
    /// first (37,888 bytes), so the float order stays; in int8 the image's quantized copy lives until
    /// its last reader, and starting both branches first is strictly better (11,776 bytes against
    /// 12,288). The quantizer reorders the int8 graph after building it and must keep its layer report
    /// mapped to the right nodes: report and outputs equal those of `keepOrder`.
    @Test func quantizerReportSurvivesReordering() throws {
        let dir = try scratchDirectory()
        var m = HandModel(name: "two-branches")
        var rng = SplitMix64(state: 11)
        let image = m.tensor("image", [1, 16, 16, 3], layout: .nhwc)
        var c = Conv2D()
        c.activation = Activation(.relu)
        func conv(_ name: String, _ input: Int, _ cin: Int, _ cout: Int) -> Int {
            let w = m.weights(name + ".w", [cout, 1, 1, cin], (0..<(cout * cin)).map { _ in Float(rng.below(2001)) / 1000 - 0.5 })
            let b = m.weights(name + ".b", [cout], (0..<cout).map { _ in Float(rng.below(201)) / 1000 })
            let y = m.tensor(name, [1, 16, 16, cout], layout: .nhwc)
            m.node(.conv2d(c), [input, w, b], y)
            return y
        }
        var outs: [Int] = []
        for branch in ["a", "b"] {
            let t1 = conv(branch + "1", image, 3, 1)
            let t2 = conv(branch + "2", t1, 1, 32)
            outs.append(conv(branch + "3", t2, 32, 1))
        }
        m.spec.inputs = [image]
        m.spec.outputs = outs
        var p = Preprocess()
        p.std = [64, 64, 64]
        m.spec.preprocess = p
        let path = dir + "/two-branches.swl"
        try Data(m.encoded()).write(to: URL(fileURLWithPath: path))
        #expect(m.spec.nodes.map(\.name) == ["n0", "n1", "n2", "n3", "n4", "n5"], "a float tie keeps the order")
        #expect(arenaLowerBound(m.spec) == 37_888)
        var o = QuantizeOptions(calibrationDir: repoFile("models/photos"))
        o.progress = false
        o.maxImages = 3
        let moved = try quantizeModel(try PackedModel(path: path), o)
        o.keepOrder = true
        let kept = try quantizeModel(try PackedModel(path: path), o)
        #expect(moved.spec.nodes.map(\.name) != kept.spec.nodes.map(\.name), "the int8 graph was reordered")
        #expect(arenaLowerBound(moved.spec) == 11_776 && arenaLowerBound(kept.spec) == 12_288)
        #expect(moved.layers.count == kept.layers.count)
        for (a, b) in zip(moved.layers, kept.layers) {
            #expect(a.name == b.name && a.modelSQNR == b.modelSQNR && a.outputSQNR == b.outputSQNR && a.cosine == b.cosine, "\(a.name)")
        }
        #expect(moved.layers.allSatisfy { ($0.modelSQNR ?? 0) > 15 }, "\(moved.layers.map { ($0.name, $0.modelSQNR) })")
        #expect(moved.outputs.map(\.sqnr) == kept.outputs.map(\.sqnr))
        let a = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(moved.spec)), path: "moved.swl"))
        let b = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(kept.spec)), path: "kept.swl"))
        let input = (0..<768).map { Float($0 % 17) / 8 - 1 }
        a.setInput(0, logical: input)
        b.setInput(0, logical: input)
        a.invoke()
        b.invoke()
        #expect(a.output(0) == b.output(0) && a.output(1) == b.output(1))
    }

    /// Every shipped model: the import order is already as good as any (their peak is in the stem, a
    /// chain), so the plan keeps it; the search is exact on each.
    @Test(arguments: ["squeezenet1_1", "blazeface", "mtcnn_onet", "mobilenet_v2"])
    func shippedModelsKeepTheirPeak(model: String) throws {
        var o = ImportOptions()
        o.keepOrder = true
        o.streamRows = false  // the search's cost model does not model row streaming
        let spec = try importONNX(path: repoFile("models/onnx/\(model).onnx"), options: o)
        let found = searchMemoryOrder(spec)
        #expect(found.exact && isTopological(spec, found.order))
        #expect(found.originalPeakBytes == arenaLowerBound(spec) && found.peakBytes <= found.originalPeakBytes)
        let chosen = try importONNX(path: repoFile("models/onnx/\(model).onnx"), options: ImportOptions())
        #expect(arenaLowerBound(chosen) <= arenaLowerBound(spec))
    }
}
