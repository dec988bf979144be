import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletEstimate
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer

// The host CLI: argument-parser front ends over SwiftletApp's option structs (the board binary
// hand-parses the same flags). Every SwiftletError ends as `error: <message>` on stderr, or with
// --json as one JSON object (`reportError`, SwiftletApp/ErrorReport.swift), and its exit code:
// 64 for a wrong command line (argument-parser's usage errors too), 1 for everything else; the
// board binary gives the same codes (docs/cli.md).

/// `--json` on the command line: errors are printed as JSON objects too.
let jsonErrors = wantsJSON(Array(CommandLine.arguments.dropFirst()))

@main
struct Swiftlet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Import, inspect and run edge-inference models.",
        subcommands: [Import.self, Export.self, Quantize.self, Prune.self, Run.self, Eval.self, Bench.self, Estimate.self, Inspect.self, Cameras.self, Record.self, SelfTest.self])

    /// argument-parser's `main`, except that with --json its usage errors are JSON objects too.
    static func main() {
        do {
            var command = try parseAsRoot(Array(CommandLine.arguments.dropFirst()))
            try command.run()
        } catch {
            // Usage errors (unknown flags, bad values, validate()) are exit code 64, as SwiftletError.usage.
            if jsonErrors, exitCode(for: error) == .validationFailure, !(error is ExitCode) {
                let text = message(for: error).split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? "usage error"
                let names = configuration.subcommands.map { $0._commandName }
                let sub = CommandLine.arguments.dropFirst().first.flatMap { names.contains($0) ? "\($0) " : nil } ?? ""
                reportError(.usage(detail: "\(text); see 'swiftlet \(sub)--help'"), json: true)
                exit(withError: ExitCode.validationFailure)
            }
            exit(withError: error)
        }
    }
}

/// Runs `body`, turning a SwiftletError into `error: <message>` (or its JSON object with --json) on
/// stderr and its exit code (`SwiftletError.exitCode`: 64 for a wrong command line, else 1).
func reportingErrors(_ body: () throws(SwiftletError) -> Void) throws {
    do {
        try body()
    } catch {
        reportError(error, json: jsonErrors)
        throw ExitCode(error.exitCode)
    }
}

/// Prints a usage error for `command` as argument-parser does and exits with code 64 (EX_USAGE);
/// for checks made in `run()`, where argument-parser would show the root command's usage instead.
func usageFailure(_ message: String, for command: ParsableCommand.Type, name: String) -> Never {
    if jsonErrors {
        reportError(.usage(detail: "\(message); see 'swiftlet \(name) --help'"), json: true)
    } else {
        sys_printError("Error: \(message)\nUsage: \(Swiftlet.usageString(for: command))\n  See 'swiftlet \(name) --help' for more information.\n")
    }
    Swiftlet.exit(withError: ExitCode.validationFailure)
}

/// `1,3,224,224` → [1, 3, 224, 224], or a ValidationError naming the flag.
func parseList<T: LosslessStringConvertible>(_ text: String, flag: String, count: Int? = nil) throws -> [T] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
    var out: [T] = []
    for p in parts {
        guard let v = T(p) else {
            throw ValidationError("\(flag): '\(p)' in '\(text)' is not a number; pass comma-separated values such as \(flag == "--input-shape" ? "1,3,224,224" : "123.675,116.28,103.53")")
        }
        out.append(v)
    }
    if let count, out.count != count {
        throw ValidationError("\(flag) needs \(count) comma-separated values (one per channel), got \(out.count) in '\(text)'")
    }
    return out
}
