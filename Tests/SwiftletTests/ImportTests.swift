import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletRuntime
import Testing

/// ONNX import: documented model figures, graph rewrites, and a clear error for every bad input.
@Suite struct ImportTests {
    func importError(_ rel: String, _ options: ImportOptions = ImportOptions()) -> String {
        do {
            _ = try importONNX(path: repoFile(rel), options: options)
            return "accepted"
        } catch {
            return error.message
        }
    }

    func stats(_ spec: ModelSpec) -> (params: Int, macs: Int) {
        var macs = 0
        for n in spec.nodes {
            let out = spec.tensors[n.outputs[0]].shape
            switch n.op {
            case .conv2d(let c):
                let w = spec.tensors[n.inputs[1]].shape
                macs += out.reduce(1, *) * c.kernelH * c.kernelW * w[3]
            case .fullyConnected:
                macs += out.reduce(1, *) * spec.tensors[n.inputs[1]].shape[1]
            default: break
            }
        }
        return (spec.parameterCount, macs)
    }

    /// Published figures: MobileNetV2 ≈ 300 M MACs and 3.5 M parameters; SqueezeNet 1.1 ≈ 350 M MACs
    /// (counting the 1000-class conv head) and 1.24 M parameters.
    @Test func documentedFigures() throws {
        let mnv2 = try importONNX(path: repoFile("models/onnx/mobilenet_v2.onnx"), options: ImportOptions())
        let (p1, m1) = stats(mnv2)
        #expect(abs(p1 - 3_504_872) < 40_000, "MobileNetV2 parameters \(p1)")
        #expect(m1 > 290_000_000 && m1 < 320_000_000, "MobileNetV2 MACs \(m1)")
        let sq = try importONNX(path: repoFile("models/onnx/squeezenet1_1.onnx"), options: ImportOptions())
        let (p2, m2) = stats(sq)
        #expect(abs(p2 - 1_235_496) < 5_000, "SqueezeNet 1.1 parameters \(p2)")
        #expect(m2 > 330_000_000 && m2 < 370_000_000, "SqueezeNet 1.1 MACs \(m2)")
    }

    /// MobileNetV2's ReLU6 (Clip) layers are fused into their convolutions and no standalone
    /// activation or layout transpose is left: the graph is Conv, Add, Mean, FullyConnected only.
    @Test func rewritesFuseAndStayNHWC() throws {
        let spec = try importONNX(path: repoFile("models/onnx/mobilenet_v2.onnx"), options: ImportOptions())
        var kinds = Set<String>()
        for n in spec.nodes { kinds.insert(n.op.kind.name) }
        #expect(kinds == ["Conv2D", "Add", "Mean", "Reshape", "FullyConnected"], "\(kinds.sorted())")
        let fused = spec.nodes.filter { $0.op.fusedActivation?.kind == .clip }.count
        #expect(fused == 35, "ReLU6 fused into \(fused) convolutions")
        #expect(spec.tensors[spec.inputs[0]].layout == .nhwc)
        #expect(spec.tensors[spec.inputs[0]].shape == [1, 224, 224, 3])
    }

    /// EfficientNet-Lite0's TensorFlow-style Pad → Conv pairs become padded convolutions: no Pad is
    /// left, some convolution pads asymmetrically, and (the golden test checks the numbers) the
    /// expansions then stream into the depthwise convolutions.
    @Test func zeroPadsFoldIntoConvolutions() throws {
        var o = ImportOptions()
        o.streamRows = false
        let spec = try importONNX(path: repoFile("models/onnx/efficientnet_lite0.onnx"), options: o)
        #expect(!spec.nodes.contains { $0.op.kind.name == "Pad" }, "a Pad is left")
        let asymmetric = spec.nodes.contains {
            if case .conv2d(let c) = $0.op { return c.padTop != c.padBottom || c.padLeft != c.padRight }
            return false
        }
        #expect(asymmetric, "no convolution took over a one-sided pad")
        let streamed = try importONNX(path: repoFile("models/onnx/efficientnet_lite0.onnx"), options: ImportOptions())
        #expect(streamed.arenaBytes * 2 < spec.arenaBytes, "arena \(streamed.arenaBytes) streamed, \(spec.arenaBytes) whole")
    }

    /// BatchNorm after Conv, Gemm and MatMul is folded into their weights, and LeakyRelu fused: no
    /// Mul/Add pair is left (the op goldens check the numbers).
    @Test func batchNormIsFolded() throws {
        let conv = try importONNX(path: repoFile("Tests/Goldens/ops/conv_bn_leaky.onnx"), options: ImportOptions())
        #expect(conv.nodes.map { $0.op.kind } == [.conv2d])
        #expect(conv.nodes[0].op.fusedActivation == Activation(.leakyRelu, 0.1))
        let fc = try importONNX(path: repoFile("Tests/Goldens/ops/gemm_bn.onnx"), options: ImportOptions())
        #expect(fc.nodes.map { $0.op.kind } == [.transpose, .reshape, .fullyConnected, .fullyConnected])
        let bn = try importONNX(path: repoFile("Tests/Goldens/ops/bn_standalone_sigmoid.onnx"), options: ImportOptions())
        #expect(bn.nodes.map { $0.op.kind } == [.mul, .add, .activation], "a BatchNorm with no producer to fold into")
    }

    @Test func notOnnx() {
        let m = importError("models/photos/chelsea.jpg")
        #expect(m.contains("chelsea.jpg: not a valid ONNX model"), "\(m)")
        #expect(m.contains("export it again"))
    }

    @Test func truncatedOnnx() throws {
        let bytes = try sys_readFile(repoFile("models/onnx/mtcnn_rnet.onnx"))
        let path = NSTemporaryDirectory() + "swiftlet-truncated-\(getpid()).onnx"
        defer { unlink(path) }
        for cut in [10, 1000, bytes.count / 2, bytes.count - 3] {
            try sys_writeFile(path, Array(bytes[0..<cut]))
            do {
                _ = try importONNX(path: path, options: ImportOptions())
                Issue.record("an ONNX file cut to \(cut) bytes was accepted")
            } catch {
                #expect(error.message.contains(path), "\(error.message)")
            }
        }
    }

    @Test func unsupportedOpNamesOpNodeAndOpset() {
        #expect(importError("Tests/Fixtures/onnx/unsupported_gridsample.onnx") ==
            "unsupported ONNX op 'GridSample' (node 'head/gs_3', opset 16): dynamic or control-flow ops are not supported; move it out of the exported graph (do it in post-processing); see docs/ops.md for supported ops")
        #expect(importError("Tests/Fixtures/onnx/custom_domain.onnx").contains("unsupported ONNX op 'com.example.FancyOp' (node 'fancy', opset 13)"))
    }

    @Test func dynamicShapeNeedsInputShape() throws {
        let m = importError("Tests/Fixtures/onnx/dynamic_batch.onnx")
        #expect(m.contains("input 'x' has a dynamic shape [N, 3, 8, 8]; pass --input-shape"), "\(m)")
        var o = ImportOptions()
        o.inputShape = [1, 3, 8, 8]
        let spec = try importONNX(path: repoFile("Tests/Fixtures/onnx/dynamic_batch.onnx"), options: o)
        #expect(spec.tensors[spec.inputs[0]].shape == [1, 8, 8, 3])
        o.inputShape = [2, 3, 8]
        #expect(importError("Tests/Fixtures/onnx/dynamic_batch.onnx", o).contains("has rank 3"))
    }

    /// Opsets are checked per op version (docs/ops.md): this opset-9 model's one op, Relu, is Relu-6, the
    /// version in force at opset 11 too, so it imports; an op whose version predates opset 11 is refused
    /// by name and version (ONNXConformanceTests.olderOpVersionIsRefusedByName).
    @Test func oldOpset() throws {
        let spec = try importONNX(path: repoFile("Tests/Fixtures/onnx/old_opset9.onnx"), options: ImportOptions())
        #expect(!spec.nodes.isEmpty)
    }

    @Test func missingFile() {
        #expect(importError("no/such.onnx").hasSuffix("no/such.onnx: open failed: no such file or directory (ENOENT); check the path"))
    }

    @Test func labelsMustMatchClasses() {
        var o = ImportOptions()
        o.labels = ["a", "b"]
        o.outputKind = .classification
        #expect(importError("models/onnx/squeezenet1_1.onnx", o).contains("--labels has 2 names, the model's first output has 1000 classes"))
    }
}
