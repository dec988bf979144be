import SwiftletCore

// What a detector's outputs mean and how they become detections: the decoder (anchors and box
// coding) and the suppression. Stored in the `.swl` (DETECTOR section, docs/format.md) and checked
// by `problem(...)` there and when a `Detector` is made, so bad parameters are an error naming the
// field, never a trap or an empty result.

/// MediaPipe's `SsdAnchorsCalculatorOptions`: one anchor grid per stride, `ceil(input / stride)`
/// cells a side; consecutive layers with the same stride share one grid (their anchors interleave per
/// cell). Explicit feature-map sizes and prior tables are not supported yet (#13).
public struct SSDAnchorOptions: Equatable, Sendable {
    /// The model input's size in pixels, which the strides divide.
    public var inputWidth: Int
    public var inputHeight: Int
    /// The anchor scale of the first and last layer (fractions of the input); linear in between.
    public var minScale: Float
    public var maxScale: Float
    /// One stride per layer (MediaPipe's `num_layers` is their count).
    public var strides: [Int]
    /// Aspect ratios (width / height) of the anchors of each layer.
    public var aspectRatios: [Float]
    /// Anchor centres sit at `(cell + offset) / grid` (0.5: the cell's centre).
    public var anchorOffsetX: Float = 0.5
    public var anchorOffsetY: Float = 0.5
    /// When > 0, one more anchor per layer at scale `sqrt(scale · next scale)` with this ratio.
    public var interpolatedScaleAspectRatio: Float = 1
    /// The first layer uses the three predefined anchors (scale 0.1 ratio 1, scale ratio 2 and 0.5).
    public var reduceBoxesInLowestLayer = false
    /// Every anchor is 1 × 1 (the regressors are then in input units, not anchor units).
    public var fixedAnchorSize = false

    public init(inputWidth: Int, inputHeight: Int, minScale: Float, maxScale: Float, strides: [Int], aspectRatios: [Float]) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.minScale = minScale
        self.maxScale = maxScale
        self.strides = strides
        self.aspectRatios = aspectRatios
    }
}

/// MediaPipe's `TensorsToDetectionsCalculatorOptions` for box decoding: where the box and keypoints
/// sit in each anchor's `numCoords` regressor values and how they scale.
public struct BoxCoding: Equatable, Sendable {
    /// Values per anchor in the boxes output (BlazeFace: 16 = 4 box + 6 keypoints × 2).
    public var numCoords = 4
    public var boxCoordOffset = 0
    public var keypointCoordOffset = 4
    public var keypointCount = 0
    public var valuesPerKeypoint = 2
    /// true: (x, y, w, h) and keypoints (x, y); false: (y, x, h, w) and (y, x), TFLite's SSD order.
    public var reverseOutputOrder = false
    /// Divisors of the raw centre offsets and sizes.
    public var xScale: Float = 1
    public var yScale: Float = 1
    public var wScale: Float = 1
    public var hScale: Float = 1
    /// Sizes are `exp(raw / scale) · anchor` (TFLite's SSD) instead of `raw / scale · anchor`.
    public var exponentialBoxSize = false

    public init() {}
}

/// How overlapping detections are reduced. Raw value stored in `.swl`: append only.
public enum NMSKind: UInt32, Equatable, Sendable {
    /// Greedy hard NMS within each class (the default for multi-class detectors).
    case hardPerClass = 0
    /// Greedy hard NMS across classes.
    case hardAgnostic = 1
    /// MediaPipe's weighted NMS: each kept box is the score-weighted mean of the boxes (and keypoints)
    /// that overlap it, across classes.
    case weighted = 2
    /// Soft-NMS (Bodla et al. 2017) within each class, linear decay: `score · (1 − IoU)` above the
    /// IoU threshold (format 2.3).
    case softLinear = 3
    /// Soft-NMS within each class, Gaussian decay: `score · exp(−IoU² / σ)` (format 2.3).
    case softGaussian = 4

    /// The name used on the command line and in docs.
    public var name: String {
        switch self {
        case .hardPerClass: return "hard"
        case .hardAgnostic: return "hard-agnostic"
        case .weighted: return "weighted"
        case .softLinear: return "soft-linear"
        case .softGaussian: return "soft-gaussian"
        }
    }

    public init?(name: String) {
        switch name {
        case "hard": self = .hardPerClass
        case "hard-agnostic": self = .hardAgnostic
        case "weighted": self = .weighted
        case "soft-linear": self = .softLinear
        case "soft-gaussian": self = .softGaussian
        default: return nil
        }
    }
}

/// Suppression and the thresholds around it; the model stores defaults, `run` flags override them.
public struct NMSOptions: Equatable, Sendable {
    public var kind: NMSKind = .hardPerClass
    /// Boxes scoring below this are dropped before anything else (MediaPipe's `min_score_thresh`).
    public var scoreThreshold: Float = 0.5
    /// A box is suppressed (or, weighted, merged) when its IoU with a kept one is above this.
    public var iouThreshold: Float = 0.3
    /// At most this many detections per image (NMS stops once it has them).
    public var maxDetections = 100
    /// Top-k before NMS: only the k best-scoring candidates take part (0: all).
    public var topK = 0
    /// Soft-NMS: the Gaussian decay's σ (`exp(−IoU² / σ)`); Bodla et al.'s default 0.5.
    public var softSigma: Float = 0.5
    /// Soft-NMS: a box whose decayed score falls below this is dropped; Bodla et al.'s 0.001.
    public var softScoreThreshold: Float = 0.001

    public init() {}

    /// The kind and the three thresholds a decoder preset sets (the soft-NMS settings at their defaults).
    public init(_ kind: NMSKind, score: Float, iou: Float, max: Int) {
        self.kind = kind
        scoreThreshold = score
        iouThreshold = iou
        maxDetections = max
    }

    /// What is wrong with these values, or nil.
    public func problem() -> String? {
        if !(scoreThreshold >= 0 && scoreThreshold <= 1) { return "score threshold \(scoreThreshold) is outside 0...1" }
        if !(iouThreshold >= 0 && iouThreshold <= 1) { return "IoU threshold \(iouThreshold) is outside 0...1" }
        if maxDetections < 1 || maxDetections > 1 << 20 { return "max detections \(maxDetections) is outside 1...\(1 << 20)" }
        if topK < 0 || topK > 1 << 20 { return "top-k \(topK) is outside 0...\(1 << 20) (0: all candidates)" }
        if !(softSigma > 0 && softSigma < 1e6) { return "soft-NMS sigma \(softSigma) must be positive and finite" }
        if !(softScoreThreshold >= 0 && softScoreThreshold <= 1) { return "soft-NMS score threshold \(softScoreThreshold) is outside 0...1" }
        return nil
    }
}

/// An SSD-style decoder: anchors, box coding and scores (MediaPipe's face and hand detectors, TFLite's
/// `TFLite_Detection_PostProcess` box coder).
public struct SSDDecoder: Equatable, Sendable {
    public var anchors: SSDAnchorOptions
    public var coding: BoxCoding
    /// Which graph outputs hold the regressors `[1, anchors, numCoords]` and the class scores
    /// `[1, anchors, classes]`.
    public var boxesOutput = 0
    public var scoresOutput = 1
    public var classCount = 1
    /// Scores are logits: `1 / (1 + exp(−x))`, after clipping to ±`scoreClipping` when it is > 0.
    public var sigmoidScores = true
    public var scoreClipping: Float = 0

    public init(anchors: SSDAnchorOptions, coding: BoxCoding) {
        self.anchors = anchors
        self.coding = coding
    }
}

/// The most anchors (or classes, keypoints) a stored decoder may declare; far above real models
/// (RetinaFace at 640×640 has 16,800 anchors), low enough that every buffer size fits easily.
public let maxAnchors = 1 << 20
public let maxClasses = 4096
public let maxKeypoints = 64
/// Layers (strides) and aspect ratios a DETECTOR record stores.
public let maxAnchorLayers = 16
public let maxAspectRatios = 8

extension SSDAnchorOptions {
    /// What is wrong with these options, or nil: the first bad field with its value.
    public func problem() -> String? {
        if inputWidth < 1 || inputHeight < 1 || inputWidth > 1 << 16 || inputHeight > 1 << 16 {
            return "anchor input size \(inputWidth)x\(inputHeight) is outside 1x1...65536x65536"
        }
        if strides.isEmpty { return "no anchor layers (strides is empty)" }
        if strides.count > maxAnchorLayers { return "\(strides.count) anchor layers, at most \(maxAnchorLayers)" }
        for (i, s) in strides.enumerated() where s < 1 || s > max(inputWidth, inputHeight) {
            return "stride \(s) of layer \(i) is outside 1...\(max(inputWidth, inputHeight)) (the input is \(inputWidth)x\(inputHeight))"
        }
        if aspectRatios.isEmpty && !reduceBoxesInLowestLayer && !(interpolatedScaleAspectRatio > 0) {
            return "aspect ratios is empty, so the layers have no anchors"
        }
        if aspectRatios.count > maxAspectRatios { return "\(aspectRatios.count) aspect ratios, at most \(maxAspectRatios)" }
        for r in aspectRatios where !(r > 0 && r < 1e6) { return "aspect ratio \(r) must be positive and finite" }
        if !(interpolatedScaleAspectRatio >= 0 && interpolatedScaleAspectRatio < 1e6) {
            return "interpolated scale aspect ratio \(interpolatedScaleAspectRatio) must be 0 (none) or positive"
        }
        if !(minScale > 0 && minScale < 1e6) || !(maxScale > 0 && maxScale < 1e6) || minScale > maxScale {
            return "anchor scales \(minScale)...\(maxScale) must be positive, finite and increasing"
        }
        if !(anchorOffsetX >= 0 && anchorOffsetX <= 1) || !(anchorOffsetY >= 0 && anchorOffsetY <= 1) {
            return "anchor offsets (\(anchorOffsetX), \(anchorOffsetY)) are outside 0...1"
        }
        if anchorCount > maxAnchors { return "the options make \(anchorCount) anchors, at most \(maxAnchors)" }
        return nil
    }

    /// Anchors per cell of the grid that starts at layer `first`, and the layer after that grid.
    func anchorsPerCell(from first: Int) -> (perCell: Int, next: Int) {
        var last = first
        var n = 0
        while last < strides.count && strides[last] == strides[first] {
            if last == 0 && reduceBoxesInLowestLayer {
                n += 3
            } else {
                n += aspectRatios.count + (interpolatedScaleAspectRatio > 0 ? 1 : 0)
            }
            last += 1
        }
        return (n, last)
    }

    /// How many anchors these options generate (without generating them).
    public var anchorCount: Int {
        var total = 0
        var layer = 0
        while layer < strides.count {
            let (perCell, next) = anchorsPerCell(from: layer)
            let s = max(strides[layer], 1)
            let gw = (inputWidth + s - 1) / s, gh = (inputHeight + s - 1) / s
            total += gw * gh * perCell
            if total > maxAnchors { return total }
            layer = next
        }
        return total
    }
}

extension BoxCoding {
    /// What is wrong with this coding, or nil.
    public func problem() -> String? {
        if numCoords < 4 || numCoords > 1024 { return "\(numCoords) values per anchor, expected 4...1024" }
        if boxCoordOffset < 0 || boxCoordOffset + 4 > numCoords {
            return "box offset \(boxCoordOffset) + 4 values exceed the \(numCoords) values per anchor"
        }
        if keypointCount < 0 || keypointCount > maxKeypoints { return "\(keypointCount) keypoints, at most \(maxKeypoints)" }
        if keypointCount > 0 {
            if valuesPerKeypoint < 2 || valuesPerKeypoint > 8 { return "\(valuesPerKeypoint) values per keypoint, expected 2...8" }
            if keypointCoordOffset < 0 || keypointCoordOffset + keypointCount * valuesPerKeypoint > numCoords {
                return "keypoints at offset \(keypointCoordOffset) (\(keypointCount) × \(valuesPerKeypoint) values) exceed the \(numCoords) values per anchor"
            }
        }
        for (name, v) in [("x", xScale), ("y", yScale), ("w", wScale), ("h", hScale)] where !(v.isFinite && v != 0) {
            return "\(name) scale \(v) must be finite and non-zero"
        }
        return nil
    }
}

extension SSDDecoder {
    /// What is wrong with this decoder, or nil.
    public func problem() -> String? {
        if let p = anchors.problem() { return p }
        if let p = coding.problem() { return p }
        if classCount < 1 || classCount > maxClasses { return "\(classCount) classes, expected 1...\(maxClasses)" }
        if boxesOutput < 0 || scoresOutput < 0 || boxesOutput == scoresOutput || boxesOutput > 63 || scoresOutput > 63 {
            return "boxes output \(boxesOutput) and scores output \(scoresOutput) must be two different outputs"
        }
        if !(scoreClipping >= 0 && scoreClipping < 1e30) { return "score clipping \(scoreClipping) must be 0 (none) or positive" }
        return nil
    }

    /// What is wrong with the model's outputs for this decoder, or nil: each output named with its
    /// shape and what the decoder expects. `outputs` are the graph outputs' names and logical shapes.
    public func outputProblem(_ outputs: [(name: String, shape: [Int])]) -> String? {
        let n = anchors.anchorCount
        if boxesOutput >= outputs.count || scoresOutput >= outputs.count {
            return "the decoder reads outputs \(boxesOutput) (boxes) and \(scoresOutput) (scores), the model has \(outputs.count) output\(outputs.count == 1 ? "" : "s")"
        }
        func check(_ i: Int, _ role: String, _ last: Int) -> String? {
            let (name, shape) = outputs[i]
            let ok = (shape.count == 3 && shape[0] == 1 && shape[1] == n && shape[2] == last)
                || (shape.count == 2 && shape[0] == n && shape[1] == last)
            if ok { return nil }
            return "output \(i) '\(name)' (\(role)) has shape \(Shape.text(shape)), the SSD decoder expects [1, \(n), \(last)] (\(n) anchors × \(last) \(role.same("boxes") ? "values" : "classes"))"
        }
        return check(boxesOutput, "boxes", coding.numCoords) ?? check(scoresOutput, "scores", classCount)
    }
}

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

/// The YOLO heads of the standard ultralytics ONNX exports, which decode the boxes inside the graph:
/// one output of `N` boxes, each `cx, cy, w, h` in input pixels followed by the scores.
///
/// - YOLOv5 (`objectness`): `[1, N, 5 + C]`, the objectness then `C` class scores, both already
///   sigmoided; a box's score is objectness × its best class score.
/// - YOLOv8 (no objectness): `[1, 4 + C, N]` (`channelMajor`, ultralytics' default) or `[1, N, 4 + C]`,
///   `C` class scores; a box's score is its best class score.
///
/// One label per box (its best class; multi-label is not done). Boxes are divided by the input size,
/// then mapped to the source like every decoder's. Raw heads (per-level grids before the in-graph
/// decode) are not supported yet (#13).
public struct YOLODecoder: Equatable, Sendable {
    /// The model input's size in pixels, which the box values are in.
    public var inputWidth: Int
    public var inputHeight: Int
    /// Boxes in the output (`N`: 25,200 for YOLOv5 at 640×640, 8,400 for YOLOv8).
    public var boxCount: Int
    /// Class scores per box (`C`: 80 for COCO).
    public var classCount: Int
    /// A YOLOv5 objectness value after the box (score = objectness × class score).
    public var objectness: Bool
    /// Values are channel-major, `[1, values, N]` (YOLOv8's export), instead of `[1, N, values]`.
    public var channelMajor: Bool
    /// Which graph output holds the boxes and scores.
    public var output = 0

    public init(inputWidth: Int, inputHeight: Int, boxCount: Int, classCount: Int, objectness: Bool, channelMajor: Bool) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.boxCount = boxCount
        self.classCount = classCount
        self.objectness = objectness
        self.channelMajor = channelMajor
    }

    /// Values per box: 4 box values, the objectness (v5), `C` class scores.
    public var valuesPerBox: Int { 4 + (objectness ? 1 : 0) + classCount }

    /// `yolov5` or `yolov8`.
    public var name: String { objectness ? "yolov5" : "yolov8" }

    /// What is wrong with these parameters, or nil: the first bad field with its value.
    public func problem() -> String? {
        if inputWidth < 1 || inputHeight < 1 || inputWidth > 1 << 16 || inputHeight > 1 << 16 {
            return "YOLO input size \(inputWidth)x\(inputHeight) is outside 1x1...65536x65536"
        }
        if classCount < 1 || classCount > maxClasses { return "\(classCount) classes, expected 1...\(maxClasses)" }
        if boxCount < 1 || boxCount > maxAnchors { return "\(boxCount) boxes, expected 1...\(maxAnchors)" }
        if output < 0 || output > 63 { return "output index \(output) is outside 0...63" }
        return nil
    }

    /// The output shape this decoder reads.
    public var expectedShape: [Int] { channelMajor ? [1, valuesPerBox, boxCount] : [1, boxCount, valuesPerBox] }

    /// What is wrong with the model's outputs for this decoder, or nil: the output named with its shape
    /// and what the decoder expects.
    public func outputProblem(_ outputs: [(name: String, shape: [Int])]) -> String? {
        if output >= outputs.count {
            return "the decoder reads output \(output), the model has \(outputs.count) output\(outputs.count == 1 ? "" : "s")"
        }
        let (outName, shape) = outputs[output]
        let e = expectedShape
        if shape.count == 3 && shape[0] == 1 && shape[1] == e[1] && shape[2] == e[2] { return nil }
        if shape.count == 2 && shape[0] == e[1] && shape[1] == e[2] { return nil }
        let what = channelMajor ? "\(valuesPerBox) values × \(boxCount) boxes" : "\(boxCount) boxes × \(valuesPerBox) values"
        return "output \(output) '\(outName)' has shape \(Shape.text(shape)), the \(name) decoder expects \(Shape.text(e)) (\(what): cx, cy, w, h\(objectness ? ", objectness" : ""), \(classCount) class scores)"
    }

    /// The decoder for an output of shape `shape` (`[1, N, 5 + C]` for v5; `[1, 4 + C, N]` or
    /// `[1, N, 4 + C]` for v8, channel-major when the first is the smaller), or what is wrong with it. A
    /// v5 shape with fewer boxes than values per box is refused: it is channel-major, as v8 exports are.
    public static func fitting(objectness: Bool, shape: [Int], inputWidth: Int, inputHeight: Int) -> (YOLODecoder?, String?) {
        let v = objectness ? "yolov5" : "yolov8"
        let s = shape.count == 3 && shape[0] == 1 ? Array(shape[1...]) : shape
        let expects = objectness ? "[1, N, 5 + C]" : "[1, 4 + C, N] or [1, N, 4 + C]"
        guard s.count == 2, s[0] > 0, s[1] > 0 else { return (nil, "has shape \(Shape.text(shape)), the \(v) decoder expects \(expects)") }
        let head = objectness ? 5 : 4
        if objectness && s[0] < s[1] {
            return (nil, "has shape \(Shape.text(shape)): fewer boxes (\(s[0])) than values per box (\(s[1])), the \(v) decoder expects \(expects); for a YOLOv8 export pass --decoder yolov8")
        }
        let channelMajor = !objectness && s[0] < s[1]
        let n = channelMajor ? s[1] : s[0], values = channelMajor ? s[0] : s[1]
        if values <= head {
            return (nil, "has shape \(Shape.text(shape)): \(values) values per box leave no class scores, the \(v) decoder expects \(expects) with C >= 1")
        }
        return (YOLODecoder(inputWidth: inputWidth, inputHeight: inputHeight, boxCount: n, classCount: values - head, objectness: objectness,
                            channelMajor: channelMajor), nil)
    }
}

/// What a build without the YOLO decoders (SWIFTLET_NO_YOLO, `yolo = no` in a board profile) says of one.
public let yoloLeftOut = "this build was made without the YOLO decoders (SWIFTLET_NO_YOLO)"

/// The decoder a detection model's outputs need. Raw value of `kind` stored in `.swl` (POSTPROCESS
/// bytes 8–11): append only.
/// The decoder kind a `.swl` stores (POSTPROCESS bytes 8–11 and DETECTOR bytes 0–3); the raw values
/// are the stored numbers.
public enum DecoderKind: UInt32, Sendable {
    case none = 0
    /// SSD anchors.
    case ssd = 1
    case mtcnnStage = 2
    /// RetinaFace priors.
    case retinaFace = 3
    case yolo = 4
}

public enum Decoder: Equatable, Sendable {
    /// No decoding: the outputs are printed as tensors.
    case none
    /// SSD anchors and centre-size box coding (BlazeFace).
    case ssd(SSDDecoder)
    /// Reserved since format 1.0 for an MTCNN cascade stage; stored, not decoded yet (#13).
    case mtcnnStage
    /// RetinaFace priors, variances and five landmarks (format 2.3).
    case retinaFace(RetinaFaceDecoder)
    /// YOLOv5 or YOLOv8 boxes decoded in the graph (format 2.4).
    case yolo(YOLODecoder)

    /// Which decoder, as stored.
    public var kind: DecoderKind {
        switch self {
        case .none: return .none
        case .ssd: return .ssd
        case .mtcnnStage: return .mtcnnStage
        case .retinaFace: return .retinaFace
        case .yolo: return .yolo
        }
    }

    /// `none`, `ssd`, `mtcnn-stage`, `retinaface`, `yolov5`, `yolov8`.
    public var name: String {
        switch self {
        case .none: return "none"
        case .ssd: return "ssd"
        case .mtcnnStage: return "mtcnn-stage"
        case .retinaFace: return "retinaface"
        case .yolo(let d): return d.name
        }
    }

    /// The graph outputs a decoder reads: boxes, scores and landmarks (-1: none).
    public var boxesOutput: Int {
        switch self {
        case .ssd(let d): return d.boxesOutput
        case .retinaFace(let d): return d.boxesOutput
        case .yolo(let d): return d.output
        case .none, .mtcnnStage: return -1
        }
    }

    /// (YOLO: the one output that holds boxes and scores.)
    public var scoresOutput: Int {
        switch self {
        case .ssd(let d): return d.scoresOutput
        case .retinaFace(let d): return d.scoresOutput
        case .yolo(let d): return d.output
        case .none, .mtcnnStage: return -1
        }
    }

    public var landmarksOutput: Int {
        if case .retinaFace(let d) = self, d.landmarkCount > 0 { return d.landmarksOutput }
        return -1
    }

    /// What is wrong with this decoder, or nil (`none` and `mtcnnStage` have no parameters).
    public func problem() -> String? {
        switch self {
        case .ssd(let d): return d.problem()
        #if SWIFTLET_NO_RETINAFACE
        case .retinaFace: return retinaFaceLeftOut
        #else
        case .retinaFace(let d): return d.problem()
        #endif
        #if SWIFTLET_NO_YOLO
        case .yolo: return yoloLeftOut
        #else
        case .yolo(let d): return d.problem()
        #endif
        case .none, .mtcnnStage: return nil
        }
    }

    /// What is wrong with the model's outputs for this decoder, or nil.
    public func outputProblem(_ outputs: [(name: String, shape: [Int])]) -> String? {
        switch self {
        case .ssd(let d): return d.outputProblem(outputs)
        #if SWIFTLET_NO_RETINAFACE
        case .retinaFace: return retinaFaceLeftOut
        #else
        case .retinaFace(let d): return d.outputProblem(outputs)
        #endif
        #if SWIFTLET_NO_YOLO
        case .yolo: return yoloLeftOut
        #else
        case .yolo(let d): return d.outputProblem(outputs)
        #endif
        case .none, .mtcnnStage: return nil
        }
    }
}

/// Preset decoders for models Swiftlet ships.
public enum DecoderPreset {
    /// MediaPipe's short-range face detector (`face_detection_short_range.pbtxt`): 896 anchors from
    /// strides 8, 16, 16, 16 on 128×128, regressors (x, y, w, h) / 128 plus six keypoints, sigmoid scores
    /// clipped at ±100, score threshold 0.5, weighted NMS at IoU 0.3.
    public static var blazeFace: (decoder: SSDDecoder, nms: NMSOptions) {
        var a = SSDAnchorOptions(inputWidth: 128, inputHeight: 128, minScale: 0.1484375, maxScale: 0.75, strides: [8, 16, 16, 16],
                                 aspectRatios: [1])
        a.interpolatedScaleAspectRatio = 1
        a.fixedAnchorSize = true
        var c = BoxCoding()
        c.numCoords = 16
        c.boxCoordOffset = 0
        c.keypointCoordOffset = 4
        c.keypointCount = 6
        c.valuesPerKeypoint = 2
        c.reverseOutputOrder = true
        c.xScale = 128
        c.yScale = 128
        c.wScale = 128
        c.hScale = 128
        var d = SSDDecoder(anchors: a, coding: c)
        d.boxesOutput = 0
        d.scoresOutput = 1
        d.classCount = 1
        d.sigmoidScores = true
        d.scoreClipping = 100
        return (d, NMSOptions(.weighted, score: 0.5, iou: 0.3, max: 100))
    }

    /// The project's handwritten-digits detector (`tools/models/digits_det.py`): 672 anchors from
    /// strides 8, 16, 32 on 128×128 (scales 0.1, 0.25, 0.4, each with one ratio-1 anchor and one at the
    /// interpolated scale), regressors (x, y, w, h) with TFLite's SSD coding (centres / 10, sizes
    /// `exp(raw / 5)`, in anchor units), ten sigmoid scores (digits 0–9), score threshold 0.3, hard NMS
    /// per class at IoU 0.45.
    public static var digitsSSD: (decoder: SSDDecoder, nms: NMSOptions) {
        var a = SSDAnchorOptions(inputWidth: 128, inputHeight: 128, minScale: 0.1, maxScale: 0.4, strides: [8, 16, 32], aspectRatios: [1])
        a.interpolatedScaleAspectRatio = 1
        var c = BoxCoding()
        c.numCoords = 4
        c.reverseOutputOrder = true
        c.xScale = 10
        c.yScale = 10
        c.wScale = 5
        c.hScale = 5
        c.exponentialBoxSize = true
        var d = SSDDecoder(anchors: a, coding: c)
        d.boxesOutput = 0
        d.scoresOutput = 1
        d.classCount = 10
        d.sigmoidScores = true
        return (d, NMSOptions(.hardPerClass, score: 0.3, iou: 0.45, max: 100))
    }

    /// Pytorch_Retinaface's `cfg_mnet` (the mobilenet0.25 RetinaFace): steps 8, 16, 32, min sizes
    /// [16, 32], [64, 128], [256, 512], variances 0.1 and 0.2, no clipping, five landmarks, softmax
    /// scores; outputs (loc, conf, landms) in that order; at 640×640, 16,800 priors (the importer sets
    /// the model's own input size). NMS defaults: hard at IoU 0.4 as its `detect.py`, score 0.5, at
    /// most 750 detections (its `keep_top_k`).
    public static var retinaFace: (decoder: RetinaFaceDecoder, nms: NMSOptions) {
        let d = RetinaFaceDecoder(inputWidth: 640, inputHeight: 640, steps: [8, 16, 32], minSizes: [[16, 32], [64, 128], [256, 512]])
        return (d, NMSOptions(.hardPerClass, score: 0.5, iou: 0.4, max: 750))
    }

    /// The standard ultralytics YOLOv5 ONNX export at 640×640 (`[1, 25200, 85]`: 80 COCO classes); the
    /// importer takes N, C and the input size from the model. NMS defaults as ultralytics'
    /// `non_max_suppression`: hard per class, score 0.25, IoU 0.45, at most 300 detections.
    public static var yolov5: (decoder: YOLODecoder, nms: NMSOptions) {
        let d = YOLODecoder(inputWidth: 640, inputHeight: 640, boxCount: 25200, classCount: 80, objectness: true, channelMajor: false)
        return (d, NMSOptions(.hardPerClass, score: 0.25, iou: 0.45, max: 300))
    }

    /// The standard ultralytics YOLOv8 ONNX export at 640×640 (`[1, 84, 8400]`, channel-major); the
    /// importer takes N, C, the layout and the input size from the model. NMS defaults as ultralytics'
    /// predictor: hard per class, score 0.25, IoU 0.7, at most 300 detections.
    public static var yolov8: (decoder: YOLODecoder, nms: NMSOptions) {
        let d = YOLODecoder(inputWidth: 640, inputHeight: 640, boxCount: 8400, classCount: 80, objectness: false, channelMajor: true)
        return (d, NMSOptions(.hardPerClass, score: 0.25, iou: 0.7, max: 300))
    }

    /// The preset's names for `swiftlet import --decoder`.
    public static let names = ["blazeface", "digits-ssd", "retinaface", "yolov5", "yolov8"]

    public static func named(_ name: String) -> (decoder: Decoder, nms: NMSOptions)? {
        switch name {
        case "blazeface": return (.ssd(blazeFace.decoder), blazeFace.nms)
        case "digits-ssd": return (.ssd(digitsSSD.decoder), digitsSSD.nms)
        case "retinaface": return (.retinaFace(retinaFace.decoder), retinaFace.nms)
        case "yolov5": return (.yolo(yolov5.decoder), yolov5.nms)
        case "yolov8": return (.yolo(yolov8.decoder), yolov8.nms)
        default: return nil
        }
    }
}
