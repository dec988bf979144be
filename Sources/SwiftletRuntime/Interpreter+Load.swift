import SwiftletCore
import SwiftletKernels
import SwiftletModel

/// The steps `Interpreter.init` takes at load, in order: the file counted against `--memory-limit`,
/// the tensors' pointers, the kernel scratch, the kernel variants, the steps, and the streamed pairs.
extension Interpreter {
    /// The steps prepared at load, with the kernel each node runs and how many layers' weights were
    /// packed or transformed for it.
    struct PreparedSteps {
        var steps: [Step] = []
        var names: [String] = []
        var isas: [KernelISA] = []
        var packedAtLoad = 0
        var transformedAtLoad = 0
    }

    /// The model file's bytes counted against `--memory-limit` (0 without one). Under a limit, what
    /// the model needs is compared with it before anything is allocated, and the mapped file's pages
    /// count while the model runs.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func countFile(_ model: PackedModel) throws(SwiftletError) -> Int {
        let spec = model.spec
        guard let (limit, used) = sys_memoryBudget() else { return 0 }
        if spec.arenaBytes + model.file.count > limit - used {
            throw .invalidModel(detail: "\(model.path): needs \(spec.arenaBytes + model.file.count) bytes to run (arena \(spec.arenaBytes), model file \(model.file.count), mapped), --memory-limit \(limit) leaves \(max(0, limit - used))",
                                hint: "raise --memory-limit, or use a smaller model or input")
        }
        sys_countAllocation(model.file.count)
        return model.file.count
    }

    /// Per tensor, its first byte: the arena `base` + its offset, or into the mapped weights. Streamed
    /// pairs whose tensor is small run whole (`whole`), through one block allocated here and appended
    /// to `owned`: each such tensor's pointer is that block.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func tensorPointers(_ model: PackedModel, base: UnsafeMutableRawPointer, whole: [Bool],
                               owned: inout [UnsafeMutableRawPointer]) throws(SwiftletError) -> [UnsafeMutableRawPointer] {
        let spec = model.spec
        var ptrs: [UnsafeMutableRawPointer] = []
        ptrs.reserveCapacity(spec.tensors.count)
        for t in 0..<spec.tensors.count {
            let info = spec.tensors[t]
            ptrs.append(info.storage == .weights ? UnsafeMutableRawPointer(mutating: model.weights(t)) : base + info.offset)
        }
        var wholeBytes = 0
        for e in spec.nodes.indices where whole[e] { wholeBytes = max(wholeBytes, spec.tensors[spec.nodes[e].outputs[0]].byteCount) }
        if wholeBytes > 0 {
            let p = try sys_alignedAllocate(bytes: wholeBytes, alignment: 64, what: "\(model.path): the tensors of streamed pairs run whole")
            owned.append(p)
            for e in spec.nodes.indices where whole[e] { ptrs[spec.nodes[e].outputs[0]] = p }
        }
        return ptrs
    }

    /// Per node, its kernel scratch (nil: none): in the arena where the plan left room for it
    /// (`scratchOffset`). A plan made before scratch was planned gets one separate block, `extra`,
    /// allocated here, at load.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func nodeScratch(_ model: PackedModel, base: UnsafeMutableRawPointer, life: Lifetimes, alias: Aliasing,
                            extra: inout UnsafeMutablePointer<Int32>?) throws(SwiftletError) -> [UnsafeMutablePointer<Int32>?] {
        let spec = model.spec
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
        guard unplanned > 0 else { return scratchOf }
        let block = try sys_alignedAllocate(bytes: unplanned, alignment: 64, what: "\(model.path): kernel scratch")
            .assumingMemoryBound(to: Int32.self)
        extra = block
        for i in 0..<spec.nodes.count where scratchOf[i] == nil && scratchBytes(spec.nodes[i], spec.tensors) > 0 { scratchOf[i] = block }
        return scratchOf
    }

    /// Per node, its kernel variant, chosen once for this CPU (nil: the reference), and the scratch
    /// bytes the SIMD variants need (the most of any; one block per thread, shared by the steps).
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func chooseVariants(_ spec: ModelSpec, _ alias: Aliasing, whole: [Bool], kernels: KernelChoice)
        -> (variants: [KernelVariant?], scratchBytes: Int)
    {
        let features = CPUFeatures.current()
        var variants: [KernelVariant?] = []
        var fastScratch = 0
        let streamed = Interpreter.streamedNodes(spec, alias, whole: whole)
        for (i, node) in spec.nodes.enumerated() {
            let v = Interpreter.kernelVariant(node, spec.tensors, features: features, choice: kernels, streamed: streamed[i])
            variants.append(v?.0)
            if let (variant, g, int8) = v { fastScratch = max(fastScratch, convScratchBytes(variant, g, int8: int8)) }
        }
        return (variants, fastScratch)
    }

    /// Every node's step (`prepare`), the SIMD variants' weights packed here where the file does not
    /// store them so, and their scratch, one 64-byte aligned block per thread, allocated here. The
    /// blocks allocated join `owned`, even when this throws.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func prepareSteps(_ model: PackedModel, _ ptrs: [UnsafeMutableRawPointer], _ scratchOf: [UnsafeMutablePointer<Int32>?],
                             _ alias: Aliasing, _ strides: [Int], _ variants: (variants: [KernelVariant?], scratchBytes: Int),
                             threads: Int, owned: inout [UnsafeMutableRawPointer]) throws(SwiftletError) -> PreparedSteps {
        let spec = model.spec
        let scratchStride = (variants.scratchBytes + 63) / 64 * 64
        let shared: UnsafeMutableRawPointer? = variants.scratchBytes > 0
            ? try sys_alignedAllocate(bytes: scratchStride * threads, alignment: 64, what: "\(model.path): kernel scratch") : nil
        if let p = shared { owned.append(p) }
        var out = PreparedSteps()
        out.steps.reserveCapacity(spec.nodes.count)
        for (i, node) in spec.nodes.enumerated() {
            let variant = variants.variants[i]
            var packedHere = false, transformedHere = false
            var step = try Interpreter.prepare(node, spec.tensors, ptrs, scratchOf[i], alias, strides, variant: variant,
                                               fastScratch: shared, owned: &owned, model: model, packedHere: &packedHere,
                                               transformedHere: &transformedHere)
            if transformedHere { out.transformedAtLoad += 1 }
            out.names.append(variant?.name ?? "reference")
            out.isas.append(variant?.isa ?? .scalar)
            // A layer whose weights were packed here (a format-1 file) never reads the mapped
            // originals again: out of the resident set they go (they stay in the file and the page cache).
            if packedHere {
                out.packedAtLoad += 1
                for t in node.inputs.dropFirst() where spec.tensors[t].storage == .weights && model.packedShapes[t] == nil {
                    model.file.releasePages(model.weights(t), count: spec.tensors[t].byteCount)
                }
            }
            switch step {
            case .conv2d(var c):
                c.scratchStride = scratchStride
                step = .conv2d(c)
            case .conv2dQS8(var c):
                c.scratchStride = scratchStride
                step = .conv2dQS8(c)
            default: break
            }
            out.steps.append(step)
        }
        return out
    }

    /// Streamed Conv → Conv pairs (`streamedRows`) of `steps`: the consumer's step runs both, row by
    /// row, and the producer's is skipped. With threads, each further thread streams its band of rows
    /// through a ring of its own, allocated here and appended to `owned`.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func streamPairs(_ steps: inout [Step], _ model: PackedModel, _ alias: Aliasing, whole: [Bool], threads: Int,
                            owned: inout [UnsafeMutableRawPointer]) throws(SwiftletError) {
        let spec = model.spec
        for e in 0..<max(spec.nodes.count - 1, 0) where alias.ringRows[spec.nodes[e].outputs[0]] > 0 && !whole[e] {
            guard case .conv2d(let c) = spec.nodes[e + 1].op else { continue }
            let ringTensor = spec.tensors[spec.nodes[e].outputs[0]]
            var s = StreamConvStep(ring: alias.ringRows[spec.nodes[e].outputs[0]], sourceRows: ringTensor.shape[1],
                                   outRows: spec.tensors[spec.nodes[e + 1].outputs[0]].shape[1], strideH: c.strideH, padTop: c.padTop,
                                   kernelH: c.kernelH, dilationH: c.dilationH)
            switch steps[e] {
            case .conv2d(let p): s.producerF32 = p
            case .conv2dQS8(let p): s.producerQS8 = p
            default: continue
            }
            switch steps[e + 1] {
            case .conv2d(let p): s.consumerF32 = p
            case .conv2dQS8(let p): s.consumerQS8 = p
            default: continue
            }
            if threads > 1 {
                let shape = ringTensor.shape
                s.ringBytes = (s.ring * shape[2] * shape[3] * ringTensor.dtype.size + 63) / 64 * 64
                let extra = try sys_alignedAllocate(bytes: s.ringBytes * (threads - 1), alignment: 64,
                                                    what: "\(model.path): rows of node '\(spec.nodes[e].name)' for \(threads) threads")
                owned.append(extra)
                s.extraRings = extra
            }
            steps[e] = .skip
            steps[e + 1] = .streamConv(s)
        }
    }
}
