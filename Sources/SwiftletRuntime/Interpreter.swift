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
/// Limits: float32 only; one thread; no in-place execution (the planner never aliases tensors);
/// graph inputs are overwritten by later tensors during a run (see `invoke()`).
public final class Interpreter {
    /// The model the interpreter runs (its mapped file holds the weights).
    public let model: PackedModel
    /// The model's tensors, nodes and metadata.
    public var spec: ModelSpec { model.spec }

    private let arena: UnsafeMutableRawPointer
    /// Per tensor: its first element (weights are never written through these).
    private let pointers: [UnsafeMutablePointer<Float>]
    private let steps: [Step]

    /// Allocates the arena and prepares every node of `model`.
    public init(model: PackedModel) throws(SwiftletError) {
        self.model = model
        let spec = model.spec
        let bytes = spec.arenaBytes > 0 ? spec.arenaBytes : 64
        let base = try sys_alignedAllocate(bytes: bytes, alignment: 64, what: "\(model.path): the arena")
        arena = base
        var ptrs: [UnsafeMutablePointer<Float>] = []
        ptrs.reserveCapacity(spec.tensors.count)
        for t in 0..<spec.tensors.count {
            let info = spec.tensors[t]
            let p: UnsafeMutableRawPointer = info.storage == .weights
                ? UnsafeMutableRawPointer(mutating: model.weights(t)) : base + info.offset
            ptrs.append(p.assumingMemoryBound(to: Float.self))
        }
        pointers = ptrs
        var prepared: [Step] = []
        prepared.reserveCapacity(spec.nodes.count)
        for node in spec.nodes { prepared.append(Interpreter.prepare(node, spec.tensors, ptrs)) }
        steps = prepared
    }

    deinit { sys_free(arena) }

    /// Runs every node in order.
    ///
    /// Set the inputs before every call: the memory plan reuses a graph input's space for later
    /// tensors once the input has been read, so after `invoke()` the inputs hold other data.
    public func invoke() {
        for i in 0..<steps.count { steps[i].run() }
    }

    /// Runs every node in order, setting `profile[i]` to node i's nanoseconds (monotonic clock).
    /// `profile` is resized to the node count first if it has another size.
    public func invoke(profile: inout [UInt64]) {
        if profile.count != steps.count { profile = [UInt64](repeating: 0, count: steps.count) }
        for i in 0..<steps.count {
            let t0 = sys_monotonicNanoseconds()
            steps[i].run()
            profile[i] = sys_monotonicNanoseconds() &- t0
        }
    }

    /// The physical (stored) elements of graph input `i`.
    public func inputPointer(_ i: Int) -> UnsafeMutablePointer<Float> {
        pointers[spec.inputs[i]]
    }

    /// The physical (stored) elements of graph output `i`.
    public func outputPointer(_ i: Int) -> UnsafePointer<Float> {
        UnsafePointer(pointers[spec.outputs[i]])
    }

    // MARK: - Prepare

    private static func prepare(_ node: NodeInfo, _ tensors: [TensorInfo], _ ptrs: [UnsafeMutablePointer<Float>]) -> Step {
        func input(_ k: Int) -> UnsafePointer<Float> { UnsafePointer(ptrs[node.inputs[k]]) }
        func shape(_ k: Int) -> [Int] { tensors[node.inputs[k]].shape }
        let y = ptrs[node.outputs[0]]
        let yShape = tensors[node.outputs[0]].shape
        let x = input(0)
        let xShape = shape(0)
        switch node.op {
        case .conv2d(let c):
            return .conv2d(ConvStep(x: x, xShape: xShape, w: input(1), b: input(2), y: y, yShape: yShape, params: c))
        case .fullyConnected(let act):
            let depth = xShape.isEmpty ? 1 : xShape[xShape.count - 1]
            let units = shape(1)[0]
            let rows = depth == 0 ? 0 : elementCount(xShape) / depth
            return .fullyConnected(FCStep(x: x, rows: rows, depth: depth, w: input(1), b: input(2), y: y, units: units, activation: act))
        case .binary(let kind, let act):
            return .binary(binaryStep(kind, act, x, xShape, input(1), shape(1), y, yShape))
        case .prelu:
            return .binary(binaryStep(.prelu, .none, x, xShape, input(1), shape(1), y, yShape))
        case .activation(let act):
            return .activation(ActivationStep(x: x, y: y, count: elementCount(yShape), activation: act))
        case .maxPool(let p):
            return .pool(PoolStep(isMax: true, x: x, xShape: xShape, y: y, yShape: yShape, params: p))
        case .avgPool(let p):
            return .pool(PoolStep(isMax: false, x: x, xShape: xShape, y: y, yShape: yShape, params: p))
        case .mean(let axes, _):
            var reduced = [Bool](repeating: false, count: 6)
            for a in axes { reduced[6 - xShape.count + a] = true }
            return .mean(MeanStep(x: x, plan: MeanPlan(dims: Dims6(xShape), reduced: reduced), y: y))
        case .concat(let axis):
            var outer = 1
            for d in 0..<axis { outer *= yShape[d] }
            var inner = 1
            for d in (axis + 1)..<max(axis + 1, yShape.count) { inner *= yShape[d] }
            var inputs: [UnsafePointer<Float>] = []
            var chunks: [Int] = []
            for k in 0..<node.inputs.count {
                inputs.append(input(k))
                chunks.append(shape(k)[axis] * inner)
            }
            return .concat(ConcatStep(inputs: inputs, chunks: chunks, outer: outer, y: y))
        case .softmax(let axis, let toEnd):
            var outer = 1
            for d in 0..<axis { outer *= xShape[d] }
            var inner = 1
            for d in (axis + 1)..<max(axis + 1, xShape.count) { inner *= xShape[d] }
            let size = toEnd ? xShape[axis] * inner : xShape[axis]
            return .softmax(SoftmaxStep(x: x, y: y, outer: outer, axis: size, inner: toEnd ? 1 : inner))
        case .resize(let r):
            return .resize(ResizeStep(x: x, xShape: xShape, y: y, params: r))
        case .pad(let p):
            var begins = [Int](repeating: 0, count: 6)
            for i in 0..<p.begins.count { begins[6 - p.begins.count + i] = p.begins[i] }
            return .pad(PadStep(x: x, dims: Dims6(xShape), y: y, out: Dims6(yShape), begins: Dims6(begins), mode: p.mode, value: p.value))
        case .slice(let s):
            let strides = Shape.strides(xShape)
            var start = 0
            var xs: [Int] = []
            for i in 0..<xShape.count {
                start += s.starts[i] * strides[i]
                xs.append(strides[i] * s.steps[i])
            }
            return .slice(SliceStep(x: x, start: start, xs: Dims6(xs), y: y, out: Dims6(yShape)))
        case .transpose(let perm):
            let strides = Shape.strides(xShape)
            return .transpose(TransposeStep(x: x, xs: Dims6(Shape.permute(strides, perm)), y: y, out: Dims6(yShape)))
        case .reshape:
            return .copy(CopyStep(x: UnsafeRawPointer(x), y: UnsafeMutableRawPointer(y), bytes: elementCount(yShape) * 4))
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
