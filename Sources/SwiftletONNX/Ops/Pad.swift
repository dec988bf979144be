import SwiftletCompiler
import SwiftletCore

/// Pad in constant, reflect or edge mode with non-negative pads: from opset 11 the pads, the
/// constant value and the optional axes are constant inputs; before, they are attributes.
extension NodeContext {
    static let padRules: [String: ImportRule] = [
        "Pad": { c throws(SwiftletError) in try c.pad() },
    ]

    mutating func pad() throws(SwiftletError) {
        let x = try shape(0)
        let mode = try attrs.string("mode", "constant")
        var p = Pad()
        guard let m = ["constant": Pad.Mode.constant, "reflect": .reflect, "edge": .edge][mode] else {
            throw unsupported("pad mode '\(mode)' is not supported (constant, reflect, edge are)")
        }
        p.mode = m
        var pads: [Int]
        if opset >= 11 {
            guard let pp = try constInts(1) else { throw unsupported("pads must be constant") }
            pads = pp
            if has(2) {
                guard let v = constFloats(2), v.count <= 1 else { throw fail("constant_value must be a constant scalar") }
                p.value = v.first ?? 0
            }
            if has(3) {
                guard let ax = try constInts(3) else { throw fail("axes must be constant") }
                guard pads.count == 2 * ax.count else { throw fail("pads has \(pads.count) values for \(ax.count) axes \(ax)") }
                var full = [Int](repeating: 0, count: 2 * x.count)
                for (i, a0) in ax.enumerated() {
                    let a = try normAxis(a0, x.count, fail)
                    full[a] = pads[i]
                    full[a + x.count] = pads[i + ax.count]
                }
                pads = full
            }
        } else {
            pads = try attrs.ints("pads", nil)
            p.value = try attrs.float("value", 0)
        }
        guard pads.count == 2 * x.count else { throw fail("pads has \(pads.count) values for rank \(x.count)") }
        if pads.contains(where: { $0 < 0 }) { throw unsupported("negative pads (cropping) are not supported; use Slice") }
        for v in pads where v > OpLimits.pad { throw fail("pads \(Shape.text(pads)) include \(v), more than the \(OpLimits.pad) a .swl stores") }
        p.begins = Array(pads[0..<x.count])
        p.ends = Array(pads[x.count...])
        var out = x
        for i in 0..<x.count { out[i] += p.begins[i] + p.ends[i] }
        try produce(.pad(p), out, inputs: [try input(0)])
    }
}
