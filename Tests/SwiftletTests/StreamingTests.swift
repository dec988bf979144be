import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPlanner
import SwiftletRuntime
import Testing

// Conv → Conv pairs run row by row through a ring of rows (`streamedRows`): the same output bits as
// whole tensors, a smaller arena, and a reader that holds the ring to its rows.

@Suite struct StreamingTests {
    /// x [1, 9, 7, 3] → Conv 1×1 (expand to 8, ReLU) → t → Conv (depthwise or full, `kernel`,
    /// `stride`, `dilation`, pad 1) → y; `int8` puts Quantize / int8 Convs / Dequantize around it.
    func pair(int8: Bool, kernel: Int, stride: Int, dilation: Int, depthwise: Bool, stream: Bool) throws -> (HandModel, t: Int) {
        var m = HandModel(name: "pair")
        m.spec.streamRows = stream
        let x = m.tensor("x", [1, 9, 7, 3], layout: .nhwc)
        m.spec.inputs = [x]
        func activation(_ name: String, _ shape: [Int], _ q: TensorQuant) -> Int {
            m.activation(name, shape, layout: .nhwc, quant: int8 ? q : nil)
        }
        func convWeights(_ name: String, _ o: Int, _ k: Int, _ cin: Int, _ seed: Int) -> (Int, Int) {
            let n = o * k * k * cin
            if !int8 {
                return (m.weights(name + "/w", [o, k, k, cin], (0..<n).map { Float(($0 * 7 + seed) % 11 - 5) / 8 }),
                        m.weights(name + "/b", [o], (0..<o).map { Float($0 % 3) / 4 - 0.25 }))
            }
            return (m.int8Weights(name + "/w", [o, k, k, cin], (0..<n).map { Int8(($0 * 37 + seed) % 255 - 127) },
                                  scales: (0..<o).map { 0.01 + Float($0) / 300 }),
                    m.int32Weights(name + "/b", (0..<o).map { Int32($0 * 211 - 400) }))
        }
        var input = x
        if int8 {
            input = activation("x/int8", [1, 9, 7, 3], TensorQuant(scale: 0.02, zeroPoint: 1))
            m.node(.quantize, [x], input)
        }
        var expand = Conv2D()
        expand.activation = Activation(.relu)
        let (w1, b1) = convWeights("expand", 8, 1, 3, 1)
        let t = activation("t", [1, 9, 7, 8], TensorQuant(scale: 0.04, zeroPoint: -128))
        m.node(.conv2d(expand), [input, w1, b1], t)
        var c = Conv2D()
        (c.kernelH, c.kernelW, c.strideH, c.strideW, c.dilationH, c.dilationW) = (kernel, kernel, stride, stride, dilation, dilation)
        (c.padTop, c.padLeft, c.padBottom, c.padRight) = (1, 1, 1, 1)
        c.groups = depthwise ? 8 : 1
        let outShape = try Op.conv2d(c).outputShape([[1, 9, 7, 8], [8, kernel, kernel, depthwise ? 1 : 8], [8]], where: "test")
        let (w2, b2) = convWeights("conv", 8, kernel, depthwise ? 1 : 8, 2)
        let y = activation("y", outShape, TensorQuant(scale: 0.05, zeroPoint: 3))
        m.node(.conv2d(c), [t, w2, b2], y)
        var out = y
        if int8 {
            out = m.tensor("out", outShape, layout: .nhwc)
            m.node(.dequantize, [y], out)
        }
        m.spec.outputs = [out]
        _ = planArena(&m.spec, reorder: false)
        return (m, t)
    }

    /// The output of `spec` on a fixed input, its planned pairs streamed or (`.always`) run whole.
    func outputBytes(_ spec: ModelSpec, wholePairs rule: WholePairRule = .never) throws -> [UInt8] {
        let run = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "pair.swl"), wholePairs: rule)
        #expect(run.pairsRunWhole == (rule.minWeightBytes == 0 ? streamedRows(spec).filter { $0 > 0 }.count : 0))
        run.setInput(0, logical: (0..<189).map { Float(($0 * 13) % 17 - 8) / 4 })
        run.invoke()
        return run.tensorBytes(spec.outputs[0])
    }

    @Test(arguments: [(3, 1, 1, true), (3, 2, 1, true), (3, 1, 2, true), (1, 2, 1, false), (5, 2, 1, false), (3, 3, 1, false)])
    func streamedPairsGiveTheSameBits(shape: (kernel: Int, stride: Int, dilation: Int, depthwise: Bool)) throws {
        for int8 in [false, true] {
            let (whole, _) = try pair(int8: int8, kernel: shape.kernel, stride: shape.stride, dilation: shape.dilation,
                                      depthwise: shape.depthwise, stream: false)
            let (streamed, t) = try pair(int8: int8, kernel: shape.kernel, stride: shape.stride, dilation: shape.dilation,
                                         depthwise: shape.depthwise, stream: true)
            let ring = (shape.kernel - 1) * shape.dilation + 1
            #expect(streamedRows(streamed.spec)[t] == ring, "\(shape) int8 \(int8)")
            #expect(streamedRows(whole.spec)[t] == 0)
            // While the consumer runs, t holds `ring` of its 9 rows (the int8 graph also keeps x's
            // quantized copy until then: the producer's rows are computed in that step).
            let rowBytes = 7 * 8 * (int8 ? 1 : 4)
            let d = int8 ? 2 : 1
            let saved = liveBytesPerStep(whole.spec)[d] - liveBytesPerStep(streamed.spec)[d]
            #expect(saved == (9 - ring) * rowBytes - (int8 ? 9 * 7 * 3 : 0),
                    "\(shape) int8 \(int8): \(liveBytesPerStep(whole.spec)) whole, \(liveBytesPerStep(streamed.spec)) streamed")
            let a = try outputBytes(whole.spec), b = try outputBytes(streamed.spec)
            let differ = a.indices.first { $0 >= b.count || a[$0] != b[$0] }
            #expect(a.count == b.count && differ == nil, "\(shape) int8 \(int8): streaming changes the output from byte \(differ ?? -1)")
            // Run whole at load instead (WholePairRule), the same bits.
            #expect(try outputBytes(streamed.spec, wholePairs: .always) == a, "\(shape) int8 \(int8): run whole")
            #expect(Set(a).count > 8, "the output is not constant")
        }
    }

    /// A tensor placed in the rows a ring does not use is fine while the ring lives; one over the ring
    /// is rejected, naming both.
    @Test func readerHoldsTheRingToItsRows() throws {
        let (m, t) = try pair(int8: false, kernel: 3, stride: 1, dilation: 1, depthwise: true, stream: true)
        let x = m.spec.inputs[0]
        // The input lives throughout; put it right after the ring's 3 rows (3 × 7 × 8 floats).
        let ringEnd = m.spec.tensors[t].offset + 3 * 7 * 8 * 4
        var ok = m.spec
        ok.tensors[x].offset = (ringEnd + 63) / 64 * 64
        let y = ok.outputs[0]
        ok.tensors[y].offset = ok.tensors[x].offset + (ok.tensors[x].byteCount + 63) / 64 * 64
        ok.arenaBytes = ok.tensors[y].offset + ok.tensors[y].byteCount
        #expect(try outputBytes(ok) == outputBytes(m.spec), "the same plan, moved")
        var bad = ok
        bad.tensors[x].offset = m.spec.tensors[t].offset + 64
        do {
            _ = try PackedModel(file: MappedFile(bytes: encodeSWL(bad)), path: "bad.swl")
            Issue.record("a tensor over a ring was accepted")
        } catch {
            #expect(error.message.contains("'t'") && error.message.contains("'x'") && error.message.contains("overlap"), "\(error.message)")
        }
    }

    /// MobileNetV2 imported with and without streaming: the same output bits, and the arena of the
    /// first inverted residual block's expansion (96 × 112 × 112 floats) is gone.
    @Test func mobileNetV2StreamsItsExpansions() throws {
        var outs: [[UInt8]] = []
        var arenas: [Int] = []
        for stream in [false, true] {
            var options = ImportOptions()
            options.streamRows = stream
            let spec = try importONNX(path: repoFile("models/onnx/mobilenet_v2.onnx"), options: options)
            let run = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "mnv2.swl"))
            let n = spec.tensors[spec.inputs[0]].byteCount / 4
            run.setInput(0, logical: (0..<n).map { Float($0 % 97) / 48 - 1 })
            run.invoke()
            outs.append(run.tensorBytes(spec.outputs[0]))
            arenas.append(spec.arenaBytes)
            if stream {
                let pairs = streamedRows(spec).filter { $0 > 0 }.count
                #expect(pairs >= 10, "few streamed pairs")
                // The small ones (14 × 14 and 7 × 7) run whole; the large ones stream.
                #expect(run.pairsRunWhole > 0 && run.pairsRunWhole < pairs, "\(run.pairsRunWhole) of \(pairs) pairs run whole")
            }
        }
        #expect(outs[0] == outs[1], "streaming changes MobileNetV2's output")
        #expect(arenas[1] * 2 < arenas[0], "arena \(arenas[1]) streamed, \(arenas[0]) whole")
    }
}
