import SwiftletCore

// The subset of TensorFlow Lite's schema (schema version 3, file identifier "TFL3") that Swiftlet
// reads, as plain values. Field ids are the schema's declaration order. `TFLiteModel.init` checks every
// index against what it indexes (operator codes, tensors, buffers) so that the importer can use them.

/// A tensor element type (`TensorType`).
public struct TFLiteType: Equatable, Sendable {
    public var code: Int8
    public static let float32 = TFLiteType(code: 0), float16 = TFLiteType(code: 1), int32 = TFLiteType(code: 2)
    public static let uint8 = TFLiteType(code: 3), int64 = TFLiteType(code: 4), int16 = TFLiteType(code: 7)
    public static let int8 = TFLiteType(code: 9)

    /// The schema's name, e.g. `FLOAT16`.
    public var name: String {
        code >= 0 && Int(code) < tensorTypeNames.count ? tensorTypeNames[Int(code)] : "type \(code)"
    }

    /// Bytes per element of the types whose data Swiftlet reads.
    public var elementBytes: Int? {
        switch code {
        case 0, 2: return 4
        case 1, 7: return 2
        case 3, 9: return 1
        case 4: return 8
        default: return nil
        }
    }
}

/// Affine quantization (`QuantizationParameters`): real = scale · (q − zero_point), one pair per tensor
/// or one per slice of `quantizedDimension` (per-channel weights).
public struct TFLiteQuantization: Equatable, Sendable {
    public var scale: [Float] = []
    public var zeroPoint: [Int64] = []
    public var quantizedDimension = 0
    public var min: [Float] = []
    public var max: [Float] = []
    /// A `details` union other than none (custom or block-wise quantization): not read.
    public var detailsType: UInt8 = 0

    /// Whether the tensor has scales (min/max alone describe a float tensor's range).
    public var isQuantized: Bool { !scale.isEmpty }
}

/// One dimension of a sparse tensor's storage (`DimensionMetadata`).
public struct TFLiteDimension: Equatable, Sendable {
    /// Dense (`denseSize` values) or compressed sparse row (`segments`, `indices`).
    public var isSparse = false
    public var denseSize = 0
    public var segments: [Int] = []
    public var indices: [Int] = []
}

/// A sparse tensor's storage order (`SparsityParameters`); densified at import.
public struct TFLiteSparsity: Equatable, Sendable {
    public var traversalOrder: [Int] = []
    public var blockMap: [Int] = []
    public var dimensions: [TFLiteDimension] = []
}

public struct TFLiteTensor {
    public var name: String
    public var shape: [Int]
    /// With -1 where the dimension is dynamic; nil when the file has none (then `shape`).
    public var shapeSignature: [Int]?
    public var type: TFLiteType
    /// Index into `TFLiteModel.buffers`; buffer 0 is the empty sentinel.
    public var buffer: Int
    public var quantization: TFLiteQuantization?
    public var sparsity: TFLiteSparsity?
    public var isVariable: Bool
}

public struct TFLiteOperator {
    /// Index into `TFLiteModel.operatorCodes`.
    public var opcodeIndex: Int
    /// Tensor indices; -1 marks an omitted optional input.
    public var inputs: [Int]
    public var outputs: [Int]
    /// The `BuiltinOptions` union's type (0: none) and table.
    public var optionsType: UInt8
    public var options: FlatTable?
    public var hasCustomOptions: Bool
}

public struct TFLiteSubGraph {
    public var name: String
    public var tensors: [TFLiteTensor]
    public var inputs: [Int]
    public var outputs: [Int]
    public var operators: [TFLiteOperator]
}

public struct TFLiteOperatorCode: Equatable, Sendable {
    /// The builtin: the larger of `deprecated_builtin_code` (a byte, codes below 127) and
    /// `builtin_code` (an int, 0 when an old converter wrote only the byte), as the schema prescribes.
    public var builtin: Int
    /// The custom op's name when `builtin` is CUSTOM (32).
    public var customCode: String?
    public var version: Int

    public static let custom = 32

    /// The schema's name, e.g. `CONV_2D`, or the custom op's name.
    public var name: String {
        if builtin == TFLiteOperatorCode.custom { return "CUSTOM '\(customCode ?? "")'" }
        if builtin >= 0 && builtin < builtinNames.count && !builtinNames[builtin].isEmpty { return builtinNames[builtin] }
        return "builtin \(builtin)"
    }
}

/// A named metadata entry (`Metadata`): `min_runtime_version`, `TFLITE_METADATA` (a flatbuffer of
/// its own: normalisation and labels are read, `TFLiteModelMetadata`), and what converters add.
public struct TFLiteMetadata: Equatable, Sendable {
    public var name: String
    public var buffer: Int
}

/// A `.tflite` file's model, read and checked.
public struct TFLiteModel {
    /// The schema version; 3 is the one this reader knows.
    public var version: Int
    public var description: String
    public var operatorCodes: [TFLiteOperatorCode]
    public var subgraphs: [TFLiteSubGraph]
    /// Each buffer's byte range in the file (empty for buffer 0 and for tensors computed at run time):
    /// inside the flatbuffer (`data`), or after it (`offset` > 1, `size`: files past 2 GB keep their
    /// weights outside the flatbuffer, addressed from the file's start).
    public var buffers: [Range<Int>]
    public var metadata: [TFLiteMetadata]
    public let file: FlatBuffer

    public static let identifier: [UInt8] = Array("TFL3".utf8)
    public static let schemaVersion = 3
    /// Tensor ranks beyond this are refused at read (the core's `maxRank` is smaller still).
    static let maxRank = 16

    /// Reads the model: identifier, version, every table the subset names, every index checked.
    public init(bytes: [UInt8], path: String) throws(SwiftletError) {
        let fb = FlatBuffer(bytes: bytes, path: path)
        file = fb
        guard bytes.count >= 8 else {
            throw .malformedFile(path: path, detail: bytes.isEmpty ? "the file is empty, not a TensorFlow Lite model" : "the file has \(bytes.count) bytes, too few for a flatbuffer (at least 8), so it is not a TensorFlow Lite model",
                                 hint: "pass a .tflite file")
        }
        if fb.identifier != TFLiteModel.identifier {
            let shown = (fb.identifier ?? []).map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw .malformedFile(path: path, detail: "not a TensorFlow Lite model: the flatbuffer file identifier (bytes 4-7) is '\(shown)', not 'TFL3'",
                                 hint: "pass a .tflite file written by the TensorFlow Lite converter (schema 3)")
        }
        let root = try fb.root("the model")
        version = Int(try root.u32(0, "version"))
        guard version == TFLiteModel.schemaVersion else {
            throw .unsupported(detail: "\(path): TFLite schema version \(version) is not supported (only version \(TFLiteModel.schemaVersion)); convert the model again with a current TensorFlow Lite converter")
        }
        description = try root.string(3, "description") ?? ""
        // Buffers first: tensors and metadata index them.
        var buffers: [Range<Int>] = []
        for (i, b) in try root.tables(4, "buffers", what: { "buffer \($0)" }).enumerated() {
            let offset = try b.u64(1, "offset"), size = try b.u64(2, "size")
            if offset > 1 {
                guard offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else {
                    throw fb.malformed("buffer \(i): its \(size) bytes at file offset \(offset) end past the end of the file (\(bytes.count) bytes)")
                }
                buffers.append(Int(offset)..<Int(offset + size))
            } else {
                buffers.append(try b.byteRange(0, "data") ?? 0..<0)
            }
        }
        self.buffers = buffers
        var codes: [TFLiteOperatorCode] = []
        for c in try root.tables(1, "operator_codes", what: { "operator code \($0)" }) {
            let deprecated = Int(try c.i8(0, "deprecated_builtin_code"))
            let builtin = Int(try c.i32(3, "builtin_code"))
            codes.append(TFLiteOperatorCode(builtin: max(deprecated, builtin), customCode: try c.string(1, "custom_code"),
                                            version: Int(try c.i32(2, "version", default: 1))))
        }
        operatorCodes = codes
        var metadata: [TFLiteMetadata] = []
        for (i, m) in try root.tables(6, "metadata", what: { "metadata \($0)" }).enumerated() {
            let b = Int(try m.u32(1, "buffer"))
            guard b < buffers.count else { throw fb.malformed("metadata \(i) names buffer \(b), the model has \(buffers.count)") }
            metadata.append(TFLiteMetadata(name: try m.string(0, "name") ?? "", buffer: b))
        }
        self.metadata = metadata
        var subgraphs: [TFLiteSubGraph] = []
        for (s, t) in try root.tables(2, "subgraphs", what: { "subgraph \($0)" }).enumerated() {
            subgraphs.append(try TFLiteModel.subgraph(t, s, codes: codes.count, buffers: buffers.count))
        }
        self.subgraphs = subgraphs
    }

    static func subgraph(_ t: FlatTable, _ s: Int, codes: Int, buffers: Int) throws(SwiftletError) -> TFLiteSubGraph {
        let fb = t.buffer
        var tensors: [TFLiteTensor] = []
        for (i, tt) in try t.tables(0, "tensors", what: { "tensor \($0) of subgraph \(s)" }).enumerated() {
            tensors.append(try tensor(tt, "tensor \(i) of subgraph \(s)", buffers: buffers))
        }
        func indices(_ list: [Int32]?, _ what: String, optional: Bool) throws(SwiftletError) -> [Int] {
            var out: [Int] = []
            for v in list ?? [] {
                guard (optional && v == -1) || (v >= 0 && Int(v) < tensors.count) else {
                    throw fb.malformed("\(what) names tensor \(v), the subgraph has \(tensors.count)")
                }
                out.append(Int(v))
            }
            return out
        }
        var ops: [TFLiteOperator] = []
        for (i, o) in try t.tables(3, "operators", what: { "operator \($0) of subgraph \(s)" }).enumerated() {
            let what = "operator \(i) of subgraph \(s)"
            let code = Int(try o.u32(0, "opcode_index"))
            guard code < codes else { throw fb.malformed("\(what) has opcode_index \(code), the model has \(codes) operator codes") }
            let optionsType = try o.u8(3, "builtin_options_type")
            let options = optionsType == 0 ? nil : try o.table(4, "builtin_options", what: "the options of \(what)")
            let largeCustom = try o.u64(10, "large_custom_options_size") > 0
            ops.append(TFLiteOperator(opcodeIndex: code, inputs: try indices(try o.i32s(1, "inputs"), "\(what): an input", optional: true),
                                      outputs: try indices(try o.i32s(2, "outputs"), "\(what): an output", optional: false),
                                      optionsType: optionsType, options: options,
                                      hasCustomOptions: o.has(5) || largeCustom))
        }
        return TFLiteSubGraph(name: try t.string(4, "name") ?? "", tensors: tensors,
                              inputs: try indices(try t.i32s(1, "inputs"), "subgraph \(s): an input", optional: false),
                              outputs: try indices(try t.i32s(2, "outputs"), "subgraph \(s): an output", optional: false),
                              operators: ops)
    }

    static func tensor(_ t: FlatTable, _ what: String, buffers: Int) throws(SwiftletError) -> TFLiteTensor {
        let fb = t.buffer
        let name = try t.string(3, "name") ?? ""
        let named = name.isEmpty ? what : "\(what) '\(name)'"
        let shape32 = try t.i32s(0, "shape") ?? []
        guard shape32.count <= maxRank else { throw fb.malformed("\(named) has rank \(shape32.count) (at most \(maxRank))") }
        for d in shape32 where d < 0 { throw fb.malformed("\(named) has shape \(shape32.map { Int($0) }) with a negative dimension") }
        let signature = try t.i32s(7, "shape_signature")
        if let sig = signature {
            guard sig.count == shape32.count else { throw fb.malformed("\(named): shape_signature \(sig) and shape \(shape32) differ in rank") }
            for (k, d) in sig.enumerated() where d < -1 || (d >= 0 && d != shape32[k]) {
                throw fb.malformed("\(named): shape_signature \(sig) disagrees with shape \(shape32)")
            }
        }
        let buffer = Int(try t.u32(2, "buffer"))
        guard buffer < buffers else { throw fb.malformed("\(named) names buffer \(buffer), the model has \(buffers)") }
        var quant: TFLiteQuantization? = nil
        if let q = try t.table(4, "quantization", what: "the quantization of \(named)") {
            var p = TFLiteQuantization()
            p.min = try q.f32s(0, "min") ?? []
            p.max = try q.f32s(1, "max") ?? []
            p.scale = try q.f32s(2, "scale") ?? []
            p.zeroPoint = try q.i64s(3, "zero_point") ?? []
            p.detailsType = try q.u8(4, "details_type")
            p.quantizedDimension = Int(try q.i32(6, "quantized_dimension"))
            if !p.scale.isEmpty || !p.zeroPoint.isEmpty {
                guard p.scale.count == p.zeroPoint.count else {
                    throw fb.malformed("\(named) has \(p.scale.count) quantization scales and \(p.zeroPoint.count) zero points")
                }
                if p.scale.count > 1 {
                    let qd = p.quantizedDimension
                    guard qd >= 0, qd < shape32.count, Int(shape32[qd]) == p.scale.count else {
                        throw fb.malformed("\(named) has \(p.scale.count) scales along quantized_dimension \(qd) of shape \(shape32.map { Int($0) })")
                    }
                }
            }
            quant = p
        }
        var sparsity: TFLiteSparsity? = nil
        if let sp = try t.table(6, "sparsity", what: "the sparsity of \(named)") {
            var p = TFLiteSparsity()
            p.traversalOrder = (try sp.i32s(0, "traversal_order") ?? []).map { Int($0) }
            p.blockMap = (try sp.i32s(1, "block_map") ?? []).map { Int($0) }
            for (k, d) in try sp.tables(2, "dim_metadata", what: { "dimension \($0) of the sparsity of \(named)" }).enumerated() {
                var dim = TFLiteDimension()
                dim.isSparse = try d.i8(0, "format") == 1
                dim.denseSize = Int(try d.i32(1, "dense_size"))
                if dim.isSparse {
                    dim.segments = try sparseIndices(d, 2, "array_segments", "dimension \(k) of \(named)")
                    dim.indices = try sparseIndices(d, 4, "array_indices", "dimension \(k) of \(named)")
                }
                p.dimensions.append(dim)
            }
            sparsity = p
        }
        return TFLiteTensor(name: name, shape: shape32.map { Int($0) }, shapeSignature: signature?.map { Int($0) },
                            type: TFLiteType(code: try t.i8(1, "type")), buffer: buffer, quantization: quant,
                            sparsity: sparsity, isVariable: try t.bool(5, "is_variable"))
    }

    /// A `SparseIndexVector` union (type at field `id`, table at `id + 1`): Int32, Uint16 or Uint8 values.
    static func sparseIndices(_ d: FlatTable, _ id: Int, _ name: String, _ what: String) throws(SwiftletError) -> [Int] {
        let type = try d.u8(id, name + "_type")
        guard let v = try d.table(id + 1, name, what: "\(name) of \(what)") else { return [] }
        switch type {
        case 1: return (try v.i32s(0, "values") ?? []).map { Int($0) }
        case 2: return (try v.u16s(0, "values") ?? []).map { Int($0) }
        case 3: return (try v.byteRange(0, "values") ?? 0..<0).map { Int(d.buffer.bytes[$0]) }
        default: throw d.buffer.malformed("\(what): \(name) has union type \(type) (1-3 are index vectors)")
        }
    }

    /// The bytes of `tensor`'s buffer (empty when it has none).
    public func data(_ tensor: TFLiteTensor) -> ArraySlice<UInt8> {
        file.bytes[buffers[tensor.buffer]]
    }

    /// The text of metadata `name` (e.g. `min_runtime_version`), if present.
    public func metadataText(_ name: String) -> String? {
        guard let m = metadata.first(where: { $0.name == name }) else { return nil }
        return String(decoding: file.bytes[buffers[m.buffer]], as: UTF8.self)
    }
}
