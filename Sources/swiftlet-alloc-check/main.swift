import Glibc
import MallocInterposerSwift
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime
import SwiftletVision

// swiftlet-alloc-check MODEL.swl [RUNS [THREADS]]
//
// Counts the heap allocations of running a packed model: load, prepare, one warm-up run, then
// malloc/calloc/realloc/posix_memalign calls across RUNS inferences (default 100) on THREADS threads
// (default 1; the pool's workers are counted too: the interposer's counters are process-wide). Run it with the
// interposer preloaded, or the count is 0 because nothing is counted:
//
//   LD_PRELOAD=.build/release/libMallocInterposerSwift.so .build/release/swiftlet-alloc-check m.swl
//
// A detector (a model imported with --decoder) decodes and suppresses every run's outputs too, three
// times: with the model's thresholds, and with score threshold 0 (every anchor a candidate: the
// whole sort) under weighted and hard per-class NMS; the last of them is drawn into a 640×480 RGB
// image as `run --overlay` draws it (boxes, keypoints, labels), which must allocate nothing either.
//
// An MTCNN bundle takes a photo instead (`swiftlet-alloc-check X.bundle PHOTO.jpg [RUNS]`): the cascade
// runs on it RUNS times (pyramid, P-Net tiles, R-Net and O-Net on every candidate, NMS, landmarks)
// and draws its faces into the photo.
//
// Prints `allocations N bytes B runs R threads T detections D`; exit code 0. The check that the
// interposer is live is the allocations made while loading, printed as `load_allocations`.

/// The MTCNN bundle check (see the header); returns the exit code.
func checkBundle(_ args: [String]) -> Int32 {
    guard args.count <= 4, let runs = args.count == 4 ? Int(args[3]) : 100, runs > 0 else {
        sys_printError("usage: swiftlet-alloc-check X.bundle PHOTO.jpg [RUNS]\n")
        return 64
    }
    MallocInterposerSwift.initialize()
    do {
        MallocInterposerSwift.hook()
        let (mtcnn, nets) = try loadMTCNN(path: args[1])
        let image = try loadJPEG(path: args[2])
        var drawn = image.pixels  // the overlay is drawn on a copy: the photo stays as decoded
        MallocInterposerSwift.unhook()
        let load = MallocInterposerSwift.getStatistics()
        let style = OverlayStyle.forImage(width: image.width, height: image.height)
        let labels = [Array("face".utf8)]
        var faces = 0
        let (w, h) = (image.width, image.height)
        func once() {
            image.pixels.withUnsafeBufferPointer { px in
                faces += mtcnn.detect(pixels: px.baseAddress!, width: w, height: h, networks: nets)
            }
            drawn.withUnsafeMutableBufferPointer { px in
                drawDetections(mtcnn, labels: labels, on: Canvas(pixels: px.baseAddress!, width: w, height: h), style: style)
            }
        }
        once()
        print(countedRuns(runs, loadCount: Int(load.mallocCount), loadBytes: Int(load.mallocBytesCount), once) + " detections \(faces)")
        return 0
    } catch {
        sys_printError("error: \(error.message)\n")
        return 1
    }
}

/// Runs `once` `runs` times with the interposer counting; returns the report line, the counts taken
/// from `loadCount` allocations (`loadBytes` bytes) made before.
func countedRuns(_ runs: Int, loadCount: Int, loadBytes: Int, _ once: () -> Void) -> String {
    MallocInterposerSwift.hook()
    for _ in 0..<runs { once() }
    MallocInterposerSwift.unhook()
    let s = MallocInterposerSwift.getStatistics()
    return "load_allocations \(loadCount) allocations \(Int(s.mallocCount) - loadCount) bytes \(Int(s.mallocBytesCount) - loadBytes) runs \(runs) threads 1"
}

/// The camera path's pre-processing (`swiftlet-alloc-check --frame yuyv|nv12|grey W H FILE [RUNS]`): a
/// recorded raw frame fitted to 224×224 (stretched, and from a 256 shorter side with a centre crop) and
/// normalised into a float input, RUNS times after a first frame that makes the buffers; returns the exit code.
func checkFrame(_ args: [String]) -> Int32 {
    guard args.count == 6 || args.count == 7, let format = CameraPixelFormat(name: args[2]), format != .mjpeg,
          let w = Int(args[3]), let h = Int(args[4]), w > 0, h > 0, let runs = args.count == 7 ? Int(args[6]) : 100, runs > 0 else {
        sys_printError("usage: swiftlet-alloc-check --frame yuyv|nv12|grey|rgb24 WIDTH HEIGHT FILE [RUNS]\n")
        return 64
    }
    MallocInterposerSwift.initialize()
    do {
        MallocInterposerSwift.hook()
        let file = try MappedFile(path: args[5], what: "a raw frame")
        let frame = RawFrame(format: format, width: w, height: h, bytesPerLine: format == .yuyv ? w * 2 : format == .rgb24 ? w * 3 : w,
                             bytes: file.bytes)
        if let need = frame.missingBytes {
            sys_printError("error: \(args[5]) has \(file.count) bytes, the frame needs \(need)\n")
            return 1
        }
        var stretch = FrameFitter(inWidth: w, inHeight: h, width: 224, height: 224, shorter: 0)
        var crop = FrameFitter(inWidth: w, inHeight: h, width: 224, height: 224, shorter: 256)
        var fitted = RGBImage(width: 0, height: 0)
        let input = UnsafeMutablePointer<Float>.allocate(capacity: 224 * 224 * 3)
        defer { input.deallocate() }
        let mean: [Float] = [123.675, 116.28, 103.53], std: [Float] = [58.395, 57.12, 57.375]
        func once() {
            stretch.fit(frame, into: &fitted)
            normalize(fitted, mean: mean, std: std, bgr: false, into: input)
            crop.fit(frame, into: &fitted)
            normalize(fitted, mean: mean, std: std, bgr: false, into: input)
        }
        once()
        MallocInterposerSwift.unhook()
        let load = MallocInterposerSwift.getStatistics()
        print(countedRuns(runs, loadCount: Int(load.mallocCount), loadBytes: Int(load.mallocBytesCount), once))
        return 0
    } catch {
        sys_printError("error: \(error.message)\n")
        return 1
    }
}

/// The frame loop itself (`swiftlet-alloc-check --stream MODEL.swl RECORDING FRAMES [run flags…]`):
/// `swiftlet run MODEL.swl --video RECORDING --frames FRAMES` with the given flags (`--json`,
/// `--no-pipeline`, `--format yuyv --size WxH`, …), its allocations counted from the end of frame 2 to
/// the end of the last frame: reading, pre-processing (on the capture thread too), inference,
/// decoding, formatting and printing each line. MJPEG's decode is also counted alone, by fitting the
/// recording's first frame into the model's input `FRAMES - 2` times (FrameInput.load, as the loop
/// does), printed as `libjpeg_allocations` (libjpeg's work memory: 0 since CSwiftletSys/jpeg.c keeps
/// its blocks). Frame lines go to stdout; the report is the last line.
func checkStream(_ args: [String]) -> Int32 {
    guard args.count >= 5, let frames = Int(args[4]), frames > 2 else {
        sys_printError("usage: swiftlet-alloc-check --stream MODEL.swl RECORDING FRAMES [run flags...]\n")
        return 64
    }
    MallocInterposerSwift.initialize()
    var o = RunOptions(modelPath: args[2], imagePaths: [], inputNPY: nil, outputNPY: nil, json: false, topK: 5, runs: 1, profile: false)
    o.stream.video = args[3]
    o.stream.frames = frames
    var i = 5
    while i < args.count {
        switch args[i] {
        case "--json": o.json = true
        case "--no-pipeline": o.stream.pipeline = false
        case "--format" where i + 1 < args.count:
            i += 1
            o.stream.format = CameraPixelFormat(name: args[i])
        case "--size" where i + 1 < args.count:
            i += 1
            guard let (w, h) = try? StreamOptions.parseSize(args[i]) else { return 64 }
            o.stream.width = w
            o.stream.height = h
        default:
            sys_printError("swiftlet-alloc-check --stream: unknown flag \(args[i])\n")
            return 64
        }
        i += 1
    }
    // libjpeg's own allocations per decode of the first frame (MJPEG recordings).
    var jpeg = 0
    if o.stream.format == nil || o.stream.format == .mjpeg {
        do throws(SwiftletError) {
            let file = try MappedFile(path: args[3], what: "a recording")
            if let r = nextJPEGFrame(file.bytes, from: 0) {
                // Fitted into the model's input as the frame loop does it (the same DCT scale).
                let model = try PackedModel(path: args[2])
                let spec = model.spec
                guard let pre = spec.preprocess else { throw .usage(detail: "the model has no pre-processing metadata") }
                let shape = spec.tensors[spec.inputs[0]].shape
                var input = FrameInput(pre: pre, width: shape[2], height: shape[1], channels: shape[3])
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: shape[1] * shape[2] * shape[3])
                defer { buffer.deallocate() }
                let frame = RawFrame(format: .mjpeg, width: 0, height: 0, bytesPerLine: 0, bytes: UnsafeRawBufferPointer(rebasing: file.bytes[r]))
                _ = try input.load(frame, source: args[3], into: buffer)
                let before = MallocInterposerSwift.getStatistics().mallocCount
                MallocInterposerSwift.hook()
                for _ in 0..<(frames - 2) { _ = try input.load(frame, source: args[3], into: buffer) }
                MallocInterposerSwift.unhook()
                jpeg = Int(MallocInterposerSwift.getStatistics().mallocCount - before)
            }
        } catch {
            sys_printError("error: \(error.message)\n")
            return 1
        }
    }
    var counted = (0, 0)
    var load = 0
    o.frameHook = { done in
        if done == 1 {
            load = Int(MallocInterposerSwift.getStatistics().mallocCount)
            counted = (load, Int(MallocInterposerSwift.getStatistics().mallocBytesCount))
            MallocInterposerSwift.hook()
        } else if done == frames - 1 {
            MallocInterposerSwift.unhook()
            let s = MallocInterposerSwift.getStatistics()
            counted = (Int(s.mallocCount) - counted.0, Int(s.mallocBytesCount) - counted.1)
        }
    }
    MallocInterposerSwift.hook()
    do {
        try runCommand(o)
    } catch {
        MallocInterposerSwift.unhook()
        sys_printError("error: \(error.message)\n")
        return 1
    }
    print("load_allocations \(load) allocations \(counted.0) bytes \(counted.1) frames \(frames - 2) libjpeg_allocations \(jpeg)")
    return 0
}

let args = CommandLine.arguments
if args.count >= 2, args[1] == "--frame" { exit(checkFrame(args)) }
if args.count >= 2, args[1] == "--stream" { exit(checkStream(args)) }
if args.count >= 3, args[1].hasSuffix(".bundle") { exit(checkBundle(args)) }
guard args.count >= 2, args.count <= 4, let runs = args.count >= 3 ? Int(args[2]) : 100, runs > 0,
      let threads = args.count == 4 ? Int(args[3]) : 1, threads > 0 else {
    sys_printError("usage: swiftlet-alloc-check MODEL.swl [RUNS [THREADS]]\n")
    exit(64)
}
MallocInterposerSwift.initialize()
do {
    MallocInterposerSwift.hook()
    let model = try PackedModel(path: args[1])
    let interpreter = try Interpreter(model: model, threads: threads)
    let detector = try makeDetector(interpreter.spec)
    MallocInterposerSwift.unhook()
    let load = MallocInterposerSwift.getStatistics()
    // A fixed input pattern in [−1, 1): the values do not matter, the work does.
    for i in 0..<interpreter.spec.inputs.count {
        let n = Shape.count(interpreter.spec.tensors[interpreter.spec.inputs[i]].shape) ?? 0
        let p = interpreter.inputPointer(i)
        for k in 0..<n { p[k] = Float(k % 255) / 127.5 - 1 }
    }
    // A model packed with --reuse-input gets its input written back before each run (a copy, counted).
    let input = InputSnapshot(interpreter)
    let mapping = ImageMapping.stretch(sourceWidth: 640, sourceHeight: 480, inputWidth: 128, inputHeight: 128)
    var all = detector?.defaults ?? NMSOptions()
    all.scoreThreshold = 0
    var allHard = all
    allHard.kind = .hardPerClass
    // Soft-NMS over the 64 best candidates (top-k before NMS).
    var softTop = all
    softTop.kind = .softGaussian
    softTop.topK = 64
    var detections = 0
    let overlay = UnsafeMutablePointer<UInt8>.allocate(capacity: 640 * 480 * 3)
    overlay.initialize(repeating: 0, count: 640 * 480 * 3)
    let labels = interpreter.spec.labels.map { Array($0.utf8) }
    let style = OverlayStyle.forImage(width: 640, height: 480)
    func detect() {
        guard let detector else { return }
        let d = detector.decoder
        let boxes = interpreter.outputPointer(d.boxesOutput), scores = interpreter.outputPointer(d.scoresOutput)
        let landmarks = d.landmarksOutput >= 0 ? interpreter.outputPointer(d.landmarksOutput) : nil
        detections += detector.detect(boxes: boxes, scores: scores, landmarks: landmarks, mapping: mapping)
        detections += detector.detect(boxes: boxes, scores: scores, landmarks: landmarks, mapping: mapping, options: all)
        detections += detector.detect(boxes: boxes, scores: scores, landmarks: landmarks, mapping: mapping, options: allHard)
        detections += detector.detect(boxes: boxes, scores: scores, landmarks: landmarks, mapping: mapping, options: softTop)
        drawDetections(detector, labels: labels, on: Canvas(pixels: overlay, width: 640, height: 480), style: style)
    }
    interpreter.invoke()
    detect()
    input.restore()
    MallocInterposerSwift.hook()
    for _ in 0..<runs {
        interpreter.invoke()
        detect()
        input.restore()
    }
    MallocInterposerSwift.unhook()
    let s = MallocInterposerSwift.getStatistics()
    let allocations = s.mallocCount - load.mallocCount
    let bytes = s.mallocBytesCount - load.mallocBytesCount
    print("load_allocations \(load.mallocCount) allocations \(allocations) bytes \(bytes) runs \(runs) threads \(threads) detections \(detections)")
} catch {
    sys_printError("error: \(error.message)\n")
    exit(1)
}
