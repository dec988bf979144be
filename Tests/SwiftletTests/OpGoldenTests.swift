import Foundation
import SwiftletCore
import Testing

/// One small ONNX graph per op form the importer claims (docs/ops.md), against ONNX Runtime
/// (goldens from tools/goldens/make_onnx_fixtures.py, ORT_DISABLE_ALL).
@Suite struct OpGoldenTests {
    static let cases: [String] = {
        let dir = repoFile("Tests/Goldens/ops")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return files.filter { $0.hasSuffix(".onnx") }.map { String($0.dropLast(5)) }.sorted()
    }()

    @Test func everyCaseIsPresent() {
        #expect(Self.cases.count >= 24, "Tests/Goldens/ops has \(Self.cases.count) cases")
    }

    @Test("float reference matches ONNX Runtime (max rel error <= 1e-5)", arguments: cases)
    func matches(name: String) throws {
        let dir = repoFile("Tests/Goldens/ops")
        let (spec, interp) = try importAndLoad(dir + "/\(name).onnx")
        let input = try NPYArray(contentsOf: dir + "/\(name).in.npy")
        #expect(input.shape == spec.tensors[spec.inputs[0]].logicalShape)
        interp.setInput(0, logical: try input.floats())
        interp.invoke()
        let want = try NPYArray(contentsOf: dir + "/\(name).out.npy")
        let got = interp.output(0)
        #expect(spec.tensors[spec.outputs[0]].logicalShape == want.shape, "\(name): output shape")
        let err = relativeError(got, try want.floats())
        #expect(err <= 1e-5, "\(name): max relative error \(err)")
    }
}
