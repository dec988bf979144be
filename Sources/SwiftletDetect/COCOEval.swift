// COCO-style average precision for box detections, as pycocotools' `COCOeval` (iouType "bbox",
// version 2.0.11) computes it, for area range "all" and at most 100 detections per image and class:
//
// 1. Per image and category: detections sorted by score, highest first, ties in the order given
//    (numpy's stable mergesort), the first 100 kept; IoU of each with each ground-truth box in double
//    precision (maskApi's `bbIou`: boxes as x, y, w, h; a crowd box's union is the detection's area).
// 2. Matching, per IoU threshold t in 0.50, 0.55, … 0.95 (numpy's `linspace(.5, .95, 10)`, bit for
//    bit): ground truths ordered non-ignored first (crowd, or area outside [0, 1e10], is ignored);
//    each detection in turn takes the best-IoU box with IoU ≥ min(t, 1 − 1e-10) not yet taken (crowd
//    boxes can be taken again), preferring non-ignored ones; a detection matched to an ignored box,
//    or unmatched with an area outside the range, is ignored.
// 3. Per category and threshold: the kept detections of every image merged by score (ties: image in
//    ascending id order, then rank), cumulative true and false positives, precision made monotone from
//    the right, and read at the 101 recall points 0, 0.01, … 1 (the first detection whose recall
//    reaches the point; 0 past the last). A category without non-ignored ground truth has no value.
// 4. AP is the mean of all values present (thresholds × recall points × categories); AP50 and AP75 the
//    same at one threshold; a category's AP the mean over its thresholds and recall points. Absent
//    everywhere: −1, as pycocotools prints.
//
// One quirk of pycocotools is kept so the figures stay equal: it stores a match as the box's `id` and
// tests it against 0, so a detection matched to a box whose id is 0 counts as unmatched (a false
// positive, unless ignored). COCO ids start at 1.
//
// Cost: O(D log D) to sort D detections, O(T · d · g) matching per image and category with d
// detections and g boxes, O(T · D) to accumulate. Allocates; it runs once per evaluation, not per frame.

import SwiftletCore

/// One ground-truth box of a COCO annotations file.
public struct COCOBox: Equatable, Sendable {
    /// The annotation's `id`.
    public var id: Int
    public var imageId: Int
    public var categoryId: Int
    /// `bbox`: left, top, width, height in pixels.
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    /// `area` (used against the area range; `width · height` when the file has none).
    public var area: Double
    /// `iscrowd`: a crowd region, matched by any number of detections and never counted.
    public var isCrowd: Bool

    public init(id: Int, imageId: Int, categoryId: Int, x: Double, y: Double, width: Double, height: Double,
                area: Double? = nil, isCrowd: Bool = false) {
        self.id = id
        self.imageId = imageId
        self.categoryId = categoryId
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.area = area ?? width * height
        self.isCrowd = isCrowd
    }
}

/// One detection in COCO's results format (`image_id`, `category_id`, `bbox`, `score`).
public struct COCODetection: Equatable, Sendable {
    public var imageId: Int
    public var categoryId: Int
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public var score: Double

    public init(imageId: Int, categoryId: Int, x: Double, y: Double, width: Double, height: Double, score: Double) {
        self.imageId = imageId
        self.categoryId = categoryId
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.score = score
    }
}

/// The figures of `cocoEvaluate`, in 0…1 (−1 where nothing could be measured, as pycocotools).
public struct COCOMetrics: Equatable, Sendable {
    /// AP@[.50:.95]: the mean precision over 10 IoU thresholds, 101 recall points and the categories.
    public var ap: Double
    /// AP at IoU 0.50.
    public var ap50: Double
    /// AP at IoU 0.75.
    public var ap75: Double
    /// AR@100: recall at 100 detections per image, averaged over the thresholds and categories.
    public var ar100: Double
    /// Per category (ascending id): AP@[.50:.95] and AP50, −1 for a category without ground truth.
    public var perCategory: [(categoryId: Int, ap: Double, ap50: Double)]
    /// Ground-truth boxes counted (not crowd, area in range), and detections evaluated.
    public var groundTruthCount: Int
    public var detectionCount: Int

    public static func == (a: COCOMetrics, b: COCOMetrics) -> Bool {
        a.ap == b.ap && a.ap50 == b.ap50 && a.ap75 == b.ap75 && a.ar100 == b.ar100 && a.groundTruthCount == b.groundTruthCount
            && a.detectionCount == b.detectionCount && a.perCategory.count == b.perCategory.count
            && a.perCategory.indices.allSatisfy {
                a.perCategory[$0].categoryId == b.perCategory[$0].categoryId && a.perCategory[$0].ap == b.perCategory[$0].ap
                    && a.perCategory[$0].ap50 == b.perCategory[$0].ap50
            }
    }
}

/// The 10 IoU thresholds, as numpy's `linspace(.5, 0.95, 10)` gives them (`i · step + start`, the
/// last set to the end point).
public var cocoIoUThresholds: [Double] {
    let step = (0.95 - 0.5) / 9.0
    var t: [Double] = []
    for i in 0..<10 { t.append(Double(i) * step + 0.5) }
    t[9] = 0.95
    return t
}

/// The 101 recall points, as numpy's `linspace(0, 1, 101)`.
public var cocoRecallPoints: [Double] {
    let step = 1.0 / 100.0
    var r: [Double] = []
    for i in 0...100 { r.append(Double(i) * step) }
    r[100] = 1
    return r
}

/// maskApi's `bbIou` for one detection and one ground-truth box (x, y, w, h), in double precision.
public func cocoIoU(_ d: (x: Double, y: Double, w: Double, h: Double), _ g: (x: Double, y: Double, w: Double, h: Double),
                    crowd: Bool) -> Double {
    let da = d.w * d.h
    let ga = g.w * g.h
    let w = min(d.x + d.w, g.x + g.w) - max(d.x, g.x)
    if w <= 0 { return 0 }
    let h = min(d.y + d.h, g.y + g.h) - max(d.y, g.y)
    if h <= 0 { return 0 }
    let i = w * h
    let u = crowd ? da : da + ga - i
    return i / u
}

/// One category's detections over the images, matched at each IoU threshold as pycocotools'
/// evaluateImg does, in the order they came (image, then score); `accumulate` merges them.
struct COCOCategoryMatches {
    var scores: [Double] = []
    var matched: [[Bool]] = []  // [t][j]
    var ignored: [[Bool]] = []
    var positives = 0
    var anyImage = false

    init(thresholds T: Int) {
        for _ in 0..<T {
            matched.append([])
            ignored.append([])
        }
    }

    /// Matches one image's detections (`dtList`, file order) to its ground truth (`gtList`).
    mutating func add(_ gtList: [Int], _ dtList: [Int], groundTruth: [COCOBox], detections: [COCODetection], thresholds: [Double],
                      maxDets: Int, area: (Double, Double)) {
        let T = thresholds.count
        let (areaLo, areaHi) = area
        var dtList = dtList
        anyImage = true
        // Ground truth, non-ignored first (stable).
        var gIgnore: [Bool] = []
        for n in gtList {
            let g = groundTruth[n]
            gIgnore.append(g.isCrowd || g.area < areaLo || g.area > areaHi)
        }
        var gOrder: [Int] = []
        for (j, ig) in gIgnore.enumerated() where !ig { gOrder.append(j) }
        for (j, ig) in gIgnore.enumerated() where ig { gOrder.append(j) }
        for j in gOrder where !gIgnore[j] { positives += 1 }
        // Detections by score, stable, at most maxDets.
        stableSortByScoreDescending(&dtList, detections)
        if dtList.count > maxDets { dtList.removeLast(dtList.count - maxDets) }
        let G = gOrder.count, D = dtList.count
        var ious = [Double](repeating: 0, count: D * G)
        for (a, dn) in dtList.enumerated() {
            let d = detections[dn]
            for (b, j) in gOrder.enumerated() {
                let g = groundTruth[gtList[j]]
                ious[a * G + b] = cocoIoU((d.x, d.y, d.width, d.height), (g.x, g.y, g.width, g.height), crowd: g.isCrowd)
            }
        }
        for t in 0..<T {
            var gtTaken = [Bool](repeating: false, count: G)
            for (a, dn) in dtList.enumerated() {
                var best = min(thresholds[t], 1 - 1e-10)
                var m = -1
                for b in 0..<G {
                    let g = groundTruth[gtList[gOrder[b]]]
                    if gtTaken[b] && !g.isCrowd { continue }
                    if m > -1 && !gIgnore[gOrder[m]] && gIgnore[gOrder[b]] { break }
                    if ious[a * G + b] < best { continue }
                    best = ious[a * G + b]
                    m = b
                }
                let d = detections[dn]
                let outside = d.width * d.height < areaLo || d.width * d.height > areaHi
                if m == -1 {
                    matched[t].append(false)
                    ignored[t].append(outside)
                    continue
                }
                let gt = groundTruth[gtList[gOrder[m]]]
                gtTaken[m] = true
                // pycocotools records the match as the box's id; an id of 0 reads as no match.
                let isMatch = gt.id != 0
                matched[t].append(isMatch)
                ignored[t].append(gIgnore[gOrder[m]] || (!isMatch && outside))
            }
        }
        for dn in dtList { scores.append(detections[dn].score) }
    }

    /// Category `k`'s precision at the recall points and final recall at each threshold, into
    /// `precision[t][k][r]` and `recall[t][k]` (`categories` wide), as pycocotools' accumulate does.
    func accumulate(_ k: Int, categories: Int, recallPoints: [Double], precision: inout [Double], recall: inout [Double]) {
        let T = matched.count
        let R = recallPoints.count
        // Merge: a stable sort of the concatenation by score, descending.
        var order: [Int] = []
        for j in 0..<scores.count { order.append(j) }
        sortIndices(&order) { scores[$0] > scores[$1] }
        for t in 0..<T {
            var tp = 0.0, fp = 0.0
            var rc: [Double] = []
            var pr: [Double] = []
            for j in order {
                if ignored[t][j] {
                    // Neither a true nor a false positive: the curve gets a point with the same sums.
                } else if matched[t][j] {
                    tp += 1
                } else {
                    fp += 1
                }
                rc.append(tp / Double(positives))
                pr.append(tp / (fp + tp + 2.220446049250313e-16))  // np.spacing(1)
            }
            recall[t * categories + k] = rc.last ?? 0
            if pr.count > 1 {
                for j in stride(from: pr.count - 1, to: 0, by: -1) where pr[j] > pr[j - 1] { pr[j - 1] = pr[j] }
            }
            var j = 0
            for r in 0..<R {
                while j < rc.count && rc[j] < recallPoints[r] { j += 1 }  // searchsorted, side 'left'
                precision[(t * categories + k) * R + r] = j < rc.count ? pr[j] : 0
            }
        }
    }
}

/// Evaluates `detections` against `groundTruth` over `imageIds` and `categoryIds` (both as the
/// annotations file lists them; order does not matter) as pycocotools' COCOeval does (see the top of
/// this file). Boxes and detections of other images or categories are left out, as pycocotools does.
public func cocoEvaluate(imageIds: [Int], categoryIds: [Int], groundTruth: [COCOBox], detections: [COCODetection]) -> COCOMetrics {
    let maxDets = 100
    let areaLo = 0.0, areaHi = 1e5 * 1e5
    let images = sortedUnique(imageIds)
    let cats = sortedUnique(categoryIds)
    let thresholds = cocoIoUThresholds
    let recallPoints = cocoRecallPoints
    let T = thresholds.count
    let R = recallPoints.count

    // Per (category, image): ground truth and detections in file order.
    func cell(_ k: Int, _ i: Int) -> Int { k * images.count + i }
    var gts = [[Int]](repeating: [], count: cats.count * images.count)
    var dts = [[Int]](repeating: [], count: cats.count * images.count)
    for (n, g) in groundTruth.enumerated() {
        guard let i = binaryIndex(images, g.imageId), let k = binaryIndex(cats, g.categoryId) else { continue }
        gts[cell(k, i)].append(n)
    }
    for (n, d) in detections.enumerated() {
        guard let i = binaryIndex(images, d.imageId), let k = binaryIndex(cats, d.categoryId) else { continue }
        dts[cell(k, i)].append(n)
    }

    // precision[t][k][r], −1 where absent; recall[t][k].
    var precision = [Double](repeating: -1, count: T * cats.count * R)
    var recall = [Double](repeating: -1, count: T * cats.count)
    var counted = 0

    for k in 0..<cats.count {
        // The merged detections of this category: score, then ties in image order and rank.
        var c = COCOCategoryMatches(thresholds: T)
        for i in 0..<images.count {
            let gtList = gts[cell(k, i)]
            let dtList = dts[cell(k, i)]
            if gtList.isEmpty && dtList.isEmpty { continue }
            c.add(gtList, dtList, groundTruth: groundTruth, detections: detections, thresholds: thresholds, maxDets: maxDets, area: (areaLo, areaHi))
        }
        if !c.anyImage { continue }
        counted += c.positives
        if c.positives == 0 { continue }
        c.accumulate(k, categories: cats.count, recallPoints: recallPoints, precision: &precision, recall: &recall)
    }

    func mean(thresholds: Range<Int>, categories: Range<Int>) -> Double {
        var sum = 0.0
        var n = 0
        for t in thresholds {
            for k in categories {
                for r in 0..<R {
                    let v = precision[(t * cats.count + k) * R + r]
                    if v > -1 {
                        sum += v
                        n += 1
                    }
                }
            }
        }
        return n == 0 ? -1 : sum / Double(n)
    }
    var recallSum = 0.0
    var recallN = 0
    for v in recall where v > -1 {
        recallSum += v
        recallN += 1
    }
    var perCategory: [(categoryId: Int, ap: Double, ap50: Double)] = []
    for k in 0..<cats.count {
        perCategory.append((cats[k], mean(thresholds: 0..<T, categories: k..<(k + 1)), mean(thresholds: 0..<1, categories: k..<(k + 1))))
    }
    var evaluatedDetections = 0
    for k in 0..<cats.count {
        for i in 0..<images.count { evaluatedDetections += min(dts[cell(k, i)].count, maxDets) }
    }
    return COCOMetrics(ap: mean(thresholds: 0..<T, categories: 0..<cats.count),
                       ap50: mean(thresholds: 0..<1, categories: 0..<cats.count),
                       ap75: mean(thresholds: 5..<6, categories: 0..<cats.count),
                       ar100: recallN == 0 ? -1 : recallSum / Double(recallN),
                       perCategory: perCategory, groundTruthCount: counted, detectionCount: evaluatedDetections)
}

func sortedUnique(_ v: [Int]) -> [Int] {
    var s = v
    s.sort()
    var out: [Int] = []
    for x in s where out.last != x { out.append(x) }
    return out
}

/// The index of `x` in the sorted `v`, or nil.
func binaryIndex(_ v: [Int], _ x: Int) -> Int? {
    var lo = 0, hi = v.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if v[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo < v.count && v[lo] == x ? lo : nil
}

/// Detection indices by score, highest first, ties kept in their order (numpy's mergesort of −score).
func stableSortByScoreDescending(_ list: inout [Int], _ detections: [COCODetection]) {
    sortIndices(&list) { detections[$0].score > detections[$1].score }
}
