import Foundation
import SwiftletCore
import SwiftletKernels
import Testing

import SwiftletEstimate

/// `swiftlet estimate`: ARM latency from llvm-mca's cycles for the board build's loops.
@Suite("estimate") struct EstimateTests {
    static func target(_ cpu: String, threads: Int) throws -> EstimateTarget {
        try EstimateTarget.resolve(board: nil, cpu: cpu, clockGHz: nil, bandwidthGBs: nil, threads: threads)
    }

    func variant(_ table: [KernelVariant], _ name: String) throws -> KernelVariant {
        try #require(table.first { $0.name == name }, "no \(name) in the arm64 table")
    }

    /// One loop's cycles per unit of work, read from the generated table.
    func perWork(_ cpu: String, _ loop: ArmLoopKind) throws -> Double {
        let l = try #require(generatedArmLoops.first { $0.cpu == cpu && $0.loop == loop }, "\(loop) on \(cpu)")
        return l.cyclesPerIteration / Double(l.workPerIteration)
    }

    /// MobileNetV2's 24 → 144 expansion at 56×56, int8, counted by hand: 3136 pixels are 784 tiles of
    /// 4 rows; 144 outputs are 18 blocks of 8; depth 24 is 6 steps of 4. The 4-row sdot loop runs
    /// 784 · 18 · 6 = 84,672 steps of 128 MACs, and 3136 · 18 = 56,448 rows of 8 outputs are requantized.
    /// Its depthwise 3×3 at 56×56×144: 9 blocks of 16 channels, 5 pairs of taps per pixel:
    /// 3136 · 9 · 5 = 141,120 steps of 32 MACs and 3136 · 9 = 28,224 pixels' requantization.
    @Test func layerCyclesMatchAHandCount() throws {
        let a76 = try Self.target("cortex-a76", threads: 1)
        let table = loops("cortex-a76")
        let pw = try variant(KernelTables.convQS8(.arm64), "conv2dQS8_gemm4x8c4_neonDot")
        let g = ConvGeometry(xShape: [1, 56, 56, 24], yShape: [1, 56, 56, 144], params: Conv2D())
        let (cycles, method, share) = layerCycles(pw, g, int8: true, outputElements: 56 * 56 * 144, loops: table, target: a76)
        let want = 84_672 * 128 * (try perWork("cortex-a76", .qs8GemmDot4)) + 56_448 * 8 * (try perWork("cortex-a76", .qs8GemmRequant8))
        #expect(abs(cycles - want) < 1e-6 * want, "\(cycles) vs \(want): \(method)")
        #expect(share == 1 && method.contains("qs8GemmDot4 × 84.7 K"), "\(method)")

        var dw = Conv2D()
        (dw.kernelH, dw.kernelW, dw.groups, dw.padTop, dw.padLeft, dw.padBottom, dw.padRight) = (3, 3, 144, 1, 1, 1, 1)
        let dwv = try variant(KernelTables.convQS8(.arm64), "conv2dQS8_dw16c_neon")
        let dg = ConvGeometry(xShape: [1, 56, 56, 144], yShape: [1, 56, 56, 144], params: dw)
        let (dc, _, _) = layerCycles(dwv, dg, int8: true, outputElements: 56 * 56 * 144, loops: table, target: a76)
        let dwant = 141_120 * 32 * (try perWork("cortex-a76", .qs8Depthwise)) + 28_224 * 16 * (try perWork("cortex-a76", .qs8DepthwiseRequant16))
        #expect(abs(dc - dwant) < 1e-6 * dwant, "\(dc) vs \(dwant)")

        // Without the dot product (Cortex-A72) the same layer counts the smull loop's steps.
        let a72 = try Self.target("cortex-a72", threads: 4)
        let neon = try variant(KernelTables.convQS8(.arm64), "conv2dQS8_gemm4x8c4_neon")
        let (c72, _, share72) = layerCycles(neon, g, int8: true, outputElements: 56 * 56 * 144, loops: loops("cortex-a72"), target: a72)
        let want72 = 84_672 * 128 * (try perWork("cortex-a72", .qs8Gemm4)) + 56_448 * 8 * (try perWork("cortex-a72", .qs8GemmRequant8))
        #expect(abs(c72 - want72) < 1e-6 * want72)
        // 784 tiles in 16 bands of 49: each of 4 threads takes 4 of them.
        #expect(share72 == 0.25)
    }

    /// The runtime's split: 4 · threads near-equal bands, each taken by the first free thread.
    @Test func busiestThreadShareFollowsTheBands() {
        #expect(busiestThreadShare(units: 10, threads: 1) == 1)
        #expect(busiestThreadShare(units: 1, threads: 4) == 1)
        #expect(busiestThreadShare(units: 7, threads: 2) == 4.0 / 7)  // 7 bands of 1: 4 and 3
        #expect(busiestThreadShare(units: 5, threads: 4) == 2.0 / 5)  // 5 bands of 1 on 4 threads
        #expect(busiestThreadShare(units: 100, threads: 4) == 0.25)  // 16 bands: 4 × 7, 12 × 6: 25 each
        #expect(busiestThreadShare(units: 18, threads: 4) == 5.0 / 18)  // 16 bands: 2 × 2, 14 × 1
    }

    /// The acceptance case: MobileNetV2 int8 on cortex-a72 and cortex-a76, per layer and in total,
    /// labelled as an estimate with its method; every layer is at least its bytes over the bandwidth.
    @Test func mobileNetV2Int8OnA72AndA76() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/mobilenet_v2.onnx", labels: true, dir: dir)
        let (int8, _) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 3)
        for cpu in ["cortex-a72", "cortex-a76"] {
            let r = try swiftlet(["estimate", int8, "--cpu", cpu, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
            #expect(obj["estimate"] as? Bool == true && obj["cpu"] as? String == cpu)
            #expect(obj["board"] as? String == (cpu == "cortex-a72" ? "rpi4" : "rpi5"))
            #expect((obj["method"] as? String ?? "").contains("llvm-mca"))
            let layers = try #require(obj["layers"] as? [[String: Any]])
            #expect(layers.count == 67)
            var sum = 0.0
            for l in layers {
                let ms = l["ms"] as! Double, compute = l["compute_ms"] as! Double, memory = l["memory_ms"] as! Double
                #expect(abs(ms - max(compute, memory)) <= 1e-6 * max(ms, 1e-9), "\(l)")
                #expect(abs(memory - Double(l["bytes"] as! Int) / ((obj["bandwidth_gbs"] as! Double) * 1e6)) <= 1e-4 * memory, "\(l)")
                sum += ms
                let kernel = l["kernel"] as! String
                if (l["op"] as! String).hasPrefix("Conv2D") {
                    #expect(kernel.hasSuffix(cpu == "cortex-a72" ? "_neon" : kernel.contains("dw16c") ? "_neon" : "_neonDot"), "\(kernel)")
                    #expect(compute > 0 && (l["cycles"] as! Double) > 0, "\(l)")
                }
            }
            #expect(abs(sum - (obj["total_ms"] as! Double)) <= 1e-4 * sum)
            #expect(obj["macs"] as? Int == 300_774_272, "\(obj["macs"] ?? "")")
            // The text form says what it is.
            let text = try swiftlet(["estimate", int8, "--cpu", cpu])
            #expect(text.stdout.hasPrefix("ESTIMATE, not a measurement") && text.stdout.contains("method: llvm-mca")
                    && text.stdout.contains("total ") && text.stdout.contains("features.18"), "\(text.stdout)")
        }
    }

    @Test func wrongTargetsAreExplained() throws {
        let r = try swiftlet(["estimate", "m.swl", "--cpu", "cortex-x9"])
        #expect(r.status != 0 && r.stderr.contains("--cpu 'cortex-x9'") && r.stderr.contains("cortex-a72"), "\(r.stderr)")
        let a55 = try swiftlet(["estimate", "m.swl", "--cpu", "cortex-a55"])
        #expect(a55.status != 0 && a55.stderr.contains("--clock-ghz"), "\(a55.stderr)")
        let none = try swiftlet(["estimate", "m.swl"])
        #expect(none.status != 0 && none.stderr.contains("--board"), "\(none.stderr)")
        let both = try swiftlet(["estimate", "m.swl", "--board", "rpi4", "--cpu", "cortex-a76"])
        #expect(both.status != 0 && both.stderr.contains("cortex-a72"), "\(both.stderr)")
    }

    /// The committed table is what llvm-mca gives for the kernels the rpi5 board build compiled
    /// (tools/test.sh builds the boards first; tools/deps.sh installs llvm-19).
    @Test func generatedLoopTableIsCurrent() throws {
        let r = try runProcess(repoFile("tools/estimate/kernel-cycles"), ["--check"], in: repoRoot)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    }
}
