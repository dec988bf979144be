import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPlanner
import SwiftletRuntime
import Testing

// Views and in-place element-wise ops share bytes in the arena; the reader accepts exactly the
// sharing the alias rules allow (docs/memory.md).

@Suite struct AliasingTests {
    /// x → ReLU → a → Sigmoid → b → Reshape → r → ReLU → c: a, b, r and c are one block (b over a in
    /// place, r a view of b, c over r in place); x is a graph input, kept, so a gets its own bytes.
    @Test func chainSharesOneBlock() throws {
        var m = HandModel(name: "chain")
        let x = m.tensor("x", [1, 64])
        let a = m.tensor("a", [1, 64]), b = m.tensor("b", [1, 64]), r = m.tensor("r", [8, 8]), c = m.tensor("c", [8, 8])
        m.node(.activation(Activation(.relu)), [x], a)
        m.node(.activation(Activation(.sigmoid)), [a], b)
        m.node(.reshape(shape: [8, 8]), [b], r)
        m.node(.activation(Activation(.relu)), [r], c)
        m.spec.inputs = [x]
        m.spec.outputs = [c]
        let run = try m.load()
        let t = run.spec.tensors
        #expect(t[a].offset == t[b].offset && t[b].offset == t[r].offset && t[r].offset == t[c].offset)
        #expect(t[x].offset != t[a].offset)
        #expect(run.spec.arenaBytes == 512, "x and one shared block of 256 bytes each, got \(run.spec.arenaBytes)")
        #expect(arenaLowerBound(run.spec) == 512)
        let input = (0..<64).map { Float($0 - 32) / 8 }
        run.setInput(0, logical: input)
        run.invoke()
        let want = input.map { v -> Float in 1 / (1 + expf(-max(v, 0))) }
        expectClose(run.output(0), want, tol: 1e-6, "in-place chain")
        #expect(run.input(0) == input, "the graph input is kept")
    }

    /// b = Sigmoid(a) cannot overwrite a when a later node still reads a; a file that says so anyway
    /// is rejected, naming both tensors.
    @Test func readerRejectsAnIllegalInPlaceWrite() throws {
        var m = HandModel(name: "late-read")
        let x = m.tensor("x", [1, 16])
        let a = m.tensor("a", [1, 16]), b = m.tensor("b", [1, 16]), c = m.tensor("c", [1, 16])
        m.node(.activation(Activation(.relu)), [x], a)
        m.node(.activation(Activation(.sigmoid)), [a], b)
        m.node(.binary(.add, .none), [a, b], c)
        m.spec.inputs = [x]
        m.spec.outputs = [c]
        _ = planArena(&m.spec)
        #expect(m.spec.tensors[a].offset != m.spec.tensors[b].offset, "the planner must not alias a and b")
        m.spec.tensors[b].offset = m.spec.tensors[a].offset
        do {
            _ = try PackedModel(file: MappedFile(bytes: encodeSWL(m.spec)), path: "late.swl")
            Issue.record("an in-place write over a tensor read later was accepted")
        } catch {
            #expect(error.message.contains("'a'") && error.message.contains("'b'") && error.message.contains("overlap"), "\(error.message)")
        }
    }

    // MARK: Concat slices

    /// x [1, 5, 4, 2] → Conv 1×1 → a [.., 3] and Conv 3×3 → b [.., 5] → Concat(channels) → y [.., 8];
    /// `int8` puts Quantize / int8 Convs and Concat / Dequantize around it.
    func fire(int8: Bool) -> (HandModel, a: Int, b: Int, y: Int) {
        var m = HandModel(name: int8 ? "fire-int8" : "fire")
        let x = m.tensor("x", [1, 5, 4, 2], layout: .nhwc)
        m.spec.inputs = [x]
        var c1 = Conv2D()
        c1.activation = Activation(.relu)
        var c3 = Conv2D()
        (c3.kernelH, c3.kernelW, c3.padTop, c3.padLeft, c3.padBottom, c3.padRight) = (3, 3, 1, 1, 1, 1)
        func values(_ n: Int, _ seed: Int) -> [Float] { (0..<n).map { Float(($0 * 7 + seed) % 11 - 5) / 8 } }
        func activation(_ name: String, _ shape: [Int], _ q: TensorQuant) -> Int {
            m.activation(name, shape, layout: .nhwc, quant: int8 ? q : nil)
        }
        func convWeights(_ name: String, _ o: Int, _ k: Int, _ seed: Int) -> (Int, Int) {
            let n = o * k * k * 2
            if !int8 { return (m.weights(name + "/w", [o, k, k, 2], values(n, seed)), m.weights(name + "/b", [o], values(o, seed + 3))) }
            return (m.int8Weights(name + "/w", [o, k, k, 2], (0..<n).map { Int8(($0 * 37 + seed) % 255 - 127) },
                                  scales: (0..<o).map { 0.01 + Float($0) / 400 }),
                    m.int32Weights(name + "/b", (0..<o).map { Int32($0 * 301 - 500) }))
        }
        let q = TensorQuant(scale: 0.05, zeroPoint: -3)
        var input = x
        if int8 {
            input = activation("x/int8", [1, 5, 4, 2], TensorQuant(scale: 0.02, zeroPoint: 1))
            m.node(.quantize, [x], input)
        }
        let (w1, b1) = convWeights("e1", 3, 1, 1)
        let a = activation("a", [1, 5, 4, 3], q)
        m.node(.conv2d(c1), [input, w1, b1], a)
        let (w3, b3) = convWeights("e3", 5, 3, 2)
        let b = activation("b", [1, 5, 4, 5], q)
        m.node(.conv2d(c3), [input, w3, b3], b)
        let y = activation("y", [1, 5, 4, 8], q)
        m.node(.concat(axis: 3), [a, b], y)
        var out = y
        if int8 {
            out = m.tensor("out", [1, 5, 4, 8], layout: .nhwc)
            m.node(.dequantize, [y], out)
        }
        m.spec.outputs = [out]
        return (m, a, b, y)
    }

    /// Runs `spec` on a fixed input; returns the output's bytes.
    func outputBytes(_ spec: ModelSpec) throws -> [UInt8] {
        let run = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "\(spec.name).swl"))
        run.setInput(0, logical: (0..<40).map { Float(($0 * 13) % 17 - 8) / 4 })
        run.invoke()
        return run.tensorBytes(spec.outputs[0])
    }

    /// The two Convs write their channels straight into the Concat output (a strided slice each), and
    /// the result is the same, bit for bit, as a plan that keeps them apart and copies.
    @Test(arguments: [false, true]) func concatSlicesAreWrittenInPlace(int8: Bool) throws {
        var (m, a, b, y) = fire(int8: int8)
        _ = planArena(&m.spec)
        let t = m.spec.tensors
        let es = int8 ? 1 : 4
        #expect(t[a].offset == t[y].offset, "a starts the Concat output")
        #expect(t[b].offset == t[y].offset + 3 * es, "b starts 3 channels in")
        let alias = Aliasing(m.spec)
        #expect(alias.rowStride[a] == 8 && alias.rowStride[b] == 8)
        // While b is computed, x, a and y's block are live: a and b cost nothing beside y.
        let live = liveBytesPerStep(m.spec)
        let xBytes = t[m.spec.inputs[0]].byteCount
        #expect(live[int8 ? 2 : 1] == (int8 ? t[1].byteCount : 0) + xBytes + t[y].byteCount)
        let inPlace = try outputBytes(m.spec)

        // The same model with a and b placed apart (past the arena's end): legal, and the Concat copies.
        var apart = m.spec
        let end = (apart.arenaBytes + 63) / 64 * 64
        apart.tensors[a].offset = end
        apart.tensors[b].offset = end + (t[a].byteCount + 63) / 64 * 64
        apart.arenaBytes = apart.tensors[b].offset + t[b].byteCount
        let copied = try outputBytes(apart)
        let differ = inPlace.indices.first { $0 >= copied.count || inPlace[$0] != copied[$0] }
        #expect(inPlace.count == copied.count && differ == nil, "zero-copy Concat changes the output from byte \(differ ?? -1)")
        #expect(Set(inPlace).count > 4, "the output is not constant")
    }

    /// A slice that another node also reads stays a tensor of its own and is copied.
    @Test func concatSliceReadElsewhereIsCopied() throws {
        var (m, a, b, y) = fire(int8: false)
        let s = m.tensor("s", [1, 5, 4, 3], layout: .nhwc)
        m.node(.activation(Activation(.sigmoid)), [a], s)
        m.spec.outputs.append(s)
        _ = planArena(&m.spec)
        let alias = Aliasing(m.spec)
        #expect(alias.sliceOf[a] == -1, "a is read by the Sigmoid too")
        #expect(alias.sliceOf[b] == y)
        #expect(m.spec.tensors[b].offset == m.spec.tensors[y].offset + 3 * 4)
        var apart = m.spec
        apart.tensors[b].offset = (apart.arenaBytes + 63) / 64 * 64
        apart.arenaBytes = apart.tensors[b].offset + apart.tensors[b].byteCount
        let same = try outputBytes(m.spec) == outputBytes(apart)
        #expect(same, "placing b apart changes the output")
    }

    /// Detection-head style: Conv → Reshape and a Sigmoid output, concatenated along axis 1 of
    /// [1, n, k] tensors, are contiguous slices: any producer writes them in place.
    @Test func contiguousConcatSlices() throws {
        var m = HandModel(name: "heads")
        let x = m.tensor("x", [1, 2, 2, 3], layout: .nhwc)
        let x2 = m.tensor("x2", [1, 3, 4])
        m.spec.inputs = [x, x2]
        let w = m.weights("w", [4, 1, 1, 3], (0..<12).map { Float($0 % 5) - 2 })
        let bias = m.weights("b", [4], [0.5, -0.5, 1, 0])
        let c = m.tensor("c", [1, 2, 2, 4], layout: .nhwc)
        m.node(.conv2d(Conv2D()), [x, w, bias], c)
        let r = m.tensor("r", [1, 4, 4])
        m.node(.reshape(shape: [1, 4, 4]), [c], r)
        let s = m.tensor("s", [1, 3, 4])
        m.node(.activation(Activation(.sigmoid)), [x2], s)
        let y = m.tensor("y", [1, 7, 4])
        m.node(.concat(axis: 1), [r, s], y)
        m.spec.outputs = [y]
        let run = try m.load()
        let t = run.spec.tensors
        #expect(t[c].offset == t[y].offset && t[r].offset == t[y].offset, "the Conv writes the first 16 values of y")
        #expect(t[s].offset == t[y].offset + 64, "the Sigmoid writes the last 12")
        let xv = (0..<12).map { Float($0) / 4 - 1 }, x2v = (0..<12).map { Float($0) / 3 - 2 }
        run.setInput(0, logical: xv)   // NCHW [1, 3, 2, 2]
        run.setInput(1, logical: x2v)
        run.invoke()
        var want: [Float] = []
        for p in 0..<4 {          // pixels in NHWC order
            for o in 0..<4 {
                var acc = [0.5, -0.5, 1, 0][o] as Float
                for ci in 0..<3 { acc += xv[ci * 4 + p] * (Float((o * 3 + ci) % 5) - 2) }
                want.append(acc)
            }
        }
        want += x2v.map { 1 / (1 + expf(-$0)) }
        expectClose(run.output(0), want, tol: 1e-6, "contiguous concat")
    }

    /// A tensor placed between a strided slice's rows while the slice is live is rejected: the slice
    /// spans its whole stride, not just its byte count.
    @Test func readerProtectsAStridedSlicesRows() throws {
        var (m, a, _, y) = fire(int8: false)
        // z = MaxPool(x) runs after a and is read (by zz) before b: live while a is, dead before b.
        let x = m.spec.inputs[0]
        let z = m.tensor("z", [1, 5, 4, 2], layout: .nhwc)
        let zz = m.tensor("zz", [1, 5, 4, 2], layout: .nhwc)
        m.spec.nodes.insert(NodeInfo(op: .maxPool(Pool2D()), name: "z", inputs: [x], outputs: [z]), at: 1)
        m.spec.nodes.insert(NodeInfo(op: .maxPool(Pool2D()), name: "zz", inputs: [z], outputs: [zz]), at: 2)
        m.spec.outputs.append(zz)
        _ = planArena(&m.spec)
        #expect(try outputBytes(m.spec).count == 640)
        // 252 bytes into y: past a's 240 bytes, but over its row of pixel 8 (bytes 256…267).
        m.spec.tensors[z].offset = m.spec.tensors[y].offset + 252
        m.spec.arenaBytes = max(m.spec.arenaBytes, m.spec.tensors[z].offset + 160)
        do {
            _ = try PackedModel(file: MappedFile(bytes: encodeSWL(m.spec)), path: "rows.swl")
            Issue.record("a tensor over a strided slice's rows was accepted")
        } catch {
            #expect(error.message.contains("'a'") && error.message.contains("'z'") && error.message.contains("overlap"), "\(error.message)")
        }
        _ = a
    }

    // MARK: Kernel scratch

    /// x [1, 6, 6, 4] → Quantize → int8 Mean over H and W → Dequantize: the Mean's int32 sums live
    /// in the arena, at a place free while it runs, and count in the lower bound.
    func meanModel() -> HandModel {
        var m = HandModel(name: "mean-int8")
        let x = m.tensor("x", [1, 6, 6, 4], layout: .nhwc)
        let xq = m.activation("x/int8", [1, 6, 6, 4], layout: .nhwc, quant: TensorQuant(scale: 0.1, zeroPoint: 2))
        m.node(.quantize, [x], xq)
        let yq = m.activation("y/int8", [1, 1, 1, 4], layout: .nhwc, quant: TensorQuant(scale: 0.05, zeroPoint: -1))
        m.node(.mean(axes: [1, 2], keepDims: true), [xq], yq)
        let y = m.tensor("y", [1, 1, 1, 4], layout: .nhwc)
        m.node(.dequantize, [yq], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        return m
    }

    @Test func meanScratchIsPlannedInTheArena() throws {
        var m = meanModel()
        _ = planArena(&m.spec)
        let spec = m.spec
        #expect(scratchBytes(spec.nodes[1], spec.tensors) == 16)
        let life = Lifetimes(spec), alias = Aliasing(spec)
        let off = try #require(scratchOffset(spec, step: 1, life: life, alias: alias), "no room for the Mean's scratch")
        #expect(off + 16 <= spec.arenaBytes)
        for t in [0, 1, 2] {
            let info = spec.tensors[t]
            #expect(off >= info.offset + info.byteCount || off + 16 <= info.offset, "scratch over '\(info.name)'")
        }
        // x (576 B), its int8 copy (144 B), the Mean's output (4 B) and the scratch (16 B) at step 1.
        #expect(liveBytesPerStep(spec)[1] == 576 + 144 + 4 + 16)
        let run = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "mean.swl"))
        let input = (0..<144).map { Float($0 % 13) / 4 - 1 }
        run.setInput(0, logical: input)
        run.invoke()
        // Per channel c (NCHW input: 36 values each), the mean of the quantized values.
        for c in 0..<4 {
            var sum: Float = 0
            for v in input[(c * 36)..<(c * 36 + 36)] { sum += (Float(Int((v / 0.1).rounded()) + 2) - 2) * 0.1 }
            #expect(abs(run.output(0)[c] - sum / 36) <= 0.05 + 1e-6, "channel \(c)")
        }
    }

    // MARK: Reused inputs

    /// With `reuseInputs`, x's memory is free once read: ReLU writes over it, the arena halves, and a
    /// run after setting the input again gives the same answer.
    @Test func reusedInputIsWrittenOver() throws {
        func chain(reuse: Bool) -> HandModel {
            var m = HandModel(name: "reuse")
            let x = m.tensor("x", [1, 64])
            let a = m.tensor("a", [1, 64]), b = m.tensor("b", [1, 64])
            m.node(.activation(Activation(.relu)), [x], a)
            m.node(.activation(Activation(.sigmoid)), [a], b)
            m.spec.inputs = [x]
            m.spec.outputs = [b]
            m.spec.reuseInputs = reuse
            return m
        }
        var kept = chain(reuse: false), reused = chain(reuse: true)
        let k = try kept.load(), r = try reused.load()
        #expect(k.spec.arenaBytes == 512 && r.spec.arenaBytes == 256, "\(k.spec.arenaBytes), \(r.spec.arenaBytes)")
        #expect(r.spec.reuseInputs, "the flag survives the file")
        let input = (0..<64).map { Float($0 - 32) / 8 }
        for run in [k, r] {
            run.setInput(0, logical: input)
            let snapshot = InputSnapshot(run)
            run.invoke()
            let first = run.output(0)
            snapshot.restore()
            run.invoke()
            #expect(run.output(0) == first && first == input.map { 1 / (1 + expf(-max($0, 0))) })
        }
        #expect(k.input(0) == input, "a kept input survives the run")
        #expect(r.input(0) != input, "the reused input was written over")

        // The same plan in a file that says the input is kept is rejected, naming x.
        var bad = reused.spec
        bad.reuseInputs = false
        do {
            _ = try PackedModel(file: MappedFile(bytes: encodeSWL(bad)), path: "bad.swl")
            Issue.record("a plan over a kept input was accepted")
        } catch {
            #expect(error.message.contains("'x'") && error.message.contains("overlap"), "\(error.message)")
        }
    }

    /// Real models give the same output bits whether their plan keeps or reuses the input.
    @Test(arguments: ["mtcnn_rnet", "squeezenet1_1"]) func reusedInputSameOutputs(model: String) throws {
        var outs: [[UInt8]] = []
        var arenas: [Int] = []
        for reuse in [false, true] {
            var options = ImportOptions()
            options.reuseInputs = reuse
            let spec = try importONNX(path: repoFile("models/onnx/\(model).onnx"), options: options)
            let run = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: model))
            let n = spec.tensors[spec.inputs[0]].byteCount / 4
            run.setInput(0, logical: (0..<n).map { Float($0 % 97) / 48 - 1 })
            let snapshot = InputSnapshot(run)
            run.invoke()
            snapshot.restore()
            run.invoke()
            outs.append(run.tensorBytes(spec.outputs[0]))
            arenas.append(spec.arenaBytes)
        }
        #expect(outs[0] == outs[1], "\(model): reusing the input changes the output")
        #expect(arenas[1] < arenas[0], "\(model): arena \(arenas[1]) with the input reused, \(arenas[0]) kept")
    }
}
