import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletRuntime

/// What `swiftlet bench` does: time repeated inferences of one model.
public struct BenchOptions {
    public var modelPath: String
    /// Timed runs, after `warmup` untimed ones.
    public var runs: Int
    public var warmup: Int
    /// A float32 `.npy` input in the ONNX layout; without it the input is a fixed pattern.
    public var inputNPY: String?
    public var json: Bool
    /// The fastest kernel variants this CPU allows, or the scalar references (`--kernels reference`).
    public var kernels: KernelChoice = .auto
    /// Threads per inference (`--threads`), pinned to `affinity` when it is not empty.
    public var threads = 1
    public var affinity: [Int] = []
    /// `--memory-limit` as given (`512M`), or nil.
    public var memoryLimit: String? = nil

    public init(modelPath: String, runs: Int = 50, warmup: Int = 5, inputNPY: String? = nil, json: Bool = false) {
        self.modelPath = modelPath
        self.runs = runs
        self.warmup = warmup
        self.inputNPY = inputNPY
        self.json = json
    }
}

/// Latency percentiles over sorted samples (nearest rank).
public func percentile(_ sorted: [UInt64], _ p: Double) -> UInt64 {
    guard !sorted.isEmpty else { return 0 }
    var rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    if rank < 0 { rank = 0 }
    if rank >= sorted.count { rank = sorted.count - 1 }
    return sorted[rank]
}

/// `swiftlet bench`: warm-up runs, then `runs` timed runs on a monotonic clock; prints min, median,
/// p90, p99 and mean latency, and the arena size. Minimal for now: one thread, no energy yet.
public func benchCommand(_ o: BenchOptions) throws(SwiftletError) {
    if o.runs < 1 { throw .usage(detail: "--runs must be at least 1, got \(o.runs)") }
    if o.warmup < 0 { throw .usage(detail: "--warmup must be 0 or more, got \(o.warmup)") }
    if o.threads < 1 || o.threads > 64 { throw .usage(detail: "--threads must be between 1 and 64, got \(o.threads)") }
    sys_setMemoryLimit(try o.memoryLimit.map { (s) throws(SwiftletError) in try parseByteSize(s, flag: "--memory-limit") })
    // Peak-memory growth from here on: the model's mapped weights that are touched, the arena, the
    // prepared steps (as the peer benchmark measures ONNX Runtime and LiteRT).
    let memoryReset = sys_resetPeakMemory()
    let before = sys_residentMemory()
    let model = try PackedModel(path: o.modelPath)
    let interpreter = try Interpreter(model: model, kernels: o.kernels, threads: o.threads, affinity: o.affinity)
    let spec = interpreter.spec
    if let path = o.inputNPY {
        let info = spec.tensors[spec.inputs[0]]
        let array = try NPYArray(contentsOf: path)
        if array.shape != info.logicalShape {
            throw .invalidInput(path: path, detail: "shape \(Shape.text(array.shape)) does not match the model input '\(info.name)' \(Shape.text(info.logicalShape))",
                                hint: "save an array of that shape (ONNX layout)")
        }
        interpreter.setInput(0, logical: try array.floats())
    } else {
        // A fixed, input-independent pattern in [-1, 1): the reference kernels' time does not depend on values.
        for i in 0..<spec.inputs.count {
            let n = Shape.count(spec.tensors[spec.inputs[i]].shape) ?? 0
            let p = interpreter.inputPointer(i)
            for k in 0..<n { p[k] = Float(k % 251) / 125.5 - 1 }
        }
    }
    // A model packed with --reuse-input gets its input written back before each run, untimed.
    let input = InputSnapshot(interpreter)
    for _ in 0..<o.warmup {
        interpreter.invoke()
        input.restore()
    }
    var samples = [UInt64](repeating: 0, count: o.runs)
    for r in 0..<o.runs {
        let t0 = sys_monotonicNanoseconds()
        interpreter.invoke()
        samples[r] = sys_monotonicNanoseconds() &- t0
        input.restore()
    }
    let after = sys_residentMemory()
    let parts = sys_residentParts(mappedFile: o.modelPath)
    var growth: Int? = nil
    if memoryReset, let b = before, let a = after { growth = max(0, a.peak - b.rss) }
    var total: UInt64 = 0
    for s in samples { total &+= s }
    sortAscending(&samples)
    func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }
    let mean = Double(total) / Double(o.runs) / 1e6
    let (mn, p50, p90, p99) = (ms(samples[0]), ms(percentile(samples, 50)), ms(percentile(samples, 90)), ms(percentile(samples, 99)))
    // The peak's parts (read after the runs, when the resident set is at its peak again): the model
    // file's resident pages (weights touched, mapped not copied), the arena (all of it is written), the
    // resident code, camera buffers (none: bench feeds a tensor), and the rest (heap, stacks, libc).
    var partsJSON = "null"
    var partsText: String? = nil
    if let a = after, let p = parts {
        let other = max(0, a.peak - p.file - spec.arenaBytes - p.code)
        partsJSON = "{\"weights_file_resident_bytes\": \(p.file), \"arena_bytes\": \(spec.arenaBytes), \"code_resident_bytes\": \(p.code), \"camera_buffers_bytes\": 0, \"other_bytes\": \(other)}"
        partsText = "model file \(formatBytes(p.file)) resident (mapped, not copied), arena \(formatBytes(spec.arenaBytes)), code \(formatBytes(p.code)) resident (binary and libraries), camera buffers 0 (no camera in bench), other \(formatBytes(other))"
    }
    if o.json {
        sys_print("{\"model\": \(jsonString(o.modelPath)), \"runs\": \(o.runs), \"warmup\": \(o.warmup), \"threads\": \(o.threads), \"latency_ms\": {\"min\": \(jsonNumber(mn)), \"p50\": \(jsonNumber(p50)), \"p90\": \(jsonNumber(p90)), \"p99\": \(jsonNumber(p99)), \"mean\": \(jsonNumber(mean))}, \"arena_bytes\": \(spec.arenaBytes), \"weights_bytes\": \(model.weightsLength), \"peak_rss_bytes\": \(after.map { "\($0.peak)" } ?? "null"), \"peak_rss_growth_bytes\": \(growth.map { "\($0)" } ?? "null"), \"memory_parts\": \(partsJSON), \"pool_stalls\": \(interpreter.poolStalls), \"energy\": null}")
        return
    }
    func f(_ v: Double) -> String { formatFixed(v, v < 10 ? 3 : 2) }
    sys_print("model        \(o.modelPath)")
    let stalls = interpreter.poolStalls
    let stallText = stalls == 0 ? "" : "; \(stalls) step\(stalls == 1 ? "" : "s") waited for a descheduled thread, and the steps after each ran on one (a busy machine)"
    sys_print("runs         \(o.runs) timed after \(o.warmup) warm-up, \(o.threads) thread\(o.threads == 1 ? "" : "s")\(stallText)")
    sys_print("latency ms   min \(f(mn))  p50 \(f(p50))  p90 \(f(p90))  p99 \(f(p99))  mean \(f(mean))")
    sys_print("arena        \(formatBytes(spec.arenaBytes))")
    if let a = after {
        let g = growth.map { "; \(formatBytes($0)) of it from loading and running the model (weights \(formatBytes(model.weightsLength)) mapped, arena \(formatBytes(spec.arenaBytes)))" } ?? ""
        sys_print("peak RSS     \(formatBytes(a.peak))\(g)")
    }
    if let t = partsText { sys_print("its parts    \(t)") }
    sys_print("energy       not measured yet (no sensor reading or power model in this build)")
}
