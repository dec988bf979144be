// The self-test's checks, one per kind of variant: each runs a variant and its scalar reference on
// the same random case and names the first difference (SelfTest.swift drives them).

import CSwiftletKernels
import SwiftletCore
import SwiftletKernels
import SwiftletVision

// MARK: - Float

/// "what: element i (pixel p, channel c): got g, want w", element `i` of `oc` channels a pixel.
func mismatch(_ what: String, _ i: Int, oc: Int, got: String, want: String) -> String {
    "\(what): element \(i) (pixel \(i / max(oc, 1)), channel \(i % max(oc, 1))): got \(got), want \(want)"
}

/// Copies into the input ring `xr` (`xRing` rows) the rows of `x` that output row `oy` reads.
func fillInputRing<T>(_ xr: inout [T], from x: [T], _ g: ConvGeometry, oy: Int, xRing: Int) {
    let p = g.params
    for ky in 0..<p.kernelH {
        let iy = oy * p.strideH - p.padTop + ky * p.dilationH
        if iy < 0 || iy >= g.h { continue }
        for i in 0..<(g.w * g.c) { xr[(iy % xRing) * g.w * g.c + i] = x[iy * g.w * g.c + i] }
    }
}

/// The first float mismatch beyond `1e-5 · magnitude` (nil: none), with its coordinates.
func firstFloatMismatch(_ got: [Float], _ want: [Float], _ mag: [Float], oc: Int, what: String) -> String? {
    for i in 0..<want.count {
        let tol = 1e-5 * mag[i] + 1e-6
        let d = got[i] - want[i]
        if !(d.magnitude <= tol) {
            return mismatch(what, i, oc: oc, got: "\(got[i])", want: "\(want[i])") + " (tolerance \(tol))"
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
        fillInputRing(&xr, from: x, g, oy: oy, xRing: xRing)
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
        return mismatch(what, i, oc: oc, got: "\(got[i])", want: "\(want[i])")
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
        fillInputRing(&xr, from: x, g, oy: oy, xRing: xRing)
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
    if v.name.utf8.starts(with: "quantizeQS8".utf8) { failures += checkQuantizeNearHalves(v) }
    return failures
}

/// The int8 quantization where dividing by the scale and multiplying by its reciprocal can round to
/// different integers: 1 to 3 ulps either side of every half-integer multiple of the scale from −1,100.5
/// to 1,100.5, and values just outside the kernels' 2^−10 band around them, for scales that are powers
/// of two and not, each kind in blocks of its own so the kernels' multiply path (taken only by blocks
/// with no lane near a half-integer) meets its hardest lanes, and in lanes mixed with ties.
func checkQuantizeNearHalves(_ v: KernelVariant) -> [String] {
    var failures: [String] = []
    for scale: Float in [1, 0.25, 0.0173, 0.007_843_137, 0.031_372_55, 3.1, 1e-3] {
        for zp: Int32 in [0, -128, 77] {
            var x: [Float] = []
            for ulps in 1...3 {
                for up in [true, false] {
                    for k in -1101...1100 {
                        var h = (Float(k) + 0.5) * scale
                        for _ in 0..<ulps { h = up ? h.nextUp : h.nextDown }
                        x.append(h)
                    }
                }
            }
            for k in -1101...1100 {
                let off: Float = 1.0001 / 1024
                x.append((Float(k) + 0.5 + off) * scale)
                x.append((Float(k) + 0.5 - off) * scale)
            }
            let q = QuantParams(scale: scale, zeroPoint: zp)
            var want = [Int8](repeating: 0, count: x.count), got = [Int8](repeating: 99, count: x.count)
            quantizeQS8_reference(x: x, y: &want, count: x.count, params: q)
            quantizeQS8_fast(v, x: x, y: &got, count: x.count, params: q)
            if let f = firstByteMismatch(got, want, oc: x.count, what: "near half-integers, scale \(scale), zero point \(zp)") {
                failures.append("\(v.name) \(f)")
            }
        }
    }
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

/// int8 global average pooling against `meanQS8_reference` over [pixels, channels], bit for bit:
/// SqueezeNet's 13×13×1000 and MobileNetV2's 7×7×1280, channel counts around 16 and below it, more
/// than 256 pixels (several int16 batches), every value at one end (the sums' extremes), scales
/// whose multiplier shifts left as well as right, and both ways of folding in 1/n.
func checkMeanQS8(_ v: KernelVariant, _ rng: inout SelfTestRandom) -> (cases: Int, failures: [String]) {
    var shapes = [(169, 1000), (49, 1280), (1, 1), (3, 15), (7, 16), (5, 17), (300, 33), (513, 40), (2, 100)]
    for _ in 0..<6 { shapes.append((rng.int(1...600), rng.int(1...70))) }
    var failures: [String] = []
    for (i, (pixels, channels)) in shapes.enumerated() {
        let xq = QuantParams(scale: 0.001 + Float(rng.int(1...1000)) / 300, zeroPoint: Int32(rng.int(-128...127)))
        // Every fourth case an output scale small enough that the multiplier exceeds 1 (a left shift).
        let yScale = i % 4 == 3 ? xq.scale / Float(pixels) / 3 : 0.001 + Float(rng.int(1...1000)) / 300
        // Odd cases fold 1/n into the multiplier as TFLite's reference does (`.fixedPoint`: multipliers
        // below 2^30 too), even ones as Swiftlet's own models.
        let p = MeanQS8Params(input: xq, output: QuantParams(scale: yScale, zeroPoint: Int32(rng.int(-128...127))), count: pixels,
                              mode: i % 2 == 1 ? .fixedPoint : .float32)
        var x = [Int8](repeating: 0, count: pixels * channels)
        let fill = i % 5  // 0: all −128, 1: all 127, else random
        for j in 0..<x.count { x[j] = fill == 0 ? -128 : fill == 1 ? 127 : Int8(rng.int(-128...127)) }
        let plan = MeanPlan(dims: Dims6([pixels, channels]), reduced: [false, false, false, false, true, false])
        var want = [Int8](repeating: 0, count: channels), got = [Int8](repeating: 99, count: channels)
        var acc = [Int32](repeating: 0, count: channels)
        meanQS8_reference(x: x, plan: plan, y: &want, acc: &acc, params: p)
        meanQS8_fast(v, x: x, pixels: pixels, channels: channels, y: &got, params: p)
        if let f = firstByteMismatch(got, want, oc: channels, what: "\(v.name) \(pixels) pixels × \(channels) channels") { failures.append(f) }
    }
    return (shapes.count, failures)
}

/// Max pooling against the reference, bit for bit: SqueezeNet's 3×3 stride 2 in ceil mode, padding,
/// windows larger than the input, channel tails around the vector widths, batch 2, and (float) NaN,
/// ±0 and ±infinity among the values; then `random` random shapes.
func checkMaxPool(_ v: KernelVariant, random: Int, _ rng: inout SelfTestRandom) -> (cases: Int, failures: [String]) {
    // (n, h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, ceil)
    var shapes: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
        (1, 13, 13, 64, 3, 3, 2, 2, 0, 0, 0, 0, true), (1, 8, 8, 3, 2, 2, 2, 2, 0, 0, 0, 0, false),
        (2, 7, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, false), (1, 5, 6, 17, 3, 2, 2, 1, 0, 1, 1, 0, true),
        (1, 3, 3, 40, 5, 5, 1, 1, 2, 2, 2, 2, false), (1, 1, 1, 7, 1, 1, 1, 1, 0, 0, 0, 0, false),
        (1, 6, 5, 8, 2, 3, 3, 2, 1, 0, 0, 2, true), (1, 9, 9, 48, 3, 3, 2, 2, 0, 0, 0, 0, true), (1, 4, 5, 80, 2, 2, 1, 1, 0, 0, 1, 1, false),
        (1, 6, 8, 24, 2, 2, 2, 2, 0, 0, 0, 0, false), (1, 11, 10, 100, 3, 3, 2, 2, 1, 1, 1, 1, false),
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
