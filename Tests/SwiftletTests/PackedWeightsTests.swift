import Foundation
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer
import SwiftletRuntime
import Testing

/// Format 2.0: convolution and fully connected weights stored in the kernels' packed layouts, used in
/// place; the layouts round-trip, a tampered packed tensor is refused, and 1.x files still load and
/// give the same outputs bit for bit.
@Suite struct PackedWeightsTests {
    /// Every form, over sizes that hit each tail: outputs below, at and above a block (and the
    /// depthwise overlap), taps not a multiple of the int8 groups.
    static let shapes: [PackedShape] = {
        var out: [PackedShape] = []
        for form in [PackedForm.gemmF32, .gemmQS8, .depthwiseF32, .depthwiseQS8] {
            for n in [1, 7, 8, 16, 17, 31, 40] {
                for k in [1, 3, 4, 9, 25, 27] { out.append(PackedShape(form: form, n: n, k: k)) }
            }
        }
        return out
    }()

    struct Packed {
        var shape: PackedShape
        var w: [UInt8]
        var bias: [UInt8]
        var q: PackedQS8Parameters?
        var bytes: [UInt8]
    }

    static func make(_ shape: PackedShape, seed: UInt64) -> Packed {
        var rng = SplitMix64(state: seed)
        let int8 = shape.form == .gemmQS8 || shape.form == .depthwiseQS8
        var w: [UInt8] = []
        var bias: [UInt8] = []
        if int8 {
            w = (0..<(shape.n * shape.k)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for _ in 0..<shape.n { withUnsafeBytes(of: Int32(truncatingIfNeeded: rng.next() % 20001) - 10000) { bias += $0 } }
        } else {
            for _ in 0..<(shape.n * shape.k) { withUnsafeBytes(of: Float(Int(rng.next() % 2001) - 1000) / 97) { w += $0 } }
            for _ in 0..<shape.n { withUnsafeBytes(of: Float(Int(rng.next() % 2001) - 1000) / 89) { bias += $0 } }
        }
        let q: PackedQS8Parameters? = int8
            ? PackedQS8Parameters(inputZeroPoint: Int32(Int(rng.next() % 256) - 128),
                                  requant: Requantization(inputScale: 0.02, weightScales: (0..<shape.n).map { Float($0 + 1) * 0.001 },
                                                          outputScale: 0.05, outputZeroPoint: 3))
            : nil
        var bytes = [UInt8](repeating: 0xAB, count: shape.byteCount)
        w.withUnsafeBytes { wb in
            bias.withUnsafeBytes { bb in
                bytes.withUnsafeMutableBytes { o in packWeights(shape, w: wb.baseAddress!, bias: bb.baseAddress!, q: q, into: o.baseAddress!) }
            }
        }
        return Packed(shape: shape, w: w, bias: bias, q: q, bytes: bytes)
    }

    static func problem(_ p: Packed, _ bytes: [UInt8]) -> (output: Int, problem: String)? {
        bytes.withUnsafeBytes { b in
            p.bias.withUnsafeBytes { bb in packedWeightsProblem(p.shape, b.baseAddress!, bias: bb.baseAddress!, q: p.q) }
        }
    }

    @Test("pack → unpack gives the plain weights back, and the checker accepts what pack made", arguments: shapes)
    func roundTrip(shape: PackedShape) {
        let p = Self.make(shape, seed: UInt64(shape.n * 1000 + shape.k * 10) + UInt64(shape.form.rawValue))
        var back = [UInt8](repeating: 0, count: p.w.count)
        p.bytes.withUnsafeBytes { b in back.withUnsafeMutableBytes { o in unpackWeights(shape, b.baseAddress!, into: o.baseAddress!) } }
        #expect(back == p.w, "\(shape): unpacked weights differ")
        #expect(Self.problem(p, p.bytes) == nil, "\(Self.problem(p, p.bytes)?.problem ?? "")")
    }

    @Test("the checker finds a change to any byte of a packed tensor", arguments: [PackedForm.gemmF32, .gemmQS8, .depthwiseF32, .depthwiseQS8])
    func everyByteIsChecked(form: PackedForm) {
        // 17 outputs: a padded tail (and the overlapping last depthwise int8 block); 5 taps: padded groups.
        let p = Self.make(PackedShape(form: form, n: 17, k: 5), seed: 7)
        var missed: [Int] = []
        for i in 0..<p.bytes.count {
            var bad = p.bytes
            bad[i] ^= 0x10
            if Self.problem(p, bad) == nil {
                // A weight byte that is its channel's only copy changes the weights, not the check's
                // premises, in the float forms (no sums there): that is a different model, not damage.
                var back = [UInt8](repeating: 0, count: p.w.count)
                bad.withUnsafeBytes { b in back.withUnsafeMutableBytes { o in unpackWeights(p.shape, b.baseAddress!, into: o.baseAddress!) } }
                if back == p.w { missed.append(i) }
            }
        }
        #expect(missed.isEmpty, "\(form): changes at bytes \(missed.prefix(8)) … went unnoticed and do not change the weights")
    }

    /// MTCNN P-Net (float) and the digits classifier quantized to int8, encoded both ways.
    static func models() throws -> [(String, ModelSpec)] {
        let pnet = try importONNX(path: repoFile("models/onnx/mtcnn_pnet.onnx"), options: ImportOptions())
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        var o = QuantizeOptions(calibrationDir: repoFile("models/digits/calibration"))
        o.maxImages = 20
        o.progress = false
        let digits = try quantizeModel(try PackedModel(path: swl), o).spec
        let sqz = try importONNX(path: repoFile("models/onnx/squeezenet1_1.onnx"), options: ImportOptions())
        // The same int8 model with TFLite's fixed-point requantization (the scales are the same; each
        // mode's multipliers or scales are derived from them at pack time and at load).
        var fixed = digits
        fixed.requantization = .fixedPoint
        return [("mtcnn_pnet", pnet), ("digits-int8", digits), ("squeezenet1_1", sqz), ("digits-int8-fixed-point", fixed)]
    }

    /// `encodeSWL(spec, packWeights: false)` written as a 1.2 file (the bytes a 1.2 writer made).
    static func version1(_ spec: ModelSpec) -> [UInt8] {
        var b = encodeSWL(spec, packWeights: false)
        b[4] = 1
        b[5] = 0
        b[6] = 2
        b[7] = 0
        return b
    }

    static func run(_ bytes: [UInt8], kernels: KernelChoice, threads: Int = 1) throws -> ([[Float]], Interpreter) {
        let interp = try Interpreter(model: PackedModel(file: MappedFile(bytes: bytes), path: "m.swl"), kernels: kernels, threads: threads)
        let spec = interp.spec
        var rng = SplitMix64(state: 42)
        for (i, t) in spec.inputs.enumerated() {
            let n = Shape.count(spec.tensors[t].shape) ?? 0
            let x = interp.inputPointer(i)
            for j in 0..<n { x[j] = Float(Int(rng.next() % 2001) - 1000) / 500 }
        }
        interp.invoke()
        let outs = spec.outputs.enumerated().map { (i, t) in
            Array(UnsafeBufferPointer(start: interp.outputPointer(i), count: Shape.count(spec.tensors[t].shape) ?? 0))
        }
        return (outs, interp)
    }

    @Test("2.0 files store the weights packed and use them in place; 1.2 files load and give the same bits")
    func packedAndPlainAgree() throws {
        for (name, spec) in try Self.models() {
            let v2 = encodeSWL(spec)
            let model = try PackedModel(file: MappedFile(bytes: v2), path: "m.swl")
            let packed = model.packedTensorCount
            #expect(model.formatMajor == 2 && packed > 0, "\(name): \(packed) tensors packed")
            // Every weights tensor's plain bytes are the spec's, packed or not.
            for t in 0..<spec.tensors.count where spec.tensors[t].storage == .weights {
                let plain = Array(UnsafeRawBufferPointer(start: try model.plainWeights(t), count: spec.tensors[t].byteCount))
                #expect(plain == Array(spec.weights[spec.tensors[t].offset..<(spec.tensors[t].offset + spec.tensors[t].byteCount)]),
                        "\(name): plain bytes of '\(spec.tensors[t].name)'")
            }
            let v1 = Self.version1(spec)
            #expect(try PackedModel(file: MappedFile(bytes: v1), path: "m.swl").formatMajor == 1)
            let (auto2, i2) = try Self.run(v2, kernels: .auto)
            let (auto1, i1) = try Self.run(v1, kernels: .auto)
            let (ref2, _) = try Self.run(v2, kernels: .reference)
            let (ref1, _) = try Self.run(v1, kernels: .reference)
            let (two, _) = try Self.run(v2, kernels: .auto, threads: 2)
            #expect(auto2 == auto1 && two == auto1, "\(name): the SIMD kernels give other bits from packed weights")
            #expect(ref2 == ref1, "\(name): the reference gives other bits from unpacked weights")
            if spec.tensors.contains(where: { $0.dtype == .int8 }) { #expect(auto2 == ref2, "\(name): int8 SIMD ≠ reference") }
            let simd = i2.kernelNames.contains { $0.contains("avx2") || $0.contains("neon") }
            if simd {
                #expect(i2.layersPackedAtLoad == 0, "\(name): \(i2.layersPackedAtLoad) layers packed at load from a 2.0 file")
                #expect(i1.layersPackedAtLoad > 0, "\(name): a 1.2 file's layers are packed at load")
            }
        }
    }

    @Test("a packed tensor that disagrees with its bias, scales or padding is refused, naming it")
    func tamperedPackedWeightsAreRefused() throws {
        let (_, spec) = try Self.models()[1]  // int8: folded bias, multipliers and shifts to get wrong
        var bytes = encodeSWL(spec)
        let model = try PackedModel(file: MappedFile(bytes: bytes), path: "m.swl")
        guard let t = model.packedShapes.firstIndex(where: { $0 != nil }) else {
            Issue.record("no packed tensor")
            return
        }
        let at = Int(bitPattern: model.weights(t)) - Int(bitPattern: model.file.base)
        let name = spec.tensors[t].name
        for (offset, what) in [(0, "folded bias"), (32, "requantization"), (64, "requantization")] {
            var bad = bytes
            bad[at + offset] ^= 1
            fixCRC(&bad)
            do {
                _ = try PackedModel(file: MappedFile(bytes: bad), path: "m.swl")
                Issue.record("a changed \(what) was accepted")
            } catch {
                #expect(error.message.contains("packed weights '\(name)'"), "\(error.message)")
                #expect(error.message.contains(what == "folded bias" ? "bias" : "requantization"), "\(error.message)")
            }
        }
        // The GRAPH flag that says float32 requantization, flipped: the packed blocks hold the other
        // mode's words, and the file is refused rather than read with the wrong rescaling.
        #expect(spec.requantization == .float32)
        func u32(_ b: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
        var graph = -1
        for k in 0..<u32(bytes, 12) where u32(bytes, 64 + 24 * k) == 5 { graph = u32(bytes, 64 + 24 * k + 8) }
        var flipped = bytes
        flipped[graph + 32] ^= 4
        fixCRC(&flipped)
        do {
            _ = try PackedModel(file: MappedFile(bytes: flipped), path: "m.swl")
            Issue.record("a flipped requantization flag was accepted")
        } catch {
            #expect(error.message.contains("packed weights '\(name)'") && error.message.contains("requantization"), "\(error.message)")
        }
        // Storage 2 in a 1.x file is not a storage a 1.x file has.
        bytes[4] = 1
        fixCRC(&bytes)
        do {
            _ = try PackedModel(file: MappedFile(bytes: bytes), path: "m.swl")
            Issue.record("storage 2 accepted in a 1.x file")
        } catch {
            #expect(error.message.contains("unknown storage 2"), "\(error.message)")
        }
    }

    @Test("a 3.0 file is refused as newer, a 0.x one as older")
    func otherMajorsAreRefused() throws {
        let (_, spec) = try Self.models()[0]
        var b = encodeSWL(spec)
        b[4] = 3
        #expect(throws: SwiftletError.self) { try PackedModel(file: MappedFile(bytes: b), path: "m.swl") }
        do { _ = try PackedModel(file: MappedFile(bytes: b), path: "m.swl") } catch { #expect(error.message.contains("newer")) }
        b[4] = 0
        do { _ = try PackedModel(file: MappedFile(bytes: b), path: "m.swl") } catch { #expect(error.message.contains("older")) }
    }
}

/// Recomputes a .swl's CRC (bytes 24–27) after a test changed it.
func fixCRC(_ b: inout [UInt8]) {
    let crc = b.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[64...])) }
    for i in 0..<4 { b[24 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
}
