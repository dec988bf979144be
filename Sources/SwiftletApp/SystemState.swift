// The machine's state around a benchmark (issue #15): what can make a latency or energy figure
// wrong without any error — a governor that is not `performance`, a clock that dropped, a Raspberry
// Pi throttling or under-voltage, a busy machine, a VM whose host steals time, a hot SoC.
//
// `SystemState.read` takes a snapshot from sysfs and procfs before and after a run;
// `SystemState.warnings(before:after:…)` compares the two. Anything missing is nil, never an error:
// a VM has no cpufreq, only a Raspberry Pi has `get_throttled`, containers may hide thermal zones.
// Every path is read under `measurementRoot()` (the environment variable SWIFTLET_SYSFS_ROOT), so
// tests point the code at a fake tree instead of the machine's /sys and /proc.

import CSwiftletSys
import SwiftletCore

/// The prefix put before every /sys and /proc path the state and energy readers use: the
/// environment variable SWIFTLET_SYSFS_ROOT, or "" when it is unset (the real files).
public func measurementRoot() -> String {
    guard let p = getenv("SWIFTLET_SYSFS_ROOT") else { return "" }
    return String(cString: p)
}

// MARK: - Small sysfs/procfs text helpers (shared with the energy sources)

/// The whole text of a small file read to its end (procfs files report size 0, so `sys_readFile`
/// cannot be used), or nil with `error` set to the errno of the failure (ENOENT: not there).
func readSysText(_ path: String, error: inout Int32) -> String? {
    sys_readKernelFile(path, error: &error).map { String(decoding: $0, as: UTF8.self) }
}

/// `readSysText` when the reason for a failure does not matter.
func readSysText(_ path: String) -> String? {
    var e: Int32 = 0
    return readSysText(path, error: &e)
}

func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }

/// `s` without leading and trailing spaces, tabs and line ends.
func sysTrim(_ s: String) -> String {
    let b = Array(s.utf8)
    var lo = 0, hi = b.count
    while lo < hi && isSpace(b[lo]) { lo += 1 }
    while hi > lo && isSpace(b[hi - 1]) { hi -= 1 }
    return String(decoding: b[lo..<hi], as: UTF8.self)
}

/// The lines of `s` (without their ends; a trailing empty line dropped).
func sysLines(_ s: String) -> [String] {
    var out: [String] = []
    for line in Array(s.utf8).split(separator: 10, omittingEmptySubsequences: false) {
        out.append(String(decoding: line, as: UTF8.self))
    }
    if let last = out.last, last.isEmpty { out.removeLast() }
    return out
}

/// The words of `s` separated by spaces and tabs.
func sysFields(_ s: String) -> [String] {
    var out: [String] = []
    for w in Array(s.utf8).split(whereSeparator: { isSpace($0) }) { out.append(String(decoding: w, as: UTF8.self)) }
    return out
}

/// `s` split at every `separator` byte (empty fields kept), each field trimmed.
func sysSplit(_ s: String, _ separator: UInt8) -> [String] {
    var out: [String] = []
    for f in Array(s.utf8).split(separator: separator, omittingEmptySubsequences: false) {
        out.append(sysTrim(String(decoding: f, as: UTF8.self)))
    }
    return out
}

/// `s` with ASCII letters lowercased.
func sysLower(_ s: String) -> String {
    var b = Array(s.utf8)
    for i in 0..<b.count where b[i] >= 65 && b[i] <= 90 { b[i] += 32 }
    return String(decoding: b, as: UTF8.self)
}

/// Whether `s` contains `part` (bytes).
func sysContains(_ s: String, _ part: String) -> Bool {
    let a = Array(s.utf8), p = Array(part.utf8)
    if p.isEmpty { return true }
    if p.count > a.count { return false }
    for i in 0...(a.count - p.count) where a[i] == p[0] {
        var k = 1
        while k < p.count && a[i + k] == p[k] { k += 1 }
        if k == p.count { return true }
    }
    return false
}

/// A decimal unsigned integer (the whole trimmed text), or nil.
func sysUInt(_ s: String) -> UInt64? {
    let t = sysTrim(s)
    if t.isEmpty { return nil }
    var v: UInt64 = 0
    for b in t.utf8 {
        guard b >= 48 && b <= 57 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
        if o1 || o2 { return nil }
        v = a
    }
    return v
}

/// A decimal integer with an optional sign (the whole trimmed text), or nil.
func sysInt(_ s: String) -> Int64? {
    let t = sysTrim(s)
    if t.startsWith("-") {
        guard let m = sysUInt(t.droppingFirstBytes(1)), m <= UInt64(Int64.max) else { return nil }
        return -Int64(m)
    }
    guard let m = sysUInt(t), m <= UInt64(Int64.max) else { return nil }
    return Int64(m)
}

/// A finite number in C notation (`3.7`, `-1e-3`; the whole trimmed text), or nil.
func sysDouble(_ s: String) -> Double? {
    let t = sysTrim(s)
    if t.isEmpty { return nil }
    return t.withCString { p -> Double? in
        var end: UnsafeMutablePointer<CChar>? = nil
        let v = strtod(p, &end)
        guard let end, end.pointee == 0, UnsafePointer(end) != p, v.isFinite else { return nil }
        return v
    }
}

/// A hexadecimal number with or without `0x` (the whole trimmed text), or nil.
func sysHex(_ s: String) -> UInt64? {
    var t = sysTrim(s)
    if t.startsWith("0x") || t.startsWith("0X") { t = t.droppingFirstBytes(2) }
    if t.isEmpty || t.utf8.count > 16 { return nil }
    var v: UInt64 = 0
    for b in t.utf8 {
        let d: UInt8
        if b >= 48 && b <= 57 { d = b - 48 } else if b >= 97 && b <= 102 { d = b - 87 } else if b >= 65 && b <= 70 { d = b - 55 } else { return nil }
        v = v << 4 | UInt64(d)
    }
    return v
}

/// The number after `prefix` in a name such as `cpu12` or `thermal_zone3`, or nil.
func sysIndex(_ name: String, after prefix: String) -> Int? {
    guard name.startsWith(prefix), name.utf8.count > prefix.utf8.count else { return nil }
    guard let v = sysUInt(name.droppingFirstBytes(prefix.utf8.count)), v < 1 << 20 else { return nil }
    return Int(v)
}

/// The entries of folder `path` named `prefix` + a number, sorted by that number.
func sysNumberedEntries(_ path: String, prefix: String) -> [(index: Int, name: String)] {
    guard let names = try? sys_listDirectory(path) else { return [] }
    var found: [(index: Int, name: String)] = []
    for n in names { if let i = sysIndex(n, after: prefix) { found.append((i, n)) } }
    var order = Array(0..<found.count)
    sortIndices(&order) { found[$0].index < found[$1].index }
    var out: [(index: Int, name: String)] = []
    for i in order { out.append(found[i]) }
    return out
}

extension String {
    /// The text without its first `k` UTF-8 bytes (callers cut ASCII prefixes they checked).
    func droppingFirstBytes(_ k: Int) -> String { String(decoding: utf8.dropFirst(k), as: UTF8.self) }
}

// MARK: - The snapshot

#if !SWIFTLET_NO_ENERGY
/// One CPU's frequency scaling (`/sys/devices/system/cpu/cpuN/cpufreq/`); frequencies in kHz.
public struct CoreClock: Equatable, Sendable {
    public var cpu: Int
    public var governor: String?
    /// `scaling_cur_freq`: the clock at the moment of reading.
    public var currentKHz: Int?
    /// `cpuinfo_max_freq`: the hardware's highest clock.
    public var hardwareMaxKHz: Int?
    /// `scaling_max_freq`: the highest clock the kernel allows now (lower: capped by policy or thermals).
    public var scalingMaxKHz: Int?

    public init(cpu: Int, governor: String? = nil, currentKHz: Int? = nil, hardwareMaxKHz: Int? = nil, scalingMaxKHz: Int? = nil) {
        self.cpu = cpu
        self.governor = governor
        self.currentKHz = currentKHz
        self.hardwareMaxKHz = hardwareMaxKHz
        self.scalingMaxKHz = scalingMaxKHz
    }

    /// Whether any of the files was there.
    public var exposed: Bool { governor != nil || currentKHz != nil || hardwareMaxKHz != nil || scalingMaxKHz != nil }
}

/// One thermal zone (`/sys/class/thermal/thermal_zoneN/`).
public struct ThermalReading: Equatable, Sendable {
    /// `thermal_zoneN`.
    public var zone: String
    /// Its `type`, e.g. `cpu-thermal`, `x86_pkg_temp`.
    public var type: String
    /// `temp`, millidegrees Celsius.
    public var milliCelsius: Int

    public var celsius: Double { Double(milliCelsius) / 1000 }
}

/// The Raspberry Pi firmware's throttling flags (`get_throttled`, as `vcgencmd get_throttled`).
public struct ThrottledFlags: Equatable, Sendable {
    public var raw: UInt32
    public init(raw: UInt32) { self.raw = raw }

    /// Bit, meaning (bits 0–3 now; the same meanings at bits 16–19 since boot).
    public static let meanings: [(UInt32, String)] = [
        (0, "under-voltage"), (1, "ARM frequency capped"), (2, "throttled"), (3, "soft temperature limit"),
    ]

    /// The conditions present now.
    public var now: [String] { names(shift: 0) }
    /// The conditions seen since boot.
    public var sinceBoot: [String] { names(shift: 16) }

    func names(shift: UInt32) -> [String] {
        var out: [String] = []
        for (bit, name) in ThrottledFlags.meanings where raw & (1 << (bit + shift)) != 0 { out.append(name) }
        return out
    }
}

/// The aggregate `cpu` line of /proc/stat, in clock ticks since boot.
public struct CPUTicks: Equatable, Sendable {
    /// user + nice + system + idle + iowait + irq + softirq + steal.
    public var total: UInt64
    /// Everything but idle and iowait.
    public var busy: UInt64
    /// Time a hypervisor ran something else while this VM wanted to run.
    public var steal: UInt64

    public init(total: UInt64, busy: UInt64, steal: UInt64) {
        self.total = total
        self.busy = busy
        self.steal = steal
    }
}

/// A snapshot of what can distort a benchmark: clocks of the CPUs used, temperatures, throttling,
/// load and steal. Missing files are nil or empty (`notes` says what could not be read).
public struct SystemState: Equatable, Sendable {
    /// The CPUs asked about, in the order asked.
    public var clocks: [CoreClock] = []
    public var thermal: [ThermalReading] = []
    public var throttled: ThrottledFlags? = nil
    /// The 1-minute load average.
    public var load1: Double? = nil
    public var ticks: CPUTicks? = nil
    /// CPUs listed in /proc/stat (`cpuN` lines), or nil when it could not be read.
    public var cpuCount: Int? = nil
    /// When the snapshot was taken (monotonic nanoseconds).
    public var takenNs: UInt64 = 0

    public init() {}

    /// Reads the state of CPUs `cpus` (core indices) and the machine under `root` (default
    /// `measurementRoot()`). Never fails: what cannot be read stays nil.
    public static func read(cpus: [Int], root: String = measurementRoot()) -> SystemState {
        var s = SystemState()
        s.takenNs = sys_monotonicNanoseconds()
        for cpu in cpus {
            let dir = "\(root)/sys/devices/system/cpu/cpu\(cpu)/cpufreq/"
            var c = CoreClock(cpu: cpu)
            if let g = readSysText(dir + "scaling_governor") {
                let t = sysTrim(g)
                if !t.isEmpty { c.governor = t }
            }
            c.currentKHz = readSysInt(dir + "scaling_cur_freq")
            c.hardwareMaxKHz = readSysInt(dir + "cpuinfo_max_freq")
            c.scalingMaxKHz = readSysInt(dir + "scaling_max_freq")
            s.clocks.append(c)
        }
        let thermalDir = "\(root)/sys/class/thermal"
        for (_, name) in sysNumberedEntries(thermalDir, prefix: "thermal_zone") {
            guard let t = readSysText("\(thermalDir)/\(name)/temp"), let v = sysInt(t) else { continue }
            let type = readSysText("\(thermalDir)/\(name)/type").map(sysTrim) ?? name
            s.thermal.append(ThermalReading(zone: name, type: type.isEmpty ? name : type, milliCelsius: Int(v)))
        }
        if let t = readSysText("\(root)/sys/devices/platform/soc/soc:firmware/get_throttled") {
            var text = sysTrim(t)
            if text.startsWith("throttled=") { text = text.droppingFirstBytes(10) }
            if let v = sysHex(text) { s.throttled = ThrottledFlags(raw: UInt32(truncatingIfNeeded: v)) }
        }
        if let t = readSysText("\(root)/proc/loadavg"), let first = sysFields(t).first { s.load1 = sysDouble(first) }
        if let t = readSysText("\(root)/proc/stat") {
            var cpus = 0
            for line in sysLines(t) {
                let f = sysFields(line)
                guard let head = f.first else { continue }
                if head.same("cpu") && f.count >= 5 {
                    var v: [UInt64] = []
                    for k in 1..<min(f.count, 9) { v.append(sysUInt(f[k]) ?? 0) }
                    while v.count < 8 { v.append(0) }
                    let total = v.reduce(0, &+)
                    s.ticks = CPUTicks(total: total, busy: total &- v[3] &- v[4], steal: v[7])
                } else if sysIndex(head, after: "cpu") != nil {
                    cpus += 1
                }
            }
            if cpus > 0 { s.cpuCount = cpus }
        }
        return s
    }

    /// What could not be read, e.g. "cpufreq: not exposed (a VM?)"; empty when everything was there.
    public var notes: [String] {
        var out: [String] = []
        if !clocks.isEmpty && !clocks.contains(where: { $0.exposed }) { out.append("cpufreq: not exposed (a VM?)") }
        if thermal.isEmpty { out.append("thermal: no thermal zones exposed") }
        if ticks == nil { out.append("/proc/stat: not readable") }
        if load1 == nil { out.append("/proc/loadavg: not readable") }
        return out
    }

    /// The steal share of the ticks between two snapshots (0–1), or nil.
    public static func stealFraction(before: SystemState, after: SystemState) -> Double? {
        guard let a = before.ticks, let b = after.ticks, b.total > a.total else { return nil }
        return Double(b.steal &- a.steal) / Double(b.total - a.total)
    }

    /// Plain-English warnings about a run between snapshots `before` and `after` on CPUs `usedCores`
    /// of a machine with `totalCores` (default: /proc/stat's count, else the online CPU count).
    /// Empty when nothing suggests the figures are off.
    public static func warnings(before: SystemState, after: SystemState, usedCores: [Int], totalCores: Int? = nil) -> [String] {
        var out: [String] = []
        let total = totalCores ?? before.cpuCount ?? sys_cpuCount()
        func used(_ c: CoreClock) -> Bool { usedCores.contains(c.cpu) }
        // Governor.
        var slow: [String] = []
        for c in after.clocks where used(c) {
            if let g = c.governor, !g.same("performance") { slow.append("cpu\(c.cpu) \(g)") }
        }
        if !slow.isEmpty {
            out.append("the CPU governor is not 'performance' (\(slow.joined(separator: ", "))): clocks ramp with load and latency varies; fix with 'echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor'")
        }
        // Clock drops and caps.
        for c in after.clocks where used(c) {
            if let b = before.clocks.first(where: { $0.cpu == c.cpu }), let f0 = b.currentKHz, let f1 = c.currentKHz,
               Double(f1) < 0.95 * Double(f0) {
                out.append("cpu\(c.cpu)'s clock dropped during the run, from \(f0 / 1000) to \(f1 / 1000) MHz (scaling_cur_freq at the start and end): thermal or power throttling, or an idle governor")
            }
            if let m = c.scalingMaxKHz, let h = c.hardwareMaxKHz, m < h {
                out.append("cpu\(c.cpu) is capped at \(m / 1000) of \(h / 1000) MHz (scaling_max_freq below cpuinfo_max_freq): thermal limit or a power policy")
            }
        }
        // Raspberry Pi firmware flags.
        if let f = after.throttled {
            let now = f.now
            if !now.isEmpty {
                out.append("the firmware reports \(now.joined(separator: ", ")) now (get_throttled 0x\(hexText(f.raw))): use a 5 V supply that gives enough current, and cooling")
            }
            let previous = before.throttled?.sinceBoot ?? []
            var during: [String] = [], earlier: [String] = []
            for n in f.sinceBoot { if previous.containsSame(n) { earlier.append(n) } else { during.append(n) } }
            if !during.isEmpty {
                out.append("the firmware reports \(during.joined(separator: ", ")) during the run (get_throttled 0x\(hexText(f.raw))): the figures may be low")
            }
            if !earlier.isEmpty && now.isEmpty {
                out.append("the firmware reports \(earlier.joined(separator: ", ")) since boot, before this run (get_throttled 0x\(hexText(f.raw)))")
            }
        }
        // Steal.
        if let steal = stealFraction(before: before, after: after), steal > 0.01 {
            out.append("\(formatFixed(steal * 100, 1)) % of CPU time was stolen by the hypervisor during the run: the VM's host is busy, so latency figures are unreliable")
        }
        // A busy machine.
        if let l = before.load1 {
            let idleCores = max(0, total - usedCores.count)
            let limit = 0.5 + Double(idleCores)
            if l > limit {
                out.append("the 1-minute load was \(formatFixed(l, 2)) before the run (above \(formatFixed(limit, 1)) with \(idleCores) of \(total) CPUs not used by the run): other work shares the CPUs")
            }
        }
        // Heat.
        var hot: [String] = []
        for t in after.thermal where t.milliCelsius > 80_000 { hot.append("\(t.type) \(formatFixed(t.celsius, 1)) °C") }
        if !hot.isEmpty {
            out.append("the SoC is hot (\(hot.joined(separator: ", ")), above 80 °C): it may throttle; add cooling or let it cool between runs")
        }
        return out
    }

    /// One line: `cpu0 performance 2400/2400 MHz; temp cpu-thermal 52.1 °C; load 0.12; steal 0.0 %`,
    /// steal since `since` when given (the run), else since boot; then the notes.
    public func text(since: SystemState? = nil) -> String {
        var parts: [String] = []
        for c in clocks where c.exposed {
            var p = "cpu\(c.cpu) \(c.governor ?? "?")"
            let cur = c.currentKHz.map { "\($0 / 1000)" } ?? "?"
            let max = (c.scalingMaxKHz ?? c.hardwareMaxKHz).map { "\($0 / 1000)" } ?? "?"
            p += " \(cur)/\(max) MHz"
            parts.append(p)
        }
        for t in thermal { parts.append("temp \(t.type) \(formatFixed(t.celsius, 1)) °C") }
        if let f = throttled {
            parts.append(f.raw == 0 ? "throttled 0x0" : "throttled 0x\(hexText(f.raw)) (now: \(f.now.isEmpty ? "none" : f.now.joined(separator: ", ")); since boot: \(f.sinceBoot.isEmpty ? "none" : f.sinceBoot.joined(separator: ", ")))")
        }
        if let l = load1 { parts.append("load \(formatFixed(l, 2))") }
        if let since, let s = SystemState.stealFraction(before: since, after: self) {
            parts.append("steal \(formatFixed(s * 100, 1)) %")
        } else if let t = ticks, t.total > 0 {
            parts.append("steal \(formatFixed(Double(t.steal) / Double(t.total) * 100, 1)) % since boot")
        }
        for n in notes { parts.append(n) }
        return parts.joined(separator: "; ")
    }

    /// The snapshot as a JSON object (nulls for what could not be read).
    public func json() -> String {
        var t = TextBuffer(capacity: 256)
        t.append("{\"cpus\": [")
        for (i, c) in clocks.enumerated() {
            if i > 0 { t.append(", ") }
            t.append("{\"cpu\": ")
            t.append(c.cpu)
            t.append(", \"governor\": ")
            if let g = c.governor { t.append(json: g) } else { t.append("null") }
            t.append(", \"cur_khz\": ")
            appendOptional(&t, c.currentKHz)
            t.append(", \"cpuinfo_max_khz\": ")
            appendOptional(&t, c.hardwareMaxKHz)
            t.append(", \"scaling_max_khz\": ")
            appendOptional(&t, c.scalingMaxKHz)
            t.append("}")
        }
        t.append("], \"thermal\": [")
        for (i, z) in thermal.enumerated() {
            if i > 0 { t.append(", ") }
            t.append("{\"zone\": ")
            t.append(json: z.zone)
            t.append(", \"type\": ")
            t.append(json: z.type)
            t.append(", \"celsius\": ")
            t.append(json: z.celsius)
            t.append("}")
        }
        t.append("], \"throttled\": ")
        if let f = throttled {
            t.append("{\"raw\": ")
            t.append(Int(f.raw))
            t.append(", \"now\": ")
            t.append(jsonList(f.now))
            t.append(", \"since_boot\": ")
            t.append(jsonList(f.sinceBoot))
            t.append("}")
        } else {
            t.append("null")
        }
        t.append(", \"load1\": ")
        if let l = load1 { t.append(json: l) } else { t.append("null") }
        t.append(", \"ticks\": ")
        if let k = ticks {
            t.append("{\"total\": ")
            t.append(unsigned: k.total)
            t.append(", \"busy\": ")
            t.append(unsigned: k.busy)
            t.append(", \"steal\": ")
            t.append(unsigned: k.steal)
            t.append("}")
        } else {
            t.append("null")
        }
        t.append(", \"notes\": ")
        t.append(jsonList(notes))
        t.append("}")
        return t.string
    }
}
#endif

func readSysInt(_ path: String) -> Int? {
    guard let t = readSysText(path), let v = sysInt(t) else { return nil }
    return Int(v)
}

private func appendOptional(_ t: inout TextBuffer, _ v: Int?) {
    if let v { t.append(v) } else { t.append("null") }
}

/// `v` in lowercase hexadecimal without `0x`.
func hexText(_ v: UInt32) -> String {
    if v == 0 { return "0" }
    var digits: [UInt8] = []
    var rest = v
    while rest > 0 {
        let d = UInt8(rest & 15)
        digits.append(d < 10 ? 48 + d : 87 + d)
        rest >>= 4
    }
    digits.reverse()
    return String(decoding: digits, as: UTF8.self)
}
