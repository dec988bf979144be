import CSwiftletSys

/// CPU features Swiftlet's kernels can use, read at run time: a typed set (kernel variants declare
/// the features they need as one of these), with the conventional names for `info` and board profiles.
public struct CPUFeatures: OptionSet, Equatable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // ARM64 (HWCAP bits named as /proc/cpuinfo and board profiles name them).
    public static let neon = CPUFeatures(rawValue: 1 << 0)
    public static let fp16 = CPUFeatures(rawValue: 1 << 1)
    public static let dotprod = CPUFeatures(rawValue: 1 << 2)
    public static let sve = CPUFeatures(rawValue: 1 << 3)
    public static let i8mm = CPUFeatures(rawValue: 1 << 4)
    public static let bf16 = CPUFeatures(rawValue: 1 << 5)
    // x86-64 (cpuid).
    public static let sse2 = CPUFeatures(rawValue: 1 << 8)
    public static let sse41 = CPUFeatures(rawValue: 1 << 9)
    public static let fma = CPUFeatures(rawValue: 1 << 10)
    public static let avx = CPUFeatures(rawValue: 1 << 11)
    public static let avx2 = CPUFeatures(rawValue: 1 << 12)
    public static let avx512f = CPUFeatures(rawValue: 1 << 13)
    public static let avx512bw = CPUFeatures(rawValue: 1 << 14)
    public static let avx512vnni = CPUFeatures(rawValue: 1 << 15)
    public static let avxvnni = CPUFeatures(rawValue: 1 << 16)
    public static let avx512vl = CPUFeatures(rawValue: 1 << 17)

    /// Every feature with its name, in the order `names` lists them.
    public static let named: [(CPUFeatures, String)] = [
        (.neon, "neon"), (.fp16, "fp16"), (.dotprod, "dotprod"), (.sve, "sve"), (.i8mm, "i8mm"), (.bf16, "bf16"),
        (.sse2, "sse2"), (.sse41, "sse4.1"), (.fma, "fma"), (.avx, "avx"), (.avx2, "avx2"), (.avx512f, "avx512f"),
        (.avx512bw, "avx512bw"), (.avx512vl, "avx512vl"), (.avx512vnni, "avx512vnni"), (.avxvnni, "avxvnni"),
    ]

    /// The running CPU's features: `getauxval(AT_HWCAP/AT_HWCAP2)` on ARM64, `cpuid` on x86-64.
    /// Read once per process.
    public static func current() -> CPUFeatures { detected }

    private static let detected: CPUFeatures = {
        var f: CPUFeatures = []
        #if arch(arm64)
        let hw = UInt64(swl_hwcap())
        let hw2 = UInt64(swl_hwcap2())
        if hw & (1 << 1) != 0 { f.insert(.neon) }        // HWCAP_ASIMD
        if hw & (1 << 9) != 0 { f.insert(.fp16) }        // HWCAP_ASIMDHP
        if hw & (1 << 20) != 0 { f.insert(.dotprod) }    // HWCAP_ASIMDDP
        if hw & (1 << 22) != 0 { f.insert(.sve) }        // HWCAP_SVE
        if hw2 & (1 << 13) != 0 { f.insert(.i8mm) }      // HWCAP2_I8MM
        if hw2 & (1 << 14) != 0 { f.insert(.bf16) }      // HWCAP2_BF16
        #elseif arch(x86_64)
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        // The AVX and AVX-512 registers are usable only where the kernel saves them (XCR0: SSE and
        // AVX state, then opmask and the upper ZMM state), whatever cpuid says the core has.
        var ymm = false, zmm = false
        if swl_cpuid(1, 0, &a, &b, &c, &d) != 0 {
            if d & (1 << 26) != 0 { f.insert(.sse2) }
            if c & (1 << 19) != 0 { f.insert(.sse41) }
            if c & (1 << 27) != 0 {  // OSXSAVE
                let xcr0 = swl_xgetbv0()
                ymm = xcr0 & 0x6 == 0x6
                zmm = ymm && xcr0 & 0xE0 == 0xE0
            }
            if ymm && c & (1 << 12) != 0 { f.insert(.fma) }
            if ymm && c & (1 << 28) != 0 { f.insert(.avx) }
        }
        if swl_cpuid(7, 0, &a, &b, &c, &d) != 0 {
            if ymm && b & (1 << 5) != 0 { f.insert(.avx2) }
            if zmm && b & (1 << 16) != 0 { f.insert(.avx512f) }
            if zmm && b & (1 << 30) != 0 { f.insert(.avx512bw) }
            if zmm && b & (1 << 31) != 0 { f.insert(.avx512vl) }
            if zmm && c & (1 << 11) != 0 { f.insert(.avx512vnni) }
        }
        if swl_cpuid(7, 1, &a, &b, &c, &d) != 0 {
            if ymm && a & (1 << 4) != 0 { f.insert(.avxvnni) }
        }
        #endif
        return f
    }()

    /// Names of the features present, e.g. `neon dotprod` or `avx2 fma`.
    public var names: [String] {
        var out: [String] = []
        for (f, name) in CPUFeatures.named where contains(f) { out.append(name) }
        return out
    }

    /// Whether a named feature (a board profile's spelling) is present.
    public func has(_ name: String) -> Bool { names.containsSame(name) }
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
