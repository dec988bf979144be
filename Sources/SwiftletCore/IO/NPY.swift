// NumPy `.npy` files (format versions 1.0, 2.0, 3.0), little-endian numeric dtypes only.
//
// Layout: the magic "\x93NUMPY", a major and a minor version byte, the header length (UInt16 LE
// for 1.0, UInt32 LE for 2.0 and 3.0), then the header — a Python dict literal such as
// `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }` padded with spaces and
// ending in '\n' — then the raw C-order data. The reader parses the dict as a small Python-literal
// grammar (strings, True/False/None, integer tuples; keys in any order, any whitespace) and checks
// every length against the file size. The writer produces the same bytes as `numpy.save`
// (version 1.0 unless the header needs more than 65535 bytes, data aligned to 64 bytes).
//
// Limits: no big-endian, complex, float16, bool, string, object or structured dtypes, no
// Fortran-order arrays; each is rejected with a message saying how to re-save the array.

/// Element types a `.npy` file may hold here (little-endian).
public enum NPYType: Equatable, Sendable {
    case float32, float64, int8, uint8, int32, int64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .int8, .uint8: return 1
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    /// NumPy's dtype string as `numpy.save` writes it, e.g. `<f4`.
    public var descr: String {
        switch self {
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .int32: return "<i4"
        case .int64: return "<i8"
        }
    }
}

/// An n-dimensional array read from or written to a NumPy `.npy` file (C order, little-endian data).
public struct NPYArray: Equatable {
    /// The element type.
    public var type: NPYType
    /// The dimensions; `[]` is a scalar.
    public var shape: [Int]
    /// The elements' bytes, little-endian, C order.
    public var data: [UInt8]

    /// Number of elements (the product of `shape`, 1 for a scalar).
    public var count: Int {
        var n = 1
        for d in shape { n *= d }
        return n
    }

    /// An array of the given type and shape over raw little-endian bytes.
    public init(type: NPYType, shape: [Int], data: [UInt8]) {
        self.type = type
        self.shape = shape
        self.data = data
    }

    /// A float32 array; `floats.count` must equal the product of `shape`.
    public init(floats: [Float], shape: [Int]) {
        var n = 1
        for d in shape {
            precondition(d >= 0, "NPYArray(floats:shape:): dimensions must be non-negative")
            n *= d
        }
        precondition(n == floats.count, "NPYArray(floats:shape:): floats.count must equal the product of shape")
        type = .float32
        self.shape = shape
        var w = ByteWriter()
        w.bytes.reserveCapacity(floats.count * 4)
        for f in floats { w.f32(f) }
        data = w.bytes
    }

    /// Reads and parses a `.npy` file.
    public init(contentsOf path: String) throws(SwiftletError) {
        let bytes = try sys_readFile(path, what: "a .npy file")
        try self.init(parsing: bytes, path: path)
    }

    /// Writes the array as a `.npy` file, as `numpy.save` would.
    public func write(to path: String) throws(SwiftletError) {
        try sys_writeFile(path, encoded())
    }

    /// Parses the bytes of a `.npy` file; `path` names it in error messages.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    public init(parsing bytes: [UInt8], path: String) throws(SwiftletError) {
        func fail(_ detail: String, _ hint: String = "") -> SwiftletError {
            .malformedFile(path: path, detail: detail, hint: hint)
        }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
        if bytes.count < 6 || Array(bytes[0..<6]) != magic {
            if bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B && bytes[2] == 3 && bytes[3] == 4 {
                throw fail("not a .npy file (bad magic: it is a zip archive, probably an .npz)",
                           "extract the array with numpy.load and save it with numpy.save")
            }
            let what = bytes.isEmpty ? "the file is empty" : "starts with \(hexBytes(bytes, limit: 6)), expected 93 4e 55 4d 50 59"
            throw fail("not a .npy file (bad magic: \(what))", "write it with numpy.save")
        }
        if bytes.count < 10 {
            throw fail("the .npy preamble is cut off at byte \(bytes.count)", "the file is truncated")
        }
        let major = Int(bytes[6]), minor = Int(bytes[7])
        var headerStart = 10
        var headerLength = 0
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            if bytes.count < 12 {
                throw fail("the .npy preamble is cut off at byte \(bytes.count)", "the file is truncated")
            }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(minor) (this reader knows 1.0, 2.0, 3.0)",
                       "re-save it with numpy.save")
        }
        let dataStart = headerStart + headerLength
        if dataStart > bytes.count {
            throw fail(
                "the header runs past the end of the file (it claims \(headerLength) bytes from byte \(headerStart), "
                    + "the file has \(bytes.count))",
                "the file is truncated")
        }

        var parser = NPYHeaderParser(bytes: bytes, start: headerStart, end: dataStart)
        let entries: [(key: String, value: NPYHeaderValue)]
        switch parser.parseDict() {
        case .success(let e): entries = e
        case .failure(let message): throw fail("malformed header: \(message)", "write it with numpy.save")
        }
        var descr: NPYHeaderValue? = nil
        var fortran: NPYHeaderValue? = nil
        var shapeValue: NPYHeaderValue? = nil
        for entry in entries {
            switch entry.key {
            case "descr": descr = entry.value
            case "fortran_order": fortran = entry.value
            case "shape": shapeValue = entry.value
            default: throw fail("malformed header: unexpected key '\(entry.key)'", "write it with numpy.save")
            }
        }
        guard let descr else { throw fail("malformed header: no 'descr' key", "write it with numpy.save") }
        guard let fortran else { throw fail("malformed header: no 'fortran_order' key", "write it with numpy.save") }
        guard let shapeValue else { throw fail("malformed header: no 'shape' key", "write it with numpy.save") }

        switch descr {
        case .string(let s): type = try npyType(descr: s, path: path)
        case .list:
            throw fail("structured dtype (a list of fields) is not supported",
                       "save each field as its own array with numpy.save")
        default: throw fail("malformed header: 'descr' is not a string", "write it with numpy.save")
        }
        switch fortran {
        case .bool(false): break
        case .bool(true):
            throw fail("fortran_order is True (column-major data is not supported)",
                       "save it with np.ascontiguousarray(arr)")
        default: throw fail("malformed header: 'fortran_order' is not True or False", "write it with numpy.save")
        }
        switch shapeValue {
        case .tuple(let dims): shape = dims
        default: throw fail("malformed header: 'shape' is not a tuple of integers", "write it with numpy.save")
        }
        var elements = 1
        for d in shape {
            if d < 0 {
                throw fail("malformed header: negative dimension in shape \(npyShapeText(shape))", "write it with numpy.save")
            }
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            if overflow { throw fail("shape \(npyShapeText(shape)) is too large", "") }
            elements = p
        }
        let (needed, overflow) = elements.multipliedReportingOverflow(by: type.size)
        if overflow { throw fail("shape \(npyShapeText(shape)) is too large", "") }
        let have = bytes.count - dataStart
        if have != needed {
            let why = have < needed ? "the file is truncated" : "the file has trailing bytes"
            throw fail("data is \(have) bytes, shape \(npyShapeText(shape)) of '\(type.descr)' needs \(needed)",
                       "\(why); re-save it with numpy.save")
        }
        data = Array(bytes[dataStart...])
    }

    /// The `.npy` file bytes, identical to what `numpy.save` writes (format 1.0, or 2.0 for huge headers).
    public func encoded() -> [UInt8] {
        var header = "{'descr': '\(type.descr)', 'fortran_order': False, 'shape': \(npyShapeText(shape)), }"
        // numpy leaves room to grow the first dimension in place (GROWTH_AXIS_MAX_DIGITS = 21).
        if let first = shape.first {
            let digits = "\(first)".utf8.count
            if digits < 21 { header.append(String(repeating: " ", count: 21 - digits)) }
        }
        var headerBytes = Array(header.utf8)
        let hlen = headerBytes.count + 1  // + the final '\n'
        var version: UInt8 = 1
        var prefixLength = 10
        var padding = 64 - (prefixLength + hlen) % 64
        if hlen + padding > 65535 {
            version = 2
            prefixLength = 12
            padding = 64 - (prefixLength + hlen) % 64
        }
        headerBytes.append(contentsOf: repeatElement(0x20, count: padding))
        headerBytes.append(0x0A)
        var out = ByteWriter(bytes: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
        out.bytes.reserveCapacity(prefixLength + headerBytes.count + data.count)
        if version == 2 { out.u32(UInt32(headerBytes.count)) } else { out.u16(UInt16(headerBytes.count)) }
        out.bytes.append(contentsOf: headerBytes)
        out.bytes.append(contentsOf: data)
        return out.bytes
    }

    /// The elements as Float: float32 as stored, other types converted (float64 rounded to nearest).
    public func floats() throws(SwiftletError) -> [Float] {
        let n = count
        if data.count != n * type.size {
            throw .usage(
                detail: "NPYArray.floats(): data is \(data.count) bytes, shape \(npyShapeText(shape)) of "
                    + "'\(type.descr)' needs \(n * type.size)")
        }
        var out = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            switch type {
            case .float32:
                for i in 0..<n {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                }
            case .float64:
                for i in 0..<n {
                    let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
                    out[i] = Float(Double(bitPattern: bits))
                }
            case .int8:
                for i in 0..<n { out[i] = Float(Int8(bitPattern: raw[i])) }
            case .uint8:
                for i in 0..<n { out[i] = Float(raw[i]) }
            case .int32:
                for i in 0..<n { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
            case .int64:
                for i in 0..<n { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
            }
        }
        return out
    }
}

/// Python's repr of a shape tuple: `()`, `(3,)`, `(1, 3, 224, 224)`.
func npyShapeText(_ shape: [Int]) -> String {
    var s = "("
    for (i, d) in shape.enumerated() {
        if i > 0 { s.append(", ") }
        s.append("\(d)")
    }
    if shape.count == 1 { s.append(",") }
    s.append(")")
    return s
}

/// Maps a NumPy dtype string to a supported type, or throws naming it.
private func npyType(descr: String, path: String) throws(SwiftletError) -> NPYType {
    let u = Array(descr.utf8)
    let supported = "supported dtypes are <f4 <f8 |i1 |u1 <i4 <i8"
    func unsupported(_ what: String, _ hint: String) -> SwiftletError {
        .malformedFile(path: path, detail: what, hint: hint)
    }
    if u.count < 2 {
        if descr.same("O") {
            throw unsupported("object arrays (dtype 'O') cannot be read", "save a numeric array, e.g. arr.astype(np.float32)")
        }
        throw unsupported("unsupported dtype '\(descr)'", "\(supported); convert with arr.astype(np.float32)")
    }
    var order = u[0]
    var rest = String(decoding: u[1...], as: UTF8.self)
    var kind = u[1]
    if order != 0x3C && order != 0x3E && order != 0x7C && order != 0x3D {  // < > | =
        order = 0x3D
        rest = descr
        kind = u[0]
    }
    if kind == 0x4F {  // 'O'

        throw unsupported("object arrays (dtype '\(descr)') cannot be read", "save a numeric array, e.g. arr.astype(np.float32)")
    }
    var type: NPYType? = nil
    switch rest {
    case "f4": type = .float32
    case "f8": type = .float64
    case "i1": type = .int8
    case "u1": type = .uint8
    case "i4": type = .int32
    case "i8": type = .int64
    default: type = nil
    }
    guard let type else {
        throw unsupported("unsupported dtype '\(descr)'", "\(supported); convert with arr.astype(np.float32)")
    }
    if type.size > 1 && order == 0x3E {
        throw unsupported("big-endian dtype '\(descr)' is not supported", "convert it with arr.astype('<\(rest)')")
    }
    if type.size > 1 && order == 0x3D {
        throw unsupported(
            "native-order dtype '\(descr)' does not say its byte order", "write it with numpy.save, which writes '<\(rest)'")
    }
    return type
}

/// A value in the header dict.
enum NPYHeaderValue: Equatable {
    case string(String)
    case bool(Bool)
    case none
    case int(Int)
    case tuple([Int])
    case list
}

enum NPYParseResult<T> {
    case success(T)
    case failure(String)
}

/// A recursive-descent parser for the Python dict literal in a `.npy` header.
struct NPYHeaderParser {
    let bytes: [UInt8]
    var pos: Int
    let end: Int

    init(bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.pos = start
        self.end = end
    }

    mutating func skipSpace() {
        while pos < end {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    func peek() -> UInt8? { pos < end ? bytes[pos] : nil }

    func describe(_ c: UInt8?) -> String {
        guard let c else { return "the end of the header" }
        if c >= 0x20 && c < 0x7F { return "'\(String(decoding: [c], as: UTF8.self))'" }
        return "byte \(c)"
    }

    mutating func parseDict() -> NPYParseResult<[(key: String, value: NPYHeaderValue)]> {
        var entries: [(key: String, value: NPYHeaderValue)] = []
        skipSpace()
        if peek() != 0x7B { return .failure("expected '{' at header byte \(pos), found \(describe(peek()))") }
        pos += 1
        while true {
            skipSpace()
            if peek() == 0x7D { pos += 1; break }
            guard let c = peek(), c == 0x27 || c == 0x22 else {
                return .failure("expected a quoted key at header byte \(pos), found \(describe(peek()))")
            }
            let key: String
            switch parseString() {
            case .success(let s): key = s
            case .failure(let m): return .failure(m)
            }
            for e in entries where e.key.same(key) { return .failure("key '\(key)' appears twice") }
            skipSpace()
            if peek() != 0x3A { return .failure("expected ':' after key '\(key)', found \(describe(peek()))") }
            pos += 1
            skipSpace()
            switch parseValue() {
            case .success(let v): entries.append((key: key, value: v))
            case .failure(let m): return .failure("value of '\(key)': \(m)")
            }
            skipSpace()
            if peek() == 0x2C { pos += 1; continue }
            if peek() == 0x7D { pos += 1; break }
            return .failure("expected ',' or '}' at header byte \(pos), found \(describe(peek()))")
        }
        skipSpace()
        if pos != end { return .failure("unexpected \(describe(peek())) after the closing '}'") }
        return .success(entries)
    }

    mutating func parseString() -> NPYParseResult<String> {
        let quote = bytes[pos]
        pos += 1
        var text: [UInt8] = []
        while pos < end {
            let c = bytes[pos]
            if c == quote {
                pos += 1
                return .success(String(decoding: text, as: UTF8.self))
            }
            if c == 0x5C {  // backslash: keep the escaped byte
                pos += 1
                if pos >= end { break }
            }
            text.append(bytes[pos])
            pos += 1
        }
        return .failure("unterminated string")
    }

    mutating func parseInt() -> NPYParseResult<Int> {
        var negative = false
        if peek() == 0x2D { negative = true; pos += 1 }  // '-'
        var value = 0
        var digits = 0
        while let c = peek(), c >= 0x30 && c <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
            if o1 || o2 { return .failure("integer too large") }
            value = a
            digits += 1
            pos += 1
        }
        if digits == 0 { return .failure("expected an integer at header byte \(pos), found \(describe(peek()))") }
        if peek() == 0x4C || peek() == 0x6C { pos += 1 }  // Python 2 long suffix
        return .success(negative ? -value : value)
    }

    mutating func parseValue() -> NPYParseResult<NPYHeaderValue> {
        guard let c = peek() else { return .failure("missing value") }
        switch c {
        case 0x27, 0x22:
            switch parseString() {
            case .success(let s): return .success(.string(s))
            case .failure(let m): return .failure(m)
            }
        case 0x28:  // '(' tuple of integers
            pos += 1
            var dims: [Int] = []
            while true {
                skipSpace()
                if peek() == 0x29 { pos += 1; break }
                switch parseInt() {
                case .success(let v): dims.append(v)
                case .failure(let m): return .failure("shape: \(m)")
                }
                skipSpace()
                if peek() == 0x2C { pos += 1; continue }
                if peek() == 0x29 { pos += 1; break }
                return .failure("expected ',' or ')' in tuple, found \(describe(peek()))")
            }
            return .success(.tuple(dims))
        case 0x5B:  // '[' (structured dtype): skip to the matching ']'
            var depth = 0
            while pos < end {
                let b = bytes[pos]
                if b == 0x27 || b == 0x22 {
                    if case .failure(let m) = parseString() { return .failure(m) }
                    continue
                }
                if b == 0x5B || b == 0x28 { depth += 1 }
                if b == 0x5D || b == 0x29 {
                    depth -= 1
                    if depth == 0 { pos += 1; return .success(.list) }
                }
                pos += 1
            }
            return .failure("unterminated list")
        default:
            if c == 0x2D || (c >= 0x30 && c <= 0x39) {
                switch parseInt() {
                case .success(let v): return .success(.int(v))
                case .failure(let m): return .failure(m)
                }
            }
            var word: [UInt8] = []
            while let b = peek(), (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) {
                word.append(b)
                pos += 1
            }
            switch String(decoding: word, as: UTF8.self) {
            case "True": return .success(.bool(true))
            case "False": return .success(.bool(false))
            case "None": return .success(.none)
            default: return .failure("unexpected \(word.isEmpty ? describe(c) : "'\(String(decoding: word, as: UTF8.self))'")")
            }
        }
    }
}
