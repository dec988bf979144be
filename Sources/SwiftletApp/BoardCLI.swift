import SwiftletCore
import SwiftletDetect
import SwiftletKernels

/// What a binary was built for: written by `tools/build-board` into the board build.
public struct BuildInfo: Sendable {
    public var version: String
    /// Board profile name (`boards/<name>.conf`), or `host`.
    public var board: String
    /// The `-mcpu`/`-march` the code was generated for.
    public var cpu: String
    /// CPU features the generated code may use; the running CPU must have them all.
    public var requiredFeatures: [String]
    /// The board profile's default thread count and CPUs to pin them to (empty: no pinning).
    public var threads: Int
    public var affinity: [Int]
    /// The profile's power sensors and power model (`power_sensors`, `power_idle_w`, `power_core_w`).
    public var power: BoardPower

    public init(version: String, board: String, cpu: String, requiredFeatures: [String], threads: Int = 1, affinity: [Int] = [],
                power: BoardPower = BoardPower()) {
        self.version = version
        self.board = board
        self.cpu = cpu
        self.requiredFeatures = requiredFeatures
        self.threads = threads
        self.affinity = affinity
        self.power = power
    }

    /// Threads when `--threads` is not given: the profile's, at most this machine's online CPUs.
    public var defaultThreads: Int { max(1, min(threads, sys_cpuCount())) }
}

/// Swiftlet's version, shared by the host and board CLIs.
public let swiftletVersion = "0.1.0"

/// The board CLI: `run`, `inspect` and `info`, with the host CLI's flag names, parsed by hand
/// (no argument-parser in Embedded Swift). Returns the process exit code: 0, 1 for an error, 64 for
/// a usage error.
public func boardMain(_ args: [String], build: BuildInfo) -> Int32 {
    let usage = """
        USAGE: swiftlet <subcommand>

        SUBCOMMANDS:
          run <model.swl> (--image <a.jpg> ... | --images <dir> | --input <x.npy> --output <out.npy>) [--json] [--top <k>] [--runs <n>] [--profile] [--kernels auto|reference] [--threads <n>] [--memory-limit <size>]
              [--nms hard|hard-agnostic|weighted|soft-linear|soft-gaussian] [--score-threshold <0-1>] [--iou-threshold <0-1>] [--max-detections <n>]
              [--top-k <n>] [--soft-sigma <s>] [--soft-threshold <0-1>] [--overlay <dir>]
              (--overlay writes each image with its detections drawn as <dir>/NAME.ppm, binary PPM)
          run <model.swl> (--camera </dev/videoN> | --video <file>) [--format yuyv|nv12|mjpeg|grey|rgb24] [--size <WxH>] [--fps <n>] [--frames <n>] [--duration <s>] [--queue] [--reconnect] [--no-pipeline] [--json] ...
          cameras [--json]
          record --camera </dev/videoN> -o <dir> [--frames <n>] [--format ...] [--size <WxH>] [--fps <n>] [--queue] [--json]   (raw frames as <dir>/frame_N.ppm)
          bench <model.swl> [--runs <n> | --seconds <s> | --sustained <s>] [--warmup <n>|auto] [--profile] [--input <x.npy>] [--json] [--kernels auto|reference] [--threads <n>] [--affinity <cpus>] [--memory-limit <size>]
              [--energy auto|none|rapl[:PATH]|hwmon:NAME[:LABEL]|pmic|meter:FILE.csv|model] [--idle-seconds <s>] [--idle-watts <w>] [--meter-offset <s>] [--energy-rate <hz>] [--report <file.html>]
          inspect <model.swl> [--json]
          info [--json]
          selftest [--seed <n>] [--cases <n>]
        """
    var rest = Array(args.dropFirst())
    let json = wantsJSON(rest)
    guard let sub = rest.first else {
        sys_printError("error: missing subcommand\n\(usage)\n")
        return 64
    }
    rest.removeFirst()
    if sub.same("--help") || sub.same("-h") || sub.same("help") {
        sys_print("OVERVIEW: Swiftlet \(swiftletVersion) board runtime (\(build.board)): run packed models.\n\n\(usage)")
        return 0
    }
    if sub.same("--version") {
        sys_print(swiftletVersion)
        return 0
    }
    if !sub.same("info") {
        let cpu = CPUFeatures.current()
        let missing = build.requiredFeatures.filter { !cpu.has($0) }
        if !missing.isEmpty {
            let e: SwiftletError = .unsupported(detail: "this binary was built for \(build.board) (\(build.cpu)) and needs CPU features this CPU lacks: \(missing.joined(separator: ", ")); build for a board profile without them (e.g. 'tools/build-board rpi4'), see 'swiftlet info'")
            reportError(e, json: json)
            return e.exitCode
        }
    }
    do throws(SwiftletError) {
        var p = FlagParser(rest, command: sub)
        switch sub {
        case "run":
            guard let o = try parseBoardRun(&p, build: build, usage: usage) else { return 0 }
            try runCommand(o)
        case "bench":
            try benchCommand(try parseBoardBench(&p, build: build))
        case "cameras":
            #if SWIFTLET_NO_CAMERA
            throw noCameraBuild
            #else
            var json = false
            while let flag = try p.nextFlag() {
                switch flag {
                case "--json": json = true
                default: throw p.unknown(flag)
                }
            }
            try camerasCommand(json: json)
            #endif
        case "record":
            #if SWIFTLET_NO_CAMERA
            throw noCameraBuild
            #else
            let (camera, s, out, json) = try parseBoardRecord(&p)
            try recordCommand(camera: camera, s, output: out, json: json)
            #endif
        case "inspect":
            var o = InspectOptions(modelPath: try p.positional("<model.swl>"))
            while let flag = try p.nextFlag() {
                switch flag {
                case "--json": o.json = true
                default: throw p.unknown(flag)
                }
            }
            try inspectCommand(o)
        case "selftest":
            var seed = 1
            var cases = 40
            while let flag = try p.nextFlag() {
                switch flag {
                case "--seed": seed = try p.int(flag)
                case "--cases": cases = try p.int(flag)
                default: throw p.unknown(flag)
                }
            }
            return selfTestCommand(seed: seed, cases: cases)
        case "info":
            var json = false
            while let flag = try p.nextFlag() {
                switch flag {
                case "--json": json = true
                default: throw p.unknown(flag)
                }
            }
            infoCommand(build: build, json: json)
        default:
            throw SwiftletError.usage(detail: "unknown subcommand '\(sub)'\n\(usage)")
        }
        return 0
    } catch {
        reportError(error, json: json)
        return error.exitCode
    }
}

/// `run`'s flags, with the board profile's threads and affinity as defaults; nil after `--help`
/// (printed here).
func parseBoardRun(_ p: inout FlagParser, build: BuildInfo, usage: String) throws(SwiftletError) -> RunOptions? {
    var o = RunOptions(modelPath: try p.positional("<model.swl>"))
    o.threads = build.defaultThreads
    o.affinity = build.affinity
    while let flag = try p.nextFlag() {
        switch flag {
        case "--image":
            o.imagePaths += try p.values(flag)
        case "--images": o.imageFolder = try p.value(flag)
        case "--overlay": o.overlayFolder = try p.value(flag)
        case "--input": o.inputNPY = try p.value(flag)
        case "--output": o.outputNPY = try p.value(flag)
        case "--json": o.json = true
        case "--profile": o.profile = true
        case "--top": o.topK = try p.int(flag)
        case "--runs": o.runs = try p.int(flag)
        case "--kernels": o.kernels = try KernelChoice(parsing: try p.value(flag))
        case "--threads": o.threads = try p.int(flag)
        case "--memory-limit": o.memoryLimit = try p.value(flag)
        case "--nms":
            let v = try p.value(flag)
            guard let k = NMSKind(name: v) else {
                throw .usage(detail: "run: --nms takes hard, hard-agnostic, weighted, soft-linear or soft-gaussian, got '\(v)'")
            }
            o.nmsKind = k
        case "--score-threshold": o.scoreThreshold = try p.decimal(flag)
        case "--iou-threshold": o.iouThreshold = try p.decimal(flag)
        case "--max-detections": o.maxDetections = try p.int(flag)
        case "--top-k": o.nmsTopK = try p.int(flag)
        case "--soft-sigma": o.softSigma = try p.decimal(flag)
        case "--soft-threshold": o.softScoreThreshold = try p.decimal(flag)
        #if SWIFTLET_NO_CAMERA
        case "--camera", "--video", "--format", "--size", "--fps", "--frames", "--duration", "--queue", "--reconnect", "--no-pipeline": throw noCameraBuild
        #else
        case "--camera": o.stream.camera = try p.value(flag)
        case "--video": o.stream.video = try p.value(flag)
        case "--format": o.stream.format = try StreamOptions.parseFormat(try p.value(flag))
        case "--size": (o.stream.width, o.stream.height) = try StreamOptions.parseSize(try p.value(flag))
        case "--fps": o.stream.fps = try p.int(flag)
        case "--frames": o.stream.frames = try p.int(flag)
        case "--duration": o.stream.duration = Double(try p.decimal(flag))
        case "--queue": o.stream.queue = true
        case "--reconnect": o.stream.reconnect = true
        case "--no-pipeline": o.stream.pipeline = false
        #endif
        case "--help", "-h":
            sys_print(usage)
            return nil
        default: throw p.unknown(flag)
        }
    }
    return o
}

/// `bench`'s flags, with the board profile's threads, affinity, CPU and power model as defaults.
func parseBoardBench(_ p: inout FlagParser, build: BuildInfo) throws(SwiftletError) -> BenchOptions {
    var o = BenchOptions(modelPath: try p.positional("<model.swl>"))
    o.threads = build.defaultThreads
    o.affinity = build.affinity
    o.cpu = build.cpu
    o.board = build.power
    while let flag = try p.nextFlag() {
        switch flag {
        case "--runs": o.runs = try p.int(flag)
        case "--seconds": o.seconds = Double(try p.decimal(flag))
        case "--sustained":
            o.seconds = Double(try p.decimal(flag))
            o.sustained = true
        case "--warmup":
            o.warmup = p.peekAuto() ? nil : try p.int(flag)
        case "--profile": o.profile = true
        case "--input": o.inputNPY = try p.value(flag)
        case "--json": o.json = true
        case "--kernels": o.kernels = try KernelChoice(parsing: try p.value(flag))
        case "--threads": o.threads = try p.int(flag)
        case "--affinity": o.affinity = try parseCPUList(try p.value(flag), flag: flag)
        case "--energy": o.energy.source = try p.value(flag)
        case "--idle-seconds": o.energy.idleSeconds = Double(try p.decimal(flag))
        case "--idle-watts": o.energy.idleWatts = Double(try p.decimal(flag))
        case "--meter-offset": o.energy.meterOffsetSeconds = Double(try p.decimal(flag))
        case "--energy-rate": o.energy.rateHz = Double(try p.decimal(flag))
        case "--memory-limit": o.memoryLimit = try p.value(flag)
        case "--report": o.report = try p.value(flag)
        default: throw p.unknown(flag)
        }
    }
    return o
}

#if !SWIFTLET_NO_CAMERA
/// `record`'s flags: the camera, the folder, the stream options and --json.
func parseBoardRecord(_ p: inout FlagParser) throws(SwiftletError) -> (camera: String, StreamOptions, output: String, json: Bool) {
    var s = StreamOptions()
    var out: String? = nil, json = false
    while let flag = try p.nextFlag() {
        switch flag {
        case "--camera": s.camera = try p.value(flag)
        case "-o", "--output": out = try p.value(flag)
        case "--frames": s.frames = try p.int(flag)
        case "--format": s.format = try StreamOptions.parseFormat(try p.value(flag))
        case "--size": (s.width, s.height) = try StreamOptions.parseSize(try p.value(flag))
        case "--fps": s.fps = try p.int(flag)
        case "--queue": s.queue = true
        case "--json": json = true
        default: throw p.unknown(flag)
        }
    }
    guard let camera = s.camera, let out else { throw .usage(detail: "record: --camera /dev/videoN and -o DIR are required") }
    return (camera, s, out, json)
}
#endif

/// `swiftlet selftest`: every SIMD kernel variant this CPU runs against the scalar reference
/// (`kernelSelfTest`); prints the variants, the case count and each failure; exit 1 on a failure.
public func selfTestCommand(seed: Int, cases: Int) -> Int32 {
    let r = kernelSelfTest(seed: UInt64(truncatingIfNeeded: seed), randomCases: max(cases, 0))
    sys_print("variants  \(r.variants.isEmpty ? "(none on this CPU)" : r.variants.joined(separator: " "))")
    for f in r.failures { sys_print("FAIL      \(f)") }
    sys_print("selftest: \(r.cases - r.failures.count) passed, \(r.failures.count) failed")
    return r.failures.isEmpty ? 0 : 1
}

/// Hand-parsed flags: `--name value`, `--name=value`, repeated values until the next flag.
struct FlagParser {
    var args: [String]
    let command: String
    var index = 0

    init(_ args: [String], command: String) {
        self.args = args
        self.command = command
    }

    /// `-x`, `--name`; not a negative number (`-1`, `-.5`, `-1,1,1`), which is a value to check.
    func isFlag(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count > 1, b[0] == UInt8(ascii: "-") else { return false }
        return !((b[1] >= UInt8(ascii: "0") && b[1] <= UInt8(ascii: "9")) || b[1] == UInt8(ascii: "."))
    }

    mutating func positional(_ what: String) throws(SwiftletError) -> String {
        guard index < args.count, !isFlag(args[index]) else {
            throw .usage(detail: "\(command): missing \(what); see 'swiftlet \(command) --help'")
        }
        index += 1
        return args[index - 1]
    }

    mutating func nextFlag() throws(SwiftletError) -> String? {
        guard index < args.count else { return nil }
        let a = args[index]
        guard isFlag(a) else { throw .usage(detail: "\(command): unexpected argument '\(a)'; see 'swiftlet \(command) --help'") }
        index += 1
        // --flag=value: split, leave the value next.
        var name: [UInt8] = []
        var value: [UInt8] = []
        var seenEq = false
        for b in a.utf8 {
            if !seenEq && b == UInt8(ascii: "=") { seenEq = true; continue }
            if seenEq { value.append(b) } else { name.append(b) }
        }
        if seenEq { args.insert(String(decoding: value, as: UTF8.self), at: index) }
        return String(decoding: name, as: UTF8.self)
    }

    mutating func value(_ flag: String) throws(SwiftletError) -> String {
        guard index < args.count, !isFlag(args[index]) else {
            throw .usage(detail: "\(command): \(flag) needs a value; see 'swiftlet \(command) --help'")
        }
        index += 1
        return args[index - 1]
    }

    mutating func values(_ flag: String) throws(SwiftletError) -> [String] {
        var out = [try value(flag)]
        while index < args.count, !isFlag(args[index]) {
            out.append(args[index])
            index += 1
        }
        return out
    }

    /// Whether the next value is `auto` (consumed when it is).
    mutating func peekAuto() -> Bool {
        guard index < args.count, args[index].same("auto") else { return false }
        index += 1
        return true
    }

    mutating func int(_ flag: String) throws(SwiftletError) -> Int {
        let v = try value(flag)
        guard let n = Int(v) else { throw .usage(detail: "\(command): \(flag) takes a whole number, got '\(v)'") }
        return n
    }

    mutating func decimal(_ flag: String) throws(SwiftletError) -> Float {
        let v = try value(flag)
        guard let x = parseDecimal(v) else { throw .usage(detail: "\(command): \(flag) takes a decimal number such as 0.5, got '\(v)'") }
        return x
    }

    func unknown(_ flag: String) -> SwiftletError {
        .usage(detail: "\(command): unknown option '\(flag)'; see 'swiftlet \(command) --help'")
    }
}

/// `swiftlet info`: the build, the running CPU's features, cores, memory, governor and frequency;
/// warns when the CPU lacks a feature the build needs.
public func infoCommand(build: BuildInfo, json: Bool) {
    let cpu = CPUFeatures.current()
    let missing = build.requiredFeatures.filter { !cpu.has($0) }
    let governor = sys_readFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    let khz = sys_readFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq").flatMap { Int($0) }
    #if arch(arm64)
    let arch = "arm64"
    #elseif arch(x86_64)
    let arch = "x86_64"
    #else
    let arch = "other"
    #endif
    if json {
        var s = "{\"version\": \(jsonString(swiftletVersion)), \"board\": \(jsonString(build.board)), \"cpu_target\": \(jsonString(build.cpu))"
        s += ", \"arch\": \(jsonString(arch)), \"required_features\": \(jsonList(build.requiredFeatures))"
        s += ", \"cpu_features\": \(jsonList(cpu.names)), \"missing_features\": \(jsonList(missing))"
        s += ", \"cores\": \(sys_cpuCount()), \"memory_bytes\": \(sys_physicalMemory())"
        s += ", \"governor\": \(governor.map { jsonString($0) } ?? "null"), \"frequency_khz\": \(khz.map { "\($0)" } ?? "null")}"
        sys_print(s)
        return
    }
    sys_print("swiftlet     \(swiftletVersion)")
    sys_print("build        board \(build.board), \(arch), code for \(build.cpu), needs \(build.requiredFeatures.isEmpty ? "no optional features" : build.requiredFeatures.joined(separator: ", "))")
    sys_print("cpu          \(cpu.names.isEmpty ? "(no optional features)" : cpu.names.joined(separator: " "))")
    sys_print("cores        \(sys_cpuCount())")
    sys_print("memory       \(formatBytes(sys_physicalMemory()))")
    sys_print("governor     \(governor ?? "unknown (no cpufreq in sysfs)")")
    sys_print("frequency    \(khz.map { "\(formatFixed(Double($0) / 1000, 0)) MHz" } ?? "unknown")")
    if !missing.isEmpty {
        sys_print("warning      this CPU lacks \(missing.joined(separator: ", ")), which this build needs: build for another board profile (tools/build-board rpi4 builds for CPUs without dotprod)")
    }
}

func jsonList(_ v: [String]) -> String {
    var s = "["
    for (i, x) in v.enumerated() {
        if i > 0 { s += ", " }
        s += jsonString(x)
    }
    return s + "]"
}
