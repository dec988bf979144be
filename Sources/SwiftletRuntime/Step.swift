import CSwiftletKernels
import SwiftletCore
import SwiftletKernels

// Prepared nodes: every pointer, shape and stride a kernel call needs, computed once by
// `Interpreter.init`. `run()` passes them to the kernel and allocates nothing itself.

/// One prepared node.
indirect enum Step {
    case conv2d(ConvStep)
    case fullyConnected(FCStep)
    /// add, sub, mul, div and prelu (kind `.prelu`), then the activation.
    case binary(BinaryStep<Float>, OpKind, Activation)
    case activation(ActivationStep)
    case pool(PoolStep<Float>)
    case mean(MeanStep<Float>)
    /// ReduceMax, ReduceMin or ReduceProd (the kind).
    case reduce(MeanStep<Float>, OpKind)
    case concat(ConcatStep)
    case softmax(SoftmaxStep<Float>)
    case resize(ResizeStep)
    case pad(PadStep)
    case slice(SliceStep)
    case transpose(TransposeStep)
    /// Reshape: the same bytes copied to the output tensor.
    case copy(CopyStep)
    case quantize(QuantizeStep)
    case dequantize(DequantizeStep)
    case lookup(LookupStep)
    case conv2dQS8(ConvQS8Step)
    case fullyConnectedQS8(FCQS8Step)
    case addQS8(BinaryStep<Int8>, AddQS8Params)
    case mulQS8(BinaryStep<Int8>, MulQS8Params)
    /// `zeroPoint`: the input's (and output's), the stored value of the real 0 that padding adds to an
    /// average with `countIncludePad`.
    case poolQS8(PoolStep<Int8>, zeroPoint: Int32)
    /// `acc`: the interpreter's scratch, at least `plan.outCount` int32s (every int8 Mean is one of
    /// these, never a float `mean`).
    case meanQS8(MeanStep<Int8>, MeanQS8Params, acc: UnsafeMutablePointer<Int32>)
    case preluQS8(BinaryStep<Int8>, PReluQS8Params)
    /// `table`: the exponentials' table (the node's input 1).
    case softmaxQS8(SoftmaxStep<Int8>, table: UnsafePointer<Int32>)
    /// The producer of a streamed pair: its rows run inside the consumer's step.
    case skip
    /// A Conv → Conv pair run row by row through a ring of rows (`streamedRows`).
    case streamConv(StreamConvStep)

    /// Calls the node's kernel.
    @inline(__always)
    func run() {
        switch self {
        case .conv2d(let s):
            s.run()
        case .fullyConnected(let s):
            s.run()
        case .binary(let s, let kind, let act):
            if let v = s.simd {
                binaryF32_fast(v, kind: kind, a: s.a, b: s.b, bStride: s.bStride, y: s.y, rows: s.rows, cols: s.cols, activation: act)
            } else {
                binaryF32_reference(kind: kind, a: s.a, sa: s.sa, b: s.b, sb: s.sb, y: s.y, out: s.out, activation: act)
            }
        case .activation(let s):
            activationF32_reference(x: s.x, y: s.y, count: s.count, activation: s.activation)
        case .pool(let s):
            if let v = s.simd {
                maxPoolF32_fast(v, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params, rows: 0..<s.yShape[1])
            } else {
                poolF32_reference(max: s.isMax, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params)
            }
        case .mean(let s):
            meanF32_reference(x: s.x, plan: s.plan, y: s.y)
        case .reduce(let s, let kind):
            reduceF32_reference(kind: kind, x: s.x, plan: s.plan, y: s.y)
        case .concat(let s):
            if s.wide {
                concat_reference(inputs: s.inputs32, chunks: s.chunks, offsets: s.offsets, rowLength: s.rowLength, outer: s.outer,
                                 y: s.y.assumingMemoryBound(to: UInt32.self))
            } else {
                concat_reference(inputs: s.inputs8, chunks: s.chunks, offsets: s.offsets, rowLength: s.rowLength, outer: s.outer,
                                 y: s.y.assumingMemoryBound(to: UInt8.self))
            }
        case .softmax(let s):
            softmaxF32_reference(x: s.x, y: s.y, outer: s.outer, axis: s.axis, inner: s.inner)
        case .resize(let s):
            resizeF32_reference(x: s.x, xShape: s.xShape, y: s.y, params: s.params)
        case .pad(let s):
            if s.wide {
                pad_reference(x: s.x.assumingMemoryBound(to: UInt32.self), dims: s.dims, y: s.y.assumingMemoryBound(to: UInt32.self),
                              out: s.out, begins: s.begins, mode: s.mode, value: s.value)
            } else {
                pad_reference(x: s.x.assumingMemoryBound(to: UInt8.self), dims: s.dims, y: s.y.assumingMemoryBound(to: UInt8.self),
                              out: s.out, begins: s.begins, mode: s.mode, value: UInt8(truncatingIfNeeded: s.value))
            }
        case .slice(let s):
            if s.wide {
                slice_reference(x: s.x.assumingMemoryBound(to: UInt32.self), start: s.start, xs: s.xs,
                                y: s.y.assumingMemoryBound(to: UInt32.self), out: s.out)
            } else {
                slice_reference(x: s.x.assumingMemoryBound(to: UInt8.self), start: s.start, xs: s.xs,
                                y: s.y.assumingMemoryBound(to: UInt8.self), out: s.out)
            }
        case .transpose(let s):
            if s.wide {
                transpose_reference(x: s.x.assumingMemoryBound(to: UInt32.self), xs: s.xs, y: s.y.assumingMemoryBound(to: UInt32.self), out: s.out)
            } else {
                transpose_reference(x: s.x.assumingMemoryBound(to: UInt8.self), xs: s.xs, y: s.y.assumingMemoryBound(to: UInt8.self), out: s.out)
            }
        case .copy(let s):
            if s.x != UnsafeRawPointer(s.y) { s.y.copyMemory(from: s.x, byteCount: s.bytes) }
        case .quantize(let s):
            if let v = s.simd {
                quantizeQS8_fast(v, x: s.x, y: s.y, count: s.count, params: s.params)
            } else {
                quantizeQS8_reference(x: s.x, y: s.y, count: s.count, params: s.params)
            }
        case .dequantize(let s):
            if let v = s.simd {
                dequantizeQS8_fast(v, x: s.x, y: s.y, count: s.count, params: s.params)
            } else {
                dequantizeQS8_reference(x: s.x, y: s.y, count: s.count, params: s.params)
            }
        case .lookup(let s):
            if let v = s.simd {
                lookupQS8_fast(v, x: s.x, table: s.table, y: s.y, count: s.count)
            } else {
                lookupQS8_reference(x: s.x, table: s.table, y: s.y, count: s.count)
            }
        case .conv2dQS8(let s):
            s.run()
        case .fullyConnectedQS8(let s):
            s.run()
        case .addQS8(let s, let p):
            if let v = s.simd {
                addQS8_fast(v, a: s.a, b: s.b, y: s.y, count: s.count, params: p)
            } else {
                addQS8_reference(a: s.a, sa: s.sa, b: s.b, sb: s.sb, y: s.y, out: s.out, params: p)
            }
        case .mulQS8(let s, let p):
            if let v = s.simd {
                mulQS8_fast(v, a: s.a, b: s.b, bStride: s.bStride, y: s.y, rows: s.rows, cols: s.cols, params: p)
            } else {
                mulQS8_reference(a: s.a, sa: s.sa, b: s.b, sb: s.sb, y: s.y, out: s.out, params: p)
            }
        case .poolQS8(let s, let zeroPoint):
            if let v = s.simd {
                maxPoolQS8_fast(v, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params, rows: 0..<s.yShape[1])
            } else {
                poolQS8_reference(max: s.isMax, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params, zeroPoint: zeroPoint)
            }
        case .meanQS8(let s, let p, let acc):
            if let v = s.simd {
                meanQS8_fast(v, x: s.x, pixels: s.plan.divisor, channels: s.plan.dims.d.5, y: s.y, params: p)
            } else {
                meanQS8_reference(x: s.x, plan: s.plan, y: s.y, acc: acc, params: p)
            }
        case .preluQS8(let s, let p):
            preluQS8_reference(x: s.a, sx: s.sa, alpha: s.b, sa: s.sb, y: s.y, out: s.out, params: p)
        case .softmaxQS8(let s, let table):
            softmaxQS8_reference(x: s.x, y: s.y, outer: s.outer, axis: s.axis, inner: s.inner, table: table)
        case .skip:
            break
        case .streamConv(let s):
            s.run()
        }
    }
}

// MARK: - Threads

extension Step {
    /// Whether `run(part:of:)` divides the step among threads; the others run whole on one thread.
    var divides: Bool {
        switch self {
        case .conv2d, .conv2dQS8, .streamConv, .quantize, .dequantize, .lookup: true
        case .addQS8(let s, _), .mulQS8(let s, _): s.simd != nil
        case .pool(let s): s.simd != nil
        case .binary(let s, _, _): s.simd != nil
        case .poolQS8(let s, _): s.simd != nil
        default: false
        }
    }

    /// A rough estimate of the step's time alone, in nanoseconds, from its size and this kind of
    /// step's throughput on one core (measured on the build machine: int8 GEMM ~150 multiply-adds a
    /// nanosecond, float ~50, depthwise a quarter of that, element-wise ~5 elements). Only compared
    /// with `ThreadPool`'s `worthDividingNanoseconds`: a step much shorter than handing parts to the
    /// workers and waiting for them runs whole.
    var estimatedNanoseconds: Int {
        func conv(_ g: ConvGeometry, int8: Bool) -> Int {
            let p = g.params
            let macs = g.n * g.oh * g.ow * g.oc * p.kernelH * p.kernelW * (g.c / max(p.groups, 1))
            let perNs = (int8 ? 150 : 50) / (p.groups > 1 && p.groups == g.c ? 4 : 1)
            return macs / perNs
        }
        switch self {
        case .conv2d(let s): return conv(s.geometry, int8: false)
        case .conv2dQS8(let s): return conv(s.geometry, int8: true)
        case .streamConv(let s):
            let producer = s.producerF32.map { conv($0.geometry, int8: false) } ?? s.producerQS8.map { conv($0.geometry, int8: true) } ?? 0
            let consumer = s.consumerF32.map { conv($0.geometry, int8: false) } ?? s.consumerQS8.map { conv($0.geometry, int8: true) } ?? 0
            return producer + consumer
        case .quantize(let s): return s.count / 3
        case .dequantize(let s): return s.count / 5
        case .lookup(let s): return s.count / 5
        case .addQS8(let s, _), .mulQS8(let s, _): return max(s.count, s.rows * s.cols) / 5
        case .binary(let s, _, _): return s.rows * s.cols / 5
        case .pool(let s): return s.yShape.reduce(1, *) * s.params.kernelH * s.params.kernelW / 8
        case .poolQS8(let s, _): return s.yShape.reduce(1, *) * s.params.kernelH * s.params.kernelW / 16
        default: return 0
        }
    }

    /// The parts `run(part:of:thread:)` splits the step into on `threads` threads: a few per thread,
    /// so threads that finish early take the parts of one the system is not running; two per thread
    /// for a streamed pair, where each part computes the producer rows it shares with its neighbour.
    func parts(threads: Int) -> Int {
        if case .streamConv = self { return 2 * threads }
        return 4 * threads
    }

    /// Part `part` of `parts` of the step (`divides`), on thread `thread` (whose scratch and ring it
    /// uses): fixed bands of output rows, or of elements in chunks of 64, so each output is computed
    /// by the same code whatever the thread count and whichever thread takes the part.
    @inline(__always)
    func run(part: Int, of parts: Int, thread: Int) {
        switch self {
        case .conv2d(let s):
            if s.pixelTile > 0 {
                // A 1×1 GEMM: bands of whole micro-tiles of pixels, not rows (a 7-pixel row is a full
                // 6-pixel tile and a partial one; 49 pixels whole are eight and one).
                let px = tiles(s.geometry.n * s.geometry.oh * s.geometry.ow, tile: s.pixelTile, part: part, of: parts)
                if !px.isEmpty { s.run(pixels: px) }
                return
            }
            // Winograd computes pairs of rows: its bands are whole pairs.
            let rows = s.kernel.algorithm == .winograd ? winogradBand(s.yShape[1], part: part, of: parts) : band(s.yShape[1], part: part, of: parts)
            if !rows.isEmpty { s.run(rows: rows, part: thread) }
        case .conv2dQS8(let s):
            if s.pixelTile > 0 {
                let px = tiles(s.geometry.n * s.geometry.oh * s.geometry.ow, tile: s.pixelTile, part: part, of: parts)
                if !px.isEmpty { s.run(pixels: px, part: thread) }
                return
            }
            let rows = band(s.yShape[1], part: part, of: parts)
            if !rows.isEmpty { s.run(rows: rows, part: thread) }
        case .streamConv(let s):
            s.run(part: part, of: parts, thread: thread)
        case .quantize(let s):
            let r = elements(s.count, part: part, of: parts)
            if r.isEmpty { return }
            if let v = s.simd {
                quantizeQS8_fast(v, x: s.x + r.lowerBound, y: s.y + r.lowerBound, count: r.count, params: s.params)
            } else {
                quantizeQS8_reference(x: s.x + r.lowerBound, y: s.y + r.lowerBound, count: r.count, params: s.params)
            }
        case .lookup(let s):
            let r = elements(s.count, part: part, of: parts)
            if r.isEmpty { return }
            if let v = s.simd {
                lookupQS8_fast(v, x: s.x + r.lowerBound, table: s.table, y: s.y + r.lowerBound, count: r.count)
            } else {
                lookupQS8_reference(x: s.x + r.lowerBound, table: s.table, y: s.y + r.lowerBound, count: r.count)
            }
        case .dequantize(let s):
            let r = elements(s.count, part: part, of: parts)
            if r.isEmpty { return }
            if let v = s.simd {
                dequantizeQS8_fast(v, x: s.x + r.lowerBound, y: s.y + r.lowerBound, count: r.count, params: s.params)
            } else {
                dequantizeQS8_reference(x: s.x + r.lowerBound, y: s.y + r.lowerBound, count: r.count, params: s.params)
            }
        case .addQS8(let s, let p):
            // `divides` only with the SIMD variant (no broadcast: `count` contiguous elements).
            let r = elements(s.count, part: part, of: parts)
            if r.isEmpty { return }
            if let v = s.simd {
                addQS8_fast(v, a: s.a + r.lowerBound, b: s.b + r.lowerBound, y: s.y + r.lowerBound, count: r.count, params: p)
            }
        case .pool(let s):
            guard let v = s.simd else { return }
            let rows = band(s.yShape[1], part: part, of: parts)
            if !rows.isEmpty { maxPoolF32_fast(v, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params, rows: rows) }
        case .poolQS8(let s, _):
            guard let v = s.simd else { return }
            let rows = band(s.yShape[1], part: part, of: parts)
            if !rows.isEmpty { maxPoolQS8_fast(v, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params, rows: rows) }
        case .binary(let s, let kind, let act):
            guard let v = s.simd else { return }
            if s.rows == 1 {
                let r = elements(s.cols, part: part, of: parts)
                if r.isEmpty { return }
                binaryF32_fast(v, kind: kind, a: s.a + r.lowerBound, b: s.b + r.lowerBound, bStride: r.count, y: s.y + r.lowerBound,
                               rows: 1, cols: r.count, activation: act)
            } else {
                let r = band(s.rows, part: part, of: parts)
                if r.isEmpty { return }
                binaryF32_fast(v, kind: kind, a: s.a + r.lowerBound * s.cols, b: s.b, bStride: 0, y: s.y + r.lowerBound * s.cols,
                               rows: r.count, cols: s.cols, activation: act)
            }
        case .mulQS8(let s, let p):
            guard let v = s.simd else { return }
            if s.rows == 1 {
                // Same shape: a band of elements.
                let r = elements(s.cols, part: part, of: parts)
                if r.isEmpty { return }
                mulQS8_fast(v, a: s.a + r.lowerBound, b: s.b + r.lowerBound, bStride: r.count, y: s.y + r.lowerBound, rows: 1,
                            cols: r.count, params: p)
            } else {
                // A per-channel factor: a band of rows.
                let r = band(s.rows, part: part, of: parts)
                if r.isEmpty { return }
                mulQS8_fast(v, a: s.a + r.lowerBound * s.cols, b: s.b, bStride: 0, y: s.y + r.lowerBound * s.cols, rows: r.count,
                            cols: s.cols, params: p)
            }
        default:
            if part == 0 { runWhole() }
        }
    }

    /// `run()`, called rather than inlined: the one copy of the step switch in the binary.
    @inline(never)
    func runWhole() { run() }
}

/// Part `part` of `parts` bands of `0..<count` in whole chunks of 64 elements.
@inline(__always)
private func elements(_ count: Int, part: Int, of parts: Int) -> Range<Int> { tiles(count, tile: 64, part: part, of: parts) }

/// Part `part` of `parts` bands of `0..<count` in whole tiles of `tile` (the last may be partial).
@inline(__always)
private func tiles(_ count: Int, tile: Int, part: Int, of parts: Int) -> Range<Int> {
    let t = band((count + tile - 1) / tile, part: part, of: parts)
    return min(count, t.lowerBound * tile)..<min(count, t.upperBound * tile)
}

/// NHWC input `[N, H, W, C]`, OHWI weights, bias `[O]`, output `[N, OH, OW, O]` with pixels
/// `yPixelStride` elements apart (0: O; more for a Concat slice).
/// `kernel` is the variant chosen at load; a SIMD variant reads `packed` (its weights packed at load)
/// and uses `scratch` (shared by the steps, which run one at a time).
struct ConvStep {
    var x: UnsafePointer<Float>, xShape: [Int]
    var w: UnsafePointer<Float>, b: UnsafePointer<Float>
    var y: UnsafeMutablePointer<Float>, yShape: [Int], yPixelStride: Int
    var params: Conv2D
    var kernel: KernelVariant, geometry: ConvGeometry
    var packed: UnsafeRawPointer?, scratch: UnsafeMutableRawPointer?
    /// Bytes between the scratch blocks of consecutive threads (thread `part` uses `scratch + part · scratchStride`).
    var scratchStride = 0

    /// Pixels the threads' bands are multiples of when the SIMD variant runs any pixel range (a 1×1
    /// GEMM at stride 1); 0: bands of rows.
    var pixelTile: Int { packed != nil && convRunsPixelRanges(kernel, geometry) ? convPixelTile(float: true) : 0 }

    /// Output pixels `pixels` over the batch (`pixelTile` > 0).
    @inline(__always)
    func run(pixels: Range<Int>) {
        conv2dF32_fast(kernel, geometry, x: x, packed: packed!, y: y, yPixelStride: yPixelStride, activation: params.activation, pixels: pixels)
    }

    /// Output rows `rows` (nil: all), reading input rows from a ring of `xRing` rows and writing
    /// output rows to a ring of `yRing` rows when those are above 0, with thread `part`'s scratch.
    @inline(__always)
    func run(rows: Range<Int>? = nil, xRing: Int = 0, yRing: Int = 0, part: Int = 0) {
        if let pw = packed {
            conv2dF32_fast(kernel, geometry, x: x, packed: pw, scratch: scratch.map { $0 + part * scratchStride }, y: y, yPixelStride: yPixelStride,
                           activation: params.activation, rows: rows, xRing: xRing, yRing: yRing)
        } else {
            conv2dF32_reference(x: x, xShape: xShape, w: w, b: b, y: y, yShape: yShape, yPixelStride: yPixelStride, params: params,
                                rows: rows, xRing: xRing, yRing: yRing)
        }
    }
}

/// `rows` = product of all input dims but the last, `depth` = the last, `units` = weight rows.
struct FCStep {
    var x: UnsafePointer<Float>, rows: Int, depth: Int
    var w: UnsafePointer<Float>, b: UnsafePointer<Float>
    var y: UnsafeMutablePointer<Float>, units: Int
    var activation: Activation
    var kernel: KernelVariant, packed: UnsafeRawPointer?

    @inline(__always)
    func run() {
        if let pw = packed {
            fullyConnectedF32_fast(kernel, x: x, rows: rows, depth: depth, packed: pw, y: y, units: units, activation: activation)
        } else {
            fullyConnectedF32_reference(x: x, rows: rows, depth: depth, w: w, b: b, y: y, units: units, activation: activation)
        }
    }
}

/// A binary op's inputs (float32 or int8) with their strides broadcast to the rank-6 padded output dims.
/// `simd`: a SIMD variant, chosen at load when neither input broadcasts (int8 Add: `count` contiguous
/// elements), or for float32 add, sub and mul and int8 Mul also when `b` is one row of `cols` for
/// each of the `rows` rows (`bStride` 0; same shape: one row of every element, `bStride` = `cols`).
struct BinaryStep<Element> {
    var a: UnsafePointer<Element>, sa: Dims6
    var b: UnsafePointer<Element>, sb: Dims6
    var y: UnsafeMutablePointer<Element>, out: Dims6
    var simd: KernelVariant? = nil, count = 0
    var rows = 0, cols = 0, bStride = 0
}

struct ActivationStep {
    var x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int
    var activation: Activation
}

/// Max or average pooling, float32 or int8. `simd`: the SIMD max-pooling variant chosen at load (nil: the reference).
struct PoolStep<Element> {
    var isMax: Bool
    var x: UnsafePointer<Element>, xShape: [Int]
    var y: UnsafeMutablePointer<Element>, yShape: [Int]
    var params: Pool2D
    var simd: KernelVariant? = nil
}

/// Mean, float32 or int8; the reduction plan is computed at prepare time.
struct MeanStep<Element> {
    var x: UnsafePointer<Element>, plan: MeanPlan
    var y: UnsafeMutablePointer<Element>
    /// int8 only: the global average pooling kernel (`plan.divisor` rows of `plan.dims.d.5` channels).
    var simd: KernelVariant? = nil
}

/// The inputs to copy (those not written in their slice already): `chunks[i]` = input i's axis size ×
/// the product of the dims after the axis, placed at `offsets[i]` of each output row of `rowLength`.
/// `wide`: 4-byte elements (float32), else 1-byte (int8); the data-movement steps below do the same.
struct ConcatStep {
    var wide: Bool
    /// The inputs, typed (one list is empty), so a run converts nothing.
    var inputs32: [UnsafePointer<UInt32>], inputs8: [UnsafePointer<UInt8>]
    var chunks: [Int], offsets: [Int], rowLength: Int, outer: Int
    var y: UnsafeMutableRawPointer
}

/// Softmax, float32 or int8, over an `[outer, axis, inner]` view of the physical shape (`inner` = 1
/// and `axis` = all dims from it on, for `toEnd`).
struct SoftmaxStep<Element> {
    var x: UnsafePointer<Element>, y: UnsafeMutablePointer<Element>
    var outer: Int, axis: Int, inner: Int
}

struct ResizeStep {
    var x: UnsafePointer<Float>, xShape: [Int]
    var y: UnsafeMutablePointer<Float>
    var params: Resize
}

/// `begins` padded to rank 6 with leading zeros; `value` the padding's bits (a float's, or the int8
/// of the real value in the tensor's quantization).
struct PadStep {
    var wide: Bool
    var x: UnsafeRawPointer, dims: Dims6
    var y: UnsafeMutableRawPointer, out: Dims6
    var begins: Dims6, mode: Pad.Mode, value: UInt32
}

/// `start` = Σ starts[i]·stride[i]; `xs` = strides × steps.
struct SliceStep {
    var wide: Bool
    var x: UnsafeRawPointer, start: Int, xs: Dims6
    var y: UnsafeMutableRawPointer, out: Dims6
}

/// `xs` = the input strides permuted into output order.
struct TransposeStep {
    var wide: Bool
    var x: UnsafeRawPointer, xs: Dims6
    var y: UnsafeMutableRawPointer, out: Dims6
}

struct CopyStep {
    var x: UnsafeRawPointer, y: UnsafeMutableRawPointer, bytes: Int
}

/// `simd`: the SIMD variant chosen at load (nil: the reference).
struct QuantizeStep {
    var x: UnsafePointer<Float>, y: UnsafeMutablePointer<Int8>, count: Int
    var params: QuantParams
    var simd: KernelVariant? = nil
}

struct DequantizeStep {
    var x: UnsafePointer<Int8>, y: UnsafeMutablePointer<Float>, count: Int
    var params: QuantParams
    var simd: KernelVariant? = nil
}

struct LookupStep {
    var x: UnsafePointer<Int8>, table: UnsafePointer<Int8>, y: UnsafeMutablePointer<Int8>, count: Int
    var simd: KernelVariant? = nil
}

/// As `ConvStep`, with the input zero point and the per-channel requantization made at load.
struct ConvQS8Step {
    var x: UnsafePointer<Int8>, xShape: [Int], inputZeroPoint: Int32
    var w: UnsafePointer<Int8>, b: UnsafePointer<Int32>
    var y: UnsafeMutablePointer<Int8>, yShape: [Int], yPixelStride: Int
    var params: Conv2D
    var requant: Requantization
    var kernel: KernelVariant, geometry: ConvGeometry
    var packed: UnsafeRawPointer?, scratch: UnsafeMutableRawPointer?
    var scratchStride = 0
    /// The GEMM's compensation made at load (`qs8Compensation`), for the variants that use one.
    var comps: UnsafeRawPointer? = nil
    /// `qs8FloatBounded` for the packed weights, checked at load.
    var bounded = false

    /// As `ConvStep.pixelTile`.
    var pixelTile: Int { packed != nil && convRunsPixelRanges(kernel, geometry) ? convPixelTile(float: false, isa: kernel.isa) : 0 }

    /// Output pixels `pixels` over the batch (`pixelTile` > 0), with thread `part`'s scratch.
    @inline(__always)
    func run(pixels: Range<Int>, part: Int) {
        conv2dQS8_fast(kernel, geometry, x: x, packed: packed!, scratch: scratch.map { $0 + part * scratchStride }, y: y,
                       yPixelStride: yPixelStride, out: qs8Output(requant, inputZeroPoint: inputZeroPoint, bounded: bounded), pixels: pixels, comps: comps)
    }

    @inline(__always)
    func run(rows: Range<Int>? = nil, xRing: Int = 0, yRing: Int = 0, part: Int = 0) {
        if let pw = packed {
            conv2dQS8_fast(kernel, geometry, x: x, packed: pw, scratch: scratch.map { $0 + part * scratchStride }, y: y, yPixelStride: yPixelStride,
                           out: qs8Output(requant, inputZeroPoint: inputZeroPoint, bounded: bounded), rows: rows, xRing: xRing, yRing: yRing, comps: comps)
        } else {
            conv2dQS8_reference(x: x, xShape: xShape, inputZeroPoint: inputZeroPoint, w: w, bias: b, y: y, yShape: yShape,
                                yPixelStride: yPixelStride, params: params, requant: requant, rows: rows, xRing: xRing, yRing: yRing)
        }
    }
}

struct FCQS8Step {
    var x: UnsafePointer<Int8>, rows: Int, depth: Int, inputZeroPoint: Int32
    var w: UnsafePointer<Int8>, b: UnsafePointer<Int32>
    var y: UnsafeMutablePointer<Int8>, units: Int
    var requant: Requantization
    var kernel: KernelVariant, packed: UnsafeRawPointer?, scratch: UnsafeMutableRawPointer?
    /// As `ConvQS8Step.comps` and `bounded`.
    var comps: UnsafeRawPointer? = nil
    var bounded = false

    @inline(__always)
    func run() {
        if let pw = packed {
            fullyConnectedQS8_fast(kernel, x: x, rows: rows, depth: depth, packed: pw, scratch: scratch, y: y, units: units,
                                   out: qs8Output(requant, inputZeroPoint: inputZeroPoint, bounded: bounded), comps: comps)
        } else {
            fullyConnectedQS8_reference(x: x, rows: rows, depth: depth, inputZeroPoint: inputZeroPoint, w: w, bias: b, y: y,
                                        units: units, requant: requant)
        }
    }
}
