import Foundation
import SwiftletCore
import SwiftletModel
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
}
