import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletEstimate
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer

// MARK: - inspect

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a packed model's inputs, layers, parameters, MACs and memory plan.")

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(name: .customLong("plan-svg"), help: "Also draw the memory plan (time across, arena offset down, one rectangle per tensor) to this SVG file.")
    var planSVG: String?

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            if let svg = planSVG { try writePlanSVG(modelPath: model, to: svg) }
            try inspectCommand(InspectOptions(modelPath: model, json: json, planSVG: planSVG))
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time repeated inferences: latency min, median, p90, p99, max, mean and standard deviation; per-layer profile; latency over time.")

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Option(parsing: .unconditional, help: "Timed runs.")
    var runs = 50

    @Option(parsing: .unconditional, help: "Time runs for this many seconds instead of counting them.")
    var seconds: Double?

    @Option(parsing: .unconditional, help: "Run for this many seconds and report the latency over time (thermal throttling).")
    var sustained: Double?

    @Option(parsing: .unconditional, help: "Untimed runs first: a count, or auto (until the median of 5 runs is within 3 % of the 5 before; at most 5 s).")
    var warmup = "auto"

    @Flag(help: "Per layer: time and share, MACs, GMAC/s and the fraction of the core's peak, bytes of weights and activations read and written, the kernel that ran.")
    var profile = false

    @Option(help: "Pin the inference threads to these CPUs: 0-3, 4,5.")
    var affinity: String?

    @Option(help: "Energy source: auto (default), none, rapl[:PATH], hwmon:NAME[:LABEL], pmic (Raspberry Pi 5), meter:FILE.csv, model (the board profile's power model; an estimate).")
    var energy: String?

    @Option(parsing: .unconditional, help: "Seconds of idle baseline measured before the model loads (default 2).")
    var idleSeconds: Double = 2

    @Option(parsing: .unconditional, help: "The idle power in watts, given instead of measured.")
    var idleWatts: Double?

    @Option(parsing: .unconditional, help: "With --energy meter:FILE: the meter's clock minus this machine's, in seconds.")
    var meterOffset: Double = 0

    @Option(parsing: .unconditional, help: "Power readings per second (default: the source's).")
    var energyRate: Double?

    @Option(help: "A float32 .npy input in the ONNX layout (default: a fixed pattern).")
    var input: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var execution: ExecutionFlags

    @Option(help: ArgumentHelp("Also write one self-contained HTML page: the figures, a latency histogram, latency over time, the per-layer bars (with --profile), the memory plan and the power over time.", valueName: "file.html"))
    var report: String?

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if execution.threads < 1 || execution.threads > 64 { throw ValidationError("--threads must be between 1 and 64, got \(execution.threads)") }
        if warmup != "auto" {
            guard let n = Int(warmup) else { throw ValidationError("--warmup takes a count or auto, got '\(warmup)'") }
            if n < 0 { throw ValidationError("--warmup must be 0 or more, got \(n)") }
        }
        if seconds != nil && sustained != nil { throw ValidationError("--seconds and --sustained both set the run's length: give one") }
    }

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            var o = BenchOptions(modelPath: model, runs: runs, warmup: Int(warmup), inputNPY: input, json: json)
            o.kernels = execution.kernels.choice
            o.threads = execution.threads
            o.memoryLimit = execution.memoryLimit
            o.seconds = seconds ?? sustained
            o.sustained = sustained != nil
            o.profile = profile
            o.report = report
            if let affinity { o.affinity = try parseCPUList(affinity, flag: "--affinity") }
            o.energy = EnergyOptions(source: energy, idleSeconds: idleSeconds, idleWatts: idleWatts, meterOffsetSeconds: meterOffset,
                                     rateHz: energyRate)
            try benchCommand(o)
        }
    }
}

struct Estimate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict per-layer and total latency on an ARM core without a board (an estimate, from llvm-mca's cycles for the board build's loops).",
        discussion: """
            Each layer gets the aarch64 kernel the board would select; its cycles are its loops' \
            iteration counts times the cycles llvm-mca schedules for one iteration of each loop as \
            the board build compiled it; a layer takes at least its bytes over the board's memory \
            bandwidth. The method and its limits: docs/measuring.md, "ARM estimates".
            """)

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Option(help: "The core: cortex-a53, cortex-a55, cortex-a72, cortex-a76 (the clock and bandwidth from a board profile with that core).")
    var cpu: String?

    @Option(help: "A board profile (boards/*.conf with clock_ghz): rpi4, rpi5, rk3588.")
    var board: String?

    @Option(parsing: .unconditional, help: "Threads (default: the board profile's, else 1).")
    var threads: Int?

    @Option(name: .customLong("clock-ghz"), parsing: .unconditional, help: "The core's clock in GHz, over the profile's.")
    var clockGHz: Double?

    @Option(name: .customLong("bandwidth-gbs"), parsing: .unconditional, help: "Memory bandwidth in GB/s for the per-layer lower bound, over the profile's.")
    var bandwidthGBs: Double?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            let target = try EstimateTarget.resolve(board: board, cpu: cpu, clockGHz: clockGHz, bandwidthGBs: bandwidthGBs, threads: threads)
            var o = EstimateOptions(modelPath: model, target: target)
            o.json = json
            try estimateCommand(o)
        }
    }
}
