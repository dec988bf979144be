import Foundation
import SwiftProtobuf

/// An ONNX attribute for `ONNXModelBuilder.node`.
public enum ONNXAttribute {
    case int(String, Int64)
    case ints(String, [Int64])
    case float(String, Float)
    case floats(String, [Float])
    case string(String, String)
    /// A float32 tensor attribute (e.g. Constant's or ConstantOfShape's `value`).
    case floatTensor(String, dims: [Int64], values: [Float])
    /// An int64 tensor attribute.
    case intTensor(String, dims: [Int64], values: [Int64])
}

/// Builds an ONNX model in memory from the generated protobuf types (`Onnx_ModelProto` …) and
/// serializes it: hand-made and deliberately malformed models for tests and fuzz seeds, without Python.
/// The generated types stay internal to this module; this is their public face.
public struct ONNXModelBuilder {
    var model = Onnx_ModelProto()

    /// An empty model of the default ONNX domain at `opset`.
    public init(opset: Int = 13) {
        model.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.domain = ""
        o.version = Int64(opset)
        model.opsetImport = [o]
        model.graph.name = "hostile"
    }

    /// Replaces the model's opset imports, e.g. `[("ai.onnx.ml", 3)]` for a classical-ML model.
    public mutating func opsetImports(_ imports: [(domain: String, version: Int)]) {
        model.opsetImport = imports.map { d, v in
            var o = Onnx_OperatorSetIdProto()
            o.domain = d
            o.version = Int64(v)
            return o
        }
    }

    /// A float32 graph input; a dimension ≤ 0 is left symbolic (`N`).
    public mutating func input(_ name: String, _ dims: [Int64]) {
        model.graph.input.append(Self.valueInfo(name, dims))
    }

    /// A float32 value's name and shape; a dimension ≤ 0 is left symbolic (`N`).
    static func valueInfo(_ name: String, _ dims: [Int64]) -> Onnx_ValueInfoProto {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = 1
        for d in dims {
            var dim = Onnx_TensorShapeProto.Dimension()
            if d > 0 { dim.dimValue = d } else { dim.dimParam = "N" }
            tt.shape.dim.append(dim)
        }
        vi.type.tensorType = tt
        return vi
    }

    /// A graph output, by the name of the value that becomes it.
    public mutating func output(_ name: String) {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        model.graph.output.append(vi)
    }

    /// A float32 initializer.
    public mutating func initializer(_ name: String, dims: [Int64], floats: [Float]) {
        model.graph.initializer.append(Self.tensor(name, dims: dims, floats: floats))
    }

    /// An int64 initializer.
    public mutating func initializer(_ name: String, dims: [Int64], ints: [Int64]) {
        model.graph.initializer.append(Self.tensor(name, dims: dims, ints: ints))
    }

    /// A node (of the default domain unless `domain` is given); attributes in the order given.
    public mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "",
                              domain: String = "", _ attributes: [ONNXAttribute] = []) {
        var n = Onnx_NodeProto()
        n.opType = op
        n.domain = domain
        n.name = name
        n.input = inputs
        n.output = outputs
        for a in attributes {
            var p = Onnx_AttributeProto()
            switch a {
            case .int(let k, let v): p.name = k; p.type = .int; p.i = v
            case .ints(let k, let v): p.name = k; p.type = .ints; p.ints = v
            case .float(let k, let v): p.name = k; p.type = .float; p.f = v
            case .floats(let k, let v): p.name = k; p.type = .floats; p.floats = v
            case .string(let k, let v): p.name = k; p.type = .string; p.s = Data(v.utf8)
            case .floatTensor(let k, let dims, let v): p.name = k; p.type = .tensor; p.t = Self.tensor("", dims: dims, floats: v)
            case .intTensor(let k, let dims, let v): p.name = k; p.type = .tensor; p.t = Self.tensor("", dims: dims, ints: v)
            }
            n.attribute.append(p)
        }
        model.graph.node.append(n)
    }

    /// A `metadata_props` entry (`swiftlet.mean` …).
    public mutating func metadata(_ key: String, _ value: String) {
        var e = Onnx_StringStringEntryProto()
        e.key = key
        e.value = value
        model.metadataProps.append(e)
    }

    /// The model's protobuf bytes (empty if serialization fails, which a built model never does).
    public func serialized() -> [UInt8] {
        (try? model.serializedBytes()) ?? []
    }

    static func tensor(_ name: String, dims: [Int64], floats: [Float]) -> Onnx_TensorProto {
        var t = tensor(name, dims: dims, dataType: 1)
        t.floatData = floats
        return t
    }

    static func tensor(_ name: String, dims: [Int64], ints: [Int64]) -> Onnx_TensorProto {
        var t = tensor(name, dims: dims, dataType: 7)
        t.int64Data = ints
        return t
    }

    /// A tensor's name, shape and ONNX data type (1 float, 7 int64), without its data.
    private static func tensor(_ name: String, dims: [Int64], dataType: Int32) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        t.dataType = dataType
        return t
    }
}
