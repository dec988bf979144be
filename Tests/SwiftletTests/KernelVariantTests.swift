import CSwiftletKernels
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletRuntime
import Testing

/// The kernel-variant seam: every SIMD variant of the tables against the scalar reference (the same
/// self-test the board binaries run under qemu, `BoardTests`), the vector requantization against
/// `FixedPoint`, selection, and whole models with `auto` against `reference`.
@Suite("kernel variants") struct KernelVariantTests {
    /// x86-64 variants need AVX2 (+FMA); on a CPU without them the self-test has nothing to check,
    /// which must be said rather than passed silently.
    static var simdVariants: [KernelVariant] {
        KernelTables.all.flatMap { $0 }.filter { $0.algorithm != .reference }
    }

    @Test("every SIMD variant this CPU runs matches the reference", arguments: [1, 2, 3] as [UInt64])
    func selfTest(seed: UInt64) throws {
        let features = CPUFeatures.current()
        let runnable = Self.simdVariants.filter { $0.runs(on: features) }
        try #require(!runnable.isEmpty, "this CPU (\(features.names)) runs none of the SIMD variants: \(Self.simdVariants.map(\.name))")
        let r = kernelSelfTest(features: features, seed: seed, randomCases: 150)
        #expect(r.failures.isEmpty, "\(r.failures.count) of \(r.cases) cases failed:\n\(r.failures.prefix(10).joined(separator: "\n"))")
        #expect(Set(r.variants) == Set(runnable.map(\.name)))
        for (name, n) in zip(r.variants, r.casesPerVariant) { #expect(n >= 8, "\(name) was compared on \(n) cases") }
        #expect(r.cases > 350)
    }

    #if arch(x86_64)
    /// The AVX2 requantization against `FixedPoint.multiply` on the values where rounding and
    /// overflow bite: ±2^31 ends, ties, every shift from −31 to 2, multipliers 0, 2^30 and 2^31 − 1.
    @Test func avx2RequantizationIsBitExact() throws {
        try #require(CPUFeatures.current().contains(.avx2), "needs AVX2")
        var acc: [Int32] = [0, 1, -1, 2, -2, 3, -3, Int32.max, Int32.min, Int32.min + 1, 1 << 30, -(1 << 30), 12345, -12345, 65535, -65536]
        var rng = SplitMix64(state: 5)
        for _ in 0..<2000 { acc.append(Int32(truncatingIfNeeded: rng.next())) }
        for _ in 0..<2000 { acc.append(Int32(truncatingIfNeeded: rng.next()) >> Int32(rng.next() % 31)) }
        let multipliers: [Int32] = [0, 1 << 30, Int32.max, 1_518_500_250, 1_073_741_825, 2_000_000_001]
        for m in multipliers {
            for shift in -31...2 {
                for (zp, lo, hi) in [(Int32(0), Int32(-128), Int32(127)), (-5, -128, 127), (17, 0, 90)] {
                    let n = acc.count
                    let mult = [Int32](repeating: m, count: n)
                    let sh = [Int32](repeating: Int32(shift), count: n)
                    var got = [Int8](repeating: 0, count: n)
                    var out = swk_qs8_output(zero_point: zp, lo: lo, hi: hi, input_zero_point: 0, float32: 0)
                    swk_requant_avx2(n, acc, mult, sh, &got, &out)
                    let r = Requantization(multipliers: mult, shifts: sh.map { Int($0) }, outputZeroPoint: zp, clampMin: lo, clampMax: hi)
                    for i in 0..<n where got[i] != r.apply(acc[i], channel: i) {
                        Issue.record("acc \(acc[i]) × \(m) shift \(shift) zp \(zp): got \(got[i]), want \(r.apply(acc[i], channel: i))")
                        return
                    }
                }
            }
        }
    }
    #endif

    #if arch(x86_64)
    /// The AVX2 float32 requantization against `Requantization.apply` (mode `.float32`) where it can go
    /// wrong: exact ties (scales that are powers of two, so acc · scale lands on k + ½ and must round to
    /// even), the ±2^31 ends with scales up to 2^20 (the conversion must not wrap), tiny scales, accumulators
    /// beyond 2^24 (the int → float conversion rounds), zero points at both ends and narrow clamps.
    @Test func avx2FloatRequantizationIsBitExact() throws {
        try #require(CPUFeatures.current().contains(.avx2), "needs AVX2")
        var acc: [Int32] = [0, 1, -1, 2, -2, 3, -3, 5, -5, 7, -7, Int32.max, Int32.min, Int32.min + 1, 1 << 30, -(1 << 30),
                            (1 << 24) + 1, -(1 << 24) - 3, 12345, -12345, 65535, -65536]
        var rng = SplitMix64(state: 9)
        for _ in 0..<2000 { acc.append(Int32(truncatingIfNeeded: rng.next())) }
        for _ in 0..<2000 { acc.append(Int32(truncatingIfNeeded: rng.next()) >> Int32(rng.next() % 31)) }
        var scales: [Float] = [0, 0.5, 0.25, 0.125, 1, 2, 1.0 / 1024, 1_048_576, 3e-9, 0.0123456, 0.999_999_9, 1.000_000_1]
        for _ in 0..<20 { scales.append(Float(rng.next() % 1_000_000) / 1_000_000 * 0.05) }
        for scale in scales {
            for (zp, lo, hi) in [(Int32(0), Int32(-128), Int32(127)), (-128, -128, 127), (127, -128, 127), (17, 17, 90), (-5, -100, -90)] {
                let n = acc.count
                let bits = [Int32](repeating: Int32(bitPattern: scale.bitPattern), count: n)
                let zeros = [Int32](repeating: 0, count: n)
                var got = [Int8](repeating: 0, count: n)
                var out = swk_qs8_output(zero_point: zp, lo: lo, hi: hi, input_zero_point: 0, float32: 1)
                swk_requant_avx2(n, acc, bits, zeros, &got, &out)
                let r = Requantization(scales: [Float](repeating: scale, count: n), outputZeroPoint: zp, clampMin: lo, clampMax: hi)
                for i in 0..<n where got[i] != r.apply(acc[i], channel: i) {
                    Issue.record("acc \(acc[i]) × \(scale) zp \(zp) [\(lo), \(hi)]: got \(got[i]), want \(r.apply(acc[i], channel: i))")
                    return
                }
            }
        }
        // Scales a file can hold (each below 1e30) whose ratio is beyond float32: the scale stays finite,
        // so a zero sum stays the zero point and others saturate, as the fixed point's largest multiplier
        // does, in the reference and the kernel alike (an infinite scale made 0 · ∞ NaN, and the
        // reference trapped converting it).
        let huge = Requantization(inputScale: 1e29, weightScales: [1e29], outputScale: 1e-30, outputZeroPoint: 3, mode: .float32)
        #expect(huge.scales == [Float.greatestFiniteMagnitude])
        #expect([0, 1, -1, Int32.max, Int32.min].map { huge.apply($0, channel: 0) } == [3, 127, -128, 127, -128])
        var hugeGot = [Int8](repeating: 0, count: 5)
        var hugeOut = swk_qs8_output(zero_point: 3, lo: -128, hi: 127, input_zero_point: 0, float32: 1)
        swk_requant_avx2(5, [0, 1, -1, Int32.max, Int32.min], [Int32](repeating: Int32(bitPattern: huge.scales[0].bitPattern), count: 5),
                         [Int32](repeating: 0, count: 5), &hugeGot, &hugeOut)
        #expect(hugeGot == [3, 127, -128, 127, -128])
        let hugeAdd = AddQS8Params(input1: QuantParams(scale: 1e29, zeroPoint: 0), input2: QuantParams(scale: 1e-30, zeroPoint: 0),
                                   output: QuantParams(scale: 1e-30, zeroPoint: 0), mode: .float32)
        #expect([hugeAdd.apply(0, 5), hugeAdd.apply(1, 0), hugeAdd.apply(-1, 0)] == [5, 127, -128])
        // Ties round to even: 5 · 0.5 = 2.5 → 2, 7 · 0.5 = 3.5 → 4, −5 · 0.5 → −2.
        let r = Requantization(scales: [0.5], outputZeroPoint: 0)
        #expect([5, 7, -5, -7, 3].map { r.apply($0, channel: 0) } == [2, 4, -2, -4, 2])
    }
    #endif


    #if arch(x86_64)
    /// The load-time check that lets the VNNI GEMM skip its float32 bound: |bias| + 128 · Σ |w| times the
    /// scale against 2^30, for every output (the last of a partial block too), and the GEMM's outputs
    /// with the bound skipped equal the reference's for inputs that reach that sum.
    @Test func floatBoundIsCheckedPerOutput() throws {
        try #require(CPUFeatures.current().contains(.avx512vnni), "needs AVX-512 VNNI")
        let v = try #require(KernelTables.fullyConnectedQS8.first { $0.isa == .avx512vnni })
        let n = 11, k = 7
        let w = [Int8](repeating: -127, count: n * k)
        let bias = [Int32](repeating: -1000, count: n)
        let sum = 1000.0 + 128.0 * 127.0 * Double(k)  // 114,792
        func packed(lastScale: Double, mode: RequantizationMode = .float32) throws -> (UnsafeMutableRawPointer, Requantization) {
            var scales = [Float](repeating: 1e-3, count: n)
            scales[n - 1] = Float(lastScale)
            let r = mode == .float32 ? Requantization(scales: scales, outputZeroPoint: 0)
                : Requantization(inputScale: 1, weightScales: scales, outputScale: 1, outputZeroPoint: 0, mode: .fixedPoint)
            return (try packGemmQS8(w: w, bias: bias, n: n, k: k, inputZeroPoint: 0, requant: r, what: "test"), r)
        }
        let (below, rb) = try packed(lastScale: 1_073_741_824 / sum * 0.999)
        defer { sys_free(below) }
        let (above, ra) = try packed(lastScale: 1_073_741_824 / sum * 1.001)
        defer { sys_free(above) }
        let (fixed, rf) = try packed(lastScale: 1e-3, mode: .fixedPoint)
        defer { sys_free(fixed) }
        #expect(qs8FloatBounded(v, rb, n: n, k: k, packed: below))
        #expect(!qs8FloatBounded(v, ra, n: n, k: k, packed: above))
        #expect(!qs8FloatBounded(v, rf, n: n, k: k, packed: fixed), "fixed point has no float32 bound")
        // Inputs all −128 or all 127 against weights of −127 reach the sum's ends.
        for x0: Int8 in [-128, 127] {
            let rows = 9
            let x = [Int8](repeating: x0, count: rows * k)
            var want = [Int8](repeating: 0, count: rows * n)
            fullyConnectedQS8_reference(x: x, rows: rows, depth: k, inputZeroPoint: 0, w: w, bias: bias, y: &want, units: n, requant: rb)
            var got = [Int8](repeating: 99, count: rows * n)
            let scratch = try sys_alignedAllocate(bytes: convScratchBytes(v, ConvGeometry(rows: rows, depth: k, units: n), int8: true),
                                                  alignment: 64, what: "test")
            defer { sys_free(scratch) }
            fullyConnectedQS8_fast(v, x: x, rows: rows, depth: k, packed: below, scratch: scratch, y: &got, units: n,
                                   out: qs8Output(rb, inputZeroPoint: 0, bounded: true))
            #expect(got == want, "x = \(x0)")
        }
    }
    #endif
    #if arch(x86_64)
    /// The int8 add's input rescale without 64-bit multiplies (x86_avx2.c, swk_add_rescale) against
    /// `FixedPoint.multiply((x − zp) · 2^20, m, shift)`: every input byte and zero point, multipliers
    /// at the path's edges and random ones, every shift it takes; and it must take the usual ones.
    @Test func addRescaleWithoutWideMultipliesIsExact() throws {
        try #require(CPUFeatures.current().contains(.avx2), "needs AVX2")
        let x = (0..<256).map { Int8(truncatingIfNeeded: $0) }
        var rng = SplitMix64(state: 11)
        var multipliers: [Int32] = [1 << 10, (1 << 10) + 1, 1 << 30, Int32.max, 1_518_500_250, 1_073_741_825]
        for _ in 0..<40 { multipliers.append(Int32(1 << 30) + Int32(truncatingIfNeeded: rng.next() % (1 << 30))) }
        var taken = 0
        for m in multipliers {
            for shift in -13...1 {
                for zp: Int32 in [-128, -77, -1, 0, 1, 64, 127] {
                    var got = [Int32](repeating: 0, count: 256)
                    guard swk_add_rescale_avx2(256, x, zp, m, Int32(shift), &got) == 1 else {
                        #expect(shift > 0 || shift < -11 || m <= 1 << 10, "m \(m) shift \(shift) should take the fast path")
                        continue
                    }
                    taken += 1
                    for i in 0..<256 {
                        let want = FixedPoint.multiply((Int32(x[i]) - zp) << 20, by: m, shift: shift)
                        if got[i] != want {
                            Issue.record("x \(x[i]) zp \(zp) m \(m) shift \(shift): got \(got[i]), want \(want)")
                            return
                        }
                    }
                }
            }
        }
        #expect(taken > 2000)
    }
    #endif

    /// Every pair of int8 inputs (65,536) through each int8 add variant, for scale ratios that give the
    /// inputs' rescales exponents the AVX2 add computes without 64-bit multiplies and ones it hands
    /// back (the rescale alone is checked value by value above: a unit off there seldom moves a byte).
    /// Host only: the board's selftest keeps its code small (docs/benchmarks.md, board binary size).
    @Test func addMatchesTheReferenceOnEveryInputPair() throws {
        var a = [Int8](repeating: 0, count: 65536), b = a
        for i in 0..<65536 {
            a[i] = Int8(truncatingIfNeeded: i & 255)
            b[i] = Int8(truncatingIfNeeded: i >> 8)
        }
        var rng = SplitMix64(state: 17)
        let variants = KernelTables.addQS8.filter { $0.algorithm != .reference && $0.runs(on: .current()) }
        try #require(!variants.isEmpty, "no SIMD add on this CPU")
        for v in variants {
            for mode in [RequantizationMode.fixedPoint, .float32] {
                // The last ratio with the output at twice the first input's scale: float32 scales of ½
                // and ¼, whose sums land on exact ties (round to even).
                for ratio: Float in [1, 0.7, 0.3, 1.0 / 40, 1.0 / 900, 1.0 / 3000, 1.0 / 10000, 0.5] {
                    let s1 = 0.01 + Float(rng.next() % 100) / 1000, s2 = s1 * ratio
                    let q1 = QuantParams(scale: s1, zeroPoint: Int32(rng.next() % 256) - 128)
                    let q2 = QuantParams(scale: s2, zeroPoint: Int32(rng.next() % 256) - 128)
                    let qo = QuantParams(scale: ratio == 0.5 ? 2 * s1 : s2 * Float(1 + rng.next() % 8) / 4, zeroPoint: Int32(rng.next() % 256) - 128)
                    for (lo, hi): (Int32, Int32) in [(-128, 127), (-20, 60)] {
                        let p = AddQS8Params(input1: q1, input2: q2, output: qo, clampMin: lo, clampMax: hi, mode: mode)
                        let d = Dims6([65536])
                        var want = [Int8](repeating: 0, count: 65536), got = [Int8](repeating: 99, count: 65536)
                        addQS8_reference(a: a, sa: d.broadcastStrides(to: d), b: b, sb: d.broadcastStrides(to: d), y: &want, out: d, params: p)
                        addQS8_fast(v, a: a, b: b, y: &got, count: 65536, params: p)
                        if let i = (0..<65536).first(where: { got[$0] != want[$0] }) {
                            Issue.record("\(v.name) \(mode.name), scale ratio \(ratio), clamp \(lo)…\(hi): inputs \(a[i]), \(b[i]): got \(got[i]), want \(want[i])")
                        }
                    }
                }
            }
        }
        // Scale pairs where the fused multiply-add and two separately rounded products round to
        // different bytes (found by searching scale pairs; 1–4 input pairs of 65,536 each): a kernel
        // that dropped the fma would pass everything above and fail here.
        var distinguishing = 0
        for (r1, r2): (Float, Float) in [(1.1623427867889404, 1.030198574066162), (1.8914380073547363, 1.1411112546920776),
                                         (1.8686596155166626, 0.6184186339378357), (1.8551260232925415, 1.2496143579483032)] {
            let p = AddQS8Params(input1: QuantParams(scale: r1, zeroPoint: 0), input2: QuantParams(scale: r2, zeroPoint: 0),
                                 output: QuantParams(scale: 1, zeroPoint: 0), mode: .float32)
            #expect(p.scale1 == r1 && p.scale2 == r2)
            for i in 0..<65536 {
                let t = Float(a[i]) * r1, unfused = t + Float(b[i]) * r2
                if t.addingProduct(Float(b[i]), r2).rounded(.toNearestOrEven) != unfused.rounded(.toNearestOrEven) { distinguishing += 1 }
            }
            let d = Dims6([65536])
            for v in variants {
                var want = [Int8](repeating: 0, count: 65536), got = [Int8](repeating: 99, count: 65536)
                addQS8_reference(a: a, sa: d.broadcastStrides(to: d), b: b, sb: d.broadcastStrides(to: d), y: &want, out: d, params: p)
                addQS8_fast(v, a: a, b: b, y: &got, count: 65536, params: p)
                if let i = (0..<65536).first(where: { got[$0] != want[$0] }) {
                    Issue.record("\(v.name) float32, scales \(r1), \(r2): inputs \(a[i]), \(b[i]): got \(got[i]), want \(want[i])")
                }
            }
        }
        #expect(distinguishing > 0, "the scale pairs no longer tell a fused multiply-add from two roundings")
        // Float32 ties round to even: with scales ½ and ¼ and zero points 0, 1 + 2 → 0.5 + 0.5 = 1,
        // 1 + 0 → 0.5 → 0, 3 + 0 → 1.5 → 2, −1 + 0 → −0.5 → 0.
        let half = AddQS8Params(input1: QuantParams(scale: 1, zeroPoint: 0), input2: QuantParams(scale: 0.5, zeroPoint: 0),
                                output: QuantParams(scale: 2, zeroPoint: 0), mode: .float32)
        #expect([half.apply(1, 2), half.apply(1, 0), half.apply(3, 0), half.apply(-1, 0)] == [1, 0, 2, 0])
    }

    @Test func selectionFollowsTheTableAndTheChoice() throws {
        var p = Conv2D()
        p.kernelH = 3
        p.kernelW = 3
        p.groups = 32
        let dw = ConvGeometry(xShape: [1, 8, 8, 32], yShape: [1, 6, 6, 32], params: p)
        let all = CPUFeatures(rawValue: UInt32.max)
        #expect(KernelTables.select(KernelTables.convF32, dw, features: all, choice: .reference).name == "conv2dF32_reference")
        #expect(KernelTables.select(KernelTables.convF32, dw, features: [], choice: .auto).name == "conv2dF32_reference")
        #if arch(x86_64) || arch(arm64)
        #expect(KernelTables.select(KernelTables.convF32, dw, features: all, choice: .auto).algorithm == .depthwise)
        #expect(KernelTables.select(KernelTables.convQS8, dw, features: all, choice: .auto).algorithm == .depthwise)
        p.groups = 1
        let general = ConvGeometry(xShape: [1, 8, 8, 3], yShape: [1, 6, 6, 16], params: p)
        #expect(KernelTables.select(KernelTables.convQS8, general, features: all, choice: .auto).algorithm == .im2col)
        // Float 3×3 stride 1 with enough channels: Winograd, unless the layer streams its rows or is
        // too narrow (im2col); int8 has no Winograd (it would not be bit-exact).
        #expect(KernelTables.select(KernelTables.convF32, general, features: all, choice: .auto).algorithm == .im2col)
        var wide = ConvGeometry(xShape: [1, 8, 8, 16], yShape: [1, 6, 6, 32], params: p)
        #expect(KernelTables.select(KernelTables.convF32, wide, features: all, choice: .auto).algorithm == .winograd)
        #expect(KernelTables.select(KernelTables.convQS8, wide, features: all, choice: .auto).algorithm == .im2col)
        wide.streamed = true
        #expect(KernelTables.select(KernelTables.convF32, wide, features: all, choice: .auto).algorithm == .im2col)
        var strided = p
        strided.strideH = 2
        let s2 = ConvGeometry(xShape: [1, 8, 8, 16], yShape: [1, 3, 6, 32], params: strided)
        #expect(KernelTables.select(KernelTables.convF32, s2, features: all, choice: .auto).algorithm == .im2col)
        p.kernelH = 1
        p.kernelW = 1
        let pointwise = ConvGeometry(xShape: [1, 8, 8, 3], yShape: [1, 8, 8, 16], params: p)
        #expect(KernelTables.select(KernelTables.convF32, pointwise, features: all, choice: .auto).algorithm == .pointwise)
        // Grouped (not depthwise) convolutions have no SIMD variant yet: the reference takes them.
        p.groups = 2
        let grouped = ConvGeometry(xShape: [1, 8, 8, 4], yShape: [1, 8, 8, 4], params: p)
        #expect(KernelTables.select(KernelTables.convF32, grouped, features: all, choice: .auto).algorithm == .reference)
        #endif
        #if arch(arm64)
        // The dot-product GEMM only where the CPU has it.
        #expect(KernelTables.select(KernelTables.convQS8, pointwise, features: [.neon], choice: .auto).isa == .neon)
        #expect(KernelTables.select(KernelTables.convQS8, pointwise, features: [.neon, .dotprod], choice: .auto).isa == .neonDot)
        #endif
    }

    /// MobileNetV2 int8 gives the same bytes with the SIMD variants as with the references, and its
    /// float32 outputs stay within 1e-4 relative; `--kernels reference` runs only references.
    @Test func mobileNetV2AutoMatchesReference() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/mobilenet_v2.onnx", labels: true, dir: dir)
        let (int8, _) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 2)
        var x = [Float](repeating: 0, count: 3 * 224 * 224)
        for i in 0..<x.count {
            let v: Int = (i * 7919) % 255
            x[i] = Float(v) / 64 - 2
        }
        for path in [swl, int8] {
            let fast = try Interpreter(model: PackedModel(path: path))
            let ref = try Interpreter(model: PackedModel(path: path), kernels: .reference)
            let refSIMD = ref.kernelNames.filter { !$0.hasSuffix("reference") }
            #expect(refSIMD.isEmpty, "--kernels reference ran \(refSIMD)")
            let runnable = Self.simdVariants.filter { $0.runs(on: .current()) }
            let fastSIMD = fast.kernelNames.filter { !$0.hasSuffix("reference") }
            if !runnable.isEmpty { #expect(!fastSIMD.isEmpty, "auto ran no SIMD variant: \(fast.kernelNames)") }
            for run in [fast, ref] {
                run.setInput(0, logical: x)
                run.invoke()
            }
            if path == int8 {
                // The dequantized outputs of identical int8 bytes are identical floats.
                #expect(fast.output(0).map(\.bitPattern) == ref.output(0).map(\.bitPattern), "int8 MobileNetV2: auto differs from reference")
            } else {
                let e = relativeError(fast.output(0), ref.output(0))
                #expect(e < 1e-4, "float MobileNetV2: auto vs reference relative error \(e)")
            }
        }
    }

    @Test func kernelsFlagIsCheckedAndShown() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/mtcnn_pnet.onnx", dir: dir)
        let bad = try swiftlet(["bench", swl, "--kernels", "fastest"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("auto") && bad.stderr.contains("reference"), "\(bad.stderr)")
        let inspect = try swiftlet(["inspect", swl, "--json"])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("\"kernel\": \"conv2dF32_"), "\(inspect.stdout.prefix(400))")
        try NPYArray(floats: [Float](repeating: 0.25, count: 3 * 120 * 160), shape: [1, 3, 120, 160]).write(to: dir + "/x.npy")
        for choice in ["auto", "reference"] {
            let r = try swiftlet(["run", swl, "--input", dir + "/x.npy", "--output", dir + "/o.npy", "--profile", "--kernels", choice])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("[conv2dF32_"), "\(r.stdout)")
            if choice == "reference" { #expect(!r.stdout.contains("avx2") && !r.stdout.contains("neon"), "\(r.stdout)") }
        }
    }
}
