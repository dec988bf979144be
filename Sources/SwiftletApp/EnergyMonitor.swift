// `EnergyMonitor`: one energy source measured over a benchmark window, with the idle baseline
// (Energy.swift's header describes the sources and the report).

import CSwiftletSys
import SwiftletCore

#if !SWIFTLET_NO_ENERGY
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
        stopThread(thread, monitor: lock) { stopping = true }
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
