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

/// How `run` and `bench` execute a model: the kernels, the threads, the memory limit.
struct ExecutionFlags: ParsableArguments {
    @Option(help: "auto: the fastest kernel variant this CPU and each layer allow; reference: the scalar reference kernels everywhere.")
    var kernels: KernelsFlag = .auto

    @Option(parsing: .unconditional, help: "Threads per inference: convolutions and element-wise layers split their rows among them; results are bit-identical at every count.")
    var threads = 1

    @Option(help: "Fail with the figures, before allocating, if the model's memory (arena, model file, kernel scratch, weights packed at load) would exceed this size: 512M, 2G, 1048576 (bytes).")
    var memoryLimit: String?
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

    @OptionGroup var execution: ExecutionFlags

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
        o.kernels = execution.kernels.choice
        o.threads = execution.threads
        o.memoryLimit = execution.memoryLimit
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
