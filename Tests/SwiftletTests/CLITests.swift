import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletModel
import Testing

// The `swiftlet` binary on bad input: exit codes (1 for SwiftletError, 64 for usage errors) and
// stderr that names the problem. Plus one good run of each command on hand-built models.

/// The `swiftlet` executable built beside this test bundle (same build directory and configuration).
let swiftletBinary: String? = {
    var dirs: [URL] = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()]
    if let exe = Bundle.main.executableURL { dirs.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
    for b in Bundle.allBundles { dirs.append(b.bundleURL.resolvingSymlinksInPath().deletingLastPathComponent()) }
    for d in dirs {
        // On Linux the test runner sits in the build directory; on macOS inside an .xctest bundle.
        for c in [d, d.deletingLastPathComponent(), d.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()] {
            let p = c.appendingPathComponent("swiftlet").path
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: p) { return p }
        }
    }
    return nil
}()

/// A real photo shipped in the repository (models/photos).
private let cliPhoto = repoFile("models/photos/chelsea.jpg")

struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `swiftlet args…`, capturing its output through temporary files (no pipe deadlock).
func swiftlet(_ args: [String], environment: [String: String] = [:]) throws -> CLIResult {
    guard let binary = swiftletBinary else {
        throw TestFailure("the swiftlet executable is not next to the test bundle (\(CommandLine.arguments[0])); build it with 'swift build' before 'swift test'")
    }
    return try runProcess(binary, args, environment: environment)
}

/// A fresh empty directory under the system temporary directory.
func scratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A tiny image classifier: NHWC [1, 4, 4, 3] → mean over H, W → FC 3 → 2 classes ("red", "blue").
/// With pre-processing (mean 0, std 255) unless `preprocess` is false.
func tinyClassifier(preprocess: Bool = true) -> HandModel {
    var m = HandModel(name: "tiny")
    let x = m.tensor("image", [1, 4, 4, 3], layout: .nhwc)
    let pooled = m.tensor("pooled", [1, 3])
    m.node(.mean(axes: [1, 2], keepDims: false), [x], pooled)
    let w = m.weights("fc.w", [2, 3], [4, 0, -4, -4, 0, 4])  // red − blue, blue − red
    let b = m.weights("fc.b", [2], [0, 0])
    let y = m.tensor("logits", [1, 2])
    m.node(.fullyConnected(.none), [pooled, w, b], y)
    m.spec.inputs = [x]
    m.spec.outputs = [y]
    if preprocess {
        var p = Preprocess()
        p.std = [255, 255, 255]
        m.spec.preprocess = p
    }
    m.spec.postprocess.kind = .classification
    m.spec.labels = ["red", "blue"]
    return m
}

/// Writes `model` as a .swl in `dir`.
func writeModel(_ model: HandModel, _ dir: String, _ name: String = "model.swl") throws -> String {
    var m = model
    let path = dir + "/" + name
    try Data(m.encoded()).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite("swiftlet CLI")
struct CLITests {
    @Test("the swiftlet binary is built next to the tests")
    func binaryExists() {
        #expect(swiftletBinary != nil, "build it with 'swift build' before 'swift test'")
    }

    @Test("a missing model file is exit 1 naming the path")
    func missingModel() throws {
        for command in ["inspect", "run"] {
            var args = [command, "/nonexistent/dir/model.swl"]
            if command == "run" { args += ["--image", "x.jpg"] }
            let r = try swiftlet(args)
            #expect(r.status == 1, "\(command): \(r.stderr)")
            #expect(r.stderr.hasPrefix("error: /nonexistent/dir/model.swl"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("no such file or directory"), "\(command): \(r.stderr)")
        }
    }

    @Test("a file that is not a .swl is exit 1 saying so")
    func notAModel() throws {
        let dir = try scratchDirectory()
        let path = dir + "/notes.swl"
        try Data(String(repeating: "this is a text file, not a model\n", count: 4).utf8).write(to: URL(fileURLWithPath: path))
        let r = try swiftlet(["inspect", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("not a Swiftlet model"), "\(r.stderr)")
        #expect(r.stderr.contains("swiftlet import"), "\(r.stderr)")

        let empty = dir + "/empty.swl"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let e = try swiftlet(["run", empty, "--input", "x.npy", "--output", "o.npy"])
        #expect(e.status == 1)
        #expect(e.stderr.contains("empty.swl"), "\(e.stderr)")
    }

    @Test("a truncated model is exit 1 saying it is truncated")
    func truncatedModel() throws {
        let dir = try scratchDirectory()
        var m = tinyClassifier()
        let bytes = m.encoded()
        let path = dir + "/cut.swl"
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: path))
        let r = try swiftlet(["inspect", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("truncated"), "\(r.stderr)")
    }

    @Test("unknown flags are usage errors (exit 64) naming the flag")
    func unknownFlag() throws {
        let r = try swiftlet(["run", "model.swl", "--bogus"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--bogus"), "\(r.stderr)")
        let s = try swiftlet(["frobnicate"])
        #expect(s.status == 64)
    }

    @Test("run without --image or --input says what to pass", arguments: [
        (["run", "m.swl"], "--image"),
        (["run", "m.swl", "--input", "x.npy"], "--output"),
        (["run", "m.swl", "--image", "a.jpg", "--input", "x.npy", "--output", "o.npy"], "not both"),
        (["run", "m.swl", "--image", "a.jpg", "--top", "0"], "--top"),
        (["run", "m.swl", "--image", "a.jpg", "--runs", "0"], "--runs"),
        (["import", "m.onnx", "-o", "m.swl", "--mean", "1,2"], "--mean"),
        (["import", "m.onnx", "-o", "m.swl", "--std", "1,0,1"], "--std"),
        (["import", "m.onnx", "-o", "m.swl", "--input-shape", "1,x,3"], "--input-shape"),
    ])
    func usageErrors(args: [String], mentions: String) throws {
        let r = try swiftlet(args)
        #expect(r.status == 64, "\(args): \(r.stderr)")
        #expect(r.stderr.contains(mentions), "\(args): \(r.stderr)")
    }

    @Test("import of a missing ONNX file is exit 1 naming it")
    func importMissing() throws {
        let dir = try scratchDirectory()
        let r = try swiftlet(["import", dir + "/missing.onnx", "-o", dir + "/out.swl"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("missing.onnx"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.swl"))
    }

    @Test("--input with the wrong shape names both shapes")
    func wrongInputShape() throws {
        let dir = try scratchDirectory()
        let model = try writeModel(tinyClassifier(), dir)
        try NPYArray(floats: [Float](repeating: 0, count: 12), shape: [1, 3, 2, 2]).write(to: dir + "/x.npy")
        let r = try swiftlet(["run", model, "--input", dir + "/x.npy", "--output", dir + "/o.npy"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("[1, 3, 2, 2]") && r.stderr.contains("[1, 3, 4, 4]"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.npy"))
    }

    @Test("an image for a model without pre-processing asks for --mean/--std")
    func imageWithoutPreprocess() throws {
        let dir = try scratchDirectory()
        let model = try writeModel(tinyClassifier(preprocess: false), dir)
        let r = try swiftlet(["run", model, "--image", cliPhoto])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--mean") && r.stderr.contains("--std"), "\(r.stderr)")
    }

    @Test("a bad image is reported and the other images still run")
    func badImageAmongGood() throws {
        let dir = try scratchDirectory()
        let model = try writeModel(tinyClassifier(), dir)
        let bad = dir + "/bad.jpg"
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: bad))
        let photo = cliPhoto
        let r = try swiftlet(["run", model, "--image", bad, photo])
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad.jpg") && r.stderr.contains("not a JPEG"), "\(r.stderr)")
        #expect(r.stderr.contains("1 of 2 images failed"), "\(r.stderr)")
        #expect(r.stdout.contains("chelsea.jpg"), "\(r.stdout)")

        let missing = try swiftlet(["run", model, "--image", dir + "/missing.jpg"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("missing.jpg") && missing.stderr.contains("no such file"), "\(missing.stderr)")
    }

    @Test("run --image --json prints one object with the top classes")
    func runImageJSON() throws {
        let dir = try scratchDirectory()
        let model = try writeModel(tinyClassifier(), dir)
        let photo = cliPhoto
        let r = try swiftlet(["run", model, "--image", photo, "--json", "--top", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(obj["image"] as? String == photo)
        #expect(obj["latency_ms"] is NSNumber)
        let top = try #require(obj["top"] as? [[String: Any]])
        #expect(top.count == 2)
        #expect(Set(top.compactMap { $0["label"] as? String }) == ["red", "blue"])
        let sum = top.compactMap { ($0["score"] as? NSNumber)?.doubleValue }.reduce(0, +)
        #expect(abs(sum - 1) < 1e-4, "softmax scores sum to \(sum)")

        let text = try swiftlet(["run", model, "--image", photo, "--top", "1"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix(photo + "  ("), "\(text.stdout)")
        #expect(text.stdout.split(separator: "\n").count == 2, "\(text.stdout)")
    }

    @Test("run --input writes the outputs in ONNX layout")
    func runInputNPY() throws {
        let dir = try scratchDirectory()
        let model = try writeModel(tinyClassifier(), dir)
        // NCHW [1, 3, 4, 4]: red plane 0.5, green 0, blue 0.25 → means (0.5, 0, 0.25) → logits (1, −1).
        var x = [Float](repeating: 0.5, count: 16)
        x += [Float](repeating: 0, count: 16)
        x += [Float](repeating: 0.25, count: 16)
        try NPYArray(floats: x, shape: [1, 3, 4, 4]).write(to: dir + "/x.npy")
        let r = try swiftlet(["run", model, "--input", dir + "/x.npy", "--output", dir + "/out.npy"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try NPYArray(contentsOf: dir + "/out.npy")
        #expect(out.shape == [1, 2])
        expectClose(try out.floats(), [1, -1], "logits")

        // Repeated runs see the same input (the plan reuses the input's space for the logits).
        let again = try swiftlet(["run", model, "--input", dir + "/x.npy", "--output", dir + "/out3.npy", "--runs", "3", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        expectClose(try NPYArray(contentsOf: dir + "/out3.npy").floats(), [1, -1], "logits after 3 runs")
        #expect(again.stdout.contains("\"runs\": 3"), "\(again.stdout)")

        // --profile: one mean time per layer.
        let profiled = try swiftlet(["run", model, "--input", dir + "/x.npy", "--output", dir + "/out.npy", "--profile", "--json"])
        #expect(profiled.status == 0, "\(profiled.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(profiled.stdout.utf8)) as? [String: Any])
        #expect((obj["profile_ms"] as? [NSNumber])?.count == 2)
        // Each layer's fastest run, never above its mean.
        let means = try #require(obj["profile_ms"] as? [NSNumber]), mins = try #require(obj["profile_min_ms"] as? [NSNumber])
        #expect(mins.count == 2)
        for (lo, mean) in zip(mins, means) { #expect(lo.doubleValue <= mean.doubleValue + 1e-4, "min \(lo) above mean \(mean)") }
    }

    @Test("inspect --json reports parameters, MACs and the memory plan")
    func inspectJSON() throws {
        let dir = try scratchDirectory()
        let model = try writeModel(tinyClassifier(), dir)
        let r = try swiftlet(["inspect", model, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        // FC 2×3 + 2 bias = 8 parameters; MACs 1·3·2 = 6.
        #expect((obj["parameters"] as? NSNumber)?.intValue == 8)
        #expect((obj["macs"] as? NSNumber)?.intValue == 6)
        #expect((obj["arena_bytes"] as? NSNumber)?.intValue ?? 0 >= (obj["lower_bound_bytes"] as? NSNumber)?.intValue ?? 1)
        let layers = try #require(obj["layers"] as? [[String: Any]])
        #expect(layers.map { $0["op"] as? String } == ["Mean", "FullyConnected"])
        // The timeline: the image (192 bytes, live throughout) and the pooled vector (12) while the
        // mean runs; then the logits (8) too. The lower bound is the larger step.
        #expect(layers.map { ($0["live_bytes"] as? NSNumber)?.intValue } == [204, 212])
        #expect((obj["lower_bound_bytes"] as? NSNumber)?.intValue == 212)
        let inputs = try #require(obj["inputs"] as? [[String: Any]])
        #expect((inputs.first?["shape"] as? [NSNumber])?.map { $0.intValue } == [1, 3, 4, 4])

        let text = try swiftlet(["inspect", model, "--plan-svg", dir + "/plan.svg"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("FullyConnected") && text.stdout.contains("lower bound"), "\(text.stdout)")
        // One rectangle per arena tensor, named in its tooltip.
        let svg = try String(contentsOfFile: dir + "/plan.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("<title>image ") && svg.contains("<title>pooled ") && svg.contains("<title>logits "))
    }
}

@Suite("Text formatting without Foundation")
struct FormatTests {
    @Test func fixed() {
        #expect(formatFixed(0.71249, 3) == "0.712")
        #expect(formatFixed(0.0005, 3) == "0.001")
        #expect(formatFixed(-0.0004, 3) == "0.000")
        #expect(formatFixed(-2.5, 1) == "-2.5")
        #expect(formatFixed(12.34, 0) == "12")
        #expect(formatFixed(Double.nan, 2) == "nan")
        #expect(formatFixed(-Double.infinity, 2) == "-inf")
        #expect(formatFixed(1e30, 2) == "1.00000e+30")
    }

    @Test func general() {
        #expect(formatGeneral(0.000123456) == "0.000123456")
        #expect(formatGeneral(1234567.0) == "1.23457e+06")
        #expect(formatGeneral(-3.5) == "-3.5")
        #expect(formatGeneral(100.0) == "100")
        #expect(formatGeneral(1e-7) == "1e-07")
        #expect(formatGeneral(9.9999996) == "10")
        #expect(jsonNumber(.nan) == "null")
    }

    @Test func units() {
        #expect(formatCount(864) == "864")
        #expect(formatCount(3_504_872) == "3.50 M")
        #expect(formatCount(300_774_272) == "300.8 M")
        #expect(formatBytes(512) == "512 B")
        #expect(formatBytes(4608) == "4.50 KiB")
    }

    @Test func json() {
        #expect(jsonString("a\"b\\c\nd\u{01}é") == "\"a\\\"b\\\\c\\nd\\u0001é\"")
    }
}
