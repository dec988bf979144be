/// Every error Swiftlet reports, with concrete payloads so it works in Embedded Swift.
///
/// `message` reads *what failed: why, with the values; what to do*, lowercase, one line.
public enum SwiftletError: Error, Equatable {
    /// A system call failed on a path (open, read, mmap, ioctl …).
    case system(call: String, path: String, errno: Int32)
    /// A file's bytes are not what its format requires.
    case malformedFile(path: String, detail: String, hint: String)
    /// A `.swl` was written by a different format version.
    case versionMismatch(path: String, found: Int, supported: Int)
    /// An ONNX node uses an operator (or a form of one) Swiftlet does not support.
    case unsupportedOp(op: String, node: String, opset: Int, hint: String)
    /// A model is well formed but not usable as asked (dynamic shape, bad attribute, shape mismatch).
    case invalidModel(detail: String, hint: String)
    /// An image could not be decoded. A `detail` that ends in its own "; what to do" keeps it;
    /// otherwise the message adds a generic one.
    case badImage(path: String, detail: String)
    /// A command-line flag or argument is wrong on its face (found without reading any file):
    /// exit code 64. What a file shows to be wrong is another case (exit code 1).
    case usage(detail: String)
    /// A feature that exists in the format but not in this build.
    case unsupported(detail: String)
    /// A batch of work in which some items failed (each reported as it happened).
    case partialFailure(detail: String)
    /// A path that must be a regular file is something else (`kind`: "a directory", "a FIFO …").
    case notRegularFile(path: String, kind: String, what: String)
    /// An output path (given by `flag`) is the same file as an input: writing would replace it.
    case outputIsInput(flag: String, output: String, role: String, input: String)
    /// An input file is well formed but does not fit the model or the command (shape, dtype, layout).
    case invalidInput(path: String, detail: String, hint: String)
    /// Memory the work needs cannot be had: `bytes` for `what`, refused for `reason` (the limit and
    /// what holds it, or the allocator's errno).
    case outOfMemory(what: String, bytes: Int, reason: String, hint: String)

    /// The process exit code for this error, the same on the host and the board (docs/cli.md): 64
    /// (EX_USAGE) when the command line itself is wrong, 1 for everything found while working.
    public var exitCode: Int32 {
        switch self {
        case .usage, .outputIsInput: return 64
        default: return 1
        }
    }

    /// A one-line, human-readable description with what to do next: `parts` joined by "; ".
    public var message: String {
        let p = parts
        return p.hint.map { "\(p.error); \($0)" } ?? p.error
    }

    /// What failed (with the values) and what to do about it, as the cases carry them. The free-form
    /// details of `.usage`, `.unsupported`, `.partialFailure` and `.badImage` (and of the others when
    /// their hint is empty) may end in their own "; what to do", which is split off there.
    public var parts: (error: String, hint: String?) {
        func nonEmpty(_ h: String) -> String? { h.isEmpty ? nil : h }
        switch self {
        case .system(let call, let path, let errno):
            return ("\(path): \(call) failed: \(Errno(errno).text)", Errno(errno).hint)
        case .malformedFile(let path, let detail, let hint), .invalidInput(let path, let detail, let hint):
            if hint.isEmpty {
                let (d, h) = splitHint(detail)
                return ("\(path): \(d)", h)
            }
            return ("\(path): \(detail)", hint)
        case .versionMismatch(let path, let found, let supported):
            if found > supported {
                return ("\(path): written by a newer Swiftlet (format version \(found), this build reads \(supported))",
                        "update swiftlet or re-run 'swiftlet import' with this version")
            }
            return ("\(path): format version \(found) is older than this build's \(supported)", "re-run 'swiftlet import' to rebuild it")
        case .unsupportedOp(let op, let node, let opset, let hint):
            let base = "unsupported ONNX op '\(op)' (node '\(node)', opset \(opset))"
            return (hint.isEmpty ? base : "\(base): \(hint)", "see docs/ops.md for supported ops")
        case .invalidModel(let detail, let hint):
            return hint.isEmpty ? splitHint(detail) : (detail, hint)
        case .outOfMemory(let what, let bytes, let reason, let hint):
            return ("\(what): cannot allocate \(bytes) bytes: \(reason)", nonEmpty(hint))
        case .badImage(let path, let detail):
            let (d, h) = splitHint(detail)
            return ("\(path): cannot decode image: \(d)", h ?? "check that the file is a complete JPEG image")
        case .usage(let detail), .unsupported(let detail), .partialFailure(let detail):
            return splitHint(detail)
        case .notRegularFile(let path, let kind, let what):
            let hint = kind.same("a directory") ? "pass the path of a file, not a directory" : "pass the path of a regular file (devices, FIFOs and sockets are not read or replaced)"
            return ("\(path) is \(kind), not \(what)", hint)
        case .outputIsInput(let flag, let output, let role, let input):
            let how = output.same(input) ? "" : " (the same device and inode)"
            return ("\(flag) \(output) is the same file as \(role) \(input)\(how)", "writing it would replace that input, pass another path")
        }
    }
}

/// A free-form detail split at its first "; " into what failed and what to do, if it has one.
func splitHint(_ detail: String) -> (error: String, hint: String?) {
    let m = Array(detail.utf8)
    var i = 0
    while i + 1 < m.count {
        if m[i] == UInt8(ascii: ";") && m[i + 1] == UInt8(ascii: " ") {
            return (String(decoding: m[0..<i], as: UTF8.self), String(decoding: m[(i + 2)...], as: UTF8.self))
        }
        i += 1
    }
    return (detail, nil)
}

/// An errno value, with its C name, its meaning and what to do about it.
public struct Errno: Equatable, Sendable {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// "no such file or directory (ENOENT)", as messages print it.
    public var text: String { "\(meaning) (\(name))" }

    /// The C name, e.g. `ENOENT`.
    public var name: String {
        switch code {
        case 1: return "EPERM"
        case 2: return "ENOENT"
        case 4: return "EINTR"
        case 5: return "EIO"
        case 6: return "ENXIO"
        case 9: return "EBADF"
        case 11: return "EAGAIN"
        case 12: return "ENOMEM"
        case 13: return "EACCES"
        case 16: return "EBUSY"
        case 17: return "EEXIST"
        case 18: return "EXDEV"
        case 19: return "ENODEV"
        case 20: return "ENOTDIR"
        case 21: return "EISDIR"
        case 22: return "EINVAL"
        case 24: return "EMFILE"
        case 25: return "ENOTTY"
        case 27: return "EFBIG"
        case 28: return "ENOSPC"
        case 30: return "EROFS"
        default: return "errno \(code)"
        }
    }

    /// A short description.
    public var meaning: String {
        switch code {
        case 1: return "operation not permitted"
        case 2: return "no such file or directory"
        case 4: return "interrupted"
        case 5: return "input/output error"
        case 6: return "no such device or address"
        case 9: return "bad file descriptor"
        case 11: return "resource temporarily unavailable"
        case 12: return "out of memory"
        case 13: return "permission denied"
        case 16: return "device busy"
        case 17: return "file exists"
        case 18: return "cross-device link"
        case 19: return "no such device"
        case 20: return "a path component is not a directory"
        case 21: return "is a directory"
        case 22: return "invalid argument"
        case 24: return "too many open files"
        case 25: return "inappropriate ioctl for device"
        case 27: return "file too large"
        case 28: return "no space left on device"
        case 30: return "read-only file system"
        default: return "system error"
        }
    }

    /// What to do about it, if there is a general answer.
    public var hint: String? {
        switch code {
        case 2: return "check the path"
        case 13: return "check the file's permissions"
        case 21: return "pass a file, not a directory"
        case 12: return "free memory or raise the limit (ulimit -v)"
        case 28: return "free disk space"
        default: return nil
        }
    }
}
