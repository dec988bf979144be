import SwiftletCompiler
import SwiftletCore

/// Add, Sub, Mul and Div with NumPy-style broadcasting, up to `maxRank` dimensions.
extension NodeContext {
    static let elementwiseRules: [String: ImportRule] = [
        "Add": { c throws(SwiftletError) in try c.binary(.add) },
        "Sub": { c throws(SwiftletError) in try c.binary(.sub) },
        "Mul": { c throws(SwiftletError) in try c.binary(.mul) },
        "Div": { c throws(SwiftletError) in try c.binary(.div) },
    ]

    mutating func binary(_ kind: OpKind) throws(SwiftletError) {
        let a = try shape(0)
        let b = try shape(1)
        guard let out = Shape.broadcast(a, b) else { throw fail("shapes \(a) and \(b) do not broadcast") }
        guard out.count <= maxRank else { throw fail("rank \(out.count) exceeds \(maxRank)") }
        try produce(.binary(kind, .none), out, inputs: [try input(0), try input(1)])
    }
}
