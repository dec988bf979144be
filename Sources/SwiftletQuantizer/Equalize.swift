import SwiftletCore
import SwiftletModel
import SwiftletPlanner

// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
// Bias Correction"). In a convolution A feeding a convolution B, output channel i of A can be divided
// by s_i > 0 and the weights of B that read channel i multiplied by s_i without changing B's output,
// as long as the activation between them commutes with positive scaling (ReLU does; ReLU6 does not).
// Choosing s_i = sqrt(r1_i / r2_i), with r1_i the range of A's channel-i weights and r2_i the range of
// B's weights reading channel i, gives both the same range sqrt(r1_i · r2_i): per-channel int8 then
// wastes fewer levels on channels whose weights are tiny next to their neighbours' (MobileNetV2's
// depthwise layers are the classic case).

/// What `equalize` changed.
public struct EqualizationSummary: Sendable {
    public var pairs = 0
    /// ReLU6 (clip 0…6) activations between equalized layers replaced by ReLU, as the paper does.
    public var relu6Replaced = 0
    /// The equalized float model's outputs against the original's (dB) on the calibration images:
    /// what the ReLU6 replacement alone costs, before any quantization.
    public var floatSQNR: Double = 0
}

/// The pairs (A, B) of conv nodes where B reads A's output and nothing else does, A's fused activation
/// is none, ReLU or a clip from 0, and B's input channels are A's output channels.
func equalizablePairs(_ spec: ModelSpec) -> [(Int, Int)] {
    var consumers = [[Int]](repeating: [], count: spec.tensors.count)
    var weightUses = [Int](repeating: 0, count: spec.tensors.count)
    for (i, n) in spec.nodes.enumerated() {
        for t in n.inputs {
            consumers[t].append(i)
            if spec.tensors[t].storage == .weights { weightUses[t] += 1 }
        }
    }
    var pairs: [(Int, Int)] = []
    for (a, na) in spec.nodes.enumerated() {
        guard case .conv2d(let ca) = na.op else { continue }
        let y = na.outputs[0]
        guard consumers[y].count == 1, !spec.outputs.contains(y) else { continue }
        let b = consumers[y][0]
        guard case .conv2d = spec.nodes[b].op, spec.nodes[b].inputs[0] == y else { continue }
        let act = ca.activation
        guard act.kind == .none || act.kind == .relu || (act.kind == .clip && act.a == 0) else { continue }
        // Weights and biases used by these nodes alone, so scaling them changes nothing else.
        let ts = [na.inputs[1], na.inputs[2], spec.nodes[b].inputs[1]]
        guard ts.allSatisfy({ spec.tensors[$0].storage == .weights && weightUses[$0] == 1 }) else { continue }
        pairs.append((a, b))
    }
    return pairs
}

/// The float spec with every equalizable pair equalized (`rounds` passes, since equalizing (A, B)
/// changes B's ranges for (B, C)). `spec.weights` must hold the weights bytes.
public func equalize(_ spec: ModelSpec, rounds: Int = 4) -> (ModelSpec, EqualizationSummary) {
    var out = spec
    var summary = EqualizationSummary()
    let pairs = equalizablePairs(spec)
    summary.pairs = pairs.count
    func read(_ t: Int) -> [Float] { out.weightFloats(t) }
    func write(_ t: Int, _ v: [Float]) {
        let off = out.tensors[t].offset
        for (i, x) in v.enumerated() {
            let bits = x.bitPattern
            for k in 0..<4 { out.weights[off + 4 * i + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
        }
    }
    // ReLU6 between the pair becomes ReLU (the clip would have to scale per channel).
    for (a, _) in pairs {
        if case .conv2d(var c) = out.nodes[a].op, c.activation.kind == .clip {
            c.activation = Activation(.relu)
            out.nodes[a].op = .conv2d(c)
            summary.relu6Replaced += 1
        }
    }
    for _ in 0..<rounds {
        for (a, b) in pairs {
            guard case .conv2d(let cb) = out.nodes[b].op else { continue }
            let wa = out.nodes[a].inputs[1], ba = out.nodes[a].inputs[2], wbT = out.nodes[b].inputs[1]
            var w1 = read(wa), b1 = read(ba), w2 = read(wbT)
            let shapeA = out.tensors[wa].shape, shapeB = out.tensors[wbT].shape
            let channels = shapeA[0]
            let perA = w1.count / max(channels, 1)
            let (ob, cgB) = (shapeB[0], shapeB[3])
            let tapsB = shapeB[1] * shapeB[2]
            let ocg = ob / cb.groups
            // r2[i]: the largest |w| among B's weights that read input channel i.
            var r2 = [Float](repeating: 0, count: channels)
            for o in 0..<ob {
                let g = o / ocg
                for t in 0..<tapsB {
                    for ci in 0..<cgB {
                        let i = g * cgB + ci
                        if i < channels { r2[i] = max(r2[i], abs(w2[(o * tapsB + t) * cgB + ci])) }
                    }
                }
            }
            var s = [Float](repeating: 1, count: channels)
            for i in 0..<channels {
                var r1: Float = 0
                for k in 0..<perA { r1 = max(r1, abs(w1[i * perA + k])) }
                if r1 > 0 && r2[i] > 0 { s[i] = (r1 / r2[i]).squareRoot() }
            }
            for i in 0..<channels {
                for k in 0..<perA { w1[i * perA + k] /= s[i] }
                b1[i] /= s[i]
            }
            for o in 0..<ob {
                let g = o / ocg
                for t in 0..<tapsB {
                    for ci in 0..<cgB {
                        let i = g * cgB + ci
                        if i < channels { w2[(o * tapsB + t) * cgB + ci] *= s[i] }
                    }
                }
            }
            write(wa, w1)
            write(ba, b1)
            write(wbT, w2)
        }
    }
    return (out, summary)
}
