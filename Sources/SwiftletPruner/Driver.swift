import Foundation
import SwiftletCore
import SwiftletEstimate
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner
import SwiftletQuantizer
import SwiftletRuntime

/// What `swiftlet prune` aims at.
public enum PruneTarget: Sendable {
    /// A fraction of the model's multiply-accumulates, in (0, 1].
    case macs(Double)
    /// A latency in milliseconds, measured here (the fast kernels, `threads` threads).
    case latency(ms: Double, threads: Int)
    /// A latency in milliseconds on an ARM board, from `swiftlet estimate`'s model of it.
    case estimated(ms: Double, EstimateTarget)
}

public struct PruneOptions: Sendable {
    public var calibrationDir: String
    public var target: PruneTarget
    /// Use at most this many calibration images (the first in path order).
    public var maxImages: Int?
    /// Kept channel counts are multiples of this (the kernels' SIMD width).
    public var multiple = 16
    /// One ratio for every group instead of counts chosen by sensitivity.
    public var uniform = false
    /// Progress on stderr.
    public var progress = false
    /// Timed runs per measurement (the median is kept).
    public var timingRuns = 15
    /// The precision the pruned model will run in, when the choice should follow its measured time:
    /// each group's levels are timed with its kernels (int8: each candidate quantized first), the counts
    /// chosen by noise per removed millisecond, and a latency target measured or estimated in it. nil:
    /// by noise per removed MAC, and latency targets on the float model.
    public var precision: PrunePrecision?

    public init(calibrationDir: String, target: PruneTarget) {
        self.calibrationDir = calibrationDir
        self.target = target
    }
}

/// The kernels a pruning is timed with (`PruneOptions.precision`).
public enum PrunePrecision: String, Sendable, CaseIterable {
    case float32, int8
}

/// One layer with weights, before and after pruning.
public struct PrunedLayer: Sendable {
    public var name = "", op = ""
    public var outputsBefore = 0, outputsAfter = 0
    public var inputsBefore = 0, inputsAfter = 0
    public var macsBefore = 0, macsAfter = 0
    public var weightBytesBefore = 0, weightBytesAfter = 0
    /// Median milliseconds of the layer on one thread.
    public var msBefore = 0.0, msAfter = 0.0
    /// The layer's output against the unpruned model's, on the channels it keeps, over the calibration images.
    public var sqnr = Double.infinity
}

/// A model's totals.
public struct PruneTotals: Sendable {
    public var macs = 0, parameters = 0, fileBytes = 0, arenaBytes = 0
    /// Median latency on 1 and 2 threads, milliseconds.
    public var ms1 = 0.0, ms2 = 0.0
    /// With `--precision int8`: the same for the model quantized (on one calibration image; the
    /// ranges do not change the time).
    public var int8Ms: (one: Double, two: Double)?
}

public struct PruneResult: Sendable {
    public var spec: ModelSpec
    public var layers: [PrunedLayer] = []
    public var before = PruneTotals(), after = PruneTotals()
    /// Channel groups: that can lose channels, and that did.
    public var freeGroups = 0, prunedGroups = 0, blockedGroups = 0
    /// Output over the calibration images against the unpruned model: SQNR (dB), and the share of images
    /// whose top-1 is the same, and the mean share of the unpruned top-5 found in the pruned top-5.
    public var outputSQNR = Double.infinity, top1Agreement = 0.0, top5Agreement = 0.0
    public var images = 0
    public var method = ""
    public var targetText = ""
    /// Each free group's measured levels (by sensitivity): the group named by the first layer that
    /// computes it, its channels, and each count's MACs, noise and (timed) saved milliseconds.
    public var sensitivity: [(group: String, channels: Int, levels: [PruneLevel])] = []
    /// The estimated latency on the board before and after, for a board target.
    public var estimatedMs: (before: Double, after: Double)?
    /// With labels (`swiftlet prune --labels DIR`): the folder, its image count, top-1 and top-5 in
    /// percent before and after, and the share of images whose top-1 the pruned model keeps.
    public var accuracy: (labels: String, images: Int, top1: (Double, Double), top5: (Double, Double), agreement: Double)?
}

/// Prunes the float model `spec` (read from `path`) to `o.target`: channel groups from the graph,
/// channel importance and each group's sensitivity from the calibration images, the kept counts chosen
/// to meet the target with the least output noise (or one ratio for every group with `o.uniform`),
/// the readers refit by least squares, the channels removed. Then measures both models for the report.
public func pruneModel(_ spec: ModelSpec, path: String, _ o: PruneOptions) throws(SwiftletError) -> PruneResult {
    if let n = o.maxImages, n < 1 { throw .usage(detail: "--images must be at least 1, got \(n)") }
    if o.multiple < 1 || o.multiple > 64 { throw .usage(detail: "--multiple must be between 1 and 64, got \(o.multiple)") }
    switch o.target {
    case .macs(let m):
        if !(m > 0 && m <= 1) { throw .usage(detail: "--macs takes the fraction of the model's MACs to keep, in (0, 1], got \(formatGeneral(m, 6))") }
    case .latency(let ms, _), .estimated(let ms, _):
        if !(ms > 0 && ms.isFinite) { throw .usage(detail: "--latency-ms takes a latency in milliseconds above 0, got \(formatGeneral(ms, 6))") }
    }
    for t in spec.tensors where t.dtype != .float32 && t.storage == .arena {
        throw .invalidModel(detail: "\(path) is quantized (tensor '\(t.name)' is \(t.dtype.name)); only float models are pruned",
                            hint: "prune the float model, then quantize the pruned one with 'swiftlet quantize'")
    }
    guard spec.preprocess != nil else {
        throw .invalidModel(detail: "\(path) has no pre-processing metadata, and pruning runs it on the calibration images",
                            hint: "import it with 'swiftlet import model.onnx -o model.swl --mean R,G,B --std R,G,B' (and --bgr or --resize crop if the model needs them), then prune model.swl")
    }
    var images = try listImages(o.calibrationDir)
    if let n = o.maxImages, images.count > n { images = Array(images.prefix(n)) }

    let groups = channelGroups(spec)
    let prunable = groups.indices.filter { groups[$0].blocked == nil && !levelCounts(groups[$0].channels, multiple: o.multiple).isEmpty }
    guard !prunable.isEmpty else {
        let reasons = Array(Set(groups.compactMap(\.blocked))).sorted().prefix(3).joined(separator: "; ")
        throw .unsupported(detail: "nothing in \(path) can be pruned: of its \(groups.count) channel groups none is free with at least \(2 * o.multiple) channels (\(reasons.isEmpty ? "no layer computes channels" : reasons))")
    }
    let note = { (s: String) in if o.progress { sys_printError(s + "\n") } }
    note("prune: \(images.count) calibration images, \(prunable.count) channel groups to weigh")
    let timing = o.precision.map { LevelTiming(int8: $0 == .int8, calibrationDir: o.calibrationDir, image: images[0]) }
    let importance = try channelImportance(spec, groups, images: images)
    var levels: [[PruneLevel]] = []
    if !o.uniform {
        levels = try groupSensitivity(spec, groups, importance: importance, images: images, multiple: o.multiple, timing: timing) { done, all in
            if o.progress && (done == all || done % 10 == 0) { sys_printError("prune: sensitivity \(done)/\(all)\n") }
        }
    }
    // The keep lists for a MAC fraction, or nil when the counts cannot go that low.
    let choose = { (m: Double) -> [Int: [Int]]? in
        if o.uniform {
            let keep = chooseUniform(spec, groups, importance: importance, macs: m, multiple: o.multiple)
            return macFraction(spec, groups, keep: keep) <= m + 1e-12 ? keep : nil
        }
        return chooseBySensitivity(spec, groups, importance: importance, levels: levels, macs: m)?.keep
    }
    let floor = o.uniform ? uniformFloor(spec, groups, multiple: o.multiple) : reachableMacs(spec, groups, levels: levels)
    let keep: [Int: [Int]]
    var result = PruneResult(spec: spec)
    for (gi, g) in groups.enumerated() where gi < levels.count && !levels[gi].isEmpty {
        result.sensitivity.append((g.sources.first.map { spec.nodes[$0].name } ?? "group \(gi)", g.channels, levels[gi]))
    }
    let int8 = o.precision == .int8
    let precisionText = int8 ? "int8" : "float32"
    switch o.target {
    case .macs(let m):
        guard let k = choose(m) else {
            throw .usage(detail: "--macs \(formatGeneral(m, 4)) cannot be reached: with every free channel group down to a quarter of its channels (in multiples of \(o.multiple)) the model keeps \(formatFixed(floor, 3)) of its MACs; pass --macs \(formatFixed((floor * 1000).rounded(.up) / 1000, 3)) or more")
        }
        keep = k
        result.targetText = "\(formatGeneral(m, 4)) of the MACs"
    case .latency(let ms, let threads):
        let measure = { (s: ModelSpec) throws(SwiftletError) -> Double in
            try medianLatency(timedForm(s, timing), images[0], threads: threads, runs: o.timingRuns)
        }
        keep = try chooseForLatency(spec, groups, ms: ms, floor: floor, choose: choose, latency: measure,
                                    what: "here on \(threads) thread\(threads == 1 ? "" : "s") (\(precisionText))", int8: int8)
        result.targetText = "\(formatGeneral(ms, 4)) ms here (\(threads) thread\(threads == 1 ? "" : "s"), \(precisionText), measured)"
    case .estimated(let ms, let board):
        let estimate = { (s: ModelSpec) throws(SwiftletError) -> Double in
            try estimateModel(PackedModel(file: MappedFile(bytes: encodeSWL(timedForm(s, timing))), path: path), target: board).totalMs
        }
        keep = try chooseForLatency(spec, groups, ms: ms, floor: floor, choose: choose, latency: estimate,
                                    what: "on \(board.board ?? board.cpu) (estimated, \(precisionText))", int8: int8)
        result.targetText = "\(formatGeneral(ms, 4)) ms on \(board.board ?? board.cpu) (estimated by swiftlet estimate, \(board.threads) thread\(board.threads == 1 ? "" : "s"), \(precisionText))"
        let pruned = try pruneChannels(spec, groups, keep: keep)
        result.estimatedMs = (try estimate(spec), try estimate(pruned))
    }
    note("prune: refitting \(droppedInputs(spec, groups, keep).count) layers")
    var out = try pruneAndRefit(spec, groups, keep: keep, images: images)
    out.name = spec.name
    result.spec = out
    result.freeGroups = prunable.count
    result.prunedGroups = keep.count
    result.blockedGroups = groups.filter { $0.blocked != nil }.count
    result.images = images.count
    result.method = o.uniform ? "one ratio for every group" : o.precision.map { "by sensitivity per removed \($0.rawValue) millisecond" } ?? "by sensitivity per removed MAC"
    note("prune: measuring both models")
    try measure(&result, original: spec, groups: groups, keep: keep, images: images, runs: o.timingRuns,
                int8: int8 ? timing : nil)
    return result
}

/// The smallest MAC fraction one ratio for every group reaches (each group at `multiple` channels).
func uniformFloor(_ spec: ModelSpec, _ groups: [ChannelGroup], multiple: Int) -> Double {
    var keep: [Int: [Int]] = [:]
    for (i, g) in groups.enumerated() where g.blocked == nil && g.channels >= 2 * multiple { keep[i] = Array(0..<multiple) }
    return macFraction(spec, groups, keep: keep)
}

/// The keep lists of the largest MAC fraction whose model runs within `ms` by `latency`, by bisection
/// between `floor` and 1 (eight steps); errors when even the smallest model is slower.
func chooseForLatency(_ spec: ModelSpec, _ groups: [ChannelGroup], ms: Double, floor: Double,
                      choose: (Double) -> [Int: [Int]]?, latency: (ModelSpec) throws(SwiftletError) -> Double,
                      what: String, int8: Bool = false) throws(SwiftletError) -> [Int: [Int]] {
    let full = try latency(spec)
    if full <= ms { return [:] }
    let lowest = choose(floor + 1e-9) ?? [:]
    let fastest = try latency(pruneChannels(spec, groups, keep: lowest))
    guard fastest <= ms else {
        throw .usage(detail: "--latency-ms \(formatGeneral(ms, 4)) cannot be reached \(what): the model takes \(formatGeneral(full, 3)) ms, and pruned as far as it goes (\(formatFixed(floor, 3)) of its MACs) \(formatGeneral(fastest, 3)) ms; pass --latency-ms \(formatGeneral(fastest * 1.05, 3)) or more\(int8 ? "" : ", or aim at the int8 model's latency with --precision int8")")
    }
    var lo = floor + 1e-9, hi = 1.0
    var best = lowest
    for _ in 0..<8 {
        let mid = (lo + hi) / 2
        guard let k = choose(mid) else {
            lo = mid
            continue
        }
        if try latency(pruneChannels(spec, groups, keep: k)) <= ms {
            best = k
            lo = mid
        } else {
            hi = mid
        }
    }
    return best
}

/// `spec` loaded to run on `threads` threads, with the image at `image` as its input.
func loadedWithImage(_ spec: ModelSpec, _ image: String, threads: Int = 1) throws(SwiftletError) -> Interpreter {
    let interp = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: spec.name), threads: threads)
    try loadImageInput(interp, path: image)
    return interp
}

/// The median of nanosecond samples, in milliseconds (0 for none).
func medianMs(_ ns: [UInt64]) -> Double {
    let sorted = ns.sorted()
    return sorted.isEmpty ? 0 : Double(sorted[sorted.count / 2]) / 1e6
}

/// Median milliseconds of a whole run of `spec` on the image at `image`, over `runs` runs after one warm-up.
func medianLatency(_ spec: ModelSpec, _ image: String, threads: Int, runs: Int) throws(SwiftletError) -> Double {
    let interp = try loadedWithImage(spec, image, threads: threads)
    interp.invoke()
    var times: [UInt64] = []
    for _ in 0..<max(runs, 1) {
        let t0 = sys_monotonicNanoseconds()
        interp.invoke()
        times.append(sys_monotonicNanoseconds() &- t0)
    }
    return medianMs(times)
}

/// Per-node median milliseconds on one thread over `runs` runs after one warm-up.
func layerTimes(_ spec: ModelSpec, _ image: String, runs: Int) throws(SwiftletError) -> [Double] {
    let interp = try loadedWithImage(spec, image)
    var profile: [UInt64] = []
    interp.invoke(profile: &profile)
    var samples = [[UInt64]](repeating: [], count: profile.count)
    for _ in 0..<max(runs, 1) {
        interp.invoke(profile: &profile)
        for i in 0..<profile.count { samples[i].append(profile[i]) }
    }
    return samples.map(medianMs)
}

/// Fills `result`'s layer table, totals and output agreement from both models.
func measure(_ result: inout PruneResult, original: ModelSpec, groups: [ChannelGroup], keep: [Int: [Int]], images: [String],
             runs: Int, int8: LevelTiming? = nil) throws(SwiftletError) {
    let pruned = result.spec
    let cuts = channelCuts(groups, keep: keep)
    let a = modelStats(original), b = modelStats(pruned)
    let timesA = try layerTimes(original, images[0], runs: runs), timesB = try layerTimes(pruned, images[0], runs: runs)
    // Per-layer SQNR on the kept channels, and the outputs' agreement, over the calibration images.
    let ra = try CalibrationRunner(original), rb = try CalibrationRunner(pruned)
    var layerNodes: [Int] = []
    for (i, node) in original.nodes.enumerated() where a.perNode[i].params > 0 || a.perNode[i].macs > 0 {
        switch node.op {
        case .conv2d, .fullyConnected: layerNodes.append(i)
        default: break
        }
    }
    let watched = Set(layerNodes.map { original.nodes[$0].outputs[0] } + original.outputs)
    var err = [Int: Double](), energy = [Int: Double]()
    var top1 = 0, top5 = 0.0
    for path in images {
        let va = try ra.values(of: watched, image: path), vb = try rb.values(of: watched, image: path)
        for t in watched {
            let x = va[t] ?? [], y = vb[t] ?? []
            let c = original.tensors[t].shape.last ?? 1
            let gone = cuts[t]?[original.tensors[t].shape.count - 1] ?? []
            let kept = (0..<c).filter { !gone.contains($0) }
            let c2 = kept.count
            guard c2 > 0, x.count / c == y.count / c2 else { continue }
            var e = 0.0, s = 0.0
            for p in 0..<(x.count / c) {
                for (j, k) in kept.enumerated() {
                    let r = Double(x[p * c + k]), d = r - Double(y[p * c2 + j])
                    e += d * d
                    s += r * r
                }
            }
            err[t, default: 0] += e
            energy[t, default: 0] += s
        }
        let oa = original.outputs.flatMap { va[$0] ?? [] }, ob = pruned.outputs.flatMap { vb[$0] ?? [] }
        if oa.count == ob.count && !oa.isEmpty {
            let ta = topIndices(oa, 5), tb = topIndices(ob, 5)
            if ta.first == tb.first { top1 += 1 }
            top5 += Double(Set(ta).intersection(tb).count) / Double(max(ta.count, 1))
        }
    }
    let db = { (t: Int) -> Double in sqnrDB((err[t] ?? 0) / max(energy[t] ?? 0, 1e-300)) }
    for i in layerNodes {
        let node = original.nodes[i]
        var l = PrunedLayer()
        l.name = node.name
        l.op = opText(node.op)
        l.outputsBefore = original.tensors[node.outputs[0]].shape.last ?? 0
        l.outputsAfter = pruned.tensors[node.outputs[0]].shape.last ?? 0
        l.inputsBefore = original.tensors[node.inputs[0]].shape.last ?? 0
        l.inputsAfter = pruned.tensors[node.inputs[0]].shape.last ?? 0
        l.macsBefore = a.perNode[i].macs
        l.macsAfter = b.perNode[i].macs
        for t in node.inputs where original.tensors[t].storage == .weights {
            l.weightBytesBefore += original.tensors[t].byteCount
            l.weightBytesAfter += pruned.tensors[t].byteCount
        }
        l.msBefore = i < timesA.count ? timesA[i] : 0
        l.msAfter = i < timesB.count ? timesB[i] : 0
        l.sqnr = db(node.outputs[0])
        result.layers.append(l)
    }
    var e = 0.0, s = 0.0
    for t in original.outputs {
        e += err[t] ?? 0
        s += energy[t] ?? 0
    }
    result.outputSQNR = sqnrDB(e / max(s, 1e-300))
    result.top1Agreement = Double(top1) / Double(max(images.count, 1))
    result.top5Agreement = top5 / Double(max(images.count, 1))
    func totals(_ s: ModelSpec, _ stats: (params: Int, macs: Int, perNode: [(params: Int, macs: Int)])) throws(SwiftletError) -> PruneTotals {
        var t = PruneTotals()
        t.macs = stats.macs
        t.parameters = stats.params
        t.fileBytes = encodeSWL(s).count
        t.arenaBytes = s.arenaBytes
        t.ms1 = try medianLatency(s, images[0], threads: 1, runs: runs)
        t.ms2 = try medianLatency(s, images[0], threads: 2, runs: runs)
        if let timing = int8 {
            let q = try timedForm(s, timing)
            t.int8Ms = (try medianLatency(q, images[0], threads: 1, runs: runs), try medianLatency(q, images[0], threads: 2, runs: runs))
        }
        return t
    }
    result.before = try totals(original, a)
    result.after = try totals(pruned, b)
}

extension PruneResult {
    /// The report: a summary line, the layer table, the totals and the output's agreement.
    public func text(modelName: String) -> [String] {
        let r = Double(after.macs) / Double(max(before.macs, 1))
        var lines = [prunedGroups == 0
            ? "\(modelName) already meets the target (\(targetText)): nothing pruned, the model is written as it was"
            : "pruned \(modelName) to \(formatFixed(r, 3)) of its MACs (target \(targetText)), \(method): \(prunedGroups) of \(freeGroups) free channel groups pruned (\(blockedGroups) blocked), readers refit on \(images) calibration images"]
        lines.append("  " + padRight("layer", 34) + padRight("op", 16) + padLeft("outputs", 12) + padLeft("inputs", 12) + padLeft("MMACs", 16)
                     + padLeft("weights", 20) + padLeft("ms (1 thread)", 16) + padLeft("SQNR dB", 9))
        for l in layers {
            let changed = l.outputsBefore != l.outputsAfter || l.inputsBefore != l.inputsAfter
            lines.append("  " + padRight(String(l.name.prefix(33)), 34) + padRight(String(l.op.prefix(15)), 16)
                         + padLeft(changed ? "\(l.outputsBefore)→\(l.outputsAfter)" : "\(l.outputsBefore)", 12)
                         + padLeft(changed ? "\(l.inputsBefore)→\(l.inputsAfter)" : "\(l.inputsBefore)", 12)
                         + padLeft("\(formatFixed(Double(l.macsBefore) / 1e6, 1))→\(formatFixed(Double(l.macsAfter) / 1e6, 1))", 16)
                         + padLeft("\(formatBytes(l.weightBytesBefore))→\(formatBytes(l.weightBytesAfter))", 20)
                         + padLeft("\(formatFixed(l.msBefore, 3))→\(formatFixed(l.msAfter, 3))", 16)
                         + padLeft(l.sqnr.isFinite ? formatFixed(l.sqnr, 1) : "exact", 9))
        }
        lines.append("total: MACs \(formatCount(before.macs)) → \(formatCount(after.macs)) (\(formatFixed(r, 3))), parameters \(formatCount(before.parameters)) → \(formatCount(after.parameters)), file \(formatBytes(before.fileBytes)) → \(formatBytes(after.fileBytes)), arena \(formatBytes(before.arenaBytes)) → \(formatBytes(after.arenaBytes))")
        lines.append("latency here (median of the runs, float32): 1 thread \(formatFixed(before.ms1, 2)) → \(formatFixed(after.ms1, 2)) ms (\(formatFixed(before.ms1 / max(after.ms1, 1e-9), 2))× faster), 2 threads \(formatFixed(before.ms2, 2)) → \(formatFixed(after.ms2, 2)) ms (\(formatFixed(before.ms2 / max(after.ms2, 1e-9), 2))×)")
        if let a = before.int8Ms, let b = after.int8Ms {
            lines.append("latency here, int8 (quantized on one calibration image): 1 thread \(formatFixed(a.one, 2)) → \(formatFixed(b.one, 2)) ms (\(formatFixed(a.one / max(b.one, 1e-9), 2))× faster), 2 threads \(formatFixed(a.two, 2)) → \(formatFixed(b.two, 2)) ms (\(formatFixed(a.two / max(b.two, 1e-9), 2))×)")
        }
        if let e = estimatedMs {
            lines.append("estimated on the board: \(formatFixed(e.before, 2)) → \(formatFixed(e.after, 2)) ms")
        }
        if let a = accuracy {
            lines.append("accuracy on \(a.labels) (\(a.images) images): top-1 \(formatFixed(a.top1.0, 2)) → \(formatFixed(a.top1.1, 2)) %, top-5 \(formatFixed(a.top5.0, 2)) → \(formatFixed(a.top5.1, 2)) %, top-1 as unpruned on \(formatFixed(a.agreement, 2)) %")
        }
        lines.append("output on the \(images) calibration images against the unpruned model: SQNR \(outputSQNR.isFinite ? formatFixed(outputSQNR, 1) : "exact") dB, top-1 the same on \(formatFixed(top1Agreement * 100, 0)) %, top-5 overlap \(formatFixed(top5Agreement * 100, 0)) % (the images the refit saw; 'swiftlet eval' compares on labelled ones)")
        return lines
    }

    /// The report as one JSON object.
    public func json(modelName: String, output: String) -> String {
        func totals(_ t: PruneTotals) -> String {
            "{\"macs\":\(t.macs),\"parameters\":\(t.parameters),\"file_bytes\":\(t.fileBytes),\"arena_bytes\":\(t.arenaBytes),\"ms_1_thread\":\(jsonNumber(t.ms1)),\"ms_2_threads\":\(jsonNumber(t.ms2))"
                + (t.int8Ms.map { ",\"int8_ms_1_thread\":\(jsonNumber($0.one)),\"int8_ms_2_threads\":\(jsonNumber($0.two))" } ?? "") + "}"
        }
        let rows = layers.map { l in
            "{\"name\":\(jsonString(l.name)),\"op\":\(jsonString(l.op)),\"outputs\":[\(l.outputsBefore),\(l.outputsAfter)],\"inputs\":[\(l.inputsBefore),\(l.inputsAfter)],"
                + "\"macs\":[\(l.macsBefore),\(l.macsAfter)],\"weight_bytes\":[\(l.weightBytesBefore),\(l.weightBytesAfter)],"
                + "\"ms\":[\(jsonNumber(l.msBefore)),\(jsonNumber(l.msAfter))],\"sqnr_db\":\(l.sqnr.isFinite ? jsonNumber(l.sqnr) : "null")}"
        }
        var s = "{\"model\":\(jsonString(modelName)),\"output\":\(jsonString(output)),\"target\":\(jsonString(targetText)),\"method\":\(jsonString(method)),"
        s += "\"groups\":{\"free\":\(freeGroups),\"pruned\":\(prunedGroups),\"blocked\":\(blockedGroups)},\"images\":\(images),"
        s += "\"before\":\(totals(before)),\"after\":\(totals(after)),"
        if let e = estimatedMs { s += "\"estimated_ms\":[\(jsonNumber(e.before)),\(jsonNumber(e.after))]," }
        if let a = accuracy {
            s += "\"accuracy\":{\"labels\":\(jsonString(a.labels)),\"images\":\(a.images),\"top1\":[\(jsonNumber(a.top1.0)),\(jsonNumber(a.top1.1))],"
                + "\"top5\":[\(jsonNumber(a.top5.0)),\(jsonNumber(a.top5.1))],\"agreement\":\(jsonNumber(a.agreement))},"
        }
        s += "\"output_sqnr_db\":\(outputSQNR.isFinite ? jsonNumber(outputSQNR) : "null"),\"top1_agreement\":\(jsonNumber(top1Agreement)),\"top5_agreement\":\(jsonNumber(top5Agreement)),"
        s += "\"layers\":[\(rows.joined(separator: ","))]"
        if !sensitivity.isEmpty {
            let groups = sensitivity.map { g in
                "{\"group\":\(jsonString(g.group)),\"channels\":\(g.channels),\"levels\":[" + g.levels.map { l in
                    "{\"kept\":\(l.kept),\"macs\":\(l.macs),\"noise\":\(jsonNumber(l.noise))" + (l.savedMs.map { ",\"saved_ms\":\(jsonNumber($0))" } ?? "") + "}"
                }.joined(separator: ",") + "]}"
            }
            s += ",\"sensitivity\":[\(groups.joined(separator: ","))]"
        }
        return s + "}"
    }
}
