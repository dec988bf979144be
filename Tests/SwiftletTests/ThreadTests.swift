import CSwiftletSys
import Foundation
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletRuntime
import Testing

// Threads: the pool runs every part exactly once per run, and a model gives the same bytes at
// every thread count (1 to 4), with the SIMD variants and with the references, float32 and int8.

/// Per-part counters the pool task of `everyPartRunsOncePerRun` increments, and the thread each part
/// last ran on. Plain memory, not arrays: a task writes only its part's elements, whereas assigning
/// through an Array's subscript is a modifying access of the whole array, which from several threads
/// at once is a data race (ThreadSanitizer reported it, `tools/sanitize thread`).
private struct PartCounts {
    let hits = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 32)
    let parts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 32)
    let thread = UnsafeMutableBufferPointer<Int>.allocate(capacity: 32)
    init() {
        hits.initialize(repeating: 0)
        parts.initialize(repeating: -1)
        thread.initialize(repeating: -1)
    }
    func deallocate() {
        hits.deallocate()
        parts.deallocate()
        thread.deallocate()
    }
}

@Suite struct ThreadTests {
    /// Parts are claimed one at a time by whichever thread is free, so any part count works: fewer
    /// parts than threads, as many, and several per thread, as the steps use.
    @Test func everyPartRunsOncePerRun() throws {
        for threads in [1, 2, 3, 4] {
            for parts in [1, threads, 4 * threads, 7] {
                let pool = try ThreadPool(threads: threads, spin: 200)
                var counts = PartCounts()
                defer { counts.deallocate() }
                let rounds = 1_000
                try withUnsafeMutablePointer(to: &counts) { ctx in
                    for round in 0..<rounds {
                        pool.run({ context, part, parts, thread in
                            let c = context!.assumingMemoryBound(to: PartCounts.self)
                            // Each part is claimed once, so no two threads touch the same counter.
                            c.pointee.hits[part] += 1
                            c.pointee.parts[part] = parts
                            c.pointee.thread[part] = thread
                        }, context: UnsafeMutableRawPointer(ctx), parts: parts)
                        // Every part has finished when run returns: its count is already this round's.
                        for p in 0..<parts where ctx.pointee.hits[p] != Int32(round + 1) {
                            throw TestFailure("\(threads) threads, \(parts) parts, round \(round): part \(p) ran \(ctx.pointee.hits[p]) times")
                        }
                        // Let the workers fall asleep now and then, so waking them is tested too.
                        if round % 250 == 249 { usleep(2_000) }
                    }
                }
                #expect(Array(counts.hits[0..<parts]) == Array(repeating: Int32(rounds), count: parts))
                #expect(Array(counts.parts[0..<parts]) == Array(repeating: parts, count: parts))
                #expect(counts.hits[parts...].allSatisfy { $0 == 0 }, "a part beyond \(parts) ran")
                #expect(counts.thread[0..<parts].allSatisfy { $0 >= 0 && $0 < threads }, "a thread index beyond \(threads)")
            }
        }
    }

    /// A worker that stops in the middle of its part (here it sleeps 200 ms, as a descheduled one
    /// would) makes the caller wait far longer than its own part took: the pool counts a stall and
    /// the caller runs the next `minBackoff` runs' parts alone, then tries the workers again.
    @Test func aStalledWorkerMakesTheNextRunsInline() throws {
        let pool = try ThreadPool(threads: 2, spin: 1_000_000)
        let flag = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        defer { flag.deallocate() }
        flag.initialize(to: 0)
        // Part 0 (whichever thread takes it) waits, at most 2 s, until the other thread has claimed
        // part 1; the worker's part then sleeps. Repeated until the worker did take a part.
        var attempts = 0
        while pool.stalls == 0 && attempts < 20 {
            attempts += 1
            swl_atomic_store(flag, 0)
            pool.run({ context, part, _, thread in
                let f = context!.assumingMemoryBound(to: UInt32.self)
                if thread != 0 {
                    swl_atomic_store(f, 1)
                    usleep(200_000)
                } else if part == 0 {
                    var waited = 0
                    while swl_atomic_load(f) == 0 && waited < 2_000 { usleep(1_000); waited += 1 }
                }
            }, context: UnsafeMutableRawPointer(flag), parts: 2)
        }
        #expect(pool.stalls == 1, "after \(attempts) attempts")
        var counts = PartCounts()
        defer { counts.deallocate() }
        try withUnsafeMutablePointer(to: &counts) { ctx in
            for round in 0..<ThreadPool.minBackoff {
                pool.run({ context, part, _, thread in
                    context!.assumingMemoryBound(to: PartCounts.self).pointee.thread[part] = thread
                }, context: UnsafeMutableRawPointer(ctx), parts: 8)
                if !ctx.pointee.thread[0..<8].allSatisfy({ $0 == 0 }) {
                    throw TestFailure("run \(round) after the stall used a worker: \(Array(ctx.pointee.thread[0..<8]))")
                }
            }
        }
        #expect(pool.stalls == 1)
    }

    @Test func bandsCoverEveryIndexOnce() {
        for count in [0, 1, 2, 3, 7, 56, 112] {
            for parts in 1...5 {
                let bands = (0..<parts).map { band(count, part: $0, of: parts) }
                #expect(bands.map(\.count).reduce(0, +) == count)
                #expect(bands.first?.lowerBound == 0 && bands.last?.upperBound == count)
                for i in 1..<parts { #expect(bands[i].lowerBound == bands[i - 1].upperBound) }
                #expect((bands.map(\.count).max() ?? 0) - (bands.map(\.count).min() ?? 0) <= 1)
            }
        }
    }

    /// Streamed Conv pairs, depthwise, im2col, element-wise int8 and Concat slices at 1–4 threads:
    /// byte-identical outputs, and identical to the references for int8.
    @Test("same bytes at 1 to 4 threads", arguments: ["mobilenet_v2", "squeezenet1_1", "blazeface"])
    func bitIdenticalAcrossThreadCounts(model: String) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/\(model).onnx", dir: dir)
        let (int8, _) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 2)
        for path in [swl, int8] {
            for kernels in [KernelChoice.auto, .reference] {
                var first: [[UInt32]] = []
                for threads in 1...4 {
                    // Every divisible step divided, however short (the default runs the shortest whole).
                    let run = try Interpreter(model: PackedModel(path: path), kernels: kernels, threads: threads, divideAbove: 0)
                    #expect(run.threads == threads)
                    if model == "squeezenet1_1" && path == swl && kernels == .auto && CPUFeatures.current().isSuperset(of: [.avx2, .fma]) {
                        // Its 3×3 expands run by Winograd, whose bands are pairs of rows.
                        #expect(run.kernelNames.contains { $0.contains("winograd") }, "\(run.kernelNames)")
                    }
                    let n: Int = Shape.count(run.spec.tensors[run.spec.inputs[0]].logicalShape) ?? 0
                    var x = [Float](repeating: 0, count: n)
                    for i in 0..<n { x[i] = Float((i * 7919) % 255) / 64 - 2 }
                    run.setInput(0, logical: x)
                    run.invoke()
                    run.invoke()  // twice: a second run on the same pool gives the same bytes
                    var outs: [[UInt32]] = []
                    for o in 0..<run.spec.outputs.count { outs.append(run.output(o).map { (v: Float) in v.bitPattern }) }
                    if threads == 1 {
                        first = outs
                    } else {
                        #expect(outs == first, "\(path) --kernels \(kernels) on \(threads) threads differs from 1 thread")
                    }
                }
            }
        }
    }

    @Test func threadsFlagIsChecked() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/mtcnn_pnet.onnx", dir: dir)
        for bad in ["0", "65", "-2"] {
            let r = try swiftlet(["bench", swl, "--threads", bad, "--runs", "1"])
            #expect(r.status != 0 && r.stderr.contains("--threads"), "\(bad): \(r.stderr)")
        }
        let ok = try swiftlet(["bench", swl, "--threads", "2", "--runs", "2", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("\"threads\": 2"), "\(ok.stdout)")
    }
}
