import SwiftletCore
import SwiftletKernels
import SwiftletModel

/// Runs a packed float32 model with the reference kernels, out of one arena.
///
/// `init` allocates the arena (`spec.arenaBytes`, 64-byte aligned) and prepares every node once:
/// each tensor resolved to a pointer (arena base + offset, or into the mapped weights), each op's
/// shapes, broadcast strides, chunk lists and offsets computed into a `Step`. `invoke()` only walks
/// the steps and calls the kernels; it allocates nothing itself (as TFLM's Prepare/Eval split).
///
/// Float32 nodes run the float reference kernels, int8 nodes (TensorFlow Lite's scheme) the int8
/// ones; the reader has checked every node's types, so the dtype of a node's tensors picks its kernel.
///
/// Threads (`threads` > 1): convolutions, streamed Conv → Conv pairs and the element-wise SIMD
/// steps are split into fixed bands of output rows or elements on a `ThreadPool` (`Step.run(part:of:thread:)`);
/// each output is computed by the same code at every thread count, so results are bit-identical.
/// Each thread has its own kernel scratch and, for a streamed pair, its own ring of rows (allocated
/// at load beside the packed weights). Views, in-place element-wise nodes and Concat slices share bytes (`Aliasing`):
/// element-wise kernels read each element before writing it; a Conv writing a Concat slice gets the
/// Concat's row as its pixel stride, and the Concat copies only the inputs not already in place.
public final class Interpreter {
    /// The model the interpreter runs (its mapped file holds the weights).
    public let model: PackedModel
    /// The model's tensors, nodes and metadata.
    public var spec: ModelSpec { model.spec }

    private let arena: UnsafeMutableRawPointer
    /// Kernel scratch outside the arena, for plans that did not reserve it (nil for current plans).
    private let scratch: UnsafeMutablePointer<Int32>?
    /// Per tensor: its first byte (weights are never written through these).
    private let pointers: [UnsafeMutableRawPointer]
    /// The prepared steps, in a buffer of their own so a thread pool's task can point at one.
    private let steps: UnsafeMutableBufferPointer<Step>
    /// Threads of `pool` (1: no pool).
    public let threads: Int
    private let pool: ThreadPool?
    /// Per step: whether it is divided among the pool's threads (`Step.divides`, and its estimated
    /// time at least `divideAbove` nanoseconds).
    private let divided: [Bool]
    /// Steps estimated shorter than this (`Step.estimatedNanoseconds`) run whole on the calling thread
    /// even with a pool: handing out parts and waiting for them costs about a microsecond, more than
    /// an 8 × 8 × 96 add or pooling saves by halves (BlazeFace's last blocks).
    public static let divideAboveNanoseconds = 2_500
    /// Steps after which the caller waited for a descheduled worker (`ThreadPool.stalls`); the pool
    /// ran the following steps on the calling thread alone for a while.
    public var poolStalls: Int { pool?.stalls ?? 0 }
    /// Per tensor: the row stride a Conv writes it with (0: packed).
    private let rowStrides: [Int]
    /// Weights packed at load for the SIMD variants, and their shared scratch (freed with the interpreter).
    private let owned: [UnsafeMutableRawPointer]
    /// Per node: the kernel variant that runs it (`conv2dQS8_gemm4x8c4_avx2`, `conv2dF32_reference`, …).
    public let kernelNames: [String]
    /// The instruction set of each node's kernel (`.scalar` for the references).
    public let kernelISAs: [KernelISA]
    /// Whether every node runs its reference kernel (`--kernels reference`).
    public let kernels: KernelChoice
    /// Layers whose weights were packed at load (0 when the file stores them in the chosen variants'
    /// layouts, as format-2 files do on every CPU with SIMD kernels).
    public let layersPackedAtLoad: Int
    /// Layers whose weights were transformed at load for a variant no file stores (Winograd), in
    /// buffers the interpreter owns; the file's bytes of those tensors are given back.
    public let layersTransformedAtLoad: Int
    /// Streamed pairs of the plan that run whole, through a block allocated at load (`wholePairs`).
    public let pairsRunWhole: Int
    /// The model file's bytes counted against `--memory-limit` (0 without one).
    private let countedFile: Int

    /// Allocates the arena and prepares every node of `model`, choosing each convolution's and fully
    /// connected layer's kernel variant for this CPU (`kernels: .reference` forces the references).
    /// `threads` ≥ 1 runs the divisible steps on that many threads (the caller's among them), pinned
    /// to the CPUs in `affinity` when it is not empty.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    public init(model: PackedModel, kernels: KernelChoice = .auto, threads: Int = 1, affinity: [Int] = [],
                wholePairs rule: WholePairRule = .standard, divideAbove: Int = Interpreter.divideAboveNanoseconds) throws(SwiftletError) {
        guard threads >= 1 && threads <= 64 else {
            throw .usage(detail: "--threads must be between 1 and 64 (got \(threads))")
        }
        self.model = model
        self.kernels = kernels
        self.threads = threads
        pool = threads > 1 ? try ThreadPool(threads: threads, affinity: affinity) : nil
        let spec = model.spec
        countedFile = try Interpreter.countFile(model)
        // A load that fails after this point gives the file's count back (deinit does not run for an
        // object whose initializer threw before finishing).
        var loaded = false
        let counted = countedFile
        defer { if !loaded { sys_countAllocation(-counted) } }
        let base = try sys_alignedAllocate(bytes: spec.arenaBytes > 0 ? spec.arenaBytes : 64, alignment: 64, what: "\(model.path): the arena")
        arena = base
        let life = Lifetimes(spec)
        let alias = Aliasing(spec, life: life)
        let whole = Interpreter.wholePairs(spec, alias, rule)
        // Blocks allocated at load besides the arena (`owned`), and the kernel scratch of an old plan
        // (`scratch`): a load that fails frees them all.
        var buffers: [UnsafeMutableRawPointer] = []
        var extra: UnsafeMutablePointer<Int32>? = nil
        do {
            let ptrs = try Interpreter.tensorPointers(model, base: base, whole: whole, owned: &buffers)
            pointers = ptrs
            let scratchOf = try Interpreter.nodeScratch(model, base: base, life: life, alias: alias, extra: &extra)
            scratch = extra
            var strides = [Int](repeating: 0, count: spec.tensors.count)
            for t in 0..<spec.tensors.count where alias.inSlice(t, spec.tensors) { strides[t] = alias.rowStride[t] }
            rowStrides = strides
            let variants = Interpreter.chooseVariants(spec, alias, whole: whole, kernels: kernels)
            var prepared = try Interpreter.prepareSteps(model, ptrs, scratchOf, alias, strides, variants, threads: threads, owned: &buffers)
            kernelNames = prepared.names
            kernelISAs = prepared.isas
            layersPackedAtLoad = prepared.packedAtLoad
            layersTransformedAtLoad = prepared.transformedAtLoad
            pairsRunWhole = whole.filter { $0 }.count
            try Interpreter.streamPairs(&prepared.steps, model, alias, whole: whole, threads: threads, owned: &buffers)
            let buffer = UnsafeMutableBufferPointer<Step>.allocate(capacity: prepared.steps.count)
            _ = buffer.initialize(from: prepared.steps)
            steps = buffer
            divided = prepared.steps.map { $0.divides && $0.estimatedNanoseconds >= divideAbove }
        } catch {
            for p in buffers { sys_free(p) }
            sys_free(base)
            if let p = extra { sys_free(UnsafeMutableRawPointer(p)) }
            throw error
        }
        owned = buffers
        loaded = true
    }

    deinit {
        sys_countAllocation(-countedFile)
        steps.deinitialize()
        steps.deallocate()
        sys_free(arena)
        if let p = scratch { sys_free(UnsafeMutableRawPointer(p)) }
        for p in owned { sys_free(p) }
    }

    /// Runs every node in order.
    ///
    /// The plan keeps the graph inputs for the whole run (nothing is written over them), so the same
    /// input can be run again — unless the model was packed with `reuseInputs` (`--reuse-input`):
    /// then the inputs hold other data afterwards, and each run needs its input set first
    /// (`InputSnapshot` restores one). The outputs are valid until the next call.
    public func invoke() {
        for i in 0..<steps.count { run(i) }
    }

    /// Step `i`, divided among the pool's threads when it divides. Not inlined: the three `invoke`s
    /// share one copy of the step switch (about 10 KB of code each on the board binary).
    @inline(never)
    private func run(_ i: Int) {
        let step = steps.baseAddress! + i
        if let pool, divided[i] {
            pool.run({ context, part, parts, thread in
                context!.assumingMemoryBound(to: Step.self).pointee.run(part: part, of: parts, thread: thread)
            }, context: UnsafeMutableRawPointer(step), parts: step.pointee.parts(threads: pool.threads))
        } else {
            step.pointee.runWhole()
        }
    }

    /// Whether node `i`'s step is split among the pool's threads (false on one thread, and for steps
    /// too short to be worth handing out): a profile's per-layer peak counts only the threads it used.
    public func runsDivided(_ i: Int) -> Bool { pool != nil && divided[i] }

    /// Whether node `i` runs inside node i + 1's step (the producer of a streamed Conv → Conv pair):
    /// its time in a profile is 0, and the pair's shows on node i + 1.
    public func runsInNextStep(_ i: Int) -> Bool {
        if case .skip = steps[i] { return true }
        return false
    }

    /// Runs every node in order, setting `profile[i]` to node i's nanoseconds (monotonic clock).
    /// `profile` is resized to the node count first if it has another size.
    public func invoke(profile: inout [UInt64]) {
        if profile.count != steps.count { profile = [UInt64](repeating: 0, count: steps.count) }
        for i in 0..<steps.count {
            let t0 = sys_monotonicNanoseconds()
            run(i)
            profile[i] = sys_monotonicNanoseconds() &- t0
        }
    }

    /// Runs every node in order, calling `observe(i)` after node i (calibration and the layer report
    /// read node i's output then, with `tensorPointer`, before a later node reuses its memory).
    public func invoke(observe: (Int) -> Void) {
        for i in 0..<steps.count {
            run(i)
            observe(i)
        }
    }

    /// The physical (stored) elements of graph input `i` (graph inputs are float32).
    public func inputPointer(_ i: Int) -> UnsafeMutablePointer<Float> {
        pointers[spec.inputs[i]].assumingMemoryBound(to: Float.self)
    }

    /// The physical (stored) elements of graph output `i` (graph outputs are float32).
    public func outputPointer(_ i: Int) -> UnsafePointer<Float> {
        UnsafePointer(pointers[spec.outputs[i]].assumingMemoryBound(to: Float.self))
    }

    /// The first byte of tensor `t`: valid after the node that writes it, until its memory is reused.
    /// Its rows of `shape.last` elements start `tensorRowStride(t)` elements apart.
    public func tensorPointer(_ t: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(pointers[t])
    }

    /// The elements between the starts of tensor t's rows of `shape.last` elements: `shape.last` but
    /// for a Conv output written straight into its Concat slice (`Aliasing`), where it is the
    /// Concat's row.
    public func tensorRowStride(_ t: Int) -> Int {
        rowStrides[t] > 0 ? rowStrides[t] : max(spec.tensors[t].shape.last ?? 1, 1)
    }

    /// Tensor t's bytes, gathered into a new array when its rows are apart (`tensorRowStride`).
    /// Host-side reading (calibration, reports); it allocates. A streamed tensor (`streamedRows`) never
    /// exists whole: its bytes are its ring's last rows.
    public func tensorBytes(_ t: Int) -> [UInt8] {
        let info = spec.tensors[t]
        let p = UnsafeRawPointer(pointers[t]).assumingMemoryBound(to: UInt8.self)
        let row = max(info.shape.last ?? 1, 1) * info.dtype.size
        let stride = tensorRowStride(t) * info.dtype.size
        var out = [UInt8](repeating: 0, count: info.byteCount)
        if row == 0 { return out }
        for r in 0..<(info.byteCount / row) {
            for b in 0..<row { out[r * row + b] = p[r * stride + b] }
        }
        return out
    }

    // MARK: - Prepare

    /// Per node, the kernel variant an interpreter for `spec` would run on this CPU (what `inspect` shows):
    /// a variant name for convolutions and fully connected layers, `reference` for the other ops.
    public static func plannedKernels(_ spec: ModelSpec, kernels: KernelChoice = .auto) -> [String] {
        let features = CPUFeatures.current()
        let alias = Aliasing(spec, life: Lifetimes(spec))
        let streamed = streamedNodes(spec, alias, whole: wholePairs(spec, alias, .standard))
        return spec.nodes.indices.map {
            kernelVariant(spec.nodes[$0], spec.tensors, features: features, choice: kernels, streamed: streamed[$0])?.0.name ?? "reference"
        }
    }

    /// Per node e, whether the streamed pair it produces for (e, e + 1) runs whole instead (`rule`).
    static func wholePairs(_ spec: ModelSpec, _ alias: Aliasing, _ rule: WholePairRule) -> [Bool] {
        var out = [Bool](repeating: false, count: spec.nodes.count)
        for e in 0..<max(spec.nodes.count - 1, 0) {
            let t = spec.nodes[e].outputs[0]
            guard alias.ringRows[t] > 0, case .conv2d = spec.nodes[e].op, case .conv2d = spec.nodes[e + 1].op else { continue }
            let weights = spec.tensors[spec.nodes[e].inputs[1]].byteCount + spec.tensors[spec.nodes[e + 1].inputs[1]].byteCount
            out[e] = spec.tensors[t].byteCount <= rule.maxTensorBytes && weights >= rule.minWeightBytes
        }
        return out
    }

    /// Per node, whether it is one of a streamed Conv → Conv pair (the plan gave the producer's output
    /// a ring of rows, `Aliasing.ringRows`) that runs streamed: one output row at a time.
    static func streamedNodes(_ spec: ModelSpec, _ alias: Aliasing, whole: [Bool]) -> [Bool] {
        var out = [Bool](repeating: false, count: spec.nodes.count)
        for e in 0..<max(spec.nodes.count - 1, 0) where alias.ringRows[spec.nodes[e].outputs[0]] > 0 && !whole[e] {
            guard case .conv2d = spec.nodes[e].op, case .conv2d = spec.nodes[e + 1].op else { continue }
            out[e] = true
            out[e + 1] = true
        }
        return out
    }

    /// The kernel variant for a convolution or fully connected node (nil for other ops), with the
    /// geometry it was chosen for and whether the node is int8; from `tables` (another architecture's for
    /// `swiftlet estimate`).
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    public static func kernelVariant(_ node: NodeInfo, _ tensors: [TensorInfo], features: CPUFeatures, choice: KernelChoice,
                                     streamed: Bool, tables t: KernelTableSet = .native) -> (KernelVariant, ConvGeometry, Bool)?
    {
        let x = tensors[node.inputs[0]]
        let int8 = tensors[node.outputs[0]].dtype == .int8 && x.dtype == .int8
        switch node.op {
        case .conv2d(let c):
            var g = ConvGeometry(xShape: x.shape, yShape: tensors[node.outputs[0]].shape, params: c)
            g.streamed = streamed
            return (KernelTables.select(int8 ? t.convQS8 : t.convF32, g, features: features, choice: choice), g, int8)
        case .fullyConnected:
            let depth = x.shape.isEmpty ? 1 : x.shape[x.shape.count - 1]
            let rows = depth == 0 ? 0 : elementCount(x.shape) / depth
            let g = ConvGeometry(rows: rows, depth: depth, units: tensors[node.inputs[1]].shape[0])
            let table = int8 ? t.fullyConnectedQS8 : t.fullyConnectedF32
            return (KernelTables.select(table, g, features: features, choice: choice), g, int8)
        case .binary(.add, _) where int8 && x.shape == tensors[node.outputs[0]].shape && tensors[node.inputs[1]].shape == x.shape:
            return (KernelTables.select(t.addQS8, ConvGeometry(rows: 1, depth: 1, units: 1), features: features, choice: choice),
                    ConvGeometry(rows: 1, depth: 1, units: 1), true)
        case .binary(.mul, _) where int8 && (mulLayout(x.shape, tensors[node.inputs[1]].shape, tensors[node.outputs[0]].shape) != nil
                                             || mulLayout(tensors[node.inputs[1]].shape, x.shape, tensors[node.outputs[0]].shape) != nil):
            let g = ConvGeometry(rows: 1, depth: 1, units: 1)
            return (KernelTables.select(t.mulQS8, g, features: features, choice: choice), g, true)
        case .binary(let kind, let act) where !int8 && floatBinaryTakes(kind, act)
            && (mulLayout(x.shape, tensors[node.inputs[1]].shape, tensors[node.outputs[0]].shape) != nil
                || (kind != .sub && mulLayout(tensors[node.inputs[1]].shape, x.shape, tensors[node.outputs[0]].shape) != nil)):
            let g = ConvGeometry(rows: 1, depth: 1, units: 1)
            return (KernelTables.select(t.binaryF32, g, features: features, choice: choice), g, false)
        case .maxPool where x.shape.count == 4:
            let g = ConvGeometry(rows: 1, depth: 1, units: 1)
            return (KernelTables.select(int8 ? t.maxPoolQS8 : t.maxPoolF32, g, features: features, choice: choice), g, int8)
        case .quantize:
            return (KernelTables.select(t.quantizeQS8, ConvGeometry(rows: 1, depth: 1, units: 1), features: features, choice: choice),
                    ConvGeometry(rows: 1, depth: 1, units: 1), true)
        case .dequantize:
            let g = ConvGeometry(rows: 1, depth: 1, units: 1)
            return (KernelTables.select(t.dequantizeQS8, g, features: features, choice: choice), g, true)
        case .lookup where int8:
            let g = ConvGeometry(rows: 1, depth: 1, units: 1)
            return (KernelTables.select(t.lookupQS8, g, features: features, choice: choice), g, true)
        case .mean(let axes, _) where int8 && isGlobalMean(x.shape, axes):
            let g = ConvGeometry(rows: 1, depth: 1, units: 1)
            return (KernelTables.select(t.meanQS8, g, features: features, choice: choice), g, true)
        default:
            return nil
        }
    }
}

/// Whether a Mean over `axes` of `shape` keeps only the last dim (the channels, NHWC) and averages every
/// other one (or leaves only dims of 1): a global average pooling, which the int8 SIMD kernel takes as
/// rows of channels.
func isGlobalMean(_ shape: [Int], _ axes: [Int]) -> Bool {
    guard let c = shape.last, c > 0 else { return false }
    for (i, d) in shape.enumerated() where i < shape.count - 1 && d != 1 && !axes.contains(i) { return false }
    return !axes.contains(shape.count - 1)
}

/// The product of `dims` (the reader has checked it does not overflow).
func elementCount(_ dims: [Int]) -> Int {
    var n = 1
    for d in dims { n *= d }
    return n
}

/// The layout of an int8 Mul the SIMD kernel takes, as (rows, cols, b's row stride): `a` the output's
/// shape and `b` the same shape (one row of every element) or a per-channel factor, one value per
/// element of the last dim broadcast over the rest (squeeze-excite); nil for any other broadcast.
func mulLayout(_ a: [Int], _ b: [Int], _ y: [Int]) -> (Int, Int, Int)? {
    guard a == y, let c = y.last, c > 0 else { return nil }
    let count = elementCount(y)
    if b == y { return (1, count, count) }
    if b.last == c && elementCount(b) == c { return (count / c, c, 0) }
    return nil
}

/// Which of a plan's streamed Conv → Conv pairs run whole instead, through one block allocated at load
/// outside the arena (the pairs are live one at a time): those whose tensor has at most
/// `maxTensorBytes` and whose two layers' weights have at least `minWeightBytes`. Streaming calls both
/// layers one row of pixels at a time and so reads all their weights once per row; where they do not
/// sit in L1 and the image is small, that costs more than the bytes it saves (MobileNetV1 float at
/// 14 × 14 and 7 × 7: 18–31 % per pair; docs/memory.md, "Small streamed pairs run whole").
public struct WholePairRule: Sendable {
    public var maxTensorBytes: Int
    public var minWeightBytes: Int

    public init(maxTensorBytes: Int, minWeightBytes: Int) {
        self.maxTensorBytes = maxTensorBytes
        self.minWeightBytes = minWeightBytes
    }

    /// At most 512 KiB of tensor (the most this adds to the memory used), at least 32 KiB of weights.
    public static let standard = WholePairRule(maxTensorBytes: 512 * 1024, minWeightBytes: 32 * 1024)
    /// Every planned pair streams, as the plan says.
    public static let never = WholePairRule(maxTensorBytes: -1, minWeightBytes: .max)
    /// Every planned pair runs whole (tests).
    public static let always = WholePairRule(maxTensorBytes: .max, minWeightBytes: 0)
}
