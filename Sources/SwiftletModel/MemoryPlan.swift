import SwiftletCore

/// Tensor lifetimes over the execution order: step `first[t]` defines t, step `last[t]` reads it last.
///
/// Graph inputs are defined at step −1 and, like graph outputs, live to the end: a caller may run the
/// same input again (as TFLite's `preserve_inputs`). Unused tensors get first > last.
public struct Lifetimes {
    public var first: [Int]
    public var last: [Int]

    public init(_ spec: ModelSpec) {
        let n = spec.tensors.count
        first = [Int](repeating: Int.max, count: n)
        last = [Int](repeating: Int.min, count: n)
        for t in spec.inputs {
            first[t] = -1
            last[t] = max(last[t], -1)
        }
        for (i, nd) in spec.nodes.enumerated() {
            for t in nd.outputs {
                first[t] = min(first[t], i)
                last[t] = max(last[t], i)
            }
            for t in nd.inputs where first[t] != Int.max { last[t] = max(last[t], i) }
        }
        for t in spec.outputs + spec.inputs { last[t] = spec.nodes.count }
    }
}

/// Assigns arena offsets to every arena tensor: greedy by size, first fit (as TFLite Micro's
/// `GreedyMemoryPlanner`): tensors in decreasing size each take the lowest 64-byte aligned offset that
/// does not overlap a tensor already placed whose lifetime intersects. Returns the arena size.
///
/// Limits: O(n²) in the number of arena tensors; no in-place reuse (a later issue adds it).
public func planArena(_ spec: inout ModelSpec) -> Int {
    let life = Lifetimes(spec)
    let align = SWLFormat.alignment
    var order: [Int] = []
    for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena { order.append(t) }
    order.sort { a, b in
        let sa = spec.tensors[a].byteCount
        let sb = spec.tensors[b].byteCount
        return sa != sb ? sa > sb : a < b
    }
    var placed: [Int] = []
    var arena = 0
    for t in order {
        let size = (spec.tensors[t].byteCount + align - 1) / align * align
        if life.first[t] > life.last[t] || size == 0 {
            spec.tensors[t].offset = 0
            continue
        }
        // Candidate intervals taken by overlapping-lifetime tensors, sorted by offset.
        var busy: [(Int, Int)] = []
        for p in placed where !(life.first[p] > life.last[t] || life.first[t] > life.last[p]) {
            busy.append((spec.tensors[p].offset, spec.tensors[p].offset + spec.tensors[p].byteCount))
        }
        busy.sort { $0.0 < $1.0 }
        var offset = 0
        for (s, e) in busy {
            if offset + size <= s { break }
            if e > offset { offset = (e + align - 1) / align * align }
        }
        spec.tensors[t].offset = offset
        arena = max(arena, offset + size)
        placed.append(t)
    }
    spec.arenaBytes = arena
    return arena
}

/// The largest sum of simultaneously live arena tensor sizes over the execution order.
public func arenaLowerBound(_ spec: ModelSpec) -> Int {
    let life = Lifetimes(spec)
    var best = 0
    for step in -1...spec.nodes.count {
        var sum = 0
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena && life.first[t] <= step && step <= life.last[t] {
            sum += spec.tensors[t].byteCount
        }
        best = max(best, sum)
    }
    return best
}
