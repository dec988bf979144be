import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime

// Calibration: run the float model over real images and record every float tensor's range.
// Min-max needs one pass; percentile and entropy a second one that fills a 2048-bin histogram over
// the first pass's range. Images are read in sorted path order and the sums are taken in that order,
// so the same images always give the same ranges, bit for bit.

/// How a tensor's int8 range is chosen from its calibration values.
public enum CalibrationMethod: Equatable, Sendable {
    /// The smallest and largest value seen.
    case minMax
    /// Both tails clipped so that `p` percent of the values fall inside (99.99 by default).
    case percentile(Double)
    /// TensorRT's entropy calibrator: the clipping threshold that minimises the KL divergence between
    /// the value histogram and its 8-bit quantized version.
    case entropy

    public var text: String {
        switch self {
        case .minMax: return "min-max"
        case .percentile(let p): return "percentile \(p)"
        case .entropy: return "entropy (KL divergence)"
        }
    }
}

/// The JPEG files under `dir`, recursively, sorted by path.
public func listImages(_ dir: String, flag: String = "--calibration") throws(SwiftletError) -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw .invalidInput(path: dir, detail: "no such folder (\(flag))", hint: "pass a folder of JPEG images (sub-folders are searched too)")
    }
    guard let walker = FileManager.default.enumerator(atPath: dir) else {
        throw .invalidInput(path: dir, detail: "the \(flag) folder cannot be read", hint: "check its permissions")
    }
    var out: [String] = []
    while let rel = walker.nextObject() as? String {
        let lower = rel.lowercased()
        if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { out.append(dir.hasSuffix("/") ? dir + rel : dir + "/" + rel) }
    }
    out.sort()
    if out.isEmpty {
        throw .invalidInput(path: dir, detail: "the \(flag) folder holds no JPEG images (*.jpg, *.jpeg)", hint: "\(flag == "--calibration" ? "calibration needs" : "pass a folder of") real images the model will see")
    }
    return out
}

/// A progress line on stderr, redrawn in place on a terminal: count, images/s and ETA.
struct Progress {
    let label: String
    let total: Int
    let enabled: Bool
    let start = Date()
    let tty = isatty(2) == 1

    func update(_ done: Int) {
        guard enabled, tty else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 24
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "\(label) [\(bar)] \(done)/\(total) images  \(String(format: "%.1f", rate)) images/s  ETA \(Int(eta.rounded())) s"
        FileHandle.standardError.write(("\r" + line + "\u{1B}[K").data(using: .utf8)!)
    }

    /// Clears the bar on a terminal; elsewhere (a log) prints one summary line instead.
    func finish() {
        guard enabled else { return }
        if tty {
            FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
            return
        }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(total) / elapsed : 0
        FileHandle.standardError.write("\(label.trimmingCharacters(in: .whitespaces)): \(total) images in \(String(format: "%.1f", elapsed)) s (\(String(format: "%.1f", rate)) images/s)\n".data(using: .utf8)!)
    }
}

/// One tensor's calibration record.
struct RangeStats {
    var lo = Float.infinity
    var hi = -Float.infinity
    var count = 0
    /// Pass two: counts per bin, over `[histLo, histLo + bins · width)` (`|x|` for entropy).
    var hist: [Double] = []
    var histLo: Float = 0
    var width: Float = 0

    static let bins = 2048

    var seen: Bool { count > 0 }

    /// The largest magnitude calibration takes: a range within ±this has an int8 scale under 1e30, the
    /// largest a .swl stores (its reader refuses more). Beyond it are NaN, ±inf and values such as
    /// 2e38, whose range (4e38) is not even a float: a float model that computes them has overflowed.
    static let limit: Float = 1.27e32

    /// Widens the range to the values within ±`limit`; returns the first value beyond it (NaN and
    /// ±inf included), if any: `calibrate` skips the image that gave it, since no int8 range holds it.
    mutating func addRange(_ p: UnsafePointer<Float>, _ n: Int) -> Float? {
        var bad: Float? = nil
        for i in 0..<n {
            let v = p[i]
            if !(abs(v) <= RangeStats.limit) {
                if bad == nil { bad = v }
                continue
            }
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        count += n
        return bad
    }

    /// Sets up the histogram once the range is known: signed for percentile, `|x|` for entropy.
    mutating func startHistogram(absolute: Bool) {
        hist = [Double](repeating: 0, count: RangeStats.bins)
        if absolute {
            histLo = 0
            width = max(abs(lo), abs(hi)) / Float(RangeStats.bins)
        } else {
            histLo = lo
            width = (hi - lo) / Float(RangeStats.bins)
        }
    }

    mutating func addHistogram(_ p: UnsafePointer<Float>, _ n: Int, absolute: Bool) {
        let last = RangeStats.bins - 1
        for i in 0..<n {
            var v = p[i]
            if v.isNaN { continue }
            if absolute {
                // Exact zeros (half of a ReLU's output) are exact in int8 whatever the threshold, so
                // they say nothing about it; left in, their spike in bin 0 pulls the KL search to
                // thresholds a quarter of the range (MobileNetV2's logits fell to 3 dB SQNR).
                if v == 0 { continue }
                v = abs(v)
            }
            var b = width > 0 ? Int((v - histLo) / width) : 0
            if b < 0 { b = 0 }
            if b > last { b = last }
            hist[b] += 1
        }
    }

    /// The range the method keeps, always containing 0 (so that 0 is exact in int8).
    func range(_ method: CalibrationMethod) -> (Float, Float) {
        var a = lo, b = hi
        switch method {
        case .minMax:
            break
        case .percentile(let p):
            if !hist.isEmpty && width > 0 {
                let total = hist.reduce(0, +)
                let tail = total * (100 - p) / 200
                var cum = 0.0
                var i = 0
                while i < RangeStats.bins - 1 && cum + hist[i] <= tail {
                    cum += hist[i]
                    i += 1
                }
                a = histLo + Float(i) * width
                cum = 0
                var j = RangeStats.bins - 1
                while j > 0 && cum + hist[j] <= tail {
                    cum += hist[j]
                    j -= 1
                }
                b = histLo + Float(j + 1) * width
                if a < lo { a = lo }
                if b > hi { b = hi }
            }
        case .entropy:
            if !hist.isEmpty && width > 0 {
                let t = entropyThreshold(hist, levels: lo >= 0 ? 256 : 128) * width
                a = max(lo, -t)
                b = min(hi, t)
            }
        }
        return (min(a, 0), max(b, 0))
    }
}

/// TensorRT's entropy calibration over a histogram of |x|: for each candidate cut `i` (in bins), the
/// reference distribution is the first `i` bins with everything beyond added to the last, the
/// candidate is those `i` bins merged into `levels` groups and spread back evenly over each group's
/// non-empty bins; the cut with the least KL divergence wins. Returns the threshold in bins.
func entropyThreshold(_ hist: [Double], levels: Int) -> Float {
    let n = hist.count
    if n <= levels { return Float(n) }
    var best = n
    var bestKL = Double.infinity
    var suffix = [Double](repeating: 0, count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + hist[i] }
    var p = [Double](repeating: 0, count: n)
    var q = [Double](repeating: 0, count: n)
    for i in levels...n {
        for k in 0..<i { p[k] = hist[k] }
        p[i - 1] += suffix[i]
        // Merge hist[0..<i] into `levels` groups, then expand.
        for g in 0..<levels {
            let start = g * i / levels
            let end = (g + 1) * i / levels
            var sum = 0.0
            var nonZero = 0
            for k in start..<end where hist[k] > 0 {
                sum += hist[k]
                nonZero += 1
            }
            for k in start..<end { q[k] = hist[k] > 0 && nonZero > 0 ? sum / Double(nonZero) : 0 }
        }
        var ps = 0.0, qs = 0.0
        for k in 0..<i {
            ps += p[k]
            qs += q[k]
        }
        if ps == 0 || qs == 0 { continue }
        var kl = 0.0
        for k in 0..<i where p[k] > 0 {
            let pk = p[k] / ps
            let qk = q[k] / qs
            // A reference bin the candidate leaves empty (the outliers folded into the last bin):
            // TensorRT smooths it; a small floor does the same.
            kl += pk * log(pk / max(qk, 1e-12))
        }
        if kl < bestKL {
            bestKL = kl
            best = i
        }
    }
    return Float(best) + 0.5
}

/// The result of running the float model over the calibration images.
struct Calibration {
    var stats: [RangeStats]
    /// Per tensor asked for (the inputs of convolutions and fully connected layers): the mean of each
    /// channel (the last physical dim) over the images, for bias correction; empty for the others.
    var channelMeans: [[Double]] = []
    /// Images used, and those that failed with their error.
    var used: [String] = []
    var failed: [(String, String)] = []
    /// Images skipped because the float model computed NaN, ±inf or a value beyond ±`RangeStats.limit`
    /// from them, with where.
    var outOfRange: [(String, String)] = []
}

/// Runs `interpreter` (the float model) over `images`: one pass for the ranges, a second for the
/// histograms when the method needs them.
func calibrate(_ interpreter: Interpreter, images: [String], method: CalibrationMethod, progress: Bool,
               channelMeansOf wanted: [Bool] = []) throws(SwiftletError) -> Calibration {
    let spec = interpreter.spec
    var cal = Calibration(stats: [RangeStats](repeating: RangeStats(), count: spec.tensors.count))
    cal.channelMeans = [[Double]](repeating: [], count: spec.tensors.count)
    var channelCounts = [Int](repeating: 0, count: spec.tensors.count)
    for t in 0..<min(wanted.count, spec.tensors.count) where wanted[t] {
        cal.channelMeans[t] = [Double](repeating: 0, count: max(1, spec.tensors[t].shape.last ?? 1))
    }
    func addChannels(_ t: Int, _ p: UnsafePointer<Float>, _ n: Int) {
        let c = cal.channelMeans[t].count
        if c == 0 { return }
        cal.channelMeans[t].withUnsafeMutableBufferPointer { m in
            for i in 0..<n { m[i % c] += Double(p[i]) }
        }
        channelCounts[t] += n / c
    }
    /// Calls `body` with float arena tensor t's values, packed (a Concat slice's are gathered).
    func withFloats(_ t: Int, _ body: (UnsafePointer<Float>, Int) -> Void) {
        let info = spec.tensors[t]
        guard info.dtype == .float32, info.storage == .arena else { return }
        let n = Shape.count(info.shape) ?? 0
        if interpreter.tensorRowStride(t) == max(info.shape.last ?? 1, 1) {
            body(interpreter.tensorPointer(t).assumingMemoryBound(to: Float.self), n)
            return
        }
        interpreter.tensorBytes(t).withUnsafeBytes { b in
            if let base = b.baseAddress { body(base.assumingMemoryBound(to: Float.self), n) }
        }
    }
    /// Why tensor t's value `v` (beyond ±`RangeStats.limit`) makes the image unusable; `node` nil for
    /// the model input.
    func outOfRangeReason(_ v: Float, _ t: Int, node: Int?) -> String {
        let value = v.isNaN ? "NaN" : v.isInfinite ? (v > 0 ? "+inf" : "-inf") : "\(v), beyond the ±1.27e32 an int8 scale can span"
        let what = "the float model computes \(value) in tensor '\(spec.tensors[t].name)'"
        guard let node else {
            // The input is the pre-processed image: only the pre-processing can take it out of range.
            let pre = spec.preprocess ?? Preprocess()
            let list = { (v: [Float]) in v.map { "\($0)" }.joined(separator: ",") }
            return "\(what) (the model input): the pre-processing (mean \(list(pre.mean)), std \(list(pre.std))) takes pixels out of that range; re-import the model with --mean and --std in 0-255 pixel units, e.g. --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375"
        }
        let n = spec.nodes[node]
        return "\(what) (node '\(n.name)', \(n.op.kind.name)); no int8 range holds it"
    }
    let bar1 = Progress(label: "calibrating", total: images.count, enabled: progress)
    for (k, path) in images.enumerated() {
        do {
            try loadImageInput(interpreter, path: path)
        } catch {
            cal.failed.append((path, error.message))
            continue
        }
        // An image on which the float model computes NaN, ±inf or beyond ±1.27e32 is skipped, and what
        // it added to the statistics before that is taken back: the statistics are the used images'.
        let saved = (cal.stats, cal.channelMeans, channelCounts)
        var bad: String? = nil
        func record(_ t: Int, node: Int?) {
            guard bad == nil else { return }
            withFloats(t) { p, n in
                if let v = cal.stats[t].addRange(p, n) {
                    bad = outOfRangeReason(v, t, node: node)
                    return
                }
                addChannels(t, p, n)
            }
        }
        for t in spec.inputs { record(t, node: nil) }
        if bad == nil { interpreter.invoke { i in record(spec.nodes[i].outputs[0], node: i) } }
        if let bad {
            (cal.stats, cal.channelMeans, channelCounts) = saved
            cal.outOfRange.append((path, bad))
        } else {
            cal.used.append(path)
        }
        bar1.update(k + 1)
    }
    bar1.finish()
    for t in 0..<cal.channelMeans.count where channelCounts[t] > 0 {
        for c in 0..<cal.channelMeans[t].count { cal.channelMeans[t][c] /= Double(channelCounts[t]) }
    }
    if cal.used.isEmpty, let (path, why) = cal.outOfRange.first {
        let which = cal.failed.isEmpty ? "any of them" : "\(cal.outOfRange.count) of them and the other \(cal.failed.count) are unreadable"
        throw .invalidModel(detail: "none of the \(images.count) calibration images could be used: the float model computes NaN, ±inf or values beyond ±1.27e32 on \(which); the first, \(path): \(why)",
                            hint: why.contains("(the model input)") ? "" : "check the float model's weights ('swiftlet run' on that image prints its outputs)")
    }
    if cal.used.isEmpty {
        throw .invalidModel(detail: "none of the \(images.count) calibration images could be read (first: \(cal.failed.first?.0 ?? "?"): \(cal.failed.first?.1 ?? "")); pass a folder of valid JPEGs", hint: "")
    }
    if method == .minMax { return cal }
    let absolute = method == .entropy
    for t in 0..<cal.stats.count where cal.stats[t].seen { cal.stats[t].startHistogram(absolute: absolute) }
    let bar2 = Progress(label: "histograms ", total: cal.used.count, enabled: progress)
    for (k, path) in cal.used.enumerated() {
        try loadImageInput(interpreter, path: path)
        for t in spec.inputs { withFloats(t) { p, n in cal.stats[t].addHistogram(p, n, absolute: absolute) } }
        interpreter.invoke { i in
            let t = spec.nodes[i].outputs[0]
            if cal.stats[t].seen { withFloats(t) { p, n in cal.stats[t].addHistogram(p, n, absolute: absolute) } }
        }
        bar2.update(k + 1)
    }
    bar2.finish()
    return cal
}
