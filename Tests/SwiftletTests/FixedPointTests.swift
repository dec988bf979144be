import SwiftletCore
import SwiftletKernels
import Testing

/// TFLite-style requantization: hand-computed values, the corner cases, and a property sweep.
@Suite struct FixedPointTests {
    typealias FP = FixedPoint

    @Test func saturatingRoundingDoublingHighMul() {
        #expect(FP.saturatingRoundingDoublingHighMul(Int32.min, Int32.min) == Int32.max, "the one overflow saturates")
        #expect(FP.saturatingRoundingDoublingHighMul(1 << 30, 1 << 30) == 1 << 29)
        // Exact halves: ties go toward +∞ (gemmlowp's nudge).
        #expect(FP.saturatingRoundingDoublingHighMul(1, 1 << 30) == 1)     //  0.5 →  1
        #expect(FP.saturatingRoundingDoublingHighMul(-1, 1 << 30) == 0)    // −0.5 →  0
        #expect(FP.saturatingRoundingDoublingHighMul(-3, 1 << 30) == -1)   // −1.5 → −1
        #expect(FP.saturatingRoundingDoublingHighMul(Int32.max, Int32.max) == Int32.max - 1)
        #expect(FP.saturatingRoundingDoublingHighMul(Int32.min, Int32.max) == -Int32.max)
    }

    @Test func roundingDivideByPowerOfTwo() {
        // Ties away from zero, both signs.
        #expect(FP.roundingDivideByPOT(3, 1) == 2)
        #expect(FP.roundingDivideByPOT(-3, 1) == -2)
        #expect(FP.roundingDivideByPOT(-1, 1) == -1)
        #expect(FP.roundingDivideByPOT(5, 2) == 1)    //  1.25
        #expect(FP.roundingDivideByPOT(-5, 2) == -1)  // −1.25
        #expect(FP.roundingDivideByPOT(6, 2) == 2)    //  1.5
        #expect(FP.roundingDivideByPOT(-6, 2) == -2)  // −1.5
        #expect(FP.roundingDivideByPOT(12345, 0) == 12345)
        #expect(FP.roundingDivideByPOT(Int32.max, 31) == 1)
        #expect(FP.roundingDivideByPOT(Int32.min, 31) == -1)
    }

    @Test func quantizeMultiplier() {
        #expect(FP.quantizeMultiplier(0.5) == (1 << 30, 0))
        #expect(FP.quantizeMultiplier(1.0) == (1 << 30, 1))
        #expect(FP.quantizeMultiplier(0.25) == (1 << 30, -1))
        #expect(FP.quantizeMultiplier(0.75) == (3 << 29, 0))
        // A mantissa that rounds up to 2^31 becomes 2^30 with the shift one larger.
        #expect(FP.quantizeMultiplier(1 - 0x1p-33) == (1 << 30, 1))
        // Just below that rounding point the multiplier is the largest Q31 value.
        #expect(FP.quantizeMultiplier(1 - 0x1p-31) == (Int32.max, 0))
        #expect(FP.quantizeMultiplier(1 - 0x1p-30) == (Int32.max - 1, 0))
        #expect(FP.quantizeMultiplier(0) == (0, 0))
        #expect(FP.quantizeMultiplier(0x1p-40) == (0, 0), "below 2^-32 the multiplier is zero")
        #expect(FP.quantizeMultiplier(0x1p40) == (Int32.max, 30), "shifts clamp at 30")
    }

    @Test func multiplyHandComputed() {
        let half = FP.quantizeMultiplier(0.5)
        #expect(FP.multiply(100, by: half.multiplier, shift: half.shift) == 50)
        #expect(FP.multiply(3, by: half.multiplier, shift: half.shift) == 2)    //  1.5 →  2
        #expect(FP.multiply(-3, by: half.multiplier, shift: half.shift) == -1)  // −1.5 → −1 (the Q31 tie goes up)
        let quarter = FP.quantizeMultiplier(0.25)
        #expect(FP.multiply(-6, by: quarter.multiplier, shift: quarter.shift) == -2)  // −1.5 → −2 (the shift's tie, away)
        #expect(FP.multiply(6, by: quarter.multiplier, shift: quarter.shift) == 2)
        let two = FP.quantizeMultiplier(2.0)
        #expect(FP.multiply(-1000, by: two.multiplier, shift: two.shift) == -2000)
    }

    /// For random accumulators and multipliers the result is within one of the exact product.
    @Test func multiplyIsWithinOneOfExact() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<20_000 {
            let real = Double(rng.next() % 1_000_000 + 1) / 1_000_000 * (rng.next() % 2 == 0 ? 0.01 : 1.5)
            let (m, s) = FP.quantizeMultiplier(real)
            let x = Int32(truncatingIfNeeded: Int64(rng.next() % 2_000_001) - 1_000_000)
            let exact = Double(x) * Double(m) * pow2(s - 31)
            let got = FP.multiply(x, by: m, shift: s)
            #expect(abs(Double(got) - exact) <= 1.0, "x \(x), real \(real) → (\(m), \(s)): got \(got), exact \(exact)")
        }
    }

    /// A 3×3 int8 convolution over a 3×3 input with padding 1, computed by hand at the centre.
    @Test func conv2dQS8HandComputed() {
        // Input NHWC [1, 3, 3, 1], zero point −1: real values (x + 1) · s_in.
        let x: [Int8] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
        // Weights OHWI [1, 3, 3, 1], all 1 (symmetric, zero point 0); bias 10.
        let w = [Int8](repeating: 1, count: 9)
        let bias: [Int32] = [10]
        var c = Conv2D()
        (c.kernelH, c.kernelW, c.padTop, c.padLeft, c.padBottom, c.padRight) = (3, 3, 1, 1, 1, 1)
        // Multiplier 0.5, output zero point 3.
        let rq = Requantization(multipliers: [1 << 30], shifts: [0], outputZeroPoint: 3)
        var y = [Int8](repeating: 0, count: 9)
        conv2dQS8_reference(x: x, xShape: [1, 3, 3, 1], inputZeroPoint: -1, w: w, bias: bias, y: &y, yShape: [1, 3, 3, 1], params: c, requant: rq)
        // Centre: Σ (x + 1) over all 9 = 36 + 9 = 45; acc = 55; 55 · 0.5 = 27.5 → 28; + 3 = 31.
        #expect(y[4] == 31)
        // Corner (0, 0): taps x[0], x[1], x[3], x[4] → (1 + 2 + 4 + 5) = 12; acc 22 → 11 + 3 = 14.
        #expect(y[0] == 14)
        // A ReLU6-style clamp caps it.
        let capped = Requantization(multipliers: [1 << 30], shifts: [0], outputZeroPoint: 3, clampMin: 3, clampMax: 20)
        conv2dQS8_reference(x: x, xShape: [1, 3, 3, 1], inputZeroPoint: -1, w: w, bias: bias, y: &y, yShape: [1, 3, 3, 1], params: c, requant: capped)
        #expect(y[4] == 20 && y[0] == 14)
    }

    /// int8 add against the real-valued sum: within one output step.
    @Test func addQS8MatchesRealSum() {
        let a = QuantParams(scale: 0.05, zeroPoint: -3)
        let b = QuantParams(scale: 0.02, zeroPoint: 10)
        let out = QuantParams(scale: 0.07, zeroPoint: 1)
        let p = AddQS8Params(input1: a, input2: b, output: out)
        var xa: [Int8] = []
        var xb: [Int8] = []
        for i in 0..<256 {
            xa.append(Int8(truncatingIfNeeded: i))
            xb.append(Int8(truncatingIfNeeded: i &* 37))
        }
        var y = [Int8](repeating: 0, count: 256)
        let d = Dims6([256])
        addQS8_reference(a: xa, sa: d.strides, b: xb, sb: d.strides, y: &y, out: d, params: p)
        for i in 0..<256 {
            let real = a.dequantize(xa[i]) + b.dequantize(xb[i])
            let want = out.quantize(real)
            #expect(abs(Int(y[i]) - Int(want)) <= 1, "\(xa[i]) + \(xb[i]): got \(y[i]), real sum quantizes to \(want)")
        }
    }

    /// int8 average pooling rounds half away from zero; max pooling takes the maximum.
    @Test func poolQS8() {
        let x: [Int8] = [1, 2, -3, -4, 5, 6, -7, -8]  // [1, 2, 2, 2] NHWC
        var p = Pool2D()
        (p.kernelH, p.kernelW, p.strideH, p.strideW) = (2, 2, 2, 2)
        var y = [Int8](repeating: 0, count: 2)
        poolQS8_reference(max: false, x: x, xShape: [1, 2, 2, 2], y: &y, yShape: [1, 1, 1, 2], params: p, zeroPoint: 0)
        // channel 0: 1 − 3 + 5 − 7 = −4 → −1; channel 1: 2 − 4 + 6 − 8 = −4 → −1.
        #expect(y == [-1, -1])
        let x2: [Int8] = [1, 2, 0, 0, 0, 0, 1, 0]  // sums 2 and 2 over 4 → 0.5 → 1 (away from zero)
        poolQS8_reference(max: false, x: x2, xShape: [1, 2, 2, 2], y: &y, yShape: [1, 1, 1, 2], params: p, zeroPoint: 0)
        #expect(y == [1, 1])
        poolQS8_reference(max: true, x: x, xShape: [1, 2, 2, 2], y: &y, yShape: [1, 1, 1, 2], params: p, zeroPoint: 0)
        #expect(y == [5, 6])
    }

    /// int8 average pooling with `count_include_pad`: each padded position adds the zero point (a real
    /// 0) and counts in the divisor; without it the divisor is the in-image count.
    @Test func poolQS8CountsThePaddingAsTheZeroPoint() {
        let x: [Int8] = [10, 20, 30, 40]  // [1, 2, 2, 1] NHWC, zero point −10: reals 20, 30, 40, 50
        var p = Pool2D()
        (p.kernelH, p.kernelW, p.padBottom, p.padRight) = (2, 2, 1, 1)
        var y = [Int8](repeating: 0, count: 4)
        poolQS8_reference(max: false, x: x, xShape: [1, 2, 2, 1], y: &y, yShape: [1, 2, 2, 1], params: p, zeroPoint: -10)
        #expect(y == [25, 30, 35, 40])
        // 100/4; (20 + 40 − 2·10)/4 = 10; (30 + 40 − 20)/4 = 12.5 → 13; (40 − 3·10)/4 = 2.5 → 3.
        p.countIncludePad = true
        poolQS8_reference(max: false, x: x, xShape: [1, 2, 2, 1], y: &y, yShape: [1, 2, 2, 1], params: p, zeroPoint: -10)
        #expect(y == [25, 10, 13, 3])
        // Max pooling ignores it.
        poolQS8_reference(max: true, x: x, xShape: [1, 2, 2, 1], y: &y, yShape: [1, 2, 2, 1], params: p, zeroPoint: -10)
        #expect(y == [40, 40, 40, 40])
    }
}

func pow2(_ e: Int) -> Double {
    var v = 1.0
    if e >= 0 { for _ in 0..<e { v *= 2 } } else { for _ in 0..<(-e) { v /= 2 } }
    return v
}

