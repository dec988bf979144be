import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

// `swiftlet bench --report r.html`: every SVG on the page is well-formed XML and holds what bench
// measured (histogram bars, one point per timed run, one bar per layer, the memory plan, the power
// with the timed window shaded); Chromium draws the page; a bad report path fails before any run.

/// The elements of one XML document (name and attributes), or the parser's error.
private final class ElementCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements.append((name, attributes))
    }

    static func parse(_ xml: String) throws -> [(name: String, attributes: [String: String])] {
        let parser = XMLParser(data: Data(xml.utf8))
        let c = ElementCollector()
        parser.delegate = c
        guard parser.parse() else {
            throw TestFailure("not well-formed XML (line \(parser.lineNumber), column \(parser.columnNumber)): \(parser.parserError.map { "\($0)" } ?? "?")\n\(xml.prefix(400))")
        }
        return c.elements
    }
}

/// Every `<svg …>…</svg>` block of `html`, parsed: the root's `id` (or "") and its elements.
private func svgCharts(_ html: String) throws -> [String: [(name: String, attributes: [String: String])]] {
    var charts: [String: [(name: String, attributes: [String: String])]] = [:]
    var rest = html[...]
    while let start = rest.range(of: "<svg") {
        let end = try #require(rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex), "an <svg> without </svg>")
        let elements = try ElementCollector.parse(String(rest[start.lowerBound..<end.upperBound]))
        let id = elements.first?.attributes["id"] ?? ""
        #expect(charts[id] == nil, "two SVGs with id '\(id)'")
        charts[id] = elements
        rest = rest[end.upperBound...]
    }
    return charts
}

/// How many elements `name` with class `cls` the chart has.
private func count(_ elements: [(name: String, attributes: [String: String])], _ name: String, _ cls: String) -> Int {
    elements.filter { $0.name == name && $0.attributes["class"] == cls }.count
}

/// The first executable named `name` on PATH.
private func onPath(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

@Suite("Report") struct ReportTests {
    /// The page of `bench --runs 20 --warmup 2 --profile --json` for two models: well-formed SVG,
    /// a histogram with bars, 20 points over time, one time bar and three byte bars per layer, the plan.
    @Test(arguments: ["digits_lenet", "mtcnn_rnet"]) func reportChartsHoldTheRuns(_ name: String) throws {
        let dir = try scratchDirectory()
        let model = dir + "/m.swl", page = dir + "/r.html"
        let imported = try swiftlet(["import", repoFile("models/onnx/\(name).onnx"), "-o", model])
        #expect(imported.status == 0, "\(imported.stderr)")
        let r = try swiftlet(["bench", model, "--runs", "20", "--warmup", "2", "--profile", "--json", "--report", page])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "the JSON mode prints only its object: \(r.stdout)")
        let layers = try #require((obj["profile"] as? [String: Any])?["layers"] as? [[String: Any]])
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        // Self-contained: no script, nothing fetched (the only URL is the SVG namespace).
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains("src="))
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http") == false)
        #expect(html.contains("latency ms   min ") && html.contains("warm-up      2 warm-up runs") && html.contains("kernels      auto"))
        let charts = try svgCharts(html)
        #expect(Set(charts.keys) == ["histogram", "over-time", "profile-time", "profile-bytes", ""], "\(charts.keys)")
        #expect(count(charts["histogram"] ?? [], "rect", "bar") >= 1)
        #expect(count(charts["over-time"] ?? [], "circle", "pt") == 20)
        #expect(count(charts["profile-time"] ?? [], "rect", "layer") == layers.count)
        #expect(count(charts["profile-bytes"] ?? [], "rect", "bytes") == 3 * layers.count)
        // The memory plan (the host build draws it): one rectangle per arena tensor, the lower bound.
        let plan = charts[""] ?? []
        #expect(plan.filter { $0.name == "rect" }.count > 2 && html.contains("lower bound"))
        // No energy source on this machine's tests: the reason instead of the chart.
        if charts["power"] == nil { #expect(html.contains("no power over time: ")) }
    }

    /// The power over time from a fake RAPL counter (1 W written by a thread): a polyline of the
    /// readings and the timed window as one shaded band.
    @Test func reportPlotsPowerWithTheTimedWindow() throws {
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", dir + "/d.swl"])
        let root = dir + "/root"
        let rapl = try FakeRAPL(root: root)
        defer { rapl.stop() }
        let r = try swiftlet(["bench", dir + "/d.swl", "--warmup", "2", "--seconds", "1", "--idle-seconds", "0.3", "--energy", "rapl", "--report", dir + "/r.html"],
                             environment: ["SWIFTLET_SYSFS_ROOT": root])
        #expect(r.status == 0 && r.stdout.contains("report       \(dir)/r.html"), "\(r.stdout)\(r.stderr)")
        let charts = try svgCharts(try String(contentsOfFile: dir + "/r.html", encoding: .utf8))
        let power = try #require(charts["power"], "\(charts.keys)")
        #expect(count(power, "rect", "window") == 1)
        let line = try #require(power.first { $0.name == "polyline" })
        #expect((line.attributes["points"] ?? "").split(separator: " ").count >= 2, "\(line.attributes)")
    }

    /// Headless Chromium draws the page: a good share of the screenshot is not background, and the
    /// charts' colours are there (blue bars and points, orange layer bars, purple weights, p50 green,
    /// p99 red).
    @Test func chromiumDrawsTheReport() throws {
        guard let chromium = onPath("chromium") ?? onPath("chromium-browser") else {
            Issue.record("chromium is not installed: run tools/deps.sh (it installs Debian's chromium), which tools/test.sh does")
            return
        }
        let python = try #require(onPath("python3"), "python3 decodes the screenshot; run tools/deps.sh")
        let dir = try scratchDirectory()
        _ = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", dir + "/d.swl"])
        let r = try swiftlet(["bench", dir + "/d.swl", "--runs", "20", "--warmup", "2", "--profile", "--report", dir + "/r.html"])
        #expect(r.status == 0 && r.stdout.hasSuffix("report       \(dir)/r.html\n"), "\(r.stdout)\(r.stderr)")
        let shot = dir + "/shot.png"
        let c = try runProcess(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/chromium", "--screenshot=\(shot)",
                                          "--window-size=1200,2400", "file://\(dir)/r.html"])
        #expect(c.status == 0 && FileManager.default.fileExists(atPath: shot), "chromium: \(c.stderr.suffix(2000))")
        let py = try runProcess(python, ["-c", pngSummary, shot, "3b6fb6,e0861a,7d4ab5,2a9d3a,d03a2a"])
        let s = try #require(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Any], "\(py.stderr)")
        let w = s["width"] as? Int ?? 0, h = s["height"] as? Int ?? 0, differ = s["differ"] as? Int ?? 0
        #expect(w == 1200 && h == 2400, "\(s)")
        #expect(Double(differ) > 0.05 * Double(w * h), "only \(differ) of \(w * h) pixels differ from the background: \(s)")
        let palette = s["palette"] as? [String: Int] ?? [:]
        #expect(palette.filter { $0.value >= 20 }.count >= 4, "the charts' colours (pixels of each): \(palette)")
    }

    /// A report path that is a directory or the model itself fails before anything runs, naming it.
    @Test func reportPathIsCheckedFirst() throws {
        let dir = try scratchDirectory()
        let model = dir + "/d.swl"
        _ = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", model])
        let same = try swiftlet(["bench", model, "--runs", "2", "--report", model])
        #expect(same.status == 64 && same.stdout.isEmpty, "\(same)")
        #expect(same.stderr.contains("--report \(model) is the same file as the model \(model)"), "\(same.stderr)")
        let folder = try swiftlet(["bench", model, "--runs", "2", "--report", dir])
        #expect(folder.status == 1 && folder.stdout.isEmpty, "\(folder)")
        #expect(folder.stderr.contains("\(dir) is a directory, not a file --report can write"), "\(folder.stderr)")
        try Data([0x93]).write(to: URL(fileURLWithPath: dir + "/x.npy"))
        let input = try swiftlet(["bench", model, "--runs", "2", "--input", dir + "/x.npy", "--report", dir + "/x.npy"])
        #expect(input.status == 64 && input.stderr.contains("is the same file as the --input"), "\(input)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)).count > 0)
    }
}

/// Python: decodes an 8-bit RGB/RGBA PNG (zlib, the five row filters) and prints its size, the
/// pixels that differ from the commonest colour and, per palette colour (hex, comma-separated), the
/// pixels within 6 of it on each channel.
private let pngSummary = """
    import json, struct, sys, zlib
    from collections import Counter
    d = open(sys.argv[1], 'rb').read()
    assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
    pos, idat = 8, b''
    while pos < len(d):
        n, = struct.unpack('>I', d[pos:pos + 4]); t = d[pos + 4:pos + 8]; c = d[pos + 8:pos + 8 + n]; pos += 12 + n
        if t == b'IHDR': w, h, depth, ctype, _, _, lace = struct.unpack('>IIBBBBB', c)
        elif t == b'IDAT': idat += c
    assert depth == 8 and lace == 0 and ctype in (2, 6), (depth, ctype, lace)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat); stride = w * bpp
    prev = bytearray(stride); out = bytearray()
    for y in range(h):
        f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride): line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
        out += line; prev = line
    colours = Counter(bytes(out[i:i + 3]) for i in range(0, len(out), bpp))
    bg, nbg = colours.most_common(1)[0]
    palette = {}
    for hexc in sys.argv[2].split(','):
        want = bytes.fromhex(hexc)
        palette[hexc] = sum(n for c, n in colours.items() if all(abs(c[k] - want[k]) <= 6 for k in range(3)))
    print(json.dumps({'width': w, 'height': h, 'differ': w * h - nbg, 'background': bg.hex(), 'palette': palette}))
    """
