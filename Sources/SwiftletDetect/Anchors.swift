import SwiftletCore

/// One SSD anchor: centre and size, as fractions of the model input (MediaPipe's `Anchor`).
public struct Anchor: Equatable, Sendable {
    public var x: Float
    public var y: Float
    public var w: Float
    public var h: Float

    public init(x: Float, y: Float, w: Float, h: Float) {
        self.x = x
        self.y = y
        self.w = w
        self.h = h
    }
}

/// MediaPipe's `CalculateScale`: linear from `minScale` (first stride) to `maxScale` (last), computed in
/// double as the C++ is, then rounded to float.
func anchorScale(_ minScale: Float, _ maxScale: Float, _ index: Int, _ count: Int) -> Float {
    if count == 1 { return (minScale + maxScale) * 0.5 }
    return Float(Double(minScale) + Double(maxScale - minScale) * Double(index) / (Double(count) - 1))
}

extension SSDAnchorOptions {
    /// The anchors in the model's output order: MediaPipe's `SsdAnchorsCalculator::GenerateAnchors`.
    ///
    /// Layers are walked in order; consecutive layers with the same stride form one grid of
    /// `ceil(input / stride)` cells a side, and each cell (row-major) gets those layers' anchors in
    /// turn: per aspect ratio one at the layer's scale, then (when `interpolatedScaleAspectRatio > 0`)
    /// one at `sqrt(scale · next scale)` (next scale 1 after the last layer); the lowest layer may use
    /// the three predefined ones instead. Size `scale / sqrt(ratio)` high, `scale · sqrt(ratio)` wide,
    /// or 1 × 1 with `fixedAnchorSize`. Cost: one pass over the anchors, at load.
    public func generateAnchors() throws(SwiftletError) -> [Anchor] {
        if let p = problem() { throw .invalidModel(detail: "SSD anchors: \(p)", hint: "re-import with valid decoder options") }
        var out: [Anchor] = []
        out.reserveCapacity(anchorCount)
        var layer = 0
        let n = strides.count
        var widths: [Float] = []
        var heights: [Float] = []
        while layer < n {
            widths.removeAll(keepingCapacity: true)
            heights.removeAll(keepingCapacity: true)
            var last = layer
            while last < n && strides[last] == strides[layer] {
                let scale = anchorScale(minScale, maxScale, last, n)
                var scales: [(Float, Float)] = []  // (scale, ratio) of this layer's anchors
                if last == 0 && reduceBoxesInLowestLayer {
                    scales = [(0.1, 1), (scale, 2), (scale, 0.5)]
                } else {
                    for r in aspectRatios { scales.append((scale, r)) }
                    if interpolatedScaleAspectRatio > 0 {
                        let next: Float = last == n - 1 ? 1 : anchorScale(minScale, maxScale, last + 1, n)
                        scales.append(((scale * next).squareRoot(), interpolatedScaleAspectRatio))
                    }
                }
                for (s, ratio) in scales {
                    let r = ratio.squareRoot()
                    heights.append(s / r)
                    widths.append(s * r)
                }
                last += 1
            }
            let s = strides[layer]
            let gw = (inputWidth + s - 1) / s, gh = (inputHeight + s - 1) / s
            for y in 0..<gh {
                for x in 0..<gw {
                    let cx = (Float(x) + anchorOffsetX) / Float(gw)
                    let cy = (Float(y) + anchorOffsetY) / Float(gh)
                    for k in 0..<widths.count {
                        out.append(fixedAnchorSize ? Anchor(x: cx, y: cy, w: 1, h: 1) : Anchor(x: cx, y: cy, w: widths[k], h: heights[k]))
                    }
                }
            }
            layer = last
        }
        return out
    }
}
