// Strings compared and searched as UTF-8 bytes.
//
// String's own `==`, `hasPrefix`, `hasSuffix`, `count` and its Character APIs follow Unicode canonical
// equivalence and grapheme clusters. In Embedded Swift that links 38 KB of Unicode data tables
// (normalization, grapheme breaking, emoji) into the board binary, for flags, op names, paths and
// numbers that are ASCII or are identifiers compared byte for byte anyway (ONNX Runtime and the ONNX
// checker compare names as bytes too). Code that the board binary runs uses these instead;
// `tools/build-board` reports if the tables come back (docs/boards.md).

/// `switch` on a String compares UTF-8 bytes (chosen over the standard library's generic `~=`,
/// which would use `==`).
@inlinable
public func ~= (pattern: String, value: String) -> Bool {
    pattern.utf8.elementsEqual(value.utf8)
}

extension String {
    /// The same UTF-8 bytes as `other`.
    @inlinable
    public func same(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }

    /// Whether the UTF-8 bytes begin with `prefix`'s.
    @inlinable
    public func startsWith(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }

    /// Whether the UTF-8 bytes end with `suffix`'s.
    @inlinable
    public func endsWith(_ suffix: String) -> Bool {
        let a = utf8, b = suffix.utf8
        let n = a.count, m = b.count
        guard m <= n else { return false }
        return a.dropFirst(n - m).elementsEqual(b)
    }

    /// The text without its last `k` UTF-8 bytes (callers cut ASCII suffixes they checked with `endsWith`).
    @inlinable
    public func droppingLastBytes(_ k: Int) -> String {
        String(decoding: utf8.dropLast(k), as: UTF8.self)
    }

    /// Unicode scalars: the width of a name in a text table (characters without grapheme breaking).
    @inlinable
    public var scalarCount: Int { unicodeScalars.count }
}

extension Array where Element == String {
    /// Whether an element has the same UTF-8 bytes as `s`.
    @inlinable
    public func containsSame(_ s: String) -> Bool { contains { $0.same(s) } }
}

/// The first `limit` bytes as lowercase hex pairs, a space apart ("93 4e 55"): what an unrecognised
/// file starts with, in error messages.
public func hexBytes(_ bytes: [UInt8], limit: Int) -> String {
    var s = ""
    for i in 0..<min(bytes.count, limit) {
        if i > 0 { s.append(" ") }
        appendHex(UInt32(bytes[i]), digits: 2, to: &s)
    }
    return s
}

/// `v` as "0x" and 8 lowercase hex digits.
public func hex(_ v: UInt32) -> String {
    var s = "0x"
    appendHex(v, digits: 8, to: &s)
    return s
}

/// The low `digits` hex digits of `v`, lowercase (bytes, not Characters: no Unicode tables).
private func appendHex(_ v: UInt32, digits: Int, to s: inout String) {
    var bytes: [UInt8] = []
    for i in stride(from: 4 * (digits - 1), through: 0, by: -4) {
        let d = UInt8((v >> UInt32(i)) & 0xF)
        bytes.append(d < 10 ? 48 + d : 87 + d)
    }
    s.append(String(decoding: bytes, as: UTF8.self))
}
