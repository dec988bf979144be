import SwiftletCore

/// Typed access to an ONNX node's attributes; a missing required one is an error naming it.
struct Attributes {
    let byName: [String: Onnx_AttributeProto]
    let where_: String

    init(_ node: Onnx_NodeProto, where w: String) {
        var m: [String: Onnx_AttributeProto] = [:]
        for a in node.attribute { m[a.name] = a }
        byName = m
        where_ = w
    }

    func missing(_ name: String) -> SwiftletError {
        .invalidModel(detail: "\(where_): required attribute '\(name)' is missing", hint: "the ONNX file is invalid; export it again")
    }

    func int(_ name: String, _ def: Int?) throws(SwiftletError) -> Int {
        guard let a = byName[name] else {
            if let d = def { return d }
            throw missing(name)
        }
        return Int(a.i)
    }

    func float(_ name: String, _ def: Float?) throws(SwiftletError) -> Float {
        guard let a = byName[name] else {
            if let d = def { return d }
            throw missing(name)
        }
        return a.f
    }

    func ints(_ name: String, _ def: [Int]?) throws(SwiftletError) -> [Int] {
        guard let a = byName[name] else {
            if let d = def { return d }
            throw missing(name)
        }
        return a.ints.map { Int($0) }
    }

    /// A failure naming the node and the attribute with its value.
    func bad(_ name: String, _ detail: String) -> SwiftletError {
        .invalidModel(detail: "\(where_): attribute '\(name)' \(detail)", hint: "the ONNX model is malformed or outside what Swiftlet supports; export it again")
    }

    /// An integer attribute within `range`.
    func int(_ name: String, _ def: Int?, in range: ClosedRange<Int>) throws(SwiftletError) -> Int {
        let v = try int(name, def)
        if !range.contains(v) { throw bad(name, "is \(v), expected \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    /// A list attribute of exactly `count` values, each within `range` (strides, dilations, pads …).
    func ints(_ name: String, _ def: [Int]?, count: Int, in range: ClosedRange<Int>) throws(SwiftletError) -> [Int] {
        let v = try ints(name, def)
        if v.count != count {
            throw bad(name, "has \(v.count) value\(v.count == 1 ? "" : "s") \(Shape.text(v)), expected \(count) values")
        }
        for x in v where !range.contains(x) {
            throw bad(name, "is \(Shape.text(v)): \(x) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func floats(_ name: String) -> [Float]? { byName[name].map { $0.floats } }

    func string(_ name: String, _ def: String) throws(SwiftletError) -> String {
        guard let a = byName[name] else { return def }
        return String(decoding: a.s, as: UTF8.self)
    }

    func tensor(_ name: String) -> Onnx_TensorProto? {
        guard let a = byName[name], a.hasT else { return nil }
        return a.t
    }

    func has(_ name: String) -> Bool { byName[name] != nil }
}
