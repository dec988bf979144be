import SwiftletCore

extension TFLiteSparsity {
    /// The dense row-major values of a tensor of `shape` stored sparse as `stored` values.
    ///
    /// TFLite's sparse storage: the tensor's dimensions, each optionally split into blocks (`blockMap[j]`
    /// names the dimension of block dimension `rank + j`, whose block size is that level's
    /// `denseSize`), are visited in `traversalOrder`; a dense level visits all `denseSize`
    /// coordinates, a compressed (CSR) level the coordinates `indices[segments[p] ..< segments[p+1]]`
    /// for the position p reached by the levels before it. The position after the last level is the
    /// index of the stored value. Every level size, segment, index and position is checked, and the
    /// dense levels must have the sizes of the shape, so the walk visits at most the dense count.
    func densify(_ stored: [Float], shape: [Int], fail: (String) -> SwiftletError) throws(SwiftletError) -> [Float] {
        let rank = shape.count
        let levels = rank + blockMap.count
        guard traversalOrder.count == levels, dimensions.count == levels, Set(traversalOrder) == Set(0..<levels) else {
            throw fail("sparsity has traversal order \(traversalOrder) and \(dimensions.count) dimensions for rank \(rank) with \(blockMap.count) blocked dimensions")
        }
        // The size of each level's coordinate: a whole dimension, its block count, or a block size.
        var sizes = shape
        for (j, d) in blockMap.enumerated() {
            guard d >= 0, d < rank, blockMap.firstIndex(of: d) == j else { throw fail("sparsity block map \(blockMap) is not a list of distinct dimensions") }
            let b = dimensions[traversalOrder.firstIndex(of: rank + j)!].denseSize
            guard b >= 1, shape[d] % b == 0 else { throw fail("sparsity block size \(b) does not divide dimension \(d) of \(Shape.text(shape))") }
            sizes[d] = shape[d] / b
            sizes.append(b)
        }
        for (level, dim) in traversalOrder.enumerated() where !dimensions[level].isSparse {
            guard dimensions[level].denseSize == sizes[dim] else {
                throw fail("sparsity level \(level) is dense with size \(dimensions[level].denseSize), dimension \(dim) has \(sizes[dim])")
            }
        }
        let count = Shape.count(shape) ?? 0
        var out = [Float](repeating: 0, count: count)
        var coords = [Int](repeating: 0, count: levels)
        let strides = Shape.strides(shape)
        func walk(_ level: Int, _ position: Int) throws(SwiftletError) {
            if level == levels {
                guard position >= 0, position < stored.count else { throw fail("sparse value \(position) is past the \(stored.count) stored") }
                var index = 0
                for d in 0..<rank {
                    var c = coords[d]
                    if let j = blockMap.firstIndex(of: d) { c = c * sizes[rank + j] + coords[rank + j] }
                    index += c * strides[d]
                }
                out[index] = stored[position]
                return
            }
            let dim = traversalOrder[level], meta = dimensions[level]
            if !meta.isSparse {
                for i in 0..<meta.denseSize {
                    coords[dim] = i
                    try walk(level + 1, position * meta.denseSize + i)
                }
                return
            }
            guard position >= 0, position + 1 < meta.segments.count else {
                throw fail("sparsity level \(level) has \(meta.segments.count) segments, position \(position) needs \(position + 2)")
            }
            let (lo, hi) = (meta.segments[position], meta.segments[position + 1])
            guard lo >= 0, lo <= hi, hi <= meta.indices.count else {
                throw fail("sparsity level \(level): segment \(lo)..<\(hi) is outside its \(meta.indices.count) indices")
            }
            for k in lo..<hi {
                let c = meta.indices[k]
                guard c >= 0, c < sizes[dim] else { throw fail("sparsity level \(level): index \(c) is outside 0..<\(sizes[dim])") }
                coords[dim] = c
                try walk(level + 1, k)
            }
        }
        try walk(0, 0)
        return out
    }
}
