import Foundation
import SwiftletCore
import Testing

// The .npy reader and writer against files written by NumPy (Tests/Fixtures/npy/, from
// tools/goldens/make_npy_fixtures.py) and hand-made headers for each rejection.

private func fixturePath(_ name: String) -> String {
    repoFile("Tests/Fixtures/npy/\(name)")
}

private func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath(name))))
}

/// A version-1.0 .npy file with `header` (padded as NumPy does) followed by `data`.
private func npyFile(header: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
    var h = Array(header.utf8)
    let prefix = version == 1 ? 10 : 12
    let pad = 64 - (prefix + h.count + 1) % 64
    h.append(contentsOf: [UInt8](repeating: 0x20, count: pad))
    h.append(0x0A)
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
    out.append(UInt8(h.count & 0xFF))
    out.append(UInt8(h.count >> 8))
    if version != 1 { out.append(contentsOf: [0, 0]) }
    return out + h + data
}

private func parseError(_ bytes: [UInt8], path: String = "x.npy") -> SwiftletError? {
    do {
        _ = try NPYArray(parsing: bytes, path: path)
        return nil
    } catch {
        return error
    }
}

@Suite("NPY")
struct NPYTests {
    @Test("float32 (1, 3, 2, 2) written by NumPy")
    func float32Fixture() throws {
        let path = fixturePath("f32_1x3x2x2.npy")
        let a = try NPYArray(contentsOf: path)
        #expect(a.type == .float32)
        #expect(a.shape == [1, 3, 2, 2])
        #expect(a.count == 12)
        var expected: [Float] = (0..<12).map { Float($0) * 0.25 - 1.5 }
        expected[10] = 0.1
        expected[11] = -3.4028235e38
        #expect(try a.floats().map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("encoded() writes the same bytes as numpy.save")
    func encodeMatchesNumPy() throws {
        for name in ["f32_1x3x2x2.npy", "u8_2x3.npy", "i64_scalar.npy"] {
            let bytes = try fixtureBytes(name)
            let a = try NPYArray(parsing: bytes, path: name)
            #expect(a.encoded() == bytes, "\(name)")
        }
    }

    @Test("uint8 (2, 3) written by NumPy")
    func uint8Fixture() throws {
        let a = try NPYArray(parsing: try fixtureBytes("u8_2x3.npy"), path: "u8_2x3.npy")
        #expect(a.type == .uint8 && a.shape == [2, 3] && a.count == 6)
        #expect(a.data == [0, 1, 127, 128, 254, 255])
        #expect(try a.floats() == [0, 1, 127, 128, 254, 255])
    }

    @Test("int64 scalar, shape ()")
    func int64Scalar() throws {
        let a = try NPYArray(parsing: try fixtureBytes("i64_scalar.npy"), path: "i64_scalar.npy")
        #expect(a.type == .int64 && a.shape == [] && a.count == 1)
        let value = a.data.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
        #expect(value == -1_234_567_890_123)
        #expect(try a.floats() == [Float(-1_234_567_890_123 as Int64)])
    }

    @Test("float64 (4,) with a version 2.0 header")
    func version2() throws {
        let bytes = try fixtureBytes("f64_4_v2.npy")
        #expect(bytes[6] == 2)
        let a = try NPYArray(parsing: bytes, path: "f64_4_v2.npy")
        #expect(a.type == .float64 && a.shape == [4])
        let doubles = a.data.withUnsafeBytes { raw in
            (0..<4).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        }
        #expect(doubles == [1.5, -2.25, 1e-3, 3.0e100])
        #expect(try a.floats() == [1.5, -2.25, Float(1e-3), .infinity])
    }

    @Test("version 3.0 (UTF-8 header) reads like 2.0")
    func version3() throws {
        var bytes = try fixtureBytes("f64_4_v2.npy")
        bytes[6] = 3
        let a = try NPYArray(parsing: bytes, path: "v3.npy")
        #expect(a.type == .float64 && a.shape == [4])
    }

    @Test("round trip through encoded() and a file", arguments: [[], [0], [3], [1, 3, 224, 224], [2, 0, 5]] as [[Int]])
    func roundTrip(shape: [Int]) throws {
        var n = 1
        for d in shape { n *= d }
        let values = (0..<n).map { Float($0) * 0.37 - 11 }
        let a = NPYArray(floats: values, shape: shape)
        let bytes = a.encoded()
        #expect(bytes.count % 64 == a.data.count % 64, "data must start at a multiple of 64")
        #expect(bytes[bytes.count - a.data.count - 1] == 0x0A)
        let b = try NPYArray(parsing: bytes, path: "mem.npy")
        #expect(b == a)
        #expect(try b.floats() == values)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-npy-\(UUID().uuidString).npy").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try a.write(to: path)
        #expect(try NPYArray(contentsOf: path) == a)
    }

    @Test(
        "headers in any key order with any whitespace",
        arguments: [
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }",
            "{ 'shape' : ( 2 , 3 ) ,'fortran_order':False , \"descr\":'|u1'}",
            "{'fortran_order': False,\n 'shape': (2,3,),\t'descr': '|u1'}",
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 3L), }",
        ])
    func headerVariants(header: String) throws {
        let a = try NPYArray(parsing: npyFile(header: header, data: [1, 2, 3, 4, 5, 6]), path: "h.npy")
        #expect(a.type == .uint8 && a.shape == [2, 3] && a.data == [1, 2, 3, 4, 5, 6])
    }

    @Test("every supported dtype converts to Float")
    func dtypes() throws {
        let cases: [(String, [UInt8], Float)] = [
            ("<f4", [0x00, 0x00, 0xC0, 0x3F], 1.5),
            ("<f8", [0, 0, 0, 0, 0, 0, 0xF8, 0xBF], -1.5),
            ("|i1", [0xFE], -2),
            ("|u1", [0xFE], 254),
            ("<i4", [0xFE, 0xFF, 0xFF, 0xFF], -2),
            ("<i8", [0x00, 0x01, 0, 0, 0, 0, 0, 0], 256),
        ]
        for (descr, data, value) in cases {
            let a = try NPYArray(parsing: npyFile(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", data: data), path: "d.npy")
            #expect(a.type.descr == descr)
            #expect(try a.floats() == [value], "\(descr)")
        }
    }

    @Test("bad magic")
    func badMagic() {
        let e = parseError(Array("PNG not npy".utf8), path: "a.npy")
        #expect(e?.message == "a.npy: not a .npy file (bad magic: starts with 50 4e 47 20 6e 6f, expected 93 4e 55 4d 50 59); write it with numpy.save")
        let empty = parseError([], path: "e.npy")
        #expect(empty?.message == "e.npy: not a .npy file (bad magic: the file is empty); write it with numpy.save")
        let zip = parseError([0x50, 0x4B, 3, 4, 0, 0, 0, 0], path: "z.npy")
        #expect(zip?.message == "z.npy: not a .npy file (bad magic: it is a zip archive, probably an .npz); extract the array with numpy.load and save it with numpy.save")
    }

    @Test("unknown format version")
    func badVersion() {
        var bytes = npyFile(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", data: [1])
        bytes[6] = 4
        #expect(parseError(bytes)?.message == "x.npy: unsupported .npy format version 4.0 (this reader knows 1.0, 2.0, 3.0); re-save it with numpy.save")
    }

    @Test(
        "unsupported dtypes are named",
        arguments: [
            ("<c8", "x.npy: unsupported dtype '<c8'; supported dtypes are <f4 <f8 |i1 |u1 <i4 <i8; convert with arr.astype(np.float32)"),
            ("<f2", "x.npy: unsupported dtype '<f2'; supported dtypes are <f4 <f8 |i1 |u1 <i4 <i8; convert with arr.astype(np.float32)"),
            ("|b1", "x.npy: unsupported dtype '|b1'; supported dtypes are <f4 <f8 |i1 |u1 <i4 <i8; convert with arr.astype(np.float32)"),
            (">f4", "x.npy: big-endian dtype '>f4' is not supported; convert it with arr.astype('<f4')"),
            (">i8", "x.npy: big-endian dtype '>i8' is not supported; convert it with arr.astype('<i8')"),
            ("|O", "x.npy: object arrays (dtype '|O') cannot be read; save a numeric array, e.g. arr.astype(np.float32)"),
        ])
    func unsupportedDtype(descr: String, message: String) {
        let bytes = npyFile(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(parseError(bytes)?.message == message)
    }

    @Test("structured dtypes are refused")
    func structured() {
        let bytes = npyFile(header: "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0, count: 8))
        #expect(parseError(bytes)?.message == "x.npy: structured dtype (a list of fields) is not supported; save each field as its own array with numpy.save")
    }

    @Test("fortran_order True")
    func fortran() {
        let bytes = npyFile(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data: [UInt8](repeating: 0, count: 16))
        #expect(parseError(bytes)?.message == "x.npy: fortran_order is True (column-major data is not supported); save it with np.ascontiguousarray(arr)")
    }

    @Test("data shorter or longer than the shape")
    func dataLength() throws {
        var bytes = try fixtureBytes("f32_1x3x2x2.npy")
        bytes.removeLast(5)
        #expect(parseError(bytes, path: "f.npy")?.message == "f.npy: data is 43 bytes, shape (1, 3, 2, 2) of '<f4' needs 48; the file is truncated; re-save it with numpy.save")
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0, 0])
        #expect(parseError(bytes, path: "f.npy")?.message == "f.npy: data is 50 bytes, shape (1, 3, 2, 2) of '<f4' needs 48; the file has trailing bytes; re-save it with numpy.save")
    }

    @Test("a header that runs past the end of the file")
    func headerPastEnd() throws {
        let bytes = Array(try fixtureBytes("u8_2x3.npy")[0..<100])
        #expect(parseError(bytes, path: "u.npy")?.message == "u.npy: the header runs past the end of the file (it claims 118 bytes from byte 10, the file has 100); the file is truncated")
        #expect(parseError(Array(bytes[0..<8]), path: "u.npy")?.message == "u.npy: the .npy preamble is cut off at byte 8; the file is truncated")
    }

    @Test(
        "malformed headers say what is wrong",
        arguments: [
            ("{'descr': '<f4', 'shape': (1,), }", "x.npy: malformed header: no 'fortran_order' key; write it with numpy.save"),
            ("{'descr': '<f4', 'fortran_order': False, }", "x.npy: malformed header: no 'shape' key; write it with numpy.save"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "x.npy: malformed header: unexpected key 'extra'; write it with numpy.save"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }", "x.npy: malformed header: negative dimension in shape (1, -2); write it with numpy.save"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", "x.npy: malformed header: 'shape' is not a tuple of integers; write it with numpy.save"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "x.npy: malformed header: 'fortran_order' is not True or False; write it with numpy.save"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", "x.npy: malformed header: expected ',' or '}' at header byte 128, found the end of the header; write it with numpy.save"),
            ("descr: f4", "x.npy: malformed header: expected '{' at header byte 10, found 'd'; write it with numpy.save"),
            ("{'descr': '<f4, 'fortran_order': False}", "x.npy: malformed header: expected ',' or '}' at header byte 27, found 'f'; write it with numpy.save"),
        ])
    func malformed(header: String, message: String) {
        let bytes = npyFile(header: header, data: [0, 0, 0, 0])
        #expect(parseError(bytes)?.message == message)
    }

    @Test("shapes whose size overflows are refused")
    func overflow() {
        let bytes = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: [])
        #expect(parseError(bytes)?.message == "x.npy: shape (4294967296, 4294967296) is too large")
    }

    @Test("random bytes after the magic never crash")
    func fuzz() throws {
        let original = try fixtureBytes("f32_1x3x2x2.npy")
        var state: UInt64 = 99
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + next() % 3) { bytes[6 + next() % (bytes.count - 6)] = UInt8(truncatingIfNeeded: next()) }
            if next() % 4 == 0 { bytes.removeLast(next() % bytes.count / 2) }
            if let a = try? NPYArray(parsing: bytes, path: "f.npy") {
                #expect(a.data.count == a.count * a.type.size)
            }
        }
    }
}
