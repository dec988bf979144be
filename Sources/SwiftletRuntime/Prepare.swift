import SwiftletCore
import SwiftletKernels
import SwiftletModel

/// What preparing one node did at load besides making its step: the blocks it allocated (packed
/// weights, compensation, scratch; owned and freed by the interpreter), and whether it packed or
/// transformed weights the file does not store in the chosen variant's layout.
struct PrepareEffects {
    var owned: [UnsafeMutableRawPointer] = []
    var packed = false
    var transformed = false
}

/// One node and everything its step is made from: its tensors' pointers, shapes and quantization,
/// its kernel variant and the interpreter's scratch. The `Prepare+*.swift` files make its step, one
/// op family each.
struct StepBuilder {
    let node: NodeInfo
    let tensors: [TensorInfo]
    let raw: [UnsafeMutableRawPointer]
    /// The node's planned kernel scratch (`scratchBytes`), if any.
    let scratch: UnsafeMutablePointer<Int32>?
    let alias: Aliasing
    let variant: KernelVariant?
    /// The SIMD variants' shared scratch (one block per thread).
    let fastScratch: UnsafeMutableRawPointer?
    let model: PackedModel
    var path: String { model.path }
    /// The output (output 0), its first byte and its elements as float32 (`y`) or int8 (`y8`).
    let out: TensorInfo
    let yRaw: UnsafeMutableRawPointer
    var y: UnsafeMutablePointer<Float> { yRaw.assumingMemoryBound(to: Float.self) }
    var y8: UnsafeMutablePointer<Int8> { yRaw.assumingMemoryBound(to: Int8.self) }
    var yShape: [Int] { out.shape }
    /// A Conv whose output sits in its Concat slice writes its pixels a Concat row apart.
    let yPixelStride: Int
    /// The first input (input 0) and its first byte.
    let xInfo: TensorInfo
    var xRaw: UnsafeRawPointer { UnsafeRawPointer(raw[node.inputs[0]]) }
    var xShape: [Int] { xInfo.shape }
    /// Whether the elements are 4 bytes (float32) rather than 1 (int8): the layout ops copy either.
    var wide: Bool { xInfo.dtype.size == 4 }
    /// The reader has checked the types (`typeProblem`): int8 here means the op's int8 form, with
    /// per-tensor quantization on every activation.
    var quantized: Bool { out.dtype == .int8 && xInfo.dtype == .int8 }
    /// The quantization of input 0 and of the output (scale 1, zero point 0 for float32 tensors).
    let xq: QuantParams
    let yq: QuantParams

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    init(_ node: NodeInfo, _ tensors: [TensorInfo], _ raw: [UnsafeMutableRawPointer], _ scratch: UnsafeMutablePointer<Int32>?,
         _ alias: Aliasing, _ rowStrides: [Int], variant: KernelVariant?, fastScratch: UnsafeMutableRawPointer?, model: PackedModel) {
        self.node = node
        self.tensors = tensors
        self.raw = raw
        self.scratch = scratch
        self.alias = alias
        self.variant = variant
        self.fastScratch = fastScratch
        self.model = model
        out = tensors[node.outputs[0]]
        yRaw = raw[node.outputs[0]]
        yPixelStride = rowStrides[node.outputs[0]]
        xInfo = tensors[node.inputs[0]]
        xq = xInfo.quant?.params ?? QuantParams(scale: 1, zeroPoint: 0)
        yq = out.quant?.params ?? QuantParams(scale: 1, zeroPoint: 0)
    }

    /// Input `k`'s elements, as `T`.
    func input<T>(_ k: Int, _: T.Type) -> UnsafePointer<T> { UnsafePointer(raw[node.inputs[k]].assumingMemoryBound(to: T.self)) }
    func f32(_ k: Int) -> UnsafePointer<Float> { input(k, Float.self) }
    func i8(_ k: Int) -> UnsafePointer<Int8> { input(k, Int8.self) }
    func i32(_ k: Int) -> UnsafePointer<Int32> { input(k, Int32.self) }
    func shape(_ k: Int) -> [Int] { tensors[node.inputs[k]].shape }

    /// The node's variant when it is an element-wise SIMD kernel (nil: the reference).
    var elementwiseVariant: KernelVariant? { variant?.algorithm == .elementwise ? variant : nil }

    /// The int8 clamp of activation `a` on the output's scale.
    func clamp(_ a: Activation) -> (Int32, Int32) {
        switch a.kind {
        case .relu: return yq.clampRange(lo: 0, hi: .infinity)
        case .clip:
            let (lo, hi) = a.clampBounds ?? (a.a, a.b)
            return yq.clampRange(lo: lo, hi: hi)
        default: return (-128, 127)
        }
    }

    /// The requantization of an int8 Conv or fully connected node (weights' per-channel scales in input 1).
    func requantization(_ act: Activation) -> Requantization {
        let (lo, hi) = clamp(act)
        return Requantization(inputScale: xq.scale, weightScales: tensors[node.inputs[1]].channelScales, outputScale: yq.scale,
                              outputZeroPoint: yq.zeroPoint, clampMin: lo, clampMax: hi, mode: model.spec.requantization)
    }

    /// The plain weights (input 1) the reference reads, and the packed ones variant `v` reads: in
    /// place from the file when it stores them in `v`'s layout, else packed here, at load.
    @_optimize(size)
    func weights(_ v: KernelVariant, int8: Bool, _ fx: inout PrepareEffects,
                 pack: (UnsafeRawPointer) throws(SwiftletError) -> UnsafeMutableRawPointer) throws(SwiftletError)
        -> (plain: UnsafeRawPointer, packed: UnsafeRawPointer?)
    {
        let t = node.inputs[1]
        let form = PackedForm.of(v.algorithm, int8: int8)
        if let form, let inFile = model.packedWeights(t), inFile.shape.form == form { return (inFile.bytes, inFile.bytes) }
        let plain = try model.plainWeights(t)
        guard form != nil else { return (plain, nil) }
        let p = try pack(plain)
        fx.owned.append(p)
        fx.packed = true
        return (plain, UnsafeRawPointer(p))
    }

    /// The int8 GEMM's compensation for `v` (`qs8Compensation`), made here and owned by the interpreter.
    @_optimize(size)
    func compensation(_ v: KernelVariant, n: Int, k: Int, packed: UnsafeRawPointer?, _ fx: inout PrepareEffects) throws(SwiftletError)
        -> UnsafeRawPointer?
    {
        #if arch(x86_64)
        guard let packed, let c = try qs8Compensation(v, n: n, k: k, packed: packed,
                                                      what: "\(path): compensation of node '\(node.name)'") else { return nil }
        fx.owned.append(c)
        return UnsafeRawPointer(c)
        #else
        return nil  // only the x86 VNNI GEMM uses one
        #endif
    }

    /// The node's step: one case per op (no default, so a new op is named here by the compiler), each
    /// made by its family's builder.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func step(_ fx: inout PrepareEffects) throws(SwiftletError) -> Step {
        switch node.op {
        case .conv2d(let c): return quantized ? try convQS8(c, &fx) : try convF32(c, &fx)
        case .fullyConnected(let act): return quantized ? try fullyConnectedQS8(act, &fx) : try fullyConnectedF32(act, &fx)
        case .binary(let kind, let act): return quantized ? binaryQS8(kind, act) : binaryF32(kind, act)
        case .prelu: return prelu()
        case .activation(let act): return .activation(ActivationStep(x: f32(0), y: y, count: elementCount(yShape), activation: act))
        case .maxPool(let p): return pool(p, isMax: true)
        case .avgPool(let p): return pool(p, isMax: false)
        case .mean(let axes, _): return try mean(axes, &fx)
        case .reduce(let kind, let axes, _): return .reduce(MeanStep(x: f32(0), plan: meanPlan(axes), y: y), kind)
        case .concat(let axis): return concat(axis)
        case .softmax(let axis, let toEnd): return softmax(axis, toEnd: toEnd)
        case .resize(let r): return .resize(ResizeStep(x: f32(0), xShape: xShape, y: y, params: r))
        case .pad(let p): return pad(p)
        case .slice(let s): return slice(s)
        case .transpose(let perm): return transpose(perm)
        case .reshape: return .copy(CopyStep(x: xRaw, y: yRaw, bytes: out.byteCount))
        case .quantize:
            return .quantize(QuantizeStep(x: f32(0), y: y8, count: elementCount(yShape), params: yq, simd: elementwiseVariant))
        case .dequantize:
            return .dequantize(DequantizeStep(x: i8(0), y: y, count: elementCount(yShape), params: xq, simd: elementwiseVariant))
        case .lookup:
            return .lookup(LookupStep(x: i8(0), table: i8(1), y: y8, count: elementCount(yShape), simd: elementwiseVariant))
        }
    }
}

extension Interpreter {
    /// Node `node`'s step (`StepBuilder.step`); the blocks it allocates join `owned` even when it throws.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    static func prepare(
        _ node: NodeInfo, _ tensors: [TensorInfo], _ raw: [UnsafeMutableRawPointer], _ scratch: UnsafeMutablePointer<Int32>?,
        _ alias: Aliasing, _ rowStrides: [Int], variant: KernelVariant?, fastScratch: UnsafeMutableRawPointer?,
        owned: inout [UnsafeMutableRawPointer], model: PackedModel, packedHere: inout Bool, transformedHere: inout Bool
    ) throws(SwiftletError) -> Step {
        let builder = StepBuilder(node, tensors, raw, scratch, alias, rowStrides, variant: variant, fastScratch: fastScratch, model: model)
        var fx = PrepareEffects()
        defer {
            owned.append(contentsOf: fx.owned)
            packedHere = fx.packed
            transformedHere = fx.transformed
        }
        return try builder.step(&fx)
    }
}
