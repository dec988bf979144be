import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPlanner
import SwiftletPruner
import SwiftletRuntime
import Testing

/// `exportONNX` (issue #17): import → export → import again gives the same graph boundary, metadata
/// and outputs (within 1e-5 relative) on the shipped models and on a hand-made graph of the ops they
/// lack. tools/prune/check-export holds the exported files to ONNX Runtime.
@Suite struct ONNXExportTests {
    static let models = ["mobilenet_v2", "squeezenet1_1", "digits_lenet", "mobilenet_v3_small", "blazeface"]

    /// Loads a spec as the board would.
    func load(_ spec: ModelSpec, _ what: String) throws -> Interpreter {
        try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: what))
    }

    /// Exports `spec`, imports the bytes again, runs both on one seeded input; returns the re-import.
    @discardableResult
    func roundTrip(_ spec: ModelSpec, _ what: String, tolerance: Float = 1e-5) throws -> ModelSpec {
        let bytes = try exportONNX(spec)
        let back = try importONNX(bytes: bytes, path: what + ".exported.onnx", options: ImportOptions())
        #expect(back.inputs.map { back.tensors[$0].name } == spec.inputs.map { spec.tensors[$0].name }, "\(what): input names")
        #expect(back.outputs.map { back.tensors[$0].name } == spec.outputs.map { spec.tensors[$0].name }, "\(what): output names")
        #expect(back.inputs.map { back.tensors[$0].logicalShape } == spec.inputs.map { spec.tensors[$0].logicalShape }, "\(what): input shapes")
        #expect(back.outputs.map { back.tensors[$0].logicalShape } == spec.outputs.map { spec.tensors[$0].logicalShape }, "\(what): output shapes")
        #expect(back.parameterCount <= spec.parameterCount + 64, "\(what): \(back.parameterCount) parameters after, \(spec.parameterCount) before")
        let a = try load(spec, what), b = try load(back, what + " (exported)")
        var rng = SplitMix64(state: 17)
        for i in 0..<spec.inputs.count {
            let n = Shape.count(spec.tensors[spec.inputs[i]].shape) ?? 0
            let x = (0..<n).map { _ in Float(rng.below(2001)) / 1000 - 1 }
            a.setInput(i, logical: x)
            b.setInput(i, logical: x)
        }
        a.invoke()
        b.invoke()
        for o in 0..<spec.outputs.count {
            let err = relativeError(b.output(o), a.output(o))
            #expect(err <= tolerance, "\(what) output \(o) '\(spec.tensors[spec.outputs[o]].name)': max relative error \(err) after export")
        }
        return back
    }

    @Test func resizeModeSurvivesExport() throws {
        // `swiftlet.resize` / `swiftlet.resize_shorter`: a pruned MobileNetV2 exported for fine-tuning
        // and imported again keeps its centre crop without `--resize` on the command line.
        var spec = try importONNX(path: repoFile("models/onnx/digits_lenet.onnx"), options: ImportOptions())
        for (mode, shorter) in [(ResizeMode.shorterCrop, 10), (.shorterCrop, 0), (.letterbox, 0), (.stretch, 0)] {
            spec.preprocess?.resizeMode = mode
            spec.preprocess?.resizeShorter = shorter
            let back = try importONNX(bytes: exportONNX(spec), path: "resize.onnx", options: ImportOptions())
            #expect(back.preprocess?.resizeMode == mode)
            #expect(back.preprocess?.resizeShorter == shorter)
        }
    }

    @Test("shipped models survive import → export → import", arguments: models)
    func shippedModel(model: String) throws {
        let path = repoFile("models/onnx/\(model).onnx")
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestFailure("\(path) is missing: run tools/models/prepare.sh (the README's test command does)")
        }
        let spec = try importONNX(path: path, options: ImportOptions())
        let back = try roundTrip(spec, model)
        #expect(back.name == spec.name)
        #expect(back.preprocess == spec.preprocess)
        #expect(back.labels == spec.labels)
        #expect(back.postprocess.kind == spec.postprocess.kind)
        #expect(back.postprocess.decoder == spec.postprocess.decoder)
    }

    /// Three channels in four kept in every group that can lose channels (`pruneChannels`).
    static func pruned(_ model: String) throws -> ModelSpec {
        let spec = try importONNX(path: repoFile("models/onnx/\(model).onnx"), options: ImportOptions())
        let groups = channelGroups(spec)
        var keep: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() where g.blocked == nil && g.channels >= 4 {
            keep[i] = (0..<g.channels).filter { $0 % 4 != 1 }
        }
        return try pruneChannels(spec, groups, keep: keep)
    }

    @Test("pruned models survive export: the ONNX file has the pruned shapes", arguments: ["mobilenet_v2", "squeezenet1_1", "mobilenet_v3_small"])
    func prunedModel(model: String) throws {
        let spec = try Self.pruned(model)
        let full = try importONNX(path: repoFile("models/onnx/\(model).onnx"), options: ImportOptions())
        #expect(spec.parameterCount < full.parameterCount * 8 / 10)
        let back = try roundTrip(spec, model + " pruned")
        #expect(back.parameterCount < full.parameterCount * 8 / 10, "\(back.parameterCount) parameters, unpruned \(full.parameterCount)")
    }

    /// x [1, 3, 8, 8] through the ops the shipped models lack: PRelu, Pad, AveragePool counting the
    /// padding, Slice (a negative step too), Resize, Sigmoid, Sub, Div, Concat, Softmax on channels,
    /// Transpose, ReduceMean without keepdims, Reshape, Gemm; a second output through HardSigmoid,
    /// Tanh and GlobalAveragePool; a third through a Flatten of an NHWC tensor (a Transpose first).
    func handMade(labels: Bool = false) -> [UInt8] {
        var b = ONNXModelBuilder(opset: 13)
        var rng = SplitMix64(state: 5)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.below(2001)) / 2000 - 0.5 } }
        b.input("x", [1, 3, 8, 8])
        b.initializer("w1", dims: [4, 3, 3, 3], floats: values(108))
        b.initializer("b1", dims: [4], floats: values(4))
        b.node("Conv", ["x", "w1", "b1"], ["c1"], name: "conv1", [.ints("pads", [1, 1, 1, 1]), .ints("kernel_shape", [3, 3])])
        b.initializer("slope", dims: [4, 1, 1], floats: [0.1, 0.2, 0.3, 0.4])
        b.node("PRelu", ["c1", "slope"], ["p"], name: "prelu")
        b.initializer("pads", dims: [8], ints: [0, 0, 1, 2, 0, 0, 0, 1])
        b.initializer("padv", dims: [], floats: [0.5])
        b.node("Pad", ["p", "pads", "padv"], ["pd"], name: "pad")  // [1, 4, 9, 11]
        b.node("AveragePool", ["pd"], ["ap"], name: "avg",
               [.ints("kernel_shape", [3, 3]), .ints("strides", [2, 2]), .ints("pads", [1, 1, 1, 1]), .int("count_include_pad", 1)])  // [1, 4, 5, 6]
        b.initializer("st", dims: [2], ints: [1, 5])
        b.initializer("en", dims: [2], ints: [5, -7])
        b.initializer("ax", dims: [2], ints: [2, 3])
        b.initializer("sp", dims: [2], ints: [1, -2])
        b.node("Slice", ["ap", "st", "en", "ax", "sp"], ["sl"], name: "slice")  // [1, 4, 4, 3]
        b.initializer("sizes", dims: [4], ints: [1, 4, 8, 6])
        b.node("Resize", ["sl", "", "", "sizes"], ["rs"], name: "resize",
               [.string("mode", "linear"), .string("coordinate_transformation_mode", "half_pixel")])
        b.node("Sigmoid", ["rs"], ["sg"], name: "sigmoid")
        b.initializer("k", dims: [1, 4, 1, 1], floats: [0.5, 1, 1.5, 2])
        b.node("Sub", ["rs", "k"], ["sb"], name: "sub")
        b.node("Div", ["sb", "k"], ["dv"], name: "div")
        b.node("Concat", ["dv", "sg"], ["cc"], name: "concat", [.int("axis", 1)])  // [1, 8, 8, 6]
        b.node("Softmax", ["cc"], ["sm"], name: "softmax", [.int("axis", 1)])
        b.node("Transpose", ["sm"], ["tr"], name: "transpose", [.ints("perm", [0, 2, 3, 1])])  // [1, 8, 6, 8]
        b.node("ReduceMean", ["tr"], ["rm"], name: "mean", [.ints("axes", [1]), .int("keepdims", 0)])  // [1, 6, 8]
        b.initializer("shape", dims: [2], ints: [1, 48])
        b.node("Reshape", ["rm", "shape"], ["fl"], name: "reshape")
        b.initializer("wf", dims: [5, 48], floats: values(240))
        b.initializer("bf", dims: [5], floats: values(5))
        b.node("Gemm", ["fl", "wf", "bf"], ["y"], name: "fc", [.int("transB", 1)])
        b.node("HardSigmoid", ["cc"], ["hs"], name: "hardsigmoid", [.float("alpha", 0.3), .float("beta", 0.4)])
        b.node("Tanh", ["hs"], ["th"], name: "tanh")
        b.node("GlobalAveragePool", ["th"], ["z"], name: "gap")
        b.node("Flatten", ["sg"], ["f2"], name: "flatten")
        b.initializer("w3", dims: [192, 3], floats: values(576))
        b.node("MatMul", ["f2", "w3"], ["m3"], name: "matmul")
        b.node("Relu", ["m3"], ["u"], name: "relu")
        b.output("y")
        b.output("z")
        b.output("u")
        b.metadata("swiftlet.mean", "[127.5, 127.5, 127.5]")
        b.metadata("swiftlet.std", "[64, 64, 64]")
        b.metadata("swiftlet.colour", "bgr")
        if labels { b.metadata("swiftlet.labels", #"["a", "b \"quoted\"", "c", "d", "e"]"#) }
        return b.serialized()
    }

    @Test("a hand-made graph of the other ops survives import → export → import")
    func handMadeGraph() throws {
        let spec = try importONNX(bytes: handMade(labels: true), path: "handmade.onnx", options: ImportOptions())
        let back = try roundTrip(spec, "handmade")
        #expect(back.preprocess == spec.preprocess)
        #expect(back.preprocess?.bgr == true)
        #expect(back.labels == ["a", "b \"quoted\"", "c", "d", "e"])
    }

    /// x [1, 3, 8, 8] → Conv (4 channels) → ReduceMean over H and W without keepdims → y [1, 4].
    func convMean() -> [UInt8] {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [1, 3, 8, 8])
        b.initializer("w", dims: [4, 3, 1, 1], floats: (0..<12).map { Float($0) / 10 - 0.5 })
        b.node("Conv", ["x", "w"], ["c"], name: "conv", [.ints("kernel_shape", [1, 1])])
        b.node("ReduceMean", ["c"], ["y"], name: "mean", [.ints("axes", [2, 3]), .int("keepdims", 0)])
        b.output("y")
        return b.serialized()
    }

    @Test("means of NHWC tensors without keepdims: over H and W, and over H alone (output [N, W, C])")
    func meanWithoutKeepDims() throws {
        var spec = try importONNX(bytes: convMean(), path: "mean.onnx", options: ImportOptions())
        try roundTrip(spec, "mean over H, W")
        // The mean over stored axis 1 (H) alone leaves [N, W, C], whose order is not NCHW's [N, C, W]:
        // the export must run it on the stored order.
        guard let m = spec.nodes.firstIndex(where: { $0.op.kind == .mean }) else { throw TestFailure("no mean node") }
        spec.nodes[m].op = .mean(axes: [1], keepDims: false)
        let out = spec.nodes[m].outputs[0]
        spec.tensors[out].shape = [1, 8, 4]
        spec.tensors[out].byteCount = 8 * 4 * 4
        _ = planArena(&spec, reorder: false)  // the output grew: plan the arena again
        let back = try roundTrip(spec, "mean over H")
        #expect(back.tensors[back.outputs[0]].logicalShape == [1, 8, 4])
    }

    @Test("export is deterministic, and a re-import exports to a graph of the same nodes")
    func stable() throws {
        let spec = try importONNX(bytes: handMade(), path: "handmade.onnx", options: ImportOptions())
        let once = try exportONNX(spec)
        #expect(try exportONNX(spec) == once)
        let back = try importONNX(bytes: once, path: "once.onnx", options: ImportOptions())
        #expect(back.nodes.map { $0.op.kind } == spec.nodes.map { $0.op.kind })
    }

    @Test("an int8 model is refused, naming what to do")
    func refusesInt8() throws {
        var spec = try importONNX(bytes: handMade(), path: "handmade.onnx", options: ImportOptions())
        spec.tensors[spec.nodes[0].inputs[1]].dtype = .int8
        do {
            _ = try exportONNX(spec)
            Issue.record("an int8 tensor was exported")
        } catch {
            #expect(error.message.contains("export the float model: prune or import, then export"), "\(error.message)")
        }
    }

    @Test("swiftlet export: writes an ONNX file import takes back; refuses an int8 model and an output that is the input")
    func cli() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let swl = dir + "/d.swl", onnx = dir + "/d.onnx", q = dir + "/q.swl"
        #expect(try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", swl]).status == 0)
        let r = try swiftlet(["export", swl, "-o", onnx])
        #expect(r.status == 0 && r.stdout.hasPrefix("wrote \(onnx): "), "\(r.stdout)\(r.stderr)")
        #expect(try swiftlet(["import", onnx, "-o", dir + "/back.swl"]).status == 0)
        let same = try swiftlet(["export", swl, "-o", swl])
        #expect(same.status == 64 && same.stderr.contains("is the same file as the model"), "\(same.stderr)")
        let quantize = try swiftlet(["quantize", swl, "--calibration", repoFile("models/digits/calibration"), "-o", q, "--quiet"])
        #expect(quantize.status == 0, "\(quantize.stderr)")
        let int8 = try swiftlet(["export", q, "-o", dir + "/q.onnx"])
        #expect(int8.status == 1, "\(int8.stderr)")
        #expect(int8.stderr.contains("is quantized") && int8.stderr.contains("export the float model: prune or import, then export"), "\(int8.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/q.onnx"))
    }
}
