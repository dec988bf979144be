import SwiftletCompiler
import SwiftletCore

/// Add, Sub, Mul, Div and Pow with NumPy-style broadcasting, up to `maxRank` dimensions; Max and Min
/// of one or more inputs (a chain of two-input nodes, all broadcast together); Expand of a run-time
/// tensor to a constant shape as a Mul by ones of that shape (exact: x · 1 = x, NaN and −0 included),
/// which stores the ones as weights (constant inputs fold instead).
extension NodeContext {
    static let elementwiseRules: [String: ImportRule] = [
        "Add": { c throws(SwiftletError) in try c.binary(.add) },
        "Sub": { c throws(SwiftletError) in try c.binary(.sub) },
        "Mul": { c throws(SwiftletError) in try c.binary(.mul) },
        "Div": { c throws(SwiftletError) in try c.binary(.div) },
        "Pow": { c throws(SwiftletError) in try c.binary(.pow) },
        "Max": { c throws(SwiftletError) in try c.variadic(.max) },
        "Min": { c throws(SwiftletError) in try c.variadic(.min) },
        "Expand": { c throws(SwiftletError) in try c.expand() },
    ]

    mutating func expand() throws(SwiftletError) {
        let x = try shape(0)
        guard let s = try constInts(1) else { throw unsupported("the shape must be constant") }
        guard s.allSatisfy({ $0 >= 1 }) else { throw fail("shape \(Shape.text(s)) has a dimension below 1; Swiftlet's tensors are never empty") }
        guard let out = Shape.broadcast(x, s) else { throw fail("shape \(Shape.text(s)) does not broadcast with the input \(Shape.text(x))") }
        guard out.count <= maxRank else { throw fail("rank \(out.count) exceeds \(maxRank)") }
        if let problem = shapeProblem(out) { throw fail("computed output shape \(Shape.text(out)) \(problem)") }
        if out == x { return alias(try input(0)) }
        // Every dimension of s is at most out's, so the ones are no more elements than the output.
        let n = s.reduce(1, *)
        let ones = g.constant("\(name)/ones", s, [Float](repeating: 1, count: n))
        try produce(.binary(.mul, .none), out, inputs: [try input(0), ones])
    }

    /// Max or Min of every input: one input is the input itself, more a chain of two-input nodes.
    mutating func variadic(_ kind: OpKind) throws(SwiftletError) {
        guard !ins.isEmpty else { throw fail("has no inputs") }
        var acc = try input(0)
        var accShape = try shape(0)
        if ins.count == 1 { return alias(acc) }
        for k in 1..<ins.count {
            let b = try shape(k)
            guard let out = Shape.broadcast(accShape, b) else { throw fail("shapes \(accShape) and \(b) do not broadcast") }
            guard out.count <= maxRank else { throw fail("rank \(out.count) exceeds \(maxRank)") }
            if k == ins.count - 1 { return try produce(.binary(kind, .none), out, inputs: [acc, try input(k)]) }
            acc = try intermediate(.binary(kind, .none), out, inputs: [acc, try input(k)], "\(kind.name.lowercased())\(k)")
            accShape = out
        }
    }

    mutating func binary(_ kind: OpKind) throws(SwiftletError) {
        let a = try shape(0)
        let b = try shape(1)
        guard let out = Shape.broadcast(a, b) else { throw fail("shapes \(a) and \(b) do not broadcast") }
        guard out.count <= maxRank else { throw fail("rank \(out.count) exceeds \(maxRank)") }
        try produce(.binary(kind, .none), out, inputs: [try input(0), try input(1)])
    }
}
