import Foundation
import Testing

/// `--help` texts and usage errors are snapshots (Tests/Snapshots/cli/). After a deliberate change,
/// regenerate them with `SWIFTLET_UPDATE_SNAPSHOTS=1 swift test -c release --filter CLISnapshotTests`
/// and review the diff.
@Suite("swiftlet CLI snapshots") struct CLISnapshotTests {
    static let cases: [(String, [String])] = [
        ("help", ["--help"]),
        ("import-help", ["import", "--help"]),
        ("run-help", ["run", "--help"]),
        ("inspect-help", ["inspect", "--help"]),
        ("run-unknown-flag", ["run", "m.swl", "--bogus"]),
        ("import-missing-output", ["import", "m.onnx"]),
    ]

    @Test("matches the snapshot", arguments: cases)
    func snapshot(name: String, args: [String]) throws {
        let r = try swiftlet(args)
        let text = "$ swiftlet \(args.joined(separator: " "))\nexit \(r.status)\n--- stdout\n\(r.stdout)--- stderr\n\(r.stderr)"
        let path = repoFile("Tests/Snapshots/cli/\(name).txt")
        if ProcessInfo.processInfo.environment["SWIFTLET_UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(atPath: repoFile("Tests/Snapshots/cli"), withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let want = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == want, "\(name): the output differs from \(path); if the change is deliberate, regenerate (see the suite's doc)")
    }
}
