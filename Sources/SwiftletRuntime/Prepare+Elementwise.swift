import SwiftletCore
import SwiftletKernels
import SwiftletModel

/// The steps of element-wise ops (binary, PReLU), pooling, Mean and Softmax, float32 and int8.
extension StepBuilder {
    /// Inputs 0 and 1, as `T`, broadcast to the output (binary ops and PReLU).
    private func broadcast<T>(_: T.Type) -> BinaryStep<T> {
        let o6 = Dims6(yShape)
        return BinaryStep(a: input(0, T.self), sa: Dims6(xShape).broadcastStrides(to: o6), b: input(1, T.self),
                          sb: Dims6(shape(1)).broadcastStrides(to: o6), y: yRaw.assumingMemoryBound(to: T.self), out: o6)
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func binaryQS8(_ kind: OpKind, _ act: Activation) -> Step {
        let step = broadcast(Int8.self)
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
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func binaryF32(_ kind: OpKind, _ act: Activation) -> Step {
        var step = broadcast(Float.self)
        if let v = variant, v.algorithm == .elementwise, floatBinaryTakes(kind, act) {
            if let (rows, cols, bStride) = mulLayout(xShape, shape(1), yShape) {
                (step.simd, step.rows, step.cols, step.bStride) = (v, rows, cols, bStride)
            } else if kind != .sub, let (rows, cols, bStride) = mulLayout(shape(1), xShape, yShape) {
                // The per-channel operand first: add and mul commute.
                (step.simd, step.rows, step.cols, step.bStride) = (v, rows, cols, bStride)
                (step.a, step.b) = (step.b, step.a)
            }
        }
        return .binary(step, kind, act)
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func prelu() -> Step {
        guard quantized else { return .binary(broadcast(Float.self), .prelu, .none) }
        let aq = tensors[node.inputs[1]].quant?.params ?? xq
        return .preluQS8(broadcast(Int8.self), PReluQS8Params(input: xq, alpha: aq, output: yq))
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func pool(_ p: Pool2D, isMax: Bool) -> Step {
        let simd = isMax && variant?.algorithm == .pool ? variant : nil
        func step<T>(_: T.Type) -> PoolStep<T> {
            PoolStep(isMax: isMax, x: input(0, T.self), xShape: xShape, y: yRaw.assumingMemoryBound(to: T.self), yShape: yShape, params: p,
                     simd: simd)
        }
        return quantized ? .poolQS8(step(Int8.self), zeroPoint: xq.zeroPoint) : .pool(step(Float.self))
    }

    /// The reduction plan over `axes` of the input (Mean's, and ReduceMax, ReduceMin and ReduceProd's).
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func meanPlan(_ axes: [Int]) -> MeanPlan {
        var reduced = [Bool](repeating: false, count: 6)
        for a in axes { reduced[6 - xShape.count + a] = true }
        return MeanPlan(dims: Dims6(xShape), reduced: reduced)
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func mean(_ axes: [Int], _ fx: inout PrepareEffects) throws(SwiftletError) -> Step {
        let plan = meanPlan(axes)
        guard quantized else { return .mean(MeanStep(x: f32(0), plan: plan, y: y)) }
        // int8 always gets the int8 kernel and its int32 sums: the planned scratch (`scratchBytes`),
        // or, should a node have none, a block of its own (owned like the packed weights).
        let acc: UnsafeMutablePointer<Int32>
        if let scratch {
            acc = scratch
        } else {
            let block = try sys_alignedAllocate(bytes: max(plan.outCount, 1) * 4, alignment: 64, what: "\(path): scratch of node '\(node.name)'")
            fx.owned.append(block)
            acc = block.assumingMemoryBound(to: Int32.self)
        }
        // The SIMD kernel where the node selected one (a global average pooling: Interpreter.kernelVariant).
        let step = MeanStep(x: i8(0), plan: plan, y: y8, simd: variant?.algorithm == .elementwise ? variant : nil)
        return .meanQS8(step, MeanQS8Params(input: xq, output: yq, count: plan.divisor, mode: model.spec.requantization), acc: acc)
    }

    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    func softmax(_ axis: Int, toEnd: Bool) -> Step {
        let (outer, inner) = Shape.outerInner(xShape, axis: axis)
        let size = toEnd ? xShape[axis] * inner : xShape[axis]
        if quantized {
            return .softmaxQS8(SoftmaxStep(x: i8(0), y: y8, outer: outer, axis: size, inner: toEnd ? 1 : inner), table: i32(1))
        }
        return .softmax(SoftmaxStep(x: f32(0), y: y, outer: outer, axis: size, inner: toEnd ? 1 : inner))
    }
}
