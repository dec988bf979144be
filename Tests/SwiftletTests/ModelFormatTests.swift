import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPlanner
import SwiftletRuntime
import Testing

/// The `.swl` reader rejects every truncated or corrupted file with a message, and never traps.
@Suite struct ModelFormatTests {
    /// A small real model (MTCNN P-Net) packed to bytes.
    static func packed() throws -> (ModelSpec, [UInt8]) {
        let spec = try importONNX(path: repoFile("models/onnx/mtcnn_pnet.onnx"), options: ImportOptions())
        return (spec, encodeSWL(spec))
    }

    func load(_ bytes: [UInt8], checkCRC: Bool = true) throws(SwiftletError) -> PackedModel {
        try PackedModel(file: MappedFile(bytes: bytes), path: "m.swl", checkCRC: checkCRC)
    }

    func message(_ bytes: [UInt8], checkCRC: Bool = true) -> String? {
        do {
            _ = try load(bytes, checkCRC: checkCRC)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func roundTripIsExact() throws {
        let (spec, bytes) = try Self.packed()
        let model = try load(bytes)
        // Weights tensors sit elsewhere in the file (packed ones in their layout: PackedWeightsTests);
        // their plain bytes are the spec's.
        func placeless(_ ts: [TensorInfo]) -> [TensorInfo] {
            ts.map { t in
                var t = t
                if t.storage == .weights { t.offset = 0 }
                return t
            }
        }
        #expect(placeless(model.spec.tensors) == placeless(spec.tensors))
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .weights {
            let n = spec.tensors[t].byteCount
            #expect(Array(UnsafeRawBufferPointer(start: try model.plainWeights(t), count: n))
                    == Array(spec.weights[spec.tensors[t].offset..<(spec.tensors[t].offset + n)]))
        }
        #expect(model.spec.nodes == spec.nodes)
        #expect(model.spec.inputs == spec.inputs && model.spec.outputs == spec.outputs)
        #expect(model.spec.arenaBytes == spec.arenaBytes)
        #expect(encodeSWL(spec) == bytes, "encoding is deterministic")
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .weights {
            #expect(Int(bitPattern: model.weights(t)) % 64 == 0, "weights of '\(spec.tensors[t].name)' are 64-byte aligned in memory")
        }
    }

    @Test func truncationAtEveryLengthIsReported() throws {
        let (_, bytes) = try Self.packed()
        var lengths = Array(0..<256)
        lengths += stride(from: 256, to: bytes.count, by: max(1, bytes.count / 300))
        lengths.append(bytes.count - 1)
        for n in lengths {
            let m = message(Array(bytes[0..<n]))
            #expect(m != nil, "a file cut to \(n) of \(bytes.count) bytes was accepted")
            if n >= 64 { #expect(m?.contains("truncated") == true, "cut to \(n): \(m ?? "")") }
        }
        #expect(message([]) == "m.swl: file has 0 bytes, a .swl header alone has 64; it is not a Swiftlet model (.swl); create one with 'swiftlet import model.onnx -o model.swl'")
    }

    @Test func crcCatchesAnyChangedByte() throws {
        let (_, bytes) = try Self.packed()
        for at in stride(from: 64, to: bytes.count, by: 97) {
            var b = bytes
            b[at] ^= 0x5A
            let m = message(b)
            #expect(m?.contains("CRC mismatch") == true, "byte \(at) changed: \(m ?? "accepted")")
        }
    }

    /// Every byte of the header, section table and metadata sections set to 0xFF and to 0x00 (CRC not
    /// checked, so the field checks themselves are exercised): the reader reports it, or the model it
    /// accepts still runs without trapping (names and labels may legitimately change).
    @Test func everyMetadataByteCorruptedIsSafe() throws {
        let (spec, bytes) = try Self.packed()
        let weightsStart = try load(bytes).weightsOffset
        var rejected = 0
        var accepted = 0
        for at in 0..<weightsStart {
            for v: UInt8 in [0xFF, 0x00] where bytes[at] != v {
                var b = bytes
                b[at] = v
                do {
                    let m = try load(b, checkCRC: false)
                    let interp = try Interpreter(model: m)
                    // A change the reader accepts that alters only names or labels runs like the
                    // original; anything else must run without trapping.
                    let sameGraph = m.spec.nodes.map { $0.op } == spec.nodes.map { $0.op }
                        && m.spec.tensors.map { [$0.offset, $0.byteCount] + $0.shape } == spec.tensors.map { [$0.offset, $0.byteCount] + $0.shape }
                        && m.spec.arenaBytes == spec.arenaBytes
                    if !sameGraph { interp.invoke() }
                    accepted += 1
                } catch {
                    #expect(!error.message.isEmpty)
                    #expect(!error.message.contains("\n"), "one-line message: \(error.message)")
                    rejected += 1
                }
            }
        }
        #expect(rejected > accepted, "most corruptions of metadata must be caught (\(rejected) caught, \(accepted) harmless)")
    }

    @Test func messagesNameTheProblem() throws {
        let (spec, bytes) = try Self.packed()
        var b = bytes
        b[0] = 0x50  // magic
        #expect(message(b)?.contains("bad magic bytes; it is not a Swiftlet model") == true)

        b = bytes
        b[4] = 3  // major version from the future
        #expect(message(b) == "m.swl: written by a newer Swiftlet (format version 3, this build reads 2); update swiftlet or re-run 'swiftlet import' with this version")

        b = bytes + [0, 0, 0]
        #expect(message(b)?.contains("trailing bytes") == true)

        // A tensor's byte length that disagrees with its shape (first TENSORS record, field at +48).
        var s2 = spec
        s2.tensors[1].byteCount += 4
        #expect(message(encodeSWL(s2, packWeights: false))?.contains("bytes stored for shape") == true)

        // Two live tensors placed at the same arena offset.
        var s3 = spec
        let conv = s3.nodes[0]
        s3.tensors[conv.outputs[0]].offset = 0
        s3.tensors[conv.inputs[0]].offset = 0
        #expect(message(encodeSWL(s3))?.contains("overlap in the arena while both are live") == true)

        // A stored output shape that the op cannot produce.
        var s4 = spec
        let out = s4.nodes[0].outputs[0]
        s4.tensors[out].shape[1] += 1
        s4.tensors[out].byteCount = (Shape.count(s4.tensors[out].shape) ?? 0) * 4
        _ = planArena(&s4)
        let m4 = message(encodeSWL(s4)) ?? ""
        #expect(m4.contains("the op gives"), "\(m4)")

        // A GRAPH flag this reader does not know (bit 0 is reused inputs, bit 1 row streaming, bit 2
        // float32 requantization).
        func u32(_ b: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
        var graph = -1
        for k in 0..<u32(bytes, 12) where u32(bytes, 64 + 24 * k) == 5 { graph = u32(bytes, 64 + 24 * k + 8) }
        b = bytes
        b[graph + 32] = 8
        #expect(message(b, checkCRC: false)?.contains("unknown graph flags 0x00000008") == true, "\(message(b, checkCRC: false) ?? "accepted")")
    }

    /// Resize's and Pad's modes are stored as small integers; a value this reader does not know is
    /// an error naming the attribute and the value, and every known value round-trips.
    @Test func unknownModesAreRefused() throws {
        func message(_ kind: OpKind, _ attrs: [Int32]) -> String? {
            do {
                _ = try Op.decode(kind: kind, attrs: attrs, where: "node 'n'")
                return nil
            } catch {
                return error.message
            }
        }
        let float0: Int32 = 0
        for (attrs, what) in [([2, 0, 0, 4, 4], "unknown resize mode 2"), ([0, 4, 0, 4, 4], "unknown resize coordinate mode 4"),
                              ([1, 0, -1, 4, 4], "unknown resize nearest mode -1")] as [([Int32], String)] {
            let got = message(.resize, attrs)
            #expect(got?.contains("node 'n': \(what)") == true, "\(got ?? "accepted")")
        }
        let got = message(.pad, [3, float0, 1, 0, 0])
        #expect(got?.contains("node 'n': unknown pad mode 3") == true, "\(got ?? "accepted")")
        for m in 0...1 { for c in 0...3 { for n in 0...3 {
            let attrs: [Int32] = [Int32(m), Int32(c), Int32(n), 4, 4]
            #expect(try Op.decode(kind: .resize, attrs: attrs, where: "n").encode() == attrs)
        } } }
        for m in 0...2 {
            let attrs: [Int32] = [Int32(m), float0, 1, 2, 3]
            #expect(try Op.decode(kind: .pad, attrs: attrs, where: "n").encode() == attrs)
        }
    }

    /// Pre-processing describes one image input; the importer refuses it on a model with two inputs,
    /// and so does the reader (an image would fill only the first).
    @Test func preprocessingOnTwoInputsIsRefused() throws {
        var (m, _) = try singleOp(.binary(.add, .none), inputs: [[1, 4, 4, 3], [1, 4, 4, 3]])
        m.spec.preprocess = Preprocess()
        let got = message(m.encoded())
        #expect(got?.contains("pre-processing is set but the model has 2 inputs; an image feeds one") == true, "\(got ?? "accepted")")
        m.spec.inputs.removeLast()
        m.spec.nodes[0].inputs = [m.spec.inputs[0], m.spec.inputs[0]]
        #expect(message(m.encoded()) == nil, "one image input with pre-processing is fine")
    }

    @Test func notASwlFile() throws {
        let onnx = try sys_readFile(repoFile("models/onnx/mtcnn_pnet.onnx"))
        #expect(message(onnx)?.contains("not a Swiftlet model") == true)
        do {
            _ = try PackedModel(path: repoFile("no/such/model.swl"))
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.message.hasSuffix("model.swl: open failed: no such file or directory (ENOENT); check the path"))
        }
    }
}
