import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletRuntime
import SwiftletTFLite
import Testing

/// The TensorFlow Lite importer (issue #18) against LiteRT's reference kernels (goldens from
/// tools/tflite/make_goldens.py, Tests/Goldens/tflite/meta.json) and against the ONNX path.
@Suite struct TFLiteImportTests {
    /// MediaPipe's BlazeFace short range, fetched by tools/models/prepare.sh (fetch_weights.py).
    static var blazeFacePath: String {
        let cache = ProcessInfo.processInfo.environment["SWIFTLET_CACHE"] ?? NSHomeDirectory() + "/.cache/swiftlet"
        return cache + "/weights/face_detection_short_range.tflite"
    }

    /// Imports a .tflite and loads it as the board would: encode to .swl bytes, validate, prepare.
    static func load(_ path: String, options: ImportOptions = ImportOptions()) throws -> (ModelSpec, Interpreter) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestFailure("\(path) is missing: run tools/models/prepare.sh (tools/test.sh does)")
        }
        let spec = try importTFLite(path: path, options: options)
        let model = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: path + ".swl")
        return (spec, try Interpreter(model: model))
    }

    /// The astronaut photo of the BlazeFace goldens, normalised to [-1, 1] as the model wants (logical NCHW).
    static func astronautInput() throws -> [Float] {
        let u8 = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/astronaut.u8.npy"))
        return normalizedNCHW(u8.data, h: 128, w: 128, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5])
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
}
