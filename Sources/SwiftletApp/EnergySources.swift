// The energy sources behind `EnergyMonitor`: RAPL counters, hwmon power, energy or voltage × current,
// the Raspberry Pi 5 PMIC, an external meter's CSV log (Energy.swift's header gives every formula).

import CSwiftletSys
import SwiftletCore

#if !SWIFTLET_NO_ENERGY
/// A sensor file read during the measurement; a failure (the sensor or its driver went away) is an
/// error naming `what` and the errno, never a zero.
func readSensorText(_ path: String, _ what: String) throws(SwiftletError) -> String {
    var e: Int32 = 0
    guard let text = readSysText(path, error: &e) else {
        throw .invalidInput(path: path, detail: "\(what) could not be read during the measurement: \(Errno(e).text)",
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
                return .failed("RAPL: \(shown) is readable by root only (Linux 5.10 and later): \(Errno(e).text); run with sudo, or allow reading it: 'sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj' (until reboot) or a udev rule that does the same")
            }
            return .failed("RAPL: cannot read \(shown): \(Errno(e).text)")
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
#endif
