import SwiftletCore

// Detections drawn into the source image (`swiftlet run --overlay`, issue #13): per detection a box
// outline 2 px wide in a colour per class, its keypoints as small filled squares, and a label with the
// score ("FACE 0.92") in a tiny built-in 5×7 bitmap font on a bar of the class colour, just above the
// box (inside its top when the box touches the image's top edge). Boxes and keypoints come from
// `Detector` in source pixels; a caller that holds the image at another size (a JPEG decoded at a
// reduced DCT scale) passes the scale from source to held pixels.
//
// Cost: O(k·(perimeter + label + keypoints)) pixel writes for k detections, nothing per image pixel:
// off the per-pixel path, so the code is optimised for size and not inlined (it is in every board
// binary). No allocation: `Canvas` writes through the caller's pixel pointer, the text comes from the label's
// UTF-8 bytes and the score's digits, and the glyphs are constants in code (`glyphRows`).

/// An 8-bit RGB colour.
public struct OverlayColor: Equatable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// The colour of class `label`'s boxes: eight saturated colours in turn (green for class 0).
    public static func forClass(_ label: Int) -> OverlayColor {
        switch (label % 8 + 8) % 8 {
        case 0: return OverlayColor(0, 255, 0)  // green
        case 1: return OverlayColor(255, 0, 255)  // magenta
        case 2: return OverlayColor(0, 255, 255)  // cyan
        case 3: return OverlayColor(255, 255, 0)  // yellow
        case 4: return OverlayColor(255, 128, 0)  // orange
        case 5: return OverlayColor(0, 128, 255)  // azure
        case 6: return OverlayColor(255, 0, 0)  // red
        default: return OverlayColor(128, 0, 255)  // violet
        }
    }

    /// Black on light colours, white on dark ones (Rec. 601 luma above or below 128).
    public var textColor: OverlayColor {
        let luma = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
        return luma > 128_000 ? OverlayColor(0, 0, 0) : OverlayColor(255, 255, 255)
    }
}

/// Interleaved 8-bit RGB pixels (row-major, no row padding) drawn on in place. Every call clips to
/// the image, so shapes partly or wholly outside it are safe.
public struct Canvas {
    public let pixels: UnsafeMutablePointer<UInt8>
    public let width: Int
    public let height: Int

    /// `pixels` must hold `width * height * 3` bytes and outlive the canvas.
    public init(pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "Canvas(pixels:width:height:): sizes must be non-negative")
        self.pixels = pixels
        self.width = width
        self.height = height
    }

    /// Fills the pixels [x0, x1) × [y0, y1), clipped to the image.
    @inline(never) @_optimize(size)
    public func fill(x0: Int, y0: Int, x1: Int, y1: Int, _ c: OverlayColor) {
        let ax = max(x0, 0), bx = min(x1, width), ay = max(y0, 0), by = min(y1, height)
        if ax >= bx || ay >= by { return }
        for y in ay..<by {
            var p = pixels + (y * width + ax) * 3
            for _ in ax..<bx {
                p[0] = c.r
                p[1] = c.g
                p[2] = c.b
                p += 3
            }
        }
    }

    /// The outline of [x0, x1) × [y0, y1), `thickness` pixels wide, inside those bounds.
    @inline(never) @_optimize(size)
    public func strokeRect(x0: Int, y0: Int, x1: Int, y1: Int, thickness: Int, _ c: OverlayColor) {
        let t = max(thickness, 1)
        fill(x0: x0, y0: y0, x1: x1, y1: min(y0 + t, y1), c)
        fill(x0: x0, y0: max(y1 - t, y0), x1: x1, y1: y1, c)
        fill(x0: x0, y0: y0, x1: min(x0 + t, x1), y1: y1, c)
        fill(x0: max(x1 - t, x0), y0: y0, x1: x1, y1: y1, c)
    }

    /// Draws one character of the built-in font with its top-left corner at (x, y), each font pixel
    /// `scale`×`scale` image pixels; the glyph is 5 × 7 font pixels, a character advances 6.
    @inline(never) @_optimize(size)
    public func drawCharacter(_ byte: UInt8, x: Int, y: Int, scale: Int, _ c: OverlayColor) {
        let rows = glyphRows(byte)
        if rows == 0 { return }
        let s = max(scale, 1)
        for row in 0..<7 {
            let bits = (rows >> UInt64(8 * row)) & 0x1F
            if bits == 0 { continue }
            for col in 0..<5 where bits & (0x10 >> UInt64(col)) != 0 {
                fill(x0: x + col * s, y0: y + row * s, x1: x + (col + 1) * s, y1: y + (row + 1) * s, c)
            }
        }
    }

    /// Draws the UTF-8 `text` from (x, y) (top-left) and returns the x after it. Letters are drawn as
    /// capitals; a character outside the font (`glyphRows`) is drawn as '?', one per Unicode scalar.
    @discardableResult @inline(never) @_optimize(size)
    public func drawText(_ text: [UInt8], x: Int, y: Int, scale: Int, _ c: OverlayColor) -> Int {
        var cx = x
        for b in text where b & 0xC0 != 0x80 {  // UTF-8 continuation bytes belong to the scalar before
            drawCharacter(b, x: cx, y: y, scale: scale, c)
            cx += 6 * max(scale, 1)
        }
        return cx
    }

    /// Draws `value` (≥ 0) in decimal and returns the x after it.
    @discardableResult @inline(never) @_optimize(size)
    public func drawNumber(_ value: Int, x: Int, y: Int, scale: Int, _ c: OverlayColor) -> Int {
        var v = max(value, 0)
        var digits = 1
        var p = 1
        while v / p >= 10 {
            p *= 10
            digits += 1
        }
        var cx = x
        for _ in 0..<digits {
            drawCharacter(UInt8(ascii: "0") + UInt8(v / p), x: cx, y: y, scale: scale, c)
            v %= p
            p /= 10
            cx += 6 * max(scale, 1)
        }
        return cx
    }
}

/// Characters `drawText` would draw for the UTF-8 `text` (one per Unicode scalar).
public func overlayTextLength(_ text: [UInt8]) -> Int {
    var n = 0
    for b in text where b & 0xC0 != 0x80 { n += 1 }
    return n
}

/// The digits of `value` (≥ 0) in decimal.
func decimalDigits(_ value: Int) -> Int {
    var n = 1
    var v = max(value, 0)
    while v >= 10 {
        v /= 10
        n += 1
    }
    return n
}

/// How a detector's detections are drawn (the sizes are in image pixels).
public struct OverlayStyle: Equatable, Sendable {
    /// Box outline width.
    public var lineWidth = 2
    /// Font pixel size: each of the 5×7 font pixels is `textScale` × `textScale` image pixels.
    public var textScale = 1
    /// Keypoint squares are `2 · keypointRadius + 1` pixels a side.
    public var keypointRadius = 2

    public init() {}

    /// The style for an image of this size: text and keypoints grow by one step every 480 pixels of
    /// the shorter side (1 up to 959, so 7-pixel capitals on a 640×480 frame), lines stay 2 pixels.
    public static func forImage(width: Int, height: Int) -> OverlayStyle {
        var s = OverlayStyle()
        s.textScale = max(1, min(width, height) / 480)
        s.keypointRadius = 1 + s.textScale
        return s
    }
}

/// `v` in pixels, rounded down and held within ±2²⁰ (NaN as −2²⁰): safe for `Int` and clipping.
func pixelFloor(_ v: Float) -> Int {
    if !(v > -1_048_576) { return -1_048_576 }
    if v > 1_048_576 { return 1_048_576 }
    return Int(v.rounded(.down))
}

func pixelCeil(_ v: Float) -> Int {
    if !(v > -1_048_576) { return -1_048_576 }
    if v > 1_048_576 { return 1_048_576 }
    return Int(v.rounded(.up))
}

/// The pixel bounds [x0, x1) × [y0, y1) a detection's box covers, at `scaleX`, `scaleY` image pixels
/// per source pixel: every pixel the continuous box touches, at least one.
@inline(never) @_optimize(size)
public func overlayBoxPixels(_ d: Detection, scaleX: Float = 1, scaleY: Float = 1) -> (x0: Int, y0: Int, x1: Int, y1: Int) {
    let x0 = pixelFloor(d.x0 * scaleX), y0 = pixelFloor(d.y0 * scaleY)
    return (x0, y0, max(pixelCeil(d.x1 * scaleX), x0 + 1), max(pixelCeil(d.y1 * scaleY), y0 + 1))
}

/// Draws `detector`'s last detections on `canvas`: boxes and keypoints first, then every label on top
/// ("LABEL 0.92": the class name from `labels`, or its number, and the score to two decimals).
/// `labels`: each class name's UTF-8 bytes (`Array(name.utf8)`, made once, not per frame).
/// `scaleX`, `scaleY`: canvas pixels per source pixel (1 unless the image is held at another size).
@inline(never) @_optimize(size)
public func drawDetections<R: DetectionResults>(_ detector: R, labels: [[UInt8]], on canvas: Canvas, scaleX: Float = 1, scaleY: Float = 1,
                           style: OverlayStyle) {
    let k = detector.keypointCount
    let r = style.keypointRadius
    for (i, d) in detector.detections.enumerated() {
        let color = OverlayColor.forClass(d.label)
        let b = overlayBoxPixels(d, scaleX: scaleX, scaleY: scaleY)
        canvas.strokeRect(x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, thickness: style.lineWidth, color)
        for j in 0..<k {
            let p = detector.keypoint(i, j)
            if !p.x.isFinite || !p.y.isFinite { continue }
            let px = pixelFloor(p.x * scaleX), py = pixelFloor(p.y * scaleY)
            canvas.fill(x0: px - r, y0: py - r, x1: px + r + 1, y1: py + r + 1, color)
        }
    }
    for d in detector.detections {
        let color = OverlayColor.forClass(d.label)
        let b = overlayBoxPixels(d, scaleX: scaleX, scaleY: scaleY)
        let hasName = d.label >= 0 && d.label < labels.count
        let nameLength = hasName ? overlayTextLength(labels[d.label]) : decimalDigits(d.label)
        let s = style.textScale
        // The name, a space and "0.92": 6 font pixels a character, a 1-pixel margin round the text.
        let w = (nameLength + 5) * 6 * s + s, h = 9 * s
        let x = max(0, min(b.x0, canvas.width - w))
        let y = b.y0 - h >= 0 ? b.y0 - h : max(b.y0, 0)
        canvas.fill(x0: x, y0: y, x1: x + w, y1: y + h, color)
        let ink = color.textColor
        var cx = x + s
        if hasName {
            cx = canvas.drawText(labels[d.label], x: cx, y: y + s, scale: s, ink)
        } else {
            cx = canvas.drawNumber(d.label, x: cx, y: y + s, scale: s, ink)
        }
        let hundredths = d.score.isFinite ? Int((min(max(d.score, 0), 1) * 100).rounded()) : 0
        cx += 6 * s
        cx = canvas.drawNumber(hundredths / 100, x: cx, y: y + s, scale: s, ink)
        canvas.drawCharacter(UInt8(ascii: "."), x: cx, y: y + s, scale: s, ink)
        cx += 6 * s
        canvas.drawNumber(hundredths / 10 % 10, x: cx, y: y + s, scale: s, ink)
        canvas.drawNumber(hundredths % 10, x: cx + 6 * s, y: y + s, scale: s, ink)
    }
}

/// Seven 5-bit rows, top first, packed into a `UInt64` (row i in byte i, bit 4 the leftmost column).
@inline(__always)
private func rows(_ r0: UInt64, _ r1: UInt64, _ r2: UInt64, _ r3: UInt64, _ r4: UInt64, _ r5: UInt64, _ r6: UInt64) -> UInt64 {
    r0 | r1 << 8 | r2 << 16 | r3 << 24 | r4 << 32 | r5 << 40 | r6 << 48
}

/// The built-in 5×7 font: the rows of ASCII character `c` (`rows` layout); 0 for a space.
/// Digits, capitals (small letters are drawn as capitals) and `. : - _ / % ( ) , ' + = # *`; any
/// other byte is '?'. Drawn for Swiftlet, in the style of the common 5×7 LCD character sets.
@inline(never) @_optimize(size)
public func glyphRows(_ c: UInt8) -> UInt64 {
    var c = c
    if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { c -= 32 }
    switch c {
    case UInt8(ascii: " "): return 0
    case UInt8(ascii: "0"): return rows(0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E)
    case UInt8(ascii: "1"): return rows(0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E)
    case UInt8(ascii: "2"): return rows(0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F)
    case UInt8(ascii: "3"): return rows(0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E)
    case UInt8(ascii: "4"): return rows(0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02)
    case UInt8(ascii: "5"): return rows(0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E)
    case UInt8(ascii: "6"): return rows(0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E)
    case UInt8(ascii: "7"): return rows(0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08)
    case UInt8(ascii: "8"): return rows(0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E)
    case UInt8(ascii: "9"): return rows(0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C)
    case UInt8(ascii: "A"): return rows(0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11)
    case UInt8(ascii: "B"): return rows(0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E)
    case UInt8(ascii: "C"): return rows(0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E)
    case UInt8(ascii: "D"): return rows(0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C)
    case UInt8(ascii: "E"): return rows(0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F)
    case UInt8(ascii: "F"): return rows(0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10)
    case UInt8(ascii: "G"): return rows(0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F)
    case UInt8(ascii: "H"): return rows(0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11)
    case UInt8(ascii: "I"): return rows(0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E)
    case UInt8(ascii: "J"): return rows(0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C)
    case UInt8(ascii: "K"): return rows(0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11)
    case UInt8(ascii: "L"): return rows(0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F)
    case UInt8(ascii: "M"): return rows(0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11)
    case UInt8(ascii: "N"): return rows(0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11)
    case UInt8(ascii: "O"): return rows(0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E)
    case UInt8(ascii: "P"): return rows(0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10)
    case UInt8(ascii: "Q"): return rows(0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D)
    case UInt8(ascii: "R"): return rows(0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11)
    case UInt8(ascii: "S"): return rows(0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E)
    case UInt8(ascii: "T"): return rows(0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04)
    case UInt8(ascii: "U"): return rows(0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E)
    case UInt8(ascii: "V"): return rows(0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04)
    case UInt8(ascii: "W"): return rows(0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A)
    case UInt8(ascii: "X"): return rows(0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11)
    case UInt8(ascii: "Y"): return rows(0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04)
    case UInt8(ascii: "Z"): return rows(0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F)
    case UInt8(ascii: "."): return rows(0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C)
    case UInt8(ascii: ":"): return rows(0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00)
    case UInt8(ascii: "-"): return rows(0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00)
    case UInt8(ascii: "_"): return rows(0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F)
    case UInt8(ascii: "/"): return rows(0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00)
    case UInt8(ascii: "%"): return rows(0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03)
    case UInt8(ascii: "("): return rows(0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02)
    case UInt8(ascii: ")"): return rows(0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08)
    case UInt8(ascii: ","): return rows(0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08)
    case UInt8(ascii: "'"): return rows(0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00)
    case UInt8(ascii: "+"): return rows(0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00)
    case UInt8(ascii: "="): return rows(0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00)
    case UInt8(ascii: "#"): return rows(0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A)
    case UInt8(ascii: "*"): return rows(0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00)
    default: return rows(0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04)  // '?'
    }
}
