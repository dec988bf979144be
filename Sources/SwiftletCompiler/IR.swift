import SwiftletCore
import SwiftletModel

/// Constant data of an IR value, in the logical (ONNX) row-major layout.
public enum ConstData: Equatable {
    case floats([Float])
    case ints([Int64])

    public var count: Int {
        switch self {
        case .floats(let f): return f.count
        case .ints(let i): return i.count
        }
    }

    public var asFloats: [Float] {
        switch self {
        case .floats(let f): return f
        case .ints(let i): return i.map { Float($0) }
        }
    }

    /// The values as integers, floats truncated toward zero; a float no Int64 holds (NaN, ±infinity,
    /// beyond ±2⁶³) becomes 0 here, never a trap: code that must refuse such values reads `exactInts`.
    public var asInts: [Int64] {
        switch self {
        case .floats(let f): return f.map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }
        case .ints(let i): return i
        }
    }

    /// The values as integers (floats truncated toward zero), or the first float no Int64 holds.
    public var exactInts: Result<[Int64], FloatNotInteger> {
        switch self {
        case .ints(let i): return .success(i)
        case .floats(let f):
            var out: [Int64] = []
            out.reserveCapacity(f.count)
            for v in f {
                guard let i = Int64(exactly: v.rounded(.towardZero)) else { return .failure(FloatNotInteger(value: v)) }
                out.append(i)
            }
            return .success(out)
        }
    }
}

/// A float that no Int64 holds (NaN, ±infinity, beyond ±2⁶³).
public struct FloatNotInteger: Error, Equatable {
    public var value: Float
}

/// A tensor of the import graph, in ONNX's logical layout.
public struct IRValue {
    public var name: String
    public var shape: [Int]
    public var isInt: Bool
    public var constant: ConstData?

    public init(name: String, shape: [Int], isInt: Bool = false, constant: ConstData? = nil) {
        self.name = name
        self.shape = shape
        self.isInt = isInt
        self.constant = constant
    }
}

/// Operators of the import graph. Most are the packed model's own ops (`Op`, each with its one home
/// under `SwiftletCore/Ops/`), their attributes in ONNX's logical layout: NCHW axes, Conv2D weights
/// `[O, C/g, KH, KW]`, Reshape's logical shape. Lowering maps them to NHWC. The other cases are ONNX
/// forms that lowering rewrites into model ops; the fused activation of any node is `IRNode.activation`.
public enum IROp {
    /// A model op in the logical layout. Quantize, Dequantize and Lookup are the quantizer's, never an import's.
    case op(Op)
    /// `alpha · A' · B' + beta · C` with B constant: a FullyConnected.
    case gemm(transA: Bool, transB: Bool, alpha: Float, beta: Float)
    /// A · B with B constant `[K, N]`: a FullyConnected.
    case matmul
    /// Mean over H and W of an NCHW tensor, always run in NHWC.
    case globalAveragePool
    /// Per-channel (axis 1) `x · scale + shift`, from BatchNormalization: a Mul and an Add.
    case batchNorm(scale: [Float], shift: [Float])
}

/// One node of the import graph.
public struct IRNode {
    public var name: String
    public var op: IROp
    public var inputs: [Int]
    public var output: Int
    /// Activation fused into this node by `fuseActivations`.
    public var activation = Activation.none

    public init(name: String, op: IROp, inputs: [Int], output: Int) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.output = output
    }
}

/// The graph an importer builds: values (constants included) and nodes in execution order.
public final class IRGraph {
    public var values: [IRValue] = []
    public var nodes: [IRNode] = []
    public var inputs: [Int] = []
    public var outputs: [Int] = []
    /// The graph's own name for each output, where it has one apart from its value's (an ONNX output
    /// written by an Identity or Dropout is its input's value); lowering names an output's copy by it.
    public var outputNames: [String] = []

    public init() {}

    /// Adds a value and returns its id.
    @discardableResult
    public func add(_ v: IRValue) -> Int {
        values.append(v)
        return values.count - 1
    }

    /// Adds a float constant.
    public func constant(_ name: String, _ shape: [Int], _ data: [Float]) -> Int {
        add(IRValue(name: name, shape: shape, constant: .floats(data)))
    }

    /// The index of the node that writes each value; −1 for graph inputs and constants.
    public func producers() -> [Int] {
        var p = [Int](repeating: -1, count: values.count)
        for (i, n) in nodes.enumerated() { p[n.output] = i }
        return p
    }

    /// Drops the nodes at the indices `removed`, the others keeping their order.
    public func removeNodes(_ removed: Set<Int>) {
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map { $0.element }
    }

    /// How many nodes read each value (graph outputs count as a reader).
    public func readers() -> [Int] {
        var r = [Int](repeating: 0, count: values.count)
        for n in nodes { for i in n.inputs where i >= 0 { r[i] += 1 } }
        for o in outputs { r[o] += 1 }
        return r
    }
}
