import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer
import SwiftletRuntime
import Testing

// SiLU (x · sigmoid(x)), the worked example of docs/adding-an-op.md: exported by PyTorch as Sigmoid →
// Mul, folded into one activation at import, fused into its convolution, and in int8 one Lookup.
// The float numbers against ONNX Runtime are OpGoldenTests' conv_silu and silu_standalone.
@Suite struct SiLUTests {
    @Test func referenceValues() throws {
        // silu(x) = x / (1 + e^−x): −100 → −3.7e−42 (≈ −0), −1 → −0.268941, 0 → 0, 2 → 1.761594.
        let y = try runSingle(.activation(Activation(.silu)), inputs: [([4], [-100, -1, 0, 2])])
        expectClose(y, [0, -0.26894142, 0, 1.7615942], "silu")
        // The known minimum the int8 range rule uses lies on the curve: silu(−1.2784645) = −0.27846455.
        #expect(abs(Activation(.silu).apply(-1.2784645) - (-0.27846455)) < 1e-7)
        guard case .atLeast(let lo) = Activation(.silu).outputRange else { Issue.record("no known minimum"); return }
        for i in -400...400 { #expect(Activation(.silu).apply(Float(i) / 50) >= lo) }
    }

    @Test func sigmoidTimesInputIsFoldedAndFused() throws {
        let fused = try importONNX(path: repoFile("Tests/Goldens/ops/conv_silu.onnx"), options: ImportOptions())
        #expect(fused.nodes.map { $0.op.kind } == [.conv2d])
        #expect(fused.nodes[0].op.fusedActivation == Activation(.silu))
        // Mul(s, c) with the conv also read by the Add: one standalone SiLU, no Sigmoid or Mul left.
        let alone = try importONNX(path: repoFile("Tests/Goldens/ops/silu_standalone.onnx"), options: ImportOptions())
        #expect(alone.nodes.map { $0.op } == [alone.nodes[0].op, .activation(Activation(.silu)), .binary(.add, .none)])
    }

    /// int8: the SiLU becomes one Lookup with its output range floored at its minimum, and the int8
    /// model stays close to the float one on the golden's input (calibrated on real photos).
    @Test func int8RunsOneLookupCloseToFloat() throws {
        let dir = try scratchDirectory()
        var o = ImportOptions()
        var pre = Preprocess()
        pre.mean = [128, 128, 128]
        pre.std = [32, 32, 32]
        o.preprocess = pre
        let spec = try importONNX(path: repoFile("Tests/Goldens/ops/silu_standalone.onnx"), options: o)
        let path = dir + "/silu.swl"
        try Data(encodeSWL(spec)).write(to: URL(fileURLWithPath: path))
        var q = QuantizeOptions(calibrationDir: repoFile("models/calibration/imagenet"))
        q.maxImages = 16
        q.progress = false
        let result = try quantizeModel(try PackedModel(path: path), q)
        let kinds = result.spec.nodes.map { $0.op.kind }
        #expect(kinds == [.quantize, .conv2d, .lookup, .add, .dequantize], "\(kinds)")
        let lookup = result.spec.nodes[2]
        let yq = try #require(result.spec.tensors[lookup.outputs[0]].quant)
        // Floored at −0.27846: the zero point sits where −0.27846 is −128.
        #expect(abs((-128 - Float(yq.zeroPoint)) * yq.scales[0] + 0.27846455) < yq.scales[0], "\(yq)")

        let input = try NPYArray(contentsOf: repoFile("Tests/Goldens/ops/silu_standalone.in.npy")).floats()
        func run(_ s: ModelSpec) throws -> [Float] {
            let m = try PackedModel(file: MappedFile(bytes: encodeSWL(s)), path: "silu")
            let interp = try Interpreter(model: m)
            interp.setInput(0, logical: input)
            interp.invoke()
            return interp.output(0)
        }
        let float = try run(spec), int8 = try run(result.spec)
        var signal: Float = 0, noise: Float = 0
        for (a, b) in zip(float, int8) {
            signal += a * a
            noise += (a - b) * (a - b)
        }
        let sqnr = 10 * log10(signal / max(noise, 1e-30))
        #expect(sqnr > 30, "int8 SQNR \(sqnr) dB against float")
    }
}
