import SwiftletCore

/// Pytorch_Retinaface's `PriorBox` and `decode`/`decode_landm` (RetinaFace, and detectors that reuse
/// its head: one prior per min size per cell, boxes, two-class scores and five landmarks per prior).
///
/// Priors: per level `l` with step `s`, a grid of `ceil(H / s)` × `ceil(W / s)` cells (row-major), and
/// in each cell one prior per min size `m` of that level: centre `((x + 0.5) · s / W, (y + 0.5) · s / H)`,
/// size `(m / W, m / H)`, optionally clipped to 0…1. Boxes: centre `prior.c + loc.xy · v0 · prior.wh`,
/// size `prior.wh · exp(loc.wh · v1)`; landmarks `prior.c + landm · v0 · prior.wh`; the face score is
/// the softmax of the two class logits' second (or the sigmoid of one logit with `sigmoidScores`).
public struct RetinaFaceDecoder: Equatable, Sendable {
    /// The model input's size in pixels (the priors are fractions of it).
    public var inputWidth: Int
    public var inputHeight: Int
    /// One step (feature stride) per level.
    public var steps: [Int]
    /// The prior sizes of each level, in input pixels (`min_sizes`); one list per step.
    public var minSizes: [[Float]]
    /// Priors clipped to 0…1 (`clip` in Pytorch_Retinaface's config).
    public var clip = false
    /// The centre and size variances (`variance`: 0.1, 0.2).
    public var centerVariance: Float = 0.1
    public var sizeVariance: Float = 0.2
    /// Which graph outputs hold the box offsets `[1, priors, 4]`, the class logits `[1, priors, 2]`
    /// (`[1, priors, 1]` with `sigmoidScores`) and the landmark offsets `[1, priors, 2 · landmarks]`.
    public var boxesOutput = 0
    public var scoresOutput = 1
    public var landmarksOutput = 2
    /// Landmarks per prior (5: eyes, nose, mouth corners); 0: the model has no landmarks output.
    public var landmarkCount = 5
    /// One face logit per prior through a sigmoid, instead of a softmax over (background, face).
    public var sigmoidScores = false

    public init(inputWidth: Int, inputHeight: Int, steps: [Int], minSizes: [[Float]]) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.steps = steps
        self.minSizes = minSizes
    }
}

/// What a build without the RetinaFace decoder (SWIFTLET_NO_RETINAFACE, `retinaface = no` in a board
/// profile: the rpi4 binary, to stay under 1 MB) says of one.
public let retinaFaceLeftOut = "this build was made without the RetinaFace decoder (SWIFTLET_NO_RETINAFACE)"

/// Levels and prior sizes a RetinaFace DETECTOR record stores (docs/format.md).
public let maxRetinaFaceLevels = 8
public let maxRetinaFaceMinSizes = 14

extension RetinaFaceDecoder {
    /// Score values per prior in the scores output.
    public var scoreValues: Int { sigmoidScores ? 1 : 2 }

    /// How many priors these parameters make (without making them); more than `maxAnchors` when the
    /// sizes are out of range.
    public var priorCount: Int {
        var total = 0
        for (l, s) in steps.enumerated() where s > 0 && l < minSizes.count {
            let gw = (inputWidth + s - 1) / s, gh = (inputHeight + s - 1) / s
            total += gw * gh * minSizes[l].count
            if total > maxAnchors { return total }
        }
        return total
    }

    /// What is wrong with these parameters, or nil: the first bad field with its value.
    public func problem() -> String? {
        if inputWidth < 1 || inputHeight < 1 || inputWidth > 1 << 16 || inputHeight > 1 << 16 {
            return "RetinaFace input size \(inputWidth)x\(inputHeight) is outside 1x1...65536x65536"
        }
        if steps.isEmpty { return "no prior levels (steps is empty)" }
        if steps.count > maxRetinaFaceLevels { return "\(steps.count) prior levels, at most \(maxRetinaFaceLevels)" }
        if minSizes.count != steps.count { return "\(steps.count) steps but \(minSizes.count) lists of min sizes; one list per step" }
        for (l, s) in steps.enumerated() where s < 1 || s > max(inputWidth, inputHeight) {
            return "step \(s) of level \(l) is outside 1...\(max(inputWidth, inputHeight)) (the input is \(inputWidth)x\(inputHeight))"
        }
        var total = 0
        for (l, sizes) in minSizes.enumerated() {
            if sizes.isEmpty { return "level \(l) (step \(steps[l])) has no min sizes, so it has no priors" }
            for m in sizes where !(m > 0 && m < 1e6) { return "min size \(m) of level \(l) must be positive and finite" }
            total += sizes.count
        }
        if total > maxRetinaFaceMinSizes { return "\(total) min sizes in all, at most \(maxRetinaFaceMinSizes)" }
        if !(centerVariance > 0 && centerVariance < 1e6) || !(sizeVariance > 0 && sizeVariance < 1e6) {
            return "variances (\(centerVariance), \(sizeVariance)) must be positive and finite"
        }
        if landmarkCount < 0 || landmarkCount > maxKeypoints { return "\(landmarkCount) landmarks, at most \(maxKeypoints)" }
        let outs = landmarkCount > 0 ? [boxesOutput, scoresOutput, landmarksOutput] : [boxesOutput, scoresOutput]
        for o in outs where o < 0 || o > 63 { return "output index \(o) is outside 0...63" }
        if boxesOutput == scoresOutput || (landmarkCount > 0 && (landmarksOutput == boxesOutput || landmarksOutput == scoresOutput)) {
            return "boxes output \(boxesOutput), scores output \(scoresOutput) and landmarks output \(landmarksOutput) must be different outputs"
        }
        if priorCount > maxAnchors { return "the parameters make \(priorCount) priors, at most \(maxAnchors)" }
        return nil
    }

    /// What is wrong with the model's outputs for this decoder, or nil: each output named with its
    /// shape and what the decoder expects.
    public func outputProblem(_ outputs: [(name: String, shape: [Int])]) -> String? {
        let n = priorCount
        var roles: [(Int, String, Int)] = [(boxesOutput, "boxes", 4), (scoresOutput, "scores", scoreValues)]
        if landmarkCount > 0 { roles.append((landmarksOutput, "landmarks", 2 * landmarkCount)) }
        for (i, role, _) in roles where i >= outputs.count {
            return "the decoder reads output \(i) (\(role)), the model has \(outputs.count) output\(outputs.count == 1 ? "" : "s")"
        }
        for (i, role, last) in roles {
            let (name, shape) = outputs[i]
            let ok = (shape.count == 3 && shape[0] == 1 && shape[1] == n && shape[2] == last)
                || (shape.count == 2 && shape[0] == n && shape[1] == last)
            if ok { continue }
            return "output \(i) '\(name)' (\(role)) has shape \(Shape.text(shape)), the RetinaFace decoder expects [1, \(n), \(last)] (\(n) priors × \(last) values)"
        }
        return nil
    }

    /// The priors in the model's output order (Pytorch_Retinaface's `PriorBox.forward`), as fractions
    /// of the input. Cost: one pass over the priors, at load.
    public func generatePriors() throws(SwiftletError) -> [Anchor] {
        if let p = problem() { throw .invalidModel(detail: "RetinaFace priors: \(p)", hint: "re-import with valid decoder options") }
        var out: [Anchor] = []
        out.reserveCapacity(priorCount)
        let iw = Float(inputWidth), ih = Float(inputHeight)
        for (l, s) in steps.enumerated() {
            let gw = (inputWidth + s - 1) / s, gh = (inputHeight + s - 1) / s
            for y in 0..<gh {
                for x in 0..<gw {
                    for m in minSizes[l] {
                        var a = Anchor(x: (Float(x) + 0.5) * Float(s) / iw, y: (Float(y) + 0.5) * Float(s) / ih, w: m / iw, h: m / ih)
                        if clip {
                            a.x = min(max(a.x, 0), 1)
                            a.y = min(max(a.y, 0), 1)
                            a.w = min(max(a.w, 0), 1)
                            a.h = min(max(a.h, 0), 1)
                        }
                        out.append(a)
                    }
                }
            }
        }
        return out
    }
}
