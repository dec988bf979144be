import SwiftletCore

/// A streamed Conv → Conv pair: the producer's output rows go round-robin into a ring of `ring` rows
/// (the producer's output tensor, planned at that size), each computed when the consumer first needs
/// it; the consumer reads its input rows from the ring. Each pair is float32 or int8 throughout
/// (one of the two optionals is set per side).
struct StreamConvStep {
    var producerF32: ConvStep?, producerQS8: ConvQS8Step?
    var consumerF32: ConvStep?, consumerQS8: ConvQS8Step?
    var ring: Int
    /// The producer's output rows; the consumer's output rows, stride, top padding, kernel and dilation.
    var sourceRows: Int, outRows: Int, strideH: Int, padTop: Int, kernelH: Int, dilationH: Int
    /// With threads: a private ring of `ringBytes` for each thread after the first (thread 0 uses the
    /// planned one), so each thread streams its own band of output rows; the few producer rows two
    /// bands share are computed by both, with the same code, so results do not depend on the count.
    var extraRings: UnsafeMutableRawPointer? = nil, ringBytes = 0

    func run() { run(rows: 0..<outRows) }

    /// Output rows `band(part, of: parts)`, streamed through thread `thread`'s ring.
    func run(part: Int, of parts: Int, thread: Int) {
        let rows = band(outRows, part: part, of: parts)
        if rows.isEmpty { return }
        if thread == 0 { return run(rows: rows) }
        guard let extra = extraRings else { preconditionFailure("StreamConvStep: no ring for thread \(thread)") }
        var s = self
        let r = extra + (thread - 1) * ringBytes
        if var p = s.producerF32 { p.y = r.assumingMemoryBound(to: Float.self); s.producerF32 = p }
        if var p = s.producerQS8 { p.y = r.assumingMemoryBound(to: Int8.self); s.producerQS8 = p }
        if var c = s.consumerF32 { c.x = UnsafePointer(r.assumingMemoryBound(to: Float.self)); s.consumerF32 = c }
        if var c = s.consumerQS8 { c.x = UnsafePointer(r.assumingMemoryBound(to: Int8.self)); s.consumerQS8 = c }
        s.run(rows: rows, part: thread)
    }

    private func run(rows: Range<Int>, part: Int = 0) {
        var next = 0
        for oy in rows {
            let lo = oy * strideH - padTop
            let hi = min(sourceRows - 1, lo + (kernelH - 1) * dilationH)
            next = max(next, lo)   // rows below lo are never read again (a stride above the kernel)
            while next <= hi {
                producerRow(next, part: part)
                next += 1
            }
            consumerRow(oy, part: part)
        }
    }

    @inline(__always)
    private func producerRow(_ r: Int, part: Int) {
        if let p = producerF32 {
            p.run(rows: r..<(r + 1), yRing: ring, part: part)
        } else if let p = producerQS8 {
            p.run(rows: r..<(r + 1), yRing: ring, part: part)
        }
    }

    @inline(__always)
    private func consumerRow(_ oy: Int, part: Int) {
        if let c = consumerF32 {
            c.run(rows: oy..<(oy + 1), xRing: ring, part: part)
        } else if let c = consumerQS8 {
            c.run(rows: oy..<(oy + 1), xRing: ring, part: part)
        }
    }
}
