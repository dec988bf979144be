import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletRuntime
import SwiftletVision
import Testing

/// Swiftlet's float reference runtime against ONNX Runtime on real models and real photos
/// (goldens from tools/goldens/make_goldens.py; see each meta.json for versions and the command).
@Suite struct GoldenTests {
    static let models = [
        "mobilenet_v2", "efficientnet_lite0", "mobilenet_v1", "mobilenet_v3_small", "squeezenet1_1",
        "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet", "blazeface",
    ]

    @Test("matches ONNX Runtime (max rel error <= 1e-4, same top-1)", arguments: models)
    func matchesOnnxRuntime(model: String) throws {
        let meta = try GoldenMeta(model: model)
        let (_, interp) = try importAndLoad(meta.onnxPath)
        let shape = meta.inputShape
        for photo in meta.photos {
            let u8 = try NPYArray(contentsOf: meta.dir + "/\(photo).u8.npy")
            #expect(u8.shape == [shape[2], shape[3], 3])
            interp.setInput(0, logical: normalizedNCHW(u8.data, h: shape[2], w: shape[3], mean: meta.mean, std: meta.std))
            interp.invoke()
            for o in 0..<meta.outputCount {
                let want = try NPYArray(contentsOf: meta.dir + "/\(photo).out\(o).npy").floats()
                let got = interp.output(o)
                #expect(got.count == want.count, "\(model)/\(photo) output \(o): \(got.count) values, ONNX Runtime has \(want.count)")
                let err = relativeError(got, want)
                #expect(err <= 1e-4, "\(model)/\(photo) output \(o): max relative error \(err)")
                if meta.task == "classification" || o == 0 && want.count > 1 && meta.task != "detection" {
                    #expect(argmax(got) == argmax(want), "\(model)/\(photo): top-1 \(argmax(got)) vs ONNX Runtime \(argmax(want))")
                }
            }
        }
    }

    /// The whole path a user runs: libjpeg decode, resize, normalise, infer; the true class is in the top 5.
    @Test("real photos classified from JPEG", arguments: [
        ("mobilenet_v2", "chelsea", [281, 282, 285]), ("mobilenet_v2", "coffee", [967]), ("mobilenet_v2", "camera", [872]),
        ("efficientnet_lite0", "chelsea", [281, 282, 285]), ("efficientnet_lite0", "coffee", [967]),
        ("efficientnet_lite0", "camera", [872]),
    ])
    func classifiesRealPhotos(model: String, photo: String, truth: [Int]) throws {
        let meta = try GoldenMeta(model: model)
        let (spec, interp) = try importAndLoad(meta.onnxPath)
        let image = try loadJPEG(path: repoFile("models/photos/\(photo).jpg"))
        let input = spec.tensors[spec.inputs[0]].shape  // NHWC
        let resized = resize(image, width: input[2], height: input[1])
        normalize(resized, mean: meta.mean, std: meta.std, bgr: false, into: interp.inputPointer(0))
        interp.invoke()
        let top5 = topK(interp.output(0), 5)
        #expect(top5.contains { truth.contains($0) }, "\(model) on \(photo): top-5 \(top5) misses \(truth)")
    }
}
