import CSwiftletSys
import SwiftletCore

// Detection post-processing: raw detector outputs → scored, suppressed boxes in source-image pixels.
//
// Per frame, for N anchors, C classes and K keypoints:
//   1. scores: per anchor the best class (clipped logit → sigmoid when the decoder says so); anchors
//      below the score threshold, or with a NaN or infinite raw score, go no further     O(N·C)
//   2. decoding, for the m anchors left only: MediaPipe's centre-size coding (below), box and
//      keypoints; a non-finite or negative-size box is skipped and counted                O(m·K)
//      (RetinaFace priors: Pytorch_Retinaface's decode/decode_landm, softmax or sigmoid scores;
//      YOLO: boxes already decoded in input pixels, objectness × best class or best class alone)
//   3. ordering: a binary heap over the m candidates (score descending, anchor index ascending on
//      ties, so the order is total and every platform agrees), built once in O(m); hard NMS pops
//      only until it holds `maxDetections`, weighted and soft NMS pop all; top-k pops at most k
//                                                                                      O(m + k log m)
//   4. suppression: hard (per class or across classes) compares each popped box with the k kept;
//      weighted (MediaPipe's) merges every remaining box whose IoU with the best is above the
//      threshold into a score-weighted mean of boxes and keypoints                        O(m·k);
//      soft-NMS (Bodla et al.) decays the scores of the remaining boxes of the best's class, linear
//      or Gaussian, and drops those below the soft threshold                             O(m) each
//   5. mapping: input-relative coordinates → source pixels through the pre-processing's inverse
//      (`ImageMapping`), boxes clipped to the image; a box wholly outside is dropped and counted.
//
// Every buffer is sized at init from the anchor count: `detect` allocates nothing.

/// One detection, in source-image pixels (x right, y down; `x0 ≤ x1`, `y0 ≤ y1`, inside the image).
public struct Detection: Equatable, Sendable {
    /// Class index (the model's label order).
    public var label: Int
    public var score: Float
    public var x0: Float
    public var y0: Float
    public var x1: Float
    public var y1: Float

    public init(label: Int, score: Float, x0: Float, y0: Float, x1: Float, y1: Float) {
        self.label = label
        self.score = score
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }
}

/// What one `detect` call saw besides its detections.
public struct DetectionStats: Equatable, Sendable {
    /// Anchors whose best score reached the threshold.
    public var candidates = 0
    /// Anchors skipped for a NaN or infinite raw score or decoded box value.
    public var nonFinite = 0
    /// Candidates skipped for a negative width or height.
    public var invalidBoxes = 0
    /// Detections dropped after NMS because their box lies wholly outside the image.
    public var outsideImage = 0

    public init() {}
}

/// How model-input pixels map back to source-image pixels: the inverse of the pre-processing.
///
/// `source x = scaleX · input x + offsetX` (likewise y), in continuous pixel coordinates (pixel i
/// spans [i, i + 1)), which is how Pillow's and Swiftlet's resize place samples.
public struct ImageMapping: Equatable, Sendable {
    public var inputWidth: Int
    public var inputHeight: Int
    public var sourceWidth: Int
    public var sourceHeight: Int
    public var scaleX: Float
    public var scaleY: Float
    public var offsetX: Float
    public var offsetY: Float

    /// The whole source stretched to the input (`resize` mode 0).
    public static func stretch(sourceWidth: Int, sourceHeight: Int, inputWidth: Int, inputHeight: Int) -> ImageMapping {
        ImageMapping(inputWidth: inputWidth, inputHeight: inputHeight, sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                     scaleX: Float(Double(sourceWidth) / Double(inputWidth)), scaleY: Float(Double(sourceHeight) / Double(inputHeight)),
                     offsetX: 0, offsetY: 0)
    }

    /// The source resized to `resizedWidth`×`resizedHeight`, then the input cut out at (`cropLeft`,
    /// `cropTop`) of the resized image (`resize` mode 1: shorter side, centre crop).
    public static func crop(sourceWidth: Int, sourceHeight: Int, resizedWidth: Int, resizedHeight: Int, cropLeft: Int, cropTop: Int,
                            inputWidth: Int, inputHeight: Int) -> ImageMapping {
        let sx = Double(sourceWidth) / Double(resizedWidth), sy = Double(sourceHeight) / Double(resizedHeight)
        return ImageMapping(inputWidth: inputWidth, inputHeight: inputHeight, sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                            scaleX: Float(sx), scaleY: Float(sy), offsetX: Float(Double(cropLeft) * sx), offsetY: Float(Double(cropTop) * sy))
    }

    /// The source scaled by one factor to fit inside the input, centred, the rest padded (letterbox, as
    /// MediaPipe's `ImageToTensorCalculator` with `keep_aspect_ratio`). Not a pre-processing mode of
    /// `.swl` yet; here for the camera path (#13).
    public static func letterbox(sourceWidth: Int, sourceHeight: Int, inputWidth: Int, inputHeight: Int) -> ImageMapping {
        let s = min(Double(inputWidth) / Double(sourceWidth), Double(inputHeight) / Double(sourceHeight))
        let padX = (Double(inputWidth) - Double(sourceWidth) * s) / 2, padY = (Double(inputHeight) - Double(sourceHeight) * s) / 2
        return ImageMapping(inputWidth: inputWidth, inputHeight: inputHeight, sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                            scaleX: Float(1 / s), scaleY: Float(1 / s), offsetX: Float(-padX / s), offsetY: Float(-padY / s))
    }

    /// The same mapping for a source that was decoded at `decodedWidth`×`decodedHeight` (a JPEG
    /// decoded at a reduced DCT scale) but is `sourceWidth`×`sourceHeight` in its file.
    public func scaled(fromWidth decodedWidth: Int, fromHeight decodedHeight: Int, toWidth width: Int, toHeight height: Int) -> ImageMapping {
        if decodedWidth == width && decodedHeight == height { return self }
        let fx = Float(Double(width) / Double(decodedWidth)), fy = Float(Double(height) / Double(decodedHeight))
        return ImageMapping(inputWidth: inputWidth, inputHeight: inputHeight, sourceWidth: width, sourceHeight: height,
                            scaleX: scaleX * fx, scaleY: scaleY * fy, offsetX: offsetX * fx, offsetY: offsetY * fy)
    }
}

/// What a detector hands to printing and drawing: its last detections and their keypoints.
public protocol DetectionResults {
    /// The last detections, best first, in source-image pixels.
    var detections: [Detection] { get }
    /// Keypoints per detection.
    var keypointCount: Int { get }
    /// Keypoint `j` of detection `i`, in source pixels.
    func keypoint(_ i: Int, _ j: Int) -> (x: Float, y: Float)
}

/// Decodes and suppresses one SSD-style, RetinaFace-style or YOLO detector's outputs, with every
/// buffer sized at init.
///
/// Not thread-safe: one `Detector` per stream. Results stay valid until the next `detect`.
public final class Detector: DetectionResults {
    /// The decoder (`.ssd`, `.retinaFace` or `.yolo`).
    public let decoder: Decoder
    /// The model's stored thresholds and NMS kind (`run` flags may pass others to `detect`).
    public let defaults: NMSOptions
    /// The anchors (SSD) or priors (RetinaFace), centre and size as fractions of the input (YOLO:
    /// none, its boxes come decoded).
    public let anchors: [Anchor]
    /// The last `detect`'s detections, best first.
    public internal(set) var detections: [Detection] = []
    /// The last `detect`'s keypoints: `keypointCount` (x, y) pairs per detection, in source pixels.
    public internal(set) var keypoints: [Float] = []
    public internal(set) var stats = DetectionStats()

    let n: Int
    let k: Int
    let classCount: Int
    let ssd: SSDDecoder?
    let retina: RetinaFaceDecoder?
    let yolo: YOLODecoder?
    var score: [Float]
    var label: [Int32]
    var box: [Float]  // 4 per anchor: xmin, ymin, xmax, ymax, input-relative
    var point: [Float]  // 2·K per anchor: x, y, input-relative
    var heap: [Int32]  // candidate anchors; a max-heap, then popped in order
    var ranked: [Int32]  // candidates in order, as popped
    var kept: [Int32]  // anchors kept (hard NMS)
    var alive: [Bool]  // per ranked position (weighted NMS)
    var merged: [Float]  // 4 + 2·K sums (weighted NMS)
    var decayed: [Float]  // per ranked position: the current score (soft-NMS)

    /// Makes a detector for an SSD decoder (see `init(decoder:defaults:outputs:)`).
    public convenience init(decoder: SSDDecoder, defaults: NMSOptions, outputs: [(name: String, shape: [Int])]? = nil) throws(SwiftletError) {
        try self.init(decoder: .ssd(decoder), defaults: defaults, outputs: outputs)
    }

    /// Makes a detector for `decoder`, checking its parameters and, when given, the model's outputs
    /// (names and logical shapes); errors name the field or output and what is expected.
    public init(decoder: Decoder, defaults: NMSOptions, outputs: [(name: String, shape: [Int])]? = nil) throws(SwiftletError) {
        switch decoder {
        case .ssd, .retinaFace, .yolo: break
        case .none, .mtcnnStage:
            throw .invalidModel(detail: "detection decoder '\(decoder.name)' is not decoded by Detector",
                                hint: "import the model with --decoder blazeface, retinaface, yolov5 or yolov8")
        }
        if let p = decoder.problem() { throw .invalidModel(detail: "detection decoder: \(p)", hint: "re-import the model with valid decoder options") }
        if let p = defaults.problem() { throw .invalidModel(detail: "detection defaults: \(p)", hint: "re-import the model with valid thresholds") }
        if let outputs, let p = decoder.outputProblem(outputs) {
            throw .invalidModel(detail: "detection decoder: \(p)", hint: "import the model with the decoder that matches its outputs")
        }
        self.decoder = decoder
        self.defaults = defaults
        var ssd: SSDDecoder? = nil, retina: RetinaFaceDecoder? = nil, yolo: YOLODecoder? = nil
        var anchors: [Anchor] = []
        var k = 0, classCount = 1
        var n = 0
        switch decoder {
        case .ssd(let d):
            ssd = d
            anchors = try d.anchors.generateAnchors()
            k = d.coding.keypointCount
            classCount = d.classCount
        case .retinaFace(let d):
            #if SWIFTLET_NO_RETINAFACE
            _ = d
            throw leftOutDecoder(retinaFaceLeftOut)
            #else
            retina = d
            anchors = try d.generatePriors()
            k = d.landmarkCount
            #endif
        case .yolo(let d):
            #if SWIFTLET_NO_YOLO
            _ = d
            throw leftOutDecoder(yoloLeftOut)
            #else
            yolo = d
            n = d.boxCount
            classCount = d.classCount
            #endif
        case .none, .mtcnnStage:
            break
        }
        self.ssd = ssd
        self.retina = retina
        self.yolo = yolo
        self.anchors = anchors
        self.k = k
        self.classCount = classCount
        if yolo == nil { n = anchors.count }
        self.n = n
        score = [Float](repeating: 0, count: n)
        label = [Int32](repeating: 0, count: n)
        box = [Float](repeating: 0, count: 4 * n)
        point = [Float](repeating: 0, count: 2 * k * n)
        heap = [Int32](repeating: 0, count: n)
        ranked = [Int32](repeating: 0, count: n)
        kept = [Int32](repeating: 0, count: n)
        alive = [Bool](repeating: false, count: n)
        decayed = [Float](repeating: 0, count: n)
        merged = [Float](repeating: 0, count: 4 + 2 * k)
        detections.reserveCapacity(n)
        keypoints = [Float](repeating: 0, count: 2 * k * n)
        keypoints.removeAll(keepingCapacity: true)
    }

    /// Keypoints per detection.
    public var keypointCount: Int { k }

    /// Keypoint `j` of detection `i`, in source pixels.
    public func keypoint(_ i: Int, _ j: Int) -> (x: Float, y: Float) {
        (keypoints[(i * k + j) * 2], keypoints[(i * k + j) * 2 + 1])
    }

    /// Classes the scores output holds (1 for RetinaFace: faces).
    public var classes: Int { classCount }

    /// Decodes the boxes and scores outputs (`anchors.count × numCoords` and `anchors.count × classes`
    /// floats, row-major; RetinaFace: `× 4`, `× 2` and the landmarks `× 2·landmarks`) into
    /// `detections`, mapped through `mapping`; returns their count. `decode`, then `suppress`.
    @discardableResult
    public func detect(boxes: UnsafePointer<Float>, scores: UnsafePointer<Float>, landmarks: UnsafePointer<Float>? = nil, mapping: ImageMapping,
                       options: NMSOptions? = nil) -> Int {
        let o = options ?? defaults
        let m = decode(boxes: boxes, scores: scores, landmarks: landmarks, threshold: o.scoreThreshold)
        return suppress(candidates: m, mapping: mapping, options: o)
    }

    /// Steps 1–2 alone: scores, the candidates at or above `threshold`, their boxes and keypoints;
    /// returns the candidate count for `suppress`. Resets `stats`.
    public func decode(boxes: UnsafePointer<Float>, scores: UnsafePointer<Float>, landmarks: UnsafePointer<Float>? = nil, threshold: Float) -> Int {
        stats = DetectionStats()
        #if !SWIFTLET_NO_RETINAFACE
        if let retina {
            precondition(retina.landmarkCount == 0 || landmarks != nil, "Detector.decode: a RetinaFace decoder with landmarks needs the landmarks output")
            return selectAndDecodeRetinaFace(retina, boxes, scores, landmarks, threshold: threshold)
        }
        #endif
        #if !SWIFTLET_NO_YOLO
        if let yolo { return selectAndDecodeYOLO(yolo, boxes, threshold: threshold) }
        #endif
        return selectAndDecode(boxes, scores, threshold: threshold)
    }

    /// Steps 3–5 alone, on the `m` candidates the last `decode` left: ordering, suppression, mapping
    /// into `detections`; returns their count. Once per `decode` (it consumes the candidates).
    @discardableResult
    public func suppress(candidates m: Int, mapping: ImageMapping, options o: NMSOptions) -> Int {
        precondition(m >= 0 && m <= n, "Detector.suppress: more candidates than anchors")
        detections.removeAll(keepingCapacity: true)
        keypoints.removeAll(keepingCapacity: true)
        let maxOut = min(max(o.maxDetections, 1), n)
        heap.withUnsafeMutableBufferPointer { h in
            score.withUnsafeBufferPointer { s in buildHeap(h.baseAddress!, m, s.baseAddress!) }
        }
        // Top-k before NMS: only the k best candidates take part (0: all).
        let limit = o.topK > 0 ? min(o.topK, m) : m
        switch o.kind {
        case .hardPerClass, .hardAgnostic: hardNMS(m, limit, o, maxOut, mapping)
        case .weighted: weightedNMS(m, limit, o, maxOut, mapping)
        case .softLinear, .softGaussian: softNMS(m, limit, o, maxOut, mapping)
        }
        return detections.count
    }

    // MARK: - Scores and decoding

    /// Steps 1–2: fills `heap[0..<m]` with the candidates, their `score`, `label`, `box`, `point`.
    private func selectAndDecode(_ raw: UnsafePointer<Float>, _ rawScores: UnsafePointer<Float>, threshold: Float) -> Int {
        let decoder = ssd!
        let c = decoder.classCount
        let sigmoid = decoder.sigmoidScores
        let clip = decoder.scoreClipping
        let cd = decoder.coding
        // A logit below `cut` gives a score below the threshold by far more than rounding (0.01 in
        // logit space); only for thresholds where that holds (1e-6...0.999), else every score is computed.
        let cut: Float = threshold >= 1e-6 && threshold <= 0.999 ? logf(threshold / (1 - threshold)) - 0.01 : -Float.infinity
        // One sigmoid class whose clipped logit is below `cut` exactly when the raw one is: a finite raw
        // logit below `cut` is passed over before anything else (one comparison per anchor).
        let quick = c == 1 && sigmoid && cut > -Float.infinity && (clip == 0 || -clip < cut)
        let cutV = SIMD8<Float>(repeating: cut), negInf = SIMD8<Float>(repeating: -Float.infinity)
        var m = 0
        var start = 0
        while start < n {
            let end = min(start + 8, n)
            // Eight anchors at once: all finite and clearly below, so none is a candidate or counted.
            if quick && end - start == 8 {
                let v = UnsafeRawPointer(rawScores + start).loadUnaligned(as: SIMD8<Float>.self)
                if all((v .< cutV) .& (v .> negInf)) {
                    start = end
                    continue
                }
            }
            for i in start..<end {
                if quick {
                    let r = rawScores[i]
                    if r < cut && r > -Float.infinity { continue }
                }
                var best = -Float.greatestFiniteMagnitude
                var bestClass = -1
                var finite = true
                for j in 0..<c {
                    var s = rawScores[i * c + j]
                    if !s.isFinite {
                        finite = false
                        break
                    }
                    if sigmoid {
                        if clip > 0 { s = min(max(s, -clip), clip) }
                        // Clearly below the threshold: no exp (this class cannot make a candidate).
                        if s < cut { continue }
                        s = 1 / (1 + expf(-s))
                    }
                    if best < s {
                        best = s
                        bestClass = j
                    }
                }
                if !finite {
                    stats.nonFinite += 1
                    continue
                }
                if !(best >= threshold) || bestClass < 0 { continue }
                stats.candidates += 1
                let a = anchors[i]
                let b = raw + i * cd.numCoords + cd.boxCoordOffset
                var cx = b[1], cy = b[0], h = b[2], w = b[3]
                if cd.reverseOutputOrder {
                    cx = b[0]
                    cy = b[1]
                    w = b[2]
                    h = b[3]
                }
                cx = cx / cd.xScale * a.w + a.x
                cy = cy / cd.yScale * a.h + a.y
                if cd.exponentialBoxSize {
                    h = expf(h / cd.hScale) * a.h
                    w = expf(w / cd.wScale) * a.w
                } else {
                    h = h / cd.hScale * a.h
                    w = w / cd.wScale * a.w
                }
                var ok = cx.isFinite && cy.isFinite && w.isFinite && h.isFinite
                let kp = raw + i * cd.numCoords + cd.keypointCoordOffset
                for j in 0..<k {
                    var px = kp[j * cd.valuesPerKeypoint + 1], py = kp[j * cd.valuesPerKeypoint]
                    if cd.reverseOutputOrder {
                        px = kp[j * cd.valuesPerKeypoint]
                        py = kp[j * cd.valuesPerKeypoint + 1]
                    }
                    px = px / cd.xScale * a.w + a.x
                    py = py / cd.yScale * a.h + a.y
                    if !(px.isFinite && py.isFinite) { ok = false }
                    point[(i * k + j) * 2] = px
                    point[(i * k + j) * 2 + 1] = py
                }
                if !ok {
                    stats.nonFinite += 1
                    continue
                }
                if w < 0 || h < 0 {
                    stats.invalidBoxes += 1
                    continue
                }
                box[4 * i] = cx - w / 2
                box[4 * i + 1] = cy - h / 2
                box[4 * i + 2] = cx + w / 2
                box[4 * i + 3] = cy + h / 2
                score[i] = best
                label[i] = Int32(bestClass)
                heap[m] = Int32(i)
                m += 1
            }
            start = end
        }
        return m
    }

    /// Steps 1–2 for RetinaFace priors: the face score from the two logits (softmax) or one
    /// (sigmoid); a prior whose logit is clearly below the threshold's is rejected without an `exp`
    /// (a margin of 0.01 in logit space, far above rounding, keeps the decision that of the computed
    /// score); then Pytorch_Retinaface's `decode` and `decode_landm` for the candidates only.
    private func selectAndDecodeRetinaFace(_ d: RetinaFaceDecoder, _ loc: UnsafePointer<Float>, _ conf: UnsafePointer<Float>,
                                           _ landm: UnsafePointer<Float>?, threshold: Float) -> Int {
        let two = d.scoreValues == 2
        let v0 = d.centerVariance, v1 = d.sizeVariance
        let cut: Float = threshold >= 1e-6 && threshold <= 0.999 ? logf(threshold / (1 - threshold)) - 0.01 : -Float.infinity
        let k = self.k
        var m = 0
        var nonFinite = 0, candidates = 0
        anchors.withUnsafeBufferPointer { ab in
            box.withUnsafeMutableBufferPointer { bb in
                point.withUnsafeMutableBufferPointer { pb in
                    score.withUnsafeMutableBufferPointer { sb in
                        label.withUnsafeMutableBufferPointer { lb in
                            heap.withUnsafeMutableBufferPointer { hb in
                                let a = ab.baseAddress!, bx = bb.baseAddress!, sc = sb.baseAddress!, hp = hb.baseAddress!
                                for i in 0..<n {
                                    let logit = two ? conf[2 * i + 1] - conf[2 * i] : conf[i]
                                    if !logit.isFinite {
                                        // NaN or an infinite logit (or two): skipped and counted.
                                        nonFinite += 1
                                        continue
                                    }
                                    if logit < cut { continue }
                                    let s = 1 / (1 + expf(-logit))
                                    if !(s >= threshold) { continue }
                                    candidates += 1
                                    let p = a[i]
                                    let l = loc + 4 * i
                                    let cx = p.x + l[0] * v0 * p.w, cy = p.y + l[1] * v0 * p.h
                                    let w = p.w * expf(l[2] * v1), h = p.h * expf(l[3] * v1)
                                    var ok = cx.isFinite && cy.isFinite && w.isFinite && h.isFinite
                                    if let landm, k > 0 {
                                        let lm = landm + 2 * k * i
                                        let pt = pb.baseAddress! + 2 * k * i
                                        for j in 0..<k {
                                            let px = p.x + lm[2 * j] * v0 * p.w, py = p.y + lm[2 * j + 1] * v0 * p.h
                                            if !(px.isFinite && py.isFinite) { ok = false }
                                            pt[2 * j] = px
                                            pt[2 * j + 1] = py
                                        }
                                    }
                                    if !ok {
                                        nonFinite += 1
                                        continue
                                    }
                                    let x0 = cx - w / 2, y0 = cy - h / 2
                                    bx[4 * i] = x0
                                    bx[4 * i + 1] = y0
                                    bx[4 * i + 2] = x0 + w
                                    bx[4 * i + 3] = y0 + h
                                    sc[i] = s
                                    lb[i] = 0
                                    hp[m] = Int32(i)
                                    m += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        stats.nonFinite += nonFinite
        stats.candidates += candidates
        return m
    }

    #if !SWIFTLET_NO_YOLO
    /// Steps 1–2 for a YOLO output (boxes decoded in the graph): value `v` of box `i` is at
    /// `v · N + i` (channel-major) or `i · values + v`. The score is the best class score, times the
    /// objectness for YOLOv5 (a box whose objectness is below the threshold goes no further, as class
    /// scores are at most 1); ties go to the lower class. A non-finite score or box value is skipped and
    /// counted; a negative width or height is counted invalid. Boxes are divided by the input size.
    private func selectAndDecodeYOLO(_ d: YOLODecoder, _ out: UnsafePointer<Float>, threshold: Float) -> Int {
        let c = d.classCount
        let first = d.objectness ? 5 : 4
        let rowStep = d.channelMajor ? 1 : d.valuesPerBox  // from one box to the next
        let valueStep = d.channelMajor ? n : 1  // from one value to the next within a box
        let iw = 1 / Float(d.inputWidth), ih = 1 / Float(d.inputHeight)
        var m = 0
        var nonFinite = 0, invalid = 0, candidates = 0
        box.withUnsafeMutableBufferPointer { bb in
            score.withUnsafeMutableBufferPointer { sb in
                label.withUnsafeMutableBufferPointer { lb in
                    heap.withUnsafeMutableBufferPointer { hb in
                        let bx = bb.baseAddress!, sc = sb.baseAddress!, lab = lb.baseAddress!, hp = hb.baseAddress!
                        for i in 0..<n {
                            let p = out + i * rowStep
                            var obj: Float = 1
                            if d.objectness {
                                obj = p[4 * valueStep]
                                if !obj.isFinite {
                                    nonFinite += 1
                                    continue
                                }
                                if !(obj >= threshold) { continue }
                            }
                            var best = -Float.infinity
                            var bestClass = -1
                            var finite = true
                            var q = p + first * valueStep
                            for j in 0..<c {
                                let r = q.pointee
                                q += valueStep
                                if !r.isFinite {
                                    finite = false
                                    break
                                }
                                let s = obj * r  // obj is 1 without objectness: exact
                                if s > best {
                                    best = s
                                    bestClass = j
                                }
                            }
                            if !finite {
                                nonFinite += 1
                                continue
                            }
                            if !(best >= threshold) || bestClass < 0 { continue }
                            candidates += 1
                            let cx = p[0], cy = p[valueStep], w = p[2 * valueStep], h = p[3 * valueStep]
                            if !(cx.isFinite && cy.isFinite && w.isFinite && h.isFinite) {
                                nonFinite += 1
                                continue
                            }
                            if w < 0 || h < 0 {
                                invalid += 1
                                continue
                            }
                            bx[4 * i] = (cx - w / 2) * iw
                            bx[4 * i + 1] = (cy - h / 2) * ih
                            bx[4 * i + 2] = (cx + w / 2) * iw
                            bx[4 * i + 3] = (cy + h / 2) * ih
                            sc[i] = best
                            lab[i] = Int32(bestClass)
                            hp[m] = Int32(i)
                            m += 1
                        }
                    }
                }
            }
        }
        stats.nonFinite += nonFinite
        stats.invalidBoxes += invalid
        stats.candidates += candidates
        return m
    }
    #endif
}

/// The error for a decoder this build was made without (`detail`: which, and the flag that left it out).
func leftOutDecoder(_ detail: String) -> SwiftletError {
    .invalidModel(detail: detail, hint: "use a build with it (rpi5, qemu-arm64, the host swiftlet)")
}
