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
    let (weights, place) = swlWeights(spec, pack: pack)
    // The records in this order, which is the order of their strings and ints.
    var w = SWLRecordWriter()
    let tensors = w.tensorRecords(spec, place)
    let nodes = w.nodeRecords(spec)
    let graph = w.graphRecord(spec)
    let labels = w.labelRecords(spec)

    // Sections in file order; WEIGHTS last so the metadata sits together at the front. FLOATS only
    // when some tensor is quantized, so a float model's bytes are those of version 1.0 but the header.
    var sections: [(SWLFormat.Section, UInt32, [UInt8])] = [
        (.graph, 1, graph),
        (.tensors, UInt32(spec.tensors.count), tensors),
        (.nodes, UInt32(spec.nodes.count), nodes),
        (.ints, w.intCount, w.ints.bytes),
        (.strings, UInt32(w.strings.bytes.count), w.strings.bytes),
        (.preprocess, 1, preprocessRecord(spec)),
        (.postprocess, 1, postprocessRecord(spec)),
        (.labels, UInt32(spec.labels.count), labels),
    ]
    if w.floatCount > 0 { sections.append((.floats, w.floatCount, w.floats.bytes)) }
    switch spec.postprocess.decoder {
    case .ssd(let d): sections.append((.detector, 1, encodeDetectorRecord(d, spec.postprocess.nms)))
    case .retinaFace(let d): sections.append((.detector, 1, encodeRetinaFaceRecord(d, spec.postprocess.nms)))
    case .yolo(let d): sections.append((.detector, 1, encodeYOLORecord(d, spec.postprocess.nms)))
    case .none, .mtcnnStage: break
    }
    sections.append((.weights, UInt32(clamping: weights.count), weights))
    return swlFile(sections)
}

/// The weights section and each tensor's place in it. With `pack`, laid out anew, tensor by tensor:
/// the tensors a SIMD kernel reads packed in its layout, the others as they are; else the spec's own.
func swlWeights(_ spec: ModelSpec, pack: Bool) -> (weights: [UInt8], place: [(offset: Int, count: Int, packed: Bool)]) {
    let plans = pack ? packedWeightsPlans(spec) : []
    var place: [(offset: Int, count: Int, packed: Bool)] = spec.tensors.map { ($0.offset, $0.byteCount, false) }
    if !plans.contains(where: { $0 != nil }) { return (spec.weights, place) }
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
    return (out, place)
}

/// The file: header, section table, then each section 64-byte aligned; the file size and the CRC
/// of everything after the header patched in last.
func swlFile(_ sections: [(SWLFormat.Section, UInt32, [UInt8])]) -> [UInt8] {
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
