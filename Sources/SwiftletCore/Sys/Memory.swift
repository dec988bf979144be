import CSwiftletSys

// Process memory from Linux's procfs, for `bench`: the resident set now (VmRSS) and its peak (VmHWM),
// and a reset of the peak (writing 5 to /proc/self/clear_refs), so that the growth caused by loading
// and running a model can be measured as the peer benchmark does. Elsewhere these return nil.

/// `VmRSS` and `VmHWM` of this process in bytes, or nil where /proc/self/status cannot be read.
public func sys_residentMemory() -> (rss: Int, peak: Int)? {
    guard let rss = procKilobytes("/proc/self/status", "VmRSS:"), let peak = procKilobytes("/proc/self/status", "VmHWM:") else {
        return nil
    }
    return (rss, peak)
}

/// Resets the peak resident set (VmHWM) to the current one; false where the kernel does not allow it.
@discardableResult
public func sys_resetPeakMemory() -> Bool {
    let fd = sys_open("/proc/self/clear_refs", O_WRONLY)
    if fd < 0 { return false }
    defer { close(fd) }
    var five: UInt8 = 0x35
    return write(fd, &five, 1) == 1
}

/// Parts of the resident set, from /proc/self/smaps: `file` = resident pages mapped from the file at
/// `path` (a model's weights that were touched), `code` = resident pages of executable file mappings
/// (the binary and its shared libraries). Nil where smaps cannot be read.
public func sys_residentParts(mappedFile path: String) -> (file: Int, code: Int)? {
    var canonical: [UInt8] = []
    if let p = realpath(path, nil) {
        var q = p
        while q.pointee != 0 {
            canonical.append(UInt8(bitPattern: q.pointee))
            q += 1
        }
        free(p)
    }
    var error: Int32 = 0
    guard let bytes = sys_readKernelFile("/proc/self/smaps", limit: Int.max, error: &error) else { return nil }
    func isHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
    var file = 0, code = 0
    var inFile = false, inCode = false
    var i = 0
    while i < bytes.count {
        var end = i
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        let line = bytes[i..<end]
        i = end + 1
        guard let first = line.first else { continue }
        if isHex(first), let dash = line.firstIndex(of: 0x2D), let space = line.firstIndex(of: 0x20), dash < space {
            // "start-end perms offset dev inode   pathname"
            var fields: [ArraySlice<UInt8>] = []
            var j = line.startIndex
            while j < line.endIndex && fields.count < 5 {
                while j < line.endIndex && line[j] == 0x20 { j += 1 }
                let s = j
                while j < line.endIndex && line[j] != 0x20 { j += 1 }
                fields.append(line[s..<j])
            }
            while j < line.endIndex && line[j] == 0x20 { j += 1 }
            let name = line[j..<line.endIndex]
            let perms = fields.count > 1 ? Array(fields[1]) : []
            inFile = !canonical.isEmpty && Array(name) == canonical
            inCode = perms.count > 2 && perms[2] == 0x78 && name.first == 0x2F  // 'x', a path
            continue
        }
        // "Rss:   123 kB"
        if line.count > 4 && line[line.startIndex] == 0x52 && Array(line.prefix(4)) == Array("Rss:".utf8) {
            var v = 0
            for c in line where c >= 0x30 && c <= 0x39 { v = v * 10 + Int(c - 0x30) }
            if inFile { file += v * 1024 }
            if inCode { code += v * 1024 }
        }
    }
    return (file, code)
}

/// A `NAME:   123 kB` field of a procfs file, in bytes; nil where the file or the field is missing.
func procKilobytes(_ path: String, _ name: String) -> Int? {
    var error: Int32 = 0
    guard let bytes = sys_readKernelFile(path, error: &error) else { return nil }
    let key = Array(name.utf8)
    var i = 0
    while i + key.count < bytes.count {
        if (i == 0 || bytes[i - 1] == 0x0A) && Array(bytes[i..<(i + key.count)]) == key {
            var v = 0
            var seen = false
            var j = i + key.count
            while j < bytes.count && bytes[j] != 0x0A {
                if bytes[j] >= 0x30 && bytes[j] <= 0x39 {
                    v = v * 10 + Int(bytes[j] - 0x30)
                    seen = true
                }
                j += 1
            }
            return seen ? v * 1024 : nil
        }
        i += 1
    }
    return nil
}

/// `--memory-limit`, in bytes, once a command sets it (`sys_setMemoryLimit`).
nonisolated(unsafe) private var memoryLimitFlag: Int? = nil
/// Bytes of the blocks `sys_alignedAllocate` has handed out and `sys_free` not yet taken back, counted
/// while `--memory-limit` is set.
nonisolated(unsafe) private var allocatedBytes = 0

/// Sets (or clears) the `--memory-limit` budget: from then on every block `sys_alignedAllocate` hands
/// out (the arena, kernel scratch, weights packed or unpacked at load, rows for threads) counts against
/// it, and `Interpreter` compares a model's needs with it before allocating anything.
public func sys_setMemoryLimit(_ bytes: Int?) {
    memoryLimitFlag = bytes
    allocatedBytes = 0
}

/// Counts `delta` bytes allocated (negative: freed) against the `--memory-limit` budget, when one is
/// set: `sys_alignedAllocate` and `sys_free` count their blocks, the interpreter its mapped model file.
public func sys_countAllocation(_ delta: Int) {
    if memoryLimitFlag != nil { allocatedBytes = max(0, allocatedBytes + delta) }
}

/// The `--memory-limit` budget, if set: its bytes and those already allocated against it.
public func sys_memoryBudget() -> (limit: Int, used: Int)? {
    guard let l = memoryLimitFlag else { return nil }
    return (l, allocatedBytes)
}

/// Parses a `--memory-limit` size: bytes, or a number with K, M or G (powers of 1024; `KiB`, `MB`,
/// `m` … are taken alike): `512M`, `1.5G`, `65536`.
public func parseByteSize(_ text: String, flag: String) throws(SwiftletError) -> Int {
    let bad: SwiftletError = .usage(detail: "\(flag) takes a size such as 512M, 2G or 1048576 (bytes), got '\(text)'")
    var whole = 0, fraction = 0, fractionScale = 1, inFraction = false, digits = 0
    var scale = 1
    var unitBytes = 0  // of the unit: 0, or K/M/G then up to "iB"/"B"
    for b in text.utf8 {
        let lower = b | 0x20  // ASCII lower case
        if unitBytes == 0 && b >= 0x30 && b <= 0x39 {
            digits += 1
            if digits > 15 { throw bad }
            if inFraction {
                if fractionScale >= 1_000_000 { continue }  // finer than a millionth: ignored
                fraction = fraction * 10 + Int(b - 0x30)
                fractionScale *= 10
            } else {
                whole = whole * 10 + Int(b - 0x30)
            }
        } else if unitBytes == 0 && b == 0x2E && !inFraction {
            inFraction = true
        } else if unitBytes == 0 && (lower == 0x6B || lower == 0x6D || lower == 0x67) {  // k m g
            scale = lower == 0x6B ? 1 << 10 : lower == 0x6D ? 1 << 20 : 1 << 30
            unitBytes = 1
        } else if lower == 0x62 && (unitBytes == 0 || unitBytes == 1 || unitBytes == 2) {  // b: "B", "KB", "KiB"
            unitBytes = 9
        } else if lower == 0x69 && unitBytes == 1 {  // i of "KiB"
            unitBytes = 2
        } else {
            throw bad
        }
    }
    if unitBytes == 2 { throw bad }  // "Ki" without its B
    if digits == 0 || whole > (1 << 50) / scale { throw bad }
    let bytes = whole * scale + fraction * scale / fractionScale
    if bytes < 1 { throw bad }
    return bytes
}

/// How many more bytes this process can expect to allocate, and what sets that: the address space
/// left under `ulimit -v` (RLIMIT_AS minus VmSize), the machine's MemAvailable, or what
/// `--memory-limit` leaves, whichever is smallest; nil when none is known. Checked before large
/// allocations (the arena; every allocation under `--memory-limit`), so a model that asks for more is
/// refused with the figures instead of being half-allocated or killed.
public func sys_memoryLimit() -> (bytes: Int, why: String)? {
    var best: (bytes: Int, why: String)? = nil
    if let (limit, used) = sys_memoryBudget() {
        best = (max(0, limit - used), "--memory-limit \(limit) leaves \(max(0, limit - used)) bytes (\(used) already allocated)")
    }
    let rlimit = swl_address_space_limit()
    if rlimit >= 0 {
        let used = procKilobytes("/proc/self/status", "VmSize:") ?? 0
        let left = max(0, Int(rlimit) - used)
        if best == nil || left < best!.bytes {
            best = (left, "the address-space limit (ulimit -v \(Int(rlimit) / 1024)) leaves \(left) bytes")
        }
    }
    if let available = procKilobytes("/proc/meminfo", "MemAvailable:"), best == nil || available < best!.bytes {
        best = (available, "the machine has \(available) bytes available (MemAvailable)")
    }
    return best
}
