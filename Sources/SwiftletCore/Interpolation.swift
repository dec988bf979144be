// String interpolation out of line: the literal text, Int and String values.
//
// The standard library's generic `appendInterpolation` is inlined at every `\(value)`: the number's
// digits, a small-string append with its large-string fallback, and the releases, about 300 bytes of
// aarch64 code per interpolated value. The error messages of the model reader, the op shape rules and
// the runtime's set-up interpolate thousands of values, so in the board binary that was tens of KB
// (docs/benchmarks.md, "Board binary size"). These overloads, chosen over the generic ones for Int
// and String, make each a call; the text is the same (`description`, and the string itself).

extension DefaultStringInterpolation {
    /// `\(n)` for an Int: its decimal digits, as `description` gives them.
    @inline(never)
    public mutating func appendInterpolation(_ value: Int) {
        appendLiteral(value.description)
    }

    /// `\(s)` for a String: the string itself.
    @inline(never)
    public mutating func appendInterpolation(_ value: String) {
        appendLiteral(value)
    }
}

extension DefaultStringInterpolation {
    /// The literal text between the values, out of line likewise (it shadows the standard library's
    /// inlinable `appendLiteral` in modules that import SwiftletCore; `write` is what that one calls).
    @inline(never)
    public mutating func appendLiteral(_ literal: String) {
        write(literal)
    }
}
