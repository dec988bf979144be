/// The `k` highest scores' indices, highest first (ties: lower index first; NaN last).
public func topIndices(_ scores: [Float], _ k: Int) -> [Int] {
    var top: [Int] = []
    scores.withUnsafeBufferPointer { topIndices($0, k, into: &top) }
    return top
}

/// `topIndices` into `top` (emptied first; allocates nothing once it holds `k`), by insertion into
/// the best `k` so far.
public func topIndices(_ scores: UnsafeBufferPointer<Float>, _ k: Int, into top: inout [Int]) {
    top.removeAll(keepingCapacity: true)
    let k = min(max(0, k), scores.count)
    if k == 0 { return }
    // a before b: higher score first, NaN after every number, then the lower index.
    func before(_ a: Int, _ b: Int) -> Bool {
        let sa = scores[a], sb = scores[b]
        if sa.isNaN != sb.isNaN { return sb.isNaN }
        if sa != sb && !sa.isNaN { return sa > sb }
        return a < b
    }
    for i in 0..<scores.count {
        if top.count == k {
            if !before(i, top[k - 1]) { continue }
            top.removeLast()
        }
        var j = top.count
        top.append(i)
        while j > 0 && before(i, top[j - 1]) {
            top[j] = top[j - 1]
            j -= 1
        }
        top[j] = i
    }
}
