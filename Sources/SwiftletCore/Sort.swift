// One sort for the code the board binary runs.
//
// Each `sort(by:)` on another element type or with another closure is a new specialisation of the
// standard library's stable sort in Embedded Swift (its `_merge`, insertion sort and run
// detection): five of them were 13 KB of the rpi4 binary. The callers that only order indices, or
// can, call this one non-generic merge sort instead (docs/benchmarks.md, "Board binary size").

/// Sorts `indices` so that `areInIncreasingOrder(indices[i + 1], indices[i])` is false for every i:
/// a bottom-up merge sort, stable (equal elements keep their order), O(n log n) comparisons, one
/// temporary array of `indices.count`.
/// `areInIncreasingOrder` must be a strict weak ordering.
@inline(never)
public func sortIndices(_ indices: inout [Int], by areInIncreasingOrder: (Int, Int) -> Bool) {
    let n = indices.count
    if n < 2 { return }
    var src = indices
    var dst = [Int](repeating: 0, count: n)
    var width = 1
    while width < n {
        var lo = 0
        while lo < n {
            let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
            var i = lo, j = mid, k = lo
            while i < mid && j < hi {
                // Ties take the left run's element first: stable.
                if areInIncreasingOrder(src[j], src[i]) {
                    dst[k] = src[j]
                    j += 1
                } else {
                    dst[k] = src[i]
                    i += 1
                }
                k += 1
            }
            while i < mid {
                dst[k] = src[i]
                i += 1
                k += 1
            }
            while j < hi {
                dst[k] = src[j]
                j += 1
                k += 1
            }
            lo = hi
        }
        swap(&src, &dst)
        width *= 2
    }
    indices = src
}

/// `values` in ascending order (`sortIndices` on their positions: no specialisation of the
/// standard library's sort for `UInt64`).
public func sortAscending(_ values: inout [UInt64]) {
    var idx = [Int](repeating: 0, count: values.count)
    for i in 0..<idx.count { idx[i] = i }
    sortIndices(&idx) { values[$0] < values[$1] }
    var out = [UInt64](repeating: 0, count: values.count)
    for i in 0..<idx.count { out[i] = values[idx[i]] }
    values = out
}
