// Energy per frame for `swiftlet bench` (issue #15): pluggable sources behind one monitor.
//
// `EnergyMonitor.open` turns `--energy SOURCE` (or the board profile's `power_sensors`) into one
// source; `measureIdle` takes the idle baseline, `begin` and `end` bracket the benchmark window and
// `end` returns an `EnergyReport`. The sources:
//
// - `rapl[:PATH]` — Intel/AMD RAPL through powercap: `/sys/class/powercap/intel-rapl:N/energy_uj`, a
//   µJ counter that wraps at `max_energy_range_uj`. Only the top-level zones (`intel-rapl:0`, `:1`, one
//   per package) are summed: the subzones (`intel-rapl:0:0` core, `:0:1` uncore, dram) are parts of
//   their package and would be counted twice; a `psys` (platform) zone, which includes the packages,
//   is left out when package zones exist. Since Linux 5.10 `energy_uj` is readable by root only
//   (CVE-2020-8694): EACCES leaves the monitor unavailable with the fix in its reason.
// - `hwmon:NAME[:CHANNEL_LABEL]` — the hwmon device whose `name` is NAME (its hwmonN index changes
//   between boots): `powerN_input` (µW), else `energyN_input` (µJ counter), else `inN_input` (mV) ×
//   `currN_input` (mA) of one channel. An INA3221 (Jetson) measures three rails, labelled in
//   `inN_label` (VDD_IN, VDD_CPU_GPU_CV, VDD_SOC): VDD_IN is the module's input and the other two are
//   branches of it, so the total is VDD_IN (or the channel the spec names) — summing the three would
//   count the CPU/GPU and SoC power twice.
// - `pmic` — Raspberry Pi 5: `vcgencmd pmic_read_adc` (the command from SWIFTLET_VCGENCMD), V × A of
//   every rail that has both a `_V` and an `_A` line, summed. This is the PMIC's output: it misses the
//   PMIC's own conversion losses and everything fed from the 5 V input directly (USB devices, the fan,
//   HDMI; `EXT5V_V` has no current reading), so it is a lower bound of the board's input power, and
//   no correction is applied. Sampled at 4 Hz by default (one call takes 10 ms or more).
// - `meter:FILE.csv` — an external USB meter's log (UM25C, FNB58 …), read after the run: a header
//   row, a timestamp column in Unix seconds and a power column (W) or voltage (V) and current (A)
//   columns. The window is recorded on CLOCK_REALTIME and shifted by `--meter-offset` (the meter's
//   clock minus the host's) before integrating.
// - `model` — idle W + core W × active cores from the board profile: an estimate, always labelled so.
// - `auto` — the board profile's `power_sensors`, else RAPL, then any hwmon power or energy input,
//   then the power model; else unavailable with the reason each was skipped. `none` turns it off.
//
// Integration: counters — the difference of the first and last reading of the window; sampled
// power — the trapezoid rule over the samples (`begin` and `end` each take one, the sampler thread the
// rest). A source that cannot be read during the window (file gone, command failing) or a counter
// that does not change over more than 0.5 s throws, naming the source: a dead sensor never reads as
// 0 J. A power reading that stays exactly the same (10 or more readings over more than 2 s) only adds
// a note: a steady load on a coarse sensor can do that. Counters are also read by the sampler (10 Hz),
// which catches more than one wrap per window and gives the power-over-time plot; with the sampler
// off (`rateHz` 0) a counter is read at the window's edges only, so a window longer than one wrap
// period (max_energy_range_uj at the mean power: tens of minutes on a desktop package) is wrong.
//
// Uncertainty (`EnergyReport.uncertaintyMJ`, per frame; random and resolution error, not the
// sensor's calibration):
// - counters: u = 2 × resolution × zones + P̄ × update period (RAPL: 61 µJ, the Intel energy unit, and
//   1 ms; hwmon energy: 1 µJ and its `update_interval`, default 100 ms): the counter's quantization at
//   each end, and the energy of one update the window's edges may miss;
// - sampled power: u = (s / √n) × T + r × T, the standard error of the mean power over the n samples
//   times the window T, plus the reading's resolution r (hwmon power: 1 mW; V × I: 1 mV × Ī + V̄ × 1 mA;
//   PMIC: 0) times T; a meter adds P̄ × its mean sample interval for the window's edges;
// - the power model: none (an estimate has no measured error; the figure is marked as an estimate).

import CSwiftletSys
import SwiftletCore

/// A board profile's power fields (`boards/*.conf`: `power_sensors`, `power_idle_w`, `power_core_w`).
public struct BoardPower: Equatable, Sendable {
    /// An `--energy` spelling, `none`, or `auto` (the host default: probe the machine).
    public var sensors: String
    /// The power model: watts at idle, and added per busy core.
    public var idleWatts: Double?
    public var coreWatts: Double?

    public init(sensors: String = "auto", idleWatts: Double? = nil, coreWatts: Double? = nil) {
        self.sensors = sensors
        self.idleWatts = idleWatts
        self.coreWatts = coreWatts
    }
}

/// How `bench` measures energy (`--energy`, `--idle-seconds`, `--idle-watts`, `--meter-offset`, `--energy-rate`).
public struct EnergyOptions: Equatable, Sendable {
    /// `--energy SOURCE`; nil is `auto`.
    public var source: String?
    /// Length of the idle baseline in seconds.
    public var idleSeconds: Double
    /// `--idle-watts`: the idle power given instead of measured.
    public var idleWatts: Double?
    /// `--meter-offset`: an external meter's clock minus this host's clock, in seconds.
    public var meterOffsetSeconds: Double
    /// Samples per second of the sampler thread; nil: the source's default; 0: no thread (only
    /// `begin`, `end` and explicit `sample()` calls read the source — deterministic, for tests).
    public var rateHz: Double?
    /// The `vcgencmd` command for `pmic` (environment SWIFTLET_VCGENCMD, else `vcgencmd`).
    public var vcgencmd: String
    /// The prefix of /sys paths (`measurementRoot()`).
    public var root: String

    public init(source: String? = nil, idleSeconds: Double = 2, idleWatts: Double? = nil, meterOffsetSeconds: Double = 0,
                rateHz: Double? = nil, vcgencmd: String? = nil, root: String = measurementRoot()) {
        self.source = source
        self.idleSeconds = idleSeconds
        self.idleWatts = idleWatts
        self.meterOffsetSeconds = meterOffsetSeconds
        self.rateHz = rateHz
        if let vcgencmd {
            self.vcgencmd = vcgencmd
        } else if let p = getenv("SWIFTLET_VCGENCMD") {
            self.vcgencmd = String(cString: p)
        } else {
            self.vcgencmd = "vcgencmd"
        }
        self.root = root
    }
}

#if !SWIFTLET_NO_ENERGY
/// An `--energy` value.
public enum EnergySpec: Equatable, Sendable {
    case auto, none, pmic, model
    case rapl(path: String?)
    case hwmon(name: String, channel: String?)
    case meter(path: String)

    /// The accepted spellings, for messages.
    public static let spellings = "auto, none, rapl[:PATH], hwmon:NAME[:CHANNEL_LABEL], pmic, meter:FILE.csv, model"

    /// Parses an `--energy` value; anything else is a usage error listing the sources.
    public static func parse(_ text: String) throws(SwiftletError) -> EnergySpec {
        let b = Array(text.utf8)
        let colon = b.firstIndex(of: UInt8(ascii: ":"))
        let head = String(decoding: b[0..<(colon ?? b.count)], as: UTF8.self)
        let rest: String? = colon.map { String(decoding: b[($0 + 1)...], as: UTF8.self) }
        func bad(_ why: String) -> SwiftletError {
            .usage(detail: "--energy '\(text)': \(why); use one of \(spellings)")
        }
        // Compared as bytes (`same`): a switch over Strings would pull the Unicode tables into the board binary.
        if head.same("auto") || head.same("none") || head.same("pmic") || head.same("model") {
            if rest != nil { throw bad("'\(head)' takes no argument") }
            if head.same("auto") { return .auto }
            if head.same("none") { return .none }
            if head.same("pmic") { return .pmic }
            return .model
        }
        if head.same("rapl") {
            if let rest, rest.isEmpty { throw bad("'rapl:' needs a path after the colon") }
            return .rapl(path: rest)
        }
        if head.same("hwmon") {
            guard let rest, !rest.isEmpty else { throw bad("'hwmon' needs the device's driver name, e.g. hwmon:ina3221") }
            let r = Array(rest.utf8)
            if let c = r.firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: r[0..<c], as: UTF8.self), label = String(decoding: r[(c + 1)...], as: UTF8.self)
                if name.isEmpty || label.isEmpty { throw bad("'hwmon:NAME:LABEL' needs both a name and a channel label") }
                return .hwmon(name: name, channel: label)
            }
            return .hwmon(name: rest, channel: nil)
        }
        if head.same("meter") {
            guard let rest, !rest.isEmpty else { throw bad("'meter' needs the CSV file, e.g. meter:um25c.csv") }
            return .meter(path: rest)
        }
        throw bad("unknown energy source")
    }
}

/// Power at one moment of the window, `tNs` after its start.
public struct PowerSample: Equatable, Sendable {
    public var tNs: UInt64
    public var watts: Double
    public init(tNs: UInt64, watts: Double) {
        self.tNs = tNs
        self.watts = watts
    }
}

/// What `EnergyMonitor.end` found.
public struct EnergyReport: Equatable, Sendable {
    /// The source, e.g. `rapl intel-rapl:0 (package-0)` or `estimate (power model: …)`.
    public var method: String = ""
    /// False for the power model's estimate.
    public var measured: Bool = false
    /// False when no source could be used (`reason` says why).
    public var available: Bool = false
    public var reason: String = ""
    /// Readings inside the window (counter reads, power samples, meter rows).
    public var samples: Int = 0
    /// The sampler's rate, or nil (no thread: counters read at the edges, a meter, the model).
    public var rateHz: Double? = nil
    public var windowSeconds: Double = 0
    public var joules: Double = 0
    public var meanWatts: Double = 0
    public var frames: Int = 0
    public var idleWatts: Double? = nil
    /// How the idle power was obtained: `measured over 2.0 s`, `given (--idle-watts)`, `power model`.
    public var idleSource: String = ""
    public var mJPerFrame: Double = 0
    public var mJPerFrameAboveIdle: Double? = nil
    /// Per frame (see the formulas at the top of Energy.swift); nil for an estimate.
    public var uncertaintyMJ: Double? = nil
    /// Power over the window, for a plot.
    public var power: [PowerSample] = []
    /// What the figure includes or misses (e.g. the PMIC's unmeasured 5 V branch).
    public var notes: [String] = []

    public init() {}

    /// An unavailable report.
    public static func unavailable(_ reason: String) -> EnergyReport {
        var r = EnergyReport()
        r.reason = reason
        r.method = "unavailable"
        return r
    }

    /// The report as one JSON object; `power` as `[[seconds, watts], …]`.
    public func json() -> String {
        var t = TextBuffer(capacity: 512)
        t.append("{\"available\": ")
        t.append(available ? "true" : "false")
        t.append(", \"method\": ")
        t.append(json: method)
        t.append(", \"measured\": ")
        t.append(measured ? "true" : "false")
        t.append(", \"reason\": ")
        if available { t.append("null") } else { t.append(json: reason) }
        if available {
            t.append(", \"frames\": ")
            t.append(frames)
            t.append(", \"window_s\": ")
            t.append(json: windowSeconds)
            t.append(", \"joules\": ")
            t.append(json: joules)
            t.append(", \"mean_w\": ")
            t.append(json: meanWatts)
            t.append(", \"mj_per_frame\": ")
            t.append(json: mJPerFrame)
            t.append(", \"mj_per_frame_above_idle\": ")
            if let a = mJPerFrameAboveIdle { t.append(json: a) } else { t.append("null") }
            t.append(", \"uncertainty_mj\": ")
            if let u = uncertaintyMJ { t.append(json: u) } else { t.append("null") }
            t.append(", \"idle_w\": ")
            if let w = idleWatts { t.append(json: w) } else { t.append("null") }
            t.append(", \"idle_source\": ")
            t.append(json: idleSource)
            t.append(", \"samples\": ")
            t.append(samples)
            t.append(", \"rate_hz\": ")
            if let r = rateHz { t.append(json: r) } else { t.append("null") }
            t.append(", \"power\": [")
            for (i, p) in power.enumerated() {
                if i > 0 { t.append(", ") }
                t.append("[")
                t.append(json: Double(p.tNs) / 1e9)
                t.append(", ")
                t.append(json: p.watts)
                t.append("]")
            }
            t.append("]")
        }
        t.append(", \"notes\": ")
        t.append(jsonList(notes))
        t.append("}")
        return t.string
    }

    /// The report as text lines (no label; the caller indents them).
    public var lines: [String] {
        if !available { return ["unavailable: \(reason)"] }
        var out: [String] = []
        var first = "\(formatGeneral(mJPerFrame, 4))"
        if let u = uncertaintyMJ { first += " ± \(formatGeneral(u, 2))" }
        first += " mJ/frame"
        if let a = mJPerFrameAboveIdle { first += ", \(formatGeneral(a, 4)) above idle" }
        first += measured ? " (measured: \(method))" : " (\(method))"
        out.append(first)
        var second = "mean \(formatFixed(meanWatts, 2)) W over \(formatFixed(windowSeconds, 2)) s"
        if samples > 0 { second += ", \(samples) readings" }
        if let r = rateHz { second += " at \(formatGeneral(r, 3)) Hz" }
        if let w = idleWatts { second += "; idle \(formatFixed(w, 2)) W \(idleSource)" }
        out.append(second)
        for n in notes { out.append(n) }
        return out
    }
}
#endif
