import SwiftletCore

/// A validating reader of one FlatBuffers file (the wire format of `.tflite`), written for Swiftlet.
///
/// Layout read here: a `uoffset` (u32, little-endian) at byte 0 to the root table, a 4-byte file
/// identifier at bytes 4–7; a table starts with an `soffset` (i32) back to its vtable; a vtable is
/// `[u16 vtable bytes, u16 table bytes, u16 field offset…]`, 0 for a field left at its default; an
/// offset field holds a u32 counted from its own position to a table, vector or string; a vector (and a
/// string) is a u32 element count followed by the elements (a string also by a NUL). Every position,
/// vtable, offset, count and element is checked against the file before it is read: a bad file is a
/// `SwiftletError` naming what and where, never a trap. Nothing is aligned or trusted; reads are
/// unaligned little-endian loads.
public struct FlatBuffer {
    public let bytes: [UInt8]
    /// Names the file in messages.
    public let path: String

    public init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// The error for a structural problem at `what`.
    public func malformed(_ what: String) -> SwiftletError {
        .malformedFile(path: path, detail: "\(what); the file is truncated or corrupt",
                       hint: "download or convert the .tflite file again")
    }

    /// Checks that `count` bytes at `position` lie inside the file.
    func need(_ position: Int, _ count: Int, _ what: @autoclosure () -> String) throws(SwiftletError) {
        let (end, o) = position.addingReportingOverflow(count)
        guard position >= 0, count >= 0, !o, end <= bytes.count else {
            throw malformed("\(what()) at byte \(position) (\(count) bytes) ends past the end of the file (\(bytes.count) bytes)")
        }
    }

    func u8(_ p: Int) -> UInt8 { bytes[p] }
    func u16(_ p: Int) -> UInt16 { UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8 }
    func u32(_ p: Int) -> UInt32 {
        UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
    }
    func u64(_ p: Int) -> UInt64 { UInt64(u32(p)) | UInt64(u32(p + 4)) << 32 }

    /// The 4-byte file identifier (bytes 4–7), or nil when the file is shorter than 8 bytes.
    public var identifier: [UInt8]? { bytes.count >= 8 ? Array(bytes[4..<8]) : nil }

    /// The root table.
    public func root(_ what: String) throws(SwiftletError) -> FlatTable {
        try need(0, 8, "the root offset and file identifier")
        return try table(at: Int(u32(0)), what)
    }

    /// The table at `position`, its vtable checked.
    func table(at position: Int, _ what: @autoclosure () -> String) throws(SwiftletError) -> FlatTable {
        try need(position, 4, "\(what()) table")
        let soffset = Int(Int32(bitPattern: u32(position)))
        let vtable = position - soffset
        try need(vtable, 4, "the vtable of \(what()) (table at byte \(position))")
        let vsize = Int(u16(vtable))
        let tsize = Int(u16(vtable + 2))
        guard vsize >= 4, vsize % 2 == 0 else {
            throw malformed("the vtable of \(what()) at byte \(vtable) declares \(vsize) bytes (at least 4, even)")
        }
        try need(vtable, vsize, "the vtable of \(what())")
        try need(position, max(tsize, 4), "\(what()) table")
        return FlatTable(buffer: self, position: position, vtable: vtable, fieldCount: (vsize - 4) / 2, size: max(tsize, 4), what: what())
    }
}

/// One table of a `FlatBuffer`: fields by id (the schema's order), each checked to lie inside the
/// table's declared size and the file.
public struct FlatTable {
    public let buffer: FlatBuffer
    public let position: Int
    let vtable: Int
    let fieldCount: Int
    let size: Int
    /// What the table is, for messages ("tensor 12 of subgraph 0").
    public let what: String

    /// The byte position of field `id` holding `width` bytes, or nil when absent.
    func field(_ id: Int, _ width: Int, _ name: String) throws(SwiftletError) -> Int? {
        guard id < fieldCount else { return nil }
        let off = Int(buffer.u16(vtable + 4 + 2 * id))
        if off == 0 { return nil }
        guard off + width <= size else {
            throw buffer.malformed("\(what): field '\(name)' at offset \(off) (\(width) bytes) lies outside its table of \(size) bytes")
        }
        try buffer.need(position + off, width, "\(what): field '\(name)'")
        return position + off
    }

    public func has(_ id: Int) -> Bool { id < fieldCount && buffer.u16(vtable + 4 + 2 * id) != 0 }

    public func u8(_ id: Int, _ name: String, default d: UInt8 = 0) throws(SwiftletError) -> UInt8 {
        guard let p = try field(id, 1, name) else { return d }
        return buffer.u8(p)
    }
    public func i8(_ id: Int, _ name: String, default d: Int8 = 0) throws(SwiftletError) -> Int8 {
        Int8(bitPattern: try u8(id, name, default: UInt8(bitPattern: d)))
    }
    public func bool(_ id: Int, _ name: String, default d: Bool = false) throws(SwiftletError) -> Bool {
        try u8(id, name, default: d ? 1 : 0) != 0
    }
    public func i32(_ id: Int, _ name: String, default d: Int32 = 0) throws(SwiftletError) -> Int32 {
        guard let p = try field(id, 4, name) else { return d }
        return Int32(bitPattern: buffer.u32(p))
    }
    public func u32(_ id: Int, _ name: String, default d: UInt32 = 0) throws(SwiftletError) -> UInt32 {
        guard let p = try field(id, 4, name) else { return d }
        return buffer.u32(p)
    }
    public func u64(_ id: Int, _ name: String, default d: UInt64 = 0) throws(SwiftletError) -> UInt64 {
        guard let p = try field(id, 8, name) else { return d }
        return buffer.u64(p)
    }
    public func f32(_ id: Int, _ name: String, default d: Float = 0) throws(SwiftletError) -> Float {
        guard let p = try field(id, 4, name) else { return d }
        return Float(bitPattern: buffer.u32(p))
    }

    /// Where an offset field points, checked to lie inside the file.
    func target(_ id: Int, _ name: String) throws(SwiftletError) -> Int? {
        guard let p = try field(id, 4, name) else { return nil }
        let t = p + Int(buffer.u32(p))
        try buffer.need(t, 4, "\(what): '\(name)', pointed to from byte \(p),")
        return t
    }

    /// A sub-table, or nil when absent.
    public func table(_ id: Int, _ name: String, what: @autoclosure () -> String) throws(SwiftletError) -> FlatTable? {
        guard let t = try target(id, name) else { return nil }
        return try buffer.table(at: t, what())
    }

    /// The element count and first element position of a vector of `width`-byte elements, all checked.
    public func vector(_ id: Int, _ name: String, width: Int) throws(SwiftletError) -> (count: Int, start: Int)? {
        guard let t = try target(id, name) else { return nil }
        let n = Int(buffer.u32(t))
        let (bytes, o) = n.multipliedReportingOverflow(by: width)
        guard !o else { throw buffer.malformed("\(what): vector '\(name)' declares \(n) elements") }
        try buffer.need(t + 4, bytes, "\(what): vector '\(name)' of \(n) elements")
        return (n, t + 4)
    }

    public func i32s(_ id: Int, _ name: String) throws(SwiftletError) -> [Int32]? {
        guard let (n, s) = try vector(id, name, width: 4) else { return nil }
        return (0..<n).map { Int32(bitPattern: buffer.u32(s + 4 * $0)) }
    }
    public func i64s(_ id: Int, _ name: String) throws(SwiftletError) -> [Int64]? {
        guard let (n, s) = try vector(id, name, width: 8) else { return nil }
        return (0..<n).map { Int64(bitPattern: buffer.u64(s + 8 * $0)) }
    }
    public func f32s(_ id: Int, _ name: String) throws(SwiftletError) -> [Float]? {
        guard let (n, s) = try vector(id, name, width: 4) else { return nil }
        return (0..<n).map { Float(bitPattern: buffer.u32(s + 4 * $0)) }
    }
    public func u16s(_ id: Int, _ name: String) throws(SwiftletError) -> [UInt16]? {
        guard let (n, s) = try vector(id, name, width: 2) else { return nil }
        return (0..<n).map { buffer.u16(s + 2 * $0) }
    }
    /// A byte vector as its range in the file (not copied).
    public func byteRange(_ id: Int, _ name: String) throws(SwiftletError) -> Range<Int>? {
        guard let (n, s) = try vector(id, name, width: 1) else { return nil }
        return s..<(s + n)
    }

    /// The tables of a vector of tables, each checked.
    public func tables(_ id: Int, _ name: String, what: (Int) -> String) throws(SwiftletError) -> [FlatTable] {
        guard let (n, s) = try vector(id, name, width: 4) else { return [] }
        var out: [FlatTable] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let p = s + 4 * i
            let t = p + Int(buffer.u32(p))
            out.append(try buffer.table(at: t, what(i)))
        }
        return out
    }

    /// A string (UTF-8, invalid bytes replaced), or nil when absent.
    public func string(_ id: Int, _ name: String) throws(SwiftletError) -> String? {
        guard let (n, s) = try vector(id, name, width: 1) else { return nil }
        return String(decoding: buffer.bytes[s..<(s + n)], as: UTF8.self)
    }
}
