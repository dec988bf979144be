import CSwiftletSys

// Process memory from Linux's procfs, for `bench`: the resident set now (VmRSS) and its peak (VmHWM),
// and a reset of the peak (writing 5 to /proc/self/clear_refs), so that the growth caused by loading
// and running a model can be measured as the peer benchmark does. Elsewhere these return nil.

/// `VmRSS` and `VmHWM` of this process in bytes, or nil where /proc/self/status cannot be read.
public func sys_residentMemory() -> (rss: Int, peak: Int)? {
    let fd = sys_open("/proc/self/status", O_RDONLY)
    if fd < 0 { return nil }
    defer { close(fd) }
    // procfs reports size 0: read in chunks.
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    func field(_ name: String) -> Int? {
        let key = Array(name.utf8)
        var i = 0
        while i + key.count < bytes.count {
            if (i == 0 || bytes[i - 1] == 0x0A) && Array(bytes[i..<(i + key.count)]) == key {
                var j = i + key.count
                var v = 0
                var seen = false
                while j < bytes.count && bytes[j] != 0x0A {
                    let c = bytes[j]
                    if c >= 0x30 && c <= 0x39 {
                        v = v * 10 + Int(c - 0x30)
                        seen = true
                    }
                    j += 1
                }
                return seen ? v * 1024 : nil  // the status file gives kB
            }
            i += 1
        }
        return nil
    }
    guard let rss = field("VmRSS:"), let peak = field("VmHWM:") else { return nil }
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
