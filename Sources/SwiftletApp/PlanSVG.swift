import SwiftletCore
import SwiftletModel

// `swiftlet inspect --plan-svg plan.svg`: the memory plan as a picture. Time (the execution step)
// runs left to right, the arena offset top to bottom; each arena tensor is a rectangle from the step
// that writes it to the last step that reads it, at its offset and as tall as its bytes. Graph inputs
// start at the left edge (they are written before step 0) and inputs and outputs last to the right edge.
// A dashed line marks the lower bound; hovering a rectangle shows the tensor (an SVG <title>).
// Concat inputs written in place are green, inside their Concat's block: a contiguous slice at its
// true offset, a strided one (channels of every pixel) as the band of the block its channels are.
// Kernel scratch (the int8 Mean's sums) is grey, at the one step that uses it.

/// The plan of `spec` as a standalone SVG document.
public func planSVG(_ spec: ModelSpec) -> String {
    let life = Lifetimes(spec)
    let steps = max(spec.nodes.count, 1)
    let arena = max(spec.arenaBytes, 1)
    let width = 960.0, height = 540.0, left = 70.0, top = 40.0, bottom = 40.0, right = 20.0
    let plotW = width - left - right, plotH = height - top - bottom
    func x(_ step: Int) -> Double { left + plotW * Double(step + 1) / Double(steps + 1) }
    func y(_ offset: Int) -> Double { top + plotH * Double(offset) / Double(arena) }
    func num(_ v: Double) -> String { formatFixed(v, 1) }
    func escape(_ s: String) -> String {
        var t = TextBuffer()
        t.append(escaped: s)
        return t.string
    }
    let lower = arenaLowerBound(spec)
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n"
    s += "<text x=\"\(Int(left))\" y=\"20\">\(escape(spec.name)): arena \(formatBytes(spec.arenaBytes)), lower bound \(formatBytes(lower)); time →, arena offset ↓</text>\n"
    s += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(plotW))\" height=\"\(num(plotH))\" fill=\"none\" stroke=\"#888\"/>\n"
    // A few fixed hues by dtype, alternating lightness by index so neighbours differ.
    let alias = Aliasing(spec, life: life)
    for t in 0..<spec.tensors.count {
        let info = spec.tensors[t]
        if info.storage != .arena || life.first[t] > life.last[t] || info.byteCount == 0 { continue }
        let x0 = x(life.first[t]), x1 = x(min(life.last[t], steps - 1)) + plotW / Double(steps + 1)
        var y0 = y(info.offset), h = max(y(info.offset + alias.span(t, spec.tensors)) - y0, 0.5)
        var hue = info.dtype == .int8 ? 30 : 210
        var note = ""
        let c = alias.sliceOf[t]
        if alias.ringRows[t] > 0 {
            hue = 280
            note = ", streamed: a ring of \(alias.ringRows[t]) of its \(info.shape[1]) rows (\(alias.span(t, spec.tensors)) bytes)"
        }
        if alias.inSlice(t, spec.tensors) {
            hue = 130
            let yc = spec.tensors[c]
            note = ", written in place into '\(yc.name)'"
            let stride = alias.rowStride[t]
            if stride > 0, let channels = info.shape.last {
                let first = (info.offset - yc.offset) / info.dtype.size
                y0 = y(yc.offset + yc.byteCount * first / stride)
                h = max(y(yc.offset + yc.byteCount * (first + channels) / stride) - y0, 0.5)
                note += " as its channels \(first)…\(first + channels - 1) of \(stride) (every pixel; drawn as a band)"
            }
        }
        let light = 55 + (t % 3) * 10
        s += "<rect x=\"\(num(x0))\" y=\"\(num(y0))\" width=\"\(num(max(x1 - x0, 1)))\" height=\"\(num(h))\" fill=\"hsl(\(hue),60%,\(light)%)\" stroke=\"#333\" stroke-width=\"0.3\">"
        s += "<title>\(escape(info.name)) \(Shape.text(info.shape)) \(info.dtype.name), \(info.byteCount) bytes at \(info.offset), steps \(life.first[t])…\(life.last[t])\(escape(note))</title></rect>\n"
    }
    // Kernel scratch: grey, at its step.
    for i in 0..<spec.nodes.count {
        let bytes = scratchBytes(spec.nodes[i], spec.tensors)
        guard bytes > 0, let off = scratchOffset(spec, step: i, life: life, alias: alias) else { continue }
        let y0 = y(off), h = max(y(off + bytes) - y0, 0.5)
        s += "<rect x=\"\(num(x(i)))\" y=\"\(num(y0))\" width=\"\(num(max(plotW / Double(steps + 1), 1)))\" height=\"\(num(h))\" fill=\"#999\" stroke=\"#333\" stroke-width=\"0.3\">"
        s += "<title>kernel scratch of '\(escape(spec.nodes[i].name))', \(bytes) bytes at \(off), step \(i)</title></rect>\n"
    }
    // Name the first Concat whose inputs were written in place, under its block.
    for (i, node) in spec.nodes.enumerated() {
        guard case .concat = node.op else { continue }
        let c = node.outputs[0]
        guard node.inputs.contains(where: { alias.sliceOf[$0] == c && alias.inSlice($0, spec.tensors) }) else { continue }
        let yc = spec.tensors[c]
        let firstWrite = node.inputs.map { life.first[$0] }.min() ?? i
        s += "<text x=\"\(num(x(firstWrite)))\" y=\"\(num(y(yc.offset + yc.byteCount) + 14))\" fill=\"hsl(130,60%,28%)\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">↑ zero-copy Concat '\(escape(node.name))': "
        s += "its inputs (green) are written into its block, no copy at step \(i)</text>\n"
        break
    }
    let yl = y(min(lower, arena))
    s += "<line x1=\"\(num(left))\" y1=\"\(num(yl))\" x2=\"\(num(left + plotW))\" y2=\"\(num(yl))\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>\n"
    s += "<text x=\"\(num(left + plotW - 80))\" y=\"\(num(yl - 4))\" fill=\"#c00\">lower bound</text>\n"
    s += "<text x=\"4\" y=\"\(num(top + plotH + 4))\">\(formatBytes(spec.arenaBytes))</text>\n"
    s += "<text x=\"4\" y=\"\(num(top + 4))\">0</text>\n"
    s += "<text x=\"\(num(left))\" y=\"\(num(height - 12))\">step 0</text>\n"
    s += "<text x=\"\(num(left + plotW - 60))\" y=\"\(num(height - 12))\">step \(steps - 1)</text>\n"
    s += "<text x=\"\(num(left + 90))\" y=\"\(num(height - 12))\"><tspan fill=\"hsl(210,60%,45%)\">■ float32</tspan>  <tspan fill=\"hsl(30,60%,45%)\">■ int8</tspan>  <tspan fill=\"hsl(130,60%,40%)\">■ Concat input written in place (zero-copy) inside its Concat's block</tspan>  <tspan fill=\"hsl(280,60%,45%)\">■ ring of rows</tspan></text>\n"
    return s + "</svg>\n"
}
