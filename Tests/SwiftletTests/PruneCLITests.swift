import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPipeline
import Testing

// `swiftlet prune` end to end on the real digits classifier and its shipped calibration images:
// byte-identical files from the same inputs, a report that adds up, and the bad inputs the issue
// names, each with its exit code and a message that says what to do.

@Suite(.serialized) struct PruneCLITests {
    let digits = repoFile("models/onnx/digits_lenet.onnx")
    let calibration = repoFile("models/digits/calibration")

    /// `swiftlet prune digits … args`, with few images and one timed run (the figures are not checked).
    func prune(_ model: String, _ args: [String]) throws -> CLIResult {
        try swiftlet(["prune", model, "--calibration", calibration, "--images", "40", "--runs", "1", "--quiet"] + args)
    }

    @Test func sameInputsGiveTheSameBytesAndTheReportAddsUp() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files: [[Data]] = []
        for run in ["a", "b"] {
            let r = try prune(digits, ["--macs", "0.6", "--multiple", "4", "-o", "\(dir)/\(run).swl",
                                       "--export-onnx", "\(dir)/\(run).onnx", "--report", "\(dir)/\(run).json"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("pruned digits-lenet to"), "\(r.stdout)")
            files.append(try ["swl", "onnx"].map { try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(run).\($0)")) })
        }
        // Two processes (each with its own hash seed): the same bytes.
        #expect(files[0] == files[1])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.json"))) as! [String: Any]
        let before = report["before"] as! [String: Any], after = report["after"] as! [String: Any]
        let ratio = Double(after["macs"] as! Int) / Double(before["macs"] as! Int)
        #expect(ratio <= 0.6 && ratio > 0.3, "MAC ratio \(ratio)")
        #expect((after["parameters"] as! Int) < (before["parameters"] as! Int))
        // The file holds what the report says: fewer MACs, and it loads and runs.
        let pruned = try PackedModel(path: "\(dir)/a.swl")
        #expect(modelStats(pruned.spec).macs == after["macs"] as! Int)
        let layers = report["layers"] as! [[String: Any]]
        #expect(layers.contains { ($0["outputs"] as! [Int])[1] < ($0["outputs"] as! [Int])[0] })
        let run = try swiftlet(["run", "\(dir)/a.swl", "--image", repoFile("models/digits/test/3/0045.jpg")])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func badTargetsAreUsageErrors() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/p.swl"
        for (args, says) in [
            (["--macs", "0"], "(0, 1]"),
            (["--macs", "1.5"], "(0, 1]"),
            (["--macs", "nan"], "(0, 1]"),
            ([String](), "give a target"),
            (["--macs", "0.5", "--latency-ms", "3"], "not both"),
            (["--macs", "0.5", "--board", "rpi4"], "--board goes with --latency-ms"),
            (["--latency-ms", "-1"], "above 0"),
            // Unreachable: says how far it goes.
            (["--macs", "0.05"], "cannot be reached"),
            (["--latency-ms", "0.000001"], "cannot be reached"),
        ] {
            let r = try prune(digits, args + ["-o", out])
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(says), "\(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(args) wrote a file")
        }
        let floor = try prune(digits, ["--macs", "0.05", "-o", out])
        #expect(floor.stderr.contains("pass --macs 0."), "\(floor.stderr)")
    }

    @Test func latencyTargets() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Already met here: the model is written whole, and says so.
        var r = try prune(digits, ["--latency-ms", "1000", "-o", "\(dir)/a.swl", "--multiple", "4"])
        #expect(r.status == 0 && r.stdout.contains("already meets the target"), "\(r.stdout) \(r.stderr)")
        #expect(try PackedModel(path: "\(dir)/a.swl").spec.parameterCount == importONNX(path: digits, options: ImportOptions()).parameterCount)
        // Estimated for a board: out of reach, with both latencies.
        r = try prune(digits, ["--latency-ms", "0.000001", "--board", "rpi4", "-o", "\(dir)/b.swl", "--multiple", "4"])
        #expect(r.status == 64 && r.stderr.contains("cannot be reached on rpi4 (estimated, float32)") && r.stderr.contains("pass --latency-ms 0.0")
                && !r.stderr.contains("0.00 ms"), "\(r.stderr)")
        r = try prune(digits, ["--latency-ms", "5", "--board", "pi9000", "-o", "\(dir)/b.swl"])
        #expect(r.status == 64 && r.stderr.contains("--board 'pi9000'"), "\(r.stderr)")
    }

    @Test func precisionTimesTheChoiceAndTheLatencyTarget() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Counts by output noise per removed int8 millisecond: each candidate quantized and timed; the
        // file is a float model like any other, and the report names the choice.
        var r = try prune(digits, ["--macs", "0.6", "--multiple", "4", "--precision", "int8", "-o", "\(dir)/a.swl", "--report", "\(dir)/a.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("by sensitivity per removed int8 millisecond"), "\(r.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.json"))) as! [String: Any]
        let ratio = Double((report["after"] as! [String: Any])["macs"] as! Int) / Double((report["before"] as! [String: Any])["macs"] as! Int)
        #expect(ratio <= 0.6 && ratio > 0.3, "MAC ratio \(ratio)")
        #expect(try PackedModel(path: "\(dir)/a.swl").spec.tensors.allSatisfy { $0.dtype == .float32 })
        // Both models' int8 latencies are reported beside the float ones.
        #expect(r.stdout.contains("latency here, int8 (quantized on one calibration image): 1 thread"), "\(r.stdout)")
        for side in ["before", "after"] { #expect((report[side] as! [String: Any])["int8_ms_1_thread"] is Double, "\(side)") }
        // The report lists every free group's levels with the time each removes; a smaller count is
        // never credited with less (the figures themselves are wall time and not checked).
        let groups = try #require(report["sensitivity"] as? [[String: Any]])
        #expect(!groups.isEmpty)
        for g in groups {
            let levels = g["levels"] as! [[String: Any]]
            let saved = levels.map { $0["saved_ms"] as! Double }
            #expect(zip(saved, saved.dropFirst()).allSatisfy { $0 <= $1 }, "\(g)")
            #expect(zip(levels, levels.dropFirst()).allSatisfy { ($0["kept"] as! Int) > ($1["kept"] as! Int) }, "\(g)")
        }
        // A latency target in int8: already met by the unpruned int8 model here, and an unreachable one
        // on a board says it was estimated in int8.
        r = try prune(digits, ["--latency-ms", "1000", "--precision", "int8", "-o", "\(dir)/b.swl", "--multiple", "4"])
        #expect(r.status == 0 && r.stdout.contains("already meets the target") && r.stdout.contains("int8, measured"), "\(r.stdout) \(r.stderr)")
        r = try prune(digits, ["--latency-ms", "0.000001", "--board", "rpi4", "--precision", "int8", "-o", "\(dir)/c.swl", "--multiple", "4"])
        #expect(r.status == 64 && r.stderr.contains("cannot be reached on rpi4 (estimated, int8)"), "\(r.stderr)")
        #expect(!r.stderr.contains("--precision int8"), "\(r.stderr)")
        // An unknown precision is a usage error naming the choices.
        r = try prune(digits, ["--macs", "0.6", "--precision", "fp16", "-o", "\(dir)/d.swl"])
        #expect(r.status == 64 && r.stderr.contains("--precision takes float32 or int8, got 'fp16'"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/d.swl"))
    }

    @Test func modelsThatCannotBePrunedSayWhy() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Nothing prunable: the tiny classifier's only channels are its input's and its output's.
        let tiny = try writeModel(tinyClassifier(), dir, "tiny.swl")
        var r = try prune(tiny, ["--macs", "0.5", "-o", "\(dir)/p.swl"])
        #expect(r.status == 1 && r.stderr.contains("nothing in") && r.stderr.contains("can be pruned"), "\(r.stderr)")
        // No pre-processing: calibration cannot feed it images.
        let bare = try writeModel(tinyClassifier(preprocess: false), dir, "bare.swl")
        r = try prune(bare, ["--macs", "0.5", "-o", "\(dir)/p.swl"])
        #expect(r.status == 1 && r.stderr.contains("no pre-processing metadata") && r.stderr.contains("--mean"), "\(r.stderr)")
        // An int8 model: prune the float one, then quantize.
        let q = try swiftlet(["quantize", digits, "--calibration", calibration, "--images", "20", "-o", "\(dir)/int8.swl", "--quiet"])
        #expect(q.status == 0, "\(q.stderr)")
        r = try prune("\(dir)/int8.swl", ["--macs", "0.5", "-o", "\(dir)/p.swl"])
        #expect(r.status == 1 && r.stderr.contains("quantized") && r.stderr.contains("prune the float model"), "\(r.stderr)")
        // A calibration image that is not a JPEG is named.
        let bad = "\(dir)/cal"
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: "\(bad)/broken.jpg"))
        r = try swiftlet(["prune", digits, "--calibration", bad, "--macs", "0.5", "-o", "\(dir)/p.swl", "--quiet"])
        #expect(r.status == 1 && r.stderr.contains("broken.jpg"), "\(r.stderr)")
        // The output may not replace the model.
        r = try prune(tiny, ["--macs", "0.5", "-o", tiny])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/p.swl"))
    }
}
