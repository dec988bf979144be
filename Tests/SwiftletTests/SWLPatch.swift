import SwiftletCore
import SwiftletModel

/// A packed model's bytes, for tests that corrupt them field by field: 32-bit reads and writes, the
/// offset of a section, and a reload with the CRC fixed that returns the reader's message or nil.
struct SWLPatch {
    var bytes: [UInt8]
    let path: String

    init(_ bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }

    mutating func put(_ at: Int, _ v: UInt32) { for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }

    /// The byte offset of the first section of `kind` (11: DETECTOR), or -1.
    func section(_ kind: Int) -> Int {
        for i in 0..<u32(12) where u32(64 + 24 * i) == kind { return u32(64 + 24 * i + 8) }
        return -1
    }

    /// Fixes the CRC and loads the bytes: the reader's error message, or nil when it loads.
    mutating func reload() -> String? {
        fixCRC(&bytes)
        let (copy, path) = (bytes, path)
        return errorMessage { () throws(SwiftletError) in _ = try PackedModel(file: MappedFile(bytes: copy), path: path) }
    }
}
