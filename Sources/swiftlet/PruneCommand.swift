import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletEstimate
import SwiftletModel
import SwiftletONNX
import SwiftletPruner
import SwiftletQuantizer

// MARK: - prune

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove whole channels from a float model, chosen on calibration images, to a MAC or latency target.",
        discussion: """
            Channels that must go together (residual adds, depthwise convolutions, concats) are found \
            from the graph; each free group's channels are ranked by the energy their readers take from \
            them on the calibration images; each group's output noise against its removed MACs picks \
            how many each keeps (in multiples of --multiple); the layers that read them are refit by \
            least squares on the same images. The result is a smaller float model: quantize it with \
            'swiftlet quantize' as usual. The report (per layer and in total, measured here) goes to \
            stdout and, with --report, to a JSON file. The same inputs give the same bytes. See docs/pruning.md.
            """)

    @Argument(help: "The float model (.swl, or .onnx with swiftlet.mean/std metadata).")
    var model: String

    @Option(help: "A folder of JPEG images (searched recursively) like those the model will see.")
    var calibration: String

    @Option(name: .shortAndLong, help: "Where to write the pruned model (.swl).")
    var output: String

    @Option(parsing: .unconditional, help: "The fraction of the model's multiply-accumulates to keep, in (0, 1], e.g. 0.75.")
    var macs: Double?

    @Option(name: .customLong("latency-ms"), parsing: .unconditional, help: "A latency target in milliseconds: measured here (with --threads), or with --board estimated for that board.")
    var latencyMs: Double?

    @Option(help: "With --latency-ms: a board profile (rpi4, rpi5, rk3588) whose latency 'swiftlet estimate' models.")
    var board: String?

    @Option(parsing: .unconditional, help: "With --latency-ms and no --board: threads for the measured latency.")
    var threads: Int = 1

    @Option(parsing: .unconditional, help: "Use at most this many calibration images (the first in path order).")
    var images: Int?

    @Option(parsing: .unconditional, help: "Kept channel counts are multiples of this: 16, the channels the board kernels take at a time (depthwise convolutions on NEON and AVX2, the float GEMM's outputs), so removed MACs become time.")
    var multiple: Int = 16

    @Option(help: "The precision the pruned model will run in (float32, int8): each channel group's pruning is timed with those kernels (int8: quantized first), the counts are chosen by output noise per removed millisecond instead of per removed MAC, and --latency-ms is the latency in that precision (with --uniform only the latter). Without it: per removed MAC, and latency of the float model.")
    var precision: String?

    @Flag(help: "One ratio for every channel group instead of counts chosen by each group's sensitivity.")
    var uniform = false

    @Option(name: .customLong("export-onnx"), help: "Also write the pruned float model as ONNX (for fine-tuning in PyTorch: tools/prune/finetune_digits.py).")
    var exportONNX: String?

    @Option(help: "A labelled folder (one sub-folder per class, as for 'swiftlet eval'): the report adds top-1 and top-5 before and after.")
    var labels: String?

    @Option(help: "Also write the report as JSON to this file.")
    var report: String?

    @Option(parsing: .unconditional, help: "Timed runs per latency measurement (the median is kept).")
    var runs: Int = 15

    @Flag(help: "No progress and no per-layer table (the summary lines remain).")
    var quiet = false

    func validate() throws {
        if macs == nil && latencyMs == nil { throw ValidationError("give a target: --macs FRACTION (e.g. 0.75) or --latency-ms MS") }
        if macs != nil && latencyMs != nil { throw ValidationError("give one target: --macs or --latency-ms, not both") }
        if let m = macs, !(m > 0 && m <= 1) { throw ValidationError("--macs takes the fraction of the model's MACs to keep, in (0, 1], got \(m)") }
        if let l = latencyMs, !(l > 0 && l.isFinite) { throw ValidationError("--latency-ms takes milliseconds above 0, got \(l)") }
        if board != nil && latencyMs == nil { throw ValidationError("--board goes with --latency-ms (the board's estimated latency is the target)") }
        if let images, images < 1 { throw ValidationError("--images must be at least 1, got \(images)") }
        if multiple < 1 || multiple > 64 { throw ValidationError("--multiple must be between 1 and 64, got \(multiple)") }
        if threads < 1 || threads > 64 { throw ValidationError("--threads must be between 1 and 64, got \(threads)") }
        if runs < 1 || runs > 10_000 { throw ValidationError("--runs must be between 1 and 10000, got \(runs)") }
        if let p = precision, PrunePrecision(rawValue: p) == nil {
            throw ValidationError("--precision takes \(PrunePrecision.allCases.map(\.rawValue).joined(separator: " or ")), got '\(p)'")
        }
    }

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            var inputs: [(role: String, path: String)] = [("the float model", model)]
            for image in try listImages(calibration) { inputs.append(("the calibration image", image)) }
            var outputs = [("-o", output)]
            try checkOutputPath(output, flag: "-o", inputs: inputs)
            if let report {
                try checkOutputPath(report, flag: "--report", inputs: inputs)
                outputs.append(("--report", report))
            }
            if let labels { for image in try listImages(labels, flag: "--labels") { inputs.append(("the labelled image", image)) } }
            if let exportONNX {
                try checkOutputPath(exportONNX, flag: "--export-onnx", inputs: inputs)
                outputs.append(("--export-onnx", exportONNX))
            }
            try checkDistinctOutputs(outputs)
            let spec: ModelSpec
            if model.lowercased().hasSuffix(".onnx") {
                spec = try importONNX(path: model, options: ImportOptions())
                try checkWritable(spec)
            } else {
                spec = try PackedModel(path: model).specWithPlainWeights()
            }
            let target: PruneTarget
            if let m = macs {
                target = .macs(m)
            } else if let b = board {
                target = .estimated(ms: latencyMs ?? 0, try EstimateTarget.resolve(board: b, cpu: nil, clockGHz: nil, bandwidthGBs: nil, threads: nil))
            } else {
                target = .latency(ms: latencyMs ?? 0, threads: threads)
            }
            var o = PruneOptions(calibrationDir: calibration, target: target)
            o.maxImages = images
            o.multiple = multiple
            o.uniform = uniform
            o.progress = !quiet
            o.timingRuns = runs
            o.precision = precision.flatMap(PrunePrecision.init(rawValue:))
            var result = try pruneModel(spec, path: model, o)
            try checkWritable(result.spec)
            let bytes = encodeSWL(result.spec)
            _ = try PackedModel(file: MappedFile(bytes: bytes), path: output)
            if let labels {
                // Both models from files, as 'swiftlet eval' reads them; the output is written only after.
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-prune-\(getpid())").path
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: dir) }
                try sys_writeFile(dir + "/unpruned.swl", encodeSWL(spec))
                try sys_writeFile(dir + "/pruned.swl", bytes)
                let (scores, failed) = try evaluate(models: [dir + "/unpruned.swl", dir + "/pruned.swl"], labelsDir: labels)
                if !failed.isEmpty { throw .invalidInput(path: failed[0].0, detail: failed[0].1, hint: "fix or remove the image in --labels") }
                func pct(_ a: Int, _ n: Int) -> Double { n == 0 ? 0 : 100 * Double(a) / Double(n) }
                let a = scores[0], b = scores[1]
                result.accuracy = (labels, a.count, (pct(a.top1, a.count), pct(b.top1, b.count)), (pct(a.top5, a.count), pct(b.top5, b.count)),
                                   pct(b.agree, b.count))
            }
            try sys_writeFile(output, bytes)
            let name = spec.name.isEmpty ? model : spec.name
            var lines = result.text(modelName: name)
            if quiet { lines = lines.filter { !$0.hasPrefix("  ") } }
            for l in lines { sys_print(l) }
            if let report { try sys_writeFile(report, Array(result.json(modelName: name, output: output).utf8)) }
            sys_print("wrote \(output): \(formatBytes(bytes.count)) (unpruned \(formatBytes(result.before.fileBytes))), arena \(formatBytes(result.spec.arenaBytes))")
            if let exportONNX {
                try sys_writeFile(exportONNX, try SwiftletONNX.exportONNX(result.spec))
                sys_print("wrote \(exportONNX): the pruned float model as ONNX")
            }
        }
    }
}
