import Foundation
import SwiftletCompiler
import SwiftletCore

/// Decodes an ONNX TensorProto into constant data (float or integer), logical layout.
func decodeTensor(_ t: Onnx_TensorProto, where w: String) throws(SwiftletError) -> (shape: [Int], data: ConstData) {
    let shape = t.dims.map { Int($0) }
    if let problem = shapeProblem(shape) {
        throw .invalidModel(detail: "\(w): tensor '\(t.name)' of shape \(Shape.text(shape)) \(problem)", hint: "the ONNX file is corrupt; export it again")
    }
    guard let n = Shape.count(shape) else {
        throw .invalidModel(detail: "\(w): tensor '\(t.name)' has an invalid shape \(shape)", hint: "")
    }
    if t.dataLocation == .external {
        throw .unsupported(detail: "\(w): tensor '\(t.name)' keeps its data in an external file; save the model with all tensors inside (onnx.save(model, path, save_as_external_data=False))")
    }
    let raw = t.rawData
    func fromRaw<T>(_ size: Int, _ conv: (UnsafeRawBufferPointer, Int) -> T) throws(SwiftletError) -> [T] {
        guard raw.count == n * size else {
            throw .invalidModel(detail: "\(w): tensor '\(t.name)' has \(raw.count) bytes of data for \(n) elements", hint: "the ONNX file is corrupt or truncated; export it again")
        }
        return raw.withUnsafeBytes { b in (0..<n).map { conv(b, $0) } }
    }
    func check(_ count: Int) throws(SwiftletError) {
        if count != n {
            throw .invalidModel(detail: "\(w): tensor '\(t.name)' has \(count) values for shape \(shape)", hint: "the ONNX file is corrupt; export it again")
        }
    }
    switch t.dataType {
    case 1:  // FLOAT
        if !raw.isEmpty { return (shape, .floats(try fromRaw(4) { b, i in Float(bitPattern: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) })) }
        try check(t.floatData.count)
        return (shape, .floats(t.floatData))
    case 11:  // DOUBLE
        if !raw.isEmpty { return (shape, .floats(try fromRaw(8) { b, i in Float(Double(bitPattern: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) })) }
        try check(t.doubleData.count)
        return (shape, .floats(t.doubleData.map { Float($0) }))
    case 10:  // FLOAT16
        if !raw.isEmpty { return (shape, .floats(try fromRaw(2) { b, i in halfToFloat(b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) })) }
        try check(t.int32Data.count)
        return (shape, .floats(t.int32Data.map { halfToFloat(UInt16(truncatingIfNeeded: $0)) }))
    case 7:  // INT64
        if !raw.isEmpty { return (shape, .ints(try fromRaw(8) { b, i in Int64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) })) }
        try check(t.int64Data.count)
        return (shape, .ints(t.int64Data))
    case 6, 5, 3, 4, 2, 9:  // INT32, INT16, INT8, UINT16, UINT8, BOOL
        let size = [6: 4, 5: 2, 4: 2, 3: 1, 2: 1, 9: 1][Int(t.dataType)]!
        if !raw.isEmpty {
            return (shape, .ints(try fromRaw(size) { b, i -> Int64 in
                switch t.dataType {
                case 6: return Int64(Int32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case 5: return Int64(Int16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case 4: return Int64(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case 3: return Int64(b.load(fromByteOffset: i, as: Int8.self))
                default: return Int64(b.load(fromByteOffset: i, as: UInt8.self))
                }
            }))
        }
        try check(t.int32Data.count)
        return (shape, .ints(t.int32Data.map { Int64($0) }))
    default:
        throw .unsupported(detail: "\(w): tensor '\(t.name)' has ONNX data type \(t.dataType), which is not supported (float, double, float16 and integer types are)")
    }
}

func halfToFloat(_ h: UInt16) -> Float {
    let s = UInt32(h >> 15) << 31
    let e = Int((h >> 10) & 0x1F)
    let m = UInt32(h & 0x3FF)
    if e == 0 {
        if m == 0 { return Float(bitPattern: s) }
        return (s != 0 ? -1 : 1) * Float(m) * 5.960464477539063e-08  // 2^-24
    }
    if e == 31 { return Float(bitPattern: s | 0x7F80_0000 | (m << 13)) }
    return Float(bitPattern: s | UInt32(e - 15 + 127) << 23 | (m << 13))
}

/// A serialized ONNX TensorProto (an ONNX backend test's `input_0.pb`): its shape, its values as
/// floats, and its ONNX data type. `path` names it in messages.
public func decodeONNXTensor(bytes: [UInt8], path: String) throws(SwiftletError) -> (shape: [Int], values: [Float], dataType: Int) {
    let t: Onnx_TensorProto
    do {
        t = try Onnx_TensorProto(serializedBytes: bytes)
    } catch {
        throw .malformedFile(path: path, detail: "not a valid ONNX tensor (protobuf decoding failed: \(error))", hint: "generate it again")
    }
    let (shape, data) = try decodeTensor(t, where: path)
    return (shape, data.asFloats, Int(t.dataType))
}

/// The ONNX model `bytes` with its graph inputs after the first made initializers holding `tensors`
/// (serialized TensorProtos, one per input in order, as an ONNX backend test's `input_1.pb` …): a
/// test's extra inputs (axes, min/max, shapes) frozen into the constants an exported model has.
public func freezeONNXInputs(_ bytes: [UInt8], _ tensors: [[UInt8]], path: String) throws(SwiftletError) -> [UInt8] {
    do {
        var model = try Onnx_ModelProto(serializedBytes: bytes)
        let initialized = Set(model.graph.initializer.map(\.name))
        let inputs = model.graph.input.filter { !initialized.contains($0.name) }
        guard tensors.count == inputs.count - 1 else {
            throw SwiftletError.invalidModel(detail: "\(path): \(tensors.count) tensors for \(inputs.count - 1) inputs after the first", hint: "")
        }
        for (k, b) in tensors.enumerated() {
            var t = try Onnx_TensorProto(serializedBytes: b)
            t.name = inputs[k + 1].name
            model.graph.initializer.append(t)
        }
        return try model.serializedBytes()
    } catch let e as SwiftletError {
        throw e
    } catch {
        throw .malformedFile(path: path, detail: "not a valid ONNX model or tensor (protobuf: \(error))", hint: "generate it again")
    }
}
