import CSwiftletKernels
import CSwiftletSys
import SwiftletCore
import SwiftletKernels
#if canImport(Glibc)
import Glibc
#endif

// swiftlet-peak [SECONDS]
// swiftlet-peak conv3x3 H W C O [SECONDS]
//
// conv3x3: one float 3×3 convolution (stride 1, padding 1, H × W × C → H × W × O, random data) by each
// float variant of the table that takes it on this CPU (im2col and Winograd), alternating, each
// repeated for about SECONDS (default 0.3) per round, five rounds; prints one JSON object per
// variant with its lowest time per call: {"variant", "h", "w", "c", "o", "ms"} (tools/bench/winograd).
//
// The int8 multiply-add peak of one core, measured: the instructions the int8 GEMM variants use
// (x86-64: vpmaddwd + vpaddd, and vpdpbusd where the CPU has AVX-512 VNNI; arm64: smull + sadalp,
// and sdot where the CPU has it), and on x86-64 the float32 GEMM's vfmadd231ps, in twelve
// independent chains for about SECONDS (default 0.5) per instruction. Prints one JSON object per
// instruction: {"instruction", "macs_per_instruction", "gmacs", "used"} ("used": false for the x86
// vpmaddubsw path, ONNX Runtime's U8S8 GEMM, which no Swiftlet kernel uses: printed for comparison).
// Pin it with taskset, as the benchmark it feeds does (tools/bench/pointwise).

let args = CommandLine.arguments

/// Times one float 3×3 convolution by each variant that takes it (see the header).
func conv3x3(_ a: [String]) {
    let n = a.prefix(4).compactMap { Int($0) }
    guard n.count == 4, n.allSatisfy({ $0 > 0 && $0 <= 4096 }) else {
        sys_print("usage: swiftlet-peak conv3x3 H W C O [SECONDS]")
        exit(64)
    }
    let (h, w, c, o) = (n[0], n[1], n[2], n[3])
    let seconds = a.count > 4 ? (Double(a[4]) ?? 0.3) : 0.3
    var p = Conv2D()
    (p.kernelH, p.kernelW, p.padTop, p.padLeft, p.padBottom, p.padRight) = (3, 3, 1, 1, 1, 1)
    let g = ConvGeometry(xShape: [1, h, w, c], yShape: [1, h, w, o], params: p)
    var rng = SplitMix64(state: 1)
    let x = (0..<(h * w * c)).map { _ in Float(rng.below(2001)) / 1000 - 1 }
    let wt = (0..<(o * 9 * c)).map { _ in Float(rng.below(2001)) / 1000 - 1 }
    let b = (0..<o).map { _ in Float(rng.below(2001)) / 1000 - 1 }
    var y = [Float](repeating: 0, count: h * w * o)
    let features = CPUFeatures.current()
    let variants = KernelTables.convF32.filter { $0.algorithm != .reference && $0.runs(on: features) && $0.accepts(g) }
    var best = [Double](repeating: .infinity, count: variants.count)
    var packs: [(PackedConv, UnsafeMutableRawPointer?)] = []
    for v in variants {
        guard let pk = try? packConvF32(v, g, w: wt, b: b, what: "conv3x3") else { exit(1) }
        packs.append((pk, pk.scratchBytes > 0 ? try? sys_alignedAllocate(bytes: pk.scratchBytes, alignment: 64, what: "conv3x3") : nil))
    }
    for _ in 0..<5 {
        for (i, v) in variants.enumerated() {
            var calls = 0
            let t0 = swl_monotonic_ns()
            var dt = 0.0
            repeat {
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        conv2dF32_fast(v, g, x: xp.baseAddress!, packed: packs[i].0.weights, scratch: packs[i].1, y: yp.baseAddress!,
                                       activation: .init(.relu))
                    }
                }
                calls += 1
                dt = Double(swl_monotonic_ns() - t0) / 1e9
            } while dt < seconds
            best[i] = min(best[i], dt / Double(calls))
        }
    }
    for (i, v) in variants.enumerated() {
        let ms = (best[i] * 1e6).rounded() / 1e3
        sys_print("{\"variant\": \"\(v.name)\", \"h\": \(h), \"w\": \(w), \"c\": \(c), \"o\": \(o), \"ms\": \(ms)}")
    }
}

if args.count > 1 && args[1] == "conv3x3" {
    conv3x3(Array(args.dropFirst(2)))
    exit(0)
}
let seconds = args.count > 1 ? (Double(args[1]) ?? 0.5) : 0.5

/// Runs `probe` long enough to take `seconds`, then returns multiply-adds per second.
func measure(_ macsPerIteration: Double, _ probe: (Int) -> Int32) -> Double {
    var iterations = 1 << 16
    var sink: Int32 = 0
    while true {
        let t0 = swl_monotonic_ns()
        sink ^= probe(iterations)
        let dt = Double(swl_monotonic_ns() - t0) / 1e9
        if dt >= seconds || iterations >= 1 << 40 {
            if sink == 0x7fff_ffff { sys_print("") }  // keeps the probe's result alive
            return Double(iterations) * macsPerIteration / dt
        }
        iterations *= dt < seconds / 8 ? 8 : 2
    }
}

/// `used`: whether a Swiftlet kernel uses the instruction (false: printed for comparison only).
func report(_ name: String, _ perInstruction: Int, _ macs: Double, used: Bool = true) {
    let g = (macs / 1e9 * 10).rounded() / 10
    sys_print("{\"instruction\": \"\(name)\", \"macs_per_instruction\": \(perInstruction), \"gmacs\": \(g), \"used\": \(used)}")
}

let features = CPUFeatures.current()
#if arch(x86_64)
if features.contains(.avx2) {
    report("vpmaddwd+vpaddd", 16, measure(12 * 16) { swk_peak_madd_avx2($0) })
    // ONNX Runtime's U8S8 path, for comparison: inexact (vpmaddubsw saturates), so not used here.
    report("vpmaddubsw+vpmaddwd+vpaddd", 32, measure(12 * 32) { swk_peak_maddubs_avx2($0) }, used: false)
    // The float32 GEMM's instruction (multiply-adds of float32, not int8).
    report("vfmadd231ps ymm (float32)", 8, measure(12 * 8) { swk_peak_fma_avx2($0) })
}
if features.isSuperset(of: KernelTables.vnni) {
    report("vpdpbusd ymm", 32, measure(12 * 32) { swk_peak_dpbusd_avx512vnni($0) })
    report("vpdpbusd zmm", 64, measure(12 * 64) { swk_peak_dpbusd512_avx512vnni($0) }, used: false)
}
#elseif arch(arm64)
report("smull+sadalp", 8, measure(12 * 8) { swk_peak_smull_neon($0) })
if features.contains(.dotprod) {
    report("sdot", 16, measure(12 * 16) { swk_peak_sdot_neon($0) })
}
#endif
