import Foundation
import SwiftletApp
import SwiftletCore
import Testing

// Messages that misled (issue #12, item 5): negative numbers were "Missing value for '--runs
// <runs>'"; `--mean nan,2,3` reached the importer; with --json errors were plain text; the same
// failure exited 1 on the host and 64 on the board. Each is checked here on the host binary and the
// board binaries (x86-64 natively, rpi4 under qemu).

/// A board binary as an argv prefix, or a test failure naming how to build it.
func boardCommand(_ board: String) throws -> [String] {
    let bin = repoFile("build/boards/\(board)/swiftlet")
    guard FileManager.default.isExecutableFile(atPath: bin) else {
        throw TestFailure("\(bin) is missing: run 'tools/build-board \(board)' (tools/test.sh does)")
    }
    return board == "x86-64" ? [bin] : [BoardTests.qemu, "-cpu", "cortex-a72", bin]
}

/// One failure that both CLIs can meet, with its exit code and a phrase of its message.
struct Failure: CustomTestStringConvertible, Sendable {
    let name: String
    let code: Int32
    let says: String
    let args: @Sendable (OutputSafetyFiles) -> [String]

    var testDescription: String { name }

    static let all: [Failure] = [
        Failure(name: "--runs -1", code: 64, says: "--runs must be at least 1, got -1") {
            ["run", $0.model, "--input", $0.tensor, "--output", $0.dir + "/o.npy", "--runs", "-1"]
        },
        Failure(name: "--top -3", code: 64, says: "--top must be at least 1, got -3") {
            ["run", $0.model, "--image", $0.calibrationImage, "--top", "-3"]
        },
        Failure(name: "--threads -2", code: 64, says: "--threads must be between 1 and 64, got -2") {
            ["run", $0.model, "--image", $0.calibrationImage, "--threads", "-2"]
        },
        Failure(name: "bench --runs -1", code: 64, says: "--runs must be at least 1, got -1") { ["bench", $0.model, "--runs", "-1"] },
        Failure(name: "bench --warmup -1", code: 64, says: "--warmup must be 0 or more, got -1") { ["bench", $0.model, "--warmup", "-1"] },
        Failure(name: "unknown flag", code: 64, says: "--bogus") { ["run", $0.model, "--bogus"] },
        Failure(name: "--output is the model", code: 64, says: "is the same file as the model") {
            ["run", $0.model, "--input", $0.tensor, "--output", $0.model]
        },
        Failure(name: ".npy shape mismatch", code: 1, says: "shape [1, 3] does not match the model input 'input' [1, 1, 8, 8]") {
            ["run", $0.model, "--input", $0.dir + "/wrong.npy", "--output", $0.dir + "/o.npy"]
        },
        Failure(name: "bench .npy shape mismatch", code: 1, says: "shape [1, 3] does not match the model input 'input' [1, 1, 8, 8]") {
            ["bench", $0.model, "--input", $0.dir + "/wrong.npy", "--runs", "1"]
        },
        Failure(name: ".npy dtype", code: 1, says: "dtype '<i8' is not floating point") {
            ["run", $0.model, "--input", $0.dir + "/ints.npy", "--output", $0.dir + "/o.npy"]
        },
        Failure(name: "missing model", code: 1, says: "no such file or directory (ENOENT)") { ["inspect", $0.dir + "/none.swl"] },
        Failure(name: "/dev/null as the model", code: 1, says: "/dev/null is a character device, not a model file") { _ in ["inspect", "/dev/null"] },
        Failure(name: "not a JPEG", code: 1, says: "not a JPEG") { ["run", $0.model, "--image", $0.tensor] },
    ]
}

/// The scratch files plus a wrong-shape and an integer .npy.
func messageFiles() throws -> OutputSafetyFiles {
    let f = try OutputSafetyFiles()
    try NPYArray(floats: [1, 2, 3], shape: [1, 3]).write(to: f.dir + "/wrong.npy")
    try NPYArray(type: .int64, shape: [1], data: [1, 0, 0, 0, 0, 0, 0, 0]).write(to: f.dir + "/ints.npy")
    return f
}

/// The one JSON object on stderr, as a dictionary.
func errorObject(_ r: CLIResult) throws -> [String: Any] {
    let lines = r.stderr.split(separator: "\n")
    try #require(lines.count == 1, "expected one line of JSON on stderr, got: \(r.stderr)")
    return try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any], "\(r.stderr)")
}

@Suite("CLI messages and exit codes")
struct CLIMessageTests {
    @Test("each failure has the same exit code and message on the host and the boards", arguments: Failure.all)
    func sameOnHostAndBoard(f: Failure) throws {
        let files = try messageFiles()
        let host = try swiftlet(f.args(files))
        #expect(host.status == f.code, "host: \(host.stderr)")
        #expect(host.stderr.contains(f.says), "host: \(host.stderr)")
        for board in ["x86-64", "rpi4"] {
            let r = try runProcess("/usr/bin/env", try boardCommand(board) + f.args(files))
            #expect(r.status == f.code, "\(board): \(r.stderr)")
            #expect(r.stderr.contains(f.says), "\(board): \(r.stderr)")
        }
    }

    @Test("with --json every failure is one JSON object with a stable shape, on the host and the boards", arguments: Failure.all)
    func jsonErrors(f: Failure) throws {
        let files = try messageFiles()
        let args = f.args(files) + ["--json"]
        var results = [("host", try swiftlet(args))]
        for board in ["x86-64", "rpi4"] { results.append((board, try runProcess("/usr/bin/env", try boardCommand(board) + args))) }
        for (who, r) in results {
            #expect(r.status == f.code, "\(who): \(r.stderr)")
            let o = try errorObject(r)
            #expect(Set(o.keys) == ["error", "hint", "path", "node", "exit_code"], "\(who): \(o.keys)")
            #expect((o["error"] as? String)?.isEmpty == false, "\(who): \(r.stderr)")
            #expect(o["hint"] is String || o["hint"] is NSNull)
            #expect(o["exit_code"] as? Int == Int(f.code), "\(who): \(r.stderr)")
            #expect(r.stderr.contains(f.says), "\(who): \(r.stderr)")
        }
        // The path, where the failure is about a file.
        if f.name == ".npy shape mismatch" {
            for (who, r) in results {
                #expect(try errorObject(r)["path"] as? String == files.dir + "/wrong.npy", "\(who)")
                #expect(try errorObject(r)["hint"] as? String == "save an array of that shape (ONNX layout)", "\(who)")
            }
        }
    }

    @Test("an unsupported ONNX op names its node in the JSON error")
    func jsonNamesTheNode() throws {
        let e = SwiftletError.unsupportedOp(op: "GridSample", node: "head/gs_3", opset: 16, hint: "")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(e.json.utf8)) as? [String: Any])
        #expect(o["node"] as? String == "head/gs_3")
        #expect(o["error"] as? String == "unsupported ONNX op 'GridSample' (node 'head/gs_3', opset 16)")
        #expect(o["hint"] as? String == "see docs/ops.md for supported ops")
        #expect(o["path"] is NSNull && o["exit_code"] as? Int == 1)
    }

    /// Import flags are checked before anything is read or written.
    @Test("bad import flags are refused before anything is written", arguments: [
        (["--mean", "nan,2,3"], "--mean nan,2,3: nan is not a finite number"),
        (["--std", "-1,1,1"], "--std -1,1,1: -1.0 is not a positive number (the pixels are divided by it)"),
        (["--std", "0,1,1"], "--std 0,1,1: 0.0 is not a positive number"),
        (["--resize-shorter", "-5", "--resize", "crop"], "--resize-shorter must be at least 1, got -5"),
        (["--resize-shorter", "256", "--resize", "letterbox"], "--resize-shorter goes with --resize crop, not letterbox"),
        (["--input-shape", "-1,3,8,8"], "--input-shape dimensions must be positive, got '-1,3,8,8'"),
        (["--name", String(repeating: "n", count: 100_000)], "--name is 100000 bytes long, a .swl stores up to 4096; pass a shorter name"),
    ])
    func importFlags(flags: [String], says: String) throws {
        let files = try OutputSafetyFiles()
        let out = files.dir + "/new.swl"
        let r = try swiftlet(["import", files.onnx, "-o", out] + flags)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains(says), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("quantize flags take negative numbers and refuse them with the range")
    func quantizeNegatives() throws {
        let files = try OutputSafetyFiles()
        let r = try swiftlet(["quantize", files.model, "--calibration", files.calibration, "-o", files.dir + "/q.swl", "--images", "-2"])
        #expect(r.status == 64 && r.stderr.contains("--images must be at least 1, got -2"), "\(r.stderr)")
        let p = try swiftlet(["quantize", files.model, "--calibration", files.calibration, "-o", files.dir + "/q.swl", "--percentile", "-1"])
        #expect(p.status == 64 && p.stderr.contains("--percentile must be in (50, 100], got -1.0"), "\(p.stderr)")
    }

    @Test("a directory as --labels names the directory")
    func labelsDirectory() throws {
        let files = try OutputSafetyFiles()
        let r = try swiftlet(["import", files.onnx, "-o", files.dir + "/l.swl", "--labels", files.calibration])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr == "error: \(files.calibration) is a directory, not a labels file; pass the path of a file, not a directory\n")
    }
}
