import SwiftletCore

// A small validating JSON reader (RFC 8259) that keeps the line of every value, so that a file that
// is malformed, or well-formed but missing a field, is reported with the line to look at. Used for
// COCO annotation and result files; the project writes its JSON by hand (SwiftletApp/Format.swift).
//
// Limits, each an error naming the line: nesting deeper than 512, a file over 1 GiB (read whole),
// numbers outside double's range. Duplicate keys are an error (the COCO files have none; a reader that
// silently keeps one would hide a mistake). Strings are UTF-8; `\u` escapes with surrogate pairs.

/// A JSON value with the 1-based line it starts on.
public struct JSONNode: Sendable {
    public enum Value: Sendable {
        case null
        case bool(Bool)
        /// The number, and whether its text was an integer (no fraction, no exponent).
        case number(Double, integer: Bool)
        case string(String)
        case array([JSONNode])
        case object([(key: String, value: JSONNode)])
    }

    public var value: Value
    public var line: Int

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        for m in members where m.key == key { return m.value }
        return nil
    }

    /// What kind of value this is, for messages: "an object", "a number", …
    public var kind: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Parses `bytes` as one JSON document; `path` names the file in errors, which read
/// `path: line N: what is wrong; hint`.
public func parseJSON(_ bytes: [UInt8], path: String, hint: String = "check the file is valid JSON") throws(SwiftletError) -> JSONNode {
    var p = JSONParser(bytes: bytes, path: path, hint: hint)
    p.skipSpace()
    if p.at >= bytes.count { throw p.fail("the file is empty, expected a JSON value") }
    let v = try p.value(depth: 0)
    p.skipSpace()
    if p.at < bytes.count { throw p.fail("unexpected \(p.describeHere()) after the JSON value") }
    return v
}

struct JSONParser {
    let bytes: [UInt8]
    let path: String
    let hint: String
    var at = 0
    var line = 1

    init(bytes: [UInt8], path: String, hint: String) {
        self.bytes = bytes
        self.path = path
        self.hint = hint
    }

    func fail(_ what: String, line l: Int? = nil) -> SwiftletError {
        .malformedFile(path: path, detail: "line \(l ?? line): \(what)", hint: hint)
    }

    /// The byte at the cursor, for messages: `'x'`, or "the end of the file".
    func describeHere() -> String {
        if at >= bytes.count { return "end of file" }
        let b = bytes[at]
        if b >= 0x20 && b < 0x7F { return "'\(String(decoding: [b], as: UTF8.self))'" }
        if b == 0x0A { return "a line break" }
        return "byte 0x\(String(b, radix: 16))"
    }

    mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x0A:
                line += 1
                at += 1
            case 0x20, 0x09, 0x0D: at += 1
            default: return
            }
        }
    }

    mutating func expectLiteral(_ word: String, _ v: JSONNode.Value) throws(SwiftletError) -> JSONNode {
        let w = Array(word.utf8)
        if at + w.count <= bytes.count && Array(bytes[at..<(at + w.count)]) == w {
            at += w.count
            return JSONNode(value: v, line: line)
        }
        throw fail("unexpected \(describeHere()), expected a JSON value (object, array, string, number, true, false or null)")
    }

    /// Past an opening brace or bracket: whether `close` follows it at once (an empty object or
    /// array), then past that too.
    mutating func opensEmpty(closedBy close: UInt8) -> Bool {
        at += 1
        skipSpace()
        guard at < bytes.count && bytes[at] == close else { return false }
        at += 1
        return true
    }

    /// After an object's member `key` (or an array's element: nil), which starts on line `start`:
    /// true at the closing brace (or bracket), false at a comma, either consumed; else the error.
    mutating func closes(start: Int, after key: String?) throws(SwiftletError) -> Bool {
        let (kind, close) = key == nil ? ("array", UInt8(ascii: "]")) : ("object", UInt8(ascii: "}"))
        let expected = key == nil ? "expected ',' or ']'" : "expected ',' or '}'"
        skipSpace()
        guard at < bytes.count else { throw fail("unexpected end of file in the \(kind) that starts on line \(start), \(expected)") }
        let closing = bytes[at] == close
        if closing || bytes[at] == UInt8(ascii: ",") {
            at += 1
            return closing
        }
        if let key { throw fail("unexpected \(describeHere()) after the member \"\(key)\", \(expected)") }
        throw fail("unexpected \(describeHere()) after an array element, \(expected)")
    }

    mutating func value(depth: Int) throws(SwiftletError) -> JSONNode {
        if depth > 512 { throw fail("values nested deeper than 512 levels") }
        guard at < bytes.count else { throw fail("unexpected end of file, expected a value") }
        let start = line
        switch bytes[at] {
        case UInt8(ascii: "{"):
            var members: [(key: String, value: JSONNode)] = []
            if opensEmpty(closedBy: UInt8(ascii: "}")) { return JSONNode(value: .object(members), line: start) }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else {
                    throw fail("unexpected \(describeHere()) in the object that starts on line \(start), expected a member name in double quotes")
                }
                let keyLine = line
                let key = try string()
                for m in members where m.key == key {
                    throw fail("the member \"\(key)\" appears twice in the object that starts on line \(start)", line: keyLine)
                }
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else {
                    throw fail("unexpected \(describeHere()) after the member name \"\(key)\", expected ':'")
                }
                at += 1
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                if try closes(start: start, after: key) { return JSONNode(value: .object(members), line: start) }
            }
        case UInt8(ascii: "["):
            var items: [JSONNode] = []
            if opensEmpty(closedBy: UInt8(ascii: "]")) { return JSONNode(value: .array(items), line: start) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                if try closes(start: start, after: nil) { return JSONNode(value: .array(items), line: start) }
            }
        case UInt8(ascii: "\""):
            return JSONNode(value: .string(try string()), line: start)
        case UInt8(ascii: "t"): return try expectLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try expectLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try expectLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw fail("unexpected \(describeHere()), expected a JSON value (object, array, string, number, true, false or null)")
        }
    }

    mutating func digits() -> Int {
        var n = 0
        while at < bytes.count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") {
            at += 1
            n += 1
        }
        return n
    }

    mutating func number() throws(SwiftletError) -> JSONNode {
        let start = at
        var integer = true
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        let first = at
        let n = digits()
        if n == 0 { throw fail("a number needs digits after '-'") }
        if n > 1 && bytes[first] == UInt8(ascii: "0") { throw fail("a number starts with a leading zero (JSON allows none)") }
        if at < bytes.count && bytes[at] == UInt8(ascii: ".") {
            integer = false
            at += 1
            if digits() == 0 { throw fail("a number needs digits after its decimal point") }
        }
        if at < bytes.count && (bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E")) {
            integer = false
            at += 1
            if at < bytes.count && (bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-")) { at += 1 }
            if digits() == 0 { throw fail("a number needs digits in its exponent") }
        }
        let text = String(decoding: bytes[start..<at], as: UTF8.self)
        guard let v = Double(text), v.isFinite else { throw fail("the number \(text) is out of range") }
        return JSONNode(value: .number(v, integer: integer), line: line)
    }

    mutating func hex4() throws(SwiftletError) -> UInt32 {
        if at + 4 > bytes.count { throw fail("a \\u escape needs four hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[at]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw fail("a \\u escape needs four hex digits, found \(describeHere())")
            }
            v = v * 16 + d
            at += 1
        }
        return v
    }

    /// A string at the cursor (on its opening quote).
    mutating func string() throws(SwiftletError) -> String {
        let startLine = line
        at += 1
        var out: [UInt8] = []
        while true {
            guard at < bytes.count else { throw fail("unexpected end of file in the string that starts on line \(startLine)") }
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                at += 1
                break
            }
            if b < 0x20 {
                throw fail(b == 0x0A ? "a line break inside a string (the string starts on line \(startLine)); a closing '\"' is missing, or write \\n" : "a control character (0x\(String(b, radix: 16))) inside a string; escape it")
            }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                at += 1
                continue
            }
            at += 1
            guard at < bytes.count else { throw fail("unexpected end of file after '\\' in a string") }
            let e = bytes[at]
            at += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var c = try hex4()
                if c >= 0xD800 && c < 0xDC00 {
                    guard at + 2 <= bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                        throw fail("a \\u escape of a high surrogate without its low surrogate")
                    }
                    at += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw fail("a \\u escape of a high surrogate without its low surrogate") }
                    c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00)
                } else if c >= 0xDC00 && c < 0xE000 {
                    throw fail("a \\u escape of a lone low surrogate")
                }
                guard let s = Unicode.Scalar(c) else { throw fail("a \\u escape that is not a Unicode scalar") }
                out.append(contentsOf: Array(String(Character(s)).utf8))
            default:
                at -= 1
                throw fail("unknown escape '\\\(String(decoding: [e], as: UTF8.self))' in a string")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string that is not valid UTF-8", line: startLine) }
        return s
    }
}
