import SwiftletCore
import SwiftletModel

/// What Swiftlet takes from a `.tflite` file's `TFLITE_METADATA` (TFLite's model metadata, its own
/// flatbuffer, file identifier "M001"): the first input's `NormalizationOptions` (mean and std in the
/// input's pixel units, one value or one per channel) as the `.swl`'s pre-processing, and the first
/// output's `TENSOR_AXIS_LABELS` file (one label a line) as its labels. Associated files live in a zip
/// archive appended to the model; only stored (uncompressed) entries are read, as the metadata writer
/// stores them. Everything is checked against the bytes before use, as the model itself is.
struct TFLiteModelMetadata {
    var mean: [Float]?
    var std: [Float]?
    var labelFile: String?
    var labels: [String] = []

    /// Field ids of metadata_schema.fbs (declaration order).
    enum Field {
        static let subgraphMetadata = 3
        static let inputTensorMetadata = 2, outputTensorMetadata = 3
        static let processUnits = 4, associatedFiles = 6
        static let normalizationOptions: UInt8 = 1
        static let tensorAxisLabels: Int8 = 2
    }

    /// Reads the metadata of `model`, if it has any; `path` names the file in messages.
    init?(_ model: TFLiteModel, path: String) throws(SwiftletError) {
        guard let m = model.metadata.first(where: { $0.name == "TFLITE_METADATA" }) else { return nil }
        let fb = FlatBuffer(bytes: Array(model.file.bytes[model.buffers[m.buffer]]), path: "\(path): TFLITE_METADATA")
        guard fb.bytes.count >= 8, fb.identifier == Array("M001".utf8) else {
            throw fb.malformed("the TFLITE_METADATA buffer is not a TFLite metadata flatbuffer (identifier 'M001')")
        }
        let root = try fb.root("the model metadata")
        guard let sub = try root.tables(Field.subgraphMetadata, "subgraph_metadata", what: { "subgraph metadata \($0)" }).first else { return }
        if let input = try sub.tables(Field.inputTensorMetadata, "input_tensor_metadata", what: { "input tensor metadata \($0)" }).first {
            for (i, unit) in try input.tables(Field.processUnits, "process_units", what: { "input process unit \($0)" }).enumerated() {
                guard try unit.u8(0, "options_type") == Field.normalizationOptions,
                      let n = try unit.table(1, "options", what: "the normalization options of input process unit \(i)") else { continue }
                mean = try n.f32s(0, "mean")
                std = try n.f32s(1, "std")
            }
        }
        if let output = try sub.tables(Field.outputTensorMetadata, "output_tensor_metadata", what: { "output tensor metadata \($0)" }).first {
            for f in try output.tables(Field.associatedFiles, "associated_files", what: { "output associated file \($0)" }) {
                if try f.i8(2, "type") == Field.tensorAxisLabels {
                    labelFile = try f.string(0, "name")
                    break
                }
            }
        }
        if let name = labelFile {
            let text = try TFLiteModelMetadata.zipEntry(name, in: model.file.bytes, path: path)
            labels = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
            while labels.last == "" { labels.removeLast() }
        }
    }

    /// The pre-processing the normalization describes (one value repeated to three channels).
    func preprocess(path: String) throws(SwiftletError) -> Preprocess? {
        guard let mean, let std else { return nil }
        guard [1, 3].contains(mean.count), [1, 3].contains(std.count) else {
            throw .invalidModel(detail: "\(path): TFLite metadata normalization has \(mean.count) means and \(std.count) stds; Swiftlet takes one or three of each",
                                hint: "pass --mean and --std")
        }
        var p = Preprocess()
        p.mean = mean.count == 1 ? [Float](repeating: mean[0], count: 3) : mean
        p.std = std.count == 1 ? [Float](repeating: std[0], count: 3) : std
        return p
    }

    /// The text of the stored entry `name` of the zip archive appended to the model (its end of
    /// central directory record is searched in the last 64 KiB + 22 bytes; offsets are taken relative
    /// to where the central directory really starts, so an archive appended to other bytes reads).
    static func zipEntry(_ name: String, in b: [UInt8], path: String) throws(SwiftletError) -> String {
        func fail(_ why: String) -> SwiftletError {
            .invalidModel(detail: "\(path): the metadata names the label file '\(name)', but \(why)", hint: "write the metadata again (the associated files are a zip archive appended to the model)")
        }
        func u16(_ p: Int) -> Int { Int(b[p]) | Int(b[p + 1]) << 8 }
        func u32(_ p: Int) -> Int { u16(p) | u16(p + 2) << 16 }
        var eocd = -1
        var p = b.count - 22
        while p >= max(0, b.count - 22 - 65535) {
            if u32(p) == 0x0605_4B50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("the file has no zip archive") }
        let entries = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16)
        let cdStart = eocd - cdSize
        guard cdStart >= 0, cdOffset <= cdStart else { throw fail("its zip central directory lies outside the file") }
        let base = cdStart - cdOffset
        var at = cdStart
        for _ in 0..<entries {
            guard at + 46 <= eocd, u32(at) == 0x0201_4B50 else { throw fail("its zip central directory is corrupt") }
            let method = u16(at + 10), size = u32(at + 20), nameLen = u16(at + 28)
            let extra = u16(at + 30), comment = u16(at + 32), local = base + u32(at + 42)
            guard at + 46 + nameLen <= eocd else { throw fail("its zip central directory is corrupt") }
            let entry = String(decoding: b[(at + 46)..<(at + 46 + nameLen)], as: UTF8.self)
            at += 46 + nameLen + extra + comment
            guard entry == name else { continue }
            guard method == 0 else { throw fail("the archive compresses it (method \(method)); only stored entries are read") }
            guard local >= 0, local + 30 <= b.count, u32(local) == 0x0403_4B50 else { throw fail("its zip entry header is corrupt") }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            guard start + size <= b.count else { throw fail("its zip entry ends past the end of the file") }
            return String(decoding: b[start..<(start + size)], as: UTF8.self)
        }
        throw fail("the zip archive has no such entry")
    }
}
