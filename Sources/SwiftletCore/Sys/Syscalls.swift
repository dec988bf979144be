import CSwiftletSys

// Thin wrappers over the C calls the core makes; each retries EINTR and turns failures into
// `SwiftletError.system` naming the call and the path.

/// Reads a whole regular file; anything else (a directory, a device, a FIFO) is refused naming its
/// kind and `what` the caller wanted, e.g. "a model file". The corresponding C calls are `stat`,
/// `open`, `fstat`, `read`.
public func sys_readFile(_ path: String, what: String = "a file to read") throws(SwiftletError) -> [UInt8] {
    let fd = try sys_openRegular(path, what: what)
    defer { close(fd) }
    let size = swl_file_size(fd)
    if size < 0 { throw .system(call: "fstat", path: path, errno: swl_errno()) }
    var bytes = [UInt8](repeating: 0, count: Int(size))
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { buf in
            read(fd, buf.baseAddress! + done, buf.count - done)
        }
        if n < 0 {
            if swl_errno() == EINTR { continue }
            throw .system(call: "read", path: path, errno: swl_errno())
        }
        if n == 0 { break }
        done += n
    }
    if done < bytes.count { bytes.removeLast(bytes.count - done) }
    return bytes
}

/// Reads a procfs or sysfs file: they report size 0 (or 4096) whatever they hold, so it reads until
/// end of file, at most `limit` bytes; opened non-blocking (a FIFO put in the way cannot hang the
/// caller). nil with `error` set to the errno of the failed `open` or `read`.
public func sys_readKernelFile(_ path: String, limit: Int = 1 << 22, error: inout Int32) -> [UInt8]? {
    let fd = sys_open(path, O_RDONLY | swl_o_nonblock | swl_o_cloexec)
    if fd < 0 {
        error = swl_errno()
        return nil
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if swl_errno() == EINTR { continue }
            error = swl_errno()
            return nil
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    error = 0
    return bytes
}

/// Writes a whole file, replacing it atomically: the bytes go to a temporary file in the same
/// folder, which is then renamed over `path` (see `writeFileAtomically`). Callers check first that
/// `path` is none of the command's inputs (`checkOutputPath`).
public func sys_writeFile(_ path: String, _ bytes: [UInt8]) throws(SwiftletError) {
    try writeFileAtomically(path, bytes)
}

/// `open(2)` with EINTR retried.
public func sys_open(_ path: String, _ flags: Int32, _ mode: UInt32 = 0) -> Int32 {
    while true {
        let fd = path.withCString { swl_open($0, flags, mode) }
        if fd >= 0 || swl_errno() != EINTR { return fd }
    }
}

/// A read-only memory mapping of a whole file; unmapped when released.
/// The corresponding C calls are `open`, `fstat`, `mmap(PROT_READ, MAP_PRIVATE)`, `munmap`.
public final class MappedFile {
    /// The first byte of the file (64-byte aligned: mappings are page aligned).
    public let base: UnsafeRawPointer
    /// The file's size in bytes.
    public let count: Int
    private let mapped: Bool

    /// Maps `path`; an empty file gets a zero-length buffer.
    /// Anything but a regular file is refused naming its kind and `what` was wanted ("a model file").
    public init(path: String, what: String = "a model file") throws(SwiftletError) {
        let fd = try sys_openRegular(path, what: what)
        defer { close(fd) }
        let size = swl_file_size(fd)
        if size < 0 { throw .system(call: "fstat", path: path, errno: swl_errno()) }
        if size == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64))
            count = 0
            mapped = false
            return
        }
        guard let p = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE, fd, 0), p != swl_map_failed() else {
            throw .system(call: "mmap", path: path, errno: swl_errno())
        }
        base = UnsafeRawPointer(p)
        count = Int(size)
        mapped = true
    }

    /// Copies bytes into a 64-byte aligned heap buffer (used for in-memory models, e.g. in tests).
    public init(bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress { p.copyMemory(from: s, byteCount: bytes.count) }
        }
        base = UnsafeRawPointer(p)
        count = bytes.count
        mapped = false
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// The bytes as a buffer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Takes the pages wholly inside `count` bytes at `start` out of the resident set (bytes read
    /// once and not needed again soon: a checksum, weights packed into another layout). They stay
    /// readable, and a later read faults them back in from the file. No effect on an in-memory copy.
    public func releasePages(_ start: UnsafeRawPointer, count n: Int) {
        guard mapped, n > 0, start >= base, start - base <= count - n else { return }
        swl_release_file_pages(start, n)
    }
}

/// Writes a string to standard output (Embedded Swift's `print` takes one String).
public func sys_print(_ s: String) {
    var line = s
    line.append("\n")
    line.withUTF8 { buf in swl_write_stdout(UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self), buf.count) }
}

/// Writes a string to standard error, no newline added.
public func sys_printError(_ s: String) {
    if s.isEmpty { return }
    var line = s
    line.withUTF8 { buf in swl_write_stderr(UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self), buf.count) }
}

/// Nanoseconds from a monotonic clock. The corresponding C call is `clock_gettime(CLOCK_MONOTONIC)`.
public func sys_monotonicNanoseconds() -> UInt64 { swl_monotonic_ns() }

/// A zeroed, `alignment`-aligned heap block of `bytes` bytes (at least one).
/// The corresponding C calls are `posix_memalign` and `memset`; release it with `sys_free`.
/// Blocks of 64 MiB or more are first compared with `sys_memoryLimit()`: more than the process can
/// have is refused with both figures, before any of it is allocated or zeroed.
public func sys_alignedAllocate(bytes: Int, alignment: Int, what: String) throws(SwiftletError) -> UnsafeMutableRawPointer {
    let budget = sys_memoryBudget() != nil
    if bytes >= 64 << 20 || budget, let limit = sys_memoryLimit(), bytes > limit.bytes {
        throw .outOfMemory(what: what, bytes: bytes, reason: limit.why,
                           hint: budget ? "raise --memory-limit, or use a smaller model or input"
                                : "free memory or raise the limit (ulimit -v); if the model should not need this much, its file may be damaged, re-run 'swiftlet import'")
    }
    var raw: UnsafeMutableRawPointer? = nil
    let size = max(bytes, 1)
    let rc = posix_memalign(&raw, alignment, (size + alignment - 1) / alignment * alignment)
    guard rc == 0, let p = raw else {
        throw .outOfMemory(what: what, bytes: bytes, reason: Errno(rc).text,
                           hint: "free memory or raise the limit (ulimit -v)")
    }
    memset(p, 0, size)
    if budget { sys_countAllocation(Int(swl_usable_size(p))) }
    return p
}

/// Releases a block from `sys_alignedAllocate`. The corresponding C call is `free`.
public func sys_free(_ p: UnsafeMutableRawPointer) {
    if sys_memoryBudget() != nil { sys_countAllocation(-Int(swl_usable_size(p))) }
    free(p)
}
