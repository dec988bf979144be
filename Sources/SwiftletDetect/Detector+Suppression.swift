import CSwiftletSys
import SwiftletCore

// The detector's ranking (a max-heap by score) and its suppression: hard, weighted and soft NMS.

extension Detector {
    // MARK: - Ordering: a binary max-heap by (score desc, index asc)

    @inline(__always)
    static func before(_ a: Int32, _ b: Int32, _ s: UnsafePointer<Float>) -> Bool {
        let sa = s[Int(a)], sb = s[Int(b)]
        return sa > sb || (sa == sb && a < b)
    }

    func buildHeap(_ h: UnsafeMutablePointer<Int32>, _ m: Int, _ s: UnsafePointer<Float>) {
        var i = m / 2
        while i > 0 {
            i -= 1
            Detector.siftDown(h, i, m, s)
        }
    }

    static func siftDown(_ h: UnsafeMutablePointer<Int32>, _ start: Int, _ m: Int, _ s: UnsafePointer<Float>) {
        var i = start
        while true {
            let l = 2 * i + 1
            if l >= m { return }
            var c = l
            if l + 1 < m && before(h[l + 1], h[l], s) { c = l + 1 }
            if !before(h[c], h[i], s) { return }
            let t = h[i]
            h[i] = h[c]
            h[c] = t
            i = c
        }
    }

    /// Removes and returns the best candidate of `heap[0..<size]`; `size` shrinks by one.
    func pop(_ size: inout Int) -> Int {
        heap.withUnsafeMutableBufferPointer { hb in
            score.withUnsafeBufferPointer { sb in
                let h = hb.baseAddress!
                let top = h[0]
                size -= 1
                h[0] = h[size]
                Detector.siftDown(h, 0, size, sb.baseAddress!)
                return Int(top)
            }
        }
    }

    // MARK: - Suppression

    /// MediaPipe's `OverlapSimilarity` (IoU): 0 when the boxes do not meet or the union is empty.
    @inline(__always)
    func iou(_ a: Int, _ b: Int) -> Float {
        let ax0 = box[4 * a], ay0 = box[4 * a + 1], ax1 = box[4 * a + 2], ay1 = box[4 * a + 3]
        let bx0 = box[4 * b], by0 = box[4 * b + 1], bx1 = box[4 * b + 2], by1 = box[4 * b + 3]
        if bx0 > ax1 || bx1 < ax0 || by0 > ay1 || by1 < ay0 { return 0 }
        let iw = min(ax1, bx1) - max(ax0, bx0), ih = min(ay1, by1) - max(ay0, by0)
        let inter = iw * ih
        let union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
        return union > 0 ? inter / union : 0
    }

    /// Whether box `i` overlaps one of the `count` kept boxes by more than `threshold` (of its class
    /// when `labels` is given); the same IoU as `iou`.
    @inline(__always)
    static func overlapsKept(_ i: Int, _ box: UnsafePointer<Float>, _ kept: UnsafePointer<Int32>, _ count: Int,
                                     _ labels: UnsafePointer<Int32>?, _ threshold: Float) -> Bool {
        let bx0 = box[4 * i], by0 = box[4 * i + 1], bx1 = box[4 * i + 2], by1 = box[4 * i + 3]
        let areaB = (bx1 - bx0) * (by1 - by0)
        for q in 0..<count {
            let j = Int(kept[q])
            if let labels, labels[j] != labels[i] { continue }
            let ax0 = box[4 * j], ay0 = box[4 * j + 1], ax1 = box[4 * j + 2], ay1 = box[4 * j + 3]
            if bx0 > ax1 || bx1 < ax0 || by0 > ay1 || by1 < ay0 { continue }
            let inter = (min(ax1, bx1) - max(ax0, bx0)) * (min(ay1, by1) - max(ay0, by0))
            let union = (ax1 - ax0) * (ay1 - ay0) + areaB - inter
            if (union > 0 ? inter / union : 0) > threshold { return true }
        }
        return false
    }

    func hardNMS(_ m: Int, _ limit: Int, _ o: NMSOptions, _ maxOut: Int, _ mapping: ImageMapping) {
        var size = m
        var keptCount = 0
        var popped = 0
        let perClass = o.kind == .hardPerClass
        while size > 0 && popped < limit && detections.count < maxOut {
            let i = pop(&size)
            popped += 1
            // Compared with the kept boxes through raw pointers: this loop is most of NMS's time.
            let suppressed = box.withUnsafeBufferPointer { bb in
                kept.withUnsafeBufferPointer { kb in
                    label.withUnsafeBufferPointer { lb in
                        Detector.overlapsKept(i, bb.baseAddress!, kb.baseAddress!, keptCount, perClass ? lb.baseAddress! : nil, o.iouThreshold)
                    }
                }
            }
            if suppressed { continue }
            kept[keptCount] = Int32(i)
            keptCount += 1
            takeCandidate(i)
            emit(i, mapping)
        }
    }

    func weightedNMS(_ all: Int, _ m: Int, _ o: NMSOptions, _ maxOut: Int, _ mapping: ImageMapping) {
        var size = all
        for r in 0..<m {
            ranked[r] = Int32(pop(&size))
            alive[r] = true
        }
        var start = 0
        while detections.count < maxOut {
            while start < m && !alive[start] { start += 1 }
            if start == m { break }
            let top = Int(ranked[start])
            alive[start] = false
            for t in 0..<merged.count { merged[t] = 0 }
            var total: Float = 0
            // The best box merges with itself and every remaining box above the IoU threshold, in order.
            for r in start..<m where r == start || alive[r] {
                let j = Int(ranked[r])
                if r != start && !(iou(j, top) > o.iouThreshold) { continue }
                alive[r] = false
                let w = score[j]
                total += w
                for t in 0..<4 { merged[t] += box[4 * j + t] * w }
                for t in 0..<(2 * k) { merged[4 + t] += point[2 * k * j + t] * w }
            }
            if total > 0 {
                for t in 0..<merged.count { merged[t] /= total }
            } else {
                // Scores of 0 (a threshold of 0 admits them) weigh nothing: the best box stands alone
                // rather than becoming 0 / 0.
                takeCandidate(top)
            }
            emit(top, mapping)
        }
    }

    /// Soft-NMS (Bodla et al. 2017), per class, on the `m` best candidates: the remaining box of the
    /// highest current score (ties: the lower anchor index) is output with that score, then every
    /// remaining box of its class has its score decayed, by `1 − IoU` when the IoU is above the
    /// threshold (linear) or by `exp(−IoU² / σ)` (Gaussian); boxes whose score falls below
    /// `softScoreThreshold` are dropped. O(m) per detection: O(m²) at worst.
    func softNMS(_ all: Int, _ m: Int, _ o: NMSOptions, _ maxOut: Int, _ mapping: ImageMapping) {
        var size = all
        for r in 0..<m {
            let i = pop(&size)
            ranked[r] = Int32(i)
            decayed[r] = score[i]
            alive[r] = true
        }
        let gaussian = o.kind == .softGaussian
        let sigma = o.softSigma, floor = o.softScoreThreshold, nt = o.iouThreshold
        var left = m
        while left > 0 && detections.count < maxOut {
            var b = -1
            for r in 0..<m where alive[r] {
                if b < 0 || decayed[r] > decayed[b] || (decayed[r] == decayed[b] && ranked[r] < ranked[b]) { b = r }
            }
            alive[b] = false
            left -= 1
            let i = Int(ranked[b])
            takeCandidate(i)
            emit(i, mapping, score: decayed[b])
            for r in 0..<m where alive[r] {
                let j = Int(ranked[r])
                if label[j] == label[i] {
                    let ov = iou(i, j)
                    if gaussian {
                        decayed[r] *= expf(-(ov * ov) / sigma)
                    } else if ov > nt {
                        decayed[r] *= 1 - ov
                    }
                }
                if !(decayed[r] >= floor) {
                    alive[r] = false
                    left -= 1
                }
            }
        }
    }

    /// Puts candidate `i`'s box and keypoints in `merged`.
    func takeCandidate(_ i: Int) {
        for t in 0..<4 { merged[t] = box[4 * i + t] }
        for t in 0..<(2 * k) { merged[4 + t] = point[2 * k * i + t] }
    }

    /// Appends anchor `i`'s label and score with the box and keypoints in `merged`, mapped to source
    /// pixels and clipped (a box wholly outside is counted and dropped).
    func emit(_ i: Int, _ mp: ImageMapping, score decayedScore: Float? = nil) {
        let iw = Float(mp.inputWidth), ih = Float(mp.inputHeight)
        let sw = Float(mp.sourceWidth), sh = Float(mp.sourceHeight)
        let x0 = min(max(merged[0] * iw * mp.scaleX + mp.offsetX, 0), sw)
        let y0 = min(max(merged[1] * ih * mp.scaleY + mp.offsetY, 0), sh)
        let x1 = min(max(merged[2] * iw * mp.scaleX + mp.offsetX, 0), sw)
        let y1 = min(max(merged[3] * ih * mp.scaleY + mp.offsetY, 0), sh)
        if !(x1 > x0 && y1 > y0) {
            stats.outsideImage += 1
            return
        }
        detections.append(Detection(label: Int(label[i]), score: decayedScore ?? score[i], x0: x0, y0: y0, x1: x1, y1: y1))
        for j in 0..<k {
            keypoints.append(merged[4 + 2 * j] * iw * mp.scaleX + mp.offsetX)
            keypoints.append(merged[4 + 2 * j + 1] * ih * mp.scaleY + mp.offsetY)
        }
    }
}
