import SwiftletCore
import SwiftletDetect
import SwiftletModel

/// The model's detector, or nil when it has no decoder Swiftlet runs (raw outputs are printed then).
public func makeDetector(_ spec: ModelSpec) throws(SwiftletError) -> Detector? {
    guard spec.postprocess.kind == .detection else { return nil }
    switch spec.postprocess.decoder {
    case .ssd, .retinaFace, .yolo: break
    case .none, .mtcnnStage: return nil
    }
    var outs: [(name: String, shape: [Int])] = []
    for o in spec.outputs { outs.append((spec.tensors[o].name, spec.tensors[o].logicalShape)) }
    return try Detector(decoder: spec.postprocess.decoder, defaults: spec.postprocess.nms, outputs: outs)
}
