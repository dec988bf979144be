import Foundation
import SwiftletCore
import SwiftletModel

// The layer report of `swiftlet quantize`, as text (stdout) and JSON (--report).

func fmt(_ v: Double?, _ digits: Int = 1) -> String {
    guard let v else { return "-" }
    return String(format: "%.\(digits)f", v)
}

func fmtScale(_ v: Float?) -> String {
    guard let v else { return "-" }
    return String(format: "%.3g", Double(v))
}

func jsonValue(_ v: Double?) -> String {
    guard let v, v.isFinite else { return "null" }
    return String(format: "%.6g", v)
}

extension QuantizeResult {
    /// Layers sorted by their own SQNR, worst first (int8 layers only).
    public var worstLayers: [LayerReport] {
        layers.filter { $0.int8 && $0.layerSQNR != nil }.sorted { a, b in
            a.layerSQNR! != b.layerSQNR! ? a.layerSQNR! < b.layerSQNR! : a.index < b.index
        }
    }

    /// The report as lines of text.
    public func text(modelName: String, worst: Int = 5) -> [String] {
        var lines: [String] = []
        let int8Count = layers.filter { $0.int8 }.count
        var skipped: [String] = []
        if !imagesFailed.isEmpty { skipped.append("\(imagesFailed.count) unreadable") }
        if !imagesOutOfRange.isEmpty { skipped.append("\(imagesOutOfRange.count) out of range in float") }
        lines.append("calibration: \(method.text) on \(imagesUsed.count) images" + (skipped.isEmpty ? "" : " (\(skipped.joined(separator: ", ")), skipped)"))
        for (p, why) in imagesFailed + imagesOutOfRange { lines.append("  skipped \(p): \(why)") }
        lines.append("\(modelName): \(int8Count) of \(layers.count) layers int8")
        let header = ["#", "layer", "op", "out scale", "zp", "w scale min..max", "w SQNR", "out SQNR", "layer SQNR", "model SQNR", "cosine"]
        var rows: [[String]] = [header]
        for l in layers {
            if !l.int8 {
                rows.append(["\(l.index)", l.name, l.op, "float", "", l.floatReason ?? "", "", "", "", "", ""])
                continue
            }
            let w = l.weightScaleMin.map { "\(fmtScale($0))..\(fmtScale(l.weightScaleMax))" } ?? "-"
            rows.append(["\(l.index)", l.name, l.op, fmtScale(l.outputScale), l.outputZeroPoint.map { "\($0)" } ?? "-", w,
                         fmt(l.weightSQNR), fmt(l.outputSQNR), fmt(l.layerSQNR), fmt(l.modelSQNR), fmt(l.cosine, 4)])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], min(c.count, 40)) } }
        for r in rows {
            var s = ""
            for (i, c) in r.enumerated() {
                let cell = c.count > 40 ? String(c.prefix(39)) + "…" : c
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                s += (i >= 3 ? pad + cell : cell + pad) + "  "
            }
            lines.append("  " + s.trimmingCharacters(in: .whitespaces))
        }
        let w = worstLayers.prefix(worst)
        if !w.isEmpty {
            lines.append("worst layers (their own SQNR: weight and output rounding together):")
            for l in w { lines.append("  #\(l.index) \(l.name) (\(l.op)): \(fmt(l.layerSQNR)) dB") }
        }
        if !keptByThreshold.isEmpty {
            lines.append("kept float by --float-fallback auto: \(keptByThreshold.joined(separator: ", ")); cost \(fallbackExtraBytes) bytes of file, \(formatCount(fallbackFloatMACs)) MACs in float")
        }
        if let e = equalization {
            lines.append("cross-layer equalization: \(e.pairs) conv pairs, \(e.relu6Replaced) ReLU6 between them replaced by ReLU; the equalized float model alone is \(fmt(e.floatSQNR)) dB from the original (all figures are against the original)")
        }
        for d in degenerate { lines.append("note: '\(d)' was all zeros on the calibration images; it got a safe scale (1/128)") }
        for n in notes { lines.append("note: \(n)") }
        for o in outputs {
            lines.append("output '\(o.name)': int8 vs float SQNR \(fmt(o.sqnr)) dB, cosine \(fmt(o.cosine, 5)) (on the \(imagesUsed.count) calibration images)")
        }
        return lines
    }

    /// The report as one JSON object.
    public func json(modelName: String, output: String) -> String {
        var s = "{\"model\": \(jsonString(modelName)), \"output\": \(jsonString(output)), \"method\": \(jsonString(method.text)), "
        s += "\"images_used\": \(imagesUsed.count), \"images_failed\": ["
        s += (imagesFailed + imagesOutOfRange).map { "{\"path\": \(jsonString($0.0)), \"error\": \(jsonString($0.1))}" }.joined(separator: ", ") + "], "
        s += "\"layers\": [\n"
        var rows: [String] = []
        for l in layers {
            var r = "  {\"index\": \(l.index), \"name\": \(jsonString(l.name)), \"op\": \(jsonString(l.op)), \"int8\": \(l.int8)"
            if let why = l.floatReason { r += ", \"float_reason\": \(jsonString(why))" }
            if let sc = l.outputScale { r += ", \"output_scale\": \(jsonValue(Double(sc))), \"output_zero_point\": \(l.outputZeroPoint ?? 0)" }
            if let a = l.weightScaleMin, let b = l.weightScaleMax { r += ", \"weight_scale_min\": \(jsonValue(Double(a))), \"weight_scale_max\": \(jsonValue(Double(b)))" }
            r += ", \"weight_sqnr_db\": \(jsonValue(l.weightSQNR)), \"output_sqnr_db\": \(jsonValue(l.outputSQNR))"
            r += ", \"layer_sqnr_db\": \(jsonValue(l.layerSQNR)), \"model_sqnr_db\": \(jsonValue(l.modelSQNR)), \"cosine\": \(jsonValue(l.cosine)), \"macs\": \(l.macs)}"
            rows.append(r)
        }
        s += rows.joined(separator: ",\n") + "\n], \"worst_layers\": ["
        s += worstLayers.prefix(5).map { jsonString($0.name) }.joined(separator: ", ") + "], "
        s += "\"kept_float\": [" + keptByThreshold.map { jsonString($0) }.joined(separator: ", ") + "], "
        s += "\"fallback_extra_bytes\": \(fallbackExtraBytes), \"fallback_float_macs\": \(fallbackFloatMACs), "
        if let e = equalization { s += "\"equalized_pairs\": \(e.pairs), \"relu6_replaced\": \(e.relu6Replaced), \"equalized_float_sqnr_db\": \(jsonValue(e.floatSQNR)), " }
        s += "\"degenerate\": [" + degenerate.map { jsonString($0) }.joined(separator: ", ") + "], "
        s += "\"outputs\": [" + outputs.map { "{\"name\": \(jsonString($0.name)), \"sqnr_db\": \(jsonValue($0.sqnr)), \"cosine\": \(jsonValue($0.cosine))}" }.joined(separator: ", ")
        return s + "]}\n"
    }
}
