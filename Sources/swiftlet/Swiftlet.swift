import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletEstimate
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer

// The host CLI: argument-parser front ends over SwiftletApp's option structs (the board binary
// hand-parses the same flags). Every SwiftletError ends as `error: <message>` on stderr, or with
// --json as one JSON object (`reportError`, SwiftletApp/ErrorReport.swift), and its exit code:
// 64 for a wrong command line (argument-parser's usage errors too), 1 for everything else; the
// board binary gives the same codes (docs/cli.md).

/// `--json` on the command line: errors are printed as JSON objects too.
let jsonErrors = wantsJSON(Array(CommandLine.arguments.dropFirst()))

@main
struct Swiftlet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Import, inspect and run edge-inference models.",
        subcommands: [Import.self, Quantize.self, Run.self, Eval.self, Bench.self, Estimate.self, Inspect.self, Cameras.self, Record.self, SelfTest.self])

    /// argument-parser's `main`, except that with --json its usage errors are JSON objects too.
    static func main() {
        do {
            var command = try parseAsRoot(Array(CommandLine.arguments.dropFirst()))
            try command.run()
        } catch {
            // Usage errors (unknown flags, bad values, validate()) are exit code 64, as SwiftletError.usage.
            if jsonErrors, exitCode(for: error) == .validationFailure, !(error is ExitCode) {
                let text = message(for: error).split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? "usage error"
                let names = configuration.subcommands.map { $0._commandName }
                let sub = CommandLine.arguments.dropFirst().first.flatMap { names.contains($0) ? "\($0) " : nil } ?? ""
                reportError(.usage(detail: "\(text); see 'swiftlet \(sub)--help'"), json: true)
                exit(withError: ExitCode.validationFailure)
            }
            exit(withError: error)
        }
    }
}

/// Runs `body`, turning a SwiftletError into `error: <message>` (or its JSON object with --json) on
/// stderr and its exit code (`SwiftletError.exitCode`: 64 for a wrong command line, else 1).
func reportingErrors(_ body: () throws(SwiftletError) -> Void) throws {
    do {
        try body()
    } catch {
        reportError(error, json: jsonErrors)
        throw ExitCode(error.exitCode)
    }
}

/// Prints a usage error for `command` as argument-parser does and exits with code 64 (EX_USAGE);
/// for checks made in `run()`, where argument-parser would show the root command's usage instead.
func usageFailure(_ message: String, for command: ParsableCommand.Type, name: String) -> Never {
    if jsonErrors {
        reportError(.usage(detail: "\(message); see 'swiftlet \(name) --help'"), json: true)
    } else {
        sys_printError("Error: \(message)\nUsage: \(Swiftlet.usageString(for: command))\n  See 'swiftlet \(name) --help' for more information.\n")
    }
    Swiftlet.exit(withError: ExitCode.validationFailure)
}

/// `1,3,224,224` → [1, 3, 224, 224], or a ValidationError naming the flag.
func parseList<T: LosslessStringConvertible>(_ text: String, flag: String, count: Int? = nil) throws -> [T] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
    var out: [T] = []
    for p in parts {
        guard let v = T(p) else {
            throw ValidationError("\(flag): '\(p)' in '\(text)' is not a number; pass comma-separated values such as \(flag == "--input-shape" ? "1,3,224,224" : "123.675,116.28,103.53")")
        }
        out.append(v)
    }
    if let count, out.count != count {
        throw ValidationError("\(flag) needs \(count) comma-separated values (one per channel), got \(out.count) in '\(text)'")
    }
    return out
}

// MARK: - import

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert an ONNX model into a packed Swiftlet model (.swl).",
        discussion: """
            Pre-processing flags (--mean, --std, --bgr, --resize) are stored in the .swl so that \
            'swiftlet run --image' can feed it photos. Without them, import uses the ONNX file's \
            swiftlet.mean/std/colour metadata if present; otherwise only 'run --input x.npy' works.
            """)

    enum ResizeMode: String, ExpressibleByArgument, CaseIterable {
        case stretch, crop, letterbox
    }

    enum TaskKind: String, ExpressibleByArgument, CaseIterable {
        case classification, detection, raw
    }

    @Argument(help: "The ONNX model to import.")
    var model: String

    @Option(name: .shortAndLong, help: "Where to write the packed model (.swl).")
    var output: String

    @Option(name: .customLong("input-shape"), parsing: .unconditional, help: "The input's shape when the ONNX file leaves dimensions symbolic, e.g. 1,3,224,224 (ONNX layout).")
    var inputShape: String?

    @Option(parsing: .unconditional, help: "Per-channel mean subtracted from 0-255 pixels, in the model's channel order, e.g. 123.675,116.28,103.53.")
    var mean: String?

    @Option(parsing: .unconditional, help: "Per-channel divisor after the mean, in 0-255 units, e.g. 58.395,57.12,57.375.")
    var std: String?

    @Flag(help: "The model expects BGR channel order (mean and std are then given in BGR order).")
    var bgr = false

    @Option(help: "How images become the input size: stretch, crop (resize the shorter side, then centre-crop), or letterbox (fit inside, centred, black padding, as MediaPipe). Alone, it keeps the ONNX metadata's mean and std.")
    var resize: ResizeMode?

    @Option(name: .customLong("resize-shorter"), parsing: .unconditional, help: "With --resize crop: the shorter side's size before cropping (default: 8/7 of the input size, 256 for 224).")
    var resizeShorter: Int?

    @Option(help: "A text file with one class name per line (in output order).")
    var labels: String?

    @Option(help: "What the outputs are: classification, detection or raw (default: classification with --labels, else the ONNX file's swiftlet.task metadata, else raw).")
    var task: TaskKind?

    @Option(help: "The model's name (default: the ONNX graph name or the file name).")
    var name: String?

    @Option(help: "A detection decoder for the outputs: blazeface (MediaPipe's short-range face detector: 896 SSD anchors, 6 keypoints, weighted NMS), retinaface (Pytorch_Retinaface's mobilenet0.25 priors at the model's input size: steps 8, 16, 32, 5 landmarks, hard NMS at IoU 0.4), yolov5 (ultralytics' export [1, N, 5 + C]: boxes in input pixels, objectness × class score; hard per-class NMS at IoU 0.45, score 0.25, at most 300), yolov8 ([1, 4 + C, N] or [1, N, 4 + C]: boxes, class scores; the same at IoU 0.7), or none (default: the ONNX file's swiftlet.decoder metadata, else none). Sets --task detection.")
    var decoder: String?

    @Option(help: "With --decoder: the stored NMS, hard (per class), hard-agnostic, weighted (MediaPipe's blending), or soft-NMS with linear or Gaussian decay (default: the decoder's).")
    var nms: NMSFlag?

    @Option(name: .customLong("score-threshold"), parsing: .unconditional, help: "With --decoder: the stored score threshold, 0-1 (default: the decoder's).")
    var scoreThreshold: Float?

    @Option(name: .customLong("iou-threshold"), parsing: .unconditional, help: "With --decoder: the stored IoU above which NMS suppresses or merges, 0-1 (default: the decoder's).")
    var iouThreshold: Float?

    @Option(name: .customLong("max-detections"), parsing: .unconditional, help: "With --decoder: the stored maximum of detections per image (default: the decoder's).")
    var maxDetections: Int?

    @Flag(name: .customLong("reuse-input"), help: "Let the memory plan reuse the input's memory once the model has read it (a smaller arena; every run must set its input first, as a camera stream does).")
    var reuseInput = false

    @Flag(name: .customLong("keep-order"), help: "Run the nodes in the ONNX graph's order, not in the order of least peak memory (to compare the two).")
    var keepOrder = false

    @Flag(name: .customLong("no-row-streaming"), help: "Keep every tensor whole: no Conv → Conv pair runs row by row through a ring of rows (to compare the two).")
    var noRowStreaming = false

    func validate() throws {
        if let inputShape {
            let dims: [Int] = try parseList(inputShape, flag: "--input-shape")
            if dims.isEmpty || dims.contains(where: { $0 <= 0 }) {
                throw ValidationError("--input-shape dimensions must be positive, got '\(inputShape)'")
            }
        }
        if let mean {
            let v: [Float] = try parseList(mean, flag: "--mean", count: 3)
            if let bad = v.first(where: { !$0.isFinite }) {
                throw ValidationError("--mean \(mean): \(bad) is not a finite number; pass three numbers in 0-255 pixel units, e.g. --mean 123.675,116.28,103.53")
            }
        }
        if let std {
            let v: [Float] = try parseList(std, flag: "--std", count: 3)
            if let bad = v.first(where: { !($0 > 0) || !$0.isFinite }) {
                throw ValidationError("--std \(std): \(bad) is not a positive number (the pixels are divided by it); pass three numbers in 0-255 pixel units, e.g. --std 58.395,57.12,57.375")
            }
        }
        if let name, name.utf8.count > 4096 {
            throw ValidationError("--name is \(name.utf8.count) bytes long, a .swl stores up to 4096; pass a shorter name")
        }
        if let resizeShorter {
            if resizeShorter < 1 { throw ValidationError("--resize-shorter must be at least 1, got \(resizeShorter)") }
            if let resize, resize != .crop { throw ValidationError("--resize-shorter goes with --resize crop, not \(resize.rawValue)") }
        }
        if let decoder, decoder != "none", DecoderPreset.named(decoder) == nil {
            throw ValidationError("--decoder \(decoder) is unknown; pass one of \(DecoderPreset.names.joined(separator: ", ")), none")
        }
        try validateThresholds(scoreThreshold, iouThreshold, maxDetections)
    }

    func run() throws {
        // Nothing is read or written before the output is known not to replace an input.
        try reportingErrors { () throws(SwiftletError) in
            var inputs: [(role: String, path: String)] = [("the ONNX model", model)]
            if let labels { inputs.append(("the labels file", labels)) }
            try checkOutputPath(output, flag: "-o", inputs: inputs)
        }
        var options = ImportOptions()
        if let inputShape { options.inputShape = try parseList(inputShape, flag: "--input-shape") }
        let resizeMode: UInt8 = resize == .letterbox ? 2 : (resize == .crop || resizeShorter != nil ? 1 : 0)
        if mean != nil || std != nil || bgr {
            var p = Preprocess()
            if let mean { p.mean = try parseList(mean, flag: "--mean", count: 3) }
            if let std { p.std = try parseList(std, flag: "--std", count: 3) }
            p.bgr = bgr
            p.resizeMode = resizeMode
            p.resizeShorter = resizeShorter ?? 0
            options.preprocess = p
        } else if resize != nil || resizeShorter != nil {
            options.resize = (resizeMode, resizeShorter ?? 0)
        }
        if let labels {
            var text = ""
            try reportingErrors { () throws(SwiftletError) in
                let bytes = try sys_readFile(labels, what: "a labels file")
                guard let decoded = String(validating: bytes, as: UTF8.self) else {
                    throw .malformedFile(path: labels, detail: "the labels file is not UTF-8 text",
                                         hint: "pass a UTF-8 text file with one class name per line")
                }
                text = decoded
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
                String($0.hasSuffix("\r") ? $0.dropLast() : $0)
            }
            while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
            if lines.isEmpty {
                sys_printError("error: \(labels): the labels file is empty; put one class name per line\n")
                throw ExitCode.failure
            }
            options.labels = lines
        }
        switch task {
        case .classification: options.outputKind = .classification
        case .detection: options.outputKind = .detection
        case .raw: options.outputKind = .raw
        case nil:
            // --decoder (other than none) sets --task detection, with or without --labels.
            let detects = decoder.map { $0 != "none" } ?? false
            options.outputKind = detects ? .detection : options.labels.isEmpty ? .raw : .classification
        }
        options.name = name
        options.decoder = decoder
        options.nmsKind = nms?.kind
        options.scoreThreshold = scoreThreshold
        options.iouThreshold = iouThreshold
        options.maxDetections = maxDetections
        options.reuseInputs = reuseInput
        options.keepOrder = keepOrder
        options.streamRows = !noRowStreaming
        try reportingErrors { () throws(SwiftletError) in
            var spec = try importONNX(path: model, options: options)
            if var p = spec.preprocess, p.resizeMode == 1, p.resizeShorter == 0 {
                let s = spec.tensors[spec.inputs[0]].shape  // NHWC: the importer checked it is an image input
                p.resizeShorter = (max(s[1], s[2]) * 8 + 3) / 7
                spec.preprocess = p
            }
            try checkWritable(spec)  // names what a .swl cannot hold, before encodeSWL would clamp it
            let bytes = encodeSWL(spec)
            // Validate as the board will before writing: a file that does not load is never left behind.
            _ = try PackedModel(file: MappedFile(bytes: bytes), path: output)
            try sys_writeFile(output, bytes)
            let stats = modelStats(spec)
            sys_print("wrote \(output): \(spec.nodes.count) layers, \(formatCount(stats.params)) parameters, \(formatCount(stats.macs)) MACs, arena \(formatBytes(spec.arenaBytes)), file \(formatBytes(bytes.count))")
        }
    }
}

// MARK: - run

struct SelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check every SIMD kernel variant this CPU runs against the scalar reference kernels.",
        discussion: "int8 variants must match bit for bit, float32 ones within 1e-5 of each output's magnitude; seeded random shapes.")

    @Option(parsing: .unconditional, help: "The seed of the random cases.")
    var seed = 1

    @Option(parsing: .unconditional, help: "Random cases on top of the fixed edge cases.")
    var cases = 40

    func run() throws {
        let code = selfTestCommand(seed: seed, cases: cases)
        if code != 0 { throw ExitCode(code) }
    }
}

/// `--nms hard|hard-agnostic|weighted|soft-linear|soft-gaussian`.
enum NMSFlag: String, ExpressibleByArgument, CaseIterable {
    case hard
    case hardAgnostic = "hard-agnostic"
    case weighted
    case softLinear = "soft-linear"
    case softGaussian = "soft-gaussian"

    var kind: NMSKind { NMSKind(name: rawValue)! }
}

/// Range checks shared by import and run (argument-parser's messages, exit code 64).
func validateThresholds(_ score: Float?, _ iou: Float?, _ maxDetections: Int?) throws {
    if let score, !(score >= 0 && score <= 1) { throw ValidationError("--score-threshold must be between 0 and 1, got \(score)") }
    if let iou, !(iou >= 0 && iou <= 1) { throw ValidationError("--iou-threshold must be between 0 and 1, got \(iou)") }
    if let maxDetections, maxDetections < 1 || maxDetections > 1 << 20 {
        throw ValidationError("--max-detections must be between 1 and \(1 << 20), got \(maxDetections)")
    }
}

/// `--kernels auto|reference`.
enum KernelsFlag: String, ExpressibleByArgument, CaseIterable {
    case auto, reference

    var choice: KernelChoice { self == .auto ? .auto : .reference }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a packed model on JPEG images, camera frames, a recording or a .npy tensor.",
        discussion: """
            With --image (or --images DIR), each photo is resized and normalised as the model's pre-processing says; \
            classifiers print the top classes, detectors (imported with --decoder) their detections \
            (label, score, box x0,y0,x1,y1 and keypoints in the photo's pixels), other models their outputs. \
            An image that cannot be read is reported and the others run (exit 1 at the end). With --input, a float32 \
            .npy in the ONNX input layout (e.g. NCHW) is run and every output written to --output \
            (out.npy for one output, out-NAME.npy for several). With --camera (or --video), frames are converted, \
            resized and normalised straight into the input and each result is printed with the frame's capture \
            timestamp and the time of each stage (wait, pre-process, inference, post-process, capture to result); \
            a summary with the frame rate and the captured, dropped, stale and corrupt counts ends the stream.
            """)

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Option(name: .customLong("image"), parsing: .upToNextOption, help: "JPEG images to run, one result each.")
    var images: [String] = []

    @Option(name: .customLong("images"), help: ArgumentHelp("A folder: run every JPEG in it (*.jpg, *.jpeg; not sub-folders), sorted by name, after any --image.", valueName: "dir"))
    var imageFolder: String?

    @Option(help: ArgumentHelp("Detectors: write each image with its boxes, keypoints, labels and scores drawn into this folder (created if missing), as NAME.jpg (JPEG quality 90); the board binary writes NAME.ppm (binary PPM).", valueName: "dir"))
    var overlay: String?

    @Option(help: "A float32 .npy input tensor in the model's ONNX layout (instead of --image).")
    var input: String?

    @Option(help: "Where --input's outputs go (.npy).")
    var output: String?

    @Flag(help: "Print one JSON object per line.")
    var json = false

    @Option(name: .customLong("top"), parsing: .unconditional, help: "Classes shown per image.")
    var top = 5

    @Option(parsing: .unconditional, help: "Timed runs per input (after one warm-up run when more than one); the latency is their mean.")
    var runs = 1

    @Flag(help: "Also time each layer and list the slowest, with the kernel variant that ran (JSON: \"profile_ms\", one mean per layer, \"profile_min_ms\", each layer's fastest run, and \"kernels\").")
    var profile = false

    @Option(help: "auto: the fastest kernel variant this CPU and each layer allow; reference: the scalar reference kernels everywhere.")
    var kernels: KernelsFlag = .auto

    @Option(parsing: .unconditional, help: "Threads per inference: convolutions and element-wise layers split their rows among them; results are bit-identical at every count.")
    var threads = 1

    @Option(help: "Fail with the figures, before allocating, if the model's memory (arena, model file, kernel scratch, weights packed at load) would exceed this size: 512M, 2G, 1048576 (bytes).")
    var memoryLimit: String?

    @Option(help: "Detectors: hard (per class), hard-agnostic, weighted, or soft-NMS with linear or Gaussian decay (default: the model's).")
    var nms: NMSFlag?

    @Option(name: .customLong("score-threshold"), parsing: .unconditional, help: "Detectors: drop boxes scoring below this, 0-1 (default: the model's).")
    var scoreThreshold: Float?

    @Option(name: .customLong("iou-threshold"), parsing: .unconditional, help: "Detectors: NMS suppresses (or merges) boxes overlapping a kept one by more than this IoU, 0-1 (default: the model's).")
    var iouThreshold: Float?

    @Option(name: .customLong("max-detections"), parsing: .unconditional, help: "Detectors: at most this many detections per image (default: the model's).")
    var maxDetections: Int?

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Detectors: only the k best-scoring candidates enter NMS, 0 for all (default: the model's).")
    var nmsTopK: Int?

    @Option(name: .customLong("soft-sigma"), parsing: .unconditional, help: "Detectors, --nms soft-gaussian: the decay's sigma, score * exp(-IoU^2 / sigma) (default: the model's, 0.5).")
    var softSigma: Float?

    @Option(name: .customLong("soft-threshold"), parsing: .unconditional, help: "Detectors, soft-NMS: drop boxes whose decayed score falls below this, 0-1 (default: the model's, 0.001).")
    var softThreshold: Float?

    @Option(help: ArgumentHelp("Stream frames from this V4L2 camera: one result per frame, then a summary (see 'swiftlet cameras').", valueName: "/dev/videoN"))
    var camera: String?

    @Option(help: ArgumentHelp("Stream frames from a recording: concatenated JPEGs (MJPEG), or raw frames with --format and --size.", valueName: "file"))
    var video: String?

    @OptionGroup var request: FrameRequest

    @Option(parsing: .unconditional, help: "With --camera or --video: stop after this many frames (default: a camera streams until stopped, a recording to its end).")
    var frames: Int?

    @Option(parsing: .unconditional, help: "With --camera or --video: stop after this many seconds (with --frames, whichever comes first).")
    var duration: Double?

    @Flag(help: "With --camera: when the camera goes away (unplugged, its driver unloaded), wait for it and go on streaming (back-off from 0.25 s to 5 s) instead of exiting.")
    var reconnect = false

    @Flag(name: .customLong("no-pipeline"), help: "With --camera or --video: capture and pre-process each frame on the inference thread after the previous inference (by default a second thread does it during that inference; for comparison, see docs/camera.md).")
    var noPipeline = false

    var options: RunOptions {
        var o = RunOptions(modelPath: model, imagePaths: images, inputNPY: input, outputNPY: output, json: json, topK: top,
                           runs: runs, profile: profile)
        o.kernels = kernels.choice
        o.threads = threads
        o.memoryLimit = memoryLimit
        o.nmsKind = nms?.kind
        o.scoreThreshold = scoreThreshold
        o.iouThreshold = iouThreshold
        o.maxDetections = maxDetections
        o.nmsTopK = nmsTopK
        o.softSigma = softSigma
        o.softScoreThreshold = softThreshold
        o.imageFolder = imageFolder
        o.overlayFolder = overlay
        o.stream.camera = camera
        o.stream.video = video
        o.stream.frames = frames
        o.stream.duration = duration
        o.stream.reconnect = reconnect
        o.stream.pipeline = !noPipeline
        return o
    }

    /// `options` with the flags that can be wrong on their face (`--format`, `--size`) parsed.
    func checkedOptions() throws(SwiftletError) -> RunOptions {
        var o = options
        try request.apply(to: &o.stream)
        return o
    }

    func run() throws {
        // Checked here rather than in validate(), which argument-parser calls before it reports
        // unknown flags: `run m.swl --imgae a.jpg` should name '--imgae', not say "nothing to run".
        let o: RunOptions
        do {
            o = try checkedOptions()
            try o.validate()
        } catch {
            if error.exitCode == 64 { usageFailure(error.message, for: Run.self, name: "run") }
            try reportingErrors { () throws(SwiftletError) in throw error }
            return
        }
        try reportingErrors { () throws(SwiftletError) in try runCommand(o) }
    }
}

// MARK: - cameras

struct Cameras: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the V4L2 cameras (/dev/videoN) with their formats, frame sizes and frame rates.")

    @Flag(help: "Print one JSON array.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in try camerasCommand(json: json) }
    }
}

// MARK: - record

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save camera frames as JPEG files, for a calibration set (quantize --calibration DIR) or a bug report.",
        discussion: """
            MJPEG frames are written as the camera sent them; raw frames (YUYV, NV12, GREY, RGB24) are \
            converted to RGB and encoded (JPEG quality 90, 4:4:4). Files are DIR/frame_000000.jpg, and so on.
            """)

    @Option(help: ArgumentHelp("The V4L2 camera (see 'swiftlet cameras').", valueName: "/dev/videoN"))
    var camera: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The folder to write the frames to (made if missing).", valueName: "dir"))
    var output: String

    @Option(parsing: .unconditional, help: "How many frames to save.")
    var frames = 10

    @OptionGroup var request: FrameRequest

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            var s = StreamOptions()
            s.camera = camera
            s.frames = frames
            try request.apply(to: &s)
            try recordCommand(camera: camera, s, output: output, json: json)
        }
    }
}

/// The frame request `run` and `record` share: format, size, rate and the frame policy.
struct FrameRequest: ParsableArguments {
    @Option(help: "With --camera or --video: yuyv, nv12, mjpeg, grey or rgb24 (camera default: the first of these it offers).")
    var format: String?

    @Option(help: ArgumentHelp("With --camera or --video: the frame size (camera default: the offered size closest to 640x480).", valueName: "WxH"))
    var size: String?

    @Option(parsing: .unconditional, help: "With --camera: frames per second to ask for (default: the camera's).")
    var fps: Int?

    @Flag(help: "With --camera: take every frame in order instead of the latest one (older ready frames are otherwise skipped and counted as stale).")
    var queue = false

    /// Sets the request in `s`, parsing `--format` and `--size`.
    func apply(to s: inout StreamOptions) throws(SwiftletError) {
        if let format { s.format = try StreamOptions.parseFormat(format) }
        if let size { (s.width, s.height) = try StreamOptions.parseSize(size) }
        s.fps = fps
        s.queue = queue
    }
}

// MARK: - inspect

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a packed model's inputs, layers, parameters, MACs and memory plan.")

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(name: .customLong("plan-svg"), help: "Also draw the memory plan (time across, arena offset down, one rectangle per tensor) to this SVG file.")
    var planSVG: String?

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            if let svg = planSVG { try writePlanSVG(modelPath: model, to: svg) }
            try inspectCommand(InspectOptions(modelPath: model, json: json, planSVG: planSVG))
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time repeated inferences: latency min, median, p90, p99, max, mean and standard deviation; per-layer profile; latency over time.")

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Option(parsing: .unconditional, help: "Timed runs.")
    var runs = 50

    @Option(parsing: .unconditional, help: "Time runs for this many seconds instead of counting them.")
    var seconds: Double?

    @Option(parsing: .unconditional, help: "Run for this many seconds and report the latency over time (thermal throttling).")
    var sustained: Double?

    @Option(parsing: .unconditional, help: "Untimed runs first: a count, or auto (until the median of 5 runs is within 3 % of the 5 before; at most 5 s).")
    var warmup = "auto"

    @Flag(help: "Per layer: time and share, MACs, GMAC/s and the fraction of the core's peak, bytes of weights and activations read and written, the kernel that ran.")
    var profile = false

    @Option(help: "Pin the inference threads to these CPUs: 0-3, 4,5.")
    var affinity: String?

    @Option(help: "Energy source: auto (default), none, rapl[:PATH], hwmon:NAME[:LABEL], pmic (Raspberry Pi 5), meter:FILE.csv, model (the board profile's power model; an estimate).")
    var energy: String?

    @Option(parsing: .unconditional, help: "Seconds of idle baseline measured before the model loads (default 2).")
    var idleSeconds: Double = 2

    @Option(parsing: .unconditional, help: "The idle power in watts, given instead of measured.")
    var idleWatts: Double?

    @Option(parsing: .unconditional, help: "With --energy meter:FILE: the meter's clock minus this machine's, in seconds.")
    var meterOffset: Double = 0

    @Option(parsing: .unconditional, help: "Power readings per second (default: the source's).")
    var energyRate: Double?

    @Option(help: "A float32 .npy input in the ONNX layout (default: a fixed pattern).")
    var input: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "auto: the fastest kernel variant this CPU and each layer allow; reference: the scalar reference kernels everywhere.")
    var kernels: KernelsFlag = .auto

    @Option(parsing: .unconditional, help: "Threads per inference: convolutions and element-wise layers split their rows among them; results are bit-identical at every count.")
    var threads = 1

    @Option(help: "Fail with the figures, before allocating, if the model's memory (arena, model file, kernel scratch, weights packed at load) would exceed this size: 512M, 2G, 1048576 (bytes).")
    var memoryLimit: String?

    @Option(help: ArgumentHelp("Also write one self-contained HTML page: the figures, a latency histogram, latency over time, the per-layer bars (with --profile), the memory plan and the power over time.", valueName: "file.html"))
    var report: String?

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if threads < 1 || threads > 64 { throw ValidationError("--threads must be between 1 and 64, got \(threads)") }
        if warmup != "auto" {
            guard let n = Int(warmup) else { throw ValidationError("--warmup takes a count or auto, got '\(warmup)'") }
            if n < 0 { throw ValidationError("--warmup must be 0 or more, got \(n)") }
        }
        if seconds != nil && sustained != nil { throw ValidationError("--seconds and --sustained both set the run's length: give one") }
    }

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            var o = BenchOptions(modelPath: model, runs: runs, warmup: Int(warmup), inputNPY: input, json: json)
            o.kernels = kernels.choice
            o.threads = threads
            o.memoryLimit = memoryLimit
            o.seconds = seconds ?? sustained
            o.sustained = sustained != nil
            o.profile = profile
            o.report = report
            if let affinity { o.affinity = try parseCPUList(affinity, flag: "--affinity") }
            o.energy = EnergyOptions(source: energy, idleSeconds: idleSeconds, idleWatts: idleWatts, meterOffsetSeconds: meterOffset,
                                     rateHz: energyRate)
            try benchCommand(o)
        }
    }
}

struct Estimate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict per-layer and total latency on an ARM core without a board (an estimate, from llvm-mca's cycles for the board build's loops).",
        discussion: """
            Each layer gets the aarch64 kernel the board would select; its cycles are its loops' \
            iteration counts times the cycles llvm-mca schedules for one iteration of each loop as \
            the board build compiled it; a layer takes at least its bytes over the board's memory \
            bandwidth. The method and its limits: docs/measuring.md, "ARM estimates".
            """)

    @Argument(help: "The packed model (.swl).")
    var model: String

    @Option(help: "The core: cortex-a53, cortex-a55, cortex-a72, cortex-a76 (the clock and bandwidth from a board profile with that core).")
    var cpu: String?

    @Option(help: "A board profile (boards/*.conf with clock_ghz): rpi4, rpi5, rk3588.")
    var board: String?

    @Option(parsing: .unconditional, help: "Threads (default: the board profile's, else 1).")
    var threads: Int?

    @Option(name: .customLong("clock-ghz"), parsing: .unconditional, help: "The core's clock in GHz, over the profile's.")
    var clockGHz: Double?

    @Option(name: .customLong("bandwidth-gbs"), parsing: .unconditional, help: "Memory bandwidth in GB/s for the per-layer lower bound, over the profile's.")
    var bandwidthGBs: Double?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            let target = try EstimateTarget.resolve(board: board, cpu: cpu, clockGHz: clockGHz, bandwidthGBs: bandwidthGBs, threads: threads)
            var o = EstimateOptions(modelPath: model, target: target)
            o.json = json
            try estimateCommand(o)
        }
    }
}

// MARK: - quantize

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a float model to int8 by calibrating it on real images.",
        discussion: """
            The model (.swl, or .onnx with swiftlet.mean/std metadata) is run in float32 on the \
            calibration JPEGs, pre-processed as at run time; each tensor's range gives its int8 scale. \
            Weights are per-channel symmetric int8, activations asymmetric int8 (TensorFlow Lite's \
            scheme). The layer report (SQNR and cosine against float, per layer) goes to stdout and, \
            with --report, to a JSON file. The same inputs always give the same bytes.
            """)

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case minmax, percentile, entropy
    }

    @Argument(help: "The float model (.swl, or .onnx).")
    var model: String

    @Option(help: "A folder of JPEG images (searched recursively) like those the model will see.")
    var calibration: String

    @Option(name: .shortAndLong, help: "Where to write the int8 model (.swl).")
    var output: String

    @Option(help: "How each tensor's range is chosen: minmax, percentile or entropy (KL divergence).")
    var method: Method = .percentile

    @Option(parsing: .unconditional, help: "With --method percentile: the share of values kept inside the range, in percent.")
    var percentile: Double = 99.99

    @Option(parsing: .unconditional, help: "Use at most this many calibration images (the first in path order).")
    var images: Int?

    @Option(name: .customLong("float-fallback"), help: "auto: also keep layers whose own SQNR is under --sqnr-threshold in float. unsupported (default): only ops without an int8 kernel stay float.")
    var floatFallback: FloatFallback = .unsupported

    @Flag(name: .customLong("no-float-fallback"), help: "Fail, naming the op, if any op has no int8 kernel.")
    var noFloatFallback = false

    @Option(name: .customLong("sqnr-threshold"), parsing: .unconditional, help: "With --float-fallback auto: the layer SQNR (dB) under which a layer stays float.")
    var sqnrThreshold: Double = 25

    @Flag(help: "Cross-layer equalization of conv → conv pairs first (MobileNet-style stacks); ReLU6 between them becomes ReLU.")
    var equalize = false

    @Flag(name: .customLong("no-bias-correction"), help: "Do not correct biases for the mean shift weight rounding causes (on by default).")
    var noBiasCorrection = false

    @Option(help: "Also write the layer report as JSON to this file.")
    var report: String?

    @Flag(name: .customLong("keep-order"), help: "Keep the float model's node order, not the order of least peak memory (to compare the two).")
    var keepOrder = false

    @Flag(help: "No progress bar and no per-layer table (the summary lines remain).")
    var quiet = false

    @Flag(name: .customLong("reuse-input"), help: "Let the int8 model's memory plan reuse the input's memory once it is read (default: as the float model was imported).")
    var reuseInput = false

    enum Requant: String, ExpressibleByArgument, CaseIterable {
        case float32 = "float32"
        case fixedPoint = "fixed-point"
    }

    @Option(help: "How int8 convolutions and fully connected layers rescale their sums: float32 (as XNNPACK and ONNX Runtime do; the fast one) or fixed-point (TensorFlow Lite's reference kernels' bits). Every kernel on every CPU gives the same bytes either way.")
    var requantization: Requant = .float32

    func validate() throws {
        if let images, images < 1 { throw ValidationError("--images must be at least 1, got \(images)") }
        if !(percentile > 50 && percentile <= 100) { throw ValidationError("--percentile must be in (50, 100], got \(percentile)") }
        if sqnrThreshold.isNaN { throw ValidationError("--sqnr-threshold is not a number; pass the layer SQNR in dB under which a layer stays float, e.g. 25") }
        if noFloatFallback && floatFallback == .auto { throw ValidationError("--no-float-fallback contradicts --float-fallback auto; pass one") }
    }

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            // Neither output may replace an input (the model or a calibration image) or the other output.
            var inputs: [(role: String, path: String)] = [("the float model", model)]
            for image in try listImages(calibration) { inputs.append(("the calibration image", image)) }
            try checkOutputPath(output, flag: "-o", inputs: inputs)
            if let report {
                try checkOutputPath(report, flag: "--report", inputs: inputs)
                try checkDistinctOutputs([("-o", output), ("--report", report)])
            }
            let packed: PackedModel
            if model.lowercased().hasSuffix(".onnx") {
                var importOptions = ImportOptions()
                importOptions.keepOrder = keepOrder
                let spec = try importONNX(path: model, options: importOptions)
                try checkWritable(spec)  // what a .swl cannot hold is named, not reported as a damaged file
                packed = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: model)
            } else {
                packed = try PackedModel(path: model)
            }
            var o = QuantizeOptions(calibrationDir: calibration)
            switch method {
            case .minmax: o.method = .minMax
            case .percentile: o.method = .percentile(percentile)
            case .entropy: o.method = .entropy
            }
            o.maxImages = images
            o.fallback = noFloatFallback ? .none : floatFallback
            o.sqnrThreshold = sqnrThreshold
            o.progress = !quiet
            o.biasCorrection = !noBiasCorrection
            o.equalize = equalize
            if reuseInput { o.reuseInputs = true }
            o.keepOrder = keepOrder
            o.requantization = requantization == .float32 ? .float32 : .fixedPoint
            let result = try quantizeModel(packed, o)
            try checkWritable(result.spec)
            let bytes = encodeSWL(result.spec)
            _ = try PackedModel(file: MappedFile(bytes: bytes), path: output)
            try sys_writeFile(output, bytes)
            let name = packed.spec.name.isEmpty ? model : packed.spec.name
            var lines = result.text(modelName: name)
            if quiet {
                // Keep the summary, the skipped images and the worst layers; drop the table.
                lines = lines.filter { !$0.hasPrefix("  ") || $0.hasPrefix("  skipped") || ($0.hasPrefix("  #") && $0.dropFirst(3).first?.isNumber == true) }
            }
            for l in lines { sys_print(l) }
            if let report { try sys_writeFile(report, Array(result.json(modelName: name, output: output).utf8)) }
            sys_print("wrote \(output): \(formatBytes(bytes.count)) (float \(formatBytes(packed.file.count))), arena \(formatBytes(result.spec.arenaBytes))")
        }
    }
}

extension FloatFallback: ExpressibleByArgument {}

// MARK: - eval

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy on an annotated image set: classifiers' top-1 and top-5, detectors' COCO AP; models side by side.",
        discussion: """
            Classifiers: --labels DIR holds one sub-folder per class, named by class index (0, 1, …) or by label. \
            Give the float model first and its int8 form second: the agreement column is how often \
            each model's top-1 equals the first model's.

            Detectors: --coco annotations.json --images DIR runs each detector (a .swl imported with \
            --decoder, or an MTCNN .bundle) on every image the file lists, as 'run --image' does, and \
            prints COCO's AP@[.50:.95], AP50, AP75, AR@100 and each category's AP, as pycocotools \
            computes them (IoU .50:.05:.95, 101 recall points, 100 detections per image, all areas). \
            The model's classes are matched to the categories by name. --results dets.json, instead \
            of models and --images, evaluates a COCO results file.
            """)

    @Argument(help: "Packed classifiers or detectors (.swl, or MTCNN .bundle) to compare, e.g. model.swl model-int8.swl.")
    var models: [String] = []

    @Option(help: "Classifiers: the labelled image folder (ImageFolder layout).")
    var labels: String?

    @Option(help: ArgumentHelp("Detectors: a COCO annotations file (images, annotations with bbox [x, y, w, h], categories).", valueName: "annotations.json"))
    var coco: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --coco: the folder holding the annotated images (file_name). With --labels: use at most this many images (in path order).", valueName: "dir|n"))
    var images: String?

    @Option(help: ArgumentHelp("With --coco, instead of models: evaluate this COCO results file (image_id, category_id, bbox, score).", valueName: "dets.json"))
    var results: String?

    @Option(help: ArgumentHelp("With --coco and one model: also write its detections to this file as COCO results (for pycocotools).", valueName: "dets.json"))
    var detections: String?

    @Option(help: "With --coco: hard (per class), hard-agnostic or weighted NMS (default: the model's).")
    var nms: NMSFlag?

    @Option(name: .customLong("score-threshold"), parsing: .unconditional, help: "With --coco: drop boxes scoring below this, 0-1 (default: the model's).")
    var scoreThreshold: Float?

    @Option(name: .customLong("iou-threshold"), parsing: .unconditional, help: "With --coco: the NMS IoU threshold, 0-1 (default: the model's).")
    var iouThreshold: Float?

    @Option(name: .customLong("max-detections"), parsing: .unconditional, help: "With --coco: at most this many detections per image (default: the model's; COCO counts the best 100).")
    var maxDetections: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if labels != nil && coco != nil { throw ValidationError("pass --labels DIR (classifiers) or --coco annotations.json (detectors), not both") }
        if labels == nil && coco == nil { throw ValidationError("pass --labels DIR to evaluate classifiers, or --coco annotations.json --images DIR to evaluate detectors") }
        if labels != nil {
            if models.isEmpty { throw ValidationError("pass at least one model (.swl)") }
            if let images {
                guard let n = Int(images) else { throw ValidationError("--images with --labels is a count of images, got '\(images)'; a folder goes with --coco") }
                if n < 1 { throw ValidationError("--images must be at least 1, got \(n)") }
            }
            if results != nil || detections != nil || nms != nil || scoreThreshold != nil || iouThreshold != nil || maxDetections != nil {
                throw ValidationError("--results, --detections, --nms, --score-threshold, --iou-threshold and --max-detections go with --coco (detectors)")
            }
            return
        }
        if results != nil {
            if !models.isEmpty { throw ValidationError("--results evaluates a results file; pass it without models (or models without --results)") }
            if images != nil || detections != nil || nms != nil || scoreThreshold != nil || iouThreshold != nil || maxDetections != nil {
                throw ValidationError("--results evaluates detections already made: --images, --detections and the NMS flags do not apply")
            }
            return
        }
        if models.isEmpty { throw ValidationError("pass at least one detector (.swl or .bundle) with --coco, or --results dets.json") }
        if images == nil { throw ValidationError("--coco needs --images DIR, the folder holding the annotated images") }
        if detections != nil && models.count != 1 { throw ValidationError("--detections writes one model's detections; pass one model") }
        try validateThresholds(scoreThreshold, iouThreshold, maxDetections)
    }

    func run() throws {
        if let coco {
            try reportingErrors { () throws(SwiftletError) in try runCOCO(coco) }
            return
        }
        try reportingErrors { () throws(SwiftletError) in
            let (scores, failed) = try evaluate(models: models, labelsDir: labels!, limit: images.flatMap { Int($0) })
            func pct(_ a: Int, _ n: Int) -> String { String(format: "%.2f", n == 0 ? 0 : 100 * Double(a) / Double(n)) }
            if json {
                // One JSON object on stdout, the skipped images in it (stderr gets only the final error).
                let rows = scores.map { s in
                    "{\"model\": \(jsonString(s.model)), \"images\": \(s.count), \"top1\": \(pct(s.top1, s.count)), \"top5\": \(pct(s.top5, s.count)), \"agreement\": \(pct(s.agree, s.count))}"
                }
                let skipped = failed.map { "{\"path\": \(jsonString($0.0)), \"error\": \(jsonString($0.1))}" }
                sys_print("{\"labels\": \(jsonString(labels!)), \"failed\": \(failed.count), \"images_failed\": [\(skipped.joined(separator: ", "))], \"models\": [\(rows.joined(separator: ", "))]}")
            } else {
                for (p, why) in failed { sys_printError("error: \(p): \(why) (skipped)\n") }
                sys_print("\(labels!): \(scores.first?.count ?? 0) images" + (failed.isEmpty ? "" : ", \(failed.count) unreadable (skipped)"))
                let width = max(5, scores.map { $0.model.count }.max() ?? 0)
                sys_print("  \(padRight("model", width))    top-1    top-5  agreement")
                for s in scores {
                    sys_print("  \(padRight(s.model, width))  \(padLeft(pct(s.top1, s.count), 6))%  \(padLeft(pct(s.top5, s.count), 6))%  \(padLeft(pct(s.agree, s.count), 8))%")
                }
            }
            if !failed.isEmpty { throw .partialFailure(detail: "\(failed.count) images could not be read (listed above); the others were scored") }
        }
    }

    /// `eval --coco`: reads and checks everything before running a model, then prints the figures.
    func runCOCO(_ coco: String) throws(SwiftletError) {
        let dataset = try readCOCOAnnotations(path: coco)
        var rows: [COCOModelResult] = []
        if let results {
            let dets = try readCOCOResults(path: results, dataset: dataset)
            let m = cocoEvaluate(imageIds: dataset.imageIds, categoryIds: dataset.categoryIds, groundTruth: dataset.boxes, detections: dets)
            rows.append(COCOModelResult(model: results, detections: dets, metrics: m, unmatched: 0, meanMs: 0))
        } else {
            let paths = try cocoImagePaths(dataset, imagesDir: images!)
            if let detections {
                var inputs: [(role: String, path: String)] = [("the annotations file", coco)]
                for m in models { inputs.append(("the model", m)) }
                for p in paths { inputs.append(("the image", p)) }
                try checkOutputPath(detections, flag: "--detections", inputs: inputs)
            }
            var o = COCOEvalOptions()
            o.nmsKind = nms?.kind
            o.scoreThreshold = scoreThreshold
            o.iouThreshold = iouThreshold
            o.maxDetections = maxDetections
            for m in models { rows.append(try evaluateCOCO(model: m, dataset: dataset, paths: paths, options: o)) }
            if let detections { try sys_writeFile(detections, Array(cocoResultsJSON(rows[0].detections).utf8)) }
        }
        let counted = rows.first?.metrics.groundTruthCount ?? 0
        func name(_ id: Int) -> String { dataset.categories.first { $0.id == id }?.name ?? "\(id)" }
        if json {
            func num(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
            var s = "{\"annotations\": \(jsonString(coco)), \"images\": \(dataset.images.count), \"boxes\": \(counted)"
            s += ", \"categories\": [" + dataset.categories.map { "{\"id\": \($0.id), \"name\": \(jsonString($0.name))}" }.joined(separator: ", ") + "]"
            s += ", \"models\": ["
            for (i, r) in rows.enumerated() {
                let m = r.metrics
                s += i == 0 ? "" : ", "
                s += "{\"model\": \(jsonString(r.model)), \"ap\": \(num(m.ap)), \"ap50\": \(num(m.ap50)), \"ap75\": \(num(m.ap75)), \"ar100\": \(num(m.ar100))"
                s += ", \"detections\": \(r.detections.count), \"unmatched_class\": \(r.unmatched)"
                if results == nil { s += ", \"ms_per_image\": \(formatFixed(r.meanMs, 3))" }
                s += ", \"per_category\": [" + m.perCategory.map {
                    "{\"id\": \($0.categoryId), \"name\": \(jsonString(name($0.categoryId))), \"ap\": \(num($0.ap)), \"ap50\": \(num($0.ap50))}"
                }.joined(separator: ", ") + "]}"
            }
            sys_print(s + "]}")
            return
        }
        func f(_ x: Double) -> String { x < 0 ? "    -" : formatFixed(x, 3) }
        sys_print("\(coco): \(dataset.images.count) image\(dataset.images.count == 1 ? "" : "s"), \(counted) box\(counted == 1 ? "" : "es"), \(dataset.categories.count) categor\(dataset.categories.count == 1 ? "y" : "ies")")
        let width = max(5, rows.map { $0.model.count }.max() ?? 0)
        sys_print("  \(padRight("model", width))  AP@[.50:.95]   AP50   AP75  AR@100  detections" + (results == nil ? "  ms/image" : ""))
        for r in rows {
            let m = r.metrics
            var line = "  \(padRight(r.model, width))  \(padLeft(f(m.ap), 11))  \(padLeft(f(m.ap50), 5))  \(padLeft(f(m.ap75), 5))  \(padLeft(f(m.ar100), 6))  \(padLeft(String(r.detections.count), 10))"
            if results == nil { line += "  \(padLeft(formatFixed(r.meanMs, 2), 8))" }
            sys_print(line)
        }
        if let first = rows.first {
            sys_print("  per category, AP@[.50:.95] / AP50" + (rows.count > 1 ? " (models in the order above)" : "") + ":")
            let cw = max(8, dataset.categories.map { $0.name.count }.max() ?? 0)
            for (k, c) in first.metrics.perCategory.enumerated() {
                var line = "    \(padRight(name(c.categoryId), cw))"
                for r in rows { line += "  \(f(r.metrics.perCategory[k].ap)) / \(f(r.metrics.perCategory[k].ap50))" }
                sys_print(line)
            }
        }
        for r in rows where r.unmatched > 0 {
            sys_print("  \(r.model): \(r.unmatched) detections of classes that match no category (not evaluated)")
        }
        if let detections { sys_print("  wrote \(detections): \(rows[0].detections.count) detections (COCO results)") }
    }
}
