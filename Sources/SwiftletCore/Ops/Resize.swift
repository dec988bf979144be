/// Resize of an NHWC tensor's H and W.
public struct Resize: Equatable, Sendable {
    /// How output pixels are computed; the raw values are stored in `.swl`.
    public enum Mode: Int32, Sendable {
        case nearest = 0
        /// Bilinear over H and W (ONNX "linear").
        case linear = 1
    }

    /// ONNX `coordinate_transformation_mode`: how an output coordinate maps to an input one; the raw
    /// values are stored in `.swl`.
    public enum Coordinate: Int32, Sendable {
        case halfPixel = 0
        case asymmetric = 1
        case alignCorners = 2
        case pytorchHalfPixel = 3
    }

    /// ONNX `nearest_mode`: how nearest mode rounds a source coordinate; the raw values are stored in `.swl`.
    public enum Rounding: Int32, Sendable {
        case roundPreferFloor = 0
        case roundPreferCeil = 1
        case floor = 2
        case ceil = 3
    }

    public var mode = Mode.nearest
    public var coordinate = Coordinate.halfPixel
    public var nearest = Rounding.roundPreferFloor
    public var outH = 1, outW = 1
    public init() {}

    func encode(into a: inout [Int32]) {
        a.append(mode.rawValue)
        a.append(coordinate.rawValue)
        a.append(nearest.rawValue)
        a.append(Int32(truncatingIfNeeded: outH))
        a.append(Int32(truncatingIfNeeded: outW))
    }

    @_optimize(size)  // runs at load, as Op.decode
    static func decode(_ r: inout AttrReader) throws(SwiftletError) -> Resize {
        var z = Resize()
        z.mode = try r.choice("resize mode")
        z.coordinate = try r.choice("resize coordinate mode")
        z.nearest = try r.choice("resize nearest mode")
        z.outH = try r.positive("output height", max: OpLimits.resize)
        z.outW = try r.positive("output width", max: OpLimits.resize)
        return z
    }

    @_optimize(size)  // runs at load, as Op.outputShape
    func outputShape(_ x: [Int], _ fail: (String) -> SwiftletError) throws(SwiftletError) -> [Int] {
        guard x.count == 4 else { throw fail("input must be NHWC rank 4, got \(Shape.text(x))") }
        return [x[0], outH, outW, x[3]]
    }
}
