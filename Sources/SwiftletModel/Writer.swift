import SwiftletCore
import SwiftletDetect
import SwiftletKernels

/// The longest string (model, tensor, node or label name) and attribute list a `.swl` stores; the
/// reader refuses longer ones.
public let swlMaxStringBytes = 4096

/// Checks that `encodeSWL` can represent `spec`: each tensor's rank, dimensions (u32 in the tensor
/// record) and element count, each string's length, and each node's attributes, which must decode as
/// the reader decodes them (`Op.decode`). Throws naming the tensor, node or string, with the value.
public func checkWritable(_ spec: ModelSpec) throws(SwiftletError) {
    func fail(_ detail: String, _ hint: String) -> SwiftletError { .invalidModel(detail: detail, hint: hint) }
    func checkString(_ s: String, _ what: String, _ hint: String) throws(SwiftletError) {
        let n = s.utf8.count
        if n > swlMaxStringBytes { throw fail("\(what) is \(n) bytes long, a .swl stores up to \(swlMaxStringBytes)", hint) }
    }
    try checkString(spec.name, "the model name", "pass a shorter --name")
    if spec.postprocess.decoder != .none && spec.postprocess.kind != .detection {
        throw fail("the model has the \(spec.postprocess.decoder.name) decoder but its task is not detection", "import it with --task detection")
    }
    if let p = decoderProblem(spec) { throw fail("detection decoder: \(p)", "pass decoder options that match the model") }
    for l in spec.labels { try checkString(l, "a label", "shorten the labels") }
    for t in spec.tensors {
        try checkString(t.name, "a tensor name", "rename the tensor in the model")
        if t.shape.count > maxRank {
            throw fail("tensor '\(t.name)' has rank \(t.shape.count), a .swl stores up to \(maxRank)", "reshape it to fewer dimensions in the model")
        }
        for d in t.shape where d < 0 || d > Int(UInt32.max) {
            throw fail("tensor '\(t.name)' has dimension \(d) in \(Shape.text(t.shape)), a .swl stores 0...\(UInt32.max)", "use a smaller input shape")
        }
        if Shape.count(t.shape) == nil {
            throw fail("tensor '\(t.name)' of shape \(Shape.text(t.shape)) has too many elements for a .swl", "use a smaller input shape")
        }
        if t.offset < 0 || t.byteCount < 0 { throw fail("tensor '\(t.name)' has a negative offset or size", "") }
    }
    if spec.weights.count > Int(UInt32.max) {
        throw fail("the weights take \(spec.weights.count) bytes, a .swl stores up to \(UInt32.max)", "use a smaller model")
    }
    for nd in spec.nodes {
        try checkString(nd.name, "a node name", "rename the node in the model")
        let attrs = nd.op.encode()
        let what = "node '\(nd.name)' (\(nd.op.kind.name))"
        if attrs.count > swlMaxStringBytes || nd.inputs.count > swlMaxStringBytes {
            throw fail("\(what) has \(attrs.count) attribute values, a .swl stores up to \(swlMaxStringBytes)", "")
        }
        let back: Op
        do {
            back = try Op.decode(kind: nd.op.kind, attrs: attrs, where: what)
        } catch {
            var detail = error.message
            if case .invalidModel(let d, _) = error { detail = d }
            throw fail(detail, "a .swl cannot store this value; check the ONNX model's attributes")
        }
        if back != nd.op {
            throw fail("\(what): its attributes do not survive encoding (a value is out of range or not a number)", "check the ONNX model's attributes")
        }
    }
}

/// Encodes a `ModelSpec` as `.swl` bytes (layout in docs/format.md).
///
/// The output is a pure function of the spec: the same spec gives the same bytes. Values the format
/// cannot hold are clamped, never trapped on, so the reader refuses the result; call `checkWritable`
/// first to refuse such a spec with the tensor or node named. With `packWeights` (the default), each
/// convolution's and fully connected layer's weights that a SIMD kernel reads packed are stored in its
/// layout (`packedWeightsPlan`), so the runtime uses them in place from the mapped file.
public func encodeSWL(_ spec: ModelSpec, packWeights pack: Bool = true) -> [UInt8] {
    let plans = pack ? packedWeightsPlans(spec) : []
    var weights = spec.weights
    var place: [(offset: Int, count: Int, packed: Bool)] = spec.tensors.map { ($0.offset, $0.byteCount, false) }
    if plans.contains(where: { $0 != nil }) {
        // The weights section laid out anew, tensor by tensor: packed tensors in their layout, the
        // others as they are.
        var out: [UInt8] = []
        out.reserveCapacity(spec.weights.count + spec.weights.count / 16)
        spec.weights.withUnsafeBytes { src in
            func bytes(_ t: Int) -> UnsafeRawBufferPointer? {
                let info = spec.tensors[t]
                guard info.offset >= 0, info.byteCount >= 0, info.offset <= src.count, info.byteCount <= src.count - info.offset else { return nil }
                return UnsafeRawBufferPointer(rebasing: src[info.offset..<(info.offset + info.byteCount)])
            }
            for t in 0..<spec.tensors.count where spec.tensors[t].storage == .weights {
                while out.count % SWLFormat.alignment != 0 { out.append(0) }
                let at = out.count
                if let plan = plans[t], let w = bytes(t), let b = bytes(plan.bias), let wb = w.baseAddress, let bb = b.baseAddress {
                    let n = plan.shape.byteCount
                    out.append(contentsOf: repeatElement(0, count: n))
                    out.withUnsafeMutableBytes { o in SwiftletKernels.packWeights(plan.shape, w: wb, bias: bb, q: plan.q, into: o.baseAddress! + at) }
                    place[t] = (at, n, true)
                } else if let w = bytes(t) {
                    out.append(contentsOf: w)
                    place[t] = (at, w.count, false)
                } else {
                    place[t] = (spec.tensors[t].offset, spec.tensors[t].byteCount, false)  // out of range: the reader refuses it
                }
            }
        }
        weights = out
    }
    var strings = ByteWriter()
    func str(_ s: String) -> (UInt32, UInt32) {
        let off = UInt32(strings.bytes.count)
        var n: UInt32 = 0
        for b in s.utf8 {
            strings.u8(b)
            n += 1
        }
        return (off, n)
    }
    var ints = ByteWriter()
    var intCount: UInt32 = 0
    func intList(_ v: [Int]) -> UInt32 {
        let start = intCount
        for x in v {
            ints.i32(Int32(truncatingIfNeeded: x))
            intCount += 1
        }
        return start
    }
    func int32List(_ v: [Int32]) -> UInt32 {
        let start = intCount
        for x in v {
            ints.i32(x)
            intCount += 1
        }
        return start
    }

    var floats = ByteWriter()
    var floatCount: UInt32 = 0
    var tensors = ByteWriter()
    for (i, t) in spec.tensors.enumerated() {
        let (o, n) = str(t.name)
        tensors.u32(o)
        tensors.u32(n)
        tensors.u8(t.dtype.rawValue)
        tensors.u8(UInt8(clamping: t.shape.count))
        tensors.u8(place[i].packed ? SWLFormat.storagePacked : t.storage.rawValue)
        tensors.u8(t.layout.rawValue)
        // Quantization: kind (0 none, 1 per tensor, 2 per axis), axis, two reserved bytes.
        tensors.u8(t.quant == nil ? 0 : (t.quant?.axis == nil ? 1 : 2))
        tensors.u8(UInt8(clamping: t.quant?.axis ?? 0))
        tensors.u16(0)
        for i in 0..<maxRank { tensors.u32(i < t.shape.count ? UInt32(clamping: t.shape[i]) : 0) }
        tensors.u64(UInt64(clamping: place[i].offset))
        tensors.u64(UInt64(clamping: place[i].count))
        if let q = t.quant {
            tensors.i32(q.zeroPoint)
            tensors.u32(floatCount)
            for v in q.scales {
                floats.f32(v)
                floatCount += 1
            }
        } else {
            tensors.u64(0)
        }
    }

    var nodes = ByteWriter()
    for nd in spec.nodes {
        let (o, n) = str(nd.name)
        nodes.u16(nd.op.kind.rawValue)
        nodes.u16(0)
        nodes.u32(o)
        nodes.u32(n)
        nodes.u32(intList(nd.inputs))
        nodes.u32(UInt32(nd.inputs.count))
        nodes.u32(intList(nd.outputs))
        nodes.u32(UInt32(nd.outputs.count))
        let attrs = nd.op.encode()
        nodes.u32(int32List(attrs))
        nodes.u32(UInt32(attrs.count))
        nodes.u32(0)
    }

    var graph = ByteWriter()
    let (gn, gl) = str(spec.name)
    graph.u32(gn)
    graph.u32(gl)
    graph.u64(UInt64(clamping: spec.arenaBytes))
    graph.u32(UInt32(spec.inputs.count))
    graph.u32(intList(spec.inputs))
    graph.u32(UInt32(spec.outputs.count))
    graph.u32(intList(spec.outputs))
    graph.u32((spec.reuseInputs ? 1 : 0) | (spec.streamRows ? 2 : 0) | (spec.requantization == .float32 ? 4 : 0))
    graph.zeros(SWLFormat.graphRecordSize - graph.bytes.count)

    var pre = ByteWriter()
    if let p = spec.preprocess {
        pre.u32(1)
        pre.u8(p.resizeMode)
        pre.u8(p.bgr ? 1 : 0)
        pre.u16(0)
        pre.u32(UInt32(clamping: p.resizeShorter))
        pre.u32(0)
        for c in 0..<3 { pre.f32(c < p.mean.count ? p.mean[c] : 0) }
        for c in 0..<3 { pre.f32(c < p.std.count ? p.std[c] : 1) }
    }
    pre.zeros(SWLFormat.preprocessRecordSize - pre.bytes.count)

    var post = ByteWriter()
    post.u32(spec.postprocess.kind.rawValue)
    post.u32(spec.postprocess.outputsProbabilities ? 1 : 0)
    post.u32(spec.postprocess.decoder.kind.rawValue)
    // Bytes 12–63 (a parameter count and 12 floats up to 2.0) are zero: the DETECTOR section holds
    // the decoder's parameters.
    post.zeros(SWLFormat.postprocessRecordSize - post.bytes.count)

    var labels = ByteWriter()
    for l in spec.labels {
        let (o, n) = str(l)
        labels.u32(o)
        labels.u32(n)
    }

    // Sections in file order; WEIGHTS last so the metadata sits together at the front. FLOATS only
    // when some tensor is quantized, so a float model's bytes are those of version 1.0 but the header.
    var sections: [(SWLFormat.Section, UInt32, [UInt8])] = [
        (.graph, 1, graph.bytes),
        (.tensors, UInt32(spec.tensors.count), tensors.bytes),
        (.nodes, UInt32(spec.nodes.count), nodes.bytes),
        (.ints, intCount, ints.bytes),
        (.strings, UInt32(strings.bytes.count), strings.bytes),
        (.preprocess, 1, pre.bytes),
        (.postprocess, 1, post.bytes),
        (.labels, UInt32(spec.labels.count), labels.bytes),
    ]
    if floatCount > 0 { sections.append((.floats, floatCount, floats.bytes)) }
    switch spec.postprocess.decoder {
    case .ssd(let d): sections.append((.detector, 1, encodeDetectorRecord(d, spec.postprocess.nms)))
    case .retinaFace(let d): sections.append((.detector, 1, encodeRetinaFaceRecord(d, spec.postprocess.nms)))
    case .yolo(let d): sections.append((.detector, 1, encodeYOLORecord(d, spec.postprocess.nms)))
    case .none, .mtcnnStage: break
    }
    sections.append((.weights, UInt32(clamping: weights.count), weights))

    var out = ByteWriter()
    out.bytes.append(contentsOf: SWLFormat.magic)
    out.u16(UInt16(SWLFormat.versionMajor))
    out.u16(UInt16(SWLFormat.versionMinor))
    out.u32(UInt32(SWLFormat.headerSize))
    out.u32(UInt32(sections.count))
    out.u64(0)  // file size, patched below
    out.u32(0)  // CRC, patched below
    out.u32(0)  // flags
    out.u64(UInt64(SWLFormat.headerSize))
    out.zeros(SWLFormat.headerSize - out.bytes.count)
    let table = out.bytes.count
    out.zeros(sections.count * SWLFormat.sectionEntrySize)
    for (i, (kind, count, body)) in sections.enumerated() {
        out.align(SWLFormat.alignment)
        let e = table + i * SWLFormat.sectionEntrySize
        out.patch32(at: e, kind.rawValue)
        out.patch32(at: e + 4, count)
        out.patch64(at: e + 8, UInt64(out.bytes.count))
        out.patch64(at: e + 16, UInt64(body.count))
        out.bytes.append(contentsOf: body)
    }
    out.patch64(at: 16, UInt64(out.bytes.count))
    let crc = out.bytes.withUnsafeBytes { b in
        CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[SWLFormat.headerSize...]))
    }
    out.patch32(at: 24, crc)
    return out.bytes
}
