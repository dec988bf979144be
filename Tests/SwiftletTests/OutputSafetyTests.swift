import Foundation
import SwiftletCore
import SwiftletModel
import Testing

// No output ever replaces an input (issue #12, item 3): every command's output options, given the
// path of one of its inputs spelled four ways (the same path, `dir/./name`, a hard link, a symlink),
// are refused with exit code 64 and a message naming the flag and the input, and every file in the
// folder is byte-identical afterwards (no temporary file left either).

/// The files the commands read, in one scratch folder.
struct OutputSafetyFiles {
    let dir: String
    var model: String { dir + "/model.swl" }
    var tensor: String { dir + "/x.npy" }
    var onnx: String { dir + "/digits.onnx" }
    var labels: String { dir + "/labels.txt" }
    var calibration: String { dir + "/calibration" }
    var calibrationImage: String { dir + "/calibration/a.jpg" }

    init() throws {
        dir = try scratchDirectory()
        try FileManager.default.copyItem(atPath: repoFile("models/onnx/digits_lenet.onnx"), toPath: onnx)
        let imported = try swiftlet(["import", onnx, "-o", model])
        guard imported.status == 0 else { throw TestFailure("import failed: \(imported.stderr)") }
        try NPYArray(floats: [Float](repeating: 0.25, count: 64), shape: [1, 1, 8, 8]).write(to: tensor)
        try (0..<10).map { "digit \($0)" }.joined(separator: "\n").write(toFile: labels, atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: calibration, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: repoFile("models/digits/calibration/0/0000.jpg"), toPath: calibrationImage)
        try FileManager.default.copyItem(atPath: repoFile("models/digits/calibration/1/0001.jpg"), toPath: calibration + "/b.jpg")
    }

    /// Every regular file under the folder and its bytes (symlinks are not followed).
    func snapshot() throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir)!
        while let rel = e.nextObject() as? String {
            let p = dir + "/" + rel
            let attrs = try FileManager.default.attributesOfItem(atPath: p)
            if attrs[.type] as? FileAttributeType == .typeRegular { out[rel] = try Data(contentsOf: URL(fileURLWithPath: p)) }
        }
        return out
    }
}

/// A way to spell an existing file's path.
enum Spelling: String, CaseIterable, CustomTestStringConvertible {
    case samePath, dotSlash, hardLink, symlink

    var testDescription: String { rawValue }

    /// Another path for `path` (in `dir`), creating the link if the spelling needs one.
    func spell(_ path: String, in dir: String) throws -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        switch self {
        case .samePath: return path
        case .dotSlash: return URL(fileURLWithPath: path).deletingLastPathComponent().path + "/./" + name
        case .hardLink:
            let link = dir + "/hard-" + name
            try FileManager.default.linkItem(atPath: path, toPath: link)
            return link
        case .symlink:
            let link = dir + "/sym-" + name
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
            return link
        }
    }
}

/// One output option of one command pointed at one of its inputs.
struct OutputCase: CustomTestStringConvertible, Sendable {
    let name: String
    /// The input the output is pointed at.
    let target: @Sendable (OutputSafetyFiles) -> String
    /// How the message names that input.
    let role: String
    let flag: String
    /// The command line, given the files and the output path.
    let args: @Sendable (OutputSafetyFiles, String) -> [String]

    var testDescription: String { name }

    static let all: [OutputCase] = [
        OutputCase(name: "run --output = model", target: { $0.model }, role: "the model", flag: "--output") {
            ["run", $0.model, "--input", $0.tensor, "--output", $1]
        },
        OutputCase(name: "run --output = --input", target: { $0.tensor }, role: "the input tensor", flag: "--output") {
            ["run", $0.model, "--input", $0.tensor, "--output", $1]
        },
        OutputCase(name: "import -o = model", target: { $0.onnx }, role: "the ONNX model", flag: "-o") {
            ["import", $0.onnx, "-o", $1, "--labels", $0.labels]
        },
        OutputCase(name: "import -o = --labels", target: { $0.labels }, role: "the labels file", flag: "-o") {
            ["import", $0.onnx, "-o", $1, "--labels", $0.labels]
        },
        OutputCase(name: "quantize -o = model", target: { $0.model }, role: "the float model", flag: "-o") {
            ["quantize", $0.model, "--calibration", $0.calibration, "-o", $1, "--quiet"]
        },
        OutputCase(name: "quantize -o = calibration image", target: { $0.calibrationImage }, role: "the calibration image", flag: "-o") {
            ["quantize", $0.model, "--calibration", $0.calibration, "-o", $1, "--quiet"]
        },
        OutputCase(name: "quantize --report = model", target: { $0.model }, role: "the float model", flag: "--report") {
            ["quantize", $0.model, "--calibration", $0.calibration, "-o", $0.dir + "/q.swl", "--report", $1, "--quiet"]
        },
        OutputCase(name: "quantize --report = calibration image", target: { $0.calibrationImage }, role: "the calibration image",
                   flag: "--report") {
            ["quantize", $0.model, "--calibration", $0.calibration, "-o", $0.dir + "/q.swl", "--report", $1, "--quiet"]
        },
        OutputCase(name: "inspect --plan-svg = model", target: { $0.model }, role: "the model", flag: "--plan-svg") {
            ["inspect", $0.model, "--plan-svg", $1]
        },
    ]
}

@Suite("outputs never replace inputs")
struct OutputSafetyTests {
    @Test("every output option refuses each spelling of each input", arguments: OutputCase.all, Spelling.allCases)
    func outputIsInputIsRefused(c: OutputCase, spelling: Spelling) throws {
        let files = try OutputSafetyFiles()
        let target = c.target(files)
        let output = try spelling.spell(target, in: files.dir)
        let before = try files.snapshot()
        let r = try swiftlet(c.args(files, output))
        #expect(r.status == 64, "\(c.name), \(spelling): \(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("\(c.flag) \(output) is the same file as \(c.role) \(target)"), "\(c.name), \(spelling): \(r.stderr)")
        #expect(r.stderr.contains("writing it would replace that input, pass another path"), "\(r.stderr)")
        #expect(try files.snapshot() == before, "\(c.name), \(spelling): a file in the folder changed, appeared or vanished")
    }

    /// The same commands with fresh output paths succeed: the check refuses only what it should.
    @Test("fresh output paths are written")
    func freshOutputsAreWritten() throws {
        let files = try OutputSafetyFiles()
        let d = files.dir
        for args in [
            ["run", files.model, "--input", files.tensor, "--output", d + "/out.npy"],
            ["import", files.onnx, "-o", d + "/again.swl", "--labels", files.labels],
            ["quantize", files.model, "--calibration", files.calibration, "-o", d + "/q.swl", "--report", d + "/q.json", "--quiet"],
            ["inspect", files.model, "--plan-svg", d + "/plan.svg"],
        ] {
            let r = try swiftlet(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        for p in ["out.npy", "again.swl", "q.swl", "q.json", "plan.svg"] {
            #expect(FileManager.default.fileExists(atPath: d + "/" + p), "\(p) was not written")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty, "temporary files left behind: \(left)")
    }

    @Test("quantize -o and --report naming one file is refused")
    func quantizeOutputsMustDiffer() throws {
        let files = try OutputSafetyFiles()
        let before = try files.snapshot()
        let r = try swiftlet(["quantize", files.model, "--calibration", files.calibration, "-o", files.dir + "/q.swl",
                              "--report", files.dir + "/./q.swl", "--quiet"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--report \(files.dir)/./q.swl is the same file as the -o output \(files.dir)/q.swl"), "\(r.stderr)")
        #expect(try files.snapshot() == before)
    }

    @Test("an existing directory as an output is refused naming it")
    func outputDirectoryIsRefused() throws {
        let files = try OutputSafetyFiles()
        let r = try swiftlet(["run", files.model, "--input", files.tensor, "--output", files.calibration])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(files.calibration) is a directory, not a file --output can write; pass the path of a file"), "\(r.stderr)")
    }

    /// An output is written to a temporary file and renamed into place: a file that was hard-linked
    /// to the old output keeps the old bytes (a write in place would change both), and the replaced
    /// file keeps its permission bits.
    @Test("outputs are replaced by rename, not rewritten in place")
    func outputsAreRenamedIntoPlace() throws {
        let files = try OutputSafetyFiles()
        let out = files.dir + "/out.npy", keep = files.dir + "/keep.npy"
        try Data("old bytes".utf8).write(to: URL(fileURLWithPath: out))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: out)
        try FileManager.default.linkItem(atPath: out, toPath: keep)
        let r = try swiftlet(["run", files.model, "--input", files.tensor, "--output", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: keep)) == Data("old bytes".utf8), "the old file was rewritten in place")
        let written = try NPYArray(contentsOf: out)
        #expect(written.shape == [1, 10])
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o600, "mode \(String(mode ?? 0, radix: 8))")
        let left = try FileManager.default.contentsOfDirectory(atPath: files.dir).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty, "temporary files left behind: \(left)")
    }

    /// An output that is a symlink (here to a file in another folder) is written through: the link
    /// stays a link, its target gets the new bytes, and no temporary file is left in either folder.
    @Test("a symlinked output is written through to its target")
    func symlinkedOutputIsWrittenThrough() throws {
        let files = try OutputSafetyFiles()
        let folder = files.dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let target = folder + "/target.npy", link = files.dir + "/link.npy"
        try Data("old bytes".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "elsewhere/target.npy")
        let r = try swiftlet(["run", files.model, "--input", files.tensor, "--output", link])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "elsewhere/target.npy", "the link was replaced")
        #expect(try NPYArray(contentsOf: target).shape == [1, 10], "the target did not get the output")
        for dir in [files.dir, folder] {
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
            #expect(left.isEmpty, "temporary files left behind in \(dir): \(left)")
        }
    }
    /// The core helper, directly: a device can be written (in place), a missing folder is named.
    @Test("sys_writeFile writes devices in place and names a missing folder")
    func writeFileEdges() throws {
        try sys_writeFile("/dev/null", Array("discarded".utf8))
        do {
            try sys_writeFile("/nonexistent-dir/x.npy", [1, 2, 3])
            Issue.record("writing into a missing folder succeeded")
        } catch {
            #expect(error.message == "/nonexistent-dir/x.npy: open failed: no such file or directory (ENOENT); check the path", "\(error.message)")
        }
    }

    /// The board binary's one output option, `run --output`, under the same sweep (x86-64 natively,
    /// rpi4 under qemu-aarch64), with the same exit code and message as the host.
    @Test("the board binary's run --output refuses each spelling of each input", arguments: ["x86-64", "rpi4"])
    func boardOutputIsInputIsRefused(board: String) throws {
        let bin = repoFile("build/boards/\(board)/swiftlet")
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw TestFailure("\(bin) is missing: run 'tools/build-board \(board)' (tools/test.sh does)")
        }
        for c in OutputCase.all.prefix(2) {
            for spelling in Spelling.allCases {
                let files = try OutputSafetyFiles()
                let target = c.target(files)
                let output = try spelling.spell(target, in: files.dir)
                let before = try files.snapshot()
                let args = c.args(files, output)
                let r = board == "x86-64" ? try runProcess(bin, args)
                    : try runProcess(BoardTests.qemu, ["-cpu", "cortex-a72", bin] + args)
                #expect(r.status == 64, "\(board) \(c.name), \(spelling): \(r.stdout) \(r.stderr)")
                #expect(r.stderr == "error: \(c.flag) \(output) is the same file as \(c.role) \(target)\(spelling == .samePath ? "" : " (the same device and inode)"); writing it would replace that input, pass another path\n",
                        "\(board) \(c.name), \(spelling): \(r.stderr)")
                #expect(try files.snapshot() == before, "\(board) \(c.name), \(spelling): a file changed")
            }
        }
    }
}
