import Foundation
import SwiftletApp
import SwiftletCore
import Testing

// Energy sources (issue #15) against fake sysfs trees built in a temporary folder and passed as
// `EnergyOptions.root` (never the environment variable, so the tests can run in parallel). The
// sampler thread is off (`rateHz: 0`): the tests write a sensor's files between `begin`, explicit
// `sample()` calls and `end`, so every reading is known.

/// A folder standing in for `/`: files written and removed by relative path.
final class FakeRoot {
    let path: String
    init(_ tag: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-\(tag)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ rel: String, _ text: String) throws {
        let full = path + "/" + rel
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func remove(_ rel: String) throws { try FileManager.default.removeItem(atPath: path + "/" + rel) }

    func mkdir(_ rel: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + rel, withIntermediateDirectories: true)
    }
}

private func options(_ source: String?, root: FakeRoot, idleWatts: Double? = 0, vcgencmd: String? = nil) -> EnergyOptions {
    EnergyOptions(source: source, idleSeconds: 0.2, idleWatts: idleWatts, rateHz: 0, vcgencmd: vcgencmd ?? "/nonexistent/vcgencmd", root: root.path)
}

/// The SwiftletError `body` throws, or nil.
func thrown(_ body: () throws -> Void) -> SwiftletError? {
    do {
        try body()
        return nil
    } catch let e as SwiftletError {
        return e
    } catch {
        return nil
    }
}

private let rapl0 = "sys/class/powercap/intel-rapl:0"

@Suite struct EnergyTests {
    /// A package counter that wraps at max_energy_range_uj between two reads: 999 000 000 →
    /// 999 900 000 → (wrap at 1 000 000 000) → 500 000 µJ is 1 000 000 000 − 999 000 000 + 500 000
    /// = 1 500 000 µJ = 1.5 J. The core subzone (intel-rapl:0:0) is not added; psys is left out.
    @Test func raplCounterWraps() throws {
        let root = try FakeRoot("rapl")
        try root.write("\(rapl0)/name", "package-0\n")
        try root.write("\(rapl0)/energy_uj", "999000000\n")
        try root.write("\(rapl0)/max_energy_range_uj", "1000000000\n")
        try root.write("\(rapl0):0/name", "core\n")
        try root.write("\(rapl0):0/energy_uj", "5\n")
        try root.write("sys/class/powercap/intel-rapl:1/name", "psys\n")
        try root.write("sys/class/powercap/intel-rapl:1/energy_uj", "7\n")
        let m = try EnergyMonitor.open(options("rapl", root: root, idleWatts: 1), cores: 4)
        #expect(m.available)
        #expect(m.method == "rapl intel-rapl:0 (package-0)")
        try m.begin()
        try root.write("\(rapl0)/energy_uj", "999900000\n")
        try m.sample()
        try root.write("\(rapl0)/energy_uj", "500000\n")
        let r = try m.end(frames: 10, activeCores: 4)
        #expect(abs(r.joules - 1.5) < 1e-9)
        #expect(abs(r.mJPerFrame - 150) < 1e-6)
        #expect(r.samples == 3)
        #expect(r.measured)
        #expect(r.idleWatts == 1)
        #expect(r.idleSource == "given (--idle-watts)")
        #expect(r.mJPerFrameAboveIdle != nil)
        #expect(r.uncertaintyMJ != nil)
        #expect(r.notes.contains { $0.contains("psys") })
        #expect(r.power.count == 2)
        let json = try JSONSerialization.jsonObject(with: Data(r.json().utf8)) as! [String: Any]
        #expect(json["available"] as? Bool == true)
        #expect(json["measured"] as? Bool == true)

        // The same zone named by path, as a board profile does.
        let byPath = try EnergyMonitor.open(options("rapl:/sys/class/powercap/intel-rapl:0/energy_uj", root: root), cores: 4)
        #expect(byPath.available)
        #expect(byPath.method == "rapl intel-rapl:0 (package-0)")
    }

    /// energy_uj is root-only since Linux 5.10 (EACCES): the monitor is unavailable and says how to fix
    /// it. As root, chmod 000 does not stop reads, so that case is checked only when not root; a
    /// directory in place of the file checks the same path through the code as root.
    @Test func raplUnreadable() throws {
        let root = try FakeRoot("rapl-denied")
        try root.write("\(rapl0)/name", "package-0\n")
        if getuid() != 0 {
            try root.write("\(rapl0)/energy_uj", "1000\n")
            chmod(root.path + "/\(rapl0)/energy_uj", 0)
            let m = try EnergyMonitor.open(options("rapl", root: root), cores: 4)
            #expect(!m.available)
            #expect(m.reason.contains("readable by root only"))
            #expect(m.reason.contains("sudo"))
            try root.remove("\(rapl0)/energy_uj")
        }
        try root.mkdir("\(rapl0)/energy_uj")
        let m = try EnergyMonitor.open(options("rapl", root: root), cores: 4)
        #expect(!m.available)
        #expect(m.reason == "RAPL: cannot read /sys/class/powercap/intel-rapl:0/energy_uj: is a directory (EISDIR)")
        try m.begin()
        let r = try m.end(frames: 10, activeCores: 1)
        #expect(!r.available)
        #expect(r.lines == ["unavailable: \(m.reason)"])
        let json = try JSONSerialization.jsonObject(with: Data(r.json().utf8)) as! [String: Any]
        #expect(json["available"] as? Bool == false)
        #expect(json["reason"] as? String == m.reason)
    }

    /// A counter that reads the same over more than 0.5 s is an error, never 0 J.
    @Test func counterThatStopsChanging() throws {
        let root = try FakeRoot("rapl-stuck")
        try root.write("\(rapl0)/name", "package-0\n")
        try root.write("\(rapl0)/energy_uj", "123456\n")
        let m = try EnergyMonitor.open(options("rapl", root: root), cores: 4)
        try m.begin()
        Thread.sleep(forTimeInterval: 0.6)
        let e = thrown { _ = try m.end(frames: 10, activeCores: 4) }
        #expect(e?.message.contains("rapl intel-rapl:0 (package-0): the energy counter stopped changing") == true)
        #expect(e?.message.contains("intel-rapl:0/energy_uj") == true)
    }

    /// A power sensor whose file disappears during the window fails naming it.
    @Test func sensorThatVanishes() throws {
        let root = try FakeRoot("hwmon-gone")
        try root.write("sys/class/hwmon/hwmon2/name", "ina219\n")
        try root.write("sys/class/hwmon/hwmon2/power1_input", "2500000\n")
        let m = try EnergyMonitor.open(options("hwmon:ina219", root: root), cores: 4)
        #expect(m.method == "hwmon ina219 (power1)")
        try m.begin()
        try m.sample()
        try root.remove("sys/class/hwmon/hwmon2/power1_input")
        let e = thrown { _ = try m.end(frames: 10, activeCores: 4) }
        #expect(e?.message == "\(root.path)/sys/class/hwmon/hwmon2/power1_input: hwmon ina219 (power1): the sensor could not be read during the measurement: no such file or directory (ENOENT); the sensor or its driver went away; the energy figure is void, run again")
    }

    /// An INA3221 with three rails: the total is VDD_IN (5 V × 1 A = 5 W), not the sum of the three
    /// (8.5 W), which would count the CPU/GPU and SoC rails twice; a spec can name another rail.
    @Test func ina3221TotalIsTheInputRail() throws {
        let root = try FakeRoot("ina3221")
        try root.write("sys/class/hwmon/hwmon0/name", "coretemp\n")
        let d = "sys/class/hwmon/hwmon1"
        try root.write("\(d)/name", "ina3221\n")
        for (n, label, mv, ma) in [(1, "VDD_IN", 5000, 1000), (2, "VDD_CPU_GPU_CV", 5000, 400), (3, "VDD_SOC", 5000, 300)] {
            try root.write("\(d)/in\(n)_label", label + "\n")
            try root.write("\(d)/in\(n)_input", "\(mv)\n")
            try root.write("\(d)/curr\(n)_input", "\(ma)\n")
            try root.write("\(d)/in\(n + 3)_input", "12\n")  // shunt voltages: no current of their own
        }
        let m = try EnergyMonitor.open(options("hwmon:ina3221", root: root), cores: 6)
        #expect(m.method == "hwmon ina3221 VDD_IN (in1 × curr1)")
        try m.begin()
        try m.sample()
        let r = try m.end(frames: 5, activeCores: 6)
        #expect(abs(r.meanWatts - 5) < 1e-9, "the input rail only, not the 8.5 W sum")
        #expect(r.samples == 3)
        #expect(r.notes.contains { $0.contains("VDD_CPU_GPU_CV, VDD_SOC are not added") && $0.contains("twice") })

        let soc = try EnergyMonitor.open(options("hwmon:ina3221:VDD_SOC", root: root), cores: 6)
        try soc.begin()
        let rs = try soc.end(frames: 5, activeCores: 6)
        #expect(abs(rs.meanWatts - 1.5) < 1e-9)

        let missing = try EnergyMonitor.open(options("hwmon:ina3221:VDD_GPU", root: root), cores: 6)
        #expect(!missing.available)
        #expect(missing.reason == "hwmon ina3221: no channel labelled 'VDD_GPU'; its channels: VDD_IN, VDD_CPU_GPU_CV, VDD_SOC")

        // Without labels there is no telling which rail is the input.
        for n in 1...3 { try root.remove("\(d)/in\(n)_label") }
        let unlabelled = try EnergyMonitor.open(options("hwmon:ina3221", root: root), cores: 6)
        #expect(!unlabelled.available)
        #expect(unlabelled.reason.contains("3 channels (in1, in2, in3) and none labelled VDD_IN"))

        let absent = try EnergyMonitor.open(options("hwmon:ina219", root: root), cores: 6)
        #expect(absent.reason == "hwmon: no device named 'ina219' under /sys/class/hwmon; found: coretemp, ina3221")
    }

    /// A recorded `vcgencmd pmic_read_adc` printed by a script: Σ V × A over the 8 rails with both
    /// readings, by hand (Python) 1.6279769787860001 W; the voltage-only rails are named in a note.
    @Test func pmicFromRecordedOutput() throws {
        let root = try FakeRoot("pmic")
        try root.write("pmic.txt", pmicRecording)
        try root.write("vcgencmd", "#!/bin/sh\n[ \"$1\" = pmic_read_adc ] || exit 2\ncat '\(root.path)/pmic.txt'\n")
        chmod(root.path + "/vcgencmd", 0o755)
        let reading = parsePMICOutput(pmicRecording)
        #expect(abs(reading.watts - 1.6279769787860001) < 1e-12)
        #expect(reading.rails.count == 8)
        #expect(reading.voltageOnly == ["3V3_DAC", "3V3_ADC", "0V8_AON", "HDMI", "EXT5V", "BATT"])

        let m = try EnergyMonitor.open(options("pmic", root: root, vcgencmd: root.path + "/vcgencmd"), cores: 4)
        #expect(m.available, "\(m.reason)")
        #expect(m.method == "pmic (vcgencmd pmic_read_adc, 8 rails)")
        try m.begin()
        let r = try m.end(frames: 4, activeCores: 4)
        #expect(abs(r.meanWatts - 1.6279769787860001) < 1e-9)
        #expect(r.notes.contains { $0.contains("5 V input") && $0.contains("EXT5V") })

        // A vcgencmd that fails (an older Pi): unavailable with the reason.
        try root.write("vcgencmd", "#!/bin/sh\necho 'error=1 error_msg=\"Command not registered\"'\nexit 1\n")
        let old = try EnergyMonitor.open(options("pmic", root: root, vcgencmd: root.path + "/vcgencmd"), cores: 4)
        #expect(!old.available)
        #expect(old.reason.contains("pmic_read_adc' failed"))
    }

    /// A meter log with a clock offset: rows every second from t = 1000 to 1010, 1 W until 1004 and
    /// 3 W from 1005. The host window 997.5–1004.5 with the meter 3 s ahead is 1000.5–1007.5 on its
    /// clock: 1 W × 3.5 s + (1 + 3) / 2 W × 1 s + 3 W × 2.5 s = 3.5 + 2 + 7.5 = 13 J, from 7 rows.
    @Test func meterLogWithClockOffset() throws {
        var powerCSV = "timestamp,power_W\n", vaCSV = "Time (s);Voltage (V);Current (A)\n"
        for k in 0...10 {
            let t = 1000 + k
            powerCSV += "\(t).0,\(k < 5 ? 1 : 3)\n"
            vaCSV += "\(t);5.0;\(k < 5 ? "0.2" : "0.6")\n"
        }
        for csv in [powerCSV, vaCSV] {
            let m = try integrateMeterLog(csv, path: "m.csv", from: 997.5 + 3, to: 1004.5 + 3)
            #expect(abs(m.joules - 13) < 1e-9)
            #expect(m.samples == 7)
            #expect(abs(m.meanIntervalSeconds - 1) < 1e-12)
        }
        let e = thrown { _ = try integrateMeterLog(powerCSV, path: "m.csv", from: 1009.5, to: 1020) }
        #expect(e?.message == "m.csv: 1 meter row inside the window 1009.500 to 1020.000 (meter clock, --meter-offset applied); the file has rows from 1000.000 to 1010.000; check --meter-offset (the meter's clock minus this host's) and that the meter logged during the run, at 2 or more rows per window")
        let h = thrown { _ = try integrateMeterLog("a,b\n1,2\n", path: "m.csv", from: 0, to: 1) }
        #expect(h?.message.contains("lacks a timestamp column") == true)

        // End to end: a 2 W log around now, on a clock 100 s ahead of the host's.
        let root = try FakeRoot("meter")
        let now = Date().timeIntervalSince1970 + 100
        var log = "unix_time,voltage,current\n"
        for k in -50...600 { log += "\(String(format: "%.3f", now + Double(k) * 0.1)),5.0,0.4\n" }
        try root.write("meter.csv", log)
        var o = options("meter:\(root.path)/meter.csv", root: root)
        o.meterOffsetSeconds = 100
        let m = try EnergyMonitor.open(o, cores: 4)
        try m.begin()
        Thread.sleep(forTimeInterval: 0.35)
        let r = try m.end(frames: 7, activeCores: 4)
        #expect(abs(r.meanWatts - 2) < 1e-9)
        #expect(r.samples >= 2)
        #expect(r.notes.contains("meter clock offset 100 s applied"))
        // Without the offset the window is 100 s before the log.
        o.meterOffsetSeconds = 0
        let wrong = try EnergyMonitor.open(o, cores: 4)
        try wrong.begin()
        let we = thrown { _ = try wrong.end(frames: 7, activeCores: 4) }
        #expect(we?.message.contains("0 meter rows inside the window") == true)
    }

    /// The power model, used when nothing else exists, is labelled an estimate.
    @Test func powerModelIsAnEstimate() throws {
        let root = try FakeRoot("model")
        let board = BoardPower(sensors: "none", idleWatts: 2, coreWatts: 0.5)
        let m = try EnergyMonitor.open(options(nil, root: root, idleWatts: nil), board: board, cores: 4)
        #expect(m.available)
        try m.measureIdle()
        try m.begin()
        let r = try m.end(frames: 10, activeCores: 4)
        #expect(!r.measured)
        #expect(r.method == "estimate (power model: 2 W idle + 0.5 W × 4 active cores, from the board profile)")
        #expect(r.meanWatts == 4)
        #expect(r.idleWatts == 2)
        #expect(r.uncertaintyMJ == nil)
        #expect(r.notes.contains { $0.contains("the board profile lists no power sensor") })
        #expect(r.lines[0].contains("(estimate (power model"))
        let json = try JSONSerialization.jsonObject(with: Data(r.json().utf8)) as! [String: Any]
        #expect(json["measured"] as? Bool == false)

        let empty = try EnergyMonitor.open(options("model", root: root), board: BoardPower(sensors: "none"), cores: 4)
        #expect(!empty.available)
        #expect(empty.reason == "power model: the board profile's power_idle_w and power_core_w are not set")

        // auto on a host with nothing: every reason.
        let none = try EnergyMonitor.open(options(nil, root: root), cores: 4)
        #expect(!none.available)
        #expect(none.reason.contains("RAPL: no /sys/class/powercap/intel-rapl:N zones"))
        #expect(none.reason.contains("hwmon: no devices"))
        #expect(none.reason.contains("power model:"))
    }

    /// The idle baseline measured from the sensor, and the energy above it.
    @Test func idleBaselineMeasured() throws {
        let root = try FakeRoot("idle")
        try root.write("sys/class/hwmon/hwmon0/name", "acpi_power\n")
        try root.write("sys/class/hwmon/hwmon0/power1_input", "3000000\n")
        // auto finds the hwmon power input when there is no RAPL.
        let m = try EnergyMonitor.open(options(nil, root: root, idleWatts: nil), cores: 4)
        #expect(m.method == "hwmon acpi_power (power1)")
        try m.measureIdle()
        try m.begin()
        try root.write("sys/class/hwmon/hwmon0/power1_input", "5000000\n")
        try m.sample()
        let r = try m.end(frames: 2, activeCores: 4)
        #expect(abs(r.idleWatts! - 3) < 1e-9)
        #expect(r.idleSource.hasPrefix("measured over 0."))
        #expect(r.mJPerFrameAboveIdle! < r.mJPerFrame)
        #expect(r.mJPerFrameAboveIdle! > 0)
    }

    /// The sampler thread reads a power sensor during the window, and a sensor that vanishes while
    /// it runs makes `end` throw.
    @Test func samplerThread() throws {
        let root = try FakeRoot("sampler")
        try root.write("sys/class/hwmon/hwmon0/name", "ina219\n")
        try root.write("sys/class/hwmon/hwmon0/power1_input", "4000000\n")
        var o = options("hwmon:ina219", root: root)
        o.rateHz = 50
        let m = try EnergyMonitor.open(o, cores: 4)
        #expect(m.rateHz == 50)
        try m.begin()
        Thread.sleep(forTimeInterval: 0.3)
        let r = try m.end(frames: 3, activeCores: 4)
        #expect(r.samples >= 3)
        #expect(r.rateHz == 50)
        #expect(abs(r.meanWatts - 4) < 1e-9)
        #expect(r.power.count == r.samples)

        try m.begin()
        Thread.sleep(forTimeInterval: 0.1)
        try root.remove("sys/class/hwmon/hwmon0/power1_input")
        Thread.sleep(forTimeInterval: 0.1)
        let e = thrown { _ = try m.end(frames: 3, activeCores: 4) }
        #expect(e?.message.contains("the sensor could not be read during the measurement") == true)
    }

    /// A wrong --energy value is a usage error (exit 64) listing the sources.
    @Test(arguments: ["bogus", "rapl:", "hwmon", "hwmon:", "hwmon:ina3221:", "hwmon::VDD_IN", "meter", "meter:", "none:x", "auto:1", "RAPL"])
    func badSpecIsAUsageError(spec: String) throws {
        let root = try FakeRoot("spec")
        let e = thrown { _ = try EnergyMonitor.open(options(spec, root: root), cores: 4) }
        #expect(e?.exitCode == 64)
        #expect(e?.message.hasPrefix("--energy '\(spec)': ") == true)
        #expect(e?.message.hasSuffix("; use one of auto, none, rapl[:PATH], hwmon:NAME[:CHANNEL_LABEL], pmic, meter:FILE.csv, model") == true)
    }

    @Test func specsParse() throws {
        #expect(try EnergySpec.parse("rapl") == .rapl(path: nil))
        #expect(try EnergySpec.parse("rapl:/sys/class/powercap/intel-rapl:1") == .rapl(path: "/sys/class/powercap/intel-rapl:1"))
        #expect(try EnergySpec.parse("hwmon:ina3221:VDD_IN") == .hwmon(name: "ina3221", channel: "VDD_IN"))
        #expect(try EnergySpec.parse("meter:logs/a:b.csv") == .meter(path: "logs/a:b.csv"))
        #expect(try EnergySpec.parse("none") == EnergySpec.none)
    }
}

/// `vcgencmd pmic_read_adc` in the layout a Raspberry Pi 5 prints (values representative, not captured by this project).
let pmicRecording = """
       3V7_WL_SW_A current(0)=0.00390400A
       3V3_SYS_A current(1)=0.05269780A
       1V8_SYS_A current(2)=0.16983300A
      DDR_VDD2_A current(3)=0.02049600A
      DDR_VDDQ_A current(4)=0.00000000A
       1V1_SYS_A current(5)=0.18642800A
       0V8_SYS_A current(6)=0.33866400A
      VDD_CORE_A current(7)=0.71830000A
       3V7_WL_SW_V volt(8)=3.71979400V
       3V3_SYS_V volt(9)=3.31234000V
       1V8_SYS_V volt(10)=1.79951000V
      DDR_VDD2_V volt(11)=1.11120000V
      DDR_VDDQ_V volt(12)=0.60021000V
       1V1_SYS_V volt(13)=1.11153000V
       0V8_SYS_V volt(14)=0.80036700V
      VDD_CORE_V volt(15)=0.88018200V
       3V3_DAC_V volt(17)=3.30474000V
       3V3_ADC_V volt(18)=3.30474000V
       0V8_AON_V volt(16)=0.79963400V
       HDMI_V volt(22)=5.14864000V
      EXT5V_V volt(24)=5.15328000V
       BATT_V volt(25)=0.00000000V

    """
