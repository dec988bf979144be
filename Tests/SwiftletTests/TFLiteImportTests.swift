import Foundation
import SwiftletCompiler
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletRuntime
import SwiftletTFLite
import Testing

/// The TensorFlow Lite importer (issue #18) against LiteRT's reference kernels (goldens from
/// tools/tflite/make_goldens.py, Tests/Goldens/tflite/meta.json) and against the ONNX path.
@Suite struct TFLiteImportTests {
    /// A model file fetched by tools/models/prepare.sh (fetch_weights.py) into the weights cache.
    static func weights(_ file: String) -> String {
        let cache = ProcessInfo.processInfo.environment["SWIFTLET_CACHE"] ?? NSHomeDirectory() + "/.cache/swiftlet"
        return cache + "/weights/" + file
    }

    /// MediaPipe's BlazeFace short range.
    static var blazeFacePath: String { weights("face_detection_short_range.tflite") }

    /// Imports a .tflite and loads it as the board would: encode to .swl bytes, validate, prepare.
    static func load(_ path: String, options: ImportOptions = ImportOptions()) throws -> (ModelSpec, Interpreter) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestFailure("\(path) is missing: run tools/models/prepare.sh (tools/test.sh does)")
        }
        let spec = try importTFLite(path: path, options: options)
        let model = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: path + ".swl")
        return (spec, try Interpreter(model: model))
    }

    /// The astronaut photo of the BlazeFace goldens (128 × 128), enlarged to `size` × `size` by nearest
    /// neighbour as make_goldens.py does (`u8[(i · 128) / size]` on rows and columns), normalised to
    /// [-1, 1] as MediaPipe's detectors want (logical NCHW).
    static func astronautInput(size: Int = 128) throws -> [Float] {
        let u8 = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/astronaut.u8.npy")).data
        var big = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                for c in 0..<3 { big[(y * size + x) * 3 + c] = u8[((y * 128 / size) * 128 + x * 128 / size) * 3 + c] }
            }
        }
        return normalizedNCHW(big, h: size, w: size, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5])
    }

    /// The golden names of MediaPipe's other detectors in Tests/Goldens/tflite/meta.json.
    static let detectors = ["blazeface_full", "face_full_sparse", "palm_lite", "pose"]

    @Test("MediaPipe's full-range, sparse full-range face, palm lite and pose detectors match LiteRT's reference kernels (max rel error <= 1e-4)",
          arguments: detectors)
    func detectorMatchesLiteRT(name: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/tflite/meta.json")))
        let entry = try #require(((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["models"] as? [String: Any])?[name] as? [String: Any])
        let (spec, interp) = try Self.load(Self.weights(try #require(entry["tflite"] as? String)))
        let shape = spec.tensors[spec.inputs[0]].logicalShape
        #expect(shape[0] == 1 && shape[1] == 3 && shape[2] == shape[3], "\(name): input \(shape)")
        interp.setInput(0, logical: try Self.astronautInput(size: shape[2]))
        interp.invoke()
        // LiteRT's outputs [1, anchors, k] at the stored anchor rows.
        let rows = try NPYArray(contentsOf: repoFile("Tests/Goldens/tflite/\(name).rows.npy")).floats().map { Int($0) }
        let shapes = try #require(entry["shapes"] as? [[Int]])
        #expect(spec.outputs.count == 2 && rows.count > 64)
        for o in 0..<2 {
            let want = try NPYArray(contentsOf: repoFile("Tests/Goldens/tflite/\(name).out\(o).npy")).floats()
            let got = interp.output(o), k = shapes[o][2]
            #expect(got.count == shapes[o][1] * k, "\(name) output \(o): \(got.count) values, LiteRT has \(shapes[o])")
            let picked = rows.flatMap { r in (0..<k).map { got[r * k + $0] } }
            let err = relativeError(picked, want)
            #expect(err <= 1e-4, "\(name) output \(o): max relative error \(err) against LiteRT")
        }
    }

    @Test("BlazeFace short range .tflite matches LiteRT's reference kernels (max rel error <= 1e-4)")
    func blazeFaceMatchesLiteRT() throws {
        let (spec, interp) = try Self.load(Self.blazeFacePath)
        #expect(spec.tensors[spec.inputs[0]].logicalShape == [1, 3, 128, 128])
        #expect(spec.outputs.map { spec.tensors[$0].name } == ["regressors", "classificators"])
        interp.setInput(0, logical: try Self.astronautInput())
        interp.invoke()
        for o in 0..<2 {
            let want = try NPYArray(contentsOf: repoFile("Tests/Goldens/tflite/blazeface_short.out\(o).npy")).floats()
            let got = interp.output(o)
            #expect(got.count == want.count)
            let err = relativeError(got, want)
            #expect(err <= 1e-4, "output \(o): max relative error \(err) against LiteRT")
        }
    }

    @Test("BlazeFace .tflite imported directly gives the PyTorch port's (ONNX) outputs")
    func blazeFaceMatchesONNXPort() throws {
        let (tflSpec, tfl) = try Self.load(Self.blazeFacePath)
        let (onnxSpec, onnx) = try importAndLoad(repoFile("models/onnx/blazeface.onnx"))
        #expect(tflSpec.nodes.count == onnxSpec.nodes.count)
        let x = try Self.astronautInput()
        tfl.setInput(0, logical: x)
        onnx.setInput(0, logical: x)
        tfl.invoke()
        onnx.invoke()
        for o in 0..<2 {
            let err = relativeError(tfl.output(o), onnx.output(o))
            #expect(err <= 1e-5, "output \(o): max relative error \(err) between the .tflite and the ONNX port")
        }
    }

    @Test("--decoder blazeface and the pre-processing flags work as for the ONNX port")
    func blazeFaceDecoderPreset() throws {
        var options = ImportOptions()
        options.decoder = "blazeface"
        var p = Preprocess()
        p.mean = [127.5, 127.5, 127.5]
        p.std = [127.5, 127.5, 127.5]
        options.preprocess = p
        let tfl = try importTFLite(path: Self.blazeFacePath, options: options)
        let onnx = try importONNX(path: repoFile("models/onnx/blazeface.onnx"), options: options)
        #expect(tfl.postprocess.kind == .detection)
        #expect(tfl.postprocess == onnx.postprocess)
        #expect(tfl.preprocess == onnx.preprocess)
        #expect(tfl.labels == ["face"])
        #expect(tfl.name == "face_detection_short_range")
    }

    // MARK: metadata

    @Test("TFLite metadata's normalization becomes the pre-processing (mediapipe's pose and sparse face detectors); flags override it")
    func metadataNormalization() throws {
        for file in ["pose_detection.tflite", "face_detection_full_range_sparse.tflite"] {
            let spec = try importTFLite(path: Self.weights(file), options: ImportOptions())
            #expect(spec.preprocess?.mean == [127.5, 127.5, 127.5] && spec.preprocess?.std == [127.5, 127.5, 127.5], "\(file)")
        }
        #expect(try importTFLite(path: Self.blazeFacePath, options: ImportOptions()).preprocess == nil, "no metadata, no pre-processing")
        var options = ImportOptions()
        var p = Preprocess()
        p.mean = [0, 0, 0]
        p.std = [255, 255, 255]
        options.preprocess = p
        #expect(try importTFLite(path: Self.weights("pose_detection.tflite"), options: options).preprocess?.std == [255, 255, 255])
    }

    @Test("TFLite metadata's per-channel normalization and label file (a stored zip entry) are read; a compressed one is refused")
    func metadataLabels() throws {
        let spec = try importTFLite(bytes: try Self.fixture("classifier_metadata.tflite"), path: "m.tflite", options: ImportOptions())
        #expect(spec.labels == ["tabby cat", "golden retriever", "bald eagle"])
        #expect(spec.preprocess?.mean == [123.675, 116.28, 103.53] && spec.preprocess?.std == [58.395, 57.12, 57.375])
        var options = ImportOptions()
        options.labels = ["a", "b", "c"]
        #expect(try importTFLite(bytes: try Self.fixture("classifier_metadata.tflite"), path: "m.tflite", options: options).labels == ["a", "b", "c"])
        #expect(Self.refusal(try Self.fixture("classifier_metadata_deflated.tflite"))
                == "m.tflite: the metadata names the label file 'labels.txt', but the archive compresses it (method 8); only stored entries are read")
        // Every byte of the metadata and the archive flipped: refused with a message or imported, never a trap.
        let good = try Self.fixture("classifier_metadata.tflite")
        for i in 0..<good.count {
            var b = good
            b[i] ^= 0xA5
            do { _ = try importTFLite(bytes: b, path: "m.tflite", options: ImportOptions()) } catch { #expect(!error.message.isEmpty) }
        }
    }

    static let ops = [
        "conv_same_s2_relu6", "conv_valid_dilated", "conv_1x1_relu_n1_to_1", "dwconv_mult2_relu", "dwconv_s2_same",
        "avgpool_same_s2", "maxpool_valid_s2", "add_channel_relu", "sub_rank3", "mul_rank4", "div_channel", "relu", "relu6",
        "logistic", "tanh", "hard_swish", "leaky_relu", "softmax_2d", "softmax_4d", "fully_connected_flatten_nobias_relu",
        "fully_connected_bias", "mean_hw", "mean_hw_keep", "reshape_to_rank4", "reshape_to_rank3", "concat_channels",
        "padv2_value", "dequantize_int8_per_channel_conv", "prelu_channel",
        "resize_bilinear_asymmetric", "resize_bilinear_align_corners", "resize_bilinear_half_pixel",
        "resize_nearest_asymmetric", "resize_nearest_align_corners", "resize_nearest_half_pixel",
        "densify_csr_conv", "densify_block_fully_connected", "depth_to_space_2",
        "transpose_0312", "transpose_0213", "transpose_2031", "squeeze_hw", "squeeze_all", "conv_external_buffers",
    ]

    @Test("every single-op golden of make_goldens.py is tested")
    func everyOpGoldenIsListed() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/tflite/meta.json")))
        let meta = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let recorded = Set((meta?["ops"] as? [String: Any] ?? [:]).keys)
        #expect(recorded == Set(Self.ops))
    }

    /// NHWC data of a rank-4 shape in the logical (NCHW) order the interpreter takes, or as is.
    static func logical(_ data: [Float], _ shape: [Int]) -> [Float] {
        shape.count == 4 ? Lowering.permuteData(data, shape, Shape.nhwcToNCHW) : data
    }

    @Test("single-op .tflite models match LiteRT's reference kernels (max rel error <= 1e-5)", arguments: ops)
    func opMatchesLiteRT(op: String) throws {
        let dir = repoFile("Tests/Goldens/tflite/ops/")
        let (spec, interp) = try Self.load(dir + op + ".tflite")
        let x = try NPYArray(contentsOf: dir + op + ".in.npy")
        let want = try NPYArray(contentsOf: dir + op + ".out.npy")
        interp.setInput(0, logical: Self.logical(try x.floats(), x.shape))
        interp.invoke()
        let got = interp.output(0)
        #expect(spec.tensors[spec.outputs[0]].logicalShape == (want.shape.count == 4 ? Shape.permute(want.shape, Shape.nhwcToNCHW) : want.shape))
        let err = relativeError(got, Self.logical(try want.floats(), want.shape))
        #expect(got.count == Shape.count(want.shape), "\(op): \(got.count) values, LiteRT has \(want.shape)")
        #expect(err <= 1e-5, "\(op): max relative error \(err) against LiteRT")
    }

    /// Full-integer single-op models (op_models.int8_models), bit-exact with BUILTIN_REF.
    static let int8Ops = [
        "int8_conv_same_s2_relu6", "int8_conv_1x1_valid", "int8_dwconv_mult2_relu", "int8_dwconv_s2_same", "int8_fully_connected",
        "int8_add_const_relu", "int8_avgpool_same_s2", "int8_maxpool_valid_s2", "int8_reshape", "int8_softmax", "int8_softmax_wide", "int8_chain_conv_dw_pool_fc_softmax",
        "int8_pad", "int8_concat_channels", "int8_mul_const", "int8_mul_square_relu6", "int8_mean_hw", "int8_mean_hw_keep",
        "int8_logistic", "int8_tanh", "int8_hard_swish", "int8_input_conv", "uint8_input_quantize_conv",
        "int8_relu", "int8_relu6", "int8_relu_n1_to_1", "int8_leaky_relu",
        "int8_conv_hard_swish", "int8_dwconv_logistic", "int8_conv_relu_rescaled",
    ]

    @Test("every full-integer golden of make_goldens.py is tested")
    func everyInt8GoldenIsListed() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/tflite/meta.json")))
        let meta = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(Set((meta?["int8_ops"] as? [String: Any] ?? [:]).keys) == Set(Self.int8Ops))
    }

    /// The model's float output is its int8 output dequantized (a bijection), so equal floats are equal int8s.
    @Test("full-integer .tflite models import as int8 and match LiteRT's reference kernels bit for bit", arguments: int8Ops)
    func int8OpMatchesLiteRT(op: String) throws {
        let dir = repoFile("Tests/Goldens/tflite/ops/")
        let (spec, interp) = try Self.load(dir + op + ".tflite")
        #expect(spec.requantization == .fixedPoint)
        #expect(spec.nodes.contains { if case .quantize = $0.op { return true } else { return false } }, "\(op): no int8 graph")
        let x = try NPYArray(contentsOf: dir + op + ".in.npy")
        let want = Self.logical(try NPYArray(contentsOf: dir + op + ".out.npy").floats(), try NPYArray(contentsOf: dir + op + ".out.npy").shape)
        interp.setInput(0, logical: Self.logical(try x.floats(), x.shape))
        interp.invoke()
        let got = interp.output(0)
        #expect(got.count == want.count)
        let differing = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(differing.isEmpty, "\(op): \(differing.count) of \(want.count) outputs differ from LiteRT's, first at \(differing.first?.offset ?? -1): \(differing.first.map { "\($0.element.0) vs \($0.element.1)" } ?? "")")
    }

    @Test("a float model with int8 weights behind a DEQUANTIZE still imports as float")
    func floatModelsStayFloat() throws {
        let (spec, _) = try Self.load(repoFile("Tests/Goldens/tflite/ops/dequantize_int8_per_channel_conv.tflite"))
        #expect(spec.tensors.allSatisfy { $0.dtype == .float32 })
    }

    // MARK: bad input

    static func fixture(_ name: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: repoFile("Tests/Fixtures/tflite/" + name)) else { throw TestFailure("cannot read \(name)") }
        return [UInt8](d)
    }

    /// The message of the error importing `bytes` throws (fails the test when it imports).
    static func refusal(_ bytes: [UInt8], _ options: ImportOptions = ImportOptions(), sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            _ = try importTFLite(bytes: bytes, path: "m.tflite", options: options)
            Issue.record("imported a file that should be refused", sourceLocation: sourceLocation)
            return ""
        } catch {
            return error.parts.error
        }
    }

    @Test("files that are no TFLite model are refused, naming why")
    func notTFLite() throws {
        #expect(Self.refusal([]) == "m.tflite: the file is empty, not a TensorFlow Lite model")
        #expect(Self.refusal([1, 2, 3]).contains("the file has 3 bytes, too few for a flatbuffer (at least 8), so it is not a TensorFlow Lite model"))
        let text = Self.refusal(Array("this is not a model at all".utf8))
        #expect(text.contains("not a TensorFlow Lite model: the flatbuffer file identifier (bytes 4-7) is ' is ', not 'TFL3'"), "\(text)")
        var onnx = try Self.fixture("relu_valid.tflite")
        onnx.replaceSubrange(4..<8, with: Array("ONNX".utf8))
        #expect(Self.refusal(onnx).contains("identifier (bytes 4-7) is 'ONNX', not 'TFL3'"))
    }

    @Test("a truncated file, or offsets past its end, are refused at every length, never a trap")
    func truncatedAndOutside() throws {
        let good = try Self.fixture("relu_valid.tflite")
        _ = try importTFLite(bytes: good, path: "m.tflite", options: ImportOptions())
        let half = Self.refusal(Array(good[0..<(good.count / 2)]))
        #expect(half.contains("ends past the end of the file"), "\(half)")
        #expect(half.contains("the file is truncated or corrupt"))
        for n in 8..<good.count { _ = Self.refusal(Array(good[0..<n])) }
        var far = good
        far.replaceSubrange(0..<4, with: [0x00, 0xFF, 0xFF, 0x7F])
        // A buffer stored after the flatbuffer (offset, size) that the file no longer holds.
        let external = try [UInt8](Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/tflite/ops/conv_external_buffers.tflite"))))
        let cut = Self.refusal(Array(external.dropLast(16)))
        #expect(cut.contains("bytes at file offset") && cut.contains("end past the end of the file"), "\(cut)")
        #expect(Self.refusal(far).contains("the model table at byte 2147483392 (4 bytes) ends past the end of the file (\(good.count) bytes)"))
        // Every byte flipped: refused with a message or imported, never a trap.
        for i in 0..<good.count {
            var b = good
            b[i] ^= 0xA5
            do { _ = try importTFLite(bytes: b, path: "m.tflite", options: ImportOptions()) } catch { #expect(!error.message.isEmpty) }
        }
    }

    @Test("an unknown schema version, two subgraphs, a custom op, an unsupported builtin: refused with what to do")
    func unsupportedModels() throws {
        #expect(Self.refusal(try Self.fixture("version4.tflite")) == "m.tflite: TFLite schema version 4 is not supported (only version 3)")
        #expect(Self.refusal(try Self.fixture("two_subgraphs.tflite"))
                == "m.tflite: the model has 2 subgraphs, Swiftlet imports a model of exactly one")
        #expect(Self.refusal(try Self.fixture("custom_op.tflite"))
                == "m.tflite: operator 0 is the custom op 'MyCustomOp', which Swiftlet cannot import")
        #expect(Self.refusal(try Self.fixture("unsupported_builtin.tflite"))
                == "m.tflite: operator 1 (FLOOR writing 'y'): TFLite builtin FLOOR (code 8) is not supported")
        #expect(Self.refusal(try Self.fixture("missing_input.tflite")) == "m.tflite: operator 0 (ADD writing 'y'): it has 2 inputs, input 1 is missing")
        #expect(Self.refusal(try Self.fixture("int8_unquantized_constant.tflite"))
                == "m.tflite: node 'add_1' reads the constant 'c', which has no int8 scale and zero point in the file; Swiftlet keeps a full-integer model's own integers and does not quantize a constant from float")
        #expect(Self.refusal(try Self.fixture("fused_tanh.tflite"))
                == "m.tflite: operator 0 (DEPTHWISE_CONV_2D writing 'y'): fused activation TANH is not applied by LiteRT's own kernels, so its meaning is ambiguous")
        for (name, hint) in [("version4.tflite", "convert the model again with a current TensorFlow Lite converter"),
                             ("two_subgraphs.tflite", "convert the model without control flow (WHILE, IF) or extra signatures"),
                             ("custom_op.tflite", "convert the model with builtin ops only (no custom ops or select TensorFlow ops)"),
                             ("unsupported_builtin.tflite", "see docs/ops.md for the TFLite builtins Swiftlet imports")] {
            let bytes = try Self.fixture(name)
            do {
                _ = try importTFLite(bytes: bytes, path: "m.tflite", options: ImportOptions())
            } catch {
                #expect(error.parts.hint == hint, "\(name)")
            }
        }
    }

    @Test("a dynamic batch needs --input-shape (NHWC order), then imports")
    func dynamicShape() throws {
        let bytes = try Self.fixture("dynamic_batch.tflite")
        #expect(Self.refusal(bytes) == "m.tflite: input 'x' has a dynamic shape [-1, 4]")
        var options = ImportOptions()
        options.inputShape = [3, 4]
        let spec = try importTFLite(bytes: bytes, path: "m.tflite", options: options)
        #expect(spec.tensors[spec.outputs[0]].logicalShape == [3, 4])
        options.inputShape = [3, 5]
        #expect(Self.refusal(bytes, options).contains("--input-shape [3, 5] disagrees with input 'x' [-1, 4] at axis 1"))
    }

    @Test("swiftlet import .tflite --decoder blazeface, then run --image: the ONNX port's detections")
    func blazeFaceCLI() throws {
        let dir = try scratchDirectory()
        var found: [[[String: Any]]] = []
        for (model, out) in [(Self.blazeFacePath, "tfl.swl"), (repoFile("models/onnx/blazeface.onnx"), "onnx.swl")] {
            let imported = try swiftlet(["import", model, "-o", dir + "/" + out, "--decoder", "blazeface",
                                         "--mean", "127.5,127.5,127.5", "--std", "127.5,127.5,127.5", "--resize", "letterbox"])
            #expect(imported.status == 0, "\(imported.stderr)")
            let run = try swiftlet(["run", dir + "/" + out, "--image", repoFile("models/photos/astronaut.jpg"), "--json"])
            #expect(run.status == 0, "\(run.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            found.append(json?["detections"] as? [[String: Any]] ?? [])
        }
        #expect(found[0].count == 1 && found[1].count == 1, "\(found)")
        for (a, b) in zip(found[0], found[1]) {
            #expect(a["label"] as? String == "face" && b["label"] as? String == "face")
            let (sa, sb) = (a["score"] as? Double ?? 0, b["score"] as? Double ?? 1)
            #expect(abs(sa - sb) <= 1e-5, "scores \(sa) and \(sb)")
            let (ba, bb) = (a["box"] as? [Double] ?? [], b["box"] as? [Double] ?? [])
            #expect(ba.count == 4 && bb.count == 4 && zip(ba, bb).allSatisfy { abs($0 - $1) <= 0.02 }, "boxes \(ba) and \(bb)")
        }
    }
}
