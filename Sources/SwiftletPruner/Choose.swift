import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner

/// Each free group's channel importance from the calibration images: for channel j, the energy its
/// readers take from it, `Σ_readers E[x_j²] · ‖W[:, j]‖²` (the reader's input channel j's mean square
/// times its weight column's squared norm); higher is more important. A group no layer reads (its
/// channels only reach others through element-wise ops) scores by its own mean squares. Blocked groups
/// get no scores.
public func channelImportance(_ spec: ModelSpec, _ groups: [ChannelGroup], images: [String]) throws(SwiftletError) -> [[Double]] {
    let runner = try CalibrationRunner(spec)
    var readerInputs = Set<Int>()
    for g in groups where g.blocked == nil { for n in g.consumers { readerInputs.insert(spec.nodes[n].inputs[0]) } }
    var energy = [Int: [Double]]()
    var positions = [Int: Int]()
    for path in images {
        let captured = try runner.values(of: readerInputs, image: path)
        for t in readerInputs.sorted() {
            let c = spec.tensors[t].shape.last ?? 1
            let v = captured[t] ?? []
            let p = v.count / max(c, 1)
            positions[t, default: 0] += p
            var e = energy[t] ?? [Double](repeating: 0, count: c)
            for i in 0..<p { for k in 0..<c { e[k] += Double(v[i * c + k]) * Double(v[i * c + k]) } }
            energy[t] = e
        }
    }
    for (t, e) in energy { energy[t] = e.map { $0 / Double(max(positions[t] ?? 0, 1)) } }
    var scores: [[Double]] = []
    for g in groups {
        guard g.blocked == nil else {
            scores.append([])
            continue
        }
        var s = [Double](repeating: 0, count: g.channels)
        for n in g.consumers {
            let x = spec.nodes[n].inputs[0], w = spec.nodes[n].inputs[1]
            let depth = spec.tensors[w].shape.last ?? 1
            let values = spec.weightFloats(w)
            for slice in g.weights where slice.tensor == w && slice.axis == spec.tensors[w].shape.count - 1 {
                for j in 0..<g.channels {
                    let col = slice.offset + j
                    var norm = 0.0
                    for row in 0..<(values.count / max(depth, 1)) { norm += Double(values[row * depth + col]) * Double(values[row * depth + col]) }
                    s[j] += (energy[x]?[col] ?? 0) * norm
                }
            }
        }
        scores.append(s)
    }
    return scores
}

/// The channels each free group keeps for the model to have about `macs` of its multiply-accumulates:
/// one ratio for every group (found by bisection on the MACs the pruned shapes give), the kept counts
/// rounded up to a multiple of `multiple` (the kernels' SIMD width, so removed MACs become time),
/// the most important channels kept, in ascending order. Groups of fewer than 2 · `multiple` channels
/// are left whole.
public func chooseUniform(_ spec: ModelSpec, _ groups: [ChannelGroup], importance: [[Double]], macs target: Double,
                          multiple: Int = 16) -> [Int: [Int]] {
    let order = importanceOrder(importance)
    func plan(_ r: Double) -> [Int: [Int]] {
        var keep: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() where g.blocked == nil && g.channels >= 2 * multiple && importance[i].count == g.channels {
            let want = Int((r * Double(g.channels)).rounded(.up))
            let count = min(g.channels, max(multiple, (want + multiple - 1) / multiple * multiple))
            if count == g.channels { continue }
            keep[i] = order[i].prefix(count).sorted()
        }
        return keep
    }
    var lo = 0.0, hi = 1.0
    for _ in 0..<30 {
        let mid = (lo + hi) / 2
        if macFraction(spec, groups, keep: plan(mid)) > target { hi = mid } else { lo = mid }
    }
    return plan(lo)
}

/// Each group's channel indices, most important first (ties by index).
func importanceOrder(_ importance: [[Double]]) -> [[Int]] {
    importance.map { s in s.indices.sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 } }
}

/// The fraction of `spec`'s MACs left after `keep` (from the pruned shapes alone).
public func macFraction(_ spec: ModelSpec, _ groups: [ChannelGroup], keep: [Int: [Int]]) -> Double {
    Double(modelStats(prunedShapes(spec, groups, keep: keep)).macs) / max(Double(modelStats(spec).macs), 1)
}

/// `spec`'s shapes (and the attributes that follow them) after `keep`, without its weights' values:
/// what MACs and parameters the pruned model will have.
public func prunedShapes(_ spec: ModelSpec, _ groups: [ChannelGroup], keep: [Int: [Int]]) -> ModelSpec {
    var out = spec
    out.weights = []
    for (t, cuts) in channelCuts(groups, keep: keep) {
        for (axis, gone) in cuts { out.tensors[t].shape[axis] -= gone.count }
    }
    for i in 0..<out.nodes.count { try? refitAttributes(&out, i) }
    return out
}
