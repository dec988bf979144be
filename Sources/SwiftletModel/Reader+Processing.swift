import SwiftletCore
import SwiftletDetect

/// The `.swl` reader's pre-processing, post-processing (with the detection decoder's DETECTOR
/// record) and labels steps.
extension SWLReader {
    /// The PREPROCESS record, when its flag is set: resize mode, channel order, mean and std, for a
    /// model of one RGB or greyscale image input.
    func readPreprocess(_ spec: inout ModelSpec, _ preS: SectionRef) throws(SwiftletError) {
        let p = preS.offset
        if u32(p) == 1 {
            var pre = Preprocess()
            guard let mode = ResizeMode(rawValue: u8(p + 4)) else { throw fail("pre-processing record is invalid") }
            pre.resizeMode = mode
            pre.bgr = u8(p + 5) == 1
            pre.resizeShorter = u32(p + 8)
            if pre.resizeShorter > 1 << 15 { throw fail("pre-processing record is invalid") }
            pre.mean = [f32(p + 16), f32(p + 20), f32(p + 24)]
            pre.std = [f32(p + 28), f32(p + 32), f32(p + 36)]
            for s in pre.std where !(s > 0 && s < 1e30) { throw fail("pre-processing std \(s) must be positive") }
            for m in pre.mean where !(m > -1e30 && m < 1e30) { throw fail("pre-processing mean is not finite") }
            // One image input, as the importer requires: an image fills only the first input.
            if spec.inputs.count != 1 { throw fail("pre-processing is set but the model has \(spec.inputs.count) inputs; an image feeds one") }
            let inShape = spec.tensors[spec.inputs[0]].shape
            if inShape.count != 4 || (inShape[3] != 3 && inShape[3] != 1) {
                throw fail("pre-processing is set but the input is not an RGB or greyscale image tensor")
            }
            spec.preprocess = pre
        } else if u32(p) != 0 {
            throw fail("pre-processing flag is \(u32(p))")
        }
    }

    /// The POSTPROCESS record: output kind, probabilities flag and detection decoder, whose
    /// parameters the DETECTOR section holds.
    func readPostprocess(_ spec: inout ModelSpec, _ s: Sections) throws(SwiftletError) {
        let q = s.post.offset
        guard let okind = OutputKind(rawValue: UInt32(u32(q))) else { throw fail("unknown output kind \(u32(q))") }
        spec.postprocess.kind = okind
        spec.postprocess.outputsProbabilities = u32(q + 4) == 1
        // Bytes 12–63 held up to 12 decoder parameters before 2.1; nothing used them, so they are
        // ignored. Since 2.1 the DETECTOR section holds the decoder's parameters.
        let detS = s.detector
        guard let dkind = storedKind(u32(q + 8)) else {
            throw fail("post-processing names decoder \(u32(q + 8)), this build knows 0 (none), 1 (SSD anchors), 2 (MTCNN stage), 3 (RetinaFace priors) and 4 (YOLO)",
                       "it is corrupt or from a newer Swiftlet; update swiftlet or re-import the model")
        }
        switch dkind {
        case .none:
            break
        case .ssd:
            let d = try detectorRecord(detS, q, okind, "the SSD decoder (1)", "re-import the model with 'swiftlet import --decoder'")
            guard let (decoder, nms) = decodeDetectorRecord(u32: { (at: Int) -> Int in u32(d + at) }, f32: { (at: Int) -> Float in f32(d + at) }) else {
                throw fail("the DETECTOR record is invalid (decoder kind \(u32(d)), \(u32(d + 104)) layers, \(u32(d + 172)) aspect ratios, flags \(u32(d + 16)), NMS kind \(u32(d + 60)))",
                           "it is corrupt or from a newer Swiftlet; re-import the model")
            }
            try setDecoder(&spec, .ssd(decoder), nms)
        case .mtcnnStage:
            spec.postprocess.decoder = .mtcnnStage
        case .retinaFace:
            let d = try detectorRecord(detS, q, okind, "the RetinaFace decoder (3)", "re-import the model with 'swiftlet import --decoder retinaface'")
            #if SWIFTLET_NO_RETINAFACE
            throw fail("this board binary was built without the RetinaFace decoder (SWIFTLET_NO_RETINAFACE: it keeps the rpi4 binary under 1 MB)",
                       "run the model with the rpi5 or qemu-arm64 build, or the host swiftlet")
            #else
            guard let (decoder, nms) = decodeRetinaFaceRecord(u32: { (at: Int) -> Int in u32(d + at) }, f32: { (at: Int) -> Float in f32(d + at) },
                                                              u8: { (at: Int) -> Int in Int(u8(d + at)) }) else {
                throw fail("the RetinaFace DETECTOR record is invalid (decoder kind \(u32(d)), \(u32(d + 104)) levels, flags \(u32(d + 16)), NMS kind \(u32(d + 60)), or more min sizes than it holds)",
                           "it is corrupt or from a newer Swiftlet; re-import the model")
            }
            try setDecoder(&spec, .retinaFace(decoder), nms)
            #endif
        case .yolo:
            let d = try detectorRecord(detS, q, okind, "the YOLO decoder (4)", "re-import the model with 'swiftlet import --decoder yolov5' or 'yolov8'")
            #if SWIFTLET_NO_YOLO
            throw fail("this board binary was built without the YOLO decoders (SWIFTLET_NO_YOLO: it keeps the rpi4 binary under 1 MB)",
                       "run the model with the rpi5 or qemu-arm64 build, or the host swiftlet")
            #else
            guard let (decoder, nms) = decodeYOLORecord(u32: { (at: Int) -> Int in u32(d + at) }, f32: { (at: Int) -> Float in f32(d + at) }) else {
                throw fail("the YOLO DETECTOR record is invalid (decoder kind \(u32(d)), flags \(u32(d + 16)), NMS kind \(u32(d + 60)))",
                           "it is corrupt or from a newer Swiftlet; re-import the model")
            }
            try setDecoder(&spec, .yolo(decoder), nms)
            #endif
        }
    }

    /// The offset of the DETECTOR record that `decoder` (e.g. "the SSD decoder (1)"), named by the
    /// POSTPROCESS record at `q` (of output kind `okind`), needs: for a detection model, present (else `hint`), one record of
    /// its size.
    func detectorRecord(_ detS: SectionRef, _ q: Int, _ okind: OutputKind, _ decoder: String, _ hint: String) throws(SwiftletError) -> Int {
        if okind != .detection {
            throw fail("post-processing names \(decoder) for a model whose output kind is not detection (\(u32(q)))")
        }
        if !detS.present { throw fail("post-processing names \(decoder) but the DETECTOR section is missing", hint) }
        if detS.count != 1 || detS.length != SWLFormat.detectorRecordSize {
            throw fail("section DETECTOR has \(detS.length) bytes for \(detS.count) records, expected one of \(SWLFormat.detectorRecordSize)")
        }
        return detS.offset
    }

    /// Sets the detection decoder and its NMS, refused when they do not fit the model (`decoderProblem`).
    func setDecoder(_ spec: inout ModelSpec, _ decoder: Decoder, _ nms: NMSOptions) throws(SwiftletError) {
        spec.postprocess.decoder = decoder
        spec.postprocess.nms = nms
        if let p = decoderProblem(spec) { throw fail("detection decoder: \(p)", "re-import the model with decoder options that match it") }
    }

    /// The labels, as many as a classifier's output has classes.
    func readLabels(_ spec: inout ModelSpec, _ labelsS: SectionRef) throws(SwiftletError) {
        if labelsS.count > 1 << 16 { throw fail("\(labelsS.count) labels is implausible") }
        for i in 0..<labelsS.count { spec.labels.append(try string(labelsS.offset + 8 * i, "label \(i)")) }
        if spec.postprocess.kind == .classification && !spec.labels.isEmpty {
            let outShape = spec.tensors[spec.outputs[0]].shape
            if (outShape.last ?? 0) != spec.labels.count {
                throw fail("\(spec.labels.count) labels for an output of \(Shape.text(outShape))")
            }
        }
    }
}
