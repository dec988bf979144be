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

// MARK: - Sources

/// A sensor file read during the measurement; a failure (the sensor or its driver went away) is an
/// error naming `what` and the errno, never a zero.
func readSensorText(_ path: String, _ what: String) throws(SwiftletError) -> String {
    var e: Int32 = 0
    guard let text = readSysText(path, error: &e) else {
        throw .invalidInput(path: path, detail: "\(what) could not be read during the measurement: \(Errno.describe(e)) (\(Errno.name(e)))",
                            hint: "the sensor or its driver went away; the energy figure is void, run again")
    }
    return text
}

/// One energy counter file (µJ), unwrapped across reads.
final class EnergyCounter {
    let path: String
    /// `max_energy_range_uj`: the counter wraps to 0 after it.
    let range: UInt64?
    var last: UInt64 = 0
    var total: UInt64 = 0
    var started = false
    var totalAtBegin: UInt64 = 0

    init(path: String, range: UInt64?) {
        self.path = path
        self.range = range
    }

    /// Reads the counter and adds what it advanced since the last read.
    func read(source: String) throws(SwiftletError) -> UInt64 {
        let text = try readSensorText(path, "\(source): the energy counter")
        guard let v = sysUInt(text) else {
            throw .invalidInput(path: path, detail: "\(source): the energy counter reads '\(sysTrim(text))', not a number of µJ", hint: "check the sensor's driver")
        }
        if started {
            if v >= last {
                total &+= v - last
            } else if let range, range > 0, last <= range {
                total &+= (range - last) &+ v  // wrapped past max_energy_range_uj
            } else {
                throw .invalidInput(path: path, detail: "\(source): the energy counter went back from \(last) to \(v) µJ and its wrap range is unknown",
                                    hint: "the sensor was reset; run again")
            }
        }
        started = true
        last = v
        return total
    }
}

/// How a source is read.
enum EnergyProbe {
    /// Counters in µJ, summed; `resolution` J per read, `update` s between the hardware's updates.
    case counters([EnergyCounter], resolution: Double, update: Double)
    /// A power reading in µW.
    case power(path: String)
    /// A voltage in mV and a current in mA.
    case voltsAmps(volts: String, amps: String)
    case pmic(command: String)
    case meter(path: String)
    case model(idle: Double, core: Double)
    case unavailable
}

/// A usable source, or why not.
struct EnergySetup {
    var probe: EnergyProbe
    var method: String
    var notes: [String] = []
    var reason: String = ""
    var rate: Double = 0

    static func failed(_ reason: String) -> EnergySetup {
        EnergySetup(probe: .unavailable, method: "unavailable", reason: reason)
    }

    var ok: Bool {
        if case .unavailable = probe { return false }
        return true
    }
}

/// The RAPL zones under `root` (`rapl` alone: every top-level package zone; `rapl:PATH`: the zone
/// folder or `energy_uj` file PATH).
func raplSetup(path: String?, root: String) -> EnergySetup {
    var zones: [(dir: String, label: String)] = []
    var notes: [String] = []
    if let path {
        var dir = path
        if dir.endsWith("/energy_uj") { dir = dir.droppingLastBytes(10) }
        let name = readSysText("\(root)\(dir)/name").map(sysTrim) ?? ""
        zones.append((root + dir, name.isEmpty ? dir : "\(lastComponent(dir)) (\(name))"))
    } else {
        let base = "\(root)/sys/class/powercap"
        var packages: [(String, String)] = [], others: [(String, String, String)] = []
        for (_, entry) in sysNumberedEntries(base, prefix: "intel-rapl:") {
            let name = readSysText("\(base)/\(entry)/name").map(sysTrim) ?? ""
            if name.startsWith("package") { packages.append(("\(base)/\(entry)", "\(entry) (\(name))")) } else { others.append(("\(base)/\(entry)", "\(entry) (\(name))", name)) }
        }
        if packages.isEmpty {
            for o in others { zones.append((o.0, o.1)) }
        } else {
            for p in packages { zones.append(p) }
            for o in others where o.2.same("psys") {
                notes.append("RAPL zone \(lastComponent(o.0)) (psys, the whole platform) not added: it includes the package zones")
            }
        }
        if zones.isEmpty { return .failed("RAPL: no /sys/class/powercap/intel-rapl:N zones (not an Intel/AMD machine, a VM, or the intel_rapl driver is not loaded)") }
    }
    var counters: [EnergyCounter] = []
    for z in zones {
        let file = z.dir + "/energy_uj"
        var e: Int32 = 0
        guard let text = readSysText(file, error: &e) else {
            let shown = file.droppingFirstBytes(root.utf8.count)
            if e == EACCES || e == EPERM {
                return .failed("RAPL: \(shown) is readable by root only (Linux 5.10 and later): \(Errno.describe(e)) (\(Errno.name(e))); run with sudo, or allow reading it: 'sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj' (until reboot) or a udev rule that does the same")
            }
            return .failed("RAPL: cannot read \(shown): \(Errno.describe(e)) (\(Errno.name(e)))")
        }
        if sysUInt(text) == nil { return .failed("RAPL: \(file.droppingFirstBytes(root.utf8.count)) reads '\(sysTrim(text))', not a number of µJ") }
        let range = readSysText(z.dir + "/max_energy_range_uj").flatMap(sysUInt)
        counters.append(EnergyCounter(path: file, range: range))
    }
    var labels: [String] = []
    for z in zones { labels.append(z.label) }
    return EnergySetup(probe: .counters(counters, resolution: 61e-6, update: 0.001), method: "rapl \(labels.joined(separator: " + "))",
                       notes: notes, rate: 10)
}

func lastComponent(_ path: String) -> String {
    let b = Array(path.utf8)
    guard let s = b.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(decoding: b[(s + 1)...], as: UTF8.self)
}

/// The hwmon devices under `root`: (folder, `name`).
func hwmonDevices(root: String) -> [(dir: String, name: String)] {
    let base = "\(root)/sys/class/hwmon"
    var out: [(dir: String, name: String)] = []
    for (_, entry) in sysNumberedEntries(base, prefix: "hwmon") {
        let name = readSysText("\(base)/\(entry)/name").map(sysTrim) ?? ""
        out.append(("\(base)/\(entry)", name))
    }
    return out
}

/// Channel numbers N of files `<kind>N_input` in `dir`, ascending.
func hwmonChannels(_ names: [String], _ kind: String) -> [Int] {
    var out: [Int] = []
    for n in names where n.endsWith("_input") {
        if let i = sysIndex(n.droppingLastBytes(6), after: kind) { out.append(i) }
    }
    sortIndices(&out) { $0 < $1 }
    return out
}

/// A hwmon device as a source: a channel labelled `channel`, else power, energy, or the V × I pair of
/// the input rail (VDD_IN), or the only pair. `anyPower`: only power and energy inputs (auto).
func hwmonSetup(dir: String, name: String, channel: String?, anyPower: Bool = false) -> EnergySetup {
    guard let files = try? sys_listDirectory(dir) else { return .failed("hwmon \(name): cannot list \(dir)") }
    let power = hwmonChannels(files, "power"), energy = hwmonChannels(files, "energy")
    let volts = hwmonChannels(files, "in"), amps = hwmonChannels(files, "curr")
    func label(_ kind: String, _ n: Int) -> String? {
        guard let t = readSysText("\(dir)/\(kind)\(n)_label") else { return nil }
        let l = sysTrim(t)
        return l.isEmpty ? nil : l
    }
    var pairs: [Int] = []
    for n in volts where amps.contains(n) { pairs.append(n) }
    func pairLabel(_ n: Int) -> String? { label("in", n) ?? label("curr", n) }
    func powerSetup(_ n: Int) -> EnergySetup {
        let l = label("power", n)
        return EnergySetup(probe: .power(path: "\(dir)/power\(n)_input"), method: "hwmon \(name) \(l.map { "\($0) " } ?? "")(power\(n))", rate: 10)
    }
    func energySetup(_ n: Int) -> EnergySetup {
        let l = label("energy", n)
        let ms = readSysText("\(dir)/update_interval").flatMap(sysUInt)
        let update = ms.map { Double($0) / 1000 } ?? 0.1
        return EnergySetup(probe: .counters([EnergyCounter(path: "\(dir)/energy\(n)_input", range: nil)], resolution: 1e-6, update: update),
                           method: "hwmon \(name) \(l.map { "\($0) " } ?? "")(energy\(n))", rate: 10)
    }
    func pairSetup(_ n: Int) -> EnergySetup {
        var s = EnergySetup(probe: .voltsAmps(volts: "\(dir)/in\(n)_input", amps: "\(dir)/curr\(n)_input"),
                            method: "hwmon \(name) \(pairLabel(n).map { "\($0) " } ?? "")(in\(n) × curr\(n))", rate: 10)
        var others: [String] = []
        for m in pairs where m != n { others.append(pairLabel(m) ?? "in\(m)") }
        if !others.isEmpty {
            s.notes.append("hwmon \(name): the total is the \(pairLabel(n) ?? "in\(n)") rail only; \(others.joined(separator: ", ")) are not added (on an INA3221 they are branches of the input rail, and summing would count their power twice)")
        }
        return s
    }
    if let channel {
        for n in power where label("power", n)?.same(channel) == true { return powerSetup(n) }
        for n in energy where label("energy", n)?.same(channel) == true { return energySetup(n) }
        for n in pairs where pairLabel(n)?.same(channel) == true { return pairSetup(n) }
        var known: [String] = []
        for n in pairs { if let l = pairLabel(n) { known.append(l) } }
        for n in power { if let l = label("power", n) { known.append(l) } }
        return .failed("hwmon \(name): no channel labelled '\(channel)'\(known.isEmpty ? " (its channels have no labels)" : "; its channels: \(known.joined(separator: ", "))")")
    }
    if let n = power.first { return powerSetup(n) }
    if let n = energy.first { return energySetup(n) }
    if anyPower { return .failed("hwmon \(name): no power or energy input") }
    if let n = pairs.first(where: { pairLabel($0)?.same("VDD_IN") == true }) { return pairSetup(n) }
    if pairs.count == 1 { return pairSetup(pairs[0]) }
    if pairs.isEmpty { return .failed("hwmon \(name): no power, energy, or matching voltage and current inputs in \(dir)") }
    var known: [String] = []
    for n in pairs { known.append(pairLabel(n) ?? "in\(n)") }
    return .failed("hwmon \(name): \(pairs.count) channels (\(known.joined(separator: ", "))) and none labelled VDD_IN; name the board's input rail, e.g. --energy hwmon:\(name):\(known[0])")
}

/// The result of parsing `vcgencmd pmic_read_adc`.
public struct PMICReading: Equatable, Sendable {
    /// Σ V × A over the rails with both readings.
    public var watts: Double
    /// Rails with both a voltage and a current.
    public var rails: [String]
    /// Rails with a voltage only (EXT5V, HDMI, …): their power is not in `watts`.
    public var voltageOnly: [String]
}

/// Parses `vcgencmd pmic_read_adc`: lines `NAME_A current(N)=0.0039A` and `NAME_V volt(N)=3.71V`,
/// paired by NAME.
public func parsePMICOutput(_ text: String) -> PMICReading {
    var amps: [(String, Double)] = [], volts: [(String, Double)] = []
    for line in sysLines(text) {
        let parts = sysSplit(line, UInt8(ascii: "="))
        guard parts.count == 2, let name = sysFields(parts[0]).first else { continue }
        var value = parts[1]
        if value.endsWith("A") || value.endsWith("V") { value = value.droppingLastBytes(1) }
        guard let v = sysDouble(value) else { continue }
        if name.endsWith("_A") { amps.append((name.droppingLastBytes(2), v)) } else if name.endsWith("_V") { volts.append((name.droppingLastBytes(2), v)) }
    }
    var r = PMICReading(watts: 0, rails: [], voltageOnly: [])
    for (rail, v) in volts {
        if let a = amps.first(where: { $0.0.same(rail) }) {
            r.watts += v * a.1
            r.rails.append(rail)
        } else {
            r.voltageOnly.append(rail)
        }
    }
    return r
}

/// Runs `command pmic_read_adc` and parses it.
func readPMIC(_ command: String) throws(SwiftletError) -> PMICReading {
    let full = "\(command) pmic_read_adc 2>/dev/null"
    var buf = [CChar](repeating: 0, count: 16384)
    var status: Int32 = 0
    let n = full.withCString { c in buf.withUnsafeMutableBufferPointer { swl_run_capture(c, $0.baseAddress!, $0.count, &status) } }
    if n < 0 { throw .system(call: "popen", path: full, errno: swl_errno()) }
    if status != 0 {
        throw .invalidInput(path: command, detail: "pmic: '\(command) pmic_read_adc' failed (wait status \(status))",
                            hint: "pmic needs a Raspberry Pi 5 with vcgencmd (firmware 2023 or later); set SWIFTLET_VCGENCMD to its path")
    }
    var bytes: [UInt8] = []
    for i in 0..<n { bytes.append(UInt8(bitPattern: buf[i])) }
    let r = parsePMICOutput(String(decoding: bytes, as: UTF8.self))
    if r.rails.isEmpty {
        throw .invalidInput(path: command, detail: "pmic: '\(command) pmic_read_adc' printed no rail with both a voltage and a current",
                            hint: "pmic needs a Raspberry Pi 5 (earlier boards have no PMIC ADC)")
    }
    return r
}

// MARK: - Meter CSV

/// Energy from an external meter's log over a window of its own clock.
public struct MeterIntegration: Equatable, Sendable {
    public var joules: Double
    /// Rows inside the window.
    public var samples: Int
    public var meanWatts: Double
    /// Standard error of the mean power of the rows inside the window.
    public var semWatts: Double
    /// Mean time between rows inside the window.
    public var meanIntervalSeconds: Double
    /// The rows inside the window, `tNs` after its start.
    public var power: [PowerSample]
}

/// Integrates the power in meter log `text` (`path` for messages) over [`from`, `to`] seconds of
/// the meter's clock: a header row names the columns — a timestamp (`time`, `timestamp`, `unix`, `t`;
/// Unix seconds, fractions allowed), and `power`/`watts`/`W`, or `voltage`/`V` and `current`/`A`;
/// rows that do not parse are skipped. The power is linear between rows and held constant before the
/// first and after the last; at least two rows must fall inside the window.
public func integrateMeterLog(_ text: String, path: String, from: Double, to: Double) throws(SwiftletError) -> MeterIntegration {
    let lines = sysLines(text)
    var header: [String]? = nil
    var rows: [(t: Double, w: Double)] = []
    var tCol = -1, pCol = -1, vCol = -1, aCol = -1
    let sep: UInt8 = lines.contains(where: { sysContains($0, ",") }) ? UInt8(ascii: ",") : UInt8(ascii: ";")
    for line in lines where !sysTrim(line).isEmpty {
        let f = sysSplit(line, sep)
        if header == nil {
            var names: [String] = []
            for x in f { names.append(sysLower(x)) }
            header = names
            for (i, h) in names.enumerated() {
                if tCol < 0 && (sysContains(h, "time") || sysContains(h, "unix") || h.same("t") || h.same("ts") || h.same("epoch")) { tCol = i }
                else if pCol < 0 && (sysContains(h, "power") || sysContains(h, "watt") || h.same("w") || h.same("p") || h.endsWith("(w)") || h.endsWith("_w") || h.endsWith("[w]")) { pCol = i }
                else if vCol < 0 && (sysContains(h, "volt") || h.same("v") || h.same("u") || h.endsWith("(v)") || h.endsWith("_v") || h.endsWith("[v]")) { vCol = i }
                else if aCol < 0 && (sysContains(h, "curr") || sysContains(h, "amp") || h.same("a") || h.same("i") || h.endsWith("(a)") || h.endsWith("_a") || h.endsWith("[a]")) { aCol = i }
            }
            if tCol < 0 || (pCol < 0 && (vCol < 0 || aCol < 0)) {
                throw .invalidInput(path: path, detail: "the meter log's header '\(sysTrim(line))' lacks a timestamp column and a power column (or voltage and current columns)",
                                    hint: "export the log as CSV with a header such as 'timestamp,voltage,current' (timestamps in Unix seconds)")
            }
            continue
        }
        guard tCol < f.count, let t = sysDouble(f[tCol]) else { continue }
        var w: Double
        if pCol >= 0 {
            guard pCol < f.count, let p = sysDouble(f[pCol]) else { continue }
            w = p
        } else {
            guard vCol < f.count, aCol < f.count, let v = sysDouble(f[vCol]), let a = sysDouble(f[aCol]) else { continue }
            w = v * a
        }
        rows.append((t, w))
    }
    if header == nil { throw .invalidInput(path: path, detail: "the meter log is empty", hint: "check that the meter logged during the run") }
    for i in 1..<max(1, rows.count) where rows[i].t < rows[i - 1].t {
        throw .invalidInput(path: path, detail: "the meter log's timestamps go back at row \(i + 2) (\(formatFixed(rows[i - 1].t, 3)) then \(formatFixed(rows[i].t, 3)))",
                            hint: "give the log of one recording, in time order")
    }
    var inside: [Int] = []
    for (i, r) in rows.enumerated() where r.t >= from && r.t <= to { inside.append(i) }
    if inside.count < 2 {
        let range = rows.isEmpty ? "no data rows" : "rows from \(formatFixed(rows[0].t, 3)) to \(formatFixed(rows[rows.count - 1].t, 3))"
        throw .invalidInput(path: path, detail: "\(inside.count) meter row\(inside.count == 1 ? "" : "s") inside the window \(formatFixed(from, 3)) to \(formatFixed(to, 3)) (meter clock, --meter-offset applied); the file has \(range)",
                            hint: "check --meter-offset (the meter's clock minus this host's) and that the meter logged during the run, at 2 or more rows per window")
    }
    func powerAt(_ t: Double) -> Double {
        if t <= rows[0].t { return rows[0].w }
        if t >= rows[rows.count - 1].t { return rows[rows.count - 1].w }
        var k = 1
        while rows[k].t < t { k += 1 }
        let a = rows[k - 1], b = rows[k]
        return b.t == a.t ? b.w : a.w + (b.w - a.w) * (t - a.t) / (b.t - a.t)
    }
    // Breakpoints: the window's edges and every row inside it.
    var points: [(t: Double, w: Double)] = [(from, powerAt(from))]
    for i in inside where rows[i].t > from && rows[i].t < to { points.append(rows[i]) }
    points.append((to, powerAt(to)))
    var joules = 0.0
    for k in 1..<points.count { joules += (points[k].w + points[k - 1].w) / 2 * (points[k].t - points[k - 1].t) }
    var sum = 0.0, sq = 0.0
    var power: [PowerSample] = []
    for i in inside {
        sum += rows[i].w
        power.append(PowerSample(tNs: UInt64((rows[i].t - from) * 1e9), watts: rows[i].w))
    }
    let n = Double(inside.count), mean = sum / n
    for i in inside { sq += (rows[i].w - mean) * (rows[i].w - mean) }
    let sem = (sq / (n - 1)).squareRoot() / n.squareRoot()
    let interval = (rows[inside[inside.count - 1]].t - rows[inside[0]].t) / (n - 1)
    return MeterIntegration(joules: joules, samples: inside.count, meanWatts: joules / max(to - from, 1e-9), semWatts: sem,
                            meanIntervalSeconds: interval, power: power)
}

// MARK: - The monitor

/// Measures the energy of a benchmark window with one source (see the top of Energy.swift).
public final class EnergyMonitor {
    /// The source as the report names it.
    public let method: String
    public let available: Bool
    /// Why no source could be used (when `available` is false).
    public let reason: String
    /// The sampler thread's rate (0: none).
    public let rateHz: Double
    let probe: EnergyProbe
    let options: EnergyOptions
    var notes: [String]
    var cores = 0

    // The window (monotonic ns) and its samples: (time, J for counters or W for power).
    var beginNs: UInt64 = 0
    var beginRealNs: UInt64 = 0
    var samples: [(t: UInt64, v: Double)] = []
    var failure: SwiftletError? = nil
    // The idle baseline.
    var idleWatts: Double? = nil
    var idleSource = ""
    var idleRealWindow: (UInt64, UInt64)? = nil
    var idleSeconds = 0.0
    var idleStopped = false

    // The sampler thread.
    private let lock: UnsafeMutablePointer<swl_monitor>
    private var thread = swl_thread()
    private var running = false
    private var stopping = false

    init(setup: EnergySetup, options: EnergyOptions) throws(SwiftletError) {
        probe = setup.probe
        method = setup.method
        reason = setup.reason
        notes = setup.notes
        available = setup.ok
        self.options = options
        switch setup.probe {
        case .counters, .power, .voltsAmps, .pmic: rateHz = options.rateHz ?? setup.rate
        default: rateHz = 0
        }
        lock = UnsafeMutablePointer<swl_monitor>.allocate(capacity: 1)
        let e = swl_monitor_init(lock)
        if e != 0 {
            lock.deallocate()
            throw .system(call: "pthread_cond_init", path: "the energy sampler", errno: e)
        }
        if let w = options.idleWatts {
            idleWatts = w
            idleSource = "given (--idle-watts)"
        } else if case .model(let idle, _) = setup.probe {
            idleWatts = idle
            idleSource = "from the power model"
        }
    }

    deinit {
        stopSampler()
        swl_monitor_destroy(lock)
        lock.deallocate()
    }

    /// Opens the source `o.source` names (nil: `auto`), with the board profile's `board` sensors and
    /// power model, on a machine of `cores` CPUs (the power model counts at most that many active). A bad spelling is a usage error listing the sources;
    /// a source that cannot be used gives a monitor that is not `available`, whose report says why.
    public static func open(_ o: EnergyOptions, board: BoardPower = BoardPower(), cores: Int) throws(SwiftletError) -> EnergyMonitor {
        let spec = try EnergySpec.parse(o.source ?? "auto")
        if !(o.idleSeconds >= 0) || !o.idleSeconds.isFinite { throw .usage(detail: "--idle-seconds must be 0 or more, not \(formatGeneral(o.idleSeconds))") }
        if let w = o.idleWatts, !(w >= 0) || !w.isFinite { throw .usage(detail: "--idle-watts must be 0 or more, not \(formatGeneral(w))") }
        if let r = o.rateHz, !(r >= 0) || !(r <= 1000) { throw .usage(detail: "--energy-rate must be between 0 and 1000 Hz, not \(formatGeneral(r))") }
        if !o.meterOffsetSeconds.isFinite { throw .usage(detail: "--meter-offset must be a number of seconds") }
        let m = try EnergyMonitor(setup: setup(spec, o, board: board, cores: cores, fromProfile: false), options: o)
        m.cores = cores
        return m
    }

    static func modelSetup(_ board: BoardPower) -> EnergySetup {
        guard let idle = board.idleWatts, let core = board.coreWatts, idle > 0 || core > 0 else {
            return .failed("power model: the board profile's power_idle_w and power_core_w are not set")
        }
        return EnergySetup(probe: .model(idle: idle, core: core), method: "estimate (power model)")
    }

    static func setup(_ spec: EnergySpec, _ o: EnergyOptions, board: BoardPower, cores: Int, fromProfile: Bool) -> EnergySetup {
        switch spec {
        case .none:
            return .failed(fromProfile ? "the board profile lists no power sensor (power_sensors = none)" : "turned off (--energy none)")
        case .model:
            return modelSetup(board)
        case .meter(let path):
            return EnergySetup(probe: .meter(path: path), method: "meter \(path)")
        case .rapl(let path):
            return raplSetup(path: path, root: o.root)
        case .hwmon(let name, let channel):
            var names: [String] = []
            for d in hwmonDevices(root: o.root) {
                if d.name.same(name) { return hwmonSetup(dir: d.dir, name: d.name, channel: channel) }
                names.append(d.name)
            }
            return .failed("hwmon: no device named '\(name)' under /sys/class/hwmon\(names.isEmpty ? " (none at all)" : "; found: \(names.joined(separator: ", "))")")
        case .pmic:
            do throws(SwiftletError) {
                let r = try readPMIC(o.vcgencmd)
                var s = EnergySetup(probe: .pmic(command: o.vcgencmd), method: "pmic (vcgencmd pmic_read_adc, \(r.rails.count) rails)", rate: 4)
                s.notes.append("pmic: the sum of the PMIC's output rails; it misses the PMIC's conversion losses and the 5 V input's direct loads (USB, fan, HDMI\(r.voltageOnly.isEmpty ? "" : "; voltage only: \(r.voltageOnly.joined(separator: ", "))")), so it is below the board's input power")
                return s
            } catch {
                return .failed(error.message)
            }
        case .auto:
            var reasons: [String] = []
            let sensors = sysTrim(board.sensors)
            if !sensors.isEmpty && !sensors.same("auto") {
                if let s = try? EnergySpec.parse(sensors) {
                    if case .auto = s {} else {
                        let r = setup(s, o, board: board, cores: cores, fromProfile: true)
                        if r.ok { return r }
                        reasons.append(r.reason)
                    }
                } else {
                    reasons.append("the board profile's power_sensors '\(sensors)' is not a source (\(EnergySpec.spellings))")
                }
            } else {
                let r = raplSetup(path: nil, root: o.root)
                if r.ok { return r }
                reasons.append(r.reason)
                var found = false
                for d in hwmonDevices(root: o.root) {
                    let h = hwmonSetup(dir: d.dir, name: d.name, channel: nil, anyPower: true)
                    if h.ok { return h }
                    found = true
                }
                reasons.append(found ? "hwmon: no device with a power or energy input" : "hwmon: no devices")
            }
            var m = modelSetup(board)
            if m.ok {
                m.notes.append("no sensor: \(reasons.joined(separator: "; "))")
                return m
            }
            reasons.append(m.reason)
            return .failed(reasons.joined(separator: "; "))
        }
    }

    /// Whether the source is read by sampling (a thread, `sample()`), not after the run.
    var sampled: Bool {
        switch probe {
        case .counters, .power, .voltsAmps, .pmic: return true
        default: return false
        }
    }

    var isCounter: Bool {
        if case .counters = probe { return true }
        return false
    }

    /// One reading: J since the first read (counters) or W (power).
    func readValue() throws(SwiftletError) -> Double {
        switch probe {
        case .counters(let files, _, _):
            var total: UInt64 = 0
            for f in files { total &+= try f.read(source: method) }
            return Double(total) * 1e-6
        case .power(let path):
            return try readNumber(path) * 1e-6
        case .voltsAmps(let v, let a):
            let mv = try readNumber(v), ma = try readNumber(a)
            return mv * ma * 1e-6
        case .pmic(let command):
            return try readPMIC(command).watts
        default:
            return 0
        }
    }

    func readNumber(_ path: String) throws(SwiftletError) -> Double {
        let text = try readSensorText(path, "\(method): the sensor")
        guard let v = sysInt(text) else {
            throw .invalidInput(path: path, detail: "\(method): the sensor reads '\(sysTrim(text))', not a number", hint: "check the sensor's driver")
        }
        return Double(v)
    }

    /// Takes one reading now and adds it to the window. Called by the sampler thread; tests with
    /// `rateHz` 0 call it between `begin` and `end`. A failure is kept and thrown by `end`.
    public func sample() throws(SwiftletError) {
        guard sampled else { return }
        do throws(SwiftletError) {
            let v = try readValue()
            let t = sys_monotonicNanoseconds()
            swl_monitor_lock(lock)
            samples.append((t, v))
            swl_monitor_unlock(lock)
        } catch {
            swl_monitor_lock(lock)
            if failure == nil { failure = error }
            swl_monitor_unlock(lock)
            throw error
        }
    }

    /// Measures the idle power over `idleSeconds` (sleeping), unless it was given (`--idle-watts`),
    /// comes from the power model, or no source is available.
    public func measureIdle() throws(SwiftletError) {
        guard available, idleWatts == nil else { return }
        let seconds = options.idleSeconds
        if seconds <= 0 { return }
        switch probe {
        case .meter:
            let a = swl_realtime_ns()
            sleepSeconds(seconds)
            idleRealWindow = (a, swl_realtime_ns())
            idleSeconds = seconds
        case .model, .unavailable:
            return
        default:
            samples = []
            failure = nil
            try sample()
            if case .counters(let files, _, _) = probe { for f in files { f.totalAtBegin = f.total } }
            let start = sys_monotonicNanoseconds()
            let step = rateHz > 0 ? 1 / rateHz : seconds
            while Double(sys_monotonicNanoseconds() - start) / 1e9 < seconds {
                let left = seconds - Double(sys_monotonicNanoseconds() - start) / 1e9
                sleepSeconds(min(step, max(left, 0.001)))
                try sample()
            }
            let r = try integrateSamples()
            idleWatts = r.joules / r.seconds
            idleSource = "measured over \(formatFixed(r.seconds, 1)) s"
            samples = []
        }
    }

    /// Starts the window: one reading, and the sampler thread for sampled sources.
    public func begin() throws(SwiftletError) {
        stopSampler()
        samples = []
        failure = nil
        beginNs = sys_monotonicNanoseconds()
        beginRealNs = swl_realtime_ns()
        guard available else { return }
        if case .counters(let files, _, _) = probe {
            try sample()
            for f in files { f.totalAtBegin = f.total }
        } else {
            try sample()
        }
        if sampled && rateHz > 0 {
            stopping = false
            let e = swl_thread_start(&thread, { arg in
                Unmanaged<EnergyMonitor>.fromOpaque(arg!).takeUnretainedValue().samplerLoop()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
            if e != 0 { throw .system(call: "pthread_create", path: "the energy sampler thread", errno: e) }
            running = true
        }
    }

    private func samplerLoop() {
        let period = UInt64(1e9 / rateHz)
        var next = sys_monotonicNanoseconds() &+ period
        swl_monitor_lock(lock)
        while !stopping {
            swl_monitor_wait(lock, next)
            if stopping { break }
            let now = sys_monotonicNanoseconds()
            if now < next { continue }
            swl_monitor_unlock(lock)
            let ok: Bool
            do throws(SwiftletError) {
                try sample()
                ok = true
            } catch {
                ok = false
            }
            swl_monitor_lock(lock)
            if !ok { break }
            next &+= period
            if next <= now { next = now &+ period }
        }
        swl_monitor_unlock(lock)
    }

    private func stopSampler() {
        guard running else { return }
        swl_monitor_lock(lock)
        stopping = true
        swl_monitor_broadcast(lock)
        swl_monitor_unlock(lock)
        _ = swl_thread_join(thread)
        running = false
    }

    /// Energy and time over the samples taken so far (counters: last − first; power: trapezoids).
    func integrateSamples() throws(SwiftletError) -> (joules: Double, seconds: Double, sem: Double, meanReading: Double, power: [PowerSample]) {
        guard samples.count >= 2 else {
            throw .invalidInput(path: method, detail: "\(method): fewer than 2 readings in the window", hint: "run longer")
        }
        let t0 = samples[0].t
        let seconds = Double(samples[samples.count - 1].t - t0) / 1e9
        var power: [PowerSample] = []
        if isCounter {
            let joules = samples[samples.count - 1].v - samples[0].v
            if joules == 0 && seconds > 0.5 {
                throw .invalidInput(path: counterPaths(), detail: "\(method): the energy counter stopped changing (the same value for \(formatFixed(seconds, 2)) s)",
                                    hint: "the sensor is stuck or its driver stopped updating it; the energy figure is void, check the sensor and run again")
            }
            if case .counters(let files, _, _) = probe, seconds > 0.5 {
                for f in files where f.total == f.totalAtBegin && files.count > 1 {
                    throw .invalidInput(path: f.path, detail: "\(method): the energy counter stopped changing (the same value for \(formatFixed(seconds, 2)) s)",
                                        hint: "the sensor is stuck or its driver stopped updating it; the energy figure is void, check the sensor and run again")
                }
            }
            for k in 1..<samples.count {
                let dt = Double(samples[k].t - samples[k - 1].t) / 1e9
                if dt <= 0 { continue }
                let mid = (samples[k].t - t0) / 2 + (samples[k - 1].t - t0) / 2
                power.append(PowerSample(tNs: mid, watts: (samples[k].v - samples[k - 1].v) / dt))
            }
            return (joules, seconds, 0, 0, power)
        }
        var joules = 0.0, sum = 0.0
        for k in 0..<samples.count {
            sum += samples[k].v
            power.append(PowerSample(tNs: samples[k].t - t0, watts: samples[k].v))
            if k > 0 { joules += (samples[k].v + samples[k - 1].v) / 2 * Double(samples[k].t - samples[k - 1].t) / 1e9 }
        }
        let n = Double(samples.count), mean = sum / n
        var sq = 0.0
        for s in samples { sq += (s.v - mean) * (s.v - mean) }
        let sem = (sq / (n - 1)).squareRoot() / n.squareRoot()
        return (joules, seconds, sem, mean, power)
    }

    func counterPaths() -> String {
        guard case .counters(let files, _, _) = probe else { return method }
        var p: [String] = []
        for f in files { p.append(f.path) }
        return p.joined(separator: ", ")
    }

    /// Ends the window of `frames` frames run on `activeCores` cores and reports its energy. Throws
    /// when the source failed during the window (vanished, stopped changing, the meter log misses it).
    public func end(frames: Int, activeCores: Int) throws(SwiftletError) -> EnergyReport {
        let endNs = sys_monotonicNanoseconds(), endRealNs = swl_realtime_ns()
        stopSampler()
        guard available else { return .unavailable(reason) }
        if sampled { try sample() }
        if let failure { throw failure }
        var r = EnergyReport()
        r.available = true
        r.measured = true
        r.method = method
        r.frames = frames
        r.notes = notes
        r.idleWatts = idleWatts
        r.idleSource = idleSource
        var uJ: Double? = nil
        switch probe {
        case .model(let idle, let core):
            let activeCores = cores > 0 ? min(activeCores, cores) : activeCores
            r.measured = false
            r.windowSeconds = Double(endNs - beginNs) / 1e9
            r.meanWatts = idle + core * Double(activeCores)
            r.joules = r.meanWatts * r.windowSeconds
            r.method = "estimate (power model: \(formatGeneral(idle, 4)) W idle + \(formatGeneral(core, 4)) W × \(activeCores) active core\(activeCores == 1 ? "" : "s"), from the board profile)"
            r.samples = 0
        case .meter(let path):
            let text = String(decoding: try sys_readFile(path, what: "a meter log (CSV)"), as: UTF8.self)
            let off = options.meterOffsetSeconds
            let from = Double(beginRealNs) / 1e9 + off, to = Double(endRealNs) / 1e9 + off
            let m = try integrateMeterLog(text, path: path, from: from, to: to)
            if let w = idleRealWindow {
                let idle = try integrateMeterLog(text, path: path, from: Double(w.0) / 1e9 + off, to: Double(w.1) / 1e9 + off)
                r.idleWatts = idle.meanWatts
                r.idleSource = "measured over \(formatFixed(idleSeconds, 1)) s"
            }
            r.windowSeconds = to - from
            r.joules = m.joules
            r.meanWatts = m.meanWatts
            r.samples = m.samples
            r.power = m.power
            uJ = m.semWatts * r.windowSeconds + m.meanWatts * m.meanIntervalSeconds
            if off != 0 { r.notes.append("meter clock offset \(formatGeneral(off, 6)) s applied") }
        default:
            let w = try integrateSamples()
            r.windowSeconds = w.seconds
            r.joules = w.joules
            r.meanWatts = w.seconds > 0 ? w.joules / w.seconds : 0
            r.samples = samples.count
            r.rateHz = rateHz > 0 ? rateHz : nil
            r.power = w.power
            if !isCounter && samples.count >= 10 && w.seconds > 2 && !samples.contains(where: { $0.v != samples[0].v }) {
                r.notes.append("\(method): every one of the \(samples.count) readings over \(formatFixed(w.seconds, 1)) s was \(formatGeneral(samples[0].v, 6)) W; check that the sensor updates")
            }
            switch probe {
            case .counters(let files, let resolution, let update):
                uJ = 2 * resolution * Double(files.count) + r.meanWatts * update
            case .power:
                uJ = w.sem * w.seconds + 1e-3 * w.seconds
            case .voltsAmps(let vPath, let aPath):
                // Resolution of V × I with 1 mV and 1 mA steps, at the last reading.
                let mv = (try? readNumber(vPath)) ?? 0, ma = (try? readNumber(aPath)) ?? 0
                uJ = w.sem * w.seconds + (1e-3 * ma / 1000 + mv / 1000 * 1e-3) * w.seconds
            default:
                uJ = w.sem * w.seconds
            }
        }
        if frames > 0 {
            r.mJPerFrame = r.joules / Double(frames) * 1000
            if let idle = r.idleWatts { r.mJPerFrameAboveIdle = (r.joules - idle * r.windowSeconds) / Double(frames) * 1000 }
            if let uJ { r.uncertaintyMJ = uJ / Double(frames) * 1000 }
        }
        return r
    }
}

func sleepSeconds(_ s: Double) {
    var left = s
    while left > 0 {
        let ms = min(left, 1.0)
        swl_sleep_ms(Int32(max(1, (ms * 1000).rounded())))
        left -= ms
    }
}
#endif
