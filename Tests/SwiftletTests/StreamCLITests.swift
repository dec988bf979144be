import Foundation
import SwiftletVision
import Testing

// `swiftlet run --video` and the stream flags' messages, end to end through the CLI (the camera itself
// streams in the VM test, tools/camera/vm-test).

private func topLabels(_ o: [String: Any]) -> [String] {
    ((o["top"] as? [[String: Any]]) ?? []).map { "\($0["index"] ?? "?"):\($0["score"] ?? "?")" }
}

@Suite(.serialized) struct StreamCLITests {
    static let model: Result<String, TestFailure> = {
        do {
            let dir = try scratchDirectory()
            let r = try swiftlet(["import", repoFile("models/onnx/squeezenet1_1.onnx"), "-o", dir + "/s.swl", "--labels", repoFile("models/labels/imagenet.txt")])
            if r.status != 0 { return .failure(TestFailure("import failed: \(r.stderr)")) }
            return .success(dir + "/s.swl")
        } catch { return .failure(TestFailure("\(error)")) }
    }()

    @Test func mjpegRecordingGivesWhatEachFrameGivesAsAnImage() throws {
        let model = try Self.model.get()
        let dir = try scratchDirectory()
        let video = repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg")
        let stream = [UInt8](try Data(contentsOf: URL(fileURLWithPath: video)))
        var files: [String] = []
        for r in jpegFrameRanges(stream) {
            let path = dir + "/frame\(files.count).jpg"
            _ = FileManager.default.createFile(atPath: path, contents: Data(stream[r]))
            files.append(path)
        }
        #expect(files.count == 3)
        let frames = try swiftlet(["run", model, "--video", video, "--json", "--top", "3"])
        #expect(frames.status == 0, "\(frames.stderr)")
        let lines = try jsonLines(frames.stdout)
        #expect(lines.count == 4, "3 frames and a summary: \(frames.stdout)")
        for (i, file) in files.enumerated() where i < lines.count {
            let image = try swiftlet(["run", model, "--image", file, "--json", "--top", "3"])
            let want = try jsonLines(image.stdout)
            #expect(lines[i]["frame"] as? Int == i)
            for key in ["timestamp_ns", "wait_ms", "preprocess_ms", "inference_ms", "postprocess_ms", "latency_ms"] {
                #expect(lines[i][key] != nil, "frame \(i) has no \(key)")
            }
            #expect(topLabels(lines[i]) == topLabels(want[0]), "frame \(i)")
            #expect(!topLabels(lines[i]).isEmpty)
        }
        let summary = lines.last ?? [:]
        #expect(summary["summary"] as? Bool == true)
        #expect(summary["frames"] as? Int == 3)
        #expect(summary["corrupt"] as? Int == 0)
        for stage in ["wait", "preprocess", "inference", "postprocess", "latency"] {
            let p50 = summary["p50_\(stage)_ms"] as? Double, p99 = summary["p99_\(stage)_ms"] as? Double
            #expect(p50 != nil && p99 != nil && summary["mean_\(stage)_ms"] != nil, "no \(stage) figures: \(summary)")
            if let p50, let p99 { #expect(p50 <= p99, "\(stage): p50 \(p50) > p99 \(p99)") }
        }
    }

    @Test func rawRecordingsRunFrameByFrame() throws {
        let model = try Self.model.get()
        for (file, format, size) in [("chelsea_160x120.yuyv", "yuyv", "160x120"), ("coffee_160x120.nv12", "nv12", "160x120"),
                                     ("astronaut_96x72.grey", "grey", "96x72")] {
            let r = try swiftlet(["run", model, "--video", repoFile("Tests/Fixtures/camera/" + file), "--format", format, "--size", size, "--json"])
            #expect(r.status == 0, "\(file): \(r.stderr)")
            let lines = try jsonLines(r.stdout)
            #expect(lines.count == 2, "\(file): one frame and a summary: \(r.stdout)")
            #expect(lines.last?["frames"] as? Int == 1)
        }
    }

    @Test func smallInputsAndDetectorsStreamARecording() throws {
        let dir = try scratchDirectory()
        let video = repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg")
        // An 8x8 grey model: the frames decode at 1/8 scale (20x15), then go to luma.
        let digits = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", dir + "/d.swl"])
        #expect(digits.status == 0, "\(digits.stderr)")
        let d = try swiftlet(["run", dir + "/d.swl", "--video", video, "--json"])
        #expect(d.status == 0, "\(d.stderr)")
        #expect(try jsonLines(d.stdout).last?["frames"] as? Int == 3, "\(d.stdout)")
        // A detector: detections (in frame pixels) on every frame line.
        let face = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        #expect(face.status == 0, "\(face.stderr)")
        let b = try swiftlet(["run", dir + "/b.swl", "--video", video, "--json"])
        #expect(b.status == 0, "\(b.stderr)")
        let lines = try jsonLines(b.stdout)
        #expect(lines.count == 4)
        for line in lines.dropLast() { #expect(line["detections"] != nil && line["latency_ms"] != nil, "\(line)") }
    }

    /// The pipeline changes when a frame is pre-processed, not what it gives: every frame line of a
    /// recording (detections, keypoints, scores; top-5 for a classifier) is the same with and without
    /// it, the summaries say which ran, and their figures are consistent.
    @Test func pipelineGivesTheSameResultsAsWithout() throws {
        let dir = try scratchDirectory()
        let face = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        #expect(face.status == 0, "\(face.stderr)")
        let one = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg")))
        var long = Data()
        for _ in 0..<10 { long.append(one) }
        let path = dir + "/r.mjpeg"
        _ = FileManager.default.createFile(atPath: path, contents: long)
        for model in [dir + "/b.swl", try Self.model.get()] {
            var results: [[String]] = []
            for flags in [[String](), ["--no-pipeline"]] {
                let r = try swiftlet(["run", model, "--video", path, "--json"] + flags)
                #expect(r.status == 0, "\(r.stderr)")
                let lines = try jsonLines(r.stdout)
                #expect(lines.count == 31, "30 frames and a summary")
                let summary = lines.last ?? [:]
                #expect(summary["pipeline"] as? Bool == flags.isEmpty, "\(summary)")
                let fps = summary["fps"] as? Double ?? 0, bound = summary["bound_fps"] as? Double ?? 0, ratio = summary["fps_to_bound"] as? Double ?? 0
                #expect(fps > 0 && bound > 0 && abs(ratio - fps / bound) < 0.01, "\(summary)")
                // Frame numbers in order, and the results without the timing.
                var got: [String] = []
                for (i, line) in lines.dropLast().enumerated() {
                    #expect(line["frame"] as? Int == i)
                    var l = line
                    for k in ["timestamp_ns", "wait_ms", "preprocess_ms", "inference_ms", "postprocess_ms", "latency_ms"] { l[k] = nil }
                    got.append(String(data: try JSONSerialization.data(withJSONObject: l, options: [.sortedKeys]), encoding: .utf8)!)
                }
                results.append(got)
            }
            #expect(results[0] == results[1], "\(model): pipelined and sequential results differ")
        }
    }

    /// `--overlay DIR` on a stream writes each frame with its detections drawn, as `run --image
    /// --overlay` draws the same frame saved as a photo (byte for byte: the same decode, drawing and encoder).
    @Test func overlayDrawsEachFrame() throws {
        let dir = try scratchDirectory()
        let face = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        #expect(face.status == 0, "\(face.stderr)")
        let video = repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg")
        let r = try swiftlet(["run", dir + "/b.swl", "--video", video, "--json", "--overlay", dir + "/ov"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try jsonLines(r.stdout)
        #expect(lines[2]["overlay"] as? String == dir + "/ov/frame_000002.jpg", "\(lines[2])")
        #expect((lines[2]["detections"] as? [Any])?.count == 1, "the astronaut's face")
        // The third frame as a photo, through the image path's overlay.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: video)))
        var range = 0..<0
        for _ in 0..<3 { range = bytes.withUnsafeBytes { nextJPEGFrame($0, from: range.upperBound)! } }
        _ = FileManager.default.createFile(atPath: dir + "/frame2.jpg", contents: Data(bytes[range]))
        let i = try swiftlet(["run", dir + "/b.swl", "--image", dir + "/frame2.jpg", "--overlay", dir + "/img"])
        #expect(i.status == 0, "\(i.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/ov/frame_000002.jpg"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/img/frame2.jpg"))
        #expect(a == b, "the stream's overlay differs from the image path's")
        // A raw recording too, without the pipeline; a classifier cannot draw.
        let y = try swiftlet(["run", dir + "/b.swl", "--video", repoFile("Tests/Fixtures/camera/chelsea_160x120.yuyv"), "--format", "yuyv",
                              "--size", "160x120", "--overlay", dir + "/ovy", "--no-pipeline"])
        #expect(y.status == 0 && FileManager.default.fileExists(atPath: dir + "/ovy/frame_000000.jpg"), "\(y.stderr)")
        let c = try swiftlet(["run", try Self.model.get(), "--video", video, "--overlay", dir + "/ovc"])
        #expect(c.status == 64 && c.stderr.contains("--overlay draws detections"), "\(c.stderr)")
        // A recording in the overlay folder under a frame file's name is refused, not written over.
        try FileManager.default.createDirectory(atPath: dir + "/same", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/same/frame_000001.jpg", contents: Data(bytes))  // three frames
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/same/frame_000001.jpg"))
        let o = try swiftlet(["run", dir + "/b.swl", "--video", dir + "/same/frame_000001.jpg", "--overlay", dir + "/same"])
        #expect(o.status == 64 && o.stderr.contains("the recording"), "\(o.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/same/frame_000001.jpg")) == before)
    }

    /// `--duration` ends a stream: a recording of 3,000 frames (the three photos 1,000 times) stops
    /// after 0.3 s of it, long before its end, with fewer frames than it holds and at least 0.3 s in
    /// the summary; `--frames` still stops it first when it comes first.
    @Test func durationEndsTheStream() throws {
        let model = try Self.model.get()
        let dir = try scratchDirectory()
        let one = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg")))
        var long = Data()
        for _ in 0..<1000 { long.append(one) }
        let path = dir + "/long.mjpeg"
        _ = FileManager.default.createFile(atPath: path, contents: long)
        let r = try swiftlet(["run", model, "--video", path, "--json", "--duration", "0.3"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try jsonLines(r.stdout).last ?? [:]
        let frames = summary["frames"] as? Int ?? -1, seconds = summary["seconds"] as? Double ?? -1
        #expect(frames > 0 && frames < 3000 && seconds >= 0.3, "\(summary)")
        let f = try swiftlet(["run", model, "--video", path, "--json", "--duration", "600", "--frames", "4"])
        #expect(try jsonLines(f.stdout).last?["frames"] as? Int == 4, "\(f.stdout)")
    }

    @Test func corruptFrameIsCountedAndTheStreamGoesOn() throws {
        let model = try Self.model.get()
        let dir = try scratchDirectory()
        var stream = [UInt8](try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg"))))
        // The first frame cut short: its second half (and its EOI) gone, the next frame follows at once.
        let first = stream.withUnsafeBytes { nextJPEGFrame($0, from: 0)! }
        stream.removeSubrange((first.upperBound / 2)..<first.upperBound)
        let path = dir + "/bad.mjpeg"
        _ = FileManager.default.createFile(atPath: path, contents: Data(stream))
        let r = try swiftlet(["run", model, "--video", path, "--json"])
        let lines = try jsonLines(r.stdout)
        #expect(lines.last?["corrupt"] as? Int == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(lines.last?["frames"] as? Int == 2)
        #expect(r.stderr.contains("bad.mjpeg frame 0"), "\(r.stderr)")
    }

    @Test(arguments: [
        (["--video", "x.mjpeg", "--camera", "/dev/video0"], "pass either --camera or --video, not both"),
        (["--video", "x.yuyv", "--format", "yuyv"], "--video with --format yuyv needs --size WxH: raw frames do not say their size"),
        (["--camera", "/dev/video0", "--size", "640"], "--size takes WIDTHxHEIGHT between 1x1 and 16384x16384, e.g. 640x480; got '640'"),
        (["--camera", "/dev/video0", "--format", "h264"], "--format takes yuyv, nv12, mjpeg, grey or rgb24; got 'h264'"),
        (["--camera", "/dev/video0", "--frames", "0"], "--frames must be at least 1, got 0"),
        (["--image", "a.jpg", "--fps", "30"], "--format, --size, --fps, --frames, --duration, --queue, --reconnect and --no-pipeline are for --camera /dev/videoN or --video FILE"),
        (["--image", "a.jpg", "--reconnect"], "--format, --size, --fps, --frames, --duration, --queue, --reconnect and --no-pipeline are for --camera /dev/videoN or --video FILE"),
        (["--image", "a.jpg", "--no-pipeline"], "--format, --size, --fps, --frames, --duration, --queue, --reconnect and --no-pipeline are for --camera /dev/videoN or --video FILE"),
        (["--camera", "/dev/video0", "--duration", "0"], "--duration takes seconds between 0 and 31536000 (a year), got 0.0"),
        (["--video", "x.mjpeg", "--reconnect"], "--fps, --queue and --reconnect are for --camera; a recording is read frame after frame"),
        (["--camera", "/dev/video0", "--image", "a.jpg"], "pass --camera/--video or --image/--images/--input, not both"),
    ])
    func wrongFlagsAreUsageErrors(args: [String], message: String) throws {
        let r = try swiftlet(["run", "m.swl"] + args)
        #expect(r.status == 64)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    /// `record` names a missing camera and refuses its bad flags (saving frames runs in the VM test).
    @Test func recordNamesItsErrors() throws {
        let dir = try scratchDirectory()
        let missing = try swiftlet(["record", "--camera", "/dev/video-swiftlet-missing", "-o", dir + "/rec"])
        #expect(missing.status == 1 && missing.stderr.contains("/dev/video-swiftlet-missing: no such camera device"), "\(missing.stderr)")
        let frames = try swiftlet(["record", "--camera", "/dev/video0", "-o", dir + "/rec", "--frames", "0"])
        #expect(frames.status == 64 && frames.stderr.contains("record: --frames must be at least 1, got 0"), "\(frames.stderr)")
        let noOut = try swiftlet(["record", "--camera", "/dev/video0"])
        #expect(noOut.status == 64 && noOut.stderr.contains("--output"), "\(noOut.stderr)")
    }

    @Test func missingCameraAndNonCameraAreNamed() throws {
        let model = try Self.model.get()
        let missing = try swiftlet(["run", model, "--camera", "/dev/video-swiftlet-missing"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/dev/video-swiftlet-missing: no such camera device; list the cameras with 'swiftlet cameras'"), "\(missing.stderr)")
        let null = try swiftlet(["run", model, "--camera", "/dev/null", "--frames", "1"])
        #expect(null.status == 1)
        #expect(null.stderr.contains("/dev/null: not a V4L2 device"), "\(null.stderr)")
    }
}
