import CSwiftletSys
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime
import SwiftletVision

#if !SWIFTLET_NO_CAMERA
/// The state `runStream`'s frame loop shares: what it set up (the producer, the pipeline, the
/// decoders) and what the frames add up (stage times, sums for the summary). Everything a frame uses
/// is made here once, so a frame allocates nothing.
struct StreamLoop {
    let interpreter: Interpreter
    let o: RunOptions
    let spec: ModelSpec
    let pre: Preprocess
    let shape: [Int]
    let detector: Detector?
    let nms: NMSOptions?
    let labelBytes: [[UInt8]]
    let keep: Bool
    let started: UInt64
    let deadline: UInt64?
    let producer: FrameProducer
    let source: String
    let pipeline: FramePipeline?
    let input: UnsafeMutablePointer<Float>
    var frameImage = RGBImage(width: 0, height: 0)
    var times: StageTimes
    var done = 0
    var copySum: UInt64 = 0, waitSum: UInt64 = 0, printSum: UInt64 = 0
    var line = TextBuffer(capacity: 16384)
    var classification: Classification?

    /// Checks the model takes camera frames and the options, then opens the source and the pipeline.
    init(_ interpreter: Interpreter, _ o: RunOptions) throws(SwiftletError) {
        let s = o.stream
        let spec = interpreter.spec
        guard let pre = spec.preprocess else {
            throw .invalidModel(detail: "\(o.modelPath) has no pre-processing metadata (mean, std, resize), so it cannot take camera frames",
                                hint: "re-import it with 'swiftlet import model.onnx -o model.swl --mean R,G,B --std R,G,B'")
        }
        let shape = spec.tensors[spec.inputs[0]].shape
        if spec.inputs.count != 1 || shape[0] != 1 || (shape[3] != 1 && shape[3] != 3) {
            throw .invalidModel(detail: "\(o.modelPath) takes \(spec.inputs.count) inputs of shape \(Shape.text(shape))",
                                hint: "--camera and --video feed one image to a one-input model with 1 or 3 channels")
        }
        let detector = try makeDetector(spec)
        // --overlay: each frame is kept in RGB at full size, drawn on and written as DIR/frame_NNNNNN.jpg
        // (.ppm on the boards); this allocates (the encoder's buffers) and costs a conversion, a second
        // MJPEG decode and an encode per frame.
        if o.overlayFolder != nil && detector == nil {
            throw .usage(detail: "--overlay draws detections; \(o.modelPath) has no detection decoder (re-import it with 'swiftlet import --decoder')")
        }
        if let dir = o.overlayFolder { try prepareOverlayFolder(dir) }
        self.interpreter = interpreter
        self.o = o
        self.spec = spec
        self.pre = pre
        self.shape = shape
        self.detector = detector
        labelBytes = o.overlayFolder == nil ? [] : spec.labels.map { Array($0.utf8) }
        keep = o.overlayFolder != nil
        let started = sys_monotonicNanoseconds()
        let deadline = s.duration.map { started &+ UInt64($0 * 1e9) }
        self.started = started
        self.deadline = deadline
        let producer = try FrameProducer(s, input: FrameInput(pre: pre, width: shape[2], height: shape[1], channels: shape[3]), json: o.json,
                                         deadline: deadline)
        self.producer = producer
        source = producer.source
        let count = shape[1] * shape[2] * shape[3]
        // The capture thread runs beside the inference threads: on the first --affinity CPU they leave
        // free, else on the last one (sharing it), else wherever the system puts it.
        let cpu = o.affinity.isEmpty ? -1 : o.affinity.count > o.threads ? o.affinity[o.threads] : o.affinity[o.affinity.count - 1]
        pipeline = s.pipeline ? try FramePipeline(producer, count: count, latest: s.camera != nil && !s.queue, cpu: cpu, keepImages: keep) : nil
        nms = detector.map { nmsOptions($0, o) }
        times = StageTimes(capacity: min(s.frames ?? 10_000, 10_000))
        input = interpreter.inputPointer(0)
        classification = detector == nil && spec.postprocess.kind == .classification ? Classification(interpreter, k: o.topK) : nil
    }

    /// Whether another frame is due: under --frames (corrupt frames count) and before --duration's deadline.
    func more() -> Bool {
        (o.stream.frames.map { done + producer.corruptCount < $0 } ?? true) && (deadline.map { sys_monotonicNanoseconds() < $0 } ?? true)
    }

    /// The next frame into the model's input, from the pipeline or read here: nil at the end, or on a
    /// failure (then in `failure`).
    mutating func next(_ failure: inout SwiftletError?) -> (frame: StagedFrame, copyNs: UInt64)? {
        var f = StagedFrame()
        if let pipeline {
            guard let t = pipeline.take(into: input, image: &frameImage, deadline: deadline ?? 0) else {
                failure = pipeline.failure
                return nil
            }
            return t
        }
        do {
            let more = keep ? try withUnsafeMutablePointer(to: &frameImage) { [producer, input] p throws(SwiftletError) in
                try producer.produce(into: input, &f, image: p, keepGoing: { true })
            } : try producer.produce(into: input, &f, image: nil, keepGoing: { true })
            if !more { return nil }
        } catch {
            failure = error
            return nil
        }
        return (f, 0)
    }

    /// Streams until the frames, the deadline or the source end; returns the failure that stopped it.
    mutating func run() -> SwiftletError? {
        var failure: SwiftletError? = nil
        while more() {
            guard let t = next(&failure) else { break }
            let f = t.frame, copy = t.copyNs
            let t2 = sys_monotonicNanoseconds()
            interpreter.invoke()
            let t3 = sys_monotonicNanoseconds()
            var overlay: String? = nil
            if let detector, let nms {
                let mapping = inputMapping(pre, decoded: f.decodedSize, source: f.frameSize, input: (shape[2], shape[1]))
                _ = runDetector(detector, interpreter, mapping: mapping, options: nms)
                if let dir = o.overlayFolder {
                    let path = frameFile(dir, done, overlayExtension)
                    do {
                        // The frames' files are named as they come: each is checked against the inputs
                        // (a recording saved as DIR/frame_000003.jpg is not written over).
                        try checkOutputPath(path, flag: "--overlay", inputs: o.inputFiles)
                        try writeOverlay(detector, labels: labelBytes, image: &frameImage, mapping: mapping, path: path)
                    } catch {
                        failure = error
                        break
                    }
                    overlay = path
                }
            }
            let t4 = sys_monotonicNanoseconds()
            let latency = t4 &- min(f.stamp, t4)
            let preNs = f.preNs &+ copy
            copySum &+= copy
            if o.stream.video != nil { waitSum &+= f.waitNs }
            times.add((f.waitNs, preNs, t3 &- t2, t4 &- t3, latency))
            printFrame(f, preNs: preNs, inferNs: t3 &- t2, postNs: t4 &- t3, latency: latency, overlay: overlay)
            o.frameHook?(done)
            let t5 = sys_monotonicNanoseconds()
            printSum &+= t5 &- t4
            pipeline?.frameDone(t5 &- t2)
            done += 1
        }
        return failure
    }

    /// One frame's result line (or lines): its source, sequence and stage times, then the detections,
    /// the top-k or the raw outputs.
    mutating func printFrame(_ f: StagedFrame, preNs: UInt64, inferNs: UInt64, postNs: UInt64, latency: UInt64, overlay: String?) {
        // The line is built in `line` (made once): the frame loop allocates nothing per frame.
        line.clear()
        if o.json { line.append("{\"source\": \"") }
        if o.json { line.append(jsonEscaped: source) } else { line.append(source) }
        line.append(" frame ")
        line.append(f.sequence)
        if o.json {
            line.append("\", \"frame\": ")
            line.append(done)
            line.append(", \"timestamp_ns\": ")
            line.append(unsigned: f.stamp)
        } else {
            line.append("  (")
        }
        appendStage(&line, "wait", "wait", f.waitNs, json: o.json, first: true)
        appendStage(&line, "preprocess", "pre", preNs, json: o.json, first: false)
        appendStage(&line, "inference", "infer", inferNs, json: o.json, first: false)
        appendStage(&line, "postprocess", "post", postNs, json: o.json, first: false)
        appendStage(&line, "latency", "latency", latency, json: o.json, first: false)
        if !o.json { line.append(")\n") }
        if let detector, let nms {
            if !o.json && detector.detections.isEmpty {
                line.append("  no detections (score >= ")
                line.append(general: Double(nms.scoreThreshold), 4)
                line.append(")\n")
            }
            let spec = self.spec
            appendDetectionList(detector, labelName: { i in i < spec.labels.count ? spec.labels[i] : "\(i)" }, into: &line, json: o.json)
            appendDetectorStats(detector.stats, into: &line, json: o.json)
            if let overlay {
                line.append(o.json ? ", \"overlay\": " : "  overlay ")
                if o.json { line.append(json: overlay) } else { line.append(overlay) }
                if !o.json { line.append("\n") }
            }
            if o.json { line.append("}\n") }
            line.writeToStdout()
        } else if classification != nil {
            classification!.update(interpreter, k: o.topK)
            classification!.append(into: &line, labels: spec.labels, json: o.json)
            if o.json { line.append("}\n") }
            line.writeToStdout()
        } else {
            // Raw outputs: printed as `run --image` prints them (this path allocates per frame).
            let label = "\(source) frame \(f.sequence)"
            let timing = "\"frame\": \(done), \"timestamp_ns\": \(f.stamp), \"wait_ms\": \(ms(f.waitNs)), \"preprocess_ms\": \(ms(preNs)), \"inference_ms\": \(ms(inferNs)), \"postprocess_ms\": \(ms(postNs)), \"latency_ms\": \(ms(latency))"
            let text = "(wait \(ms(f.waitNs)) ms, pre \(ms(preNs)) ms, infer \(ms(inferNs)) ms, post \(ms(postNs)) ms, latency \(ms(latency)) ms)"
            printResult(interpreter, image: label, key: "source", latencyJSON: timing, latencyText: text, o)
        }
    }

    /// Stops the source, then prints the summary: frames, fps against what the slowest stage allows,
    /// the counters and each stage's mean/p50/p99; throws the loop's failure, or when no frame was used.
    func finish(_ failure: SwiftletError?) throws(SwiftletError) {
        let s = o.stream
        pipeline?.stop()
        let seconds = Double(sys_monotonicNanoseconds() &- started) / 1e9
        let counters = producer.counters
        let period = producer.framePeriodNs
        producer.stop()
        if let failure { throw failure }
        let corrupt = producer.corruptCount, reconnects = producer.reconnects
        let stale = counters.stale, restaged = pipeline?.restaged ?? 0
        let fps = seconds > 0 ? Double(done) / seconds : 0
        // What a pipeline can reach: one frame per slowest stage (the camera's frame period; reading and
        // pre-processing; copying the input, inference, post-processing and printing), and the latency it
        // allows with the latest frame (a frame period, then the frame's own p99 times).
        let n = UInt64(max(done, 1))
        let producerNs = (waitSum &+ times.sums[1] &- copySum) / n
        let consumerNs = (copySum &+ times.sums[2] &+ times.sums[3] &+ printSum) / n
        let slowest = max(period, max(producerNs, consumerNs))
        let bound = slowest > 0 ? 1e9 / Double(slowest) : 0
        let ratio = bound > 0 ? fps / bound : 0
        let latencyBound = s.camera != nil && !s.queue && period > 0
            ? period &+ times.p99(1) &+ times.p99(2) &+ times.p99(3) : 0
        let mode = pipeline == nil ? "off" : "on"
        if o.json {
            sys_print("{\"summary\": true, \"source\": \(jsonString(source)), \"frames\": \(done), \"seconds\": \(formatFixed(seconds, 3)), \"fps\": \(formatFixed(fps, 2)), \"pipeline\": \(pipeline != nil), \"bound_fps\": \(formatFixed(bound, 2)), \"fps_to_bound\": \(formatFixed(ratio, 3)), \"latency_bound_ms\": \(latencyBound > 0 ? ms(latencyBound) : "null"), \"mean_copy_ms\": \(ms(copySum / n)), \"captured\": \(counters.captured), \"dropped\": \(counters.dropped), \"stale\": \(stale), \"restaged\": \(restaged), \"corrupt\": \(corrupt), \"reconnects\": \(reconnects)\(times.summary(frames: done, json: true))}")
        } else {
            sys_print("\(done) frames in \(formatFixed(seconds, 2)) s (\(formatFixed(fps, 1)) fps, pipeline \(mode): \(formatFixed(ratio, 2)) of the slowest stage's \(formatFixed(bound, 1)) fps); captured \(counters.captured), dropped \(counters.dropped), stale \(stale)\(restaged > 0 ? ", restaged \(restaged)" : ""), corrupt \(corrupt)\(s.reconnect ? ", reconnects \(reconnects)" : ""); mean/p50/p99 ms: \(times.summary(frames: done, json: false))\(latencyBound > 0 ? "; latency p99 bound \(ms(latencyBound)) ms" : "")")
        }
        if done == 0 && corrupt > 0 {
            throw .invalidInput(path: source, detail: "none of its \(corrupt) frames could be used (reported above)", hint: "check --format and --size")
        }
        let timedOut = deadline.map { sys_monotonicNanoseconds() >= $0 } ?? false
        if done == 0 && s.video != nil && !timedOut {
            throw .invalidInput(path: source, detail: "no frames in the recording", hint: "pass a concatenated MJPEG file, or raw frames with --format and --size")
        }
    }
}
#endif
