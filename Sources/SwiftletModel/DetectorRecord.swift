import SwiftletCore
import SwiftletDetect

// The DETECTOR record (format 2.1, section kind 11, one record of 256 bytes): an SSD decoder's
// (decoder kind 1), since 2.3 a RetinaFace decoder's (kind 3) or since 2.4 a YOLO decoder's (kind 4)
// parameters and the NMS defaults. Byte layout in docs/format.md; every field is checked on read
// (`SSDDecoder.problem`, `RetinaFaceDecoder.problem`, `YOLODecoder.problem`, `NMSOptions.problem`, the
// outputs' shapes).

/// The decoder kind stored at `value` (a u32 field), or nil when this build does not know it.
func storedKind(_ value: Int) -> DecoderKind? {
    DecoderKind(rawValue: UInt32(truncatingIfNeeded: value))
}

/// Flag bits of the DETECTOR record (bytes 16–19).
enum DetectorFlag {
    static let sigmoidScores: UInt32 = 1
    static let reverseOutputOrder: UInt32 = 2
    static let exponentialBoxSize: UInt32 = 4
    static let fixedAnchorSize: UInt32 = 8
    static let reduceBoxesInLowestLayer: UInt32 = 16
    static let all: UInt32 = 31
}

/// The DETECTOR record for `decoder` (the writer's `checkWritable` has checked the list sizes).
func encodeDetectorRecord(_ d: SSDDecoder, _ nms: NMSOptions) -> [UInt8] {
    var w = ByteWriter()
    let c = d.coding, a = d.anchors
    w.u32(DecoderKind.ssd.rawValue)  // as POSTPROCESS
    w.u32(UInt32(clamping: d.boxesOutput))
    w.u32(UInt32(clamping: d.scoresOutput))
    w.u32(UInt32(clamping: d.classCount))
    var flags: UInt32 = 0
    if d.sigmoidScores { flags |= DetectorFlag.sigmoidScores }
    if c.reverseOutputOrder { flags |= DetectorFlag.reverseOutputOrder }
    if c.exponentialBoxSize { flags |= DetectorFlag.exponentialBoxSize }
    if a.fixedAnchorSize { flags |= DetectorFlag.fixedAnchorSize }
    if a.reduceBoxesInLowestLayer { flags |= DetectorFlag.reduceBoxesInLowestLayer }
    w.u32(flags)  // 16
    w.f32(d.scoreClipping)  // 20
    w.u32(UInt32(clamping: c.numCoords))  // 24
    w.u32(UInt32(clamping: c.boxCoordOffset))  // 28
    w.u32(UInt32(clamping: c.keypointCoordOffset))  // 32
    w.u32(UInt32(clamping: c.keypointCount))  // 36
    w.u32(UInt32(clamping: c.valuesPerKeypoint))  // 40
    w.f32(c.xScale)  // 44
    w.f32(c.yScale)
    w.f32(c.wScale)
    w.f32(c.hScale)
    w.u32(nms.kind.rawValue)  // 60
    w.f32(nms.scoreThreshold)  // 64
    w.f32(nms.iouThreshold)  // 68
    w.u32(UInt32(clamping: nms.maxDetections))  // 72
    w.u32(UInt32(clamping: a.inputWidth))  // 76
    w.u32(UInt32(clamping: a.inputHeight))  // 80
    w.f32(a.minScale)  // 84
    w.f32(a.maxScale)  // 88
    w.f32(a.anchorOffsetX)  // 92
    w.f32(a.anchorOffsetY)  // 96
    w.f32(a.interpolatedScaleAspectRatio)  // 100
    w.u32(UInt32(clamping: a.strides.count))  // 104
    for i in 0..<maxAnchorLayers { w.u32(i < a.strides.count ? UInt32(clamping: a.strides[i]) : 0) }  // 108..<172
    w.u32(UInt32(clamping: a.aspectRatios.count))  // 172
    for i in 0..<maxAspectRatios { w.f32(i < a.aspectRatios.count ? a.aspectRatios[i] : 0) }  // 176..<208
    encodeNMSExtras(nms, into: &w)  // 208..<220
    w.zeros(SWLFormat.detectorRecordSize - w.bytes.count)
    return w.bytes
}

/// Flag bits of a RetinaFace DETECTOR record (bytes 16–19).
enum RetinaFaceFlag {
    static let sigmoidScores: UInt32 = 1
    static let clip: UInt32 = 2
    static let all: UInt32 = 3
}

/// The NMS defaults at bytes 60–75, shared by every decoder kind.
func encodeNMS(_ nms: NMSOptions, into w: inout ByteWriter) {
    w.u32(nms.kind.rawValue)  // 60
    w.f32(nms.scoreThreshold)  // 64
    w.f32(nms.iouThreshold)  // 68
    w.u32(UInt32(clamping: nms.maxDetections))  // 72
}

/// Top-k before NMS and the soft-NMS parameters at bytes 208–219 (2.3; zero in older files: top-k 0
/// is all candidates, σ 0 reads as the default 0.5, and soft-NMS kinds did not exist).
func encodeNMSExtras(_ nms: NMSOptions, into w: inout ByteWriter) {
    w.u32(UInt32(clamping: nms.topK))  // 208
    w.f32(nms.softSigma)  // 212
    w.f32(nms.softScoreThreshold)  // 216
}

/// The NMS options a DETECTOR record stores at bytes 60..<76 (the kind already read from byte 60)
/// and 208..<220.
func decodeNMS(_ kind: NMSKind, u32: (Int) -> Int, f32: (Int) -> Float) -> NMSOptions {
    var n = NMSOptions()
    n.kind = kind
    n.scoreThreshold = f32(64)
    n.iouThreshold = f32(68)
    n.maxDetections = u32(72)
    decodeNMSExtras(&n, u32: u32, f32: f32)
    return n
}

func decodeNMSExtras(_ n: inout NMSOptions, u32: (Int) -> Int, f32: (Int) -> Float) {
    n.topK = u32(208)
    let sigma = f32(212)
    n.softSigma = sigma == 0 ? NMSOptions().softSigma : sigma
    n.softScoreThreshold = f32(216)
}

/// The DETECTOR record for a RetinaFace decoder (2.3; the writer's `checkWritable` has checked the
/// list sizes).
func encodeRetinaFaceRecord(_ d: RetinaFaceDecoder, _ nms: NMSOptions) -> [UInt8] {
    var w = ByteWriter()
    w.u32(DecoderKind.retinaFace.rawValue)  // as POSTPROCESS
    w.u32(UInt32(clamping: d.boxesOutput))  // 4
    w.u32(UInt32(clamping: d.scoresOutput))  // 8
    w.u32(UInt32(clamping: d.landmarksOutput))  // 12
    var flags: UInt32 = 0
    if d.sigmoidScores { flags |= RetinaFaceFlag.sigmoidScores }
    if d.clip { flags |= RetinaFaceFlag.clip }
    w.u32(flags)  // 16
    w.u32(UInt32(clamping: d.landmarkCount))  // 20
    w.f32(d.centerVariance)  // 24
    w.f32(d.sizeVariance)  // 28
    w.zeros(60 - w.bytes.count)
    encodeNMS(nms, into: &w)  // 60..<76
    w.u32(UInt32(clamping: d.inputWidth))  // 76
    w.u32(UInt32(clamping: d.inputHeight))  // 80
    w.zeros(104 - w.bytes.count)
    w.u32(UInt32(clamping: d.steps.count))  // 104
    for i in 0..<maxRetinaFaceLevels { w.u32(i < d.steps.count ? UInt32(clamping: d.steps[i]) : 0) }  // 108..<140
    for i in 0..<maxRetinaFaceLevels { w.bytes.append(i < d.minSizes.count ? UInt8(clamping: d.minSizes[i].count) : 0) }  // 140..<148
    var sizes: [Float] = []
    for l in d.minSizes { sizes.append(contentsOf: l) }
    for i in 0..<maxRetinaFaceMinSizes { w.f32(i < sizes.count ? sizes[i] : 0) }  // 148..<204
    w.zeros(208 - w.bytes.count)
    encodeNMSExtras(nms, into: &w)  // 208..<220
    w.zeros(SWLFormat.detectorRecordSize - w.bytes.count)
    return w.bytes
}

/// Decodes a RetinaFace DETECTOR record, or nil when a count or flag is out of range.
func decodeRetinaFaceRecord(u32: (Int) -> Int, f32: (Int) -> Float, u8: (Int) -> Int) -> (RetinaFaceDecoder, NMSOptions)? {
    let levels = u32(104)
    guard storedKind(u32(0)) == .retinaFace, levels <= maxRetinaFaceLevels, UInt32(u32(16)) & ~RetinaFaceFlag.all == 0,
          let kind = NMSKind(rawValue: UInt32(u32(60))) else { return nil }
    var steps: [Int] = []
    var minSizes: [[Float]] = []
    var at = 148
    for l in 0..<levels {
        steps.append(u32(108 + 4 * l))
        let count = u8(140 + l)
        if at + 4 * count > 204 { return nil }
        var sizes: [Float] = []
        for _ in 0..<count {
            sizes.append(f32(at))
            at += 4
        }
        minSizes.append(sizes)
    }
    let flags = UInt32(u32(16))
    var d = RetinaFaceDecoder(inputWidth: u32(76), inputHeight: u32(80), steps: steps, minSizes: minSizes)
    d.boxesOutput = u32(4)
    d.scoresOutput = u32(8)
    d.landmarksOutput = u32(12)
    d.sigmoidScores = flags & RetinaFaceFlag.sigmoidScores != 0
    d.clip = flags & RetinaFaceFlag.clip != 0
    d.landmarkCount = u32(20)
    d.centerVariance = f32(24)
    d.sizeVariance = f32(28)
    return (d, decodeNMS(kind, u32: u32, f32: f32))
}

/// Flag bits of a YOLO DETECTOR record (bytes 16–19).
enum YOLOFlag {
    static let objectness: UInt32 = 1
    static let channelMajor: UInt32 = 2
    static let all: UInt32 = 3
}

/// The DETECTOR record for a YOLO decoder (2.4).
func encodeYOLORecord(_ d: YOLODecoder, _ nms: NMSOptions) -> [UInt8] {
    var w = ByteWriter()
    w.u32(DecoderKind.yolo.rawValue)  // as POSTPROCESS
    w.u32(UInt32(clamping: d.output))  // 4
    w.u32(0)  // 8: reserved
    w.u32(UInt32(clamping: d.classCount))  // 12
    var flags: UInt32 = 0
    if d.objectness { flags |= YOLOFlag.objectness }
    if d.channelMajor { flags |= YOLOFlag.channelMajor }
    w.u32(flags)  // 16
    w.u32(UInt32(clamping: d.boxCount))  // 20
    w.zeros(60 - w.bytes.count)
    encodeNMS(nms, into: &w)  // 60..<76
    w.u32(UInt32(clamping: d.inputWidth))  // 76
    w.u32(UInt32(clamping: d.inputHeight))  // 80
    w.zeros(208 - w.bytes.count)
    encodeNMSExtras(nms, into: &w)  // 208..<220
    w.zeros(SWLFormat.detectorRecordSize - w.bytes.count)
    return w.bytes
}

/// Decodes a YOLO DETECTOR record, or nil when the kind, a flag or the NMS kind is out of range.
func decodeYOLORecord(u32: (Int) -> Int, f32: (Int) -> Float) -> (YOLODecoder, NMSOptions)? {
    let flags = UInt32(truncatingIfNeeded: u32(16))
    guard storedKind(u32(0)) == .yolo, flags & ~YOLOFlag.all == 0, let kind = NMSKind(rawValue: UInt32(truncatingIfNeeded: u32(60))) else { return nil }
    var d = YOLODecoder(inputWidth: u32(76), inputHeight: u32(80), boxCount: u32(20), classCount: u32(12),
                        objectness: flags & YOLOFlag.objectness != 0, channelMajor: flags & YOLOFlag.channelMajor != 0)
    d.output = u32(4)
    return (d, decodeNMS(kind, u32: u32, f32: f32))
}

/// Decodes a DETECTOR record; `u32` and `f32` read the file at a record-relative offset. Returns the
/// decoder and defaults, or what is wrong (a count out of range, a flag from a newer Swiftlet); the
/// caller checks the values themselves with `problem()`.
func decodeDetectorRecord(u32: (Int) -> Int, f32: (Int) -> Float) -> (SSDDecoder, NMSOptions)? {
    let layers = u32(104), ratios = u32(172)
    guard storedKind(u32(0)) == .ssd, layers <= maxAnchorLayers, ratios <= maxAspectRatios, UInt32(u32(16)) & ~DetectorFlag.all == 0,
          let kind = NMSKind(rawValue: UInt32(u32(60))) else { return nil }
    let flags = UInt32(u32(16))
    var strides: [Int] = []
    for i in 0..<layers { strides.append(u32(108 + 4 * i)) }
    var aspect: [Float] = []
    for i in 0..<ratios { aspect.append(f32(176 + 4 * i)) }
    var a = SSDAnchorOptions(inputWidth: u32(76), inputHeight: u32(80), minScale: f32(84), maxScale: f32(88), strides: strides,
                             aspectRatios: aspect)
    a.anchorOffsetX = f32(92)
    a.anchorOffsetY = f32(96)
    a.interpolatedScaleAspectRatio = f32(100)
    a.fixedAnchorSize = flags & DetectorFlag.fixedAnchorSize != 0
    a.reduceBoxesInLowestLayer = flags & DetectorFlag.reduceBoxesInLowestLayer != 0
    var c = BoxCoding()
    c.numCoords = u32(24)
    c.boxCoordOffset = u32(28)
    c.keypointCoordOffset = u32(32)
    c.keypointCount = u32(36)
    c.valuesPerKeypoint = u32(40)
    c.xScale = f32(44)
    c.yScale = f32(48)
    c.wScale = f32(52)
    c.hScale = f32(56)
    c.reverseOutputOrder = flags & DetectorFlag.reverseOutputOrder != 0
    c.exponentialBoxSize = flags & DetectorFlag.exponentialBoxSize != 0
    var d = SSDDecoder(anchors: a, coding: c)
    d.boxesOutput = u32(4)
    d.scoresOutput = u32(8)
    d.classCount = u32(12)
    d.sigmoidScores = flags & DetectorFlag.sigmoidScores != 0
    d.scoreClipping = f32(20)
    return (d, decodeNMS(kind, u32: u32, f32: f32))
}

/// What is wrong with `spec`'s decoder against its outputs, or nil (used by the writer's check and
/// the reader).
public func decoderProblem(_ spec: ModelSpec) -> String? {
    let d = spec.postprocess.decoder
    if case .none = d { return nil }
    if case .mtcnnStage = d { return nil }
    if let p = d.problem() { return p }
    if let p = spec.postprocess.nms.problem() { return p }
    var outs: [(name: String, shape: [Int])] = []
    for o in spec.outputs { outs.append((spec.tensors[o].name, spec.tensors[o].logicalShape)) }
    return d.outputProblem(outs)
}
