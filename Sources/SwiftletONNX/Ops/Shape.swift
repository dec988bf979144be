import SwiftletCompiler
import SwiftletCore

/// Ops that only move or regroup elements: Flatten, Reshape (constant target, `allowzero`),
/// Squeeze and Unsqueeze (axes as attribute before opset 13, constant input from 13), Transpose,
/// Concat, Split (sizes from the attribute, a constant input or an even split) and Slice (constant
/// starts, ends, axes and steps; attributes before opset 10).
extension NodeContext {
    static let shapeRules: [String: ImportRule] = [
        "Flatten": { c throws(SwiftletError) in try c.flatten() },
        "Reshape": { c throws(SwiftletError) in try c.reshape() },
        "Squeeze": { c throws(SwiftletError) in try c.squeeze(true) },
        "Unsqueeze": { c throws(SwiftletError) in try c.squeeze(false) },
        "Transpose": { c throws(SwiftletError) in try c.transpose() },
        "Concat": { c throws(SwiftletError) in try c.concat() },
        "Split": { c throws(SwiftletError) in try c.split() },
        "Slice": { c throws(SwiftletError) in try c.slice() },
    ]

    /// A Reshape of input 0 to `out` (the logical shape).
    mutating func produceReshape(_ out: [Int]) throws(SwiftletError) {
        try produce(.reshape(shape: out), out, inputs: [try input(0)])
    }

    mutating func flatten() throws(SwiftletError) {
        let x = try shape(0)
        try produceReshape(try flattenShape(x, try attrs.int("axis", 1), fail))
    }

    mutating func reshape() throws(SwiftletError) {
        let x = try shape(0)
        guard let target = try constInts(1) else {
            throw unsupported("the target shape must be constant (fix the input shape with --input-shape)")
        }
        try produceReshape(try reshapeTarget(x, target, allowZero: try attrs.int("allowzero", 0) == 1, fail))
    }

    mutating func squeeze(_ isSqueeze: Bool) throws(SwiftletError) {
        let x = try shape(0)
        let axes: [Int]
        if opset >= 13 { axes = try constInts(1) ?? [] } else { axes = try attrs.ints("axes", []) }
        try produceReshape(try squeezeShape(isSqueeze, x, axes, fail))
    }

    mutating func transpose() throws(SwiftletError) {
        let x = try shape(0)
        let perm = try attrs.ints("perm", Array((0..<x.count).reversed()))
        guard perm.sorted() == Array(0..<x.count) else { throw fail("perm \(perm) is not a permutation of rank \(x.count)") }
        try produce(.transpose(perm: perm), Shape.permute(x, perm), inputs: [try input(0)])
    }

    mutating func concat() throws(SwiftletError) {
        if ins.isEmpty { throw fail("has no inputs", "Concat needs at least one input") }
        var shapes: [[Int]] = []
        for k in 0..<ins.count { shapes.append(try shape(k)) }
        let axis = try normAxis(try attrs.int("axis", nil), shapes[0].count, fail)
        // Op.concat's rule is layout-free: it applies to the NCHW shapes as they are.
        try produce(.concat(axis: axis), try Op.concat(axis: axis).outputShape(shapes, where: location), inputs: ins)
    }

    mutating func split() throws(SwiftletError) {
        let x = try shape(0)
        if node.output.isEmpty { throw fail("has no outputs") }
        let axis = try normAxis(try attrs.int("axis", 0), x.count, fail)
        var sizes: [Int]
        if opset >= 13, has(1) {
            guard let s = try constInts(1) else { throw unsupported("split sizes must be constant") }
            sizes = s
        } else if let s = try? attrs.ints("split", nil) {
            sizes = s
        } else {
            let n = node.output.count
            let each = (x[axis] + n - 1) / n
            sizes = (0..<n).map { min(each, x[axis] - $0 * each) }
        }
        // The count first: the sizes are printed in messages only once they are one per output.
        guard sizes.count == node.output.count else {
            throw fail("has \(sizes.count) split sizes for \(node.output.count) outputs; give one size per output")
        }
        var total = 0
        for z in sizes {
            if z < 0 { throw fail("split sizes \(sizes) include a negative size") }
            total = try checkedSum(total, z, "split sizes \(sizes)", fail)
        }
        guard total == x[axis] else {
            throw fail("split sizes \(sizes) do not add up to \(x[axis]) for \(node.output.count) outputs")
        }
        if sizes.contains(0) { throw fail("split sizes \(sizes) leave an output empty") }
        var start = 0
        for (k, o) in node.output.enumerated() {
            var s = Slice()
            s.starts = [Int](repeating: 0, count: x.count)
            s.steps = [Int](repeating: 1, count: x.count)
            s.sizes = x
            s.starts[axis] = start
            s.sizes[axis] = sizes[k]
            start += sizes[k]
            let v = g.add(IRValue(name: o, shape: s.sizes))
            g.nodes.append(IRNode(name: "\(name):\(k)", op: .op(.slice(s)), inputs: [try input(0)], output: v))
            ids[o] = v
        }
    }

    mutating func slice() throws(SwiftletError) {
        let x = try shape(0)
        var starts: [Int], ends: [Int], axes: [Int], steps: [Int]
        if opset >= 10 {
            guard let s = try constInts(1), let e = try constInts(2) else { throw unsupported("starts and ends must be constant") }
            starts = s
            ends = e
            axes = try constInts(3) ?? Array(0..<s.count)
            steps = try constInts(4) ?? [Int](repeating: 1, count: s.count)
        } else {
            starts = try attrs.ints("starts", nil)
            ends = try attrs.ints("ends", nil)
            axes = try attrs.ints("axes", Array(0..<starts.count))
            steps = [Int](repeating: 1, count: starts.count)
        }
        let s = try sliceParams(x, starts, ends, axes, steps, fail)
        try produce(.slice(s), s.sizes, inputs: [try input(0)])
    }
}
