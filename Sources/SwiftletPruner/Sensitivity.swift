import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner
import SwiftletQuantizer

/// One way of pruning one channel group on its own, measured.
public struct PruneLevel: Equatable, Sendable {
    /// Channels the group keeps.
    public var kept: Int
    /// The whole model's MACs with only this group pruned to `kept`.
    public var macs: Int
    /// The model's output noise with only this group pruned (its readers refit): the output's squared
    /// error against the unpruned model over its energy, summed over the calibration images. SQNR in dB is
    /// `-10 log10(noise)`.
    public var noise: Double
    /// With a timed sensitivity (`LevelTiming`): the milliseconds this pruning removes from the layers
    /// it changes, on one thread in the timed precision; nil when not timed.
    public var savedMs: Double?

    public init(kept: Int, macs: Int, noise: Double, savedMs: Double? = nil) {
        self.kept = kept
        self.macs = macs
        self.noise = noise
        self.savedMs = savedMs
    }
}

/// How `groupSensitivity` times each level, so that the choice weighs the time a pruning removes
/// rather than its MACs: the kernels do not turn every removed MAC into time (blocks of channels,
/// fixed per-layer costs), and less so in int8.
public struct LevelTiming: Sendable {
    /// Time the int8 form of each candidate (quantized on one calibration image: the ranges do not
    /// change the time) instead of the float32 model.
    public var int8: Bool
    /// The calibration folder (the int8 form's one image) and the image fed to the timed runs.
    public var calibrationDir: String
    public var image: String
    /// Timed runs per measurement; the per-layer medians are kept.
    public var runs: Int

    public init(int8: Bool, calibrationDir: String, image: String, runs: Int = 15) {
        self.int8 = int8
        self.calibrationDir = calibrationDir
        self.image = image
        self.runs = runs
    }
}

/// `-10 log10(noise)`, the SQNR in dB of an output with that relative noise energy (∞ for none).
public func sqnrDB(_ noise: Double) -> Double { noise > 0 ? -10 * log10(noise) : .infinity }

/// The channel counts `chooseBySensitivity` tries for a group of `channels`: 7/8, 3/4, … 1/4 of them,
/// rounded up to a multiple of `multiple` (at least `multiple`), without the whole group and without
/// repeats, largest first. Groups under 2 · `multiple` channels get none.
public func levelCounts(_ channels: Int, multiple: Int) -> [Int] {
    guard channels >= 2 * multiple else { return [] }
    var counts: [Int] = []
    for eighths in stride(from: 7, through: 2, by: -1) {
        let want = (channels * eighths + 7) / 8
        let c = max(multiple, (want + multiple - 1) / multiple * multiple)
        if c < channels && !counts.contains(c) { counts.append(c) }
    }
    return counts
}

/// The output of every output tensor of the model `runner` holds, on each image, concatenated.
func outputs(_ runner: CalibrationRunner, images: [String]) throws(SwiftletError) -> [[Float]] {
    var all: [[Float]] = []
    for path in images {
        let captured = try runner.values(of: Set(runner.spec.outputs), image: path)
        all.append(runner.spec.outputs.flatMap { captured[$0] ?? [] })
    }
    return all
}

/// `Σ‖ref − out‖² / Σ‖ref‖²` over the images.
func relativeNoise(_ ref: [[Float]], _ out: [[Float]]) -> Double {
    var e = 0.0, s = 0.0
    for (r, o) in zip(ref, out) {
        for i in 0..<min(r.count, o.count) {
            let d = Double(r[i]) - Double(o[i])
            e += d * d
            s += Double(r[i]) * Double(r[i])
        }
    }
    return s > 0 ? e / s : (e > 0 ? .infinity : 0)
}

/// Each free group's sensitivity: for every count of `levelCounts`, the group alone pruned to its most
/// important channels (by `importance`) with its pointwise readers refit by least squares, and the
/// model's MACs and output noise: the refit from the even-numbered calibration images, the noise
/// measured on the odd-numbered ones. The refit needs only the unpruned model's
/// input moments of each reader, `E[[x; 1] [x; 1]ᵀ]`, gathered in one pass: with one group pruned,
/// what a reader still gets is exactly the unpruned input's kept channels. Blocked groups and groups
/// without levels get an empty list.
public func groupSensitivity(_ spec: ModelSpec, _ groups: [ChannelGroup], importance: [[Double]], images: [String],
                             multiple: Int = 16, timing: LevelTiming? = nil,
                             progress: ((Int, Int) -> Void)? = nil) throws(SwiftletError) -> [[PruneLevel]] {
    // Fit on half the images and measure on the other half, so that a refit which only matches the
    // images it saw (a classifier reads one vector per image) does not look harmless.
    let fit = images.count > 1 ? images.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) : images
    let held = images.count > 1 ? images.enumerated().filter { $0.offset % 2 == 1 }.map(\.element) : images
    let runner = try CalibrationRunner(spec)
    let reference = try outputs(runner, images: held)
    // The readers' inputs' second moments (full symmetric matrices with the constant last).
    var readerInputs = Set<Int>()
    for g in groups where g.blocked == nil {
        for n in g.consumers where isPointwise(spec.nodes[n].op) { readerInputs.insert(spec.nodes[n].inputs[0]) }
    }
    var gram = [Int: [Double]]()
    for t in readerInputs {
        let d = (spec.tensors[t].shape.last ?? 1) + 1
        gram[t] = [Double](repeating: 0, count: d * d)
    }
    for path in fit {
        let captured = try runner.values(of: readerInputs, image: path)
        for t in readerInputs.sorted() { accumulateGram(&gram[t, default: []], captured[t] ?? [], channels: d(spec, t) - 1) }
    }
    for t in readerInputs.sorted() { mirrorUpper(&gram[t, default: []], d(spec, t)) }

    var result: [[PruneLevel]] = []
    let orders = importanceOrder(importance)
    let timedOriginal = try timedForm(spec, timing)
    let work = groups.indices.reduce(0) { $0 + (groups[$1].blocked == nil ? levelCounts(groups[$1].channels, multiple: multiple).count : 0) }
    var done = 0
    for (gi, g) in groups.enumerated() {
        guard g.blocked == nil, importance[gi].count == g.channels else {
            result.append([])
            continue
        }
        var levels: [PruneLevel] = []
        // The unpruned model timed again for each group, beside its levels, so slow drifts of a shared
        // machine cancel.
        var refTimes: [String: NodeTime]?
        if let t = timing { refTimes = try nodeTimes(timedOriginal, t) }
        for count in levelCounts(g.channels, multiple: multiple) {
            let keep = [gi: Array(orders[gi].prefix(count)).sorted()]
            var fitted = spec
            for (n, gone) in droppedInputs(spec, groups, keep) where spec.nodes[n].inputs.count > 2 {
                guard let m = gram[spec.nodes[n].inputs[0]] else { continue }
                refit(&fitted, node: n, dropping: gone, own: m, cross: m)
            }
            let pruned = try pruneChannels(fitted, groups, keep: keep)
            let out = try outputs(CalibrationRunner(pruned), images: held)
            var saved: Double?
            if let t = timing, let ref = refTimes {
                // A smaller count never costs more time than a larger one: the measurement's noise is
                // not allowed to say so.
                saved = max(savedMs(ref, try nodeTimes(timedForm(pruned, t), t)), levels.last?.savedMs ?? 0)
            }
            levels.append(PruneLevel(kept: count, macs: modelStats(pruned).macs, noise: relativeNoise(reference, out), savedMs: saved))
            done += 1
            progress?(done, work)
        }
        result.append(levels)
    }
    return result
}

@inline(__always) private func d(_ spec: ModelSpec, _ t: Int) -> Int { (spec.tensors[t].shape.last ?? 1) + 1 }

/// Adds the upper triangle of `Σ [a; 1] [a; 1]ᵀ` over `a`'s positions to the `(c+1) × (c+1)` matrix `m`.
func accumulateGram(_ m: inout [Double], _ a: [Float], channels c: Int) {
    let d = c + 1
    let positions = a.count / max(c, 1)
    var r = [Double](repeating: 1, count: d)
    m.withUnsafeMutableBufferPointer { mp in
        for p in 0..<positions {
            for k in 0..<c { r[k] = Double(a[p * c + k]) }
            for i in 0..<d {
                let ri = r[i]
                if ri == 0 { continue }
                let base = i * d
                for j in i..<d { mp[base + j] += ri * r[j] }
            }
        }
    }
}

/// Copies the upper triangle of the `d × d` matrix `m` into its lower one.
func mirrorUpper(_ m: inout [Double], _ d: Int) {
    for i in 0..<d { for j in 0..<i { m[i * d + j] = m[j * d + i] } }
}

/// A node's measured time and what it computes on (its tensors' shapes).
struct NodeTime {
    var shapes: [[Int]]
    var ms: Double
}

/// `spec` as `timing` times it: the float model, or its int8 form quantized on the first calibration
/// image (min-max, no bias correction: only the shapes and kernels matter to the time).
/// No timing: the float model.
func timedForm(_ spec: ModelSpec, _ timing: LevelTiming?) throws(SwiftletError) -> ModelSpec {
    guard let timing, timing.int8 else { return spec }
    var o = QuantizeOptions(calibrationDir: timing.calibrationDir)
    o.maxImages = 1
    o.method = .minMax
    o.progress = false
    o.biasCorrection = false
    return try quantizeModel(PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: spec.name), o).spec
}

/// Each node's median milliseconds on one thread by name (nodes of one name summed), with its shapes.
func nodeTimes(_ spec: ModelSpec, _ timing: LevelTiming) throws(SwiftletError) -> [String: NodeTime] {
    let ms = try layerTimes(spec, timing.image, runs: timing.runs)
    var byName: [String: NodeTime] = [:]
    for (i, node) in spec.nodes.enumerated() where i < ms.count {
        let shapes = (node.inputs + node.outputs).map { spec.tensors[$0].shape }
        byName[node.name, default: NodeTime(shapes: [], ms: 0)].shapes += shapes
        byName[node.name, default: NodeTime(shapes: [], ms: 0)].ms += ms[i]
    }
    return byName
}

/// The milliseconds `candidate` saves against `reference` on the nodes whose shapes it changed; the
/// others are the same work, and their differences only noise.
func savedMs(_ reference: [String: NodeTime], _ candidate: [String: NodeTime]) -> Double {
    var saved = 0.0
    for (name, c) in candidate {
        guard let r = reference[name], r.shapes != c.shapes else { continue }
        saved += r.ms - c.ms
    }
    return saved
}

/// The channels each free group keeps for the model to have at most `macs` of its multiply-accumulates,
/// chosen greedily by sensitivity: starting from the unpruned model, each step takes, over every group,
/// the move to one of its smaller measured counts that adds the least output noise per removed MAC
/// (the groups' noises taken as adding up), until the target is met. When the levels were timed
/// (`LevelTiming`), per removed millisecond instead: the MACs a kernel does not turn into time are not
/// worth their noise. The most important channels are
/// kept. Returns the keep lists and the MAC fraction they give; nil when even every group at its
/// smallest count stays above the target (`reachableMacs` says how far it goes).
public func chooseBySensitivity(_ spec: ModelSpec, _ groups: [ChannelGroup], importance: [[Double]],
                                levels: [[PruneLevel]], macs target: Double) -> (keep: [Int: [Int]], macs: Double)? {
    let orders = importanceOrder(importance)
    var level = [Int](repeating: -1, count: groups.count)  // -1: whole
    func keepNow() -> [Int: [Int]] {
        var keep: [Int: [Int]] = [:]
        for gi in groups.indices where level[gi] >= 0 { keep[gi] = Array(orders[gi].prefix(levels[gi][level[gi]].kept)).sorted() }
        return keep
    }
    let full = modelStats(spec).macs
    // What a move saves: milliseconds when the levels were timed, else MACs.
    func saved(_ gi: Int, _ l: Int, timed: Bool) -> Double {
        let cur = level[gi] < 0 ? nil : levels[gi][level[gi]]
        if timed { return (levels[gi][l].savedMs ?? 0) - (cur?.savedMs ?? 0) }
        return Double((cur?.macs ?? full) - levels[gi][l].macs)
    }
    let timed = levels.contains { $0.contains { $0.savedMs != nil } }
    while macFraction(spec, groups, keep: keepNow()) > target {
        var best: (gi: Int, l: Int, cost: Double)?
        // By time first; when no move saves measurable time, by MACs, since the target is in MACs.
        for byTime in timed ? [true, false] : [false] where best == nil {
            for gi in groups.indices where !levels[gi].isEmpty {
                let curNoise = level[gi] < 0 ? 0 : levels[gi][level[gi]].noise
                for l in (level[gi] + 1)..<levels[gi].count {
                    let s = saved(gi, l, timed: byTime)
                    guard s > 0, levels[gi][l].macs < (level[gi] < 0 ? full : levels[gi][level[gi]].macs) else { continue }
                    let cost = (levels[gi][l].noise - curNoise) / s
                    if cost < best?.cost ?? .infinity { best = (gi, l, cost) }
                }
            }
        }
        guard let b = best else { return nil }
        level[b.gi] = b.l
    }
    let keep = keepNow()
    return (keep, macFraction(spec, groups, keep: keep))
}

/// The smallest MAC fraction `levels` can reach: every group at its smallest count.
public func reachableMacs(_ spec: ModelSpec, _ groups: [ChannelGroup], levels: [[PruneLevel]]) -> Double {
    var keep: [Int: [Int]] = [:]
    for gi in groups.indices { if let last = levels[gi].last { keep[gi] = Array(0..<last.kept) } }
    return macFraction(spec, groups, keep: keep)
}
