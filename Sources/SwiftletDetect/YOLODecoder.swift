import SwiftletCore

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
