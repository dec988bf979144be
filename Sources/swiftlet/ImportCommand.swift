import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletEstimate
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletPipeline
import SwiftletQuantizer
import SwiftletTFLite

// MARK: - import

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert an ONNX or TensorFlow Lite model into a packed Swiftlet model (.swl).",
        discussion: """
            Pre-processing flags (--mean, --std, --bgr, --resize) are stored in the .swl so that \
            'swiftlet run --image' can feed it photos. Without them, import uses the ONNX file's \
            swiftlet.mean/std/colour metadata if present; otherwise only 'run --input x.npy' works. \
            A TensorFlow Lite model (.tflite, flatbuffer identifier TFL3) is recognised by its content; \
            its float builtins, and those of full-integer int8 files with the file's own scales, are imported (docs/ops.md lists them).
            """)

    enum ResizeMode: String, ExpressibleByArgument, CaseIterable {
        case stretch, crop, letterbox
    }

    enum TaskKind: String, ExpressibleByArgument, CaseIterable {
        case classification, detection, raw
    }

    @Argument(help: "The ONNX or TensorFlow Lite (.tflite) model to import.")
    var model: String

    @Option(name: .shortAndLong, help: "Where to write the packed model (.swl).")
    var output: String

    @Option(name: .customLong("input-shape"), parsing: .unconditional, help: "The input's shape when the model leaves dimensions symbolic, e.g. 1,3,224,224 (ONNX layout; NHWC, e.g. 1,224,224,3, for a .tflite).")
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
            var inputs: [(role: String, path: String)] = [(model.lowercased().hasSuffix(".tflite") ? "the TensorFlow Lite model" : "the ONNX model", model)]
            if let labels { inputs.append(("the labels file", labels)) }
            try checkOutputPath(output, flag: "-o", inputs: inputs)
        }
        var options = ImportOptions()
        if let inputShape { options.inputShape = try parseList(inputShape, flag: "--input-shape") }
        let resizeMode: SwiftletModel.ResizeMode = resize == .letterbox ? .letterbox : (resize == .crop || resizeShorter != nil ? .shorterCrop : .stretch)
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
            // TFLite by content (identifier "TFL3") or by extension; everything else goes to ONNX as before.
            let source = try sys_readFile(model, what: model.lowercased().hasSuffix(".tflite") ? "a TensorFlow Lite model" : "an ONNX model")
            var spec = isTFLite(source) || model.lowercased().hasSuffix(".tflite")
                ? try importTFLite(bytes: source, path: model, options: options)
                : try importONNX(bytes: source, path: model, options: options)
            if var p = spec.preprocess, p.resizeMode == .shorterCrop, p.resizeShorter == 0 {
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
