import CSwiftletSys
import Foundation
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime

// Benchmark tooling only (tools/bench/nms drives it): times `Detector.decode` and `suppress` per
// frame on raw detector outputs, while tools/bench/nms.py times OpenCV's NMSBoxes on the same boxes
// in the same run, the two interleaved round by round.
//
//   swiftlet-nms-bench blazeface MODEL.swl OUTDIR NMS PHOTO.jpg...
//       runs the model once on each photo (Swiftlet's own pre-processing and interpreter), writes
//       the raw outputs to OUTDIR/<i>.out<k>.f32 for the Python side, then times decoding and NMS
//   swiftlet-nms-bench retinaface W H NMS PREFIX...
//       the preset RetinaFace decoder at W×H on PREFIX.out0.f32, .out1.f32, .out2.f32 (loc, conf,
//       landms, float32) per frame
//   swiftlet-nms-bench yolov5|yolov8 W H C NMS FILE...
//       the preset YOLO decoder at W×H with C classes (N: the cells of strides 8, 16, 32, three boxes
//       each for v5) on FILE, the raw float32 output per frame (v8 channel-major)
//
// NMS is a `--nms` name. Then, per line on stdin, `run N` answers two lines of N numbers: decode +
// NMS nanoseconds per frame, and NMS (ordering, suppression, mapping) nanoseconds alone, frames
// taken in turn; `quit` ends. First it prints one line per frame: candidates and detections.

func fail(_ s: String) -> Never {
    FileHandle.standardError.write(Data("swiftlet-nms-bench: \(s)\n".utf8))
    exit(1)
}

/// A copy of `v` that stays put for the run (the timed calls read raw pointers).
func pinned(_ v: [Float]) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(v.count, 1))
    p.initialize(from: v, count: v.count)
    return p
}

func readFloats(_ path: String, _ count: Int) -> UnsafeMutablePointer<Float> {
    guard let d = FileManager.default.contents(atPath: path), d.count == 4 * count else {
        fail("\(path): expected \(count) float32 values")
    }
    return pinned(d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
}

let args = CommandLine.arguments
guard args.count >= 5 else {
    fail("usage: swiftlet-nms-bench blazeface MODEL.swl OUTDIR NMS PHOTO... | retinaface W H NMS PREFIX... | yolov5|yolov8 W H C NMS FILE...")
}
var detector: Detector
var frames: [[UnsafeMutablePointer<Float>]] = []
var mappings: [ImageMapping] = []
var options: NMSOptions
do {
    if args[1] == "blazeface" {
        let model = try PackedModel(path: args[2])
        let interpreter = try Interpreter(model: model, threads: 1)
        guard let d = try makeDetector(interpreter.spec) else { fail("\(args[2]) has no detection decoder") }
        detector = d
        guard let kind = NMSKind(name: args[4]) else { fail("unknown NMS \(args[4])") }
        options = d.defaults
        options.kind = kind
        let outs = interpreter.spec.outputs.map { Shape.count(interpreter.spec.tensors[$0].logicalShape) ?? 0 }
        for (i, photo) in args[5...].enumerated() {
            let mapping = try loadImageInput(interpreter, path: photo)
            interpreter.invoke()
            var frame: [UnsafeMutablePointer<Float>] = []
            for (k, n) in outs.enumerated() {
                let p = interpreter.outputPointer(k)
                let v = Array(UnsafeBufferPointer(start: p, count: n))
                FileManager.default.createFile(atPath: "\(args[3])/\(i).out\(k).f32", contents: v.withUnsafeBytes { Data($0) })
                frame.append(pinned(v))
            }
            frames.append(frame)
            mappings.append(mapping)
        }
    } else if args[1] == "retinaface", let w = Int(args[2]), let h = Int(args[3]) {
        var r = DecoderPreset.retinaFace.decoder
        r.inputWidth = w
        r.inputHeight = h
        guard let kind = NMSKind(name: args[4]) else { fail("unknown NMS \(args[4])") }
        options = DecoderPreset.retinaFace.nms
        options.kind = kind
        detector = try Detector(decoder: .retinaFace(r), defaults: options)
        let n = r.priorCount
        for prefix in args[5...] {
            frames.append([readFloats(prefix + ".out0.f32", 4 * n), readFloats(prefix + ".out1.f32", 2 * n), readFloats(prefix + ".out2.f32", 10 * n)])
            mappings.append(.stretch(sourceWidth: w, sourceHeight: h, inputWidth: w, inputHeight: h))
        }
    } else if args[1] == "yolov5" || args[1] == "yolov8", args.count >= 7, let w = Int(args[2]), let h = Int(args[3]), let c = Int(args[4]) {
        let v5 = args[1] == "yolov5"
        let cells = [8, 16, 32].reduce(0) { $0 + ((w + $1 - 1) / $1) * ((h + $1 - 1) / $1) }
        let y = YOLODecoder(inputWidth: w, inputHeight: h, boxCount: v5 ? 3 * cells : cells, classCount: c, objectness: v5, channelMajor: !v5)
        guard let kind = NMSKind(name: args[5]) else { fail("unknown NMS \(args[5])") }
        options = v5 ? DecoderPreset.yolov5.nms : DecoderPreset.yolov8.nms
        options.kind = kind
        detector = try Detector(decoder: .yolo(y), defaults: options)
        for file in args[6...] {
            frames.append([readFloats(file, y.boxCount * y.valuesPerBox)])
            mappings.append(.stretch(sourceWidth: w, sourceHeight: h, inputWidth: w, inputHeight: h))
        }
    } else {
        fail("unknown case \(args[1])")
    }
} catch {
    fail(error.message)
}

let d = detector.decoder
@MainActor func once(_ f: Int) -> (total: UInt64, nms: UInt64, count: Int) {
    let frame = frames[f]
    let b = UnsafePointer(frame[d.boxesOutput]), s = UnsafePointer(frame[d.scoresOutput])
    let l = d.landmarksOutput >= 0 ? UnsafePointer(frame[d.landmarksOutput]) : nil
    let t0 = sys_monotonicNanoseconds()
    let m = detector.decode(boxes: b, scores: s, landmarks: l, threshold: options.scoreThreshold)
    let t1 = sys_monotonicNanoseconds()
    let c = detector.suppress(candidates: m, mapping: mappings[f], options: options)
    let t2 = sys_monotonicNanoseconds()
    return (t2 &- t0, t2 &- t1, c)
}

for f in 0..<frames.count {
    let r = once(f)
    print("frame \(f) candidates \(detector.stats.candidates) detections \(r.count)")
}
print("ready")
fflush(nil)
var next = 0
while let line = readLine() {
    let w = line.split(separator: " ")
    if w.first == "quit" { break }
    guard w.count == 2, w[0] == "run", let n = Int(w[1]), n > 0 else { fail("expected 'run N' or 'quit', got '\(line)'") }
    var totals: [String] = [], nms: [String] = []
    for _ in 0..<n {
        let r = once(next)
        next = (next + 1) % frames.count
        totals.append(String(r.total))
        nms.append(String(r.nms))
    }
    print(totals.joined(separator: " "))
    print(nms.joined(separator: " "))
    fflush(nil)
}
