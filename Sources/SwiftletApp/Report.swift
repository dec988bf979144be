import SwiftletCore
import SwiftletModel
import SwiftletPipeline

// `swiftlet bench --report report.html`: one self-contained page (inline SVG and an inline style; no
// script, no network, no external CSS or fonts), written atomically. It holds bench's text lines and
// latency table, then charts drawn by one plot helper (`Plot`, `beginChart`): the latency histogram
// (30 bins from min to max, p50 and p99 marked), every timed run's latency against its start, the
// per-layer time and bytes moved (with --profile), the memory plan (`planSVG`, host only: the board
// binaries leave it out for size) and the power over time with the timed window shaded. Every text
// put in the page is escaped (&, <, >, ").
// SWIFTLET_NO_REPORT (a board profile's "report = no", tools/build-board) leaves all of it out;
// `--report` then says so.

#if !SWIFTLET_NO_REPORT

/// What bench measured, in run order, for the page.
struct BenchReport {
    /// bench's text lines (`model`, `warm-up`, `runs`, …), as it prints them.
    var lines: [String]
    var stats: LatencyStats
    var samples: [UInt64]
    var starts: [UInt64]
    var profile: LayerProfile?
    var power: EnergyReport
    /// The timed runs' span, ns after the power samples' origin.
    var window: (UInt64, UInt64)
}

/// The chart palette (the tests look for these colours in a screenshot).
private let blue: StaticString = "#3b6fb6", orange: StaticString = "#e0861a", green: StaticString = "#2a9d3a"
private let red: StaticString = "#d03a2a", purple: StaticString = "#7d4ab5", band: StaticString = "#fbe3a0"

/// Writes the page for `r` and `spec` to `path` (atomically, `sys_writeFile`).
func writeBenchReport(_ path: String, _ r: BenchReport, spec: ModelSpec) throws(SwiftletError) {
    var h = TextBuffer(capacity: 1 << 16)
    appendReportHead(&h, r, spec: spec)
    let s = r.stats
    let ms = r.samples.map { Double($0) / 1e6 }
    let lo = Double(s.min) / 1e6, hi = Double(s.max) / 1e6
    appendHistogram(&h, r, ms: ms, lo: lo, hi: hi)
    appendLatencyOverTime(&h, r, ms: ms, lo: lo, hi: hi)
    appendProfile(&h, r, spec: spec)

    // The memory plan.
    h.append("<h2>Memory plan</h2>\n")
    #if hasFeature(Embedded)
    h.append("<p>the board binary leaves the plan drawing out (size); draw it with 'swiftlet inspect --plan-svg' on the host</p>\n")
    #else
    h.append(planSVG(spec))
    #endif

    appendPower(&h, r)
    h.append("</body></html>\n")
    try sys_writeFile(path, h.bytes)
}

/// The page's head and style, bench's text lines and the latency table.
private func appendReportHead(_ h: inout TextBuffer, _ r: BenchReport, spec: ModelSpec) {
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>swiftlet bench ")
    h.append(escaped: spec.name)
    h.append("</title>\n<style>body{font:14px sans-serif;margin:1em 2em;max-width:960px}pre{font-size:12px;white-space:pre-wrap}")
    h.append("table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 10px;text-align:right}svg{display:block;margin:4px 0 16px}</style></head><body>\n")
    h.append("<h1>swiftlet bench</h1>\n<pre>")
    for l in r.lines {
        h.append(escaped: l)
        h.append("\n")
    }
    h.append("</pre>\n<table><tr><th>ms</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>mean</th><th>sd</th></tr><tr><th>latency</th>")
    let s = r.stats
    for v in [Double(s.min), Double(s.p50), Double(s.p90), Double(s.p99), Double(s.max), s.mean, s.stddev] {
        h.append("<td>")
        h.append(general: v / 1e6, 4)
        h.append("</td>")
    }
    h.append("</tr></table>\n")
}

/// The latency histogram: 30 bins between min and max, p50 and p99 marked.
private func appendHistogram(_ h: inout TextBuffer, _ r: BenchReport, ms: [Double], lo: Double, hi: Double) {
    let s = r.stats
    // The histogram: 30 bins between min and max.
    let bins = 30
    let width = hi > lo ? (hi - lo) / Double(bins) : 1e-3
    var counts = [Int](repeating: 0, count: bins)
    for v in ms { counts[min(Int((v - lo) / width), bins - 1)] += 1 }
    var most = 1
    for c in counts { most = max(most, c) }
    let hp = Plot(x: (lo, lo + width * Double(bins)), y: (0, Double(most)), height: 260)
    h.append("<h2>Latency histogram (")
    h.append(r.samples.count)
    h.append(" timed runs)</h2>\n")
    h.beginChart("histogram", hp, x: "latency (ms)", y: "runs")
    for (i, c) in counts.enumerated() where c > 0 {
        let x0 = hp.x(lo + width * Double(i)), y0 = hp.y(Double(c))
        h.rect("bar", x0, y0, max(hp.x(lo + width * Double(i + 1)) - x0 - 1, 1), hp.y(0) - y0, blue)
    }
    h.marker(hp, Double(s.p50) / 1e6, "p50 ", green, above: 18)
    h.marker(hp, Double(s.p99) / 1e6, "p99 ", red, above: 5)
    h.append("</svg>\n")
}

/// Every timed run's latency against its start.
private func appendLatencyOverTime(_ h: inout TextBuffer, _ r: BenchReport, ms: [Double], lo: Double, hi: Double) {
    // Latency over time: every run at its start, s after the first; beyond 3000 runs, each pixel
    // column's fastest and slowest run as one vertical stroke.
    let t0 = r.starts.first ?? 0
    let last = Double((r.starts.last ?? t0) &- t0) / 1e9
    let tp = Plot(x: (0, last), y: (lo, hi), height: 260)
    h.append("<h2>Latency over time</h2>\n")
    h.beginChart("over-time", tp, x: "time since the first timed run (s)", y: "latency (ms)")
    if ms.count <= 3000 {
        for (i, v) in ms.enumerated() {
            h.append("<circle class=\"pt\" r=\"2.5\" fill=\"")
            h.append(blue)
            h.append("\"")
            h.attr("cx", tp.x(Double(r.starts[i] &- t0) / 1e9))
            h.attr("cy", tp.y(v))
            h.append("/>")
        }
    } else {
        let columns = Int(tp.x(tp.x1) - tp.x(tp.x0)) + 1
        var top = [Double](repeating: .infinity, count: columns), bottom = [Double](repeating: -.infinity, count: columns)
        for (i, v) in ms.enumerated() {
            let c = min(max(Int(tp.x(Double(r.starts[i] &- t0) / 1e9) - tp.x(tp.x0)), 0), columns - 1)
            top[c] = min(top[c], v)
            bottom[c] = max(bottom[c], v)
        }
        h.append("<path stroke=\"")
        h.append(blue)
        h.append("\" stroke-width=\"1.5\" stroke-linecap=\"round\" d=\"")
        for c in 0..<columns where top[c] <= bottom[c] {
            h.append("M")
            h.append(fixed: tp.x(tp.x0) + Double(c), 1)
            h.append(" ")
            h.append(fixed: tp.y(top[c]), 1)
            h.append("V")
            h.append(fixed: tp.y(bottom[c]) - 0.5, 1)
        }
        h.append("\"/>")
    }
    h.append("</svg>\n")
}

/// The per-layer time and bytes moved (with --profile).
private func appendProfile(_ h: inout TextBuffer, _ r: BenchReport, spec: ModelSpec) {
    // The per-layer profile: mean time per run, and bytes moved (weights, activations read, written).
    if let p = r.profile {
        var maxMs = 1e-6, maxBytes = 1.0
        for row in p.rows {
            maxMs = max(maxMs, Double(row.ns) / Double(p.runs) / 1e6)
            maxBytes = max(maxBytes, Double(row.weightBytes + row.readBytes + row.writtenBytes))
        }
        for chart in 0..<2 {
            let cp = Plot(x: (0, chart == 0 ? maxMs : maxBytes / 1024), y: (0, 1), height: 66 + 16 * Double(p.rows.count), left: 330)
            if chart == 0 {
                h.append("<h2>Time per layer (mean of ")
                h.append(p.runs)
                h.append(" runs)</h2>\n")
                h.beginChart("profile-time", cp, x: "ms per run", y: nil)
            } else {
                h.append("<h2>Bytes moved per layer</h2>\n")
                h.beginChart("profile-bytes", cp, x: "KiB per run", y: nil)
                h.legend(cp, [("weights", purple), ("activations read", blue), ("written", orange)])
            }
            for (i, row) in p.rows.enumerated() {
                let y = cp.top + 4 + 16 * Double(i)
                h.openText(cp.left - 6, y + 11, "end")
                h.append("#")
                h.append(i)
                h.append(" ")
                h.append(escaped: opText(spec.nodes[i].op))
                h.append(" ")
                h.append(escaped: truncated(spec.nodes[i].name, 24))
                if row.inNext {
                    h.append(" (in #")
                    h.append(i + 1)
                    h.append(")")
                }
                h.append("</text>")
                if chart == 0 {
                    h.rect("layer", cp.left, y, cp.x(Double(row.ns) / Double(p.runs) / 1e6) - cp.left, 12, orange)
                } else {
                    var x = cp.left
                    for (bytes, colour) in [(row.weightBytes, purple), (row.readBytes, blue), (row.writtenBytes, orange)] {
                        let w = cp.x(Double(bytes) / 1024) - cp.left
                        h.rect("bytes", x, y, w, 12, colour)
                        x += w
                    }
                }
            }
            h.append("</svg>\n")
        }
    } else {
        h.append("<h2>Per layer</h2><p>run with --profile for the per-layer bars</p>\n")
    }
}

/// The power over time with the timed window shaded, or why there is none.
private func appendPower(_ h: inout TextBuffer, _ r: BenchReport) {
    // Power over time, the timed window shaded.
    let w = r.power
    if w.available && !w.power.isEmpty {
        var maxW = 1e-3, end = Double(r.window.1) / 1e9
        for q in w.power {
            maxW = max(maxW, q.watts)
            end = max(end, Double(q.tNs) / 1e9)
        }
        let pp = Plot(x: (0, end), y: (0, maxW), height: 260)
        h.append("<h2>Power (")
        if w.measured { h.append("measured: ") } else { h.append("estimated: ") }
        h.append(escaped: w.method)
        h.append(")</h2>\n")
        h.beginChart("power", pp, x: "time since the window's start (s)", y: "W")
        let b0 = pp.x(Double(r.window.0) / 1e9)
        h.rect("window", b0, pp.top, pp.x(Double(r.window.1) / 1e9) - b0, pp.y(0) - pp.top, band)
        h.legend(pp, [("timed runs", band), ("power", red)])
        h.append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"")
        h.append(red)
        h.append("\" points=\"")
        for q in w.power {
            h.append(fixed: pp.x(Double(q.tNs) / 1e9), 1)
            h.append(",")
            h.append(fixed: pp.y(q.watts), 1)
            h.append(" ")
        }
        h.append("\"/></svg>\n")
    } else {
        h.append("<h2>Power</h2><p>no power over time: ")
        if w.available {
            h.append(escaped: w.method)
            h.append(" reads only at the window's edges")
        } else {
            h.append(escaped: w.reason)
        }
        h.append("</p>\n")
    }
}

/// `s` cut to at most `limit` bytes on a UTF-8 boundary, with `…` when cut.
private func truncated(_ s: String, _ limit: Int) -> String {
    var b = Array(s.utf8)
    guard b.count > limit else { return s }
    var n = limit
    while n > 0 && b[n] & 0xC0 == 0x80 { n -= 1 }
    b.removeSubrange(n...)
    return String(decoding: b, as: UTF8.self) + "…"
}

/// A chart's data ranges, widened to whole ticks, and its place on the page.
struct Plot {
    var x0, x1, xStep, y0, y1, yStep: Double
    let width = 900.0, height: Double, left: Double, top = 34.0, right = 24.0, bottom = 40.0

    init(x: (Double, Double), y: (Double, Double), height: Double, left: Double = 64) {
        (x0, x1, xStep) = Plot.ticks(x)
        (y0, y1, yStep) = Plot.ticks(y)
        self.height = height
        self.left = left
    }

    /// The range widened to multiples of a step of 1, 2 or 5 × 10ⁿ giving at most about 6 ticks.
    static func ticks(_ r: (Double, Double)) -> (Double, Double, Double) {
        var (lo, hi) = r
        if !(hi > lo) { hi = lo + max(lo.magnitude * 0.1, 1e-6) }
        let raw = (hi - lo) / 6
        var step = 1.0
        while step > raw { step /= 10 }
        while step * 10 <= raw { step *= 10 }
        for k in [1.0, 2.0, 5.0, 10.0] where step * k >= raw {
            step *= k
            break
        }
        return ((lo / step).rounded(.down) * step, (hi / step).rounded(.up) * step, step)
    }

    func x(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (width - left - right) }
    func y(_ v: Double) -> Double { height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom) }
}

extension TextBuffer {
    /// ` name="v"`, one decimal.
    mutating func attr(_ name: StaticString, _ v: Double) {
        append(" ")
        append(name)
        append("=\"")
        append(fixed: v, 1)
        append("\"")
    }

    mutating func rect(_ cls: StaticString, _ x: Double, _ y: Double, _ w: Double, _ h: Double, _ fill: StaticString) {
        append("<rect class=\"")
        append(cls)
        append("\" fill=\"")
        append(fill)
        append("\"")
        attr("x", x)
        attr("y", y)
        attr("width", max(w, 0))
        attr("height", max(h, 0))
        append("/>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ stroke: StaticString) {
        append("<line stroke=\"")
        append(stroke)
        append("\"")
        attr("x1", x1)
        attr("y1", y1)
        attr("x2", x2)
        attr("y2", y2)
        append("/>")
    }

    /// Opens `<text>` at (x, y); the caller appends the (escaped) text and `</text>`.
    mutating func openText(_ x: Double, _ y: Double, _ anchor: StaticString = "middle") {
        append("<text text-anchor=\"")
        append(anchor)
        append("\"")
        attr("x", x)
        attr("y", y)
        append(">")
    }

    mutating func text(_ x: Double, _ y: Double, _ s: StaticString, _ anchor: StaticString = "middle") {
        openText(x, y, anchor)
        append(s)
        append("</text>")
    }

    mutating func number(_ x: Double, _ y: Double, _ v: Double, _ anchor: StaticString = "middle") {
        openText(x, y, anchor)
        append(general: v, 6)
        append("</text>")
    }

    /// An open `<svg id>` with the frame, the ticks and their labels on x (and on y unless `y` is
    /// nil) and the axis titles; the caller draws inside and closes it.
    mutating func beginChart(_ id: StaticString, _ p: Plot, x xTitle: StaticString, y yTitle: StaticString?) {
        append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"")
        append(id)
        append("\" width=\"900\"")
        attr("height", p.height)
        append(" font-family=\"sans-serif\" font-size=\"11\"><rect fill=\"white\" width=\"100%\" height=\"100%\"/>")
        let bottom = p.height - p.bottom
        var k = 0.0
        while p.x0 + k * p.xStep <= p.x1 + p.xStep / 2 {
            let v = p.x0 + k * p.xStep
            line(p.x(v), bottom, p.x(v), bottom + 4, "#555")
            number(p.x(v), bottom + 16, v)
            k += 1
        }
        text((p.left + p.width - p.right) / 2, p.height - 6, xTitle)
        if let yTitle {
            k = 0
            while p.y0 + k * p.yStep <= p.y1 + p.yStep / 2 {
                let v = p.y0 + k * p.yStep
                line(p.left - 4, p.y(v), p.width - p.right, p.y(v), "#ddd")
                number(p.left - 6, p.y(v) + 4, v, "end")
                k += 1
            }
            text(4, p.top - 12, yTitle, "start")
        }
        append("<rect fill=\"none\" stroke=\"#888\"")
        attr("x", p.left)
        attr("y", p.top)
        attr("width", p.width - p.left - p.right)
        attr("height", bottom - p.top)
        append("/>")
    }

    /// A vertical line at `v` with its name and value above the frame.
    @inline(never) mutating func marker(_ p: Plot, _ v: Double, _ name: StaticString, _ colour: StaticString, above: Double) {
        line(p.x(v), p.top, p.x(v), p.height - p.bottom, colour)
        append("<g fill=\"")
        append(colour)
        append("\">")
        openText(min(max(p.x(v), p.left + 70), p.width - p.right - 70), p.top - above)
        append(name)
        append(general: v, 4)
        append(" ms</text>")
        append("</g>")
    }

    /// Coloured squares with names, at the chart's top right.
    @inline(never) mutating func legend(_ p: Plot, _ items: [(StaticString, StaticString)]) {
        var x = p.width - p.right - 130 * Double(items.count)
        for (name, colour) in items {
            rect("key", x, 8, 10, 10, colour)
            text(x + 14, 17, name, "start")
            x += 130
        }
    }
}
#endif
