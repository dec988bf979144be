import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletModel
import SwiftletPlanner
import SwiftletRuntime
import Testing

/// The Embedded Swift board binaries (`tools/build-board`, run by tools/test.sh before the tests)
/// give the host build's outputs: aarch64 under qemu-aarch64 as a Cortex-A72 (rpi4: no dotprod) and
/// as `-cpu max` (rpi5: dotprod), and x86-64 natively.
@Suite("board binaries", .serialized) struct BoardTests {
    static let qemu = "/usr/bin/qemu-aarch64-static"

    /// (profile, qemu CPU or nil for a native run)
    static let boards: [(String, String?)] = [("rpi4", "cortex-a72"), ("rpi5", "max"), ("x86-64", nil)]

    func binary(_ board: String) throws -> String {
        let path = repoFile("build/boards/\(board)/swiftlet")
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: run 'tools/build-board \(board)' (tools/test.sh does)")
        }
        return path
    }

    /// Runs a board binary, natively or under qemu-aarch64 with the given CPU; in `directory` when given.
    func runBoard(_ board: String, cpu: String?, _ args: [String], in directory: String? = nil,
                  environment: [String: String] = [:]) throws -> CLIResult {
        let bin = try binary(board)
        if let cpu {
            guard FileManager.default.isExecutableFile(atPath: Self.qemu) else {
                throw TestFailure("\(Self.qemu) is missing: install Debian's qemu-user-static")
            }
            return try runProcess(Self.qemu, ["-cpu", cpu, bin] + args, in: directory, environment: environment)
        }
        return try runProcess(bin, args, in: directory, environment: environment)
    }

    /// Short relative paths are small strings, stored inline in the String value rather than in a
    /// heap buffer. The Embedded runtime of Swift 6.3 mangled them when retained
    /// (`tools/board/bridge-retain-fix.c`): a board binary with the CLI built -Osize passed a garbage
    /// path to stat(2) and crashed on `run m.swl --input x.npy --output o.npy`. Paths of under 16
    /// bytes on every board: a one-output model (the output path is the flag's own string) and
    /// R-Net's two outputs (o-bbox_reg.npy and o-prob.npy, built from it).
    @Test("short (inline) paths reach the system calls intact", arguments: ["rpi4", "rpi5", "x86-64"])
    func shortPathsSurvive(board: String) throws {
        let (_, cpu) = Self.boards.first { $0.0 == board }!
        let dir = try scratchDirectory()
        for (model, shape) in [("digits_lenet", [1, 1, 8, 8]), ("mtcnn_rnet", [1, 3, 24, 24])] {
            _ = try swiftlet(["import", repoFile("models/onnx/\(model).onnx"), "-o", dir + "/m.swl"])
            let count = shape.reduce(1, *)
            try NPYArray(floats: (0..<count).map { Float($0 % 17) / 17 }, shape: shape).write(to: dir + "/x.npy")
            let host = try swiftlet(["run", dir + "/m.swl", "--input", dir + "/x.npy", "--output", dir + "/host.npy"])
            #expect(host.status == 0, "\(host.stderr)")
            let r = try runBoard(board, cpu: cpu, ["run", "m.swl", "--input", "x.npy", "--output", "o.npy"], in: dir)
            #expect(r.status == 0, "\(board) \(model): \(r.stdout) \(r.stderr)")
            var compared = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasPrefix("host") {
                let got = try NPYArray(contentsOf: dir + "/o" + name.dropFirst(4)).floats()
                let want = try NPYArray(contentsOf: dir + "/" + name).floats()
                #expect(relativeError(got, want) < 1e-5, "\(board) \(model): \(name)")
                compared += 1
                try FileManager.default.removeItem(atPath: dir + "/" + name)
            }
            #expect(compared == (model == "mtcnn_rnet" ? 2 : 1), "\(board) \(model)")
        }
        let i = try runBoard(board, cpu: cpu, ["inspect", "m.swl"], in: dir)
        #expect(i.status == 0 && i.stdout.contains("m.swl"), "\(board): \(i.stdout) \(i.stderr)")
        let missing = try runBoard(board, cpu: cpu, ["run", "none.swl", "--input", "x.npy", "--output", "o.npy"], in: dir)
        #expect(missing.status == 1 && missing.stderr.contains("none.swl: open failed"), "\(board): \(missing.stderr)")
    }

    @Test("outputs equal the host build's: bit for bit with the reference kernels, within 1e-5 with the SIMD ones",
          arguments: GoldenTests.models)
    func sameOutputsAsHost(model: String) throws {
        let meta = try GoldenMeta(model: model)
        let (spec, interp) = try importAndLoad(meta.onnxPath)
        let dir = try scratchDirectory()
        try sys_writeFile(dir + "/m.swl", encodeSWL(spec))
        let reference = try Interpreter(model: PackedModel(path: dir + "/m.swl"), kernels: .reference)
        let photo = meta.photos[0]
        let shape = meta.inputShape
        let u8 = try NPYArray(contentsOf: meta.dir + "/\(photo).u8.npy")
        let x = normalizedNCHW(u8.data, h: shape[2], w: shape[3], mean: meta.mean, std: meta.std)
        try NPYArray(floats: x, shape: shape).write(to: dir + "/x.npy")
        for run in [interp, reference] {
            run.setInput(0, logical: x)
            run.invoke()
        }
        for (board, cpu) in Self.boards {
            for kernels in ["reference", "auto"] {
                let out = dir + "/\(board)-\(kernels).npy"
                let r = try runBoard(board, cpu: cpu, ["run", dir + "/m.swl", "--input", dir + "/x.npy", "--output", out, "--kernels", kernels])
                #expect(r.status == 0, "\(board): \(r.stderr)")
                for o in 0..<spec.outputs.count {
                    let file = spec.outputs.count == 1 ? out : outputPath(out, outputFileNames(spec)[o])
                    let got = try NPYArray(contentsOf: file).floats()
                    if kernels == "reference" {
                        // The same reference kernels, the same IEEE operations in the same order, no FMA
                        // contraction: the board gives the host's bits (docs/boards.md).
                        let want = reference.output(o)
                        #expect(got.map { $0.bitPattern } == want.map { $0.bitPattern },
                                "\(model) on \(board): output \(o) differs from the host build (max relative error \(relativeError(got, want)))")
                    } else {
                        // SIMD variants: another ISA may round differently (docs/kernels.md).
                        let e = relativeError(got, interp.output(o))
                        #expect(e < 1e-5, "\(model) on \(board) (--kernels auto): output \(o) relative error \(e) against the host's")
                    }
                }
            }
        }
    }

    /// Detection runs in the board binary: the same faces as the host's `run --json` (and so the
    /// reference's), within the rounding of another ISA's SIMD kernels; the threshold flags parse.
    @Test("BlazeFace's detections on the board equal the host's", arguments: ["rpi4", "rpi5", "x86-64"])
    func detectionsAsHost(board: String) throws {
        let (_, cpu) = Self.boards.first { $0.0 == board }!
        let dir = try scratchDirectory()
        let imp = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let photos = ["astronaut", "grace_hopper", "chelsea"].map { repoFile("models/photos/\($0).jpg") }
        let host = try swiftlet(["run", dir + "/b.swl", "--json", "--image"] + photos)
        let r = try runBoard(board, cpu: cpu, ["run", dir + "/b.swl", "--json", "--image"] + photos)
        #expect(host.status == 0 && r.status == 0, "\(board): \(r.stderr)")
        func detections(_ out: String) throws -> [[[String: Any]]] {
            try out.split(separator: "\n").map { line in
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["detections"] as! [[String: Any]]
            }
        }
        let want = try detections(host.stdout), got = try detections(r.stdout)
        #expect(got.count == 3 && want.count == 3, "\(board): \(r.stdout)")
        for (g, w) in zip(got, want) {
            #expect(g.count == w.count, "\(board): \(g) vs host \(w)")
            for (a, b) in zip(g, w) {
                #expect(a["label"] as? String == b["label"] as? String)
                #expect(abs((a["score"] as! NSNumber).floatValue - (b["score"] as! NSNumber).floatValue) <= 1e-4)
                #expect(boxIoU((a["box"] as! [NSNumber]).map { $0.floatValue }, (b["box"] as! [NSNumber]).map { $0.floatValue }) >= 0.99)
            }
        }
        #expect(want[0].count == 1 && want[2].isEmpty, "astronaut has one face, chelsea none")
        let t = try runBoard(board, cpu: cpu, ["run", dir + "/b.swl", "--image", photos[0], "--score-threshold", "0.95", "--nms", "hard"])
        #expect(t.status == 0 && t.stdout.contains("no detections (score >= 0.95)"), "\(board): \(t.stdout) \(t.stderr)")
        let bad = try runBoard(board, cpu: cpu, ["run", dir + "/b.swl", "--image", photos[0], "--iou-threshold", "x"])
        #expect(bad.status == 64 && bad.stderr.contains("--iou-threshold takes a decimal number such as 0.5, got 'x'"), "\(board): \(bad.stderr)")
    }

    /// The static aarch64 boards leave libjpeg's arithmetic decoder out (`tools/board/libjpeg-trim.c`):
    /// a JPEG that declares arithmetic coding (here a photo whose SOF0 marker says SOF9) gets
    /// libjpeg's own message and exit 1, never a crash; the photos themselves decode (the goldens above).
    @Test("an arithmetic-coded JPEG is refused by name on the static boards", arguments: ["rpi4", "rpi5"])
    func arithmeticJPEGIsRefused(board: String) throws {
        let (_, cpu) = Self.boards.first { $0.0 == board }!
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/mobilenet_v2.onnx"), "-o", dir + "/m.swl"])
        var jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: repoFile("models/photos/chelsea.jpg"))))
        guard let sof = (0..<(jpeg.count - 1)).first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }) else {
            throw TestFailure("chelsea.jpg has no SOF0 marker")
        }
        jpeg[sof + 1] = 0xC9
        try Data(jpeg).write(to: URL(fileURLWithPath: dir + "/arith.jpg"))
        let r = try runBoard(board, cpu: cpu, ["run", "m.swl", "--image", "arith.jpg"], in: dir)
        #expect(r.status == 1, "\(board): \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("arithmetic coding is not implemented"), "\(board): \(r.stderr)")
    }

    /// Every SIMD kernel variant of the board's architecture against the reference, on the board
    /// binary: NEON alone as a Cortex-A72, NEON and the dot product as `-cpu max`, AVX2 natively.
    @Test("the kernel self-test passes on every board", arguments: ["rpi4", "rpi5", "x86-64"])
    func kernelSelfTestOnBoards(board: String) throws {
        let (_, cpu) = Self.boards.first { $0.0 == board }!
        let r = try runBoard(board, cpu: cpu, ["selftest", "--cases", "60"])
        #expect(r.status == 0, "\(board): \(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains(" 0 failed"), "\(r.stdout)")
        if board == "rpi4" {
            #expect(r.stdout.contains("conv2dQS8_gemm4x8c4_neon ") && !r.stdout.contains("neonDot"), "\(r.stdout)")
        } else if board == "rpi5" {
            #expect(r.stdout.contains("conv2dQS8_gemm4x8c4_neonDot"), "\(r.stdout)")
        }
    }


    /// The board code compares strings as UTF-8 bytes (SwiftletCore/Text.swift): String's Unicode-aware
    /// `==`, `hasPrefix`, `count` or Character APIs anywhere the board runs would link the standard
    /// library's Unicode data tables again (38 KB on aarch64). `tools/build-board` reads the link map.
    @Test("the board binaries keep none of the standard library's Unicode tables", arguments: ["rpi4", "rpi5", "x86-64"])
    func noUnicodeTables(board: String) throws {
        _ = try binary(board)
        let report = try String(contentsOfFile: repoFile("build/boards/\(board)/size.txt"), encoding: .utf8)
        let line = report.split(separator: "\n").first { $0.hasPrefix("unicode:") }
        #expect(line == "unicode:  0 bytes of the standard library's Unicode data tables kept", "\(board): \(report)")
    }
    /// int8 models (quantized on the host) give the host's outputs bit for bit on every board, at any
    /// thread count: the integer kernels and the pack-time tables leave nothing to the board's
    /// floating point but the final dequantization.
    /// "mobilenet_v2-pruned" is MobileNetV2 pruned to half its MACs (`swiftlet prune`), then quantized:
    /// channel counts the unpruned model never has (72, 120, 216…) reach the kernels' partial blocks.
    @Test("int8 outputs equal the host build's bit for bit", arguments: ["digits_lenet", "mobilenet_v2", "mobilenet_v2-pruned"])
    func sameInt8OutputsAsHost(model: String) throws {
        let dir = try scratchDirectory()
        let pruned = model.hasSuffix("-pruned")
        let base = pruned ? String(model.dropLast("-pruned".count)) : model
        let imagenet = base == "mobilenet_v2"
        var swl = try importToFile("models/onnx/\(base).onnx", labels: imagenet, dir: dir)
        if pruned {
            let r = try swiftlet(["prune", swl, "--calibration", repoFile("models/calibration/imagenet"), "--images", "4", "--runs", "1",
                                  "--quiet", "--macs", "0.5", "-o", dir + "/pruned.swl"])
            #expect(r.status == 0, "\(r.stderr)")
            swl = dir + "/pruned.swl"
        }
        let (int8, _) = try quantizeToFile(swl, calibration: imagenet ? "models/calibration/imagenet" : "models/digits/calibration",
                                           images: imagenet ? 3 : nil)
        let photo = repoFile(imagenet ? "models/photos/chelsea.jpg" : "models/digits/test/7/0081.jpg")
        let host = try swiftlet(["run", int8, "--image", photo, "--json", "--top", "10"])
        #expect(host.status == 0, "\(host.stderr)")
        // The board profile's thread count (here at most the machine's CPUs), one thread, and three.
        for (board, cpu) in Self.boards {
            for threads in [[], ["--threads", "1"], ["--threads", "3"]] {
                let r = try runBoard(board, cpu: cpu, ["run", int8, "--image", photo, "--json", "--top", "10"] + threads)
                #expect(r.status == 0, "\(board): \(r.stderr)")
                // Same scores, same order (the latency field differs).
                // (A run that printed no scores compares as its whole output, so it fails here rather than trapping.)
                func scores(_ s: String) -> String { s.range(of: "\"top\"").map { String(s[$0.lowerBound...]) } ?? s }
                #expect(scores(r.stdout) == scores(host.stdout), "\(model) int8 on \(board) \(threads): \(r.stdout) vs host \(host.stdout)")
            }
        }
    }

    /// An arena the process may not have (ulimit -v) is a clear error with the size needed, not a crash.
    @Test func arenaBeyondTheMemoryLimitIsExplained() throws {
        let dir = try scratchDirectory()
        var m = tinyClassifier()
        _ = planArena(&m.spec)
        m.spec.arenaBytes = 512 << 20  // a plan that asks for 512 MiB
        try sys_writeFile(dir + "/big.swl", encodeSWL(m.spec))
        try NPYArray(floats: [Float](repeating: 0.5, count: 48), shape: [1, 3, 4, 4]).write(to: dir + "/x.npy")
        // The static x86-64 board binary needs a few MiB; 200 MiB of address space leaves no room for the arena.
        let bin = try binary("x86-64")
        let r = try runProcess("/bin/bash", ["-c", "ulimit -v 204800; exec \"$0\" run \"$1\" --input \"$2\" --output \"$3\"",
                                             bin, dir + "/big.swl", dir + "/x.npy", dir + "/o.npy"])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("the arena: cannot allocate 536870912 bytes") && r.stderr.contains("ulimit"), "\(r.stderr)")
    }

    @Test func infoReportsDotprod() throws {
        let a72 = try runBoard("rpi4", cpu: "cortex-a72", ["info", "--json"])
        #expect(a72.status == 0)
        #expect(a72.stdout.contains("\"cpu_features\": [\"neon\"]"), "\(a72.stdout)")
        let max = try runBoard("rpi5", cpu: "max", ["info"])
        #expect(max.stdout.contains("dotprod"), "\(max.stdout)")
        #expect(!max.stdout.contains("warning"))
    }

    /// An rpi5 build (dotprod) on a Cortex-A72 explains itself instead of dying on SIGILL.
    @Test func missingFeatureIsExplained() throws {
        let r = try runBoard("rpi5", cpu: "cortex-a72", ["run", "m.swl", "--input", "x.npy", "--output", "o.npy"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("needs CPU features this CPU lacks: dotprod"), "\(r.stderr)")
        #expect(r.stderr.contains("tools/build-board rpi4"))
        let info = try runBoard("rpi5", cpu: "cortex-a72", ["info"])
        #expect(info.stdout.contains("warning      this CPU lacks dotprod"), "\(info.stdout)")
    }

    @Test func unknownBoardListsTheKnownOnes() throws {
        let r = try runProcess("/bin/bash", [repoFile("tools/build-board"), "pi9000"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("unknown board 'pi9000'; known boards: imx8mp jetson-orin-nano qemu-arm64 rk3588 rpi4 rpi5 x86-64"), "\(r.stderr)")
    }

    /// A model written by a newer format version is refused on the board with what to do.
    @Test func newerModelIsExplained() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/mtcnn_pnet.onnx"), "-o", dir + "/p.swl"])
        var bytes = try sys_readFile(dir + "/p.swl")
        bytes[4] = 9  // format major version
        try sys_writeFile(dir + "/p.swl", bytes)
        let r = try runBoard("rpi4", cpu: "cortex-a72", ["inspect", dir + "/p.swl"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("written by a newer Swiftlet (format version 9, this build reads 2)"), "\(r.stderr)")
    }

    /// Every board binary has the RetinaFace decoder again (rpi4 left it out, `retinaface = no`, while
    /// it did not fit under 1 MB): each runs a RetinaFace model and prints its detections.
    @Test func retinaFaceRunsOnEveryBoard() throws {
        let dir = try scratchDirectory()
        let swl = dir + "/retina.swl"
        let imp = try swiftlet(["import", repoFile("Tests/Fixtures/retinaface/stub160.onnx"), "-o", swl, "--decoder", "retinaface",
                                "--mean", "104,117,123", "--std", "58,57,57"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let photo = repoFile("models/photos/astronaut.jpg")
        let host = try swiftlet(["run", swl, "--image", photo, "--json"])
        #expect(host.status == 0, "\(host.stderr)")
        for (board, cpu) in Self.boards {
            let r = try runBoard(board, cpu: cpu, ["run", swl, "--image", photo, "--json"])
            #expect(r.status == 0, "\(board): \(r.stderr)")
            #expect(r.stdout.contains("\"detections\""), "\(board): \(r.stdout)")
        }
    }

    /// The MTCNN cascade runs on the rpi5 and x86-64 binaries (`mtcnn = no` leaves it out of rpi4 only,
    /// which refuses a bundle with that reason): float32 and int8 bundles give the host's faces, boxes,
    /// keypoints, scores and stage counts as printed (two decimals; six for scores).
    @Test func mtcnnBundlesRunOnRpi5AndX86() throws {
        let dir = try mtcnnBundles(int8: true)
        let photo = repoFile("models/photos/astronaut.jpg")
        func faces(_ out: String) throws -> (detections: String, stages: [String: Int]) {
            let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
            let d = try JSONSerialization.data(withJSONObject: obj["detections"] as! [Any], options: [.sortedKeys])
            var stages: [String: Int] = [:]
            for (k, v) in obj["stages"] as! [String: Any] where !k.hasSuffix("_ms") { stages[k] = (v as! NSNumber).intValue }
            return (String(decoding: d, as: UTF8.self), stages)
        }
        for bundle in ["mtcnn.bundle", "mtcnn-int8.bundle"] {
            let host = try swiftlet(["run", dir + "/" + bundle, "--image", photo, "--json"])
            try #require(host.status == 0, "\(host.stderr)")
            let want = try faces(host.stdout)
            #expect(want.detections.contains("keypoints") && want.stages["onet_boxes"] == 1, "\(host.stdout)")
            for (board, cpu) in Self.boards {
                let r = try runBoard(board, cpu: cpu, ["run", bundle, "--image", photo, "--json"], in: dir)
                if board == "rpi4" {
                    #expect(r.status != 0 && r.stderr.contains("built without the MTCNN cascade"), "\(r.stderr)")
                    continue
                }
                try #require(r.status == 0, "\(board) \(bundle): \(r.stderr)")
                let got = try faces(r.stdout)
                #expect(got.detections == want.detections && got.stages == want.stages, "\(board) \(bundle): \(got) against the host's \(want)")
            }
        }
    }

    /// The YOLO decoders are in every board binary (rpi4 too, since the size work; `yolo = no` would
    /// leave them out): a YOLOv8 model gives the host's number of detections on each.
    @Test func yoloRunsOnEveryBoard() throws {
        let dir = try scratchDirectory()
        let swl = dir + "/yolo.swl"
        let imp = try swiftlet(["import", repoFile("Tests/Fixtures/yolo/stub_v8.onnx"), "-o", swl, "--decoder", "yolov8",
                                "--resize", "letterbox", "--mean", "0,0,0", "--std", "255,255,255"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let photo = repoFile("models/photos/motorcycle.jpg")
        let host = try swiftlet(["run", swl, "--image", photo, "--json"])
        #expect(host.status == 0 && host.stdout.contains("\"detections\""), "\(host.stderr)")
        func count(_ out: String) -> Int { out.components(separatedBy: "\"box\"").count - 1 }
        for (board, cpu) in Self.boards {
            let r = try runBoard(board, cpu: cpu, ["run", swl, "--image", photo, "--json"])
            #expect(r.status == 0, "\(board): \(r.stderr)")
            #expect(r.stdout.contains("\"detections\"") && count(r.stdout) == count(host.stdout), "\(board): \(r.stdout) against \(host.stdout)")
        }
    }

    @Test func wrongFlagsPrintUsage() throws {
        let r = try runBoard("rpi4", cpu: "cortex-a72", ["run", "m.swl", "--bogus"])
        #expect(r.status == 64)
        #expect(r.stderr == "error: run: unknown option '--bogus'; see 'swiftlet run --help'\n")
        let none = try runBoard("x86-64", cpu: nil, [])
        #expect(none.status == 64 && none.stderr.contains("USAGE: swiftlet <subcommand>"))
    }
}

/// `bench` on the host and on a board binary: percentiles in order, usage errors named.
@Suite("bench") struct BenchTests {
    @Test func benchReportsOrderedPercentiles() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/mtcnn_rnet.onnx"), "-o", dir + "/r.swl"])
        let runs: [(kernels: String, result: CLIResult)] = [
            ("reference", try swiftlet(["bench", dir + "/r.swl", "--runs", "20", "--warmup", "2", "--json", "--kernels", "reference"])),
            ("auto", try swiftlet(["bench", dir + "/r.swl", "--runs", "20", "--warmup", "2", "--json"])),
            ("auto", try runProcess(repoFile("build/boards/x86-64/swiftlet"), ["bench", dir + "/r.swl", "--runs", "20", "--json"])),
        ]
        for (kernels, r) in runs {
            #expect(r.status == 0, "\(r.stderr)")
            let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            let l = obj["latency_ms"] as! [String: Double]
            #expect(l["min"]! <= l["p50"]! && l["p50"]! <= l["p90"]! && l["p90"]! <= l["p99"]!, "\(l)")
            #expect(obj["runs"] as? Int == 20)
            // The peak's parts: the weights mapped from the file, the arena, code, no camera, and
            // they do not exceed the peak. The SIMD kernels read the file's packed weights in place
            // (format 2: all touched, none copied); the reference kernels read plain copies unpacked at
            // load, so of the file only the biases and other plain tensors stay.
            let parts = try #require(obj["memory_parts"] as? [String: Int], "no memory_parts: \(r.stdout)")
            let weights = obj["weights_bytes"] as! Int, peak = obj["peak_rss_bytes"] as! Int
            let file = parts["weights_file_resident_bytes"]!
            if kernels == "auto" {
                #expect(file >= weights * 9 / 10 && file <= weights + 256 * 1024, "auto: file resident \(file) for \(weights) bytes of weights")
            } else {
                #expect(file < weights / 2, "reference: file resident \(file) for \(weights) bytes of weights: packed pages not given back")
            }
            #expect(parts["arena_bytes"] == obj["arena_bytes"] as? Int)
            #expect(parts["code_resident_bytes"]! > 0 && parts["camera_buffers_bytes"] == 0)
            #expect(file + parts["arena_bytes"]! + parts["code_resident_bytes"]! + parts["other_bytes"]! <= peak + 4096)
        }
        let bad = try swiftlet(["bench", dir + "/r.swl", "--runs", "0"])
        #expect(bad.status == 64 && bad.stderr.contains("--runs must be at least 1, got 0"), "\(bad.stderr)")
    }

    /// The statistics, the warm-up (settling and fixed), runs for a time, the latency over time, and
    /// usage errors, on the host and on every board binary (aarch64 under qemu).
    @Test func benchStatisticsWarmupAndDuration() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", dir + "/d.swl"])
        let board = BoardTests()
        var results: [(String, CLIResult)] = [("host", try swiftlet(["bench", dir + "/d.swl", "--json", "--runs", "30"]))]
        for (name, cpu) in BoardTests.boards {
            results.append((name, try board.runBoard(name, cpu: cpu, ["bench", dir + "/d.swl", "--json", "--runs", "30"])))
        }
        for (name, r) in results {
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(name): \(r.stdout)")
            let l = try #require(obj["latency_ms"] as? [String: Double])
            #expect(l["min"]! <= l["p50"]! && l["p50"]! <= l["p90"]! && l["p90"]! <= l["p99"]! && l["p99"]! <= l["max"]!, "\(name): \(l)")
            #expect(l["min"]! <= l["mean"]! && l["mean"]! <= l["max"]! && l["stddev"]! >= 0, "\(name): \(l)")
            #expect(obj["runs"] as? Int == 30)
            // The default warm-up runs until the latency settles: at least two windows of 5 runs.
            let w = try #require(obj["warmup"] as? [String: Any], "\(name)")
            #expect((w["runs"] as? Int ?? 0) >= 10 && w["settled"] is Bool, "\(name): \(w)")
        }
        // A fixed warm-up; runs for a time.
        let fixed = try swiftlet(["bench", dir + "/d.swl", "--json", "--warmup", "3", "--seconds", "0.3"])
        let f = try #require(try JSONSerialization.jsonObject(with: Data(fixed.stdout.utf8)) as? [String: Any], "\(fixed.stderr)")
        let fw = try #require(f["warmup"] as? [String: Any])
        #expect(fw["runs"] as? Int == 3 && fw["settled"] is NSNull, "\(fw)")
        #expect((f["seconds"] as? Double ?? 0) >= 0.3 && (f["runs"] as? Int ?? 0) >= 1, "\(f)")
        // --sustained: the runs cut into tenths of the run's time; their counts add up to the runs.
        let sustained = try swiftlet(["bench", dir + "/d.swl", "--json", "--warmup", "2", "--sustained", "0.5"])
        let s = try #require(try JSONSerialization.jsonObject(with: Data(sustained.stdout.utf8)) as? [String: Any], "\(sustained.stderr)")
        let spans = try #require(s["latency_over_time"] as? [[String: Any]], "\(s)")
        #expect(!spans.isEmpty && spans.count <= 10)
        #expect(spans.reduce(0) { $0 + ($1["runs"] as? Int ?? 0) } == s["runs"] as? Int)
        let text = try swiftlet(["bench", dir + "/d.swl", "--warmup", "2", "--sustained", "0.3"])
        #expect(text.status == 0 && text.stdout.contains("over time    p50 ms by tenth of the run:"), "\(text.stdout)")
        for (args, message) in [
            (["--warmup", "some"], "--warmup takes a count or auto, got 'some'"),
            (["--seconds", "0"], "--seconds takes seconds between 0 and 86400"),
            (["--affinity", "3-1"], "--affinity takes CPU numbers and ranges such as 0-3 or 0,2; got '3-1'"),
            (["--seconds", "1", "--sustained", "1"], "--seconds and --sustained both set the run's length"),
        ] {
            let bad = try swiftlet(["bench", dir + "/d.swl"] + args)
            #expect(bad.status == 64 && bad.stderr.contains(message), "\(args): \(bad.stderr)")
        }
        let boardBad = try board.runBoard("x86-64", cpu: nil, ["bench", dir + "/d.swl", "--affinity", "x"])
        #expect(boardBad.status == 64 && boardBad.stderr.contains("--affinity takes CPU numbers"), "\(boardBad.stderr)")
    }

    /// `--profile`: per layer, bytes of weights and activations read and written, hand-counted for the
    /// digits LeNet (float32: 4 bytes an element), and MACs; the layers' times add up to the runs'.
    @Test func benchProfileCountsBytesAndAddsUp() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", dir + "/d.swl"])
        let r = try swiftlet(["bench", dir + "/d.swl", "--json", "--runs", "20", "--warmup", "2", "--profile"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        let profile = try #require(obj["profile"] as? [String: Any], "\(r.stdout)")
        let layers = try #require(profile["layers"] as? [[String: Any]])
        // Input 1×8×8×1. Conv 3×3 1→8 (72 weights + 8 biases) → 8×8×8; MaxPool → 4×4×8; Conv 3×3
        // 8→16 (1152 + 16) → 4×4×16; MaxPool → 2×2×16; Transpose and Flatten (64 values each);
        // Gemm 64→32 (2048 + 32); Gemm 32→10 (320 + 10).
        let want: [(weights: Int, read: Int, written: Int, macs: Int)] = [
            (80 * 4, 64 * 4, 512 * 4, 8 * 8 * 8 * 9), (0, 512 * 4, 128 * 4, 0), (1168 * 4, 128 * 4, 256 * 4, 4 * 4 * 16 * 72),
            (0, 256 * 4, 64 * 4, 0), (0, 64 * 4, 64 * 4, 0), (0, 64 * 4, 64 * 4, 0), (2080 * 4, 64 * 4, 32 * 4, 64 * 32), (330 * 4, 32 * 4, 10 * 4, 320),
        ]
        #expect(layers.count == want.count)
        for (i, (l, w)) in zip(layers, want).enumerated() {
            #expect(l["weight_bytes"] as? Int == w.weights && l["activation_read_bytes"] as? Int == w.read
                    && l["written_bytes"] as? Int == w.written && l["macs"] as? Int == w.macs, "layer \(i): \(l)")
            #expect((l["kernel"] as? String ?? "").isEmpty == false)
        }
        #expect(profile["weight_bytes"] as? Int == want.reduce(0) { $0 + $1.weights })
        #expect(profile["macs"] as? Int == 25408)
        // The layers' times against the whole runs' (the same clock, read around each layer): within 5 %.
        let rnet = dir + "/r.swl"
        _ = try swiftlet(["import", repoFile("models/onnx/mtcnn_rnet.onnx"), "-o", rnet])
        let big = try swiftlet(["bench", rnet, "--json", "--runs", "30", "--warmup", "3", "--profile"])
        let bp = try #require((try JSONSerialization.jsonObject(with: Data(big.stdout.utf8)) as? [String: Any])?["profile"] as? [String: Any], "\(big.stderr)")
        let layersMs = bp["layers_ms"] as! Double, wholeMs = bp["whole_ms"] as! Double
        #expect(layersMs <= wholeMs * 1.001 && layersMs >= wholeMs * 0.95, "layers \(layersMs) ms, whole \(wholeMs) ms")
        let table = try swiftlet(["bench", dir + "/d.swl", "--runs", "5", "--warmup", "1", "--profile"])
        #expect(table.stdout.contains("layers sum") && table.stdout.contains("/3/Conv") && table.stdout.contains("GMAC/s"), "\(table.stdout)")
    }

    /// The per-layer peak counts the threads a layer's step ran on: on 2 threads R-Net's convolutions
    /// are split (2), its short element-wise and pooling steps run whole (1); each fraction is the
    /// layer's GMAC/s over its kernel's MACs a cycle × the clock × those threads.
    @Test func benchProfilePeakCountsTheThreadsALayerRanOn() throws {
        let dir = try scratchDirectory()
        let rnet = dir + "/r.swl"
        _ = try swiftlet(["import", repoFile("models/onnx/mtcnn_rnet.onnx"), "-o", rnet])
        let r = try swiftlet(["bench", rnet, "--json", "--runs", "10", "--warmup", "2", "--profile", "--threads", "2"])
        let profile = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["profile"] as? [String: Any], "\(r.stderr)")
        let layers = try #require(profile["layers"] as? [[String: Any]])
        let threads = layers.map { $0["threads"] as? Int ?? 0 }
        #expect(threads.contains(2) && threads.contains(1) && threads.allSatisfy { $0 == 1 || $0 == 2 }, "\(threads)")
        let ghz = try #require(profile["clock_ghz"] as? Double, "no clock on this machine")
        for l in layers {
            guard let fraction = l["peak_fraction"] as? Double else { continue }
            let want = (l["gmacs_per_s"] as! Double) / ((l["peak_macs_per_cycle"] as! Double) * ghz * Double(l["threads"] as! Int))
            #expect(abs(fraction - want) <= 1e-4 * want, "\(l)")
        }
        // Conv layers with MACs ran on both threads.
        #expect(layers.contains { ($0["op"] as? String ?? "").hasPrefix("Conv2D") && $0["threads"] as? Int == 2 }, "\(layers)")
    }

    /// Energy through bench end to end: a fake powercap tree (SWIFTLET_SYSFS_ROOT) whose package
    /// counter a thread advances by 5 mJ every 5 ms (1 W) while bench runs, on the host and the x86-64
    /// board binary (whose profile names that RAPL zone): measured, with an idle baseline; then an
    /// empty tree: unavailable, with the reason, never zero.
    @Test func benchEnergyFromAFakeRAPLCounter() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", dir + "/d.swl"])
        let root = dir + "/root"
        let rapl = try FakeRAPL(root: root)
        defer { rapl.stop() }
        let env = ["SWIFTLET_SYSFS_ROOT": root]
        let args = ["bench", dir + "/d.swl", "--json", "--warmup", "2", "--seconds", "1", "--idle-seconds", "0.5"]
        for (name, r) in [("host", try swiftlet(args + ["--energy", "rapl"], environment: env)),
                          ("x86-64 board", try BoardTests().runBoard("x86-64", cpu: nil, args, environment: env))] {
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(name): \(r.stdout)")
            let e = try #require(obj["energy"] as? [String: Any], "\(name): \(r.stdout)")
            #expect(e["available"] as? Bool == true && e["measured"] as? Bool == true, "\(name): \(e)")
            // 1 W written by the thread; loosely, as its sleeps stretch on a busy machine.
            let watts = e["mean_w"] as? Double ?? 0, idle = e["idle_w"] as? Double ?? 0
            #expect(watts > 0.2 && watts < 1.2 && idle > 0.2 && idle < 1.2, "\(name): \(e)")
            let frames = Double(obj["runs"] as? Int ?? 1)
            let perFrame = e["mj_per_frame"] as? Double ?? 0, joules = e["joules"] as? Double ?? 0
            #expect(abs(perFrame - joules * 1000 / frames) <= perFrame * 1e-3 + 1e-6, "\(name): \(e)")
            #expect((e["samples"] as? Int ?? 0) >= 2 && e["uncertainty_mj"] is Double, "\(name): \(e)")
        }
        // Nothing to read: unavailable, the reason given (text and JSON), exit 0.
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try swiftlet(["bench", dir + "/d.swl", "--runs", "3", "--warmup", "1"], environment: ["SWIFTLET_SYSFS_ROOT": empty])
        #expect(none.status == 0 && none.stdout.contains("energy       unavailable: RAPL: no /sys/class/powercap/intel-rapl:N zones"), "\(none.stdout)")
        let board = try BoardTests().runBoard("x86-64", cpu: nil, ["bench", dir + "/d.swl", "--runs", "3", "--json"], environment: ["SWIFTLET_SYSFS_ROOT": empty])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(board.stdout.utf8)) as? [String: Any], "\(board.stderr)")
        let be = try #require(b["energy"] as? [String: Any])
        #expect(be["available"] as? Bool == false && (be["reason"] as? String ?? "").contains("energy_uj"), "\(be)")
    }

    /// `bench --profile --report` on every shipped model (models/onnx: those in git and those the test
    /// command exports), on the host and on the rpi5 and x86-64 board binaries (aarch64 under qemu):
    /// it succeeds, profiles every layer, and writes a page with its charts. (Chromium renders one in
    /// ReportTests.)
    @Test func benchProfileAndReportOnEveryShippedModel() throws {
        let dir = try scratchDirectory()
        let names = try FileManager.default.contentsOfDirectory(atPath: repoFile("models/onnx")).filter { $0.hasSuffix(".onnx") }.sorted()
        #expect(names.count >= 12, "\(names)")
        let board = BoardTests()
        for name in names {
            let swl = dir + "/" + name.dropLast(5) + ".swl"
            let imported = try swiftlet(["import", repoFile("models/onnx/" + name), "-o", swl])
            #expect(imported.status == 0, "\(name): \(imported.stderr)")
            let args = ["bench", swl, "--runs", "2", "--warmup", "1", "--profile", "--json", "--energy", "none", "--report"]
            for (who, cpu) in [("host", nil), ("rpi5", "max"), ("x86-64", nil)] as [(String, String?)] {
                let page = "\(swl).\(who).html"
                let r = who == "host" ? try swiftlet(args + [page]) : try board.runBoard(who, cpu: cpu, args + [page])
                #expect(r.status == 0, "\(name) on \(who): \(r.stderr)")
                let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                let layers = (obj?["profile"] as? [String: Any])?["layers"] as? [Any]
                #expect((layers?.count ?? 0) > 0, "\(name) on \(who): no profile")
                let html = (try? String(contentsOfFile: page, encoding: .utf8)) ?? ""
                #expect(html.components(separatedBy: "<svg").count >= 4 && html.hasSuffix("</html>\n"), "\(name) on \(who): \(html.count) bytes")
                try? FileManager.default.removeItem(atPath: page)
            }
        }
    }

    @Test func percentileIsNearestRank() {
        let s: [UInt64] = Array(1...100)
        #expect(percentile(s, 50) == 50 && percentile(s, 90) == 90 && percentile(s, 99) == 99 && percentile(s, 100) == 100)
        #expect(percentile([7], 99) == 7)
    }
}
