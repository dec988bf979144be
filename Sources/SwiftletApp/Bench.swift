import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime

/// What `swiftlet bench` does: time repeated inferences of one model.
public struct BenchOptions {
    public var modelPath: String
    /// Timed runs, unless `seconds` is set.
    public var runs: Int
    /// Time runs for this long instead of counting them (`--seconds`, or `--sustained`).
    public var seconds: Double? = nil
    /// `--sustained S`: `seconds` is S, and the latency is also reported over time (thermal throttling).
    public var sustained = false
    /// Untimed runs first; nil (`--warmup auto`, the default): until the latency settles.
    public var warmup: Int?
    /// A float32 `.npy` input in the ONNX layout; without it the input is a fixed pattern.
    public var inputNPY: String?
    public var json: Bool
    /// The fastest kernel variants this CPU allows, or the scalar references (`--kernels reference`).
    public var kernels: KernelChoice = .auto
    /// Threads per inference (`--threads`), pinned to `affinity` when it is not empty (`--affinity`).
    public var threads = 1
    public var affinity: [Int] = []
    /// `--memory-limit` as given (`512M`), or nil.
    public var memoryLimit: String? = nil
    /// `--profile`: time, MACs and bytes moved per layer.
    public var profile = false
    /// The core the board binary was built for (`cortex-a76`), for the peak rates; "" on the host.
    public var cpu = ""
    /// Energy per frame: the source (`--energy`), the idle baseline, a meter's clock offset.
    public var energy = EnergyOptions()
    /// The board profile's sensors and power model (the host: probe the machine, no model).
    public var board = BoardPower()
    /// `--report report.html`: one self-contained page with the figures and charts (Report.swift).
    public var report: String? = nil

    public init(modelPath: String, runs: Int = 50, warmup: Int? = nil, inputNPY: String? = nil, json: Bool = false) {
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

/// A CPU list as `--affinity` takes it: `0-3`, `4,5`, `0,2-3`. (Parsed as bytes: the board binary
/// keeps String's Unicode tables out.)
public func parseCPUList(_ text: String, flag: String) throws(SwiftletError) -> [Int] {
    let bad = SwiftletError.usage(detail: "\(flag) takes CPU numbers and ranges such as 0-3 or 0,2; got '\(text)'")
    var out: [Int] = []
    for part in Array(text.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
        var ends: [Int] = []
        for e in part.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false) {
            var v = 0
            for d in e {
                guard d >= 48 && d <= 57 && v < 1024 else { throw bad }
                v = v * 10 + Int(d - 48)
            }
            if e.isEmpty { throw bad }
            ends.append(v)
        }
        guard ends.count == 1 || ends.count == 2, ends[0] <= ends[ends.count - 1], ends[ends.count - 1] < 1024 else { throw bad }
        for c in ends[0]...ends[ends.count - 1] where !out.contains(c) { out.append(c) }
    }
    return out
}

/// Latency statistics of one set of samples, in ns.
struct LatencyStats {
    var min: UInt64 = 0, p50: UInt64 = 0, p90: UInt64 = 0, p99: UInt64 = 0, max: UInt64 = 0
    var mean = 0.0, stddev = 0.0

    /// From unsorted samples (sorted here, in place).
    init(_ samples: inout [UInt64]) {
        guard !samples.isEmpty else { return }
        var sum = 0.0
        for s in samples { sum += Double(s) }
        mean = sum / Double(samples.count)
        var sq = 0.0
        for s in samples { sq += (Double(s) - mean) * (Double(s) - mean) }
        // The sample standard deviation (n − 1), 0 for one run.
        stddev = samples.count > 1 ? (sq / Double(samples.count - 1)).squareRoot() : 0
        sortAscending(&samples)
        min = samples[0]
        max = samples[samples.count - 1]
        p50 = percentile(samples, 50)
        p90 = percentile(samples, 90)
        p99 = percentile(samples, 99)
    }

    func json() -> String {
        "{\"min\": \(msJSON(min)), \"p50\": \(msJSON(p50)), \"p90\": \(msJSON(p90)), \"p99\": \(msJSON(p99)), \"max\": \(msJSON(max)), \"mean\": \(jsonNumber(mean / 1e6)), \"stddev\": \(jsonNumber(stddev / 1e6))}"
    }

    func text() -> String {
        "min \(msText(min))  p50 \(msText(p50))  p90 \(msText(p90))  p99 \(msText(p99))  max \(msText(max))  mean \(msText(mean))  sd \(msText(stddev))"
    }
}

private func msJSON(_ ns: UInt64) -> String { jsonNumber(Double(ns) / 1e6) }
private func msText(_ ns: UInt64) -> String { msText(Double(ns)) }
private func msText(_ ns: Double) -> String { formatFixed(ns / 1e6, ns < 1e7 ? 3 : 2) }

/// The warm-up: how many untimed runs, how long, and whether the latency settled (nil: a fixed count).
struct WarmUp {
    var runs = 0
    var ns: UInt64 = 0
    var settled: Bool? = nil
    /// The last two medians compared (settling), ns.
    var medians: (UInt64, UInt64) = (0, 0)

    /// Settling: the median of the last 5 runs within 3 % of the median of the 5 before, after at
    /// least 10 runs; at most 5 s or 1000 runs (then `settled` is false and bench says so).
    static let window = 5, tolerancePercent: UInt64 = 3, maxNs: UInt64 = 5_000_000_000, maxRuns = 1000

    init(_ run: () -> UInt64, fixed: Int?) {
        let start = sys_monotonicNanoseconds()
        var ring = [UInt64](repeating: 0, count: 2 * WarmUp.window)
        func median(_ first: Int) -> UInt64 {
            var w = [UInt64](repeating: 0, count: WarmUp.window)
            for k in 0..<WarmUp.window { w[k] = ring[(first + k) % ring.count] }
            sortAscending(&w)
            return w[WarmUp.window / 2]
        }
        while true {
            if let fixed {
                if runs >= fixed { break }
            } else if runs >= ring.count {
                let last = median(runs - WarmUp.window), before = median(runs - 2 * WarmUp.window)
                medians = (before, last)
                let diff = last > before ? last - before : before - last
                if diff * 100 <= before * WarmUp.tolerancePercent {
                    settled = true
                    break
                }
                if sys_monotonicNanoseconds() &- start >= WarmUp.maxNs || runs >= WarmUp.maxRuns {
                    settled = false
                    break
                }
            }
            ring[runs % ring.count] = run()
            runs += 1
        }
        ns = sys_monotonicNanoseconds() &- start
    }

    func json() -> String {
        "{\"runs\": \(runs), \"seconds\": \(formatFixed(Double(ns) / 1e9, 3)), \"settled\": \(settled.map { $0 ? "true" : "false" } ?? "null")}"
    }

    func text() -> String {
        let how: String
        switch settled {
        case nil: how = "fixed count"
        case true?: how = "latency settled: median of the last \(WarmUp.window) runs \(msText(medians.1)) ms, within \(WarmUp.tolerancePercent) % of the \(WarmUp.window) before"
        case false?: how = "did not settle within \(WarmUp.maxNs / 1_000_000_000) s: medians \(msText(medians.0)) then \(msText(medians.1)) ms; the figures may drift"
        }
        return "\(runs) warm-up runs in \(formatFixed(Double(ns) / 1e9, 2)) s (\(how))"
    }
}

/// Latency over time (`--sustained`): the timed runs cut into `count` equal spans of time, each
/// span's median; a last span slower than the first by more than 5 % is reported (thermal
/// throttling, or another program).
struct LatencyOverTime {
    var spans: [(startS: Double, runs: Int, p50: UInt64)] = []

    init(starts: [UInt64], samples: [UInt64], count: Int) {
        guard let last = starts.last else { return }
        let first = starts[0]
        let total = max(last &+ samples[samples.count - 1] &- first, 1)
        var k = 0
        for s in 0..<count {
            let end = first &+ total * UInt64(s + 1) / UInt64(count)
            var w: [UInt64] = []
            while k < starts.count && (starts[k] < end || s == count - 1) {
                w.append(samples[k])
                k += 1
            }
            if w.isEmpty { continue }
            let n = w.count
            sortAscending(&w)
            spans.append((Double(first &+ total * UInt64(s) / UInt64(count) &- first) / 1e9, n, percentile(w, 50)))
        }
    }

    /// The last span's median over the first's, or nil.
    var drift: Double? {
        guard spans.count >= 2, spans[0].p50 > 0 else { return nil }
        return Double(spans[spans.count - 1].p50) / Double(spans[0].p50)
    }

    func json() -> String {
        var s = "["
        for (i, w) in spans.enumerated() {
            if i > 0 { s += ", " }
            s += "{\"start_s\": \(formatFixed(w.startS, 2)), \"runs\": \(w.runs), \"p50_ms\": \(msJSON(w.p50))}"
        }
        return s + "]"
    }
}

// MARK: - Per-layer profile

/// Multiply-accumulates one core issues per cycle at best with a kernel's instruction set: the
/// throughput of its multiply-accumulate instruction times its lanes, from the vendors' optimisation
/// guides (docs/measuring.md, "Peak"). `cpu` is the board profile's core; "" on x86-64 hosts.
func peakMACsPerCycle(_ isa: KernelISA, int8: Bool, cpu: String) -> Double {
    // Cortex-A72, A55 and A53 issue one 128-bit NEON multiply-accumulate per cycle; A76 and A78 two.
    let little = cpu.same("cortex-a72") || cpu.same("cortex-a55") || cpu.same("cortex-a53")
    switch isa {
    case .scalar: return 1
    case .avx2: return int8 ? 32 : 16  // two 256-bit FMA per cycle (8 floats); int8: vpmaddubsw's 32 pairs, one per cycle with the vpmaddwd after it
    case .avx512vnni: return int8 ? 64 : 16  // two 256-bit vpdpbusd per cycle, 32 u8×s8 each
    case .neon: return (int8 ? 16 : 8) / (little ? 2 : 1)  // two FMLA.4S (4 floats) or SMLAL (8 int16 products) per cycle
    case .neonDot: return 32 / (little ? 2 : 1)  // two SDOT per cycle, 16 int8 products each
    }
}

/// The core's clock in GHz for the peak: cpufreq's cpuinfo_max_freq of `cpu`, else /proc/cpuinfo's
/// "cpu MHz" (x86; a VM's nominal figure); nil when neither says.
func coreClockGHz(_ cpu: Int) -> (ghz: Double, source: String)? {
    let path = "/sys/devices/system/cpu/cpu\(cpu)/cpufreq/cpuinfo_max_freq"
    if let line = sys_readFirstLine(path), let khz = Int(line), khz > 0 { return (Double(khz) / 1e6, path) }
    guard let text = readSysText("/proc/cpuinfo") else { return nil }
    let key = Array("cpu MHz".utf8)
    for line in Array(text.utf8).split(separator: 10) where line.starts(with: key) {
        guard let colon = line.firstIndex(of: 58) else { continue }
        var value = line[(colon + 1)...]
        while value.first == 32 || value.first == 9 { value = value.dropFirst() }
        if let mhz = parseDecimal(String(decoding: value, as: UTF8.self)), mhz > 0 { return (Double(mhz) / 1000, "/proc/cpuinfo cpu MHz") }
    }
    return nil
}

/// Per layer: time summed over the timed runs, MACs, bytes moved, the kernel that ran.
struct LayerProfile {
    struct Row {
        var ns: UInt64 = 0
        var macs = 0
        /// Bytes read from weights (constant inputs as stored), from activations, and written.
        var weightBytes = 0, readBytes = 0, writtenBytes = 0
        var kernel = ""
        var peakPerCycle = 0.0
        /// The threads the layer's step ran on: all of them when the runtime split it, else one.
        var threads = 1
        /// The producer of a streamed Conv → Conv pair: it runs inside the next layer's step, whose
        /// time (and rate) covers both.
        var inNext = false
    }
    var rows: [Row]
    var runs: Int
    /// The timed runs' whole time (ns), to check the layers add up to it.
    var wholeNs: UInt64
    var clock: (ghz: Double, source: String)?
    var threads: Int

    init(_ spec: ModelSpec, _ interpreter: Interpreter, sums: [UInt64], runs: Int, wholeNs: UInt64, threads: Int, cpu: String,
         clock: (ghz: Double, source: String)?) {
        let stats = modelStats(spec)
        rows = []
        for (i, node) in spec.nodes.enumerated() {
            var r = Row()
            r.ns = i < sums.count ? sums[i] : 0
            r.macs = stats.perNode[i].macs
            for t in node.inputs {
                if spec.tensors[t].storage == .weights { r.weightBytes += spec.tensors[t].byteCount } else { r.readBytes += spec.tensors[t].byteCount }
            }
            for t in node.outputs { r.writtenBytes += spec.tensors[t].byteCount }
            r.kernel = interpreter.kernelNames[i]
            let int8 = spec.tensors[node.inputs[0]].dtype == .int8
            r.peakPerCycle = peakMACsPerCycle(interpreter.kernelISAs[i], int8: int8, cpu: cpu)
            r.inNext = interpreter.runsInNextStep(i)
            r.threads = interpreter.runsDivided(i) ? threads : 1
            rows.append(r)
        }
        self.runs = max(runs, 1)
        self.wholeNs = wholeNs
        self.clock = clock
        self.threads = threads
    }

    var layersNs: UInt64 { var s: UInt64 = 0; for r in rows { s &+= r.ns }; return s }

    /// Achieved MACs per ns (= GMAC/s) of row `i`, and its share of the peak (nil without a clock);
    /// a streamed pair's consumer counts both layers' MACs (the producer's row has no rate).
    func rate(_ i: Int) -> (gmacs: Double, ofPeak: Double?) {
        let r = rows[i]
        let macs = r.macs + (i > 0 && rows[i - 1].inNext ? rows[i - 1].macs : 0)
        guard r.ns > 0, macs > 0, !r.inNext else { return (0, nil) }
        let g = Double(macs) * Double(runs) / Double(r.ns)
        guard let c = clock else { return (g, nil) }
        return (g, g / (r.peakPerCycle * c.ghz * Double(r.threads)))
    }

    func totals() -> (macs: Int, weights: Int, read: Int, written: Int) {
        var t = (0, 0, 0, 0)
        for r in rows {
            t.0 += r.macs
            t.1 += r.weightBytes
            t.2 += r.readBytes
            t.3 += r.writtenBytes
        }
        return t
    }

    func json(_ spec: ModelSpec) -> String {
        let t = totals()
        var s = "{\"runs\": \(runs), \"layers_ms\": \(jsonNumber(Double(layersNs) / Double(runs) / 1e6)), \"whole_ms\": \(jsonNumber(Double(wholeNs) / Double(runs) / 1e6)), "
        s += "\"clock_ghz\": \(clock.map { jsonNumber($0.ghz) } ?? "null"), \"clock_source\": \(clock.map { jsonString($0.source) } ?? "null"), \"threads\": \(threads), "
        s += "\"macs\": \(t.macs), \"weight_bytes\": \(t.weights), \"activation_read_bytes\": \(t.read), \"written_bytes\": \(t.written), \"layers\": ["
        let all = layersNs
        for (i, r) in rows.enumerated() {
            if i > 0 { s += ", " }
            let (g, p) = rate(i)
            s += "{\"index\": \(i), \"op\": \(jsonString(opText(spec.nodes[i].op))), \"name\": \(jsonString(spec.nodes[i].name)), "
            s += "\"ms\": \(jsonNumber(Double(r.ns) / Double(runs) / 1e6)), \"share\": \(jsonNumber(all == 0 ? 0 : Double(r.ns) / Double(all))), "
            s += "\"macs\": \(r.macs), \"gmacs_per_s\": \(jsonNumber(g)), \"peak_fraction\": \(p.map { jsonNumber($0) } ?? "null"), \"peak_macs_per_cycle\": \(jsonNumber(r.peakPerCycle)), \"threads\": \(r.threads), "
            s += "\"weight_bytes\": \(r.weightBytes), \"activation_read_bytes\": \(r.readBytes), \"written_bytes\": \(r.writtenBytes), \"kernel\": \(jsonString(r.kernel)), \"runs_in_next\": \(r.inNext)}"
        }
        return s + "]}"
    }

    func printTable(_ spec: ModelSpec) {
        var table: [[String]] = [["#", "op", "name", "ms", "share", "MACs", "GMAC/s", "peak", "weights", "act. read", "written", "kernel"]]
        let all = layersNs
        for (i, r) in rows.enumerated() {
            let (g, p) = rate(i)
            table.append([
                "\(i)", opText(spec.nodes[i].op), spec.nodes[i].name, r.inNext ? "in #\(i + 1)" : formatFixed(Double(r.ns) / Double(runs) / 1e6, 3),
                formatFixed(all == 0 ? 0 : Double(r.ns) / Double(all) * 100, 1) + "%", r.macs == 0 ? "-" : formatCount(r.macs),
                g == 0 ? "-" : formatFixed(g, 2), p.map { formatFixed($0 * 100, 1) + "%" } ?? "-",
                r.weightBytes == 0 ? "-" : formatBytes(r.weightBytes), formatBytes(r.readBytes), formatBytes(r.writtenBytes), r.kernel,
            ])
        }
        printColumns(table, rightAligned: [true, false, false, true, true, true, true, true, true, true, true, false], maxWidth: 40)
        let t = totals()
        let whole = Double(wholeNs) / Double(runs) / 1e6, layers = Double(all) / Double(runs) / 1e6
        sys_print("layers sum    \(formatFixed(layers, 3)) ms a run, \(formatFixed(whole > 0 ? layers / whole * 100 : 0, 1)) % of the timed runs' \(formatFixed(whole, 3)) ms")
        sys_print("per frame     \(formatCount(t.macs)) MACs; weights read \(formatBytes(t.weights)), activations read \(formatBytes(t.read)), written \(formatBytes(t.written))")
        if let c = clock {
            sys_print("peak          per layer: MACs/cycle of its kernel's instructions × \(formatFixed(c.ghz, 2)) GHz (\(c.source)) × the threads the layer ran on (\(threads) when the runtime split it, else 1)")
        } else {
            sys_print("peak          unknown: no clock rate (no cpufreq, no 'cpu MHz' in /proc/cpuinfo)")
        }
    }
}

/// `bench`'s options checked before anything runs, and the report's path against the inputs.
func checkBenchOptions(_ o: BenchOptions) throws(SwiftletError) {
    if o.runs < 1 { throw .usage(detail: "--runs must be at least 1, got \(o.runs)") }
    if let w = o.warmup, w < 0 { throw .usage(detail: "--warmup must be 0 or more, got \(w)") }
    if o.threads < 1 || o.threads > 64 { throw .usage(detail: "--threads must be between 1 and 64, got \(o.threads)") }
    if let s = o.seconds, !(s > 0 && s <= 86_400) {
        throw .usage(detail: "\(o.sustained ? "--sustained" : "--seconds") takes seconds between 0 and 86400, got \(formatGeneral(s, 6))")
    }
    if let r = o.report {
        #if SWIFTLET_NO_REPORT
        throw .unsupported(detail: "--report \(r): this board binary was built without the HTML report (SWIFTLET_NO_REPORT, a profile's 'report = no', for size); use the host swiftlet, or 'bench --json' and draw it elsewhere")
        #else
        // The page never replaces an input: checked before anything runs.
        var inputs: [(role: String, path: String)] = [("the model", o.modelPath)]
        if let i = o.inputNPY { inputs.append(("the --input", i)) }
        if let e = o.energy.source, e.startsWith("meter:") { inputs.append(("the meter log", String(decoding: Array(e.utf8)[6...], as: UTF8.self))) }
        try checkOutputPath(r, flag: "--report", inputs: inputs)
        #endif
    }
}

/// The model's input: the `--input` array, or a fixed pattern.
func setBenchInput(_ interpreter: Interpreter, _ o: BenchOptions) throws(SwiftletError) {
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
}

/// `bench`'s timed runs: each run's latency and start, each layer's summed time with --profile, and
/// the window they ran in (the energy window begun and ended around it).
struct TimedRuns {
    let samples: [UInt64]
    let starts: [UInt64]
    let nodeSums: [UInt64]
    let begin: UInt64
    let timedNs: UInt64

    init(_ interpreter: Interpreter, _ o: BenchOptions, input: InputSnapshot, warm: WarmUp, around: inout BenchSurroundings) throws(SwiftletError) {
        let spec = interpreter.spec
        // Timed runs: a count, or until `seconds` have passed. With --profile each layer is timed too
        // (two clock reads a layer; the layers' sum is checked against the whole).
        let limit = o.seconds.map { UInt64($0 * 1e9) }
        var capacity = o.runs
        if let limit { capacity = Int(min(limit / max(warm.runs > 0 ? warm.ns / UInt64(warm.runs) : 1_000_000, 1), 10_000_000)) + 16 }
        var samples: [UInt64] = []
        var starts: [UInt64] = []
        samples.reserveCapacity(capacity)
        starts.reserveCapacity(capacity)
        var nodeTimes: [UInt64] = []
        var nodeSums = [UInt64](repeating: 0, count: o.profile ? spec.nodes.count : 0)
        try around.begin()
        let begin = sys_monotonicNanoseconds()
        while true {
            let t0 = sys_monotonicNanoseconds()
            if let limit {
                if t0 &- begin >= limit && !samples.isEmpty { break }
            } else if samples.count >= o.runs {
                break
            }
            if o.profile {
                interpreter.invoke(profile: &nodeTimes)
            } else {
                interpreter.invoke()
            }
            let dt = sys_monotonicNanoseconds() &- t0
            input.restore()
            samples.append(dt)
            starts.append(t0)
            for i in 0..<nodeSums.count { nodeSums[i] &+= nodeTimes[i] }
        }
        let timedNs = sys_monotonicNanoseconds() &- begin
        try around.end(frames: samples.count, threads: o.threads)
        self.samples = samples
        self.starts = starts
        self.nodeSums = nodeSums
        self.begin = begin
        self.timedNs = timedNs
    }
}

// MARK: - The command

/// `swiftlet bench`: a warm-up until the latency settles (or a fixed count), then timed runs (a count,
/// or for a time), on a monotonic clock; prints min, p50, p90, p99, max, mean and standard deviation,
/// the peak resident set and its parts; with `--profile` each layer's time, MACs and bytes moved;
/// with `--sustained` the latency over time.
public func benchCommand(_ o: BenchOptions) throws(SwiftletError) {
    try checkBenchOptions(o)
    sys_setMemoryLimit(try o.memoryLimit.map { (s) throws(SwiftletError) in try parseByteSize(s, flag: "--memory-limit") })
    // The machine before anything runs (governor, clocks, temperatures, load), and the idle power
    // baseline, taken before the model is loaded.
    var around = try BenchSurroundings(o)
    // Peak-memory growth from here on: the model's mapped weights that are touched, the arena, the
    // prepared steps (as the peer benchmark measures ONNX Runtime and LiteRT).
    let memoryReset = sys_resetPeakMemory()
    let before = sys_residentMemory()
    let model = try PackedModel(path: o.modelPath)
    let interpreter = try Interpreter(model: model, kernels: o.kernels, threads: o.threads, affinity: o.affinity)
    let spec = interpreter.spec
    try setBenchInput(interpreter, o)
    // A model packed with --reuse-input gets its input written back before each run, untimed.
    let input = InputSnapshot(interpreter)
    let warm = WarmUp({
        let t0 = sys_monotonicNanoseconds()
        interpreter.invoke()
        let dt = sys_monotonicNanoseconds() &- t0
        input.restore()
        return dt
    }, fixed: o.warmup)
    let timed = try TimedRuns(interpreter, o, input: input, warm: warm, around: &around)
    let samples = timed.samples, starts = timed.starts, nodeSums = timed.nodeSums, begin = timed.begin, timedNs = timed.timedNs
    let runs = samples.count
    var total: UInt64 = 0
    for s in samples { total &+= s }
    let overTime = o.sustained ? LatencyOverTime(starts: starts, samples: samples, count: 10) : nil
    let after = sys_residentMemory()
    let parts = sys_residentParts(mappedFile: o.modelPath)
    var growth: Int? = nil
    if memoryReset, let b = before, let a = after { growth = max(0, a.peak - b.rss) }
    var sorted = samples
    let stats = LatencyStats(&sorted)
    let profile = o.profile
        ? LayerProfile(spec, interpreter, sums: nodeSums, runs: runs, wholeNs: total, threads: o.threads, cpu: o.cpu,
                       clock: coreClockGHz(o.affinity.first ?? 0))
        : nil
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
    // The text lines, printed in text mode and kept for the report.
    var lines: [String] = []
    func say(_ line: String) {
        if !o.json { sys_print(line) }
        lines.append(line)
    }
    say("model        \(o.modelPath)")
    say("warm-up      \(warm.text())")
    let stalls = interpreter.poolStalls
    let stallText = stalls == 0 ? "" : "; \(stalls) step\(stalls == 1 ? "" : "s") waited for a descheduled thread, and the steps after each ran on one (a busy machine)"
    let pinned = o.affinity.isEmpty ? "" : " pinned to CPU\(o.affinity.count == 1 ? "" : "s") \(cpuListText(o.affinity))"
    say("runs         \(runs) timed in \(formatFixed(Double(timedNs) / 1e9, 2)) s, \(o.threads) thread\(o.threads == 1 ? "" : "s")\(pinned)\(stallText)")
    say("latency ms   \(stats.text())")
    if let t = overTime {
        var line = "over time    p50 ms by tenth of the run:"
        for w in t.spans { line += " \(msText(w.p50))" }
        say(line)
        if let d = t.drift, d > 1.05 {
            say("warning      the last tenth ran \(formatFixed((d - 1) * 100, 1)) % slower than the first: thermal throttling or another program (see the clock and temperature lines)")
        }
    }
    say("arena        \(formatBytes(spec.arenaBytes))")
    if let a = after {
        let g = growth.map { "; \(formatBytes($0)) of it from loading and running the model (weights \(formatBytes(model.weightsLength)) mapped, arena \(formatBytes(spec.arenaBytes)))" } ?? ""
        say("peak RSS     \(formatBytes(a.peak))\(g)")
    }
    if let t = partsText { say("its parts    \(t)") }
    for line in around.textLines { say(line) }
    lines.append("kernels      \(o.kernels == .reference ? "reference" : "auto")")
    func report() throws(SwiftletError) {
        guard let path = o.report else { return }
        // The power samples start at the energy window's start, just before the timed runs'.
        #if !SWIFTLET_NO_REPORT
        let w0 = begin &- around.monitor.beginNs
        try writeBenchReport(path, BenchReport(lines: lines, stats: stats, samples: samples, starts: starts, profile: profile, power: around.power,
                                               window: (w0, w0 &+ timedNs)), spec: spec)
        #endif
    }
    if o.json {
        var s = "{\"model\": \(jsonString(o.modelPath)), \"runs\": \(runs), \"seconds\": \(formatFixed(Double(timedNs) / 1e9, 3)), \"warmup\": \(warm.json()), \"threads\": \(o.threads), \"affinity\": \(jsonInts(o.affinity)), "
        s += "\"latency_ms\": \(stats.json()), \"arena_bytes\": \(spec.arenaBytes), \"weights_bytes\": \(model.weightsLength), \"peak_rss_bytes\": \(after.map { "\($0.peak)" } ?? "null"), "
        s += "\"peak_rss_growth_bytes\": \(growth.map { "\($0)" } ?? "null"), \"memory_parts\": \(partsJSON), \"pool_stalls\": \(interpreter.poolStalls), "
        s += "\"latency_over_time\": \(overTime.map { $0.json() } ?? "null"), \"profile\": \(profile.map { $0.json(spec) } ?? "null"), \(around.json)}"
        try report()
        sys_print(s)
        return
    }
    if let profile {
        sys_print("")
        profile.printTable(spec)
    }
    if let r = o.report {
        try report()
        sys_print("report       \(r)")
    }
}

/// `0-3`, `0,2`: a CPU list as `--affinity` takes it.
func cpuListText(_ cpus: [Int]) -> String {
    var s = ""
    var i = 0
    while i < cpus.count {
        var j = i
        while j + 1 < cpus.count && cpus[j + 1] == cpus[j] + 1 { j += 1 }
        if !s.isEmpty { s += "," }
        s += j > i ? "\(cpus[i])-\(cpus[j])" : "\(cpus[i])"
        i = j + 1
    }
    return s
}
