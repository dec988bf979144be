import CSwiftletKernels
import SwiftletCore
import SwiftletKernels
import SwiftletVision

// The kernel self-test: every SIMD variant of the kernel tables that this CPU runs, against the
// scalar reference, on seeded random geometries chosen to hit every edge (channel counts around the
// tile widths, depth not a multiple of four, 1×1 and small images, strides, asymmetric padding,
// dilation, batch 2, Concat-slice pixel strides, row streaming through rings). int8 variants must
// match bit for bit; float32 variants within 1e-5 of the magnitude Σ|x·w| + |b| of each output.
// It is core code, so the board binary runs it too (`swiftlet selftest`, under qemu-aarch64 in the
// tests) and the same tables are checked on both architectures.

/// What the self-test found.
public struct SelfTestReport: Sendable {
    /// Geometry × variant cases compared.
    public var cases = 0
    /// Variants exercised (those this CPU runs).
    public var variants: [String] = [] {
        didSet { firstCase += Array(repeating: cases, count: max(0, variants.count - firstCase.count)) }
    }
    /// `cases` when each of `variants` began (its cases are counted one after another).
    var firstCase: [Int] = []
    /// Cases each of `variants` was compared on, in the same order: a variant with none is untested.
    public var casesPerVariant: [Int] {
        variants.indices.map { i in (i + 1 < firstCase.count ? firstCase[i + 1] : cases) - firstCase[i] }
    }
    /// One line per failing case: variant, geometry, first mismatch.
    public var failures: [String] = []
    /// The vectorized pre-processing checked besides the kernel tables (`resizeU8_neon`, …; its cases
    /// count in `cases`, before every variant's), empty where only the scalar Swift runs.
    public var preprocessing: [String] = []
}

/// A small, seeded PRNG (xorshift64*), the same on every platform.
struct SelfTestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    mutating func pick(_ values: [Int]) -> Int { values[int(0...(values.count - 1))] }
}

/// One convolution case: geometry and the options a layer can carry.
struct SelfTestCase {
    var g: ConvGeometry
    /// Output pixels this many elements apart (0: packed), as when writing a Concat slice.
    var yPixelStride = 0
    var activation = Activation.none

    var text: String {
        let p = g.params
        var s = "x [\(g.n),\(g.h),\(g.w),\(g.c)] → [\(g.n),\(g.oh),\(g.ow),\(g.oc)] k\(p.kernelH)x\(p.kernelW) s\(p.strideH)x\(p.strideW)"
        s += " pad \(p.padTop),\(p.padLeft),\(p.padBottom),\(p.padRight) dil \(p.dilationH)x\(p.dilationW) groups \(p.groups)"
        if yPixelStride > 0 { s += " yPixelStride \(yPixelStride)" }
        if activation.kind != .none { s += " act \(activation.text)" }
        return s
    }
}

/// Output size of one spatial dimension (nil when the kernel does not fit).
func selfTestOut(_ n: Int, k: Int, s: Int, d: Int, p0: Int, p1: Int) -> Int? {
    let span = (k - 1) * d + 1
    let v = n + p0 + p1 - span
    return v < 0 ? nil : v / s + 1
}

/// The cases: fixed edges first, then seeded random ones.
func selfTestCases(seed: UInt64, random: Int) -> [SelfTestCase] {
    var out: [SelfTestCase] = []
    var rng = SelfTestRandom(seed: seed)
    func add(n: Int = 1, h: Int, w: Int, c: Int, oc: Int, k: (Int, Int), s: (Int, Int) = (1, 1), d: (Int, Int) = (1, 1),
             pad: (Int, Int, Int, Int) = (0, 0, 0, 0), groups: Int = 1, act: Activation = .none, ys: Int = 0) {
        var p = Conv2D()
        (p.kernelH, p.kernelW, p.strideH, p.strideW, p.dilationH, p.dilationW) = (k.0, k.1, s.0, s.1, d.0, d.1)
        (p.padTop, p.padLeft, p.padBottom, p.padRight) = pad
        p.groups = groups
        p.activation = act
        guard let oh = selfTestOut(h, k: k.0, s: s.0, d: d.0, p0: pad.0, p1: pad.2),
              let ow = selfTestOut(w, k: k.1, s: s.1, d: d.1, p0: pad.1, p1: pad.3) else { return }
        let g = ConvGeometry(xShape: [n, h, w, c], yShape: [n, oh, ow, oc], params: p)
        out.append(SelfTestCase(g: g, yPixelStride: ys, activation: act))
    }
    let relu6 = Activation(.clip, 0, 6)
    // Pointwise: channel counts around the tiles (GEMM 16 / 8 wide, depth in 4s), strides, batch 2.
    for c in [1, 3, 4, 5, 16, 17, 33] {
        for oc in [1, 7, 8, 9, 16, 17, 35] { add(h: 3, w: 5, c: c, oc: oc, k: (1, 1)) }
    }
    add(h: 7, w: 9, c: 24, oc: 144, k: (1, 1), act: relu6)
    add(n: 2, h: 4, w: 4, c: 12, oc: 20, k: (1, 1), s: (2, 2), act: .init(.relu))
    add(h: 5, w: 6, c: 10, oc: 13, k: (1, 1), ys: 21)
    add(h: 4, w: 4, c: 9, oc: 11, k: (1, 1), act: .init(.hardSwish))
    // HardSwish and HardSigmoid in the float GEMM's epilogue (x86): a block tail, a row stride, a
    // single row (the GEMV path), im2col.
    add(h: 3, w: 7, c: 6, oc: 21, k: (1, 1), act: .init(.hardSigmoid, 0.2, 0.5), ys: 25)
    add(h: 1, w: 1, c: 19, oc: 70, k: (1, 1), act: .init(.hardSwish))
    add(h: 10, w: 9, c: 3, oc: 16, k: (3, 3), s: (2, 2), pad: (1, 1, 1, 1), act: .init(.hardSwish))
    add(h: 8, w: 8, c: 3, oc: 24, k: (5, 5), s: (2, 2), pad: (1, 1, 2, 2), act: .init(.hardSigmoid, 1.0 / 6, 0.5))
    // Depthwise: kernels, strides, asymmetric pads, dilation, channel tails.
    for c in [2, 3, 8, 15, 16, 17, 33, 40] {
        add(h: 6, w: 7, c: c, oc: c, k: (3, 3), pad: (1, 1, 1, 1), groups: c, act: relu6)
        add(h: 7, w: 6, c: c, oc: c, k: (3, 3), s: (2, 2), pad: (0, 0, 1, 1), groups: c)
    }
    add(h: 9, w: 9, c: 24, oc: 24, k: (5, 5), s: (2, 2), pad: (2, 2, 2, 2), groups: 24)
    add(h: 8, w: 8, c: 18, oc: 18, k: (3, 3), d: (2, 2), pad: (2, 2, 2, 2), groups: 18)
    add(n: 2, h: 5, w: 4, c: 20, oc: 20, k: (3, 2), s: (1, 2), pad: (1, 0, 2, 1), groups: 20, ys: 27)
    add(h: 3, w: 3, c: 16, oc: 16, k: (5, 5), pad: (2, 2, 2, 2), groups: 16)
    // Rows wider than the VNNI kernel's column buffer (several segments), 32-channel pairs with a lone
    // or overlapping last block, kernels of two row groups, and windows it hands to the AVX2 kernel
    // (more than 8 rows; a span wider than its buffer).
    add(h: 4, w: 100, c: 144, oc: 144, k: (3, 3), pad: (1, 1, 1, 1), groups: 144, act: relu6)
    add(h: 5, w: 61, c: 72, oc: 72, k: (3, 3), s: (2, 2), pad: (0, 0, 1, 1), groups: 72)
    add(h: 9, w: 30, c: 48, oc: 48, k: (7, 7), s: (1, 3), pad: (3, 3, 3, 3), groups: 48)
    add(h: 11, w: 9, c: 32, oc: 32, k: (9, 1), pad: (4, 0, 4, 0), groups: 32)
    add(h: 4, w: 60, c: 24, oc: 24, k: (3, 8), d: (1, 7), pad: (1, 24, 1, 25), groups: 24)
    // HardSwish and HardSigmoid after the kernel (SIMD, channel tails, a Concat row stride).
    add(h: 5, w: 6, c: 21, oc: 21, k: (3, 3), pad: (1, 1, 1, 1), groups: 21, act: .init(.hardSwish), ys: 30)
    add(h: 4, w: 3, c: 13, oc: 13, k: (3, 3), pad: (1, 1, 1, 1), groups: 13, act: .init(.hardSigmoid, 1.0 / 6, 0.5))
    // im2col: the first layer of a CNN, odd depths, big kernels, padding, dilation.
    add(h: 12, w: 12, c: 3, oc: 32, k: (3, 3), s: (2, 2), pad: (0, 0, 1, 1), act: relu6)
    add(h: 7, w: 8, c: 5, oc: 17, k: (3, 3), pad: (1, 1, 1, 1))
    add(h: 9, w: 7, c: 2, oc: 9, k: (5, 3), s: (2, 1), d: (1, 2), pad: (2, 1, 0, 3))
    add(n: 2, h: 6, w: 6, c: 8, oc: 8, k: (2, 2), act: .init(.relu), ys: 11)
    add(h: 5, w: 5, c: 1, oc: 3, k: (7, 7), pad: (3, 3, 3, 3))
    // Rows wide enough for the x86 float path that reads interior columns from the input rows (edge
    // columns on one or both sides, rows outside the image, a half block, 35 outputs, a row stride,
    // batch 2, dilation down, the epilogue activations).
    add(h: 9, w: 20, c: 3, oc: 24, k: (3, 3), s: (2, 2), pad: (1, 1, 1, 1), act: .init(.hardSwish))
    add(h: 11, w: 30, c: 3, oc: 16, k: (5, 5), s: (2, 2), pad: (2, 2, 2, 2), act: relu6)
    add(n: 2, h: 7, w: 16, c: 4, oc: 35, k: (3, 3), pad: (1, 1, 1, 1), ys: 40)
    add(h: 8, w: 14, c: 2, oc: 8, k: (3, 5), d: (2, 1), pad: (2, 2, 2, 2), act: .init(.hardSigmoid, 0.2, 0.5))
    // Winograd F(2×2, 3×3): channels around its 8-lane transforms, the GEMM's 16 and its 64-output
    // passes, odd and tiny images (edge tiles), every padding, several chunks of tiles, a Concat
    // row stride, batch 2, and an activation after the kernel.
    for (c, oc) in [(8, 8), (9, 17), (15, 64), (16, 65), (24, 80), (33, 3)] {
        add(h: 7, w: 6, c: c, oc: oc, k: (3, 3), pad: (1, 1, 1, 1), act: relu6)
    }
    add(h: 3, w: 3, c: 8, oc: 9, k: (3, 3))
    add(h: 1, w: 2, c: 10, oc: 12, k: (3, 3), pad: (1, 1, 1, 1))
    add(h: 5, w: 9, c: 11, oc: 13, k: (3, 3), pad: (0, 2, 1, 0), act: .init(.relu))
    add(h: 21, w: 19, c: 40, oc: 70, k: (3, 3), pad: (1, 1, 1, 1))
    add(n: 2, h: 6, w: 5, c: 12, oc: 16, k: (3, 3), pad: (1, 1, 1, 1), ys: 23)
    add(h: 6, w: 6, c: 8, oc: 11, k: (3, 3), pad: (1, 1, 1, 1), act: .init(.hardSwish))
    // Random cases of each form.
    for _ in 0..<random / 4 {
        let pad = (rng.int(0...2), rng.int(0...2), rng.int(0...2), rng.int(0...2))
        let oc = rng.int(1...40)
        add(n: rng.int(1...4) == 4 ? 2 : 1, h: rng.int(1...12), w: rng.int(1...12), c: rng.int(8...40), oc: oc, k: (3, 3), pad: pad,
            act: [Activation.none, .init(.relu), relu6][rng.int(0...2)], ys: rng.int(1...4) == 4 ? oc + rng.int(1...5) : 0)
    }
    for _ in 0..<random {
        let form = rng.int(0...2)
        let h = rng.int(1...9), w = rng.int(1...9)
        let k = form == 0 ? (1, 1) : (rng.int(1...5), rng.int(1...5))
        let s = (rng.int(1...3), rng.int(1...3))
        let d = form == 0 ? (1, 1) : (rng.int(1...2), rng.int(1...2))
        let pad = form == 0 ? (0, 0, 0, 0) : (rng.int(0...2), rng.int(0...2), rng.int(0...2), rng.int(0...2))
        let c = rng.int(1...40)
        let acts = [Activation.none, .init(.relu), relu6, .init(.clip, -0.5, 0.25)]
        let act = acts[rng.int(0...3)]
        let n = rng.int(1...4) == 4 ? 2 : 1
        if form == 1 {
            if c < 2 { continue }
            add(n: n, h: h, w: w, c: c, oc: c, k: k, s: s, d: d, pad: pad, groups: c, act: act)
        } else {
            let oc = rng.int(1...40)
            add(n: n, h: h, w: w, c: c, oc: oc, k: k, s: s, d: d, pad: pad, act: act, ys: rng.int(1...4) == 4 ? oc + rng.int(1...5) : 0)
        }
    }
    return out
}

extension SelfTestReport {
    /// Each of `table`'s SIMD variants that `features` runs, checked on each of `cases` it takes:
    /// `check` names the first difference, counted as a failure of the variant and the case (`text`).
    mutating func check<Case>(
        _ table: [KernelVariant], on features: CPUFeatures, _ cases: [Case], takes: (KernelVariant, Case) -> Bool = { _, _ in true },
        text: (Case) -> String, _ check: (KernelVariant, Case) -> String?
    ) {
        for v in table where v.algorithm != .reference && v.runs(on: features) {
            variants.append(v.name)
            for c in cases where takes(v, c) {
                self.cases += 1
                if let f = check(v, c) { failures.append("\(v.name) \(text(c)): \(f)") }
            }
        }
    }
}

/// A fully connected case: `rows` inputs of `depth` values, `units` outputs each.
typealias FCShape = (rows: Int, depth: Int, units: Int)

func fcShapeText(_ s: FCShape) -> String { "rows \(s.rows) depth \(s.depth) units \(s.units)" }

/// Runs the kernel self-test over every variant this CPU (`features`) runs.
public func kernelSelfTest(features: CPUFeatures = .current(), seed: UInt64 = 1, randomCases: Int = 40) -> SelfTestReport {
    var report = SelfTestReport()
    let cases = selfTestCases(seed: seed, random: randomCases)
    var rng = SelfTestRandom(seed: seed &+ 77)
    #if !SWIFTLET_NO_CAMERA
    // First, so that its cases count before every table variant's (casesPerVariant).
    if let name = visionVariantName() {
        report.preprocessing.append(name)
        let f = checkVision(random: randomCases, &rng)
        report.cases += f.cases
        report.failures += f.failures.map { "\(name) \($0)" }
    }
    #endif
    report.check(KernelTables.convF32, on: features, cases, takes: { v, t in v.accepts(t.g) }, text: { $0.text }) { v, t in
        checkConvF32(v, t, &rng)
    }
    report.check(KernelTables.convQS8, on: features, cases, takes: { v, t in v.accepts(t.g) }, text: { $0.text }) { v, t in
        checkConvQS8(v, t, &rng)
    }
    let fcShapes: [FCShape] = [(1, 1, 1), (1, 1280, 1000), (3, 17, 9), (5, 64, 16), (2, 3, 33), (7, 100, 10), (1, 37, 77), (13, 5, 70)]
    report.check(KernelTables.fullyConnectedF32, on: features, fcShapes, text: fcShapeText) { v, s in
        checkFCF32(v, rows: s.rows, depth: s.depth, units: s.units, &rng)
    }
    report.check(KernelTables.fullyConnectedQS8, on: features, fcShapes, text: fcShapeText) { v, s in
        checkFCQS8(v, rows: s.rows, depth: s.depth, units: s.units, &rng)
    }
    for table in [KernelTables.maxPoolF32, KernelTables.maxPoolQS8] {
        for v in table where v.algorithm != .reference && v.runs(on: features) {
            report.variants.append(v.name)
            let f = checkMaxPool(v, random: randomCases, &rng)
            report.cases += f.cases
            report.failures += f.failures
        }
    }
    for v in KernelTables.meanQS8 where v.algorithm != .reference && v.runs(on: features) {
        report.variants.append(v.name)
        let f = checkMeanQS8(v, &rng)
        report.cases += f.cases
        report.failures += f.failures
    }
    for v in KernelTables.binaryF32 where v.algorithm != .reference && v.runs(on: features) {
        report.variants.append(v.name)
        let f = checkBinaryF32(v, &rng)
        report.cases += f.cases
        report.failures += f.failures
    }
    for table in [KernelTables.addQS8, KernelTables.mulQS8, KernelTables.quantizeQS8, KernelTables.dequantizeQS8, KernelTables.lookupQS8] {
        for v in table where v.algorithm != .reference && v.runs(on: features) {
            report.variants.append(v.name)
            report.cases += 9
            report.failures += checkElementwise(v, &rng)
        }
    }
    // A variant the CPU runs that no case reached would pass untested: that is a failure.
    for (name, n) in zip(report.variants, report.casesPerVariant) where n == 0 {
        report.failures.append("\(name): no case of the self-test reached it")
    }
    return report
}

// MARK: - Vision

// Only in binaries with camera capture: the rpi4 one leaves it out to stay under 1 MB; the rpi5
// binary checks the same arm_vision.c under qemu (BoardTests), the host tests the x86 kernels.
#if !SWIFTLET_NO_CAMERA

/// The vectorized pre-processing this CPU runs (the resize's passes, the YUYV conversion, the RGB
/// split: SwiftletVision's C kernels), or nil when only the scalar Swift runs.
func visionVariantName() -> String? {
    guard BilinearResizer(inWidth: 8, inHeight: 2, outWidth: 3, outHeight: 1).takesPlanarRows else { return nil }
    #if arch(arm64)
    return "resizeU8_neon"
    #elseif arch(x86_64)
    return swk_vision_avx512() != 0 ? "resizeU8_avx512" : "resizeU8_avx2"
    #else
    return nil
    #endif
}

/// Random images resized (stretched, or a window of the output) by the vectorized and the scalar
/// (`vectorized: false`) passes, and random YUYV and RGB24 frames fitted stretched, cropped and
/// letterboxed: each pair must give the same bytes.
func checkVision(random: Int, _ rng: inout SelfTestRandom) -> (cases: Int, failures: [String]) {
    var cases = 0
    var failures: [String] = []
    for i in 0..<max(6, random / 4) {
        let inW = i == 0 ? 640 : rng.int(1...300), inH = i == 0 ? 12 : rng.int(1...24)
        let fullW = rng.pick([1, 3, 16, 17, 33, 128, 224, inW, inW + 7, max(1, inW / 5)]), outH = rng.int(1...20)
        let x0 = rng.int(0...(fullW - 1) / 2)
        let window = rng.int(0...1) == 0 ? 0..<fullW : x0..<rng.int((x0 + 1)...fullW)
        var image = RGBImage(width: inW, height: inH)
        for k in 0..<image.pixels.count { image.pixels[k] = UInt8(truncatingIfNeeded: rng.next() >> 40) }
        var fast = BilinearResizer(inWidth: inW, inHeight: inH, outWidth: fullW, outHeight: outH, x: window)
        var slow = BilinearResizer(inWidth: inW, inHeight: inH, outWidth: fullW, outHeight: outH, x: window, vectorized: false)
        var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
        fast.resize(image, into: &a)
        slow.resize(image, into: &b)
        cases += 1
        if let d = firstByteDifference(a.pixels, b.pixels) {
            failures.append("image \(inW)x\(inH) -> \(fullW)x\(outH) columns \(window.lowerBound)..<\(window.upperBound): byte \(d)")
        }
        let mode = rng.int(0...2)  // stretch, shorter side + centre crop, letterbox
        let outW = max(1, window.count)
        let format: CameraPixelFormat = rng.int(0...1) == 0 ? .yuyv : .rgb24
        let bytesPerLine = inW * (format == .yuyv ? 2 : 3) + rng.int(0...5) + 2
        var bytes = [UInt8](repeating: 0, count: bytesPerLine * inH)
        for k in 0..<bytes.count { bytes[k] = UInt8(truncatingIfNeeded: rng.next() >> 32) }
        let shorter = mode == 1 ? max(1, min(outW, outH) + rng.int(0...9)) : 0
        var fastFit = FrameFitter(inWidth: inW, inHeight: inH, width: outW, height: outH, shorter: shorter, letterbox: mode == 2)
        var slowFit = FrameFitter(inWidth: inW, inHeight: inH, width: outW, height: outH, shorter: shorter, letterbox: mode == 2, vectorized: false)
        bytes.withUnsafeBytes { buf in
            let frame = RawFrame(format: format, width: inW, height: inH, bytesPerLine: bytesPerLine, bytes: buf)
            fastFit.fit(frame, into: &a)
            slowFit.fit(frame, into: &b)
        }
        cases += 1
        if let d = firstByteDifference(a.pixels, b.pixels) {
            failures.append("\(format == .yuyv ? "yuyv" : "rgb24") \(inW)x\(inH) -> \(outW)x\(outH) mode \(mode): byte \(d)")
        }
    }
    return (cases, failures)
}

/// The first index where `a` and `b` differ, as "i: got x, want y" (or the counts), or nil.
private func firstByteDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
    if a.count != b.count { return "count \(a.count), want \(b.count)" }
    for i in 0..<a.count where a[i] != b[i] { return "\(i): got \(a[i]), want \(b[i])" }
    return nil
}
#endif
