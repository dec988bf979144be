import SwiftletCompiler
import SwiftletCore

/// Ops that only move or regroup elements: Flatten, Reshape (constant target, `allowzero`),
/// Squeeze and Unsqueeze (axes as attribute before opset 13, constant input from 13), Transpose,
/// Concat, Split (sizes from the attribute, a constant input or an even split) and Slice (constant
/// starts, ends, axes and steps; attributes before opset 10), DepthToSpace (DCR and CRD) and
/// SpaceToDepth as Reshape → Transpose (rank 6) → Reshape.
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
        "DepthToSpace": { c throws(SwiftletError) in try c.depthSpace(toSpace: true) },
        "SpaceToDepth": { c throws(SwiftletError) in try c.depthSpace(toSpace: false) },
    ]

    /// DepthToSpace or SpaceToDepth of a 4-D NCHW input with `blocksize` b: the ONNX definitions'
    /// own reshape to rank 6, transpose and reshape back.
    mutating func depthSpace(toSpace: Bool) throws(SwiftletError) {
        let x = try shape(0)
        guard x.count == 4 else { throw unsupported("only 4-D input is supported") }
        let b = try attrs.int("blocksize", nil)
        let (n, c, h, w) = (x[0], x[1], x[2], x[3])
        guard b >= 1, b <= OpLimits.window else { throw fail("blocksize \(b) is outside 1...\(OpLimits.window)") }
        let six: [Int], perm: [Int], out: [Int]
        // SpaceToDepth has its mode from version 28 (before, DCR); DepthToSpace from 11.
        let mode = try attrs.string("mode", "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw unsupported("mode must be DCR or CRD, not '\(mode)'") }
        if toSpace {
            guard c % (b * b) == 0 else { throw fail("channels \(c) are not a multiple of blocksize² \(b * b)") }
            if mode == "DCR" {
                (six, perm) = ([n, b, b, c / (b * b), h, w], [0, 3, 4, 1, 5, 2])
            } else {
                (six, perm) = ([n, c / (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3])
            }
            out = [n, c / (b * b), h * b, w * b]
        } else {
            guard h % b == 0, w % b == 0 else { throw fail("height \(h) and width \(w) are not multiples of blocksize \(b)") }
            (six, perm) = ([n, c, h / b, b, w / b, b], mode == "DCR" ? [0, 3, 5, 1, 2, 4] : [0, 1, 3, 5, 2, 4])
            out = [n, c * b * b, h / b, w / b]
        }
        var v = try intermediate(.reshape(shape: six), six, inputs: [try input(0)], "blocks")
        v = try intermediate(.transpose(perm: perm), Shape.permute(six, perm), inputs: [v], "moved")
        try produce(.reshape(shape: out), out, inputs: [v])
    }

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
