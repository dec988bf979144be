import ArgumentParser
import SwiftletCore
import SwiftletModel
import SwiftletONNX

// MARK: - export

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a float Swiftlet model (.swl) as a standard ONNX file.",
        discussion: """
            The inverse of 'swiftlet import': NCHW, the graph's input and output names and shapes as \
            the ONNX file had them, opset \(exportOpset), the pre-processing, task, decoder and labels in \
            its swiftlet.* metadata. ONNX Runtime runs it and a training script can load it, e.g. a \
            pruned model to fine-tune. An int8 (quantized) model is refused: export the float model.
            """)

    @Argument(help: "The float model to export (.swl, from 'swiftlet import' or a pruner).")
    var model: String

    @Option(name: .shortAndLong, help: "Where to write the ONNX model (.onnx).")
    var output: String

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            try checkOutputPath(output, flag: "-o", inputs: [("the model", model)])
            let packed = try PackedModel(path: model)
            let spec = try packed.specWithPlainWeights()
            let bytes = try exportONNX(spec)
            try sys_writeFile(output, bytes)
            sys_print("wrote \(output): \(spec.nodes.count) layers, opset \(exportOpset), \(bytes.count) bytes")
        }
    }
}
