import SwiftletCore

/// What `bench` reads around its timed runs: the machine's state before and after (with warnings)
/// and the energy (SystemState.swift, Energy.swift). A board profile with `energy = no`
/// (`-D SWIFTLET_NO_ENERGY`: rpi4, for its size) leaves both out; bench then says so.
struct BenchSurroundings {
    #if !SWIFTLET_NO_ENERGY
    let cpus: [Int]
    let cpuCount: Int
    let before: SystemState
    let monitor: EnergyMonitor
    var after = SystemState()
    var power = EnergyReport.unavailable("not measured")
    var warnings: [String] = []

    /// Reads the state and takes the idle baseline (before the model loads).
    init(_ o: BenchOptions) throws(SwiftletError) {
        cpuCount = sys_cpuCount()
        var cpus = o.affinity
        if cpus.isEmpty { for c in 0..<max(cpuCount, 1) { cpus.append(c) } }
        self.cpus = cpus
        before = SystemState.read(cpus: cpus)
        monitor = try EnergyMonitor.open(o.energy, board: o.board, cores: cpuCount)
        try monitor.measureIdle()
    }

    func begin() throws(SwiftletError) { try monitor.begin() }

    mutating func end(frames: Int, threads: Int) throws(SwiftletError) {
        power = try monitor.end(frames: frames, activeCores: threads)
        after = SystemState.read(cpus: cpus)
        warnings = SystemState.warnings(before: before, after: after, usedCores: cpus, totalCores: cpuCount)
    }

    /// `"energy": {…}, "system": {…}`.
    var json: String {
        "\"energy\": \(power.json()), \"system\": {\"before\": \(before.json()), \"after\": \(after.json()), \"warnings\": \(jsonList(warnings))}"
    }

    /// The energy, state and warning lines of bench's text output.
    var textLines: [String] {
        var out: [String] = []
        for (i, line) in power.lines.enumerated() { out.append((i == 0 ? "energy       " : "             ") + line) }
        out.append("system       before: \(before.text())")
        out.append("             after:  \(after.text(since: before))")
        for w in warnings { out.append("warning      \(w)") }
        return out
    }
    #else
    static let absent = "not in this build (its board profile sets energy = no, for size): use the rpi5 or x86-64 build, or log an external meter and integrate it yourself"

    init(_ o: BenchOptions) throws(SwiftletError) {}
    func begin() throws(SwiftletError) {}
    mutating func end(frames: Int, threads: Int) throws(SwiftletError) {}
    var json: String { "\"energy\": {\"available\": false, \"reason\": \(jsonString(BenchSurroundings.absent))}, \"system\": null" }
    var textLines: [String] {
        ["energy       \(BenchSurroundings.absent)",
         "system       the machine's state (governor, clocks, temperatures, throttling) is \(BenchSurroundings.absent)"]
    }
    #endif
}
