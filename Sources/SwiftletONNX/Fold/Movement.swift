import SwiftletCompiler
import SwiftletCore

/// Ops that pick, move or regroup elements: Gather, Unsqueeze, Squeeze, Reshape, Flatten, Concat,
/// Slice, Transpose and Expand.
extension Folder {
    static let movementRules: [String: FoldRule] = [
        "Gather": { f throws(SwiftletError) in try f.gather() },
        "Unsqueeze": { f throws(SwiftletError) in try f.squeeze(false) },
        "Squeeze": { f throws(SwiftletError) in try f.squeeze(true) },
        "Reshape": { f throws(SwiftletError) in try f.reshape() },
        "Flatten": { f throws(SwiftletError) in try f.flatten() },
        "Concat": { f throws(SwiftletError) in try f.concat() },
        "Slice": { f throws(SwiftletError) in try f.slice() },
        "Transpose": { f throws(SwiftletError) in try f.transpose() },
        "Expand": { f throws(SwiftletError) in try f.expand() },
    ]

    /// The indices' slices of input 0 along `axis`.
    func gather() throws(SwiftletError) -> [Result] {
        let d = try c(0)
        let idx = try c(1)
        let axis = try normAxis(try attrs.int("axis", 0), d.shape.count, fail)
        let outer = checkedProduct(d.shape[..<axis]) ?? 0
        let inner = checkedProduct(d.shape[(axis + 1)...]) ?? 0
        let n = d.shape[axis]
        _ = try count(Array(d.shape[..<axis]) + idx.shape + Array(d.shape[(axis + 1)...]))
        var picks: [Int] = []
        for i in try exactInts(idx.data, "the indices") {
            let k = i < 0 ? Int(i) &+ n : Int(i)
            if k < 0 || k >= n { throw fail("Gather index \(i) is out of range \(n)", "") }
            picks.append(k)
        }
        let shape = Array(d.shape[..<axis]) + idx.shape + Array(d.shape[(axis + 1)...])
        func gather<T>(_ src: [T]) -> [T] {
            var out: [T] = []
            for o in 0..<outer { for k in picks { for i in 0..<inner { out.append(src[(o * n + k) * inner + i]) } } }
            return out
        }
        switch d.data {
        case .floats(let f): return [Result(shape: shape, data: .floats(gather(f)))]
        case .ints(let i): return [Result(shape: shape, data: .ints(gather(i)))]
        }
    }

    /// The input with axes added (Unsqueeze) or removed (Squeeze): from the `axes` attribute before opset 13, input 1 from 13.
    func squeeze(_ isSqueeze: Bool) throws(SwiftletError) -> [Result] {
        let a = try c(0)
        var axes: [Int] = []
        if opset >= 13 { axes = ins.count > 1 ? try exactInts(try c(1).data, "axes").map { Int($0) } : [] } else { axes = try attrs.ints("axes", []) }
        return [Result(shape: try squeezeShape(isSqueeze, a.shape, axes, fail), data: a.data)]
    }

    /// The input in the target shape of input 1.
    func reshape() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        let t = try exactInts(try c(1).data, "the target shape").map { Int($0) }
        return [Result(shape: try reshapeTarget(a.shape, t, allowZero: try attrs.int("allowzero", 0) == 1, fail), data: a.data)]
    }

    /// The input as a 2-D tensor split at `axis`.
    func flatten() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        return [Result(shape: try flattenShape(a.shape, try attrs.int("axis", 1), fail), data: a.data)]
    }

    /// The inputs joined along `axis` (a scalar joins as one value).
    func concat() throws(SwiftletError) -> [Result] {
        var parts: [(shape: [Int], data: ConstData)] = []
        for k in 0..<ins.count {
            var p = try c(k)
            if p.shape.isEmpty { p.shape = [1] }  // a scalar joins a 1-D concat as one value
            parts.append(p)
        }
        if parts.isEmpty { throw fail("has no inputs", "Concat needs at least one input") }
        let rank = parts[0].shape.count
        let axis = try normAxis(try attrs.int("axis", nil), rank, fail)
        var shape = parts[0].shape
        var total = 0
        for p in parts {
            guard p.shape.count == rank else { throw fail("inputs \(Shape.text(parts[0].shape)) and \(Shape.text(p.shape)) have different ranks", "") }
            for d in 0..<rank where d != axis && p.shape[d] != shape[d] {
                throw fail("input \(Shape.text(p.shape)) does not match \(Shape.text(parts[0].shape)) off axis \(axis)", "")
            }
            total = try checkedSum(total, p.shape[axis], "concatenated axis \(axis)", fail)
        }
        shape[axis] = total
        // As large as its inputs together: no per-result cap, but the graph's budget.
        let n = try foldCount(shape, allowed: Int.max)
        let outer = shape[..<axis].reduce(1, *)
        let anyFloat = parts.contains { !isIntData($0.data) }
        // Each part converted once: an integer part joining a float Concat was converted once per
        // outer index (quadratic).
        func joined<T>(_ values: [[T]]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(n)
            for o in 0..<outer {
                for v in values {
                    let chunk = v.count / max(outer, 1)
                    out += v[(o * chunk)..<((o + 1) * chunk)]
                }
            }
            return out
        }
        if anyFloat { return [Result(shape: shape, data: .floats(joined(parts.map { $0.data.asFloats })))] }
        return [Result(shape: shape, data: .ints(joined(parts.map { $0.data.asInts })))]
    }

    /// The elements of input 0 between constant starts and ends, on the given axes, by the given steps.
    func slice() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        let starts = try c(1).data.asInts.map { Int(clamping: $0) }
        let ends = try c(2).data.asInts.map { Int(clamping: $0) }
        let axes = ins.count > 3 && ins[3] >= 0 ? try exactInts(try c(3).data, "axes").map { Int($0) } : Array(0..<starts.count)
        let steps = ins.count > 4 && ins[4] >= 0 ? try exactInts(try c(4).data, "steps").map { Int($0) } : [Int](repeating: 1, count: starts.count)
        let s = try sliceParams(a.shape, starts, ends, axes, steps, fail)
        let strides = Shape.strides(a.shape)
        let n = s.sizes.reduce(1, *)
        var idx = [Int](repeating: 0, count: a.shape.count)
        var picks: [Int] = []
        for _ in 0..<n {
            var src = 0
            for d in 0..<idx.count { src += (s.starts[d] + idx[d] * s.steps[d]) * strides[d] }
            picks.append(src)
            Shape.advance(&idx, within: s.sizes)
        }
        switch a.data {
        case .floats(let f): return [Result(shape: s.sizes, data: .floats(picks.map { f[$0] }))]
        case .ints(let i): return [Result(shape: s.sizes, data: .ints(picks.map { i[$0] }))]
        }
    }

    /// The input with its dimensions permuted by `perm` (reversed without it).
    func transpose() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        let perm = try attrs.ints("perm", Array((0..<a.shape.count).reversed()))
        guard perm.sorted() == Array(0..<a.shape.count) else {
            throw fail("perm \(Shape.text(perm)) is not a permutation of the input's rank \(a.shape.count) (shape \(Shape.text(a.shape)))", "")
        }
        let shape = Shape.permute(a.shape, perm)
        // Integers are permuted as integers: through Float they would lose digits above 2^24.
        switch a.data {
        case .floats(let f): return [Result(shape: shape, data: .floats(Lowering.permuteData(f, a.shape, perm)))]
        case .ints(let i): return [Result(shape: shape, data: .ints(Lowering.permuteData(i, a.shape, perm)))]
        }
    }

    /// The input broadcast to the target shape of input 1.
    func expand() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        let target = try exactInts(try c(1).data, "the target shape").map { Int($0) }
        for t in target where t < 0 { throw fail("cannot expand \(Shape.text(a.shape)) to \(Shape.text(target)): negative dimension \(t)", "") }
        guard let shape = Shape.broadcast(a.shape, target) else { throw fail("cannot expand \(a.shape) to \(target)", "") }
        _ = try count(shape)
        let ia = broadcastIndices(a.shape, shape)
        switch a.data {
        case .floats(let f): return [Result(shape: shape, data: .floats(ia.map { f[$0] }))]
        case .ints(let i): return [Result(shape: shape, data: .ints(ia.map { i[$0] }))]
        }
    }
}
