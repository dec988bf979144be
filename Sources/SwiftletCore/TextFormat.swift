// Number and JSON text without Foundation (Embedded Swift has no String(format:)).

import CSwiftletSys

/// Text built in a byte buffer that is reused: the number and JSON formatting below, appended
/// without making a String, so the frame loop formats each frame's line without allocating once the
/// buffer has grown to a line's size. The String functions after it are these, for one value.
public struct TextBuffer {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    /// The text so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Empties the buffer, keeping its memory.
    public mutating func clear() { bytes.removeAll(keepingCapacity: true) }

    public mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    public mutating func append(byte: UInt8) { bytes.append(byte) }

    /// A decimal integer.
    public mutating func append(_ v: Int) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        append(unsigned: UInt64(v.magnitude))
    }

    /// The decimal digits of `v` (1 for 0).
    public static func digits(_ v: UInt64) -> Int {
        var n = 1
        var rest = v
        while rest >= 10 {
            rest /= 10
            n += 1
        }
        return n
    }

    /// A decimal integer.
    public mutating func append(unsigned v: UInt64) {
        let digits = TextBuffer.digits(v)
        let start = bytes.count
        for _ in 0..<digits { bytes.append(0) }
        var rest = v
        for i in stride(from: start + digits - 1, through: start, by: -1) {
            bytes[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
    }

    /// `x` with exactly `decimals` digits after the point, rounded half away from zero (`formatFixed`).
    public mutating func append(fixed x: Double, _ decimals: Int) {
        if x.isNaN { return append("nan") }
        if x.isInfinite { return append(x < 0 ? "-inf" : "inf") }
        let d = decimals < 0 ? 0 : (decimals > 17 ? 17 : decimals)
        var scale: UInt64 = 1
        for _ in 0..<d { scale *= 10 }
        let scaled = (x.magnitude * Double(scale)).rounded(.toNearestOrAwayFromZero)
        if scaled >= 9.0e18 { return append(scientific: x, 6) }
        let v = UInt64(scaled)
        if x < 0 && v != 0 { bytes.append(UInt8(ascii: "-")) }
        append(unsigned: v / scale)
        if d > 0 {
            bytes.append(UInt8(ascii: "."))
            let start = bytes.count
            append(unsigned: v % scale)
            let pad = d - (bytes.count - start)
            if pad > 0 {
                // Leading zeros of the fraction: shift its digits right.
                for _ in 0..<pad { bytes.append(0) }
                var i = bytes.count - 1
                while i >= start + pad {
                    bytes[i] = bytes[i - pad]
                    i -= 1
                }
                for k in start..<(start + pad) { bytes[k] = UInt8(ascii: "0") }
            }
        }
    }

    /// `x` as `d.ddddde±XX` with `significant` digits, as C's `%.*e` (`formatScientific`); `trim`
    /// removes the mantissa's trailing zeros (as `%g` does).
    public mutating func append(scientific x: Double, _ significant: Int, trim: Bool = false) {
        if x.isNaN { return append("nan") }
        if x.isInfinite { return append(x < 0 ? "-inf" : "inf") }
        let sig = significant < 1 ? 1 : (significant > 17 ? 17 : significant)
        var (m, e) = decimalExponent(x.magnitude)
        if x < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        append(fixed: m, sig - 1)
        if bytes.count >= start + 2 && bytes[start] == UInt8(ascii: "1") && bytes[start + 1] == UInt8(ascii: "0") {
            // Rounding carried into a new digit: 9.9996 → 10.000.
            e += 1
            m /= 10
            bytes.removeSubrange(start...)
            append(fixed: m, sig - 1)
        }
        if trim { trimZeros(from: start) }
        bytes.append(UInt8(ascii: "e"))
        bytes.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let ee = e < 0 ? -e : e
        if ee < 10 { bytes.append(UInt8(ascii: "0")) }
        append(ee)
    }

    /// `x` with about `significant` digits, as C's `%g` (`formatGeneral`).
    public mutating func append(general x: Double, _ significant: Int = 6) {
        if x.isNaN { return append("nan") }
        if x.isInfinite { return append(x < 0 ? "-inf" : "inf") }
        if x == 0 { return append("0") }
        let sig = significant < 1 ? 1 : (significant > 17 ? 17 : significant)
        let (_, e) = decimalExponent(x.magnitude)
        if e >= -5 && e < sig {
            let start = bytes.count
            append(fixed: x, sig - 1 - e)
            trimZeros(from: start)
        } else {
            append(scientific: x, sig, trim: true)
        }
    }

    /// A JSON number: `general`, or `null` for nan and infinities (`jsonNumber`).
    public mutating func append(json x: Double, _ significant: Int = 6) {
        if x.isFinite { append(general: x, significant) } else { append("null") }
    }

    /// `s` as a quoted JSON string: `"`, `\` and control characters escaped (`jsonString`).
    public mutating func append(json s: String) {
        bytes.append(UInt8(ascii: "\""))
        append(jsonEscaped: s)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `s` escaped for the inside of a JSON string (no quotes around it).
    public mutating func append(jsonEscaped s: String) {
        for u in s.utf8 {
            switch u {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\r"): append("\\r")
            case UInt8(ascii: "\t"): append("\\t")
            default:
                if u < 0x20 || u == 0x7F {
                    append("\\u00")
                    bytes.append(hexDigit(u >> 4))
                    bytes.append(hexDigit(u & 15))
                } else {
                    bytes.append(u)
                }
            }
        }
    }

    /// `s` with &, <, >, " escaped for HTML and SVG text and attributes.
    public mutating func append(escaped s: String) {
        for u in s.utf8 {
            switch u {
            case UInt8(ascii: "&"): append("&amp;")
            case UInt8(ascii: "<"): append("&lt;")
            case UInt8(ascii: ">"): append("&gt;")
            case UInt8(ascii: "\""): append("&quot;")
            default: append(byte: u)
            }
        }
    }

    /// An integer right-aligned in `width` characters (spaces on the left).
    public mutating func append(_ v: Int, width: Int) {
        let n = TextBuffer.digits(UInt64(v.magnitude)) + (v < 0 ? 1 : 0)
        if n < width { for _ in n..<width { bytes.append(UInt8(ascii: " ")) } }
        append(v)
    }

    /// A box's four values with `decimals` digits each, `separator` between them.
    public mutating func append(fixed b: (Float, Float, Float, Float), _ decimals: Int, separator: StaticString) {
        append(fixed: (b.0, b.1), decimals, separator: separator)
        append(separator)
        append(fixed: (b.2, b.3), decimals, separator: separator)
    }

    /// A point's two coordinates with `decimals` digits each, `separator` between them.
    public mutating func append(fixed p: (Float, Float), _ decimals: Int, separator: StaticString) {
        append(fixed: Double(p.0), decimals)
        append(separator)
        append(fixed: Double(p.1), decimals)
    }

    /// A result line's start as `run` prints it in JSON: `{"image": "…", ` and the timing fields.
    public mutating func appendResultStart(key: String, image: String, latencyJSON: String) {
        append("{\"")
        append(key)
        append("\": ")
        append(json: image)
        append(", ")
        append(latencyJSON)
    }

    /// Removes trailing zeros after a decimal point in the text from `start`, and the point if nothing follows it.
    mutating func trimZeros(from start: Int) {
        var hasPoint = false
        for i in start..<bytes.count where bytes[i] == UInt8(ascii: ".") { hasPoint = true }
        guard hasPoint else { return }
        while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
    }

    /// Writes the text to standard output and empties the buffer.
    public mutating func writeToStdout() {
        bytes.withUnsafeBufferPointer { b in
            if let p = b.baseAddress { swl_write_stdout(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self), b.count) }
        }
        clear()
    }
}

private func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") &+ v : UInt8(ascii: "a") &+ (v - 10) }

/// `x` with exactly `decimals` digits after the point, rounded half away from zero:
/// `formatFixed(0.71249, 3) == "0.712"`. NaN and infinities give `nan`, `inf`, `-inf`; magnitudes
/// too large for 64-bit fixed point fall back to `formatScientific`.
public func formatFixed(_ x: Double, _ decimals: Int) -> String {
    var t = TextBuffer()
    t.append(fixed: x, decimals)
    return t.string
}

/// `formatFixed` of a Float.
public func formatFixed(_ x: Float, _ decimals: Int) -> String { formatFixed(Double(x), decimals) }

/// `x` as `d.ddddde±XX` with `significant` digits, as C's `%.*e`; nan and infinities as in `formatFixed`.
public func formatScientific(_ x: Double, _ significant: Int) -> String {
    var t = TextBuffer()
    t.append(scientific: x, significant)
    return t.string
}

/// `x` with about `significant` digits, as C's `%g`: fixed notation for exponents −5 ..< significant,
/// scientific otherwise, trailing zeros removed. `formatGeneral(0.000123456) == "0.000123456"`.
public func formatGeneral(_ x: Double, _ significant: Int = 6) -> String {
    var t = TextBuffer()
    t.append(general: x, significant)
    return t.string
}

/// `formatGeneral` of a Float.
public func formatGeneral(_ x: Float, _ significant: Int = 6) -> String { formatGeneral(Double(x), significant) }

/// `m` in [1, 10) and `e` with `m · 10^e == x` (x > 0); 0 gives (0, 0).
func decimalExponent(_ x: Double) -> (Double, Int) {
    if x == 0 || !x.isFinite { return (x, 0) }
    var m = x
    var e = 0
    while m >= 1e10 { m /= 1e10; e += 10 }
    while m >= 10 { m /= 10; e += 1 }
    while m < 1e-10 { m *= 1e10; e -= 10 }
    while m < 1 { m *= 10; e -= 1 }
    return (m, e)
}

/// A JSON number for `x`: `formatGeneral` with enough digits, or `null` for nan and infinities
/// (which JSON cannot hold).
public func jsonNumber(_ x: Double, _ significant: Int = 6) -> String {
    var t = TextBuffer()
    t.append(json: x, significant)
    return t.string
}

/// `s` as a quoted JSON string: `"`, `\` and control characters escaped.
public func jsonString(_ s: String) -> String {
    var t = TextBuffer(capacity: s.utf8.count + 2)
    t.append(json: s)
    return t.string
}

/// Integers as a JSON array: `[1, 3, 224, 224]`.
public func jsonInts(_ v: [Int]) -> String {
    var s = "["
    for (i, x) in v.enumerated() { s += i == 0 ? "\(x)" : ", \(x)" }
    return s + "]"
}

/// A count with a decimal SI prefix: `864`, `10.8 K`, `3.50 M`, `300.8 M`, `1.20 G`.
public func formatCount(_ n: Int) -> String {
    let v = Double(n)
    if v.magnitude < 1000 { return "\(n)" }
    let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")]
    for (scale, unit) in units where v.magnitude >= scale {
        return "\(threeDigits(v / scale)) \(unit)"
    }
    return "\(n)"
}

/// Bytes in binary units: `512 B`, `4.50 KiB`, `13.4 MiB`.
public func formatBytes(_ n: Int) -> String {
    if n < 1024 { return "\(n) B" }
    var v = Double(n) / 1024
    var unit = "KiB"
    for u in ["MiB", "GiB", "TiB"] where v >= 1024 {
        v /= 1024
        unit = u
    }
    return "\(threeDigits(v)) \(unit)"
}

/// Two decimals below 10, one above: `3.50`, `10.8`, `300.8`.
func threeDigits(_ v: Double) -> String { formatFixed(v, v.magnitude < 9.995 ? 2 : 1) }

/// `s` padded with spaces on the left to `width` characters (Unicode scalars).
public func padLeft(_ s: String, _ width: Int) -> String {
    let n = s.scalarCount
    return n >= width ? s : String(repeating: " ", count: width - n) + s
}

/// `s` padded with spaces on the right to `width` characters (Unicode scalars).
public func padRight(_ s: String, _ width: Int) -> String {
    let n = s.scalarCount
    return n >= width ? s : s + String(repeating: " ", count: width - n)
}

/// Prints `rows` (the first is the header) in columns two spaces apart, cells cut to `maxWidth`.
public func printColumns(_ rows: [[String]], rightAligned: [Bool], maxWidth: Int) {
    guard let columns = rows.first?.count else { return }
    var widths = [Int](repeating: 0, count: columns)
    for r in rows { for c in 0..<columns { widths[c] = max(widths[c], min(r[c].scalarCount, maxWidth)) } }
    for r in rows {
        var line = ""
        for c in 0..<columns {
            if c > 0 { line += "  " }
            line += rightAligned[c] ? padLeft(r[c], widths[c]) : padRight(r[c], widths[c])
        }
        var bytes = Array(line.utf8)
        while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        sys_print(String(decoding: bytes, as: UTF8.self))
    }
}

/// A plain decimal number (`0.5`, `.25`, `1`, `3e-2` not accepted), for the board's hand-parsed flags.
public func parseDecimal(_ text: String) -> Float? {
    var value = 0.0
    var scale = 1.0
    var seenDot = false
    var digits = 0
    var negative = false
    for (i, b) in text.utf8.enumerated() {
        if i == 0 && b == UInt8(ascii: "-") {
            negative = true
        } else if b == UInt8(ascii: ".") && !seenDot {
            seenDot = true
        } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
            digits += 1
            if digits > 18 { return nil }
            if seenDot {
                scale /= 10
                value += Double(b - UInt8(ascii: "0")) * scale
            } else {
                value = value * 10 + Double(b - UInt8(ascii: "0"))
            }
        } else {
            return nil
        }
    }
    if digits == 0 { return nil }
    return Float(negative ? -value : value)
}
