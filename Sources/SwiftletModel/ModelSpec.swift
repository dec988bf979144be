import SwiftletCore
import SwiftletDetect

/// Where a tensor's bytes live. Raw value stored in `.swl`: append only.
public enum Storage: UInt8, Sendable {
    /// In the arena, at the plan's offset.
    case arena = 0
    /// In the file's weights section, used in place.
    case weights = 1
}

/// How an int8 tensor's integers map to real values: `real = scale · (q − zeroPoint)`.
///
/// Activations have one scale and a zero point (`axis == nil`); weights one scale per slice along
/// `axis` (the output channel) and zero point 0. Stored in the tensor record and the FLOATS section.
public struct TensorQuant: Equatable, Sendable {
    public var scales: [Float]
    public var zeroPoint: Int32
    /// The per-channel axis of the physical shape, or nil for one scale.
    public var axis: Int?

    public init(scale: Float, zeroPoint: Int32) {
        scales = [scale]
        self.zeroPoint = zeroPoint
        axis = nil
    }

    public init(scales: [Float], axis: Int) {
        self.scales = scales
        zeroPoint = 0
        self.axis = axis
    }

    /// The one scale and zero point (per-tensor parameters; the first channel's otherwise).
    public var params: QuantParams { QuantParams(scale: scales[0], zeroPoint: zeroPoint) }
}

/// One tensor of a packed model: physical shape, storage and place.
public struct TensorInfo: Equatable, Sendable {
    public var name: String
    public var dtype: DType
    /// Physical dims (NHWC for `layout == .nhwc`).
    public var shape: [Int]
    public var layout: Layout
    public var storage: Storage
    /// Arena offset, or offset in the weights section.
    public var offset: Int
    public var byteCount: Int
    /// int8 tensors' scales and zero point (nil for float32 and int32 tensors).
    public var quant: TensorQuant? = nil

    public init(name: String, dtype: DType, shape: [Int], layout: Layout = .plain, storage: Storage = .arena,
                offset: Int = 0) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.layout = layout
        self.storage = storage
        self.offset = offset
        self.byteCount = (Shape.count(shape) ?? 0) * dtype.size
    }

    /// A weight tensor's scale per output channel (`shape[0]` of them): its per-channel scales, its
    /// one scale repeated, or 1 where it is not quantized.
    public var channelScales: [Float] {
        guard let q = quant else { return [Float](repeating: 1, count: shape.first ?? 0) }
        if q.axis != nil { return q.scales }
        return [Float](repeating: q.scales[0], count: shape.first ?? 0)
    }

    /// The ONNX (logical) shape: NCHW for `.nhwc` tensors.
    public var logicalShape: [Int] {
        layout == .nhwc && shape.count == 4 ? Shape.permute(shape, Shape.nhwcToNCHW) : shape
    }
}

/// One node: an op, its tensors (indices into the tensor list) and a name for messages.
public struct NodeInfo: Equatable, Sendable {
    public var op: Op
    public var name: String
    public var inputs: [Int]
    public var outputs: [Int]

    public init(op: Op, name: String, inputs: [Int], outputs: [Int]) {
        self.op = op
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// How an image is brought to the model's input size; the raw values are stored in `.swl`.
public enum ResizeMode: UInt8, Sendable {
    /// Stretched to the input size.
    case stretch = 0
    /// The shorter side resized to `resizeShorter` (0: the input's size), then a centre crop.
    case shorterCrop = 1
    /// (Format 2.3) letterbox: the whole image scaled by one factor to fit, centred, the rest black
    /// (MediaPipe's `keep_aspect_ratio`; `letterboxPlacement`).
    case letterbox = 2
}

/// How an image becomes the model's input: resize, colour order, `(pixel − mean) / std`.
public struct Preprocess: Equatable, Sendable {
    public var resizeMode = ResizeMode.stretch
    public var resizeShorter = 0
    /// Channel order the model expects.
    public var bgr = false
    /// In 0…255 pixel units, per channel of the model's order.
    public var mean: [Float] = [0, 0, 0]
    public var std: [Float] = [1, 1, 1]

    public init() {}
}

/// What the outputs mean. Raw values stored in `.swl`: append only.
public enum OutputKind: UInt32, Sendable {
    case raw = 0
    /// One output of class logits (or probabilities).
    case classification = 1
    /// Box regressors and scores, decoded by `decoder`.
    case detection = 2
}

/// Output post-processing metadata.
public struct Postprocess: Equatable, Sendable {
    public var kind: OutputKind = .raw
    /// Classification: the output already holds probabilities (no softmax for display).
    public var outputsProbabilities = false
    /// Detection: how the outputs become boxes (POSTPROCESS bytes 8–11 hold its kind, the DETECTOR
    /// section its parameters).
    public var decoder: Decoder = .none
    /// Detection: the suppression and the default thresholds `run` uses unless its flags say otherwise.
    public var nms = NMSOptions()

    public init() {}
}

/// Everything a `.swl` file holds, in memory. The writer encodes it; the reader validates and decodes it.
public struct ModelSpec: Sendable {
    public var name = ""
    public var tensors: [TensorInfo] = []
    public var nodes: [NodeInfo] = []
    public var inputs: [Int] = []
    public var outputs: [Int] = []
    public var arenaBytes = 0
    /// Whether the plan may reuse the graph inputs' bytes once they are read (GRAPH flag bit 0).
    /// Off: the inputs are kept for the whole run, so the same input can run again (as TFLite's
    /// `preserve_inputs`). On: every run needs its input set first (a camera stream does anyway),
    /// and the arena loses the input's size beside the peak.
    public var reuseInputs = false
    /// Whether Conv → Conv pairs may run row by row through a ring of rows instead of the whole
    /// tensor between them (`streamedRows`; GRAPH flag bit 1). `swiftlet import` sets it; the
    /// quantizer's own measuring models clear it, since they read every tensor.
    public var streamRows = false
    /// How int8 convolutions, fully connected layers and adds requantize (GRAPH flag bit 2: float32;
    /// `RequantizationMode`). `swiftlet quantize` chooses; files before format 2.2 are fixed point.
    public var requantization: RequantizationMode = .fixedPoint
    public var preprocess: Preprocess? = nil
    public var postprocess = Postprocess()
    public var labels: [String] = []
    /// The weights section (constant tensors at their `offset`, 64-byte aligned). Empty after reading:
    /// the reader's `PackedModel` points into the mapped file instead.
    public var weights: [UInt8] = []

    public init() {}

    /// Parameters: elements of constant tensors.
    public var parameterCount: Int {
        var n = 0
        for t in tensors where t.storage == .weights { n += Shape.count(t.shape) ?? 0 }
        return n
    }
}
