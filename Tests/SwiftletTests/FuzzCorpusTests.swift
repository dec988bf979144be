import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletFuzz
import SwiftletModel
import SwiftletONNX
import Testing
import SwiftletPipeline

/// The fuzz corpora replayed on the normal build (issue #12 item 6): every committed seed and every
/// input that ever crashed a fuzz target (`Tests/Fuzz/TARGET/seeds`, `.../regressions`) goes
/// through the same function libFuzzer calls (`FuzzTarget.run`). A thrown `SwiftletError` is a
/// clean outcome; a trap stops the suite. Long runs: `tools/fuzz TARGET [SECONDS]`.
@Suite struct FuzzCorpusTests {
    static func files(_ target: FuzzTarget, _ kind: String) throws -> [String] {
        let dir = repoFile("Tests/Fuzz/\(target.rawValue)/\(kind)")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw TestFailure("\(dir) is missing")
        }
        return try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0 != "README.md" && !$0.hasPrefix(".") }
            .sorted()
            .map { dir + "/" + $0 }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
        return [UInt8](data)
    }

    /// Runs every file; returns how many the target accepted.
    static func replay(_ target: FuzzTarget, _ paths: [String]) throws -> (processed: Int, accepted: Int) {
        var processed = 0, accepted = 0
        for path in paths {
            let input = try bytes(path)
            do {
                try target.run(input)
                accepted += 1
            } catch {
                #expect(!error.message.isEmpty, "\(path): refused without a message")
            }
            processed += 1
        }
        return (processed, accepted)
    }

    @Test("every seed replays without a crash; valid seeds reach the deep paths", arguments: FuzzTarget.allCases)
    func seeds(target: FuzzTarget) throws {
        let paths = try Self.files(target, "seeds")
        #expect(paths.count >= 4, "Tests/Fuzz/\(target.rawValue)/seeds has \(paths.count) files")
        let r = try Self.replay(target, paths)
        #expect(r.processed == paths.count)
        // Most seeds are valid inputs (the ONNX and JPEG seeds include refused fixtures too).
        #expect(r.accepted * 2 >= paths.count, "\(target.rawValue): only \(r.accepted) of \(paths.count) seeds accepted")
    }

    /// Found by `tools/fuzz swl` (regressions/timeout-66da733f…): a mutant declaring a 64 MiB arena
    /// for 800 bytes of tensors was run, as the target ran every model with an arena up to 64 MiB;
    /// 67 ms an input under AddressSanitizer, and one input passed libFuzzer's 10 s on the shared
    /// machine. The target now runs arenas up to 4 MiB, which every seed still fits.
    @Test func swlInferenceReachesEverySeedButNotAHugeArena() throws {
        func spec(_ path: String) throws -> (ModelSpec, Int) {
            let model = try PackedModel(file: MappedFile(bytes: try Self.bytes(path)), path: path)
            return (model.spec, modelStats(model.spec).macs)
        }
        for path in try Self.files(.swl, "seeds") {
            let (s, macs) = try spec(path)
            #expect(fuzzRunsInference(s, macs: macs), "\(path): arena \(s.arenaBytes) bytes, \(macs) MACs")
        }
        let (s, macs) = try spec(repoFile("Tests/Fuzz/swl/regressions/timeout-66da733f6957df363caf64f8781299a48bad710e"))
        #expect(s.arenaBytes == 64 << 20)
        #expect(!fuzzRunsInference(s, macs: macs))
    }

    @Test("every input that ever crashed a fuzz target replays clean", arguments: FuzzTarget.allCases)
    func regressions(target: FuzzTarget) throws {
        let paths = try Self.files(target, "regressions")
        let r = try Self.replay(target, paths)
        #expect(r.processed == paths.count)
    }

    /// The `.swl` mutator reseals what it changes: most mutants get past the size and CRC checks
    /// (the point of structure-aware mutation), and some do not (so those checks are fuzzed too).
    @Test func swlMutantsGetPastTheCRC() throws {
        let flipOne: ByteMutator = { b, _ in
            var b = b
            if !b.isEmpty { b[b.count / 2] ^= 0x20 }
            return b
        }
        var crc = 0, total = 0
        for path in try Self.files(.swl, "seeds") {
            let seed = try Self.bytes(path)
            for s in UInt32(1)...64 {
                let m = mutateSWL(seed, maxSize: seed.count + 256, seed: s, bytes: flipOne)
                #expect(m.count <= seed.count + 256)
                total += 1
                do {
                    _ = try PackedModel(file: MappedFile(bytes: m), path: "m.swl")
                } catch {
                    if error.message.contains("CRC mismatch") { crc += 1 }
                }
            }
        }
        #expect(total > 0)
        #expect(crc * 6 < total, "\(crc) of \(total) mutants stopped at the CRC")
    }

    /// The ONNX mutator changes fields of the parsed model and gives protobuf that parses again, and
    /// its mutants run through the target without a crash.
    @Test func onnxFieldMutantsStayONNX() throws {
        var changed = 0, total = 0
        for path in try Self.files(.onnx, "seeds") {
            let seed = try Self.bytes(path)
            for s in UInt64(1)...24 {
                guard let m = mutateONNXFields(seed, seed: s) else { continue }
                total += 1
                if m != seed { changed += 1 }
                do { try FuzzTarget.onnx.run(m) } catch { #expect(!error.message.isEmpty) }
            }
        }
        #expect(total >= 24 * 20, "\(total) mutants: most seeds should parse")
        #expect(changed * 2 > total, "only \(changed) of \(total) mutants differ from their seed")
    }
}
