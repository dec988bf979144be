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
    let fd = sys_open("/proc/self/smaps", O_RDONLY)
    if fd < 0 { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
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
    let fd = sys_open(path, O_RDONLY)
    if fd < 0 { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
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

/// How many more bytes this process can expect to allocate, and what sets that: the address space
/// left under `ulimit -v` (RLIMIT_AS minus VmSize), or the machine's MemAvailable, whichever is
/// smaller; nil when neither is known. Checked before large allocations (the arena), so a model that
/// asks for more is refused with the figures instead of being half-allocated or killed.
public func sys_memoryLimit() -> (bytes: Int, why: String)? {
    var best: (bytes: Int, why: String)? = nil
    let rlimit = swl_address_space_limit()
    if rlimit >= 0 {
        let used = procKilobytes("/proc/self/status", "VmSize:") ?? 0
        let left = max(0, Int(rlimit) - used)
        best = (left, "the address-space limit (ulimit -v \(Int(rlimit) / 1024)) leaves \(left) bytes")
    }
    if let available = procKilobytes("/proc/meminfo", "MemAvailable:"), best == nil || available < best!.bytes {
        best = (available, "the machine has \(available) bytes available (MemAvailable)")
    }
    return best
}
