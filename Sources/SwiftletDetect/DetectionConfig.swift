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
    public var boxesOutput: Int { boxesAndScoresOutputs.boxes }

    /// (YOLO: the one output that holds boxes and scores.)
    public var scoresOutput: Int { boxesAndScoresOutputs.scores }

    private var boxesAndScoresOutputs: (boxes: Int, scores: Int) {
        switch self {
        case .ssd(let d): return (d.boxesOutput, d.scoresOutput)
        case .retinaFace(let d): return (d.boxesOutput, d.scoresOutput)
        case .yolo(let d): return (d.output, d.output)
        case .none, .mtcnnStage: return (-1, -1)
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
