import CSwiftletKernels
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime

// `swiftlet estimate`: a model's latency on an ARM core predicted on the workstation, without a
// board. Each layer runs the aarch64 kernel variant the board would select (the arm64 kernel tables
// and the core's features); its cycles are its loops' iteration counts times the cycles llvm-mca
// schedules for one iteration of each loop, as the board build compiled it
// (tools/estimate/kernel-cycles writes Generated/ArmLoops.swift); a layer takes at least its bytes
// moved over the board's memory bandwidth. Method and limits: docs/measuring.md, "ARM estimates".

/// The loops the estimate counts (tools/estimate/kernel_cycles.py finds each in the board's object).
public enum ArmLoopKind: String, Sendable, CaseIterable {
    /// int8 GEMM, 4 rows × 8 outputs × 4 deep (sdot / smull + sadalp), and its 1-row form.
    case qs8GemmDot4, qs8GemmDot1, qs8Gemm4, qs8Gemm1
    /// int8 depthwise: 16 channels × 2 taps.
    case qs8Depthwise
    /// float GEMM: 4 rows × 16 outputs, one step of depth; 1 row: 32 outputs.
    case f32Gemm4, f32Gemm1
    /// float depthwise: 16 channels × 1 tap.
    case f32Depthwise
    /// Element-wise loops: work = output elements.
    case qs8Add, qs8Mul, qs8Quantize, qs8Dequantize, qs8Lookup, f32Binary, f32Activation
    /// Max pooling: work = channels × window taps.
    case qs8MaxPoolTap, f32MaxPoolTap
    /// int8 global average pooling: work = input elements (pixels × channels).
    case qs8MeanPixel
    /// Requantizing a GEMM tile row (8 outputs) and a depthwise pixel (16 channels): straight-line blocks.
    case qs8GemmRequant8, qs8DepthwiseRequant16
}

/// One loop on one core: llvm-mca's cycles for one iteration of the loop's body and the work the body does.
public struct ArmLoop: Sendable {
    public let cpu: String, mcaModel: String
    public let loop: ArmLoopKind
    public let function: String
    public let instructions: Int
    public let cyclesPerIteration: Double
    public let workPerIteration: Int
    public var cyclesPerWork: Double { cyclesPerIteration / Double(workPerIteration) }
}

/// A board profile's figures the estimate needs (boards/*.conf: clock_ghz, memory_bandwidth_gbs, cited there).
public struct ArmBoard: Sendable {
    public let board: String, cpu: String
    public let dotprod: Bool
    public let threads: Int
    public let clockGHz: Double
    public let bandwidthGBs: Double?
}

/// What the estimate is for: a core, its clock, the memory bandwidth, the thread count.
public struct EstimateTarget: Sendable {
    public var cpu: String
    public var board: String?
    public var dotprod: Bool
    public var clockGHz: Double
    public var bandwidthGBs: Double?
    public var threads: Int

    /// The cores with loop cycles, and whether each has the dot product (ARMv8.2).
    public static let cores: [(cpu: String, dotprod: Bool)] = [("cortex-a53", false), ("cortex-a55", true), ("cortex-a72", false), ("cortex-a76", true)]
    public static var boards: [ArmBoard] { generatedArmBoards }
    public static var mcaVersion: String { generatedMCAVersion }

    /// From `--board` or `--cpu` (a board profile with that core gives the clock and bandwidth),
    /// with `--clock-ghz`, `--bandwidth-gbs` and `--threads` over the profile's.
    public static func resolve(board: String?, cpu: String?, clockGHz: Double?, bandwidthGBs: Double?, threads: Int?) throws(SwiftletError) -> EstimateTarget {
        let coreNames = cores.map(\.cpu).joined(separator: ", ")
        let boardNames = boards.map(\.board).joined(separator: ", ")
        var profile: ArmBoard?
        if let b = board {
            guard let p = boards.first(where: { $0.board == b }) else {
                throw .usage(detail: "--board '\(b)': no aarch64 board profile with a clock and bandwidth; known: \(boardNames) (boards/*.conf)")
            }
            if let c = cpu, c != p.cpu { throw .usage(detail: "--board \(b) has \(p.cpu) cores, not \(c): give one of --board and --cpu") }
            profile = p
        } else if let c = cpu {
            guard cores.contains(where: { $0.cpu == c }) else { throw .usage(detail: "--cpu '\(c)': the estimate knows \(coreNames)") }
            profile = boards.first(where: { $0.cpu == c })
        } else {
            throw .usage(detail: "give --cpu (\(coreNames)) or --board (\(boardNames))")
        }
        let cpuName = profile?.cpu ?? cpu!
        guard let core = cores.first(where: { $0.cpu == cpuName }) else { throw .usage(detail: "board \(board ?? "") has \(cpuName) cores, which the estimate does not know (\(coreNames))") }
        guard let ghz = clockGHz ?? profile?.clockGHz else {
            throw .usage(detail: "--cpu \(cpuName): no board profile gives its clock; add --clock-ghz (and --bandwidth-gbs for the memory bound)")
        }
        if !(ghz > 0 && ghz < 10) { throw .usage(detail: "--clock-ghz takes GHz between 0 and 10, got \(formatGeneral(ghz, 6))") }
        let bw = bandwidthGBs ?? profile?.bandwidthGBs
        if let b = bw, !(b > 0 && b < 10_000) { throw .usage(detail: "--bandwidth-gbs takes GB/s between 0 and 10000, got \(formatGeneral(b, 6))") }
        let t = threads ?? profile?.threads ?? 1
        if t < 1 || t > 64 { throw .usage(detail: "--threads must be between 1 and 64, got \(t)") }
        return EstimateTarget(cpu: cpuName, board: profile?.board, dotprod: core.dotprod, clockGHz: ghz, bandwidthGBs: bw, threads: t)
    }

    var features: CPUFeatures { dotprod ? [.neon, .dotprod] : [.neon] }
}

/// One layer's estimate.
public struct LayerEstimate: Sendable {
    public var op = "", name = "", kernel = ""
    public var macs = 0
    /// The loops counted: "qs8GemmDot4 × 1234 + qs8GemmRequant8 × 56", or why none.
    public var method = ""
    public var cycles = 0.0
    /// Share of the single-thread cycles on the busiest thread (1 on one thread; the runtime's bands).
    public var threadShare = 1.0
    public var bytes = 0
    public var computeMs = 0.0
    public var memoryMs: Double?
    public var modelled = true
    public var ms: Double { max(computeMs, memoryMs ?? 0) }
    public var bound: String { !modelled ? "memory only" : (memoryMs ?? 0) > computeMs ? "memory" : "compute" }
}

public struct ModelEstimate: Sendable {
    public var target: EstimateTarget
    public var layers: [LayerEstimate]
    public var totalMs: Double { layers.reduce(0) { $0 + $1.ms } }
    public var computeMs: Double { layers.reduce(0) { $0 + $1.computeMs } }
    public var macs: Int { layers.reduce(0) { $0 + $1.macs } }
    public var unmodelled: Int { layers.filter { !$0.modelled }.count }
}

/// The loop table for `cpu`.
public func loops(_ cpu: String) -> [ArmLoopKind: ArmLoop] {
    var t: [ArmLoopKind: ArmLoop] = [:]
    for l in generatedArmLoops where l.cpu == cpu { t[l.loop] = l }
    return t
}

/// The busiest thread's share of a step of `units` equal units split as the runtime splits it:
/// 4 · threads near-equal bands (`band`), taken in order by whichever thread is free first.
public func busiestThreadShare(units: Int, threads: Int) -> Double {
    guard threads > 1, units > 0 else { return 1 }
    let parts = min(4 * threads, units)
    var free = [Int](repeating: 0, count: threads)
    for p in 0..<parts {
        let i = free.indices.min(by: { free[$0] < free[$1] })!
        free[i] += band(units, part: p, of: parts).count
    }
    return Double(free.max()!) / Double(units)
}

/// The estimate for `model` on `target`.
public func estimateModel(_ model: PackedModel, target: EstimateTarget) throws(SwiftletError) -> ModelEstimate {
    let spec = model.spec
    // Which layers are streamed Conv → Conv pairs: the plan decides, the same on every architecture.
    let interpreter = try Interpreter(model: model, kernels: .auto, threads: 1)
    var streamed = [Bool](repeating: false, count: spec.nodes.count)
    for i in spec.nodes.indices where interpreter.runsInNextStep(i) {
        streamed[i] = true
        if i + 1 < streamed.count { streamed[i + 1] = true }
    }
    let tables = KernelTableSet(.arm64)
    let table = loops(target.cpu)
    let stats = modelStats(spec)
    var layers: [LayerEstimate] = []
    for (i, node) in spec.nodes.enumerated() {
        var l = LayerEstimate()
        l.op = opText(node.op)
        l.name = node.name
        l.macs = stats.perNode[i].macs
        for t in node.inputs { l.bytes += spec.tensors[t].byteCount }
        for t in node.outputs { l.bytes += spec.tensors[t].byteCount }
        let chosen = Interpreter.kernelVariant(node, spec.tensors, features: target.features, choice: .auto, streamed: streamed[i], tables: tables)
        l.kernel = chosen?.0.name ?? "reference"
        let y = spec.tensors[node.outputs[0]]
        if let (v, g, int8) = chosen, v.algorithm != .reference {
            (l.cycles, l.method, l.threadShare) = layerCycles(v, g, int8: int8, outputElements: Shape.count(y.shape) ?? 0,
                                                              inputElements: Shape.count(spec.tensors[node.inputs[0]].shape) ?? 0, loops: table, target: target)
        } else {
            l.modelled = false
            l.method = "not modelled (\(chosen == nil ? "no SIMD kernel for this op" : "scalar reference kernel")): bytes / bandwidth only"
        }
        l.computeMs = l.cycles * l.threadShare / (target.clockGHz * 1e6)
        if let bw = target.bandwidthGBs { l.memoryMs = Double(l.bytes) / (bw * 1e6) }
        layers.append(l)
    }
    return ModelEstimate(target: target, layers: layers)
}

/// Cycles of one layer on one thread, the loops counted, and the busiest thread's share.
public func layerCycles(_ v: KernelVariant, _ g: ConvGeometry, int8: Bool, outputElements: Int, inputElements: Int = 0,
                        loops t: [ArmLoopKind: ArmLoop], target: EstimateTarget) -> (Double, String, Double) {
    // `work` in the loop's own units (MACs, outputs requantized, elements, window taps × lanes); the
    // label counts iterations of the body as compiled. Every kind is generated for every core that can run it.
    func term(_ k: ArmLoopKind, _ work: Double) -> (Double, String) {
        let l = t[k]!
        return (work * l.cyclesPerWork, "\(k.rawValue) × \(formatCount(work / Double(l.workPerIteration)))")
    }
    let T = target.threads
    switch v.algorithm {
    case .pointwise, .im2col, .gemm:
        // The GEMM per call: rows m (pixels), n outputs, depth k; tiles of 4 rows (a last tile of
        // 2–3 rows costs a full one; a single row runs the 1-row loop).
        let pixelRanges = convRunsPixelRanges(v, g)
        let calls = pixelRanges ? 1 : g.n * g.oh
        let m = pixelRanges ? g.n * g.oh * g.ow : g.ow
        let (n, k) = (g.oc, g.depth)
        let tiles4 = m / 4 + (m % 4 > 1 ? 1 : 0), tiles1 = m % 4 == 1 ? 1 : 0
        let units = pixelRanges ? (m + 3) / 4 : g.n * g.oh
        var parts: [(Double, String)] = []
        if int8 {
            let kq = Double((k + 3) / 4), nb = Double((n + 7) / 8)
            let dot = v.isa == .neonDot
            let per4 = Double(calls * tiles4) * nb, per1 = Double(calls * tiles1) * nb
            if per4 > 0 { parts.append(term(dot ? .qs8GemmDot4 : .qs8Gemm4, per4 * kq * 128)) }  // 4 rows × 8 outputs × 4 deep
            if per1 > 0 { parts.append(term(dot ? .qs8GemmDot1 : .qs8Gemm1, per1 * kq * 32)) }
            parts.append(term(.qs8GemmRequant8, Double(calls) * nb * Double(min(m, 4 * tiles4) + tiles1) * 8))
        } else {
            let per4 = Double(calls * tiles4) * Double((n + 15) / 16) * Double(k)
            let per1 = Double(calls * tiles1) * Double((n + 31) / 32) * Double(k)
            if per4 > 0 { parts.append(term(.f32Gemm4, per4 * 64)) }  // 4 rows × 16 outputs
            if per1 > 0 { parts.append(term(.f32Gemm1, per1 * 32)) }  // 1 row × two blocks of 16
        }
        let extra = v.algorithm == .im2col ? " (+ the patch gather, not counted)" : ""
        return (parts.reduce(0) { $0 + $1.0 }, parts.map(\.1).joined(separator: " + ") + extra, busiestThreadShare(units: units, threads: T))
    case .depthwise:
        let pixels = Double(g.n * g.oh * g.ow), blocks = Double((g.c + 15) / 16), taps = g.params.kernelH * g.params.kernelW
        let share = busiestThreadShare(units: g.n * g.oh, threads: T)
        if int8 {
            let a = term(.qs8Depthwise, pixels * blocks * Double((taps + 1) / 2) * 32), b = term(.qs8DepthwiseRequant16, pixels * blocks * 16)
            return (a.0 + b.0, a.1 + " + " + b.1, share)
        }
        let a = term(.f32Depthwise, pixels * blocks * Double(taps) * 16)
        return (a.0, a.1 + " (border taps counted)", share)
    case .winograd:
        // Not a loop of its own here: its 16 GEMMs at the float GEMM's rate on 4/9 of the direct
        // MACs (F(2×2, 3×3)); the transforms are not counted.
        let macs = Double(g.n * g.oh * g.ow * g.oc * 9 * g.c) * 4 / 9
        let a = term(.f32Gemm4, macs)
        return (a.0, a.1 + " (Winograd: GEMMs only, approximate)", busiestThreadShare(units: (g.n * g.oh + 1) / 2, threads: T))
    case .elementwise:
        let kind: ArmLoopKind
        switch v.name.prefix(while: { $0 != "_" }) {
        case "addQS8": kind = .qs8Add
        case "mulQS8": kind = .qs8Mul
        case "quantizeQS8": kind = .qs8Quantize
        case "dequantizeQS8": kind = .qs8Dequantize
        case "lookupQS8": kind = .qs8Lookup
        case "meanQS8":
            // One thread; the sums read every input element once, the requantization is per channel.
            let a = term(.qs8MeanPixel, Double(inputElements))
            return (a.0, a.1, 1)
        default: kind = .f32Binary
        }
        let a = term(kind, Double(outputElements))
        return (a.0, a.1, busiestThreadShare(units: (outputElements + 63) / 64, threads: T))
    case .pool:
        let kind: ArmLoopKind = int8 ? .qs8MaxPoolTap : .f32MaxPoolTap
        let a = term(kind, Double(outputElements * g.params.kernelH * g.params.kernelW))
        return (a.0, a.1, busiestThreadShare(units: g.n * g.oh, threads: T))
    case .reference:
        return (0, "", 1)
    }
}

func formatCount(_ x: Double) -> String {
    x >= 1e6 ? formatFixed(x / 1e6, 2) + " M" : x >= 1e3 ? formatFixed(x / 1e3, 1) + " K" : formatFixed(x, 0)
}

// MARK: - The command

public struct EstimateOptions: Sendable {
    public var modelPath: String
    public var target: EstimateTarget
    public var json = false
    public init(modelPath: String, target: EstimateTarget) {
        self.modelPath = modelPath
        self.target = target
    }
}

/// `swiftlet estimate`: per-layer and total latency on an ARM core, labelled as an estimate with its method.
public func estimateCommand(_ o: EstimateOptions) throws(SwiftletError) {
    let model = try PackedModel(path: o.modelPath)
    let e = try estimateModel(model, target: o.target)
    let t = o.target
    let method = "llvm-mca \(EstimateTarget.mcaVersion) cycles per loop iteration (\(generatedArmLoops.first { $0.cpu == t.cpu }?.mcaModel ?? t.cpu) model) × each layer's loop counts"
        + (t.bandwidthGBs.map { ", each layer at least its bytes / \(formatGeneral($0, 4)) GB/s" } ?? ", no memory bound (no bandwidth given)")
    let unmodelledMs = e.layers.filter { !$0.modelled }.reduce(0) { $0 + $1.ms }
    if o.json {
        var s = "{\"estimate\": true, \"model\": \(jsonString(o.modelPath)), \"cpu\": \(jsonString(t.cpu)), \"board\": \(t.board.map(jsonString) ?? "null"), "
        s += "\"clock_ghz\": \(jsonNumber(t.clockGHz)), \"bandwidth_gbs\": \(t.bandwidthGBs.map { jsonNumber($0) } ?? "null"), \"threads\": \(t.threads), "
        s += "\"method\": \(jsonString(method)), \"total_ms\": \(jsonNumber(e.totalMs)), \"compute_ms\": \(jsonNumber(e.computeMs)), "
        s += "\"macs\": \(e.macs), \"unmodelled_layers\": \(e.unmodelled), \"layers\": ["
        for (i, l) in e.layers.enumerated() {
            if i > 0 { s += ", " }
            s += "{\"index\": \(i), \"op\": \(jsonString(l.op)), \"name\": \(jsonString(l.name)), \"kernel\": \(jsonString(l.kernel)), \"macs\": \(l.macs), "
            s += "\"loops\": \(jsonString(l.method)), \"cycles\": \(jsonNumber(l.cycles)), \"busiest_thread_share\": \(jsonNumber(l.threadShare)), "
            s += "\"bytes\": \(l.bytes), \"compute_ms\": \(jsonNumber(l.computeMs)), \"memory_ms\": \(l.memoryMs.map { jsonNumber($0) } ?? "null"), "
            s += "\"ms\": \(jsonNumber(l.ms)), \"bound\": \(jsonString(l.bound))}"
        }
        sys_print(s + "]}")
        return
    }
    sys_print("ESTIMATE, not a measurement: \(o.modelPath) on \(t.cpu)\(t.board.map { " (\($0))" } ?? "") @ \(formatGeneral(t.clockGHz, 4)) GHz, \(t.threads) thread\(t.threads == 1 ? "" : "s")")
    sys_print("method: \(method)")
    var rows: [[String]] = [["#", "op", "name", "kernel (aarch64)", "MACs", "cycles", "compute ms", "memory ms", "estimate ms", "bound"]]
    for (i, l) in e.layers.enumerated() {
        rows.append(["\(i)", l.op, l.name, l.kernel, l.macs > 0 ? formatCount(Double(l.macs)) : "-", l.cycles > 0 ? formatCount(l.cycles) : "-",
                     formatFixed(l.computeMs, 3), l.memoryMs.map { formatFixed($0, 3) } ?? "-", formatFixed(l.ms, 3), l.bound])
    }
    printColumns(rows, rightAligned: [true, false, false, false, true, true, true, true, true, false], maxWidth: 44)
    sys_print("total        \(formatFixed(e.totalMs, 2)) ms per inference (estimate; compute alone \(formatFixed(e.computeMs, 2)) ms), \(formatCount(Double(e.macs))) MACs")
    if e.unmodelled > 0 {
        sys_print("not modelled \(e.unmodelled) layer\(e.unmodelled == 1 ? "" : "s") without a SIMD loop (\(formatFixed(unmodelledMs, 3)) ms, bytes / bandwidth only)")
    }
    sys_print("not counted  thread hand-offs, caches (every byte at DRAM bandwidth), im2col gathers, loop set-up; `swiftlet estimate --json` for the loops per layer")
}
