import Foundation
import SwiftletApp
import SwiftletCore
import Testing

// The system-state snapshot around a benchmark (issue #15) against fake /sys and /proc trees in a
// temporary folder, passed as `root` (the tests run in parallel; none sets SWIFTLET_SYSFS_ROOT).

private func writeCPU(_ root: FakeRoot, _ cpu: Int, governor: String, cur: Int, max: Int, scalingMax: Int) throws {
    let d = "sys/devices/system/cpu/cpu\(cpu)/cpufreq"
    try root.write("\(d)/scaling_governor", governor + "\n")
    try root.write("\(d)/scaling_cur_freq", "\(cur)\n")
    try root.write("\(d)/cpuinfo_max_freq", "\(max)\n")
    try root.write("\(d)/scaling_max_freq", "\(scalingMax)\n")
}

/// /proc/stat with the aggregate line (user nice system idle iowait irq softirq steal guest guest_nice)
/// and four cpuN lines.
private func procStat(user: Int, idle: Int, steal: Int) -> String {
    var s = "cpu  \(user) 0 0 \(idle) 0 0 0 \(steal) 0 0\n"
    for i in 0..<4 { s += "cpu\(i) 1 0 0 1 0 0 0 0 0 0\n" }
    return s + "intr 12345\nctxt 999\n"
}

@Suite struct SystemStateTests {
    /// Every warning: governor, a clock drop, a cap, Raspberry Pi flags set during the run, steal,
    /// load, heat.
    @Test func fakeTreeGivesTheWarnings() throws {
        let root = try FakeRoot("state")
        try writeCPU(root, 0, governor: "ondemand", cur: 2_400_000, max: 2_400_000, scalingMax: 2_400_000)
        try writeCPU(root, 1, governor: "performance", cur: 1_500_000, max: 2_400_000, scalingMax: 1_500_000)
        try writeCPU(root, 2, governor: "powersave", cur: 600_000, max: 2_400_000, scalingMax: 2_400_000)  // not used
        try root.write("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n")
        try root.write("sys/class/thermal/thermal_zone0/temp", "61500\n")
        try root.write("sys/devices/platform/soc/soc:firmware/get_throttled", "0\n")
        try root.write("proc/loadavg", "3.10 1.00 0.50 2/300 4242\n")
        try root.write("proc/stat", procStat(user: 1000, idle: 9000, steal: 0))
        let before = SystemState.read(cpus: [0, 1], root: root.path)
        #expect(before.clocks[0] == CoreClock(cpu: 0, governor: "ondemand", currentKHz: 2_400_000, hardwareMaxKHz: 2_400_000, scalingMaxKHz: 2_400_000))
        #expect(before.cpuCount == 4)
        #expect(before.load1 == 3.1)
        #expect(before.ticks == CPUTicks(total: 10000, busy: 1000, steal: 0))
        #expect(before.throttled == ThrottledFlags(raw: 0))
        #expect(before.notes.isEmpty)

        // During the run: cpu0 slows, it gets hot, the firmware flags under-voltage and throttling,
        // 50 of 1000 ticks are stolen.
        try writeCPU(root, 0, governor: "ondemand", cur: 1_800_000, max: 2_400_000, scalingMax: 2_400_000)
        try root.write("sys/class/thermal/thermal_zone0/temp", "85000\n")
        try root.write("sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n")
        try root.write("proc/stat", procStat(user: 1900, idle: 9050, steal: 50))
        let after = SystemState.read(cpus: [0, 1], root: root.path)
        #expect(after.throttled?.now == ["under-voltage", "throttled"])
        #expect(after.throttled?.sinceBoot == ["under-voltage", "throttled"])

        let w = SystemState.warnings(before: before, after: after, usedCores: [0, 1])
        #expect(w == [
            "the CPU governor is not 'performance' (cpu0 ondemand): clocks ramp with load and latency varies; fix with 'echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor'",
            "cpu0's clock dropped during the run, from 2400 to 1800 MHz (scaling_cur_freq at the start and end): thermal or power throttling, or an idle governor",
            "cpu1 is capped at 1500 of 2400 MHz (scaling_max_freq below cpuinfo_max_freq): thermal limit or a power policy",
            "the firmware reports under-voltage, throttled now (get_throttled 0x50005): use a 5 V supply that gives enough current, and cooling",
            "the firmware reports under-voltage, throttled during the run (get_throttled 0x50005): the figures may be low",
            "5.0 % of CPU time was stolen by the hypervisor during the run: the VM's host is busy, so latency figures are unreliable",
            "the 1-minute load was 3.10 before the run (above 2.5 with 2 of 4 CPUs not used by the run): other work shares the CPUs",
            "the SoC is hot (cpu-thermal 85.0 °C, above 80 °C): it may throttle; add cooling or let it cool between runs",
        ])
        #expect(after.text(since: before) == "cpu0 ondemand 1800/2400 MHz; cpu1 performance 1500/1500 MHz; temp cpu-thermal 85.0 °C; throttled 0x50005 (now: under-voltage, throttled; since boot: under-voltage, throttled); load 3.10; steal 5.0 %")
        let json = try JSONSerialization.jsonObject(with: Data(after.json().utf8)) as! [String: Any]
        #expect((json["cpus"] as! [[String: Any]]).count == 2)
        #expect((json["throttled"] as! [String: Any])["raw"] as? Int == 0x50005)
    }

    /// A machine in good shape: no warnings.
    @Test func healthyTreeGivesNoWarnings() throws {
        let root = try FakeRoot("state-ok")
        for cpu in 0..<4 { try writeCPU(root, cpu, governor: "performance", cur: 2_400_000, max: 2_400_000, scalingMax: 2_400_000) }
        try root.write("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n")
        try root.write("sys/class/thermal/thermal_zone0/temp", "45000\n")
        try root.write("proc/loadavg", "0.12 0.10 0.05 1/100 1\n")
        try root.write("proc/stat", procStat(user: 100, idle: 900, steal: 1))
        let before = SystemState.read(cpus: [0, 1, 2, 3], root: root.path)
        try root.write("proc/stat", procStat(user: 1100, idle: 1900, steal: 2))
        let after = SystemState.read(cpus: [0, 1, 2, 3], root: root.path)
        #expect(SystemState.warnings(before: before, after: after, usedCores: [0, 1, 2, 3]).isEmpty)
        #expect(after.text(since: before).hasPrefix("cpu0 performance 2400/2400 MHz; "))
        #expect(after.text(since: before).hasSuffix("temp x86_pkg_temp 45.0 °C; load 0.12; steal 0.0 %"))
    }

    /// Nothing exposed (an empty tree, like a container): no crash, nil fields, "not exposed" notes,
    /// no warnings, valid JSON.
    @Test func emptyTreeGivesNotes() throws {
        let root = try FakeRoot("state-empty")
        let s = SystemState.read(cpus: [0, 1], root: root.path)
        #expect(s.clocks.count == 2)
        #expect(s.clocks.allSatisfy { !$0.exposed })
        #expect(s.thermal.isEmpty && s.throttled == nil && s.load1 == nil && s.ticks == nil)
        #expect(s.notes == ["cpufreq: not exposed (a VM?)", "thermal: no thermal zones exposed", "/proc/stat: not readable", "/proc/loadavg: not readable"])
        #expect(SystemState.warnings(before: s, after: s, usedCores: [0, 1]).isEmpty)
        #expect(s.text() == "cpufreq: not exposed (a VM?); thermal: no thermal zones exposed; /proc/stat: not readable; /proc/loadavg: not readable")
        let json = try JSONSerialization.jsonObject(with: Data(s.json().utf8)) as! [String: Any]
        #expect(json["load1"] is NSNull)
    }

    /// A VM: /proc but no cpufreq, thermal or firmware files.
    @Test func virtualMachine() throws {
        let root = try FakeRoot("state-vm")
        try root.write("proc/loadavg", "0.00 0.00 0.00 1/50 7\n")
        try root.write("proc/stat", procStat(user: 10, idle: 90, steal: 0))
        let s = SystemState.read(cpus: [0], root: root.path)
        #expect(s.notes == ["cpufreq: not exposed (a VM?)", "thermal: no thermal zones exposed"])
        #expect(s.text() == "load 0.00; steal 0.0 % since boot; cpufreq: not exposed (a VM?); thermal: no thermal zones exposed")
    }
}
