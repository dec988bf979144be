import SwiftletCore
import SwiftletKernels

// Prepared nodes: every pointer, shape and stride a kernel call needs, computed once by
// `Interpreter.init`. `run()` passes them to the kernel and allocates nothing itself.

/// One prepared node.
enum Step {
    case conv2d(ConvStep)
    case fullyConnected(FCStep)
    /// add, sub, mul, div and prelu (`kind == .prelu`).
    case binary(BinaryStep)
    case activation(ActivationStep)
    case pool(PoolStep)
    case mean(MeanStep)
    case concat(ConcatStep)
    case softmax(SoftmaxStep)
    case resize(ResizeStep)
    case pad(PadStep)
    case slice(SliceStep)
    case transpose(TransposeStep)
    /// Reshape: the same bytes copied to the output tensor.
    case copy(CopyStep)

    /// Calls the node's kernel.
    @inline(__always)
    func run() {
        switch self {
        case .conv2d(let s):
            conv2dF32_reference(x: s.x, xShape: s.xShape, w: s.w, b: s.b, y: s.y, yShape: s.yShape, params: s.params)
        case .fullyConnected(let s):
            fullyConnectedF32_reference(x: s.x, rows: s.rows, depth: s.depth, w: s.w, b: s.b, y: s.y, units: s.units,
                                        activation: s.activation)
        case .binary(let s):
            binaryF32_reference(kind: s.kind, a: s.a, sa: s.sa, b: s.b, sb: s.sb, y: s.y, out: s.out, activation: s.activation)
        case .activation(let s):
            activationF32_reference(x: s.x, y: s.y, count: s.count, activation: s.activation)
        case .pool(let s):
            poolF32_reference(max: s.isMax, x: s.x, xShape: s.xShape, y: s.y, yShape: s.yShape, params: s.params)
        case .mean(let s):
            meanF32_reference(x: s.x, plan: s.plan, y: s.y)
        case .concat(let s):
            concatF32_reference(inputs: s.inputs, chunks: s.chunks, outer: s.outer, y: s.y)
        case .softmax(let s):
            softmaxF32_reference(x: s.x, y: s.y, outer: s.outer, axis: s.axis, inner: s.inner)
        case .resize(let s):
            resizeF32_reference(x: s.x, xShape: s.xShape, y: s.y, params: s.params)
        case .pad(let s):
            padF32_reference(x: s.x, dims: s.dims, y: s.y, out: s.out, begins: s.begins, mode: s.mode, value: s.value)
        case .slice(let s):
            sliceF32_reference(x: s.x, start: s.start, xs: s.xs, y: s.y, out: s.out)
        case .transpose(let s):
            transposeF32_reference(x: s.x, xs: s.xs, y: s.y, out: s.out)
        case .copy(let s):
            if s.x != UnsafeRawPointer(s.y) { s.y.copyMemory(from: s.x, byteCount: s.bytes) }
        }
    }
}

/// NHWC input `[N, H, W, C]`, OHWI weights, bias `[O]`, output `[N, OH, OW, O]`.
struct ConvStep {
    var x: UnsafePointer<Float>, xShape: [Int]
    var w: UnsafePointer<Float>, b: UnsafePointer<Float>
    var y: UnsafeMutablePointer<Float>, yShape: [Int]
    var params: Conv2D
}

/// `rows` = product of all input dims but the last, `depth` = the last, `units` = weight rows.
struct FCStep {
    var x: UnsafePointer<Float>, rows: Int, depth: Int
    var w: UnsafePointer<Float>, b: UnsafePointer<Float>
    var y: UnsafeMutablePointer<Float>, units: Int
    var activation: Activation
}

/// Inputs' strides broadcast to the rank-6 padded output dims.
struct BinaryStep {
    var kind: OpKind
    var a: UnsafePointer<Float>, sa: Dims6
    var b: UnsafePointer<Float>, sb: Dims6
    var y: UnsafeMutablePointer<Float>, out: Dims6
    var activation: Activation
}

struct ActivationStep {
    var x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int
    var activation: Activation
}

struct PoolStep {
    var isMax: Bool
    var x: UnsafePointer<Float>, xShape: [Int]
    var y: UnsafeMutablePointer<Float>, yShape: [Int]
    var params: Pool2D
}

/// The reduction plan is computed at prepare time.
struct MeanStep {
    var x: UnsafePointer<Float>, plan: MeanPlan
    var y: UnsafeMutablePointer<Float>
}

/// `chunks[i]` = input i's axis size × the product of the dims after the axis.
struct ConcatStep {
    var inputs: [UnsafePointer<Float>], chunks: [Int], outer: Int
    var y: UnsafeMutablePointer<Float>
}

/// `[outer, axis, inner]` view of the physical shape (`inner` = 1 and `axis` = all dims from it on, for `toEnd`).
struct SoftmaxStep {
    var x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    var outer: Int, axis: Int, inner: Int
}

struct ResizeStep {
    var x: UnsafePointer<Float>, xShape: [Int]
    var y: UnsafeMutablePointer<Float>
    var params: Resize
}

/// `begins` padded to rank 6 with leading zeros.
struct PadStep {
    var x: UnsafePointer<Float>, dims: Dims6
    var y: UnsafeMutablePointer<Float>, out: Dims6
    var begins: Dims6, mode: Int, value: Float
}

/// `start` = Σ starts[i]·stride[i]; `xs` = strides × steps.
struct SliceStep {
    var x: UnsafePointer<Float>, start: Int, xs: Dims6
    var y: UnsafeMutablePointer<Float>, out: Dims6
}

/// `xs` = the input strides permuted into output order.
struct TransposeStep {
    var x: UnsafePointer<Float>, xs: Dims6
    var y: UnsafeMutablePointer<Float>, out: Dims6
}

struct CopyStep {
    var x: UnsafeRawPointer, y: UnsafeMutableRawPointer, bytes: Int
}
