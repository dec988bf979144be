import SwiftletCompiler
import SwiftletCore

/// Resize (and the older Upsample) of the height and width of a 4-D NCHW input, nearest or linear,
/// to constant sizes or to constant scales that give whole sizes; Resize's coordinate transformation
/// modes half_pixel, asymmetric, align_corners and pytorch_half_pixel and its four nearest modes.
/// `axes` (the sizes or scales of some axes) too. Antialiasing, exclude_outside and
/// keep_aspect_ratio_policy are not supported.
extension NodeContext {
    static let resizeRules: [String: ImportRule] = [
        "Resize": { c throws(SwiftletError) in try c.resize() },
        "Upsample": { c throws(SwiftletError) in try c.resize() },
    ]

    mutating func resize() throws(SwiftletError) {
        let x = try shape(0)
        guard x.count == 4 else { throw unsupported("only 4-D NCHW resizing is supported") }
        var r = Resize()
        let mode = try attrs.string("mode", "nearest")
        guard let m = ["nearest": Resize.Mode.nearest, "linear": .linear, "bilinear": .linear][mode] else {
            throw unsupported("mode '\(mode)' is not supported (nearest, linear are)")
        }
        r.mode = m
        let antialias = try attrs.int("antialias", 0)
        let excludeOutside = try attrs.int("exclude_outside", 0)
        let policy = try attrs.string("keep_aspect_ratio_policy", "stretch")
        if antialias != 0 || excludeOutside != 0 || policy != "stretch" {
            throw unsupported("antialias, exclude_outside and keep_aspect_ratio_policy are not supported; export plain nearest or linear resizing with explicit sizes")
        }
        // `axes` (opset 18): the sizes or scales given are those of these axes, the others unchanged.
        let axes = try attrs.ints("axes", [0, 1, 2, 3]).map { a throws(SwiftletError) -> Int in try normAxis(a, 4, fail) }
        if Set(axes).count != axes.count { throw fail("axes \(Shape.text(axes)) repeat an axis") }
        var outSize: [Int]? = nil
        var scales: [Float]? = nil
        if op == "Upsample" {
            scales = g.values[try input(1)].constant?.asFloats
            (r.coordinate, r.nearest) = (.asymmetric, .floor)
        } else {
            if has(3), let s = try constInts(3), !s.isEmpty { outSize = try onAxes(s, axes, x) }
            if outSize == nil, let s = constFloats(2), !s.isEmpty { scales = try onAxes(s, axes, [1, 1, 1, 1]) }
            try resizeCoordinates(&r)
        }
        if let s = outSize, s.count == 4, s[0] == x[0], s[1] == x[1] {
            guard (1...OpLimits.resize).contains(s[2]), (1...OpLimits.resize).contains(s[3]) else {
                throw fail("sizes \(Shape.text(s)) must give an output height and width in 1...\(OpLimits.resize)")
            }
            (r.outH, r.outW) = (s[2], s[3])
        } else if let s = scales, s.count == 4, s[0] == 1, s[1] == 1 {
            let h = Float(x[2]) * s[2]
            let w = Float(x[3]) * s[3]
            // The kernels take the scale as out/in; ONNX uses the given scale in the coordinate
            // formula, which differs when in × scale is not whole.
            guard h.isFinite, w.isFinite, h <= Float(OpLimits.resize), w <= Float(OpLimits.resize) else {
                throw fail("scales \(s) give an output of \(h) x \(w), outside 1...\(OpLimits.resize)")
            }
            guard h == h.rounded(.down), w == w.rounded(.down), h >= 1, w >= 1 else {
                throw unsupported("scales \(s[2]), \(s[3]) do not give whole output sizes for \(x[2])x\(x[3]); export with explicit sizes")
            }
            r.outH = Int(h)
            r.outW = Int(w)
        } else {
            throw unsupported("scales or sizes must be constant and resize only H and W")
        }
        try produce(.resize(r), [x[0], x[1], r.outH, r.outW], inputs: [try input(0)])
    }

    /// `values` given for `axes`, placed into a copy of `all` (every axis's value).
    func onAxes<T>(_ values: [T], _ axes: [Int], _ all: [T]) throws(SwiftletError) -> [T] {
        guard values.count == axes.count else { throw fail("has \(values.count) sizes or scales for \(axes.count) axes") }
        var out = all
        for (k, a) in axes.enumerated() { out[a] = values[k] }
        return out
    }

    /// Resize's `coordinate_transformation_mode` and `nearest_mode` into `r`.
    func resizeCoordinates(_ r: inout Resize) throws(SwiftletError) {
        let ct = try attrs.string("coordinate_transformation_mode", "half_pixel")
        let coordinates: [String: Resize.Coordinate] = ["half_pixel": .halfPixel, "asymmetric": .asymmetric,
                                                       "align_corners": .alignCorners, "pytorch_half_pixel": .pytorchHalfPixel]
        guard let c = coordinates[ct] else { throw unsupported("coordinate_transformation_mode '\(ct)' is not supported") }
        r.coordinate = c
        let nm = try attrs.string("nearest_mode", "round_prefer_floor")
        let roundings: [String: Resize.Rounding] = ["round_prefer_floor": .roundPreferFloor, "round_prefer_ceil": .roundPreferCeil,
                                                    "floor": .floor, "ceil": .ceil]
        guard let rounding = roundings[nm] else {
            throw unsupported("nearest_mode '\(nm)' is not supported (round_prefer_floor, round_prefer_ceil, floor, ceil are)")
        }
        r.nearest = rounding
    }
}
