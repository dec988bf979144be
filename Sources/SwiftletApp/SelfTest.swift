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
    for v in KernelTables.convF32 where v.algorithm != .reference && v.runs(on: features) {
        report.variants.append(v.name)
        for t in cases where v.accepts(t.g) {
            report.cases += 1
            if let f = checkConvF32(v, t, &rng) { report.failures.append("\(v.name) \(t.text): \(f)") }
        }
    }
    for v in KernelTables.convQS8 where v.algorithm != .reference && v.runs(on: features) {
        report.variants.append(v.name)
        for t in cases where v.accepts(t.g) {
            report.cases += 1
            if let f = checkConvQS8(v, t, &rng) { report.failures.append("\(v.name) \(t.text): \(f)") }
        }
    }
    let fcShapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 1280, 1000), (3, 17, 9), (5, 64, 16), (2, 3, 33), (7, 100, 10), (1, 37, 77), (13, 5, 70)]
    for v in KernelTables.fullyConnectedF32 where v.algorithm != .reference && v.runs(on: features) {
        report.variants.append(v.name)
        for (rows, depth, units) in fcShapes {
            report.cases += 1
            if let f = checkFCF32(v, rows: rows, depth: depth, units: units, &rng) {
                report.failures.append("\(v.name) rows \(rows) depth \(depth) units \(units): \(f)")
            }
        }
    }
    for v in KernelTables.fullyConnectedQS8 where v.algorithm != .reference && v.runs(on: features) {
        report.variants.append(v.name)
        for (rows, depth, units) in fcShapes {
            report.cases += 1
            if let f = checkFCQS8(v, rows: rows, depth: depth, units: units, &rng) {
                report.failures.append("\(v.name) rows \(rows) depth \(depth) units \(units): \(f)")
            }
        }
    }
    for table in [KernelTables.maxPoolF32, KernelTables.maxPoolQS8] {
        for v in table where v.algorithm != .reference && v.runs(on: features) {
            report.variants.append(v.name)
            let f = checkMaxPool(v, random: randomCases, &rng)
            report.cases += f.cases
            report.failures += f.failures
        }
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

// MARK: - Float

/// The first float mismatch beyond `1e-5 · magnitude` (nil: none), with its coordinates.
func firstFloatMismatch(_ got: [Float], _ want: [Float], _ mag: [Float], oc: Int, what: String) -> String? {
    for i in 0..<want.count {
        let tol = 1e-5 * mag[i] + 1e-6
        let d = got[i] - want[i]
        if !(d.magnitude <= tol) {
            return "\(what): element \(i) (pixel \(i / max(oc, 1)), channel \(i % max(oc, 1))): got \(got[i]), want \(want[i]) (tolerance \(tol))"
        }
    }
    return nil
}

func checkConvF32(_ v: KernelVariant, _ t: SelfTestCase, _ rng: inout SelfTestRandom) -> String? {
    let g = t.g
    let p = g.params
    let cg = g.c / p.groups
    var x = [Float](repeating: 0, count: g.n * g.h * g.w * g.c)
    for i in 0..<x.count { x[i] = rng.float() }
    var w = [Float](repeating: 0, count: g.oc * p.kernelH * p.kernelW * cg)
    for i in 0..<w.count { w[i] = rng.float() }
    var b = [Float](repeating: 0, count: g.oc)
    for i in 0..<b.count { b[i] = rng.float() }
    let ys = t.yPixelStride > 0 ? t.yPixelStride : g.oc
    let yCount = g.n * g.oh * g.ow * ys
    var want = [Float](repeating: -7, count: yCount)
    var got = [Float](repeating: -7, count: yCount)
    var mag = [Float](repeating: 0, count: yCount)
    let xShape = [g.n, g.h, g.w, g.c], yShape = [g.n, g.oh, g.ow, g.oc]
    var pm = p
    pm.activation = .none
    x.withUnsafeBufferPointer { xp in
        w.withUnsafeBufferPointer { wp in
            b.withUnsafeBufferPointer { bp in
                want.withUnsafeMutableBufferPointer { yp in
                    conv2dF32_reference(x: xp.baseAddress!, xShape: xShape, w: wp.baseAddress!, b: bp.baseAddress!, y: yp.baseAddress!,
                                        yShape: yShape, yPixelStride: t.yPixelStride, params: p)
                }
            }
        }
    }
    let ax = x.map { $0.magnitude }, aw = w.map { $0.magnitude }, ab = b.map { $0.magnitude }
    ax.withUnsafeBufferPointer { xp in
        aw.withUnsafeBufferPointer { wp in
            ab.withUnsafeBufferPointer { bp in
                mag.withUnsafeMutableBufferPointer { yp in
                    conv2dF32_reference(x: xp.baseAddress!, xShape: xShape, w: wp.baseAddress!, b: bp.baseAddress!, y: yp.baseAddress!,
                                        yShape: yShape, yPixelStride: t.yPixelStride, params: pm)
                }
            }
        }
    }
    guard let packed = try? packConvF32(v, g, w: w, b: b, what: "selftest") else { return "packing failed" }
    defer { sys_free(packed.weights) }
    let scratch = packed.scratchBytes > 0 ? try? sys_alignedAllocate(bytes: packed.scratchBytes, alignment: 64, what: "selftest") : nil
    defer { if let s = scratch { sys_free(s) } }
    // Whole tensor.
    x.withUnsafeBufferPointer { xp in
        got.withUnsafeMutableBufferPointer { yp in
            conv2dF32_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!,
                           yPixelStride: t.yPixelStride, activation: p.activation)
        }
    }
    if let f = firstFloatMismatch(got, want, mag, oc: ys, what: "whole tensor") { return f }
    if v.algorithm == .winograd {
        // Bands of rows as the threads take them (whole tile rows) and bands that start or end on an
        // odd row: each band writes exactly its rows (a neighbour's are another thread's), with the
        // whole tensor's bits.
        let pixelsPerRow = g.ow * ys
        var bands: [Range<Int>] = [0..<g.oh]
        for cut in [1, 2, 3] where cut < g.oh { bands += [0..<cut, cut..<g.oh] }
        if g.oh > 3 { bands.append(1..<(g.oh - 1)) }
        for rows in bands {
            var part = [Float](repeating: -7, count: yCount)
            x.withUnsafeBufferPointer { xp in
                part.withUnsafeMutableBufferPointer { yp in
                    conv2dF32_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!,
                                   yPixelStride: t.yPixelStride, activation: p.activation, rows: rows)
                }
            }
            for i in 0..<yCount {
                let row = (i / pixelsPerRow) % g.oh
                let want: Float = rows.contains(row) ? got[i] : -7
                if part[i].bitPattern != want.bitPattern {
                    return "rows \(rows.lowerBound)..<\(rows.upperBound): element \(i) (row \(row)) is \(part[i]), want \(want)"
                }
            }
        }
        return nil  // it does not stream rows (ConvGeometry.streamed)
    }
    if g.n != 1 || t.yPixelStride != 0 { return nil }
    // Row streaming, batch 1: output rows one at a time into a ring of 2 rows (a producer), and
    // input rows read from a ring holding only the rows the output row needs (a consumer).
    let rowLen = g.ow * g.oc
    var ring = [Float](repeating: -7, count: 2 * rowLen)
    let xRing = (p.kernelH - 1) * p.dilationH + 1
    var xr = [Float](repeating: 0, count: xRing * g.w * g.c)
    var row = [Float](repeating: -7, count: rowLen)
    for oy in 0..<g.oh {
        x.withUnsafeBufferPointer { xp in
            ring.withUnsafeMutableBufferPointer { yp in
                conv2dF32_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!,
                               activation: p.activation, rows: oy..<(oy + 1), yRing: 2)
            }
        }
        let ringRow = Array(ring[(oy % 2) * rowLen..<((oy % 2) + 1) * rowLen])
        let wantRow = Array(want[oy * rowLen..<(oy + 1) * rowLen])
        let magRow = Array(mag[oy * rowLen..<(oy + 1) * rowLen])
        if let f = firstFloatMismatch(ringRow, wantRow, magRow, oc: g.oc, what: "output row \(oy) into a ring of 2") { return f }
        for ky in 0..<p.kernelH {
            let iy = oy * p.strideH - p.padTop + ky * p.dilationH
            if iy < 0 || iy >= g.h { continue }
            for i in 0..<(g.w * g.c) { xr[(iy % xRing) * g.w * g.c + i] = x[iy * g.w * g.c + i] }
        }
        xr.withUnsafeBufferPointer { xp in
            row.withUnsafeMutableBufferPointer { yp in
                // Output row oy written at row 0 of `row` (a ring of one row).
                conv2dF32_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!,
                               activation: p.activation, rows: oy..<(oy + 1), xRing: xRing, yRing: 1)
            }
        }
        if let f = firstFloatMismatch(row, wantRow, magRow, oc: g.oc, what: "output row \(oy) from a ring of \(xRing) input rows") { return f }
    }
    return nil
}

func checkFCF32(_ v: KernelVariant, rows: Int, depth: Int, units: Int, _ rng: inout SelfTestRandom) -> String? {
    var x = [Float](repeating: 0, count: rows * depth)
    for i in 0..<x.count { x[i] = rng.float() }
    var w = [Float](repeating: 0, count: units * depth)
    for i in 0..<w.count { w[i] = rng.float() }
    var b = [Float](repeating: 0, count: units)
    for i in 0..<b.count { b[i] = rng.float() }
    var want = [Float](repeating: 0, count: rows * units)
    var got = want
    var mag = want
    let act = [Activation(.clip, -0.5, 2), .init(.hardSwish), .init(.hardSigmoid, 0.2, 0.5)][rng.int(0...2)]
    fullyConnectedF32_reference(x: x, rows: rows, depth: depth, w: w, b: b, y: &want, units: units, activation: act)
    fullyConnectedF32_reference(x: x.map { $0.magnitude }, rows: rows, depth: depth, w: w.map { $0.magnitude }, b: b.map { $0.magnitude },
                                y: &mag, units: units, activation: .none)
    guard let packed = try? packGemmF32(w: w, b: b, n: units, k: depth, what: "selftest") else { return "packing failed" }
    defer { sys_free(packed) }
    fullyConnectedF32_fast(v, x: x, rows: rows, depth: depth, packed: packed, y: &got, units: units, activation: act)
    return firstFloatMismatch(got, want, mag, oc: units, what: "output")
}

// MARK: - int8

/// Random int8 quantization of a layer: zero points, per-channel requantization (multipliers below
/// and above one; half the layers in each `RequantizationMode`, and in float32 some channels with
/// power-of-two scales, whose products land on exact ties, and some with scales so large that every
/// nonzero sum leaves int32's range before the clamp), and a clamp.
func randomRequant(_ rng: inout SelfTestRandom, channels: Int) -> (Int32, Requantization) {
    let inputZeroPoint = Int32(rng.int(-128...127))
    let mode: RequantizationMode = rng.int(0...1) == 0 ? .fixedPoint : .float32
    var scales: [Float] = []
    for _ in 0..<channels {
        let e = rng.int(-16...1)
        let exact = mode == .float32 && rng.int(0...3) == 0
        if mode == .float32 && rng.int(0...15) == 0 {
            scales.append([Float(1e12), 3e9, 1e38][rng.int(0...2)])
            continue
        }
        scales.append((exact ? 1 : 0.5 + 0.5 * (rng.float() + 1) / 2) * Float(1 << 20) / Float(1 << (20 - e)))
    }
    let lo = Int32(rng.pick([-128, -128, -100, 0]))
    let hi = Int32(rng.pick([127, 127, 90, 30]))
    let r = Requantization(inputScale: 1, weightScales: scales, outputScale: Float(rng.pick([1, 4, 64, 1024])),
                           outputZeroPoint: Int32(rng.int(-128...127)), clampMin: lo, clampMax: max(lo, hi), mode: mode)
    return (inputZeroPoint, r)
}

/// The first byte that differs (nil: none), with its coordinates.
func firstByteMismatch(_ got: [Int8], _ want: [Int8], oc: Int, what: String) -> String? {
    for i in 0..<want.count where got[i] != want[i] {
        return "\(what): element \(i) (pixel \(i / max(oc, 1)), channel \(i % max(oc, 1))): got \(got[i]), want \(want[i])"
    }
    return nil
}

func checkConvQS8(_ v: KernelVariant, _ t: SelfTestCase, _ rng: inout SelfTestRandom) -> String? {
    let g = t.g
    let p = g.params
    let cg = g.c / p.groups
    var x = [Int8](repeating: 0, count: g.n * g.h * g.w * g.c)
    for i in 0..<x.count { x[i] = Int8(rng.int(-128...127)) }
    var w = [Int8](repeating: 0, count: g.oc * p.kernelH * p.kernelW * cg)
    for i in 0..<w.count { w[i] = Int8(rng.int(-127...127)) }
    // Extremes too: the weights' and inputs' end values stress every intermediate width.
    if w.count > 2 { w[0] = -127; w[1] = 127 }
    if x.count > 2 { x[0] = -128; x[1] = 127 }
    var bias = [Int32](repeating: 0, count: g.oc)
    for i in 0..<bias.count { bias[i] = Int32(rng.int(-(1 << 16)...(1 << 16))) }
    let (zp, requant) = randomRequant(&rng, channels: g.oc)
    let ys = t.yPixelStride > 0 ? t.yPixelStride : g.oc
    let yCount = g.n * g.oh * g.ow * ys
    var want = [Int8](repeating: 99, count: yCount)
    var got = [Int8](repeating: 99, count: yCount)
    let xShape = [g.n, g.h, g.w, g.c], yShape = [g.n, g.oh, g.ow, g.oc]
    conv2dQS8_reference(x: x, xShape: xShape, inputZeroPoint: zp, w: w, bias: bias, y: &want, yShape: yShape,
                        yPixelStride: t.yPixelStride, params: p, requant: requant)
    guard let packed = try? packConvQS8(v, g, w: w, bias: bias, inputZeroPoint: zp, requant: requant, what: "selftest") else {
        return "packing failed"
    }
    defer { sys_free(packed.weights) }
    let scratch = packed.scratchBytes > 0 ? try? sys_alignedAllocate(bytes: packed.scratchBytes, alignment: 64, what: "selftest") : nil
    defer { if let s = scratch { sys_free(s) } }
    // The compensation made at load, as the interpreter passes it (the whole tensor and the output
    // ring below); the input-ring rows run without it, as a caller without one would.
    let comps: UnsafeMutableRawPointer?
    do { comps = try qs8Compensation(v, n: g.oc, k: g.depth, packed: packed.weights, what: "selftest") } catch { return "compensation failed" }
    defer { if let c = comps { sys_free(c) } }
    // The same for the float32 bound the interpreter checks at load (the input-ring rows run without).
    let out = qs8Output(requant, inputZeroPoint: zp)
    let loaded = qs8Output(requant, inputZeroPoint: zp, bounded: qs8FloatBounded(v, requant, n: g.oc, k: g.depth, packed: packed.weights))
    x.withUnsafeBufferPointer { xp in
        got.withUnsafeMutableBufferPointer { yp in
            conv2dQS8_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!,
                           yPixelStride: t.yPixelStride, out: loaded, comps: comps)
        }
    }
    if let f = firstByteMismatch(got, want, oc: ys, what: "whole tensor (input zero point \(zp))") { return f }
    if g.n != 1 || t.yPixelStride != 0 { return nil }
    let rowLen = g.ow * g.oc
    var ring = [Int8](repeating: 99, count: 2 * rowLen)
    let xRing = (p.kernelH - 1) * p.dilationH + 1
    var xr = [Int8](repeating: 0, count: xRing * g.w * g.c)
    var row = [Int8](repeating: 99, count: rowLen)
    for oy in 0..<g.oh {
        x.withUnsafeBufferPointer { xp in
            ring.withUnsafeMutableBufferPointer { yp in
                conv2dQS8_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!, out: loaded,
                               rows: oy..<(oy + 1), yRing: 2, comps: comps)
            }
        }
        let wantRow = Array(want[oy * rowLen..<(oy + 1) * rowLen])
        let ringRow = Array(ring[(oy % 2) * rowLen..<((oy % 2) + 1) * rowLen])
        if let f = firstByteMismatch(ringRow, wantRow, oc: g.oc, what: "output row \(oy) into a ring of 2") { return f }
        for ky in 0..<p.kernelH {
            let iy = oy * p.strideH - p.padTop + ky * p.dilationH
            if iy < 0 || iy >= g.h { continue }
            for i in 0..<(g.w * g.c) { xr[(iy % xRing) * g.w * g.c + i] = x[iy * g.w * g.c + i] }
        }
        xr.withUnsafeBufferPointer { xp in
            row.withUnsafeMutableBufferPointer { yp in
                conv2dQS8_fast(v, g, x: xp.baseAddress!, packed: packed.weights, scratch: scratch, y: yp.baseAddress!, out: out,
                               rows: oy..<(oy + 1), xRing: xRing, yRing: 1)
            }
        }
        if let f = firstByteMismatch(row, wantRow, oc: g.oc, what: "output row \(oy) from a ring of \(xRing) input rows") { return f }
    }
    return nil
}

func checkFCQS8(_ v: KernelVariant, rows: Int, depth: Int, units: Int, _ rng: inout SelfTestRandom) -> String? {
    var x = [Int8](repeating: 0, count: rows * depth)
    for i in 0..<x.count { x[i] = Int8(rng.int(-128...127)) }
    var w = [Int8](repeating: 0, count: units * depth)
    for i in 0..<w.count { w[i] = Int8(rng.int(-127...127)) }
    var bias = [Int32](repeating: 0, count: units)
    for i in 0..<bias.count { bias[i] = Int32(rng.int(-(1 << 20)...(1 << 20))) }
    let (zp, requant) = randomRequant(&rng, channels: units)
    var want = [Int8](repeating: 0, count: rows * units)
    var got = [Int8](repeating: 99, count: rows * units)
    fullyConnectedQS8_reference(x: x, rows: rows, depth: depth, inputZeroPoint: zp, w: w, bias: bias, y: &want, units: units,
                                requant: requant)
    guard let packed = try? packGemmQS8(w: w, bias: bias, n: units, k: depth, inputZeroPoint: zp, requant: requant, what: "selftest") else {
        return "packing failed"
    }
    defer { sys_free(packed) }
    let bytes = convScratchBytes(v, ConvGeometry(rows: rows, depth: depth, units: units), int8: true)
    let scratch = bytes > 0 ? try? sys_alignedAllocate(bytes: bytes, alignment: 64, what: "selftest") : nil
    defer { if let s = scratch { sys_free(s) } }
    fullyConnectedQS8_fast(v, x: x, rows: rows, depth: depth, packed: packed, scratch: scratch, y: &got, units: units,
                           out: qs8Output(requant, inputZeroPoint: zp))
    if let f = firstByteMismatch(got, want, oc: units, what: "output") { return f }
    // Again with the compensation and the float32 bound made at load, as the interpreter runs it.
    let made: UnsafeMutableRawPointer?
    do { made = try qs8Compensation(v, n: units, k: depth, packed: packed, what: "selftest") } catch { return "compensation failed" }
    guard let comps = made else { return nil }
    defer { sys_free(comps) }
    got = [Int8](repeating: 99, count: rows * units)
    fullyConnectedQS8_fast(v, x: x, rows: rows, depth: depth, packed: packed, scratch: scratch, y: &got, units: units,
                           out: qs8Output(requant, inputZeroPoint: zp, bounded: qs8FloatBounded(v, requant, n: units, k: depth, packed: packed)),
                           comps: comps)
    return firstByteMismatch(got, want, oc: units, what: "output with the compensation made at load")
}

// MARK: - Element-wise

/// int8 add, float → int8 and int8 → float variants against their references, bit for bit, over
/// tails (counts around 8), random scales, and the float values where rounding and clamping bite.
func checkElementwise(_ v: KernelVariant, _ rng: inout SelfTestRandom) -> [String] {
    var failures: [String] = []
    for count in [1, 5, 7, 8, 9, 16, 31, 100, 257] {
        let q1 = QuantParams(scale: 0.001 + Float(rng.int(1...1000)) / 500, zeroPoint: Int32(rng.int(-128...127)))
        let q2 = QuantParams(scale: 0.001 + Float(rng.int(1...1000)) / 500, zeroPoint: Int32(rng.int(-128...127)))
        let qo = QuantParams(scale: 0.001 + Float(rng.int(1...1000)) / 300, zeroPoint: Int32(rng.int(-128...127)))
        var a = [Int8](repeating: 0, count: count), b = a
        for i in 0..<count {
            a[i] = Int8(rng.int(-128...127))
            b[i] = Int8(rng.int(-128...127))
        }
        var want = [Int8](repeating: 0, count: count), got = [Int8](repeating: 99, count: count)
        switch String(decoding: v.name.utf8.prefix(while: { $0 != UInt8(ascii: "_") }), as: UTF8.self) {
        case "addQS8":
            let lo = Int32(rng.pick([-128, -128, -20])), hi = Int32(rng.pick([127, 127, 60]))
            let mode: RequantizationMode = rng.int(0...1) == 0 ? .fixedPoint : .float32
            let p = AddQS8Params(input1: q1, input2: q2, output: qo, clampMin: lo, clampMax: hi, mode: mode)
            let d = Dims6([count])
            addQS8_reference(a: a, sa: d.broadcastStrides(to: d), b: b, sb: d.broadcastStrides(to: d), y: &want, out: d, params: p)
            addQS8_fast(v, a: a, b: b, y: &got, count: count, params: p)
            if let f = firstByteMismatch(got, want, oc: count, what: "count \(count)") { failures.append("\(v.name) \(f)") }
        case "mulQS8":
            let lo = Int32(rng.pick([-128, -128, -20])), hi = Int32(rng.pick([127, 127, 60]))
            // Scales whose product over the output's is above and below 1 (left and right shifts).
            let p = MulQS8Params(input1: q1, input2: q2, output: qo, clampMin: lo, clampMax: hi)
            let d = Dims6([count])
            mulQS8_reference(a: a, sa: d.broadcastStrides(to: d), b: b, sb: d.broadcastStrides(to: d), y: &want, out: d, params: p)
            mulQS8_fast(v, a: a, b: b, bStride: count, y: &got, rows: 1, cols: count, params: p)
            if let f = firstByteMismatch(got, want, oc: count, what: "count \(count)") { failures.append("\(v.name) \(f)") }
            // b one row of `cols` for each of `rows` rows (a per-channel factor).
            let rows = rng.int(1...5), cols = count
            var x = [Int8](repeating: 0, count: rows * cols)
            for i in 0..<x.count { x[i] = Int8(rng.int(-128...127)) }
            let o2 = Dims6([rows, cols]), bs = Dims6([1, cols]).broadcastStrides(to: o2)
            var want2 = [Int8](repeating: 0, count: rows * cols), got2 = [Int8](repeating: 99, count: rows * cols)
            mulQS8_reference(a: x, sa: o2.broadcastStrides(to: o2), b: b, sb: bs, y: &want2, out: o2, params: p)
            mulQS8_fast(v, a: x, b: b, bStride: 0, y: &got2, rows: rows, cols: cols, params: p)
            if let f = firstByteMismatch(got2, want2, oc: cols, what: "\(rows) rows of \(cols), broadcast") { failures.append("\(v.name) \(f)") }
        case "lookupQS8":
            // A random table, and every index at least once when the count allows.
            var table = [Int8](repeating: 0, count: 256)
            for i in 0..<256 { table[i] = Int8(rng.int(-128...127)) }
            var x = a
            for i in 0..<min(count, 256) { x[i] = Int8(truncatingIfNeeded: i - 128) }
            lookupQS8_reference(x: x, table: table, y: &want, count: count)
            lookupQS8_fast(v, x: x, table: table, y: &got, count: count)
            if let f = firstByteMismatch(got, want, oc: count, what: "count \(count)") { failures.append("\(v.name) \(f)") }
        case "quantizeQS8":
            var x = [Float](repeating: 0, count: count)
            let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1e30, -1e30, 0.5, -0.5, 1.5, -2.5, 127.5, -128.5, 0.49999997]
            for i in 0..<count {
                // Exact halves of the scale (ties), specials, and random values.
                switch rng.int(0...2) {
                case 0: x[i] = (Float(rng.int(-300...300)) + 0.5) * q1.scale
                case 1: x[i] = specials[rng.int(0...(specials.count - 1))] * (rng.int(0...1) == 0 ? 1 : q1.scale)
                default: x[i] = rng.float() * 200 * q1.scale
                }
            }
            quantizeQS8_reference(x: x, y: &want, count: count, params: q1)
            quantizeQS8_fast(v, x: x, y: &got, count: count, params: q1)
            if let f = firstByteMismatch(got, want, oc: count, what: "count \(count), scale \(q1.scale), zero point \(q1.zeroPoint)") {
                failures.append("\(v.name) \(f)")
            }
        default:
            var wantF = [Float](repeating: 0, count: count), gotF = [Float](repeating: 7, count: count)
            dequantizeQS8_reference(x: a, y: &wantF, count: count, params: q1)
            dequantizeQS8_fast(v, x: a, y: &gotF, count: count, params: q1)
            for i in 0..<count where gotF[i].bitPattern != wantF[i].bitPattern {
                failures.append("\(v.name) count \(count): element \(i): got \(gotF[i]), want \(wantF[i])")
                break
            }
        }
    }
    if v.name.utf8.starts(with: "addQS8".utf8) { failures += checkFusedAdd(v) }
    return failures
}

/// The float32 add over every input pair at scale pairs where its fused multiply-add and two
/// separately rounded products give different bytes (1–4 pairs each, found by search): a kernel
/// without the fma passes random scales and fails here.
func checkFusedAdd(_ v: KernelVariant) -> [String] {
    var a = [Int8](repeating: 0, count: 65536), b = a
    for i in 0..<65536 {
        a[i] = Int8(truncatingIfNeeded: i & 255)
        b[i] = Int8(truncatingIfNeeded: i >> 8)
    }
    var want = [Int8](repeating: 0, count: 65536), got = want
    let d = Dims6([65536])
    let pairs: [(Float, Float)] = [(1.1623427867889404, 1.030198574066162), (1.8914380073547363, 1.1411112546920776),
                                   (1.8686596155166626, 0.6184186339378357), (1.8551260232925415, 1.2496143579483032)]
    for (r1, r2) in pairs {
        let p = AddQS8Params(input1: QuantParams(scale: r1, zeroPoint: 0), input2: QuantParams(scale: r2, zeroPoint: 0),
                             output: QuantParams(scale: 1, zeroPoint: 0), mode: .float32)
        addQS8_reference(a: a, sa: d.strides, b: b, sb: d.strides, y: &want, out: d, params: p)
        addQS8_fast(v, a: a, b: b, y: &got, count: 65536, params: p)
        if let f = firstByteMismatch(got, want, oc: 65536, what: "float32 scales \(r1), \(r2)") { return ["\(v.name) \(f)"] }
    }
    return []
}

// MARK: - Pooling

/// Max pooling against the reference, bit for bit: SqueezeNet's 3×3 stride 2 in ceil mode, padding,
/// windows larger than the input, channel tails around the vector widths, batch 2, and (float) NaN,
/// ±0 and ±infinity among the values; then `random` random shapes.
func checkMaxPool(_ v: KernelVariant, random: Int, _ rng: inout SelfTestRandom) -> (cases: Int, failures: [String]) {
    // (n, h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, ceil)
    var shapes: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
        (1, 13, 13, 64, 3, 3, 2, 2, 0, 0, 0, 0, true), (1, 8, 8, 3, 2, 2, 2, 2, 0, 0, 0, 0, false),
        (2, 7, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, false), (1, 5, 6, 17, 3, 2, 2, 1, 0, 1, 1, 0, true),
        (1, 3, 3, 40, 5, 5, 1, 1, 2, 2, 2, 2, false), (1, 1, 1, 7, 1, 1, 1, 1, 0, 0, 0, 0, false),
        (1, 6, 5, 8, 2, 3, 3, 2, 1, 0, 0, 2, true),
    ]
    for _ in 0..<random {
        let kh = rng.int(1...4), kw = rng.int(1...4)
        shapes.append((rng.int(1...2), rng.int(1...9), rng.int(1...9), rng.int(1...70), kh, kw, rng.int(1...3), rng.int(1...3),
                       rng.int(0...(kh - 1)), rng.int(0...(kw - 1)), rng.int(0...(kh - 1)), rng.int(0...(kw - 1)), rng.int(0...1) == 1))
    }
    var failures: [String] = []
    for (n, h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, ceil) in shapes {
        var p = Pool2D()
        (p.kernelH, p.kernelW, p.strideH, p.strideW) = (kh, kw, sh, sw)
        (p.padTop, p.padLeft, p.padBottom, p.padRight, p.ceilMode) = (pt, pl, pb, pr, ceil)
        func out(_ size: Int, _ k: Int, _ s: Int, _ a: Int, _ b: Int) -> Int {
            let span = size + a + b - k
            if span < 0 { return 1 }
            var o = (ceil ? (span + s - 1) / s : span / s) + 1
            if ceil && (o - 1) * s >= size + a { o -= 1 }  // the last window starts inside (ONNX)
            return o
        }
        let xShape = [n, h, w, c], yShape = [n, out(h, kh, sh, pt, pb), out(w, kw, sw, pl, pr), c]
        let what = "\(v.name) x \(xShape) window \(kh)×\(kw) stride \(sh)×\(sw) pads \(pt),\(pl),\(pb),\(pr)\(ceil ? " ceil" : "")"
        let count = yShape.reduce(1, *)
        if v.name.startsWith("maxPoolF32") {
            let specials: [Float] = [.nan, 0, -0.0, .infinity, -.infinity]
            var x = [Float](repeating: 0, count: n * h * w * c)
            for i in 0..<x.count { x[i] = rng.int(0...9) == 0 ? specials[rng.int(0...4)] : rng.float() * 8 }
            var want = [Float](repeating: 0, count: count), got = [Float](repeating: 7, count: count)
            poolF32_reference(max: true, x: x, xShape: xShape, y: &want, yShape: yShape, params: p)
            maxPoolF32_fast(v, x: x, xShape: xShape, y: &got, yShape: yShape, params: p, rows: 0..<yShape[1])
            for i in 0..<count where got[i].bitPattern != want[i].bitPattern {
                failures.append("\(what): element \(i): got \(got[i]), want \(want[i])")
                break
            }
        } else {
            var x = [Int8](repeating: 0, count: n * h * w * c)
            for i in 0..<x.count { x[i] = Int8(rng.int(-128...127)) }
            var want = [Int8](repeating: 0, count: count), got = [Int8](repeating: 99, count: count)
            poolQS8_reference(max: true, x: x, xShape: xShape, y: &want, yShape: yShape, params: p, zeroPoint: 0)
            maxPoolQS8_fast(v, x: x, xShape: xShape, y: &got, yShape: yShape, params: p, rows: 0..<yShape[1])
            if let f = firstByteMismatch(got, want, oc: c, what: what) { failures.append(f) }
        }
    }
    return (shapes.count, failures)
}

/// Float Add, Sub, Mul with no activation, ReLU and a clip, same shape and a per-channel second input,
/// against `binaryF32_reference` (within 1e-5 relative, as every float variant; −0 and +0 count as equal).
func checkBinaryF32(_ v: KernelVariant, _ rng: inout SelfTestRandom) -> (cases: Int, failures: [String]) {
    var failures: [String] = []
    var cases = 0
    for kind in [OpKind.add, .sub, .mul] {
        for act in [Activation.none, Activation(.relu), Activation(.clip, -0.5, 2)] {
            for (rows, cols) in [(1, 1), (1, 7), (1, 37), (3, 8), (4, 17), (2, 70)] {
                cases += 1
                var a = [Float](repeating: 0, count: rows * cols), b = [Float](repeating: 0, count: cols * (rows == 1 ? 1 : rows))
                for i in 0..<a.count { a[i] = rng.float() * 4 }
                for i in 0..<b.count { b[i] = rng.float() * 4 }
                // Same shape (b has rows · cols values) and, with several rows, b one row for all.
                for broadcast in rows == 1 ? [false] : [false, true] {
                    let bShape = broadcast ? [1, cols] : [rows, cols]
                    let bv = broadcast ? Array(b[0..<cols]) : (0..<(rows * cols)).map { b[$0 % b.count] }
                    let o = Dims6([rows, cols])
                    var want = [Float](repeating: 0, count: rows * cols), got = [Float](repeating: 7, count: rows * cols)
                    binaryF32_reference(kind: kind, a: a, sa: o.broadcastStrides(to: o), b: bv, sb: Dims6(bShape).broadcastStrides(to: o), y: &want,
                                        out: o, activation: act)
                    if broadcast {
                        binaryF32_fast(v, kind: kind, a: a, b: bv, bStride: 0, y: &got, rows: rows, cols: cols, activation: act)
                    } else {
                        binaryF32_fast(v, kind: kind, a: a, b: bv, bStride: rows * cols, y: &got, rows: 1, cols: rows * cols, activation: act)
                    }
                    let mag = (0..<want.count).map { Swift.max(abs(want[$0]), 1) }
                    if let f = firstFloatMismatch(got, want, mag, oc: cols, what: "\(v.name) \(kind.name) \(act.text) \(rows)×\(cols)\(broadcast ? " per-channel" : "")") {
                        failures.append(f)
                    }
                }
            }
        }
    }
    return (cases, failures)
}
