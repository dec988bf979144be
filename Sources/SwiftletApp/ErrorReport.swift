import SwiftletCore

// How the host and board CLIs report an error: `error: <message>` on stderr, or with `--json` one
// JSON object on stderr (stdout keeps only results), in one stable shape:
//
//   {"error": "<what failed: why>", "hint": "<what to do>" | null, "path": "<file>" | null,
//    "node": "<ONNX node>" | null, "exit_code": 1 | 64}
//
// Exit codes (docs/cli.md): 0 success, 1 an error found while working (a file missing, unreadable,
// malformed or not fitting the model; a failed system call; some items of a batch failed), 64 a
// wrong command line (unknown flag, bad or missing value, flags that do not fit together, an output
// that is an input). The same failure gives the same code on the host and the board.

extension SwiftletError {
    /// The file the error is about, if any (for an output that is an input: the output).
    public var path: String? {
        switch self {
        case .system(_, let path, _), .malformedFile(let path, _, _), .versionMismatch(let path, _, _),
             .badImage(let path, _), .notRegularFile(let path, _, _), .invalidInput(let path, _, _):
            return path
        case .outputIsInput(_, let output, _, _):
            return output
        default:
            return nil
        }
    }

    /// The ONNX node the error is about, if any.
    public var node: String? {
        if case .unsupportedOp(_, let node, _, _) = self { return node }
        return nil
    }

    /// The error as one JSON object (see the shape above).
    public var json: String {
        let (error, hint) = parts
        return "{\"error\": \(jsonString(error)), \"hint\": \(hint.map { jsonString($0) } ?? "null"), "
            + "\"path\": \(path.map { jsonString($0) } ?? "null"), \"node\": \(node.map { jsonString($0) } ?? "null"), "
            + "\"exit_code\": \(exitCode)}"
    }
}

/// Prints `error` on stderr: `error: <message>`, or its JSON object when `json` is set.
public func reportError(_ error: SwiftletError, json: Bool) {
    sys_printError(json ? "\(error.json)\n" : "error: \(error.message)\n")
}

/// Whether the command line asks for JSON output (`--json` before any `--`).
public func wantsJSON(_ args: [String]) -> Bool {
    for a in args {
        if a.same("--") { return false }
        if a.same("--json") { return true }
    }
    return false
}
