import Foundation
import SwiftletCore
import Testing

/// The CLI on real models: import, --input/--output against ONNX Runtime, inspect's figures.
@Suite("swiftlet CLI on real models") struct CLIModelTests {
    /// MTCNN O-Net has three outputs: `--output out.npy` writes `out-NAME.npy` for each, in the ONNX
    /// layout, equal to ONNX Runtime's within 1e-4.
    @Test func npyInputOutputMatchesOnnxRuntime() throws {
        let dir = try scratchDirectory()
        let meta = try GoldenMeta(model: "mtcnn_onet")
        let imp = try swiftlet(["import", meta.onnxPath, "-o", dir + "/onet.swl"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let photo = meta.photos[0]
        let u8 = try NPYArray(contentsOf: meta.dir + "/\(photo).u8.npy")
        let x = normalizedNCHW(u8.data, h: 48, w: 48, mean: meta.mean, std: meta.std)
        try NPYArray(floats: x, shape: [1, 3, 48, 48]).write(to: dir + "/x.npy")
        let run = try swiftlet(["run", dir + "/onet.swl", "--input", dir + "/x.npy", "--output", dir + "/out.npy"])
        #expect(run.status == 0, "\(run.stderr)")
        let names = ((meta.json["outputs"] as! [[String: Any]]).map { $0["name"] as! String })
        #expect(names.count == 3)
        for (i, name) in names.enumerated() {
            let got = try NPYArray(contentsOf: dir + "/out-\(name).npy")
            let want = try NPYArray(contentsOf: meta.dir + "/\(photo).out\(i).npy")
            #expect(got.shape == want.shape, "output \(name)")
            #expect(relativeError(try got.floats(), try want.floats()) <= 1e-4, "output \(name)")
        }
    }

    /// `inspect` of MobileNetV2 gives the documented ≈ 300 M MACs and ≈ 3.5 M parameters.
    @Test func inspectMobileNetV2() throws {
        let dir = try scratchDirectory()
        let imp = try swiftlet(["import", repoFile("models/onnx/mobilenet_v2.onnx"), "-o", dir + "/m.swl",
                                "--labels", repoFile("models/labels/imagenet.txt")])
        #expect(imp.status == 0, "\(imp.stderr)")
        let text = try swiftlet(["inspect", dir + "/m.swl"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("300.8 M"), "\(text.stdout.suffix(600))")
        #expect(text.stdout.contains("parameters   3.49 M"), "\(text.stdout.suffix(600))")
        let js = try swiftlet(["inspect", dir + "/m.swl", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(js.stdout.utf8)) as! [String: Any]
        let macs = (obj["macs"] as! NSNumber).intValue
        let params = (obj["parameters"] as! NSNumber).intValue
        #expect(macs > 295_000_000 && macs < 305_000_000, "MACs \(macs)")
        #expect(params > 3_450_000 && params < 3_550_000, "parameters \(params)")
        #expect((obj["layers"] as! [Any]).count == 65)
        #expect((obj["arena_bytes"] as! NSNumber).intValue >= (obj["lower_bound_bytes"] as! NSNumber).intValue)
    }

    /// The main job: a real photo through the CLI names the true class first.
    @Test func classifiesChelsea() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/mobilenet_v2.onnx"), "-o", dir + "/m.swl",
                          "--labels", repoFile("models/labels/imagenet.txt")])
        let run = try swiftlet(["run", dir + "/m.swl", "--image", repoFile("models/photos/chelsea.jpg"), "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let top = obj["top"] as! [[String: Any]]
        #expect((top[0]["index"] as! NSNumber).intValue == 285)
        #expect(top[0]["label"] as? String == "Egyptian cat")
    }
}
