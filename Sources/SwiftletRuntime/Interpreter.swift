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
        // Under --memory-limit, what the model needs is compared with it before anything is allocated.
        if let (limit, used) = sys_memoryBudget() {
            if spec.arenaBytes + model.file.count > limit - used {
                throw .invalidModel(detail: "\(model.path): needs \(spec.arenaBytes + model.file.count) bytes to run (arena \(spec.arenaBytes), model file \(model.file.count), mapped), --memory-limit \(limit) leaves \(max(0, limit - used))",
                                    hint: "raise --memory-limit, or use a smaller model or input")
            }
            sys_countAllocation(model.file.count)  // the mapped file's pages count while the model runs
            countedFile = model.file.count
        } else {
            countedFile = 0
        }
        // A load that fails after this point gives the file's count back (deinit does not run for an
        // object whose initializer threw before finishing).
        var loaded = false
        let counted = countedFile
        defer { if !loaded { sys_countAllocation(-counted) } }
        let bytes = spec.arenaBytes > 0 ? spec.arenaBytes : 64
        let base = try sys_alignedAllocate(bytes: bytes, alignment: 64, what: "\(model.path): the arena")
        arena = base
        var ptrs: [UnsafeMutableRawPointer] = []
        ptrs.reserveCapacity(spec.tensors.count)
        for t in 0..<spec.tensors.count {
            let info = spec.tensors[t]
            ptrs.append(info.storage == .weights ? UnsafeMutableRawPointer(mutating: model.weights(t)) : base + info.offset)
        }
        let life = Lifetimes(spec)
        let alias = Aliasing(spec, life: life)
        // Streamed pairs whose tensor is small run whole, through one block allocated here
        // (`wholePairs`): each such tensor's pointer is that block.
        let whole = Interpreter.wholePairs(spec, alias, rule)
        var wholeBytes = 0
        for e in spec.nodes.indices where whole[e] { wholeBytes = max(wholeBytes, spec.tensors[spec.nodes[e].outputs[0]].byteCount) }
        var wholeBlock: UnsafeMutableRawPointer? = nil
        if wholeBytes > 0 {
            do {
                let p = try sys_alignedAllocate(bytes: wholeBytes, alignment: 64, what: "\(model.path): the tensors of streamed pairs run whole")
                wholeBlock = p
                for e in spec.nodes.indices where whole[e] { ptrs[spec.nodes[e].outputs[0]] = p }
            } catch {
                sys_free(base)
                throw error
            }
        }
        pointers = ptrs
        // Kernel scratch lives in the arena where the plan left room for it (`scratchOffset`). A plan
        // made before scratch was planned gets one separate block, allocated here, at load.
        var scratchOf = [UnsafeMutablePointer<Int32>?](repeating: nil, count: spec.nodes.count)
        var unplanned = 0
        for i in 0..<spec.nodes.count {
            let bytes = scratchBytes(spec.nodes[i], spec.tensors)
            if bytes == 0 { continue }
            if let off = scratchOffset(spec, step: i, life: life, alias: alias) {
                scratchOf[i] = (base + off).assumingMemoryBound(to: Int32.self)
            } else {
                unplanned = max(unplanned, bytes)
            }
        }
        if unplanned > 0 {
            do {
                let extra = try sys_alignedAllocate(bytes: unplanned, alignment: 64, what: "\(model.path): kernel scratch")
                    .assumingMemoryBound(to: Int32.self)
                scratch = extra
                for i in 0..<spec.nodes.count where scratchOf[i] == nil && scratchBytes(spec.nodes[i], spec.tensors) > 0 { scratchOf[i] = extra }
            } catch {
                if let w = wholeBlock { sys_free(w) }
                sys_free(base)
                throw error
            }
        } else {
            scratch = nil
        }
        var prepared: [Step] = []
        prepared.reserveCapacity(spec.nodes.count)
        var strides = [Int](repeating: 0, count: spec.tensors.count)
        for t in 0..<spec.tensors.count where alias.inSlice(t, spec.tensors) { strides[t] = alias.rowStride[t] }
        rowStrides = strides
        // Kernel variants, chosen once for this CPU; the SIMD ones get their weights packed here and
        // share one scratch block (steps run one at a time).
        let features = CPUFeatures.current()
        var variants: [KernelVariant?] = []
        var fastScratch = 0
        let streamed = Interpreter.streamedNodes(spec, alias, whole: whole)
        for (i, node) in spec.nodes.enumerated() {
            let v = Interpreter.kernelVariant(node, spec.tensors, features: features, choice: kernels, streamed: streamed[i])
            variants.append(v?.0)
            if let (variant, g, int8) = v { fastScratch = max(fastScratch, convScratchBytes(variant, g, int8: int8)) }
        }
        // One scratch block per thread, 64-byte aligned.
        let scratchStride = (fastScratch + 63) / 64 * 64
        var buffers: [UnsafeMutableRawPointer] = []
        if let w = wholeBlock { buffers.append(w) }
        var names: [String] = []
        var isas: [KernelISA] = []
        var packedAtLoad = 0, transformedAtLoad = 0
        do {
            let shared: UnsafeMutableRawPointer? = fastScratch > 0
                ? try sys_alignedAllocate(bytes: scratchStride * threads, alignment: 64, what: "\(model.path): kernel scratch") : nil
            if let p = shared { buffers.append(p) }
            for (i, node) in spec.nodes.enumerated() {
                var packedHere = false, transformedHere = false
                prepared.append(try Interpreter.prepare(node, spec.tensors, ptrs, scratchOf[i], alias, strides, variant: variants[i],
                                                        fastScratch: shared, owned: &buffers, model: model, packedHere: &packedHere,
                                                        transformedHere: &transformedHere))
                if transformedHere { transformedAtLoad += 1 }
                names.append(variants[i]?.name ?? "reference")
                isas.append(variants[i]?.isa ?? .scalar)
                // A layer whose weights were packed here (a format-1 file) never reads the mapped
                // originals again: out of the resident set they go (they stay in the file and the page cache).
                if packedHere {
                    packedAtLoad += 1
                    for t in node.inputs.dropFirst() where spec.tensors[t].storage == .weights && model.packedShapes[t] == nil {
                        model.file.releasePages(model.weights(t), count: spec.tensors[t].byteCount)
                    }
                }
                switch prepared[i] {
                case .conv2d(var c):
                    c.scratchStride = scratchStride
                    prepared[i] = .conv2d(c)
                case .conv2dQS8(var c):
                    c.scratchStride = scratchStride
                    prepared[i] = .conv2dQS8(c)
                default: break
                }
            }
        } catch {
            for p in buffers { sys_free(p) }
            sys_free(base)
            if let p = scratch { sys_free(UnsafeMutableRawPointer(p)) }
            throw error
        }
        kernelNames = names
        kernelISAs = isas
        layersPackedAtLoad = packedAtLoad
        layersTransformedAtLoad = transformedAtLoad
        pairsRunWhole = whole.filter { $0 }.count
        // Streamed Conv → Conv pairs (`streamedRows`): the consumer's step runs both, row by row.
        for e in 0..<max(spec.nodes.count - 1, 0) where alias.ringRows[spec.nodes[e].outputs[0]] > 0 && !whole[e] {
            guard case .conv2d(let c) = spec.nodes[e + 1].op else { continue }
            let ringTensor = spec.tensors[spec.nodes[e].outputs[0]]
            var s = StreamConvStep(ring: alias.ringRows[spec.nodes[e].outputs[0]], sourceRows: spec.tensors[spec.nodes[e].outputs[0]].shape[1],
                                   outRows: spec.tensors[spec.nodes[e + 1].outputs[0]].shape[1], strideH: c.strideH, padTop: c.padTop,
                                   kernelH: c.kernelH, dilationH: c.dilationH)
            switch prepared[e] {
            case .conv2d(let p): s.producerF32 = p
            case .conv2dQS8(let p): s.producerQS8 = p
            default: continue
            }
            switch prepared[e + 1] {
            case .conv2d(let p): s.consumerF32 = p
            case .conv2dQS8(let p): s.consumerQS8 = p
            default: continue
            }
            if threads > 1 {
                // Each further thread streams its band of rows through a ring of its own.
                let shape = ringTensor.shape
                s.ringBytes = (s.ring * shape[2] * shape[3] * ringTensor.dtype.size + 63) / 64 * 64
                do {
                    let extra = try sys_alignedAllocate(bytes: s.ringBytes * (threads - 1), alignment: 64,
                                                        what: "\(model.path): rows of node '\(spec.nodes[e].name)' for \(threads) threads")
                    buffers.append(extra)
                    s.extraRings = extra
                } catch {
                    for p in buffers { sys_free(p) }
                    sys_free(base)
                    if let p = scratch { sys_free(UnsafeMutableRawPointer(p)) }
                    throw error
                }
            }
            prepared[e] = .skip
            prepared[e + 1] = .streamConv(s)
        }
        owned = buffers
        let buffer = UnsafeMutableBufferPointer<Step>.allocate(capacity: prepared.count)
        _ = buffer.initialize(from: prepared)
        steps = buffer
        divided = prepared.map { $0.divides && $0.estimatedNanoseconds >= divideAbove }
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
        default:
            return nil
        }
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    private static func prepare(
        _ node: NodeInfo, _ tensors: [TensorInfo], _ raw: [UnsafeMutableRawPointer], _ scratch: UnsafeMutablePointer<Int32>?,
        _ alias: Aliasing, _ rowStrides: [Int], variant: KernelVariant?, fastScratch: UnsafeMutableRawPointer?,
        owned: inout [UnsafeMutableRawPointer], model: PackedModel, packedHere: inout Bool, transformedHere: inout Bool
    ) throws(SwiftletError) -> Step {
        let path = model.path
        /// The plain weights (input 1) the reference reads, and the packed ones variant `v` reads: in
        /// place from the file when it stores them in `v`'s layout, else packed here, at load.
        func weights(_ v: KernelVariant, int8: Bool,
                     pack: (UnsafeRawPointer) throws(SwiftletError) -> UnsafeMutableRawPointer) throws(SwiftletError)
            -> (plain: UnsafeRawPointer, packed: UnsafeRawPointer?)
        {
            let t = node.inputs[1]
            let form = PackedForm.of(v.algorithm, int8: int8)
            if let form, let inFile = model.packedWeights(t), inFile.shape.form == form { return (inFile.bytes, inFile.bytes) }
            let plain = try model.plainWeights(t)
            guard form != nil else { return (plain, nil) }
            let p = try pack(plain)
            owned.append(p)
            packedHere = true
            return (plain, UnsafeRawPointer(p))
        }
        /// The int8 GEMM's compensation for `v` (`qs8Compensation`), made here and owned by the interpreter.
        func compensation(_ v: KernelVariant, n: Int, k: Int, packed: UnsafeRawPointer?) throws(SwiftletError) -> UnsafeRawPointer? {
            #if arch(x86_64)
            guard let packed, let c = try qs8Compensation(v, n: n, k: k, packed: packed,
                                                          what: "\(path): compensation of node '\(node.name)'") else { return nil }
            owned.append(c)
            return UnsafeRawPointer(c)
            #else
            return nil  // only the x86 VNNI GEMM uses one
            #endif
        }
        func f32(_ k: Int) -> UnsafePointer<Float> { UnsafePointer(raw[node.inputs[k]].assumingMemoryBound(to: Float.self)) }
        func i8(_ k: Int) -> UnsafePointer<Int8> { UnsafePointer(raw[node.inputs[k]].assumingMemoryBound(to: Int8.self)) }
        func shape(_ k: Int) -> [Int] { tensors[node.inputs[k]].shape }
        let out = tensors[node.outputs[0]]
        let yRaw = raw[node.outputs[0]]
        let y = yRaw.assumingMemoryBound(to: Float.self)
        let y8 = yRaw.assumingMemoryBound(to: Int8.self)
        let yShape = out.shape
        // A Conv whose output sits in its Concat slice writes its pixels a Concat row apart.
        let yPixelStride = rowStrides[node.outputs[0]]
        let xInfo = tensors[node.inputs[0]]
        let xRaw = UnsafeRawPointer(raw[node.inputs[0]])
        let xShape = xInfo.shape
        let wide = xInfo.dtype.size == 4
        // The reader has checked the types (`typeProblem`): int8 here means the op's int8 form, with
        // per-tensor quantization on every activation.
        let quantized = out.dtype == .int8 && xInfo.dtype == .int8
        let xq = xInfo.quant?.params ?? QuantParams(scale: 1, zeroPoint: 0)
        let yq = out.quant?.params ?? QuantParams(scale: 1, zeroPoint: 0)
        func clamp(_ a: Activation) -> (Int32, Int32) {
            switch a.kind {
            case .relu: return yq.clampRange(lo: 0, hi: .infinity)
            case .clip: return yq.clampRange(lo: a.a, hi: a.b)
            default: return (-128, 127)
            }
        }
        switch node.op {
        case .conv2d(let c) where quantized:
            let (lo, hi) = clamp(c.activation)
            let requant = Requantization(inputScale: xq.scale, weightScales: tensors[node.inputs[1]].channelScales, outputScale: yq.scale,
                                         outputZeroPoint: yq.zeroPoint, clampMin: lo, clampMax: hi, mode: model.spec.requantization)
            let bias = UnsafePointer(raw[node.inputs[2]].assumingMemoryBound(to: Int32.self))
            let g = ConvGeometry(xShape: xShape, yShape: yShape, params: c)
            let v = variant ?? KernelTables.convQS8[0]
            let (w, packed) = try weights(v, int8: true) { (plain) throws(SwiftletError) in
                try packConvQS8(v, g, w: plain.assumingMemoryBound(to: Int8.self), bias: bias, inputZeroPoint: xq.zeroPoint, requant: requant,
                                what: "\(path): packed weights of node '\(node.name)'").weights
            }
            let comps = try compensation(v, n: g.oc, k: g.depth, packed: packed)
            return .conv2dQS8(ConvQS8Step(x: i8(0), xShape: xShape, inputZeroPoint: xq.zeroPoint, w: w.assumingMemoryBound(to: Int8.self), b: bias,
                                          y: y8, yShape: yShape, yPixelStride: yPixelStride, params: c, requant: requant,
                                          kernel: v, geometry: g, packed: packed, scratch: fastScratch, comps: comps,
                                          bounded: qs8FloatBounded(v, requant, n: g.oc, k: g.depth, packed: packed)))
        case .conv2d(let c):
            let g = ConvGeometry(xShape: xShape, yShape: yShape, params: c)
            let v = variant ?? KernelTables.convF32[0]
            if v.algorithm == .winograd {
                // Transformed weights, made here from the plain ones (files never store them); the
                // file's bytes of the tensor are not read again, so out of the resident set they go.
                let t = node.inputs[1]
                let packed = try model.withPlainWeights(t) { (plain) throws(SwiftletError) in
                    try packWinogradF32(g, w: plain.assumingMemoryBound(to: Float.self), b: f32(2),
                                        what: "\(path): Winograd weights of node '\(node.name)'")
                }
                owned.append(packed)
                model.releaseWeights(t)
                transformedHere = true
                // `w` is never read when `packed` is set (the file's bytes stand in, whatever their form).
                return .conv2d(ConvStep(x: f32(0), xShape: xShape, w: f32(1), b: f32(2), y: y, yShape: yShape, yPixelStride: yPixelStride,
                                        params: c, kernel: v, geometry: g, packed: UnsafeRawPointer(packed), scratch: fastScratch))
            }
            let (w, packed) = try weights(v, int8: false) { (plain) throws(SwiftletError) in
                try packConvF32(v, g, w: plain.assumingMemoryBound(to: Float.self), b: f32(2), what: "\(path): packed weights of node '\(node.name)'").weights
            }
            return .conv2d(ConvStep(x: f32(0), xShape: xShape, w: w.assumingMemoryBound(to: Float.self), b: f32(2), y: y, yShape: yShape, yPixelStride: yPixelStride,
                                    params: c, kernel: v, geometry: g, packed: packed, scratch: fastScratch))
        case .fullyConnected(let act):
            let depth = xShape.isEmpty ? 1 : xShape[xShape.count - 1]
            let units = shape(1)[0]
            let rows = depth == 0 ? 0 : elementCount(xShape) / depth
            if quantized {
                let (lo, hi) = clamp(act)
                let requant = Requantization(inputScale: xq.scale, weightScales: tensors[node.inputs[1]].channelScales, outputScale: yq.scale,
                                             outputZeroPoint: yq.zeroPoint, clampMin: lo, clampMax: hi, mode: model.spec.requantization)
                let bias = UnsafePointer(raw[node.inputs[2]].assumingMemoryBound(to: Int32.self))
                let v = variant ?? KernelTables.fullyConnectedQS8[0]
                let (w, packed) = try weights(v, int8: true) { (plain) throws(SwiftletError) in
                    try packGemmQS8(w: plain.assumingMemoryBound(to: Int8.self), bias: bias, n: units, k: depth, inputZeroPoint: xq.zeroPoint,
                                    requant: requant, what: "\(path): packed weights of node '\(node.name)'")
                }
                let comps = try compensation(v, n: units, k: depth, packed: packed)
                return .fullyConnectedQS8(FCQS8Step(x: i8(0), rows: rows, depth: depth, inputZeroPoint: xq.zeroPoint,
                                                    w: w.assumingMemoryBound(to: Int8.self), b: bias,
                                                    y: y8, units: units, requant: requant, kernel: v, packed: packed, scratch: fastScratch,
                                                    comps: comps, bounded: qs8FloatBounded(v, requant, n: units, k: depth, packed: packed)))
            }
            let v = variant ?? KernelTables.fullyConnectedF32[0]
            let (w, packed) = try weights(v, int8: false) { (plain) throws(SwiftletError) in
                try packGemmF32(w: plain.assumingMemoryBound(to: Float.self), b: f32(2), n: units, k: depth,
                                what: "\(path): packed weights of node '\(node.name)'")
            }
            return .fullyConnected(FCStep(x: f32(0), rows: rows, depth: depth, w: w.assumingMemoryBound(to: Float.self), b: f32(2), y: y, units: units, activation: act,
                                          kernel: v, packed: packed))
        case .binary(let kind, let act) where quantized:
            let o6 = Dims6(yShape)
            let step = BinaryQS8Step(a: i8(0), sa: Dims6(xShape).broadcastStrides(to: o6), b: i8(1),
                                     sb: Dims6(shape(1)).broadcastStrides(to: o6), y: y8, out: o6)
            let bq = tensors[node.inputs[1]].quant?.params ?? xq
            let (lo, hi) = clamp(act)
            if kind == .mul {
                var mul = step
                var params = MulQS8Params(input1: xq, input2: bq, output: yq, clampMin: lo, clampMax: hi)
                if let v = variant, v.algorithm == .elementwise {
                    if let (rows, cols, bStride) = mulLayout(xShape, shape(1), yShape) {
                        mul.simd = v
                        (mul.rows, mul.cols, mul.bStride) = (rows, cols, bStride)
                    } else if let (rows, cols, bStride) = mulLayout(shape(1), xShape, yShape) {
                        // The factor first (`scale · x`): the same products with the operands swapped.
                        mul.simd = v
                        (mul.rows, mul.cols, mul.bStride) = (rows, cols, bStride)
                        (mul.a, mul.b) = (mul.b, mul.a)
                        params = MulQS8Params(input1: bq, input2: xq, output: yq, clampMin: lo, clampMax: hi)
                    }
                }
                return .mulQS8(mul, params)
            }
            var add = step
            if let v = variant, v.algorithm == .elementwise {
                add.simd = v
                add.count = elementCount(yShape)
            }
            return .addQS8(add, AddQS8Params(input1: xq, input2: bq, output: yq, clampMin: lo, clampMax: hi, mode: model.spec.requantization))
        case .binary(let kind, let act):
            var step = binaryStep(kind, act, f32(0), xShape, f32(1), shape(1), y, yShape)
            if let v = variant, v.algorithm == .elementwise, floatBinaryTakes(kind, act) {
                if let (rows, cols, bStride) = mulLayout(xShape, shape(1), yShape) {
                    (step.simd, step.rows, step.cols, step.bStride) = (v, rows, cols, bStride)
                } else if kind != .sub, let (rows, cols, bStride) = mulLayout(shape(1), xShape, yShape) {
                    // The per-channel operand first: add and mul commute.
                    (step.simd, step.rows, step.cols, step.bStride) = (v, rows, cols, bStride)
                    (step.a, step.b) = (step.b, step.a)
                }
            }
            return .binary(step)
        case .prelu where quantized:
            let o6 = Dims6(yShape)
            let step = BinaryQS8Step(a: i8(0), sa: Dims6(xShape).broadcastStrides(to: o6), b: i8(1),
                                     sb: Dims6(shape(1)).broadcastStrides(to: o6), y: y8, out: o6)
            let aq = tensors[node.inputs[1]].quant?.params ?? xq
            return .preluQS8(step, PReluQS8Params(input: xq, alpha: aq, output: yq))
        case .prelu:
            return .binary(binaryStep(.prelu, .none, f32(0), xShape, f32(1), shape(1), y, yShape))
        case .activation(let act):
            return .activation(ActivationStep(x: f32(0), y: y, count: elementCount(yShape), activation: act))
        case .maxPool(let p), .avgPool(let p):
            var isMax = false
            if case .maxPool = node.op { isMax = true }
            let simd = isMax && variant?.algorithm == .pool ? variant : nil
            if quantized {
                return .poolQS8(PoolQS8Step(isMax: isMax, x: i8(0), xShape: xShape, y: y8, yShape: yShape, params: p, zeroPoint: xq.zeroPoint,
                                             simd: simd))
            }
            return .pool(PoolStep(isMax: isMax, x: f32(0), xShape: xShape, y: y, yShape: yShape, params: p, simd: simd))
        case .mean(let axes, _):
            var reduced = [Bool](repeating: false, count: 6)
            for a in axes { reduced[6 - xShape.count + a] = true }
            let plan = MeanPlan(dims: Dims6(xShape), reduced: reduced)
            guard quantized else { return .mean(MeanStep(x: f32(0), plan: plan, y: y)) }
            // int8 always gets the int8 kernel and its int32 sums: the planned scratch (`scratchBytes`),
            // or, should a node have none, a block of its own (owned like the packed weights).
            let acc: UnsafeMutablePointer<Int32>
            if let scratch {
                acc = scratch
            } else {
                let block = try sys_alignedAllocate(bytes: max(plan.outCount, 1) * 4, alignment: 64, what: "\(path): scratch of node '\(node.name)'")
                owned.append(block)
                acc = block.assumingMemoryBound(to: Int32.self)
            }
            return .meanQS8(MeanQS8Step(x: i8(0), plan: plan, y: y8, acc: acc, params: MeanQS8Params(input: xq, output: yq, count: plan.divisor)))
        case .concat(let axis):
            let (outer, inner) = Shape.outerInner(yShape, axis: axis)
            var in32: [UnsafePointer<UInt32>] = []
            var in8: [UnsafePointer<UInt8>] = []
            var chunks: [Int] = []
            var offsets: [Int] = []
            var at = 0
            for k in 0..<node.inputs.count {
                let x = node.inputs[k]
                let chunk = shape(k)[axis] * inner
                defer { at += chunk }
                // An input written in its slice already (a Concat slice the plan placed there).
                if alias.sliceOf[x] == node.outputs[0] && alias.inSlice(x, tensors) { continue }
                let p = UnsafeRawPointer(raw[x])
                if wide { in32.append(p.assumingMemoryBound(to: UInt32.self)) } else { in8.append(p.assumingMemoryBound(to: UInt8.self)) }
                chunks.append(chunk)
                offsets.append(at)
            }
            return .concat(ConcatStep(wide: wide, inputs32: in32, inputs8: in8, chunks: chunks, offsets: offsets, rowLength: at,
                                      outer: outer, y: yRaw))
        case .softmax(let axis, let toEnd):
            let (outer, inner) = Shape.outerInner(xShape, axis: axis)
            let size = toEnd ? xShape[axis] * inner : xShape[axis]
            if quantized {
                return .softmaxQS8(SoftmaxQS8Step(x: i8(0), y: y8, outer: outer, axis: size, inner: toEnd ? 1 : inner,
                                                  table: UnsafePointer(raw[node.inputs[1]].assumingMemoryBound(to: Int32.self))))
            }
            return .softmax(SoftmaxStep(x: f32(0), y: y, outer: outer, axis: size, inner: toEnd ? 1 : inner))
        case .resize(let r):
            return .resize(ResizeStep(x: f32(0), xShape: xShape, y: y, params: r))
        case .pad(let p):
            var begins = [Int](repeating: 0, count: 6)
            for i in 0..<p.begins.count { begins[6 - p.begins.count + i] = p.begins[i] }
            let value = wide ? p.value.bitPattern : UInt32(UInt8(bitPattern: xq.quantize(p.value)))
            return .pad(PadStep(wide: wide, x: xRaw, dims: Dims6(xShape), y: yRaw, out: Dims6(yShape), begins: Dims6(begins),
                                mode: p.mode, value: value))
        case .slice(let s):
            let strides = Shape.strides(xShape)
            var start = 0
            var xs: [Int] = []
            for i in 0..<xShape.count {
                start += s.starts[i] * strides[i]
                xs.append(strides[i] * s.steps[i])
            }
            return .slice(SliceStep(wide: wide, x: xRaw, start: start, xs: Dims6(xs), y: yRaw, out: Dims6(yShape)))
        case .transpose(let perm):
            let strides = Shape.strides(xShape)
            return .transpose(TransposeStep(wide: wide, x: xRaw, xs: Dims6(Shape.permute(strides, perm)), y: yRaw, out: Dims6(yShape)))
        case .reshape:
            return .copy(CopyStep(x: xRaw, y: yRaw, bytes: out.byteCount))
        case .quantize:
            let simd = variant?.algorithm == .elementwise ? variant : nil
            return .quantize(QuantizeStep(x: f32(0), y: y8, count: elementCount(yShape), params: yq, simd: simd))
        case .dequantize:
            let simd = variant?.algorithm == .elementwise ? variant : nil
            return .dequantize(DequantizeStep(x: i8(0), y: y, count: elementCount(yShape), params: xq, simd: simd))
        case .lookup:
            let simd = variant?.algorithm == .elementwise ? variant : nil
            return .lookup(LookupStep(x: i8(0), table: i8(1), y: y8, count: elementCount(yShape), simd: simd))
        }
    }

    private static func binaryStep(
        _ kind: OpKind, _ act: Activation, _ a: UnsafePointer<Float>, _ aShape: [Int], _ b: UnsafePointer<Float>,
        _ bShape: [Int], _ y: UnsafeMutablePointer<Float>, _ yShape: [Int]
    ) -> BinaryStep {
        let out = Dims6(yShape)
        return BinaryStep(kind: kind, a: a, sa: Dims6(aShape).broadcastStrides(to: out), b: b,
                          sb: Dims6(bShape).broadcastStrides(to: out), y: y, out: out, activation: act)
    }
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
