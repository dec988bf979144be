import CSwiftletSys

// Which files a command may read and write (issue #12).
//
// Reading: only regular files are read as models, tensors, images and labels. `sys_openRegular`
// stats the path first (a FIFO would block `open` for ever; a device may act on `open`), then opens
// it with O_NONBLOCK and checks the descriptor again (the path may have changed in between).
//
// Writing: an output never replaces an input. `checkOutputPath` compares the output's device and
// inode with every input's (stat follows symlinks, so hard links, symlinks and `./` spellings are all
// the same file); an output that does not exist yet cannot be an input. `sys_writeFile` writes to a
// temporary file in the output's folder and renames it into place, so an interrupted write leaves
// the old file (or none), never half a file.

/// What kind of file a path names.
public enum FileKind: Equatable, Sendable {
    case regular, directory, characterDevice, blockDevice, fifo, socket, other

    init(_ code: Int32) {
        switch code {
        case SWL_KIND_REGULAR: self = .regular
        case SWL_KIND_DIRECTORY: self = .directory
        case SWL_KIND_CHAR_DEVICE: self = .characterDevice
        case SWL_KIND_BLOCK_DEVICE: self = .blockDevice
        case SWL_KIND_FIFO: self = .fifo
        case SWL_KIND_SOCKET: self = .socket
        default: self = .other
        }
    }

    /// "a directory", "a character device", … for messages.
    public var text: String {
        switch self {
        case .regular: return "a regular file"
        case .directory: return "a directory"
        case .characterDevice: return "a character device"
        case .blockDevice: return "a block device"
        case .fifo: return "a FIFO (named pipe)"
        case .socket: return "a socket"
        case .other: return "not a regular file"
        }
    }
}

/// What `stat` says about a file: its kind, identity (device and inode), permission bits and size.
public struct FileStatus: Equatable, Sendable {
    public var kind: FileKind
    public var device: UInt64
    public var inode: UInt64
    public var mode: UInt32
    public var size: Int

    init(_ s: swl_file_status) {
        kind = FileKind(s.kind)
        device = s.device
        inode = s.inode
        mode = UInt32(s.mode)
        size = Int(s.size)
    }

    /// Whether two statuses name the same file (device and inode).
    public func isSameFile(as other: FileStatus) -> Bool { device == other.device && inode == other.inode }
}

/// The status of the file at `path`, following symlinks; nil when nothing is there (ENOENT, or a
/// dangling symlink). The corresponding C call is `stat`.
public func sys_stat(_ path: String) throws(SwiftletError) -> FileStatus? {
    var s = swl_file_status()
    let rc = path.withCString { swl_stat_path($0, &s) }
    if rc == 0 { return FileStatus(s) }
    let e = swl_errno()
    if e == ENOENT { return nil }
    throw .system(call: "stat", path: path, errno: e)
}

/// Opens `path` for reading if it is a regular file; anything else is refused naming its kind and
/// `what` the command wanted ("a model file"). Never blocks on a FIFO. Close the result with `close`.
/// The corresponding C calls are `stat`, `open(O_RDONLY | O_NONBLOCK | O_CLOEXEC)`, `fstat`.
public func sys_openRegular(_ path: String, what: String) throws(SwiftletError) -> Int32 {
    // Stat first: open(2) of a FIFO without a writer blocks, and opening a device can act on it.
    if let s = try sys_stat(path), s.kind != .regular {
        throw .notRegularFile(path: path, kind: s.kind.text, what: what)
    }
    let fd = sys_open(path, O_RDONLY | swl_o_nonblock | swl_o_cloexec)
    if fd < 0 { throw .system(call: "open", path: path, errno: swl_errno()) }
    var s = swl_file_status()
    if swl_fstat_fd(fd, &s) != 0 {
        let e = swl_errno()
        close(fd)
        throw .system(call: "fstat", path: path, errno: e)
    }
    let kind = FileKind(s.kind)
    if kind != .regular {  // replaced between stat and open
        close(fd)
        throw .notRegularFile(path: path, kind: kind.text, what: what)
    }
    return fd
}

/// Refuses to write `output` (given by `flag`, e.g. `--output`) when it is the same file as one of
/// `inputs` (each with its role for the message, e.g. `("the model", "m.swl")`), or an existing
/// directory. An output that does not exist yet is always fine.
public func checkOutputPath(_ output: String, flag: String, inputs: [(role: String, path: String)]) throws(SwiftletError) {
    guard let out = try sys_stat(output) else { return }
    if out.kind == .directory {
        throw .notRegularFile(path: output, kind: out.kind.text, what: "a file \(flag) can write")
    }
    for input in inputs {
        guard let s = try? sys_stat(input.path) else { continue }
        if s.isSameFile(as: out) {
            throw .outputIsInput(flag: flag, output: output, role: input.role, input: input.path)
        }
    }
}

/// Refuses two outputs of one command that are the same file (the second would replace the first).
/// Outputs that do not exist yet are compared by their folder's device and inode and their name.
public func checkDistinctOutputs(_ outputs: [(flag: String, path: String)]) throws(SwiftletError) {
    func identity(_ path: String) throws(SwiftletError) -> (UInt64, UInt64, String)? {
        if let s = try sys_stat(path) { return (s.device, s.inode, "") }
        let (folder, name) = splitPath(path)
        guard let f = try sys_stat(folder) else { return nil }
        return (f.device, f.inode, name)
    }
    for i in 0..<outputs.count {
        guard let a = try identity(outputs[i].path) else { continue }
        for j in (i + 1)..<max(i + 1, outputs.count) {
            guard let b = try identity(outputs[j].path) else { continue }
            if a == b {
                throw .outputIsInput(flag: outputs[j].flag, output: outputs[j].path, role: "the \(outputs[i].flag) output", input: outputs[i].path)
            }
        }
    }
}

/// Writes `bytes` to `fd`, retrying EINTR and short writes; the errno of a failure, or 0.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { buf in write(fd, buf.baseAddress! + done, buf.count - done) }
        if n < 0 {
            if swl_errno() == EINTR { continue }
            return swl_errno()
        }
        done += n
    }
    return 0
}

/// Distinguishes the temporary files of one process.
nonisolated(unsafe) private var temporaryCounter = 0

/// `dir/name` → (`dir`, `name`); a bare name is in ".".
func splitPath(_ path: String) -> (folder: String, name: String) {
    var lastSlash = -1
    var i = 0
    for b in path.utf8 {
        if b == UInt8(ascii: "/") { lastSlash = i }
        i += 1
    }
    if lastSlash < 0 { return (".", path) }
    let bytes = Array(path.utf8)
    let folder = lastSlash == 0 ? "/" : String(decoding: bytes[0..<lastSlash], as: UTF8.self)
    return (folder, String(decoding: bytes[(lastSlash + 1)...], as: UTF8.self))
}

/// The path with every symlink resolved (`realpath`), or nil when it cannot be resolved (a
/// dangling link, a missing folder).
func resolvedPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    var bytes: [UInt8] = []
    var q = p
    while q.pointee != 0 {
        bytes.append(UInt8(bitPattern: q.pointee))
        q += 1
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes `bytes` to `path` atomically: into a new temporary file in the same folder
/// (`.NAME.tmp-PID-N`, created with O_EXCL), flushed with `fsync`, then renamed over `path`. A
/// replaced file keeps its permission bits. An existing output that is a symlink is followed: its
/// target is replaced, in the target's folder, and the link stays a link (as `cp` and compilers'
/// `-o` write through a link). An existing device or FIFO (e.g. `/dev/stdout`) is written in place,
/// since it cannot be replaced. The corresponding C calls are `realpath`, `open`, `write`, `fchmod`,
/// `fsync`, `close`, `rename` (and `unlink` of the temporary file on failure).
func writeFileAtomically(_ output: String, _ bytes: [UInt8]) throws(SwiftletError) {
    let existing = try sys_stat(output)
    // Errors name the path the user gave; the rename goes to the link's target.
    let path = existing != nil ? resolvedPath(output) ?? output : output
    if let existing, existing.kind == .directory {
        throw .notRegularFile(path: output, kind: existing.kind.text, what: "a file to write")
    }
    if let existing, existing.kind != .regular {
        let fd = sys_open(path, O_WRONLY | swl_o_cloexec)
        if fd < 0 { throw .system(call: "open", path: output, errno: swl_errno()) }
        let e = writeAll(fd, bytes)
        close(fd)
        if e != 0 { throw .system(call: "write", path: output, errno: e) }
        return
    }
    let (folder, name) = splitPath(path)
    var temp = ""
    var fd: Int32 = -1
    for _ in 0..<100 {
        temporaryCounter += 1
        temp = "\(folder)/.\(name).tmp-\(getpid())-\(temporaryCounter)"
        fd = sys_open(temp, O_WRONLY | O_CREAT | swl_o_excl | swl_o_cloexec, 0o644)
        if fd >= 0 || swl_errno() != EEXIST { break }
    }
    if fd < 0 { throw .system(call: "open", path: output, errno: swl_errno()) }  // the output's name, not the temporary one
    var failure: SwiftletError? = nil
    if let existing { _ = fchmod(fd, mode_t(existing.mode)) }
    let e = writeAll(fd, bytes)
    if e != 0 {
        failure = .system(call: "write", path: output, errno: e)
    } else if fsync(fd) != 0 && swl_errno() != EINVAL {  // EINVAL: a file system without fsync
        failure = .system(call: "fsync", path: output, errno: swl_errno())
    }
    if close(fd) != 0 && failure == nil { failure = .system(call: "close", path: output, errno: swl_errno()) }
    if failure == nil && temp.withCString({ t in path.withCString { rename(t, $0) } }) != 0 {
        failure = .system(call: "rename", path: output, errno: swl_errno())
    }
    if let failure {
        _ = temp.withCString { unlink($0) }
        throw failure
    }
}

/// The names in folder `path` (not "." and ".."), in the order the file system lists them. The
/// corresponding C calls are `opendir`, `readdir`, `closedir`.
public func sys_listDirectory(_ path: String) throws(SwiftletError) -> [String] {
    guard let dir = swl_opendir(path) else { throw .system(call: "opendir", path: path, errno: swl_errno()) }
    defer { swl_closedir(dir) }
    var names: [String] = []
    while true {
        guard let name = swl_readdir_name(dir) else {
            let e = swl_errno()
            if e != 0 { throw .system(call: "readdir", path: path, errno: e) }
            return names
        }
        names.append(String(cString: name))
    }
}

/// Creates folder `path` and any missing parents (as `mkdir -p`, mode 0755 less the umask); an
/// existing folder is fine. An error names the path that could not be made (ENOTDIR: a part of the
/// path is a file; EEXIST: `path` itself is one). The corresponding C calls are `mkdir`, `stat`.
public func sys_makeDirectories(_ path: String) throws(SwiftletError) {
    let bytes = Array(path.utf8)
    var i = 1
    while i <= bytes.count {
        if i == bytes.count || bytes[i] == UInt8(ascii: "/") {
            let prefix = String(decoding: bytes[0..<i], as: UTF8.self)
            if mkdir(prefix, 0o755) != 0 && swl_errno() != EEXIST { throw .system(call: "mkdir", path: prefix, errno: swl_errno()) }
        }
        i += 1
    }
    guard let s = try sys_stat(path) else { throw .system(call: "mkdir", path: path, errno: ENOENT) }
    if s.kind != .directory { throw .system(call: "mkdir", path: path, errno: EEXIST) }
}
