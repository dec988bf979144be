import CSwiftletSys

/// CPU features Swiftlet's kernels can be built for, read at run time.
public struct CPUFeatures: Equatable, Sendable {
    /// Names of the features present, e.g. `neon`, `dotprod`, `i8mm`, `avx2`, `avx512vnni`.
    public var names: [String]

    /// The running CPU's features: `getauxval(AT_HWCAP/AT_HWCAP2)` on ARM64, `cpuid` on x86-64.
    public static func current() -> CPUFeatures {
        var f: [String] = []
        #if arch(arm64)
        let hw = UInt64(swl_hwcap())
        let hw2 = UInt64(swl_hwcap2())
        if hw & (1 << 1) != 0 { f.append("neon") }        // HWCAP_ASIMD
        if hw & (1 << 9) != 0 { f.append("fp16") }        // HWCAP_ASIMDHP
        if hw & (1 << 20) != 0 { f.append("dotprod") }    // HWCAP_ASIMDDP
        if hw & (1 << 22) != 0 { f.append("sve") }        // HWCAP_SVE
        if hw2 & (1 << 13) != 0 { f.append("i8mm") }      // HWCAP2_I8MM
        if hw2 & (1 << 14) != 0 { f.append("bf16") }      // HWCAP2_BF16
        #elseif arch(x86_64)
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        if swl_cpuid(1, 0, &a, &b, &c, &d) != 0 {
            if d & (1 << 26) != 0 { f.append("sse2") }
            if c & (1 << 19) != 0 { f.append("sse4.1") }
            if c & (1 << 12) != 0 { f.append("fma") }
            if c & (1 << 28) != 0 { f.append("avx") }
        }
        if swl_cpuid(7, 0, &a, &b, &c, &d) != 0 {
            if b & (1 << 5) != 0 { f.append("avx2") }
            if b & (1 << 16) != 0 { f.append("avx512f") }
            if b & (1 << 30) != 0 { f.append("avx512bw") }
            if c & (1 << 11) != 0 { f.append("avx512vnni") }
        }
        if swl_cpuid(7, 1, &a, &b, &c, &d) != 0 {
            if a & (1 << 4) != 0 { f.append("avxvnni") }
        }
        #endif
        return CPUFeatures(names: f)
    }

    /// Whether a named feature is present.
    public func has(_ name: String) -> Bool { names.contains(name) }
}

/// Online CPU count. The corresponding C call is `sysconf(_SC_NPROCESSORS_ONLN)`.
public func sys_cpuCount() -> Int { Int(swl_cpu_count()) }

/// Physical memory in bytes. The corresponding C calls are `sysconf(_SC_PHYS_PAGES)`, `sysconf(_SC_PAGESIZE)`.
public func sys_physicalMemory() -> Int { Int(swl_physical_memory()) }

/// The first line of a small text file (sysfs), or nil if it cannot be read.
public func sys_readFirstLine(_ path: String) -> String? {
    guard let bytes = try? sys_readFile(path) else { return nil }
    var line: [UInt8] = []
    for b in bytes {
        if b == 10 { break }
        line.append(b)
    }
    return String(decoding: line, as: UTF8.self)
}
