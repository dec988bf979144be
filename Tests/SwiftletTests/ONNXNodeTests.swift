import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletRuntime
import Testing

/// The ONNX project's own backend node tests (issue #19, point 1), generated from the pinned onnx
/// package by tools/onnx/node_tests.py (tools/models/prepare.sh runs it) into
/// ~/.cache/swiftlet/onnx-node-tests/onnx-<version>/. Every test whose ops Swiftlet maps and whose
/// inputs and outputs are tensors is imported and run on each of its data sets, float32 in, and
/// compared with the expected outputs: the same shape, and |got - want| <= 1e-4 |want| + 1e-6 per
/// element (NaN where NaN is expected). A test that does not pass as it is, with several inputs and one
/// data set, is tried again with its inputs after the first frozen into constants (`freezeONNXInputs`),
/// as exported models hold axes, bounds and shapes. The tests expected to pass are listed in
/// Tests/Conformance/onnx-node-tests.pass; a test that starts passing or failing changes the list
/// in the same commit, so coverage moves only on purpose; docs/ops.md's per-op table must agree. Each run's outcomes are written beside
/// the cache as results.tsv (name, then `pass` or the reason).
@Suite struct ONNXNodeTests {
    static var cache: String {
        let base = ProcessInfo.processInfo.environment["SWIFTLET_CACHE"] ?? (NSHomeDirectory() + "/.cache/swiftlet")
        return base + "/onnx-node-tests/" + ONNXOpSupport.source.replacingOccurrences(of: "onnx ", with: "onnx-")
    }

    struct Case {
        let name: String
        let ops: [String]
        let opset: Int
        /// Whether every input and output is a tensor (else "-" in index.tsv).
        let tensors: Bool
    }

    static func cases() throws -> [Case] {
        let text = try String(contentsOfFile: cache + "/index.tsv", encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Case(name: f[0], ops: f[1].split(separator: ",").map(String.init), opset: Int(f[2]) ?? 0,
                        tensors: f.count > 4 && f[3] != "-" && f[4] != "-")
        }
    }

    /// The tests Swiftlet runs: every op mapped, tensors in and out.
    static func selected(_ all: [Case]) -> [Case] {
        let mapped = ONNXOpSupport.mappedOps
        return all.filter { c in c.tensors && !c.ops.isEmpty && c.ops.allSatisfy { mapped.contains($0) } }
    }

    static func read(_ path: String) throws -> (shape: [Int], values: [Float], dataType: Int) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return try decodeONNXTensor(bytes: bytes, path: path)
    }

    static func close(_ got: [Float], _ want: [Float]) -> String? {
        for i in 0..<want.count {
            let (a, b) = (got[i], want[i])
            if b.isNaN { if a.isNaN { continue } else { return "element \(i): \(a), expected NaN" } }
            if b.isInfinite { if a == b { continue } else { return "element \(i): \(a), expected \(b)" } }
            if !(abs(a - b) <= 1e-4 * abs(b) + 1e-6) { return "element \(i): \(a), expected \(b)" }
        }
        return nil
    }

    /// "pass", or why not (the import's refusal, a shape or value mismatch). When the test as it is
    /// does not pass, has several inputs and one data set, it is tried again with the inputs after the
    /// first frozen into constants (as exporters write axes, bounds and shapes): "pass frozen" then.
    static func outcome(_ c: Case) -> String {
        let dir = cache + "/" + c.name
        guard let bytes = try? [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/model.onnx"))),
            let sets = try? FileManager.default.contentsOfDirectory(atPath: dir).filter({ $0.hasPrefix("test_data_set_") }).sorted(),
            !sets.isEmpty
        else { return "no model or data sets" }
        let plain = outcome(c, bytes, sets, frozen: 0)
        let inputs = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + sets[0]).filter { $0.hasPrefix("input_") }.count) ?? 0
        guard plain != "pass", inputs > 1, sets.count == 1 else { return plain }
        do {
            let extra = try (1..<inputs).map { k in [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/\(sets[0])/input_\(k).pb"))) }
            let frozen = try freezeONNXInputs(bytes, extra, path: c.name)
            let r = outcome(c, frozen, sets, frozen: inputs - 1)
            return r == "pass" ? "pass frozen" : plain + " | frozen: " + r
        } catch {
            return plain
        }
    }

    /// The outcome of `model` on each data set, its last `frozen` inputs already constants.
    static func outcome(_ c: Case, _ bytes: [UInt8], _ sets: [String], frozen: Int) -> String {
        let dir = cache + "/" + c.name
        let spec: ModelSpec
        do {
            spec = try importONNX(bytes: bytes, path: c.name + ".onnx", options: ImportOptions())
        } catch {
            return "refused: " + error.message
        }
        do {
            let model = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: c.name + ".swl")
            let interp = try Interpreter(model: model)
            for set in sets {
                let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/" + set)
                let nIn = files.filter { $0.hasPrefix("input_") }.count - frozen
                let nOut = files.filter { $0.hasPrefix("output_") }.count
                if nIn != spec.inputs.count { return "\(set): \(nIn) inputs, the imported model has \(spec.inputs.count)" }
                if nOut != spec.outputs.count { return "\(set): \(nOut) outputs, the imported model has \(spec.outputs.count)" }
                for k in 0..<nIn {
                    let x = try read(dir + "/\(set)/input_\(k).pb")
                    if x.dataType != 1 { return "\(set): input \(k) has ONNX type \(x.dataType), not float" }
                    let want = spec.tensors[spec.inputs[k]].logicalShape
                    if x.values.count != want.reduce(1, *) { return "\(set): input \(k) has shape \(x.shape), the model \(want)" }
                    interp.setInput(k, logical: x.values)
                }
                interp.invoke()
                for k in 0..<nOut {
                    let y = try read(dir + "/\(set)/output_\(k).pb")
                    let shape = spec.tensors[spec.outputs[k]].logicalShape
                    if shape != y.shape { return "\(set): output \(k) has shape \(shape), expected \(y.shape)" }
                    if let bad = close(interp.output(k), y.values) { return "\(set): output \(k) \(bad)" }
                }
            }
        } catch let e as SwiftletError {
            return "failed: " + e.message
        } catch {
            return "failed: \(error)"
        }
        return "pass"
    }

    @Test func passListMatches() throws {
        guard FileManager.default.fileExists(atPath: Self.cache + "/.complete") else {
            throw TestFailure("\(Self.cache) is missing: run tools/models/prepare.sh (it runs tools/onnx/node_tests.py)")
        }
        let all = try Self.cases()
        let chosen = Self.selected(all)
        var results: [(String, String)] = []
        for c in chosen { results.append((c.name, Self.outcome(c))) }
        // A list entry is the test's name, followed by " frozen" when it passes with its extra inputs frozen.
        let passing = Set(results.filter { $0.1.hasPrefix("pass") }.map { $0.1 == "pass" ? $0.0 : $0.0 + " frozen" })
        let listText = try String(contentsOfFile: repoFile("Tests/Conformance/onnx-node-tests.pass"), encoding: .utf8)
        let listed = Set(listText.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map(String.init))
        let tsv = results.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n"
        try? tsv.write(toFile: Self.cache + "/results.tsv", atomically: true, encoding: .utf8)
        #expect(chosen.count > 0, "no node test has only ops Swiftlet maps")
        let newlyPassing = passing.subtracting(listed).sorted()
        let newlyFailing = listed.subtracting(passing).sorted()
        #expect(newlyPassing.isEmpty, "now pass, add them to Tests/Conformance/onnx-node-tests.pass: \(newlyPassing)")
        for name in newlyFailing {
            let bare = name.hasSuffix(" frozen") ? String(name.dropLast(7)) : name
            let why = results.first { $0.0 == bare }?.1 ?? "not selected (its ops are no longer all mapped)"
            Issue.record("\(name) is listed as passing but \(why)")
        }
        // docs/ops.md's per-op table says the same: per op, the tests selected, passing, passing frozen.
        var counts: [String: [Int]] = [:]
        for (c, r) in zip(chosen, results.map(\.1)) {
            let op = c.ops.count == 1 ? c.ops[0] : "several ops (expanded functions …)"
            var n = counts[op] ?? [0, 0, 0]
            n[0] += 1
            if r.hasPrefix("pass") { n[1] += 1 }
            if r == "pass frozen" { n[2] += 1 }
            counts[op] = n
        }
        let docs = try String(contentsOfFile: repoFile("docs/ops.md"), encoding: .utf8)
        for (op, n) in counts.sorted(by: { $0.key < $1.key }) {
            let row = "| \(op) | \(n[0]) | \(n[1]) | \(n[2]) |"
            let listed = docs.contains(row + "\n")
            #expect(listed, "docs/ops.md's conformance table lacks the row '\(row)'")
        }
        print("ONNX node tests (\(ONNXOpSupport.source)): \(passing.count) of \(chosen.count) with only mapped ops pass (\(all.count) in all); outcomes in \(Self.cache)/results.tsv")
    }
}
