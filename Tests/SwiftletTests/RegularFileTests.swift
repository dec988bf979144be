import Foundation
import SwiftletCore
import Testing

// Only regular files are read as models, tensors, images and labels (issue #12, item 4). A FIFO
// named as a model used to block in open(2) for ever (host and board); /dev/null said "mmap
// failed: is a directory (EISDIR)"; a directory as --labels said "(NSCocoaErrorDomain error 256.)".
// Each command is run under `timeout`, so a hang fails the test (exit 124) instead of stopping it.

/// A FIFO, a character device and a directory, each named as every kind of input.
enum NotAFile: String, CaseIterable, CustomTestStringConvertible {
    case fifo, devNull, directory

    var testDescription: String { rawValue }

    /// The path, created in `dir` (a FIFO made with mkfifo(1), no writer ever opens it).
    func make(in dir: String) throws -> String {
        switch self {
        case .devNull: return "/dev/null"
        case .directory:
            let p = dir + "/folder.swl"
            try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: false)
            return p
        case .fifo:
            let p = dir + "/pipe.swl"
            let r = try runProcess("/usr/bin/mkfifo", [p])
            guard r.status == 0 else { throw TestFailure("mkfifo failed: \(r.stderr)") }
            return p
        }
    }

    var kind: String {
        switch self {
        case .fifo: return "a FIFO (named pipe)"
        case .devNull: return "a character device"
        case .directory: return "a directory"
        }
    }

    var hint: String {
        self == .directory ? "pass the path of a file, not a directory"
            : "pass the path of a regular file (devices, FIFOs and sockets are not read or replaced)"
    }
}

/// One input of one command, given `bad` in its place.
struct InputCase: CustomTestStringConvertible, Sendable {
    let name: String
    /// What the message calls the input.
    let what: String
    /// The board binary has this command too.
    let board: Bool
    /// The command line: (files, the bad path).
    let args: @Sendable (OutputSafetyFiles, String) -> [String]

    var testDescription: String { name }

    static let all: [InputCase] = [
        InputCase(name: "inspect <model>", what: "a model file", board: true) { _, bad in ["inspect", bad] },
        InputCase(name: "run <model> --input", what: "a model file", board: true) { f, bad in
            ["run", bad, "--input", f.tensor, "--output", f.dir + "/o.npy"]
        },
        InputCase(name: "bench <model>", what: "a model file", board: true) { _, bad in ["bench", bad, "--runs", "1"] },
        InputCase(name: "run --input", what: "a .npy file", board: true) { f, bad in
            ["run", f.model, "--input", bad, "--output", f.dir + "/o.npy"]
        },
        InputCase(name: "bench --input", what: "a .npy file", board: true) { f, bad in ["bench", f.model, "--input", bad, "--runs", "1"] },
        InputCase(name: "run --image", what: "a JPEG image", board: true) { f, bad in ["run", f.model, "--image", bad] },
        InputCase(name: "import <model>", what: "an ONNX model", board: false) { f, bad in ["import", bad, "-o", f.dir + "/i.swl"] },
        InputCase(name: "import --labels", what: "a labels file", board: false) { f, bad in
            ["import", f.onnx, "-o", f.dir + "/i.swl", "--labels", bad]
        },
        InputCase(name: "quantize <model>", what: "a model file", board: false) { f, bad in
            ["quantize", bad, "--calibration", f.calibration, "-o", f.dir + "/q.swl", "--quiet"]
        },
        InputCase(name: "eval <model>", what: "a model file", board: false) { f, bad in ["eval", bad, "--labels", f.dir + "/eval"] },
    ]
}

@Suite("only regular files are read")
struct RegularFileTests {
    /// Runs `exe args` under timeout(1): 20 s, exit 124 when it hangs.
    func runBounded(_ exe: [String], _ args: [String]) throws -> CLIResult {
        try runProcess("/usr/bin/timeout", ["20"] + exe + args)
    }

    func check(_ r: CLIResult, _ c: InputCase, _ bad: NotAFile, _ path: String, _ label: String) {
        #expect(r.status != 124, "\(label) \(c.name), \(bad): hung (killed after 20 s)")
        #expect(r.status == 1, "\(label) \(c.name), \(bad): \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("\(path) is \(bad.kind), not \(c.what); \(bad.hint)"), "\(label) \(c.name), \(bad): \(r.stderr)")
    }

    @Test("every input of every host command refuses a FIFO, /dev/null and a directory", arguments: InputCase.all, NotAFile.allCases)
    func host(c: InputCase, bad: NotAFile) throws {
        let files = try OutputSafetyFiles()
        try FileManager.default.createDirectory(atPath: files.dir + "/eval/0", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: files.calibrationImage, toPath: files.dir + "/eval/0/a.jpg")
        let path = try bad.make(in: files.dir)
        let binary = try #require(swiftletBinary)
        check(try runBounded([binary], c.args(files, path)), c, bad, path, "host")
    }

    @Test("the board binaries refuse them too, with the host's message", arguments: ["x86-64", "rpi4"])
    func board(board: String) throws {
        let bin = repoFile("build/boards/\(board)/swiftlet")
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw TestFailure("\(bin) is missing: run 'tools/build-board \(board)' (tools/test.sh does)")
        }
        let exe = board == "x86-64" ? [bin] : [BoardTests.qemu, "-cpu", "cortex-a72", bin]
        for c in InputCase.all where c.board {
            for bad in NotAFile.allCases {
                let files = try OutputSafetyFiles()
                let path = try bad.make(in: files.dir)
                check(try runBounded(exe, c.args(files, path)), c, bad, path, board)
            }
        }
    }

    /// The core readers name the kind; a regular file behind a symlink is still read.
    @Test("the core reader names the kind and never opens a FIFO for reading")
    func coreReader() throws {
        let dir = try scratchDirectory()
        let fifo = try NotAFile.fifo.make(in: dir)
        #expect(throws: SwiftletError.notRegularFile(path: fifo, kind: "a FIFO (named pipe)", what: "a model file")) {
            _ = try MappedFile(path: fifo)
        }
        #expect(throws: SwiftletError.notRegularFile(path: "/dev/null", kind: "a character device", what: "a .npy file")) {
            _ = try NPYArray(contentsOf: "/dev/null")
        }
        #expect(throws: SwiftletError.notRegularFile(path: dir, kind: "a directory", what: "a file to read")) {
            _ = try sys_readFile(dir)
        }
        // A regular file behind a symlink is a regular file.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/f"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/f")
        #expect(try sys_readFile(dir + "/link") == [1, 2, 3])
    }
}
