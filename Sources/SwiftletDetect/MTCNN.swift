import SwiftletCore

// Left out of the board binaries (tools/build-board defines SWIFTLET_NO_MTCNN); still embedded-clean.
#if !SWIFTLET_NO_MTCNN

// The MTCNN face detector (Zhang et al. 2016) as facenet-pytorch 2.6.0's `detect_face` defines it:
// three networks run as one cascade over an RGB image.
//
//   1. pyramid: scales `12 / minFaceSize · factor^i` while `min(w, h) · scale >= 12`; level i is
//      `(Int(h · s + 1), Int(w · s + 1))`, resampled by area (adaptive average pooling, torch's
//      `interpolate(mode: 'area')`: output pixel o of a side n → m averages input pixels
//      floor(o·n/m) ..< ceil((o+1)·n/m), as Float(sum) / rows / columns), normalised
//      `(x − 127.5) · 0.0078125`;
//   2. P-Net, static (H × W, 120 × 160 as shipped), runs each level in tiles: tile t holds level
//      pixels from an even offset, and only cells whose 12 × 12 window lies inside both the tile and
//      the level are read (P-Net has no padding, so these cells are exactly what a whole-level run
//      gives); the next tile starts where the last tile's cells end. Levels that fit in one input
//      share a run, placed on shelves at even offsets (each read only inside itself). A cell whose face probability is
//      `>= thresholds.0` becomes the box `floor((2·cell + 1) / s) ... floor((2·cell + 12) / s)` with its
//      four regressors; NMS (IoU 0.5) per level, then (IoU 0.7) over all levels; regression
//      `x1 + r · (x2 − x1)`, squaring;
//   3. R-Net on each box's crop (truncated, clipped to 1...w, 1...h 1-based, area-resampled to 24 × 24):
//      score `> thresholds.1`, NMS 0.7, regression with `x2 − x1 + 1`, squaring;
//   4. O-Net on 48 × 48 crops: score `> thresholds.2`, five landmarks `x1 + (x2 − x1 + 1) · l − 1` from
//      the box before its regression, regression, NMS 0.7 in 'Min' mode (overlap / smaller area,
//      areas with + 1); boxes clipped to the image.
//
// Every NMS takes the best score first, ties to the earlier candidate (P-Net's level lists: row-major
// cell order, as torch's `nonzero`). Buffers are sized at init from `MTCNNOptions`' capacities: a
// list that would outgrow its capacity keeps its best-scoring candidates and counts the others
// (`MTCNNStats.dropped`); `detect` allocates nothing. Cost per image: P-Net runs
// ceil(cells_x / tileCells_x) · ceil(cells_y / tileCells_y) times for each level larger than its input,
// and the smaller levels share runs; R-Net once per P-Net survivor, O-Net once per R-Net survivor;
// area resampling reads each crop's pixels about once; NMS is O(m²) in each list's length m.

/// The cascade's parameters (facenet-pytorch's defaults) and the capacities its buffers are sized for.
public struct MTCNNOptions: Equatable, Sendable {
    /// Smallest face searched for, in image pixels (the first pyramid level is `12 / minFaceSize`).
    public var minFaceSize: Double = 20
    /// Scale between pyramid levels.
    public var scaleFactor: Double = 0.709
    /// Face probability thresholds of P-Net (`>=`), R-Net and O-Net (`>`).
    public var thresholds: (Float, Float, Float) = (0.6, 0.7, 0.7)
    /// NMS thresholds: P-Net per level and over the pyramid (IoU), R-Net (IoU), O-Net ('Min').
    public var nmsThresholds: (Float, Float, Float, Float) = (0.5, 0.7, 0.7, 0.7)
    /// Most P-Net candidates held: cells of one level above the threshold, and boxes over the pyramid.
    public var maxPNetCandidates = 4096
    /// Most boxes R-Net passes to O-Net (and faces out).
    public var maxRNetCandidates = 512

    public init() {}

    public static func == (a: MTCNNOptions, b: MTCNNOptions) -> Bool {
        a.minFaceSize == b.minFaceSize && a.scaleFactor == b.scaleFactor && a.thresholds == b.thresholds
            && a.nmsThresholds == b.nmsThresholds && a.maxPNetCandidates == b.maxPNetCandidates
            && a.maxRNetCandidates == b.maxRNetCandidates
    }

    /// What is wrong with these values, or nil.
    public func problem() -> String? {
        if !(minFaceSize >= 12 && minFaceSize <= 65536) { return "minimum face size \(minFaceSize) is outside 12...65536" }
        if !(scaleFactor > 0.1 && scaleFactor < 0.99) { return "scale factor \(scaleFactor) is outside 0.1...0.99" }
        for t in [thresholds.0, thresholds.1, thresholds.2] where !(t >= 0 && t <= 1) { return "threshold \(t) is outside 0...1" }
        for t in [nmsThresholds.0, nmsThresholds.1, nmsThresholds.2, nmsThresholds.3] where !(t >= 0 && t <= 1) {
            return "NMS threshold \(t) is outside 0...1"
        }
        if maxPNetCandidates < 1 || maxPNetCandidates > 1 << 20 { return "P-Net candidates \(maxPNetCandidates) is outside 1...\(1 << 20)" }
        if maxRNetCandidates < 1 || maxRNetCandidates > 1 << 20 { return "R-Net candidates \(maxRNetCandidates) is outside 1...\(1 << 20)" }
        return nil
    }
}

/// The three networks the cascade runs, as their graph inputs and outputs (NHWC float32, batch 1).
public protocol MTCNNNetworks {
    /// P-Net's input size (the tile), at least 12 × 12.
    var pnetWidth: Int { get }
    var pnetHeight: Int { get }
    /// Stage 0 P-Net, 1 R-Net, 2 O-Net: the input, `[H, W, 3]`.
    func input(_ stage: Int) -> UnsafeMutablePointer<Float>
    func run(_ stage: Int)
    /// P-Net: 0 regressors `[oh, ow, 4]`, 1 probabilities `[oh, ow, 2]`; R-Net: 0 `[4]`, 1 `[2]`;
    /// O-Net: 0 `[4]`, 1 landmarks `[10]` (five x, then five y), 2 `[2]`.
    func output(_ stage: Int, _ index: Int) -> UnsafePointer<Float>
}

/// P-Net's output side for an input side `n` (3×3 conv, 2×2 ceil-mode pool, two 3×3 convs).
public func pnetOutputSide(_ n: Int) -> Int { (n - 2 + 1) / 2 - 4 }

/// What one `detect` saw: candidates after each stage, P-Net runs, time per stage, drops.
public struct MTCNNStats: Equatable, Sendable {
    public var levels = 0
    public var pnetRuns = 0
    /// Boxes after P-Net's NMS over the pyramid, after R-Net's NMS, after O-Net's NMS.
    public var pnetBoxes = 0
    public var rnetBoxes = 0
    public var onetBoxes = 0
    /// Candidates dropped because a list was full (`maxPNetCandidates`, `maxRNetCandidates`).
    public var dropped = 0
    /// Faces dropped because their clipped box has no area.
    public var outsideImage = 0
    /// Nanoseconds in each stage (networks, resampling and NMS).
    public var pnetNanoseconds: UInt64 = 0
    public var rnetNanoseconds: UInt64 = 0
    public var onetNanoseconds: UInt64 = 0

    public init() {}
}

/// A pyramid level placed in a shared P-Net run at (`x`, `y`) (even offsets).
struct PackedLevel {
    var width: Int
    var height: Int
    var scale: Float
    var x: Int
    var y: Int
}

/// A list of boxes with fixed capacity: per entry x1, y1, x2, y2, score, four regressors, ten
/// landmark values and an ordering key.
struct BoxList {
    static let stride = 19
    var v: [Float]
    var key: [Int32]
    var count = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        v = [Float](repeating: 0, count: capacity * BoxList.stride)
        key = [Int32](repeating: 0, count: capacity)
    }

    @inline(__always) subscript(i: Int, f: Int) -> Float {
        get { v[i * BoxList.stride + f] }
        set { v[i * BoxList.stride + f] = newValue }
    }

    /// The slot for a new entry with this score and key, or nil (the list is full of better ones).
    /// When full, the worst entry (lowest score, then highest key) is replaced; `dropped` counts.
    mutating func slot(score: Float, key k: Int32, dropped: inout Int) -> Int? {
        if count < capacity {
            count += 1
            key[count - 1] = k
            return count - 1
        }
        dropped += 1
        var worst = 0
        for i in 1..<count where self[i, 4] < self[worst, 4] || (self[i, 4] == self[worst, 4] && key[i] > key[worst]) { worst = i }
        if score > self[worst, 4] || (score == self[worst, 4] && k < key[worst]) {
            key[worst] = k
            return worst
        }
        return nil
    }

    mutating func copyEntry(from other: BoxList, _ j: Int, to i: Int) {
        for f in 0..<BoxList.stride { v[i * BoxList.stride + f] = other.v[j * BoxList.stride + f] }
        key[i] = other.key[j]
    }
}

/// Runs the MTCNN cascade; every buffer is sized at init. Not thread-safe: one per stream.
public final class MTCNN: DetectionResults {
    public let options: MTCNNOptions
    /// The last `detect`'s faces, best first, in image pixels (label 0).
    public private(set) var detections: [Detection] = []
    /// The last `detect`'s landmarks: five (x, y) per face (left eye, right eye, nose, mouth left,
    /// mouth right as facenet-pytorch orders them), in image pixels.
    public private(set) var landmarks: [Float] = []
    public private(set) var stats = MTCNNStats()

    private var level: BoxList
    private var pyramid: BoxList
    private var refined: BoxList
    private var scratch: BoxList  // O-Net's survivors
    private var nmsKept: BoxList  // what an NMS keeps, copied back into its list
    private var packed: [PackedLevel]  // small levels sharing one P-Net run
    private var packedCount = 0
    private var order: [Int32]
    private var suppressed: [Bool]
    private let pw: Int, ph: Int

    /// Makes the cascade for P-Net tiles of `pnetWidth` × `pnetHeight`.
    public init(options: MTCNNOptions = MTCNNOptions(), pnetWidth: Int, pnetHeight: Int) throws(SwiftletError) {
        if let p = options.problem() { throw .invalidModel(detail: "MTCNN: \(p)", hint: "fix the bundle's parameters") }
        if pnetWidth < 12 || pnetHeight < 12 {
            throw .invalidModel(detail: "MTCNN: P-Net input \(pnetWidth)x\(pnetHeight) is smaller than its 12x12 cell", hint: "export P-Net at 12x12 or larger")
        }
        self.options = options
        pw = pnetWidth
        ph = pnetHeight
        level = BoxList(capacity: options.maxPNetCandidates)
        pyramid = BoxList(capacity: options.maxPNetCandidates)
        refined = BoxList(capacity: options.maxRNetCandidates)
        let most = max(options.maxPNetCandidates, options.maxRNetCandidates)
        scratch = BoxList(capacity: options.maxRNetCandidates)
        nmsKept = BoxList(capacity: most)
        order = [Int32](repeating: 0, count: most)
        suppressed = [Bool](repeating: false, count: most)
        packed = [PackedLevel](repeating: PackedLevel(width: 0, height: 0, scale: 0, x: 0, y: 0), count: 32)
        detections.reserveCapacity(options.maxRNetCandidates)
        landmarks = [Float](repeating: 0, count: 10 * options.maxRNetCandidates)
        landmarks.removeAll(keepingCapacity: true)
    }

    /// Keypoints per face (five landmarks).
    public var keypointCount: Int { 5 }

    /// Landmark `j` of face `i`, in image pixels.
    public func keypoint(_ i: Int, _ j: Int) -> (x: Float, y: Float) { (landmarks[(i * 5 + j) * 2], landmarks[(i * 5 + j) * 2 + 1]) }

    /// Detects faces in an RGB image (`width · height · 3` bytes, rows top to bottom); returns their count.
    @discardableResult
    public func detect<N: MTCNNNetworks>(pixels: UnsafePointer<UInt8>, width: Int, height: Int, networks: N) -> Int {
        stats = MTCNNStats()
        detections.removeAll(keepingCapacity: true)
        landmarks.removeAll(keepingCapacity: true)
        if width < 1 || height < 1 { return 0 }
        var t0 = sys_monotonicNanoseconds()
        runPNet(pixels, width, height, networks)
        var t1 = sys_monotonicNanoseconds()
        stats.pnetNanoseconds = t1 &- t0
        t0 = t1
        runRNet(pixels, width, height, networks)
        t1 = sys_monotonicNanoseconds()
        stats.rnetNanoseconds = t1 &- t0
        t0 = t1
        runONet(pixels, width, height, networks)
        stats.onetNanoseconds = sys_monotonicNanoseconds() &- t0
        return detections.count
    }

    // MARK: - Stage 1

    private func runPNet<N: MTCNNNetworks>(_ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ nets: N) {
        pyramid.count = 0
        packedCount = 0
        var shelfX = 0, shelfY = 0, shelfH = 0
        let m = 12.0 / options.minFaceSize
        var minl = Double(min(h, w)) * m
        var scale = m
        let tileCellsX = (pw - 12) / 2 + 1, tileCellsY = (ph - 12) / 2 + 1
        let input = nets.input(0)
        while minl >= 12 {
            let lh = Int(Double(h) * scale + 1), lw = Int(Double(w) * scale + 1)
            let cellsX = (lw - 12) / 2 + 1, cellsY = (lh - 12) / 2 + 1
            stats.levels += 1
            if lw <= pw && lh <= ph {
                // A level that fits in one run shares it with the next ones (levels shrink): placed on
                // shelves at even offsets, each read only inside itself.
                if shelfX + lw > pw {
                    shelfX = 0
                    shelfY += shelfH
                    shelfH = 0
                }
                if shelfY + lh > ph || packedCount == packed.count {
                    runPacked(px, w, h, nets)
                    (shelfX, shelfY, shelfH) = (0, 0, 0)
                }
                packed[packedCount] = PackedLevel(width: lw, height: lh, scale: Float(scale), x: shelfX, y: shelfY)
                packedCount += 1
                shelfX += (lw + 1) & ~1
                shelfH = max(shelfH, (lh + 1) & ~1)
            } else {
                level.count = 0
                var cy0 = 0
                while cy0 < cellsY {
                    var cx0 = 0
                    while cx0 < cellsX {
                        input.update(repeating: 0, count: pw * ph * 3)
                        fillLevel(input, px, w, h, lw, lh, from: (2 * cx0, 2 * cy0), to: (0, 0), size: (min(pw, lw - 2 * cx0), min(ph, lh - 2 * cy0)))
                        nets.run(0)
                        stats.pnetRuns += 1
                        collectCells(nets, lw: lw, s: Float(scale), cells: (cx0, cy0, min(cx0 + tileCellsX, cellsX), min(cy0 + tileCellsY, cellsY)),
                                     at: (-cx0, -cy0))
                        cx0 += tileCellsX
                    }
                    cy0 += tileCellsY
                }
                addLevel()
            }
            scale *= options.scaleFactor
            minl *= options.scaleFactor
        }
        if packedCount > 0 { runPacked(px, w, h, nets) }
        stats.pnetBoxes = suppressRegressSquare(&pyramid, options.nmsThresholds.1, plusOne: 0)
    }

    /// One P-Net run over the levels packed so far; their boxes join the pyramid in level order.
    private func runPacked<N: MTCNNNetworks>(_ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ nets: N) {
        let input = nets.input(0)
        input.update(repeating: 0, count: pw * ph * 3)
        for i in 0..<packedCount {
            let l = packed[i]
            fillLevel(input, px, w, h, l.width, l.height, from: (0, 0), to: (l.x, l.y), size: (l.width, l.height))
        }
        nets.run(0)
        stats.pnetRuns += 1
        for i in 0..<packedCount {
            let l = packed[i]
            level.count = 0
            collectCells(nets, lw: l.width, s: l.scale, cells: (0, 0, (l.width - 12) / 2 + 1, (l.height - 12) / 2 + 1), at: (l.x / 2, l.y / 2))
            addLevel()
        }
        packedCount = 0
    }

    /// Level cells `x0 ..< x1`, `y0 ..< y1` (`cells`), read from P-Net's outputs at cell + `at`, whose
    /// face probability reaches the threshold, become boxes in `level` (key: row-major cell index).
    private func collectCells<N: MTCNNNetworks>(_ nets: N, lw: Int, s: Float, cells: (Int, Int, Int, Int), at: (Int, Int)) {
        let ow = pnetOutputSide(pw)
        let cellsX = (lw - 12) / 2 + 1
        let reg = nets.output(0, 0), prob = nets.output(0, 1)
        for cy in cells.1..<cells.3 {
            for cx in cells.0..<cells.2 {
                let o = (cy + at.1) * ow + (cx + at.0)
                let p = prob[o * 2 + 1]
                if !(p >= options.thresholds.0) { continue }
                guard let i = level.slot(score: p, key: Int32(cy * cellsX + cx), dropped: &stats.dropped) else { continue }
                level[i, 0] = ((2 * Float(cx) + 1) / s).rounded(.down)
                level[i, 1] = ((2 * Float(cy) + 1) / s).rounded(.down)
                level[i, 2] = ((2 * Float(cx) + 12) / s).rounded(.down)
                level[i, 3] = ((2 * Float(cy) + 12) / s).rounded(.down)
                level[i, 4] = p
                for r in 0..<4 { level[i, 5 + r] = reg[o * 4 + r] }
            }
        }
    }

    /// NMS over `level`, then its boxes join `pyramid`.
    private func addLevel() {
        nms(&level, options.nmsThresholds.0, minMode: false)
        for j in 0..<level.count {
            guard let i = pyramid.slot(score: level[j, 4], key: Int32(pyramid.count), dropped: &stats.dropped) else { continue }
            let k = pyramid.key[i]
            pyramid.copyEntry(from: level, j, to: i)
            pyramid.key[i] = k
        }
    }

    /// Writes level pixels `from ..< from + size` of the `lw` × `lh` level (area-resampled from the
    /// image, normalised) into P-Net's input at `to`.
    private func fillLevel(_ dst: UnsafeMutablePointer<Float>, _ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ lw: Int, _ lh: Int,
                           from: (Int, Int), to: (Int, Int), size: (Int, Int)) {
        for ty in 0..<size.1 {
            let y = from.1 + ty
            let row = dst + ((to.1 + ty) * pw + to.0) * 3
            let sy0 = y * h / lh, sy1 = ((y + 1) * h + lh - 1) / lh
            for tx in 0..<size.0 {
                let x = from.0 + tx
                let sx0 = x * w / lw, sx1 = ((x + 1) * w + lw - 1) / lw
                areaPixel(px, w, sy0, sy1, sx0, sx1, row + tx * 3)
            }
        }
    }

    // MARK: - Stages 2 and 3

    private func runRNet<N: MTCNNNetworks>(_ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ nets: N) {
        refined.count = 0
        let input = nets.input(1)
        for i in 0..<pyramid.count {
            guard let score = faceScore(px, w, h, pyramid, i, stage: 1, nets, input) else { continue }
            guard let j = refined.slot(score: score, key: Int32(i), dropped: &stats.dropped) else { continue }
            store(&refined, j, pyramid, i, score, nets.output(1, 0))
        }
        stats.rnetBoxes = suppressRegressSquare(&refined, options.nmsThresholds.2, plusOne: 1)
    }

    /// The end of P-Net's and R-Net's stages: NMS (IoU, ties by list order), each kept box moved by its
    /// regressors and squared; returns the boxes kept.
    private func suppressRegressSquare(_ l: inout BoxList, _ threshold: Float, plusOne: Float) -> Int {
        renumber(&l)
        nms(&l, threshold, minMode: false)
        for i in 0..<l.count {
            regress(&l, i, plusOne: plusOne)
            square(&l, i)
        }
        return l.count
    }

    private func runONet<N: MTCNNNetworks>(_ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ nets: N) {
        scratch.count = 0
        let input = nets.input(2)
        for i in 0..<refined.count {
            guard let score = faceScore(px, w, h, refined, i, stage: 2, nets, input) else { continue }
            let j = scratch.count
            scratch.count += 1
            scratch.key[j] = Int32(j)
            store(&scratch, j, refined, i, score, nets.output(2, 0))
            let lm = nets.output(2, 1)
            let wi = scratch[j, 2] - scratch[j, 0] + 1, hi = scratch[j, 3] - scratch[j, 1] + 1
            for p in 0..<5 {
                scratch[j, 9 + 2 * p] = wi * lm[p] + scratch[j, 0] - 1
                scratch[j, 10 + 2 * p] = hi * lm[5 + p] + scratch[j, 1] - 1
            }
            regress(&scratch, j, plusOne: 1)
        }
        nms(&scratch, options.nmsThresholds.3, minMode: true)
        stats.onetBoxes = scratch.count
        let fw = Float(w), fh = Float(h)
        for i in 0..<scratch.count {
            let x0 = min(max(scratch[i, 0], 0), fw), y0 = min(max(scratch[i, 1], 0), fh)
            let x1 = min(max(scratch[i, 2], 0), fw), y1 = min(max(scratch[i, 3], 0), fh)
            if !(x1 > x0 && y1 > y0) {
                stats.outsideImage += 1
                continue
            }
            detections.append(Detection(label: 0, score: scratch[i, 4], x0: x0, y0: y0, x1: x1, y1: y1))
            for f in 0..<10 { landmarks.append(scratch[i, 9 + f]) }
        }
    }

    /// R-Net's (stage 1) or O-Net's (2) face probability for entry `i`'s crop when above the stage's
    /// threshold, or nil (below, or no pixels to crop).
    private func faceScore<N: MTCNNNetworks>(_ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ list: BoxList, _ i: Int, stage: Int,
                                             _ nets: N, _ input: UnsafeMutablePointer<Float>) -> Float? {
        if !crop(px, w, h, list, i, size: stage == 1 ? 24 : 48, into: input) { return nil }
        nets.run(stage)
        let score = nets.output(stage, stage == 1 ? 1 : 2)[1]
        return score > (stage == 1 ? options.thresholds.1 : options.thresholds.2) ? score : nil
    }

    /// Entry `j` of `out` becomes entry `i`'s box with `score` and the regressors `reg`.
    private func store(_ out: inout BoxList, _ j: Int, _ from: BoxList, _ i: Int, _ score: Float, _ reg: UnsafePointer<Float>) {
        for f in 0..<4 { out[j, f] = from[i, f] }
        out[j, 4] = score
        for r in 0..<4 { out[j, 5 + r] = reg[r] }
    }

    /// facenet-pytorch's `pad` and crop: the box truncated, clipped to 1...w, 1...h (1-based,
    /// inclusive), pixels `y − 1 ..< ey` × `x − 1 ..< ex` area-resampled to `size` × `size` and
    /// normalised into `dst`. False (nothing written) when no pixel is left.
    private func crop(_ px: UnsafePointer<UInt8>, _ w: Int, _ h: Int, _ list: BoxList, _ i: Int, size: Int,
                      into dst: UnsafeMutablePointer<Float>) -> Bool {
        func trunc(_ v: Float) -> Int { v.isFinite ? Int(max(min(v, 1e9), -1e9)) : 0 }
        let x = max(trunc(list[i, 0]), 1), y = max(trunc(list[i, 1]), 1)
        let ex = min(trunc(list[i, 2]), w), ey = min(trunc(list[i, 3]), h)
        if !(list[i, 0].isFinite && list[i, 1].isFinite && list[i, 2].isFinite && list[i, 3].isFinite) { return false }
        if !(ey > y - 1 && ex > x - 1) { return false }
        let cw = ex - x + 1, ch = ey - y + 1
        let base = px + ((y - 1) * w + (x - 1)) * 3
        for oy in 0..<size {
            let sy0 = oy * ch / size, sy1 = ((oy + 1) * ch + size - 1) / size
            for ox in 0..<size {
                let sx0 = ox * cw / size, sx1 = ((ox + 1) * cw + size - 1) / size
                areaPixel(base, w, sy0, sy1, sx0, sx1, dst + (oy * size + ox) * 3)
            }
        }
        return true
    }

    /// One output pixel of torch's area resampling, normalised: the mean of image rows `sy0 ..< sy1`,
    /// columns `sx0 ..< sx1` (`Float(sum) / rows / columns`, the sums exact), then `(v − 127.5) · 0.0078125`.
    @inline(__always)
    private func areaPixel(_ px: UnsafePointer<UInt8>, _ w: Int, _ sy0: Int, _ sy1: Int, _ sx0: Int, _ sx1: Int,
                           _ out: UnsafeMutablePointer<Float>) {
        var r = 0, g = 0, b = 0
        for sy in sy0..<sy1 {
            var p = px + (sy * w + sx0) * 3
            for _ in sx0..<sx1 {
                r += Int(p[0])
                g += Int(p[1])
                b += Int(p[2])
                p += 3
            }
        }
        let kh = Float(sy1 - sy0), kw = Float(sx1 - sx0)
        out[0] = (Float(r) / kh / kw - 127.5) * 0.0078125
        out[1] = (Float(g) / kh / kw - 127.5) * 0.0078125
        out[2] = (Float(b) / kh / kw - 127.5) * 0.0078125
    }

    // MARK: - Boxes

    /// facenet-pytorch's `rerec`: the box made square on its longer side, about its centre.
    private func square(_ l: inout BoxList, _ i: Int) {
        let h = l[i, 3] - l[i, 1], w = l[i, 2] - l[i, 0]
        let s = max(w, h)
        l[i, 0] = l[i, 0] + w * 0.5 - s * 0.5
        l[i, 1] = l[i, 1] + h * 0.5 - s * 0.5
        l[i, 2] = l[i, 0] + s
        l[i, 3] = l[i, 1] + s
    }

    /// Corners moved by the regressors times the box's size: `x2 − x1` after P-Net (`plusOne` 0),
    /// `x2 − x1 + 1` after R-Net and O-Net (facenet-pytorch's `bbreg`).
    private func regress(_ l: inout BoxList, _ i: Int, plusOne: Float) {
        let w = l[i, 2] - l[i, 0] + plusOne, h = l[i, 3] - l[i, 1] + plusOne
        let x1 = l[i, 0] + l[i, 5] * w, y1 = l[i, 1] + l[i, 6] * h
        let x2 = l[i, 2] + l[i, 7] * w, y2 = l[i, 3] + l[i, 8] * h
        l[i, 0] = x1
        l[i, 1] = y1
        l[i, 2] = x2
        l[i, 3] = y2
    }

    /// Keys become list positions (the order the next NMS breaks ties by).
    private func renumber(_ l: inout BoxList) {
        for i in 0..<l.count { l.key[i] = Int32(i) }
    }

    /// Greedy NMS in place: best score first (ties: lower key); a box whose overlap with a kept one is
    /// above `threshold` goes. IoU with areas `(x2 − x1) · (y2 − y1)` (torchvision), or with `minMode`
    /// overlap / smaller area with `+ 1` on every side (facenet-pytorch's 'Min'). The list ends in the
    /// kept order, keys renumbered. O(m log m + m·k).
    private func nms(_ l: inout BoxList, _ threshold: Float, minMode: Bool) {
        let m = l.count
        if m == 0 { return }
        for i in 0..<m {
            order[i] = Int32(i)
            suppressed[i] = false
        }
        sortOrder(l, m)
        let one: Float = minMode ? 1 : 0
        var kept = 0
        for a in 0..<m {
            let i = Int(order[a])
            if suppressed[i] { continue }
            nmsKept.copyEntry(from: l, i, to: kept)
            kept += 1
            let ax1 = l[i, 0], ay1 = l[i, 1], ax2 = l[i, 2], ay2 = l[i, 3]
            let areaI = (ax2 - ax1 + one) * (ay2 - ay1 + one)
            for b in (a + 1)..<max(m, a + 1) {
                let j = Int(order[b])
                if suppressed[j] { continue }
                let bx1 = l[j, 0], by1 = l[j, 1], bx2 = l[j, 2], by2 = l[j, 3]
                let areaJ = (bx2 - bx1 + one) * (by2 - by1 + one)
                let iw = max(0, min(ax2, bx2) - max(ax1, bx1) + one)
                let ih = max(0, min(ay2, by2) - max(ay1, by1) + one)
                let inter = iw * ih
                let o = minMode ? inter / min(areaI, areaJ) : inter / (areaI + areaJ - inter)
                if o > threshold { suppressed[j] = true }
            }
        }
        swapScratch(&l, kept)
    }

    /// `order[0..<m]` sorted by (score descending, key ascending): a heap sort, no allocation.
    private func sortOrder(_ l: BoxList, _ m: Int) {
        // "a after b" in the final order: a max-heap by that relation, popped to the back.
        func after(_ a: Int32, _ b: Int32) -> Bool {
            let sa = l[Int(a), 4], sb = l[Int(b), 4]
            return sa < sb || (sa == sb && l.key[Int(a)] > l.key[Int(b)])
        }
        func sift(_ start: Int, _ end: Int) {
            var i = start
            while true {
                let c0 = 2 * i + 1
                if c0 >= end { return }
                var c = c0
                if c0 + 1 < end && after(order[c0 + 1], order[c0]) { c = c0 + 1 }
                if !after(order[c], order[i]) { return }
                order.swapAt(i, c)
                i = c
            }
        }
        var i = m / 2
        while i > 0 {
            i -= 1
            sift(i, m)
        }
        var end = m
        while end > 1 {
            end -= 1
            order.swapAt(0, end)
            sift(0, end)
        }
    }

    private func swapScratch(_ l: inout BoxList, _ kept: Int) {
        for i in 0..<kept {
            l.copyEntry(from: nmsKept, i, to: i)
            l.key[i] = Int32(i)
        }
        l.count = kept
    }
}

#endif
