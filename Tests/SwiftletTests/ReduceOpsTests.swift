import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer
import SwiftletRuntime
import Testing

// ReduceMax, ReduceMin and ReduceProd (#19), float32 only. The ONNX node tests hold each to the ONNX
// reference on [3, 2, 2] inputs; these cover what they do not: NaN, the NHWC path after a Conv (the
// axes mapped to the stored order), the int8 conversion keeping them float, and the .swl round trip.
@Suite struct ReduceOpsTests {
    /// x [2, 3] (plain layout: logical = stored), each reduction over axis 1 and over both axes.
    @Test func referenceOnHandCheckableData() throws {
        // [[1, -2, 3], [-4, 5, 0.5]]
        let x: [Float] = [1, -2, 3, -4, 5, 0.5]
        let rows: [(OpKind, [Float], Float)] = [
            (.reduceMax, [3, 5], 5),
            (.reduceMin, [-2, -4], -4),
            (.reduceProd, [-6, -10], 60),
        ]
        for (kind, perRow, all) in rows {
            expectClose(try runSingle(.reduce(kind, axes: [1], keepDims: false), inputs: [([2, 3], x)]), perRow, "\(kind.name) axis 1")
            expectClose(try runSingle(.reduce(kind, axes: [0, 1], keepDims: true), inputs: [([2, 3], x)]), [all], "\(kind.name) all")
        }
        // NaN propagates through maximum and minimum wherever it stands in the row.
        let withNaN: [Float] = [.nan, 1, 2, 3, 4, .nan]
        for kind in [OpKind.reduceMax, .reduceMin, .reduceProd] {
            let y = try runSingle(.reduce(kind, axes: [1], keepDims: false), inputs: [([2, 3], withNaN)])
            #expect(y.count == 2 && y[0].isNaN && y[1].isNaN, "\(kind.name): \(y)")
        }
    }

    /// x [1, 1, 5, 5] → Conv (3 filters 3×3, pads 1, stored NHWC) → Reduce over `axes` → y, against the
    /// reduction of the bare Conv's output computed here in NCHW order.
    @Test(arguments: [("ReduceMax", [1], 0), ("ReduceMin", [2, 3], 1), ("ReduceProd", [1], 1), ("ReduceMax", [3], 0)])
    func afterAConvInNHWC(op: String, axes: [Int], keepdims: Int) throws {
        func model(_ reduce: Bool) -> ONNXModelBuilder {
            var b = ONNXModelBuilder(opset: 13)
            b.input("x", [1, 1, 5, 5])
            b.initializer("w", dims: [3, 1, 3, 3], floats: ONNXConformanceTests.values(27, seed: 3).map { $0 / 4 })
            b.node("Conv", ["x", "w"], [reduce ? "c" : "y"], name: "conv", [.ints("kernel_shape", [3, 3]), .ints("pads", [1, 1, 1, 1])])
            if reduce {
                b.node(op, ["c"], ["y"], name: "r", [.ints("axes", axes.map { Int64($0) }), .int("keepdims", Int64(keepdims))])
            }
            b.output("y")
            return b
        }
        let x = ONNXConformanceTests.values(25).map { $0 / 3 }
        let t = ONNXConformanceTests()
        let (_, c) = try t.run(model(false), x)
        let dims = [1, 3, 5, 5]
        var outDims = dims
        for a in axes { outDims[a] = 1 }
        let count = outDims.reduce(1, *)
        var want = [Float](repeating: op == "ReduceProd" ? 1 : (op == "ReduceMax" ? -.infinity : .infinity), count: count)
        for i in 0..<c.count {
            var rest = i, o = 0, stride = 1
            var idx = [0, 0, 0, 0]
            for d in (0..<4).reversed() { idx[d] = rest % dims[d]; rest /= dims[d] }
            for d in (0..<4).reversed() {
                o += (axes.contains(d) ? 0 : idx[d]) * stride
                stride *= outDims[d]
            }
            switch op {
            case "ReduceMax": want[o] = max(want[o], c[i])
            case "ReduceMin": want[o] = min(want[o], c[i])
            default: want[o] *= c[i]
            }
        }
        let spec = try importONNX(bytes: model(true).serialized(), path: "reduce.onnx", options: ImportOptions())
        let (shape, y) = try t.run(spec, x)
        let wantShape = keepdims == 1 ? outDims : dims.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        #expect(shape == wantShape)
        expectClose(y, want, "\(op) over \(axes), keepdims \(keepdims)")
    }

    /// The int8 conversion leaves them float: Conv → ReduceMax is an int8 Conv, a Dequantize, a float ReduceMax.
    @Test func int8KeepsThemFloat() throws {
        for k in [OpKind.reduceMax, .reduceMin, .reduceProd] {
            #expect(Op.reduce(k, axes: [1], keepDims: true).int8Form == .none)
        }
        // At opset 20 (ElementwiseOpsTests.conv) without an axes input: the maximum over every axis.
        let b = ElementwiseOpsTests.conv(size: 8, filters: 4, then: ("ReduceMax", [.int("keepdims", 1)]))
        let (_, result) = try ElementwiseOpsTests.importAndQuantize(b, name: "convmax")
        let kinds = result.spec.nodes.map { $0.op.kind }
        #expect(kinds == [.quantize, .conv2d, .dequantize, .reduceMax], "\(kinds.map(\.name))")
    }

    /// The stored attributes round-trip; a truncated list is refused, not trapped on.
    @Test func storedFormRoundTrips() throws {
        for k in [OpKind.reduceMax, .reduceMin, .reduceProd] {
            let op = Op.reduce(k, axes: [0, 2], keepDims: false)
            #expect(try Op.decode(kind: k, attrs: op.encode(), where: "n") == op)
            #expect(throws: SwiftletError.self) { try Op.decode(kind: k, attrs: [1, 2, 0], where: "n") }
        }
    }
}
