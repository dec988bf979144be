// Number and JSON text without Foundation (Embedded Swift has no String(format:)).

import SwiftletCore

/// `x` with exactly `decimals` digits after the point, rounded half away from zero:
/// `formatFixed(0.71249, 3) == "0.712"`. NaN and infinities give `nan`, `inf`, `-inf`; magnitudes
/// too large for 64-bit fixed point fall back to `formatScientific`.
public func formatFixed(_ x: Double, _ decimals: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    let d = decimals < 0 ? 0 : (decimals > 17 ? 17 : decimals)
    var scale: UInt64 = 1
    for _ in 0..<d { scale *= 10 }
    let scaled = (x.magnitude * Double(scale)).rounded(.toNearestOrAwayFromZero)
    if scaled >= 9.0e18 { return formatScientific(x, 6) }
    let v = UInt64(scaled)
    var s = x < 0 && v != 0 ? "-" : ""
    s += "\(v / scale)"
    if d > 0 {
        let frac = "\(v % scale)"
        s += "."
        for _ in frac.utf8.count..<d { s += "0" }
        s += frac
    }
    return s
}

/// `formatFixed` of a Float.
public func formatFixed(_ x: Float, _ decimals: Int) -> String { formatFixed(Double(x), decimals) }

/// `x` as `d.ddddde±XX` with `significant` digits, as C's `%.*e`; nan and infinities as in `formatFixed`.
public func formatScientific(_ x: Double, _ significant: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    let sig = significant < 1 ? 1 : (significant > 17 ? 17 : significant)
    var (m, e) = decimalExponent(x.magnitude)
    var mantissa = formatFixed(m, sig - 1)
    if mantissa.startsWith("10") {  // rounding carried into a new digit: 9.9996 → 10.000
        e += 1
        m /= 10
        mantissa = formatFixed(m, sig - 1)
    }
    let sign = x < 0 ? "-" : ""
    let esign = e < 0 ? "-" : "+"
    let ee = e < 0 ? -e : e
    return "\(sign)\(mantissa)e\(esign)\(ee < 10 ? "0" : "")\(ee)"
}

/// `x` with about `significant` digits, as C's `%g`: fixed notation for exponents −5 ..< significant,
/// scientific otherwise, trailing zeros removed. `formatGeneral(0.000123456) == "0.000123456"`.
public func formatGeneral(_ x: Double, _ significant: Int = 6) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    if x == 0 { return "0" }
    let sig = significant < 1 ? 1 : (significant > 17 ? 17 : significant)
    let (_, e) = decimalExponent(x.magnitude)
    if e >= -5 && e < sig {
        return trimZeros(formatFixed(x, sig - 1 - e))
    }
    let s = Array(formatScientific(x, sig).utf8)
    guard let ePos = s.firstIndex(of: UInt8(ascii: "e")) else { return String(decoding: s, as: UTF8.self) }
    return trimZeros(String(decoding: s[..<ePos], as: UTF8.self)) + String(decoding: s[ePos...], as: UTF8.self)
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

/// Removes trailing zeros after a decimal point, and the point if nothing follows it.
func trimZeros(_ s: String) -> String {
    var b = Array(s.utf8)
    guard b.contains(UInt8(ascii: ".")) else { return s }
    while b.last == UInt8(ascii: "0") { b.removeLast() }
    if b.last == UInt8(ascii: ".") { b.removeLast() }
    return String(decoding: b, as: UTF8.self)
}

/// A JSON number for `x`: `formatGeneral` with enough digits, or `null` for nan and infinities
/// (which JSON cannot hold).
public func jsonNumber(_ x: Double, _ significant: Int = 6) -> String {
    x.isFinite ? formatGeneral(x, significant) : "null"
}

/// `s` as a quoted JSON string: `"`, `\` and control characters escaped.
public func jsonString(_ s: String) -> String {
    let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7F {
                out += "\\u00"
                out.append(hex[Int(u.value >> 4)])
                out.append(hex[Int(u.value & 15)])
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Integers as a JSON array: `[1, 3, 224, 224]`.
func jsonInts(_ v: [Int]) -> String {
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
func padLeft(_ s: String, _ width: Int) -> String {
    let n = s.scalarCount
    return n >= width ? s : String(repeating: " ", count: width - n) + s
}

/// `s` padded with spaces on the right to `width` characters (Unicode scalars).
func padRight(_ s: String, _ width: Int) -> String {
    let n = s.scalarCount
    return n >= width ? s : s + String(repeating: " ", count: width - n)
}
