import CSwiftletKernels
import SwiftletCore

// The packed weight layouts the SIMD convolution and fully connected kernels read. One layout per
// form on every ISA (AVX2, NEON, NEON dot product read the same bytes), so `swiftlet import` and
// `quantize` store them in the `.swl` (format 2) and the kernels read them in place from the mapped
// file; files without them (format 1) are packed here at load. docs/format.md gives them byte by byte.

/// A packed weight layout. Raw values are stored in `.swl` files: append only.
public enum PackedForm: UInt8, Sendable, Equatable {
    /// float32 GEMM (1×1, im2col, fully connected): blocks of 16 outputs, `[16 bias][K][16]`.
    case gemmF32 = 1
    /// int8 GEMM: blocks of 8 outputs, `[8 bias'][8 multiplier][8 shift]` int32, then `[⌈K/4⌉][8][4]` int8.
    case gemmQS8 = 2
    /// float32 depthwise: blocks of 16 channels, `[16 bias][taps][16]`.
    case depthwiseF32 = 3
    /// int8 depthwise: blocks of 16 channels, `[16 bias'][16 multiplier][16 shift]` int32, then
    /// `[⌈taps/2⌉][16][2]` int8; the last block of C > 16 channels holds the last 16 (it overlaps).
    case depthwiseQS8 = 4

    /// The form a variant's kernels read (nil: the reference and the element-wise and pooling forms).
    public static func of(_ algorithm: KernelAlgorithm, int8: Bool) -> PackedForm? {
        switch algorithm {
        case .pointwise, .im2col, .gemm: return int8 ? .gemmQS8 : .gemmF32
        case .depthwise: return int8 ? .depthwiseQS8 : .depthwiseF32
        case .reference, .elementwise, .pool, .winograd: return nil  // Winograd's weights are made at load
        }
    }
}

/// A packed weights block's form and size: `n` outputs (channels, for the depthwise forms) of `k`
/// taps each (the GEMM depth, or KH · KW).
public struct PackedShape: Sendable, Equatable {
    public var form: PackedForm
    public var n: Int
    public var k: Int

    public init(form: PackedForm, n: Int, k: Int) {
        self.form = form
        self.n = n
        self.k = k
    }

    /// The layout the SIMD variants read for a convolution of geometry `g`, or nil when none takes it
    /// (the reference runs it, from the plain weights). The same on every architecture.
    public init?(conv g: ConvGeometry, int8: Bool) {
        let probe = { (a: KernelAlgorithm) in KernelVariant("", a, .scalar, requires: []).accepts(g) }
        if probe(.depthwise) {
            self.init(form: int8 ? .depthwiseQS8 : .depthwiseF32, n: g.c, k: g.params.kernelH * g.params.kernelW)
        } else if probe(.pointwise) || probe(.im2col) {
            self.init(form: int8 ? .gemmQS8 : .gemmF32, n: g.oc, k: g.depth)
        } else {
            return nil
        }
    }

    /// The layout of a fully connected layer's `[units][depth]` weights, or nil when too deep.
    public init?(units: Int, depth: Int, int8: Bool) {
        guard KernelVariant("", .gemm, .scalar, requires: []).accepts(ConvGeometry(rows: 1, depth: depth, units: units)) else { return nil }
        self.init(form: int8 ? .gemmQS8 : .gemmF32, n: units, k: depth)
    }

    var blockWidth: Int {
        switch form {
        case .gemmF32: return Int(SWK_F32_NR)
        case .gemmQS8: return Int(SWK_QS8_NR)
        case .depthwiseF32, .depthwiseQS8: return Int(SWK_DW_CB)
        }
    }

    /// Blocks of `blockWidth` outputs or channels.
    public var blocks: Int { (n + blockWidth - 1) / blockWidth }

    /// Bytes of one block.
    public var blockBytes: Int {
        let w = blockWidth
        switch form {
        case .gemmF32, .depthwiseF32: return w * (k + 1) * 4
        case .gemmQS8: return 12 * w + w * 4 * ((k + 3) / 4)
        case .depthwiseQS8: return 12 * w + w * 2 * ((k + 1) / 2)
        }
    }

    /// Bytes of the whole packed tensor.
    public var byteCount: Int { blocks * blockBytes }

    /// Where tap `t` of the `j`th output (channel) of a block sits, counted in elements from the
    /// block's start (floats for the float forms, bytes after the int32 header for the int8 forms).
    @inline(__always)
    func index(_ j: Int, _ t: Int) -> Int {
        let w = blockWidth
        switch form {
        case .gemmF32, .depthwiseF32: return w + t * w + j
        case .gemmQS8: return (t / 4) * 4 * w + j * 4 + t % 4
        case .depthwiseQS8: return (t / 2) * 2 * w + j * 2 + t % 2
        }
    }

    /// The block that holds output (channel) `o` (the first, for a channel the last depthwise int8
    /// block repeats) and its tap `t`'s index there.
    @inline(__always)
    func place(_ o: Int, _ t: Int) -> (block: Int, index: Int) {
        let w = blockWidth
        if form == .depthwiseQS8 && n > w && o >= (blocks - 1) * w {
            let first = n - w  // the last block holds the last 16 channels
            return (blocks - 1, index(o - first, t))
        }
        return (o / w, index(o % w, t))
    }

    /// The first output (channel) block `blk` holds and how many it holds.
    func span(_ blk: Int) -> (first: Int, count: Int) {
        let w = blockWidth
        if form == .depthwiseQS8 && blk == blocks - 1 && n > w { return (n - w, w) }
        return (blk * w, min(w, n - blk * w))
    }
}

/// The int8 parameters a packed int8 block folds in: the input zero point (into the bias:
/// bias − zp · Σ w, wrapping as the reference's int32 sums do) and each output's requantization.
public struct PackedQS8Parameters: Sendable {
    public var inputZeroPoint: Int32
    /// Per output: the block's second and third words (`Requantization.packedWords`: the Q31
    /// multiplier and the shift, or the float32 scale's bits and 0).
    public var multipliers: [Int32]
    public var shifts: [Int32]

    public init(inputZeroPoint: Int32, requant: Requantization) {
        self.inputZeroPoint = inputZeroPoint
        let n = requant.channels
        multipliers = (0..<n).map { requant.packedWords($0).0 }
        shifts = (0..<n).map { requant.packedWords($0).1 }
    }
}

// MARK: - Packing, unpacking, checking

/// Writes `shape.byteCount` bytes at `out` (64-byte aligned): the plain weights `w` (`[n][k]`, OHWI
/// flattened; `[C][KH·KW]` for the depthwise forms) and bias `bias` (float32 for the float forms,
/// int32 for the int8 ones) in `shape`'s layout; `q` is required for the int8 forms.
public func packWeights(_ shape: PackedShape, w: UnsafeRawPointer, bias: UnsafeRawPointer, q: PackedQS8Parameters?,
                        into out: UnsafeMutableRawPointer) {
    out.initializeMemory(as: UInt8.self, repeating: 0, count: shape.byteCount)
    let (n, k) = (shape.n, shape.k)
    let bb = shape.blockBytes
    switch shape.form {
    case .gemmF32, .depthwiseF32:
        let wf = w.assumingMemoryBound(to: Float.self)
        let bf = bias.assumingMemoryBound(to: Float.self)
        for o in 0..<n {
            let (blk, _) = shape.place(o, 0)
            let base = (out + blk * bb).assumingMemoryBound(to: Float.self)
            base[o % shape.blockWidth] = bf[o]
            for t in 0..<k { base[shape.place(o, t).index] = wf[o * k + t] }
        }
    case .gemmQS8, .depthwiseQS8:
        guard let q else { return }
        let wi = w.assumingMemoryBound(to: Int8.self)
        let bi = bias.assumingMemoryBound(to: Int32.self)
        let width = shape.blockWidth
        for blk in 0..<shape.blocks {
            let (first, count) = shape.span(blk)
            let ints = (out + blk * bb).assumingMemoryBound(to: Int32.self)
            let ws = (out + blk * bb + 12 * width).assumingMemoryBound(to: Int8.self)
            for j in 0..<count {
                let o = first + j
                var sum: Int32 = 0
                for t in 0..<k {
                    let v = wi[o * k + t]
                    sum &+= Int32(v)
                    ws[shape.index(j, t)] = v
                }
                ints[j] = bi[o] &- q.inputZeroPoint &* sum
                ints[width + j] = q.multipliers[o]
                ints[2 * width + j] = q.shifts[o]
            }
        }
    }
}

/// Writes the plain weights (`[n][k]`, `n · k` elements of the form's type) that `packed` holds.
public func unpackWeights(_ shape: PackedShape, _ packed: UnsafeRawPointer, into w: UnsafeMutableRawPointer) {
    let (n, k) = (shape.n, shape.k)
    let bb = shape.blockBytes
    switch shape.form {
    case .gemmF32, .depthwiseF32:
        let wf = w.assumingMemoryBound(to: Float.self)
        for o in 0..<n {
            let (blk, _) = shape.place(o, 0)
            let base = (packed + blk * bb).assumingMemoryBound(to: Float.self)
            for t in 0..<k { wf[o * k + t] = base[shape.place(o, t).index] }
        }
    case .gemmQS8, .depthwiseQS8:
        let wi = w.assumingMemoryBound(to: Int8.self)
        for o in 0..<n {
            for t in 0..<k {
                let (blk, i) = shape.place(o, t)
                wi[o * k + t] = (packed + blk * bb + 12 * shape.blockWidth).load(fromByteOffset: i, as: Int8.self)
            }
        }
    }
}

/// Why `packed` is not what `packWeights` makes of its own weights with `bias` and `q` (the output
/// or channel, and what is wrong with it), or nil when it is: every bias, multiplier and shift slot, every duplicate of an overlapping channel and
/// every padding byte is checked, so a file's packed weights and the plain weights the reference
/// kernels unpack from them always compute the same thing. Reads `packed` once; allocates nothing.
public func packedWeightsProblem(_ shape: PackedShape, _ packed: UnsafeRawPointer, bias: UnsafeRawPointer,
                                 q: PackedQS8Parameters?) -> (output: Int, problem: String)? {
    let (n, k) = (shape.n, shape.k)
    let bb = shape.blockBytes
    let width = shape.blockWidth
    switch shape.form {
    case .gemmF32, .depthwiseF32:
        let bf = bias.assumingMemoryBound(to: UInt32.self)
        for blk in 0..<shape.blocks {
            let base = (packed + blk * bb).assumingMemoryBound(to: UInt32.self)
            let (first, count) = shape.span(blk)
            for j in 0..<width {
                if j < count {
                    if base[j] != bf[first + j] { return (first + j, "its bias differs from the bias tensor") }
                } else {
                    if base[j] != 0 { return (first + j, "its padding is not zero") }
                    for t in 0..<k where base[width + t * width + j] != 0 { return (first + j, "its padding is not zero") }
                }
            }
        }
        return nil
    case .gemmQS8, .depthwiseQS8:
        guard let q, q.multipliers.count >= n, q.shifts.count >= n else { return (0, "int8 weights without their requantization") }
        let bi = bias.assumingMemoryBound(to: Int32.self)
        let group = shape.form == .gemmQS8 ? 4 : 2
        let padded = (k + group - 1) / group * group
        for blk in 0..<shape.blocks {
            let ints = (packed + blk * bb).assumingMemoryBound(to: Int32.self)
            let ws = (packed + blk * bb + 12 * width).assumingMemoryBound(to: Int8.self)
            let (first, count) = shape.span(blk)
            for j in 0..<width {
                if j >= count {
                    if ints[j] != 0 || ints[width + j] != 0 || ints[2 * width + j] != 0 { return (first + j, "its padding is not zero") }
                    for t in 0..<padded where ws[shape.index(j, t)] != 0 {
                        return (first + j, "its padding is not zero")
                    }
                    continue
                }
                let o = first + j
                var sum: Int32 = 0
                for t in 0..<padded {
                    let v = ws[shape.index(j, t)]
                    if t >= k {
                        if v != 0 { return (first + j, "its padding is not zero") }
                        continue
                    }
                    sum &+= Int32(v)
                    // A channel the last depthwise block repeats must equal its first copy.
                    let (home, i) = shape.place(o, t)
                    if home != blk && (packed + home * bb + 12 * width).load(fromByteOffset: i, as: Int8.self) != v {
                        return (o, "its two copies differ")
                    }
                }
                if ints[j] != bi[o] &- q.inputZeroPoint &* sum { return (o, "its folded bias is not bias − zero point · Σ weights") }
                if ints[width + j] != q.multipliers[o] || ints[2 * width + j] != q.shifts[o] {
                    return (o, "its requantization differs from the tensors' scales")
                }
            }
        }
        return nil
    }
}
