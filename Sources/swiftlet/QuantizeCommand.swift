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
