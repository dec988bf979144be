import SwiftletCore
import SwiftletModel

// Arena placement at pack time (docs/memory.md): the strategies `planArena` tries and the placement
// itself. Host only; the reader, the interpreter and `inspect` use what SwiftletModel/MemoryPlan.swift
// keeps (lifetimes, aliasing, the lower bound, scratch offsets).

/// The alias group of every tensor (`Aliasing.group`).
public func aliasGroups(_ spec: ModelSpec) -> [Int] { Aliasing(spec).group }

/// The orders and placement rules `planArena` tries. Raw values name them in docs; the first listed
/// wins ties, so the result is deterministic.
public enum PlanStrategy: Int, CaseIterable, Sendable {
    /// Largest tensor first, lowest offset that fits (TFLite Micro's `GreedyMemoryPlanner`).
    case sizeFirstFit = 0
    /// Largest tensor first, the smallest gap that fits (less fragmentation between long-lived tensors).
    case sizeBestFit = 1
    /// Longest lifetime first, then size, lowest offset that fits: long-lived tensors settle at the
    /// bottom and short ones reuse the space above them.
    case lifetimeFirstFit = 2
    /// Execution order (the order tensors are written), lowest offset that fits, like a stack.
    case orderFirstFit = 3
    /// Largest size × lifetime first (the rectangles of the plan picture), lowest offset that fits.
    case areaFirstFit = 4
    /// As `areaFirstFit`, smallest gap that fits.
    case areaBestFit = 5

    public var name: String {
        switch self {
        case .sizeFirstFit: return "greedy by size, first fit"
        case .sizeBestFit: return "greedy by size, best fit"
        case .lifetimeFirstFit: return "greedy by lifetime, first fit"
        case .orderFirstFit: return "execution order, first fit"
        case .areaFirstFit: return "greedy by size × lifetime, first fit"
        case .areaBestFit: return "greedy by size × lifetime, best fit"
        }
    }
}

/// Assigns arena offsets (64-byte aligned) to every arena tensor so that no two tensors live at the
/// same step overlap: each strategy of `PlanStrategy` is tried and the smallest arena kept. Returns
/// the arena size and sets `spec.arenaBytes`.
///
/// Alias groups (`aliasGroups`: views and in-place element-wise ops) are placed as one block.
///
/// With `reorder` (the default) the nodes first run in the order of least peak memory
/// (`reorderForMemory`); callers that index nodes across this call use that function's returned order.
///
/// Limits: O(n²) per strategy in the number of arena tensors.
@discardableResult
public func planArena(_ spec: inout ModelSpec, reorder: Bool = true) -> Int {
    if reorder { reorderForMemory(&spec) }
    let life = Lifetimes(spec)
    let alias = Aliasing(spec, life: life)
    var best: (Int, [Int])? = nil
    for strategy in PlanStrategy.allCases {
        let (size, offsets) = placeTensors(spec, strategy, life, alias)
        if best == nil || size < best!.0 { best = (size, offsets) }
    }
    let (arena, offsets) = best!
    for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena { spec.tensors[t].offset = offsets[t] }
    spec.arenaBytes = arena
    return arena
}

/// One strategy's placement: the arena size and an offset per tensor (0 for weights and dead tensors).
public func placeTensors(_ spec: ModelSpec, _ strategy: PlanStrategy) -> (Int, [Int]) {
    let life = Lifetimes(spec)
    return placeTensors(spec, strategy, life, Aliasing(spec, life: life))
}

/// `placeTensors` with the graph's lifetimes and aliasing computed once by the caller.
func placeTensors(_ spec: ModelSpec, _ strategy: PlanStrategy, _ life: Lifetimes, _ alias: Aliasing) -> (Int, [Int]) {
    let group = alias.group
    let align = SWLFormat.alignment
    // One item per alias group: its bytes and the union of its members' lifetimes; item n + i is
    // node i's kernel scratch, live at step i only.
    let n = spec.tensors.count
    let items = n + spec.nodes.count
    var bytesOf = [Int](repeating: 0, count: items)
    var firstOf = [Int](repeating: Int.max, count: items)
    var lastOf = [Int](repeating: Int.min, count: items)
    var order: [Int] = []
    for t in 0..<n where spec.tensors[t].storage == .arena && life.first[t] <= life.last[t] {
        let r = group[t]
        if r == t { order.append(t) }
        bytesOf[r] = alias.groupBytes[r]
        firstOf[r] = min(firstOf[r], life.first[t])
        lastOf[r] = max(lastOf[r], life.last[t])
    }
    for (i, node) in spec.nodes.enumerated() {
        let bytes = scratchBytes(node, spec.tensors)
        if bytes == 0 { continue }
        bytesOf[n + i] = bytes
        firstOf[n + i] = i
        lastOf[n + i] = i
        order.append(n + i)
    }
    order = order.filter { firstOf[$0] <= lastOf[$0] }
    func size(_ t: Int) -> Int { bytesOf[t] }
    func span(_ t: Int) -> Int { lastOf[t] - firstOf[t] }
    order.sort { a, b in
        switch strategy {
        case .sizeFirstFit, .sizeBestFit:
            return size(a) != size(b) ? size(a) > size(b) : a < b
        case .lifetimeFirstFit:
            if span(a) != span(b) { return span(a) > span(b) }
            return size(a) != size(b) ? size(a) > size(b) : a < b
        case .orderFirstFit:
            return firstOf[a] != firstOf[b] ? firstOf[a] < firstOf[b] : a < b
        case .areaFirstFit, .areaBestFit:
            let ra = size(a) * (span(a) + 1), rb = size(b) * (span(b) + 1)
            return ra != rb ? ra > rb : a < b
        }
    }
    var offsets = [Int](repeating: 0, count: items)
    var placed: [Int] = []
    var arena = 0
    for t in order {
        let bytes = (size(t) + align - 1) / align * align
        if bytes == 0 { continue }
        // Intervals taken by placed groups whose lifetimes intersect, sorted by offset.
        var busy: [(Int, Int)] = []
        for p in placed where !(firstOf[p] > lastOf[t] || firstOf[t] > lastOf[p]) {
            busy.append((offsets[p], offsets[p] + size(p)))
        }
        busy.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        // Free gaps between them (the last one unbounded), in offset order.
        var gaps: [(Int, Int)] = []
        var cursor = 0
        for (s, e) in busy {
            if s > cursor { gaps.append((cursor, s)) }
            cursor = max(cursor, (e + align - 1) / align * align)
        }
        gaps.append((cursor, Int.max))
        var chosen = gaps[gaps.count - 1].0
        if strategy == .sizeBestFit || strategy == .areaBestFit {
            var bestGap = Int.max
            for (s, e) in gaps where e - s >= bytes && e - s < bestGap {
                bestGap = e - s
                chosen = s
            }
        } else {
            for (s, e) in gaps where e - s >= bytes {
                chosen = s
                break
            }
        }
        offsets[t] = chosen
        arena = max(arena, chosen + bytes)
        placed.append(t)
    }
    // offsets[r] so far is group r's block start; members start alias.offset bytes into it.
    let blockStart = offsets
    offsets.removeLast(spec.nodes.count)
    for t in 0..<n where spec.tensors[t].storage == .arena { offsets[t] = blockStart[group[t]] + alias.offset[t] }
    return (arena, offsets)
}
