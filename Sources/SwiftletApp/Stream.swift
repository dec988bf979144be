import CSwiftletSys
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime
import SwiftletVision

// `run --camera` and `run --video`: the frame loop. Each frame: wait for it (the camera's latest
// frame by default, see Camera), convert and fit it into the model's input (YUYV, NV12, GREY, RGB24
// by rows, MJPEG through libjpeg), infer, decode (top-k or detections in frame pixels), print one
// line. The frame buffers, the fitter's taps and scratch, and the decoded MJPEG image are made
// once; a frame of another size (a recording) remakes the fitter.

/// Where `run` reads frames from: a V4L2 camera or a recording, with the camera's format request.
public struct StreamOptions {
    /// `--camera /dev/videoN`.
    public var camera: String? = nil
    /// `--video FILE`: a concatenated MJPEG recording, or raw frames with `--format yuyv|nv12|grey|rgb24 --size WxH`.
    public var video: String? = nil
    public var format: CameraPixelFormat? = nil
    public var width: Int? = nil, height: Int? = nil
    public var fps: Int? = nil
    /// Frames to process (nil: a camera streams until interrupted, a recording to its end).
    public var frames: Int? = nil
    /// `--duration S`: stop after this many seconds of streaming (with `frames`, whichever comes first).
    public var duration: Double? = nil
    /// `--queue`: every frame in order instead of the latest one.
    public var queue = false
    /// `--reconnect`: when the camera goes away, reopen it with back-off and go on streaming.
    public var reconnect = false
    /// Capture and pre-process the next frame on a second thread while this one infers (`--no-pipeline`: off).
    public var pipeline = true
    /// How long to wait for a frame before the camera counts as stalled.
    public var timeoutMs = 3000
    public init() {}

    public var isSet: Bool { camera != nil || video != nil }

    /// `--size WxH` → (W, H), both 1…16384.
    public static func parseSize(_ text: String) throws(SwiftletError) -> (Int, Int) {
        let parts = text.utf8.split(separator: UInt8(ascii: "x"), omittingEmptySubsequences: false)
        if parts.count == 2, let w = Int(String(decoding: parts[0], as: UTF8.self)), let h = Int(String(decoding: parts[1], as: UTF8.self)),
            w >= 1, h >= 1, w <= 16384, h <= 16384 {
            return (w, h)
        }
        throw .usage(detail: "--size takes WIDTHxHEIGHT between 1x1 and 16384x16384, e.g. 640x480; got '\(text)'")
    }

    /// `--format NAME`.
    public static func parseFormat(_ text: String) throws(SwiftletError) -> CameraPixelFormat {
        guard let f = CameraPixelFormat(name: text) else {
            throw .usage(detail: "--format takes yuyv, nv12, mjpeg, grey or rgb24; got '\(text)'")
        }
        return f
    }

    func validate(imagesToo: Bool) throws(SwiftletError) {
        if camera != nil && video != nil { throw .usage(detail: "pass either --camera or --video, not both") }
        if !isSet {
            if format != nil || width != nil || fps != nil || frames != nil || duration != nil || queue || reconnect || !pipeline {
                throw .usage(detail: "--format, --size, --fps, --frames, --duration, --queue, --reconnect and --no-pipeline are for --camera /dev/videoN or --video FILE")
            }
            return
        }
        if imagesToo { throw .usage(detail: "pass --camera/--video or --image/--images/--input, not both") }
        if let frames, frames < 1 { throw .usage(detail: "--frames must be at least 1, got \(frames)") }
        if let fps, fps < 1 || fps > 1000 { throw .usage(detail: "--fps must be between 1 and 1000, got \(fps)") }
        if let duration, !(duration > 0 && duration <= 31_536_000) {
            throw .usage(detail: "--duration takes seconds between 0 and 31536000 (a year), got \(duration)")
        }
        if video != nil {
            if fps != nil || queue || reconnect {
                throw .usage(detail: "--fps, --queue and --reconnect are for --camera; a recording is read frame after frame")
            }
            if let format, format != .mjpeg, width == nil {
                throw .usage(detail: "--video with --format \(formatName(format)) needs --size WxH: raw frames do not say their size")
            }
        }
    }
}

func formatName(_ f: CameraPixelFormat) -> String {
    switch f {
    case .yuyv: return "yuyv"
    case .nv12: return "nv12"
    case .mjpeg: return "mjpeg"
    case .grey: return "grey"
    case .rgb24: return "rgb24"
    }
}

#if SWIFTLET_NO_CAMERA
/// What the board build without camera capture (SWIFTLET_NO_CAMERA, see tools/build-board) says to
/// `run --camera` and `cameras`.
var noCameraBuild: SwiftletError {
    .unsupported(detail: "this board binary was built without camera capture (SWIFTLET_NO_CAMERA: it keeps the rpi4 binary under 1 MB); use the rpi5 or x86-64 build, or the host swiftlet")
}
#else
/// Frames from a recording: a mapped file cut into JPEGs or fixed-size raw frames.
struct Recording {
    let file: MappedFile
    let format: CameraPixelFormat
    let width: Int, height: Int
    var offset = 0

    /// The next frame's bytes, or nil at the end.
    mutating func next() -> UnsafeRawBufferPointer? {
        let all = file.bytes
        if format == .mjpeg {
            guard let r = nextJPEGFrame(all, from: offset) else { return nil }
            offset = r.upperBound
            return UnsafeRawBufferPointer(rebasing: all[r])
        }
        let size = format.minimumBytes(width: width, height: height)
        if offset + size > all.count { return nil }
        defer { offset += size }
        return UnsafeRawBufferPointer(rebasing: all[offset..<(offset + size)])
    }
}

/// The per-frame pre-processing state: the fitter for the current frame size and the buffers it fills
/// (public for tools/bench/preprocess, which times it as the frame loop runs it).
public struct FrameInput {
    let pre: Preprocess
    let width: Int, height: Int, channels: Int
    var fitter: FrameFitter? = nil
    var decoded = RGBImage(width: 0, height: 0)
    var fitted = RGBImage(width: 0, height: 0)

    /// For a model input of `width`×`height`×`channels` (NHWC floats) pre-processed as `pre` says.
    public init(pre: Preprocess, width: Int, height: Int, channels: Int) {
        self.pre = pre
        self.width = width
        self.height = height
        self.channels = channels
    }

    /// Fits `frame` into the model's input at `input`; returns the frame's size and the size it was
    /// decoded at (an MJPEG frame at the DCT scale still as large as the resize needs), for the box mapping.
    public mutating func load(_ frame: RawFrame, source: String, into input: UnsafeMutablePointer<Float>) throws(SwiftletError)
        -> (frame: (Int, Int), decoded: (Int, Int)) {
        var full = (frame.width, frame.height)
        var size = full
        if frame.format == .mjpeg {
            let side = pre.resizeMode == .shorterCrop ? (pre.resizeShorter > 0 ? pre.resizeShorter : max(width, height)) : 0
            let own = try decodeJPEGFrame(frame.bytes, path: source, atLeast: side > 0 ? (side, side) : (width, height), into: &decoded)
            full = (own.width, own.height)
            size = (decoded.width, decoded.height)
        } else if let need = frame.missingBytes {
            throw .invalidInput(path: source, detail: "the frame has \(frame.bytes.count) bytes, a \(frame.width)x\(frame.height) \(fourccText(frame.format.fourcc)) frame needs \(need)",
                                hint: "check --format and --size")
        }
        if fitter == nil || fitter!.inWidth != size.0 || fitter!.inHeight != size.1 {
            fitter = FrameFitter(inWidth: size.0, inHeight: size.1, width: width, height: height,
                                 shorter: pre.resizeMode == .shorterCrop ? (pre.resizeShorter > 0 ? pre.resizeShorter : max(width, height)) : 0,
                                 letterbox: pre.resizeMode == .letterbox)
        }
        if frame.format == .mjpeg { fitter!.fit(decoded, into: &fitted) } else { fitter!.fit(frame, into: &fitted) }
        if channels == 1 {
            normalizeLuma(fitted, mean: pre.mean[0], std: pre.std[0], into: input)
        } else {
            normalize(fitted, mean: pre.mean, std: pre.std, bgr: pre.bgr, into: input)
        }
        return (full, size)
    }
}

/// Per-stage times of the frames for the summary, in nanoseconds: the first `capacity` frames' samples
/// (storage reserved up front, so recording allocates nothing per frame) and every frame's sums.
struct StageTimes {
    static let names = ["wait", "preprocess", "inference", "postprocess", "latency"]
    var samples: [[UInt64]]
    var sums = [UInt64](repeating: 0, count: 5)
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        samples = []
        for _ in 0..<5 {
            var a: [UInt64] = []
            a.reserveCapacity(capacity)
            samples.append(a)
        }
    }

    /// Adds one frame's wait, pre-process, inference, post-process and latency times.
    mutating func add(_ t: (UInt64, UInt64, UInt64, UInt64, UInt64)) {
        record(0, t.0)
        record(1, t.1)
        record(2, t.2)
        record(3, t.3)
        record(4, t.4)
    }

    private mutating func record(_ stage: Int, _ ns: UInt64) {
        sums[stage] &+= ns
        if samples[stage].count < capacity { samples[stage].append(ns) }
    }

    /// Stage `stage`'s 99th percentile (nearest rank) over the recorded frames, in ns.
    func p99(_ stage: Int) -> UInt64 {
        var sorted = samples[stage]
        sortAscending(&sorted)
        return percentile(sorted, 99)
    }

    /// `"mean_wait_ms": …, "p50_wait_ms": …, "p99_wait_ms": …` for each stage (`json`), or
    /// `wait 1.2/1.1/3.4 ms` (mean/p50/p99) for each.
    func summary(frames: Int, json: Bool) -> String {
        var out = ""
        for i in 0..<5 {
            var sorted = samples[i]
            sortAscending(&sorted)
            let mean = ms(sums[i] / UInt64(max(frames, 1))), p50 = ms(percentile(sorted, 50)), p99 = ms(percentile(sorted, 99))
            let name = StageTimes.names[i]
            if json {
                out += ", \"mean_\(name)_ms\": \(mean), \"p50_\(name)_ms\": \(p50), \"p99_\(name)_ms\": \(p99)"
            } else {
                out += "\(i == 0 ? "" : ", ")\(name) \(mean)/\(p50)/\(p99)"
            }
        }
        return out
    }
}

func ms(_ ns: UInt64) -> String { formatFixed(Double(ns) / 1e6, 3) }

/// `run --camera` / `run --video`: streams frames through the model, one result line per frame and a summary.
func runStream(_ interpreter: Interpreter, _ o: RunOptions) throws(SwiftletError) {
    var loop = try StreamLoop(interpreter, o)
    let failure = loop.run()
    try loop.finish(failure)
}

/// One stage's time in a frame's line: JSON `, "wait_ms": 1.234`, text `wait 1.234 ms` (", "-separated).
func appendStage(_ t: inout TextBuffer, _ name: StaticString, _ short: StaticString, _ ns: UInt64, json: Bool, first: Bool) {
    if json {
        t.append(", \"")
        t.append(name)
        t.append("_ms\": ")
    } else {
        if !first { t.append(", ") }
        t.append(short)
        t.append(" ")
    }
    t.append(fixed: Double(ns) / 1e6, 3)
    if !json { t.append(" ms") }
}

/// Opens, configures and starts the camera as `s` asks, and prints the mode it got.
func openCamera(_ path: String, _ s: StreamOptions, json: Bool) throws(SwiftletError) -> Camera {
    let c = try Camera(path: path)
    let m = try c.configure(format: s.format, width: s.width, height: s.height, fps: s.fps)
    c.policy = s.queue ? .queue : .latest
    try c.start(buffers: 4)
    let rate = m.intervalNum > 0 ? "\(fpsText(num: m.intervalNum, den: m.intervalDen)) fps" : "driver's rate"
    let what = "\(c.card) (\(c.driver)), \(fourccText(m.format.fourcc)) \(m.width)x\(m.height) at \(rate)"
    if json {
        sys_print("{\"camera\": \(jsonString(path)), \"card\": \(jsonString(c.card)), \"driver\": \(jsonString(c.driver)), \"format\": \(jsonString(fourccText(m.format.fourcc))), \"width\": \(m.width), \"height\": \(m.height), \"fps\": \(m.intervalNum > 0 ? jsonNumber(Double(m.intervalDen) / Double(m.intervalNum)) : "null"), \"policy\": \(jsonString(s.queue ? "queue" : "latest"))}")
    } else {
        sys_print("\(path): \(what), \(s.queue ? "every frame (--queue)" : "latest frame")")
    }
    return c
}

/// `--reconnect`: reopens the camera at `path` after it went away, waiting 0.25 s, then twice as long
/// after each failed attempt up to 5 s, until it streams again (nil when `deadline` passes first).
/// The first failure to reopen is reported once; the mode line is printed again on success.
func reopenCamera(_ path: String, _ s: StreamOptions, deadline: UInt64?, json: Bool, keepGoing: () -> Bool) -> Camera? {
    var delay: Int32 = 250
    var attempts = 0
    let since = sys_monotonicNanoseconds()
    while true {
        if let deadline, sys_monotonicNanoseconds() &+ UInt64(delay) &* 1_000_000 >= deadline { return nil }
        swl_sleep_ms(delay)
        if !keepGoing() { return nil }
        attempts += 1
        do {
            let c = try openCamera(path, s, json: json)
            let after = formatFixed(Double(sys_monotonicNanoseconds() &- since) / 1e9, 2)
            if json {
                sys_print("{\"reconnected\": \(jsonString(path)), \"seconds\": \(after), \"attempts\": \(attempts)}")
            } else {
                sys_print("\(path): reconnected after \(after) s (\(attempts) attempts)")
            }
            return c
        } catch {
            if attempts == 1 {
                sys_printError(json ? "{\"waiting\": \(jsonString(path)), \"reason\": \(jsonString(error.message))}\n"
                                    : "\(path): waiting for the camera to come back (\(error.message)); retrying every 5 s at most (--reconnect)\n")
            }
        }
        delay = min(delay * 2, 5000)
    }
}

/// `swiftlet record --camera /dev/videoN --frames N -o DIR`: saves `frames` frames (the latest-frame
/// policy, or every one with `--queue`) as `DIR/frame_NNNNNN.jpg`: an MJPEG frame's own bytes,
/// unchanged; a raw frame (YUYV, NV12, GREY, RGB24) converted with the formulas of
/// SwiftletVision/Frame.swift and encoded as the overlays are (JPEG quality 90, 4:4:4 on the host;
/// binary PPM, `.ppm`, in the board binaries). For calibration sets (`quantize --calibration DIR`) and
/// bug reports. Prints one line per frame and a summary.
public func recordCommand(camera path: String, _ s: StreamOptions, output dir: String, json: Bool) throws(SwiftletError) {
    let frames = s.frames ?? 10
    if frames < 1 { throw .usage(detail: "record: --frames must be at least 1, got \(frames)") }
    let c = try openCamera(path, s, json: json)
    defer { c.stop() }
    try sys_makeDirectories(dir)
    var image = RGBImage(width: 0, height: 0)
    var corrupt = 0
    let started = sys_monotonicNanoseconds()
    for i in 0..<frames {
        let f = try c.nextFrame(timeoutMs: s.timeoutMs)
        let m = c.mode!
        let raw = RawFrame(format: m.format, width: m.width, height: m.height, bytesPerLine: m.bytesPerLine, bytes: f.bytes)
        let file: String
        if m.format == .mjpeg {
            file = frameFile(dir, i, "jpg")
            try sys_writeFile(file, [UInt8](f.bytes))
        } else {
            if let need = raw.missingBytes {
                corrupt += 1
                reportError(.invalidInput(path: path, detail: "frame \(f.sequence) has \(f.bytes.count) bytes, \(need) expected", hint: "check the camera"), json: json)
                continue
            }
            convertFrame(raw, into: &image)
            file = frameFile(dir, i, overlayExtension)
            try sys_writeFile(file, try encodeOverlay(image, path: file))
        }
        if json {
            sys_print("{\"frame\": \(i), \"sequence\": \(f.sequence), \"timestamp_ns\": \(f.timestampNs), \"file\": \(jsonString(file))}")
        } else {
            sys_print("\(file)  (frame \(f.sequence))")
        }
    }
    let seconds = Double(sys_monotonicNanoseconds() &- started) / 1e9
    let n = c.counters
    if json {
        sys_print("{\"summary\": true, \"folder\": \(jsonString(dir)), \"frames\": \(frames - corrupt), \"seconds\": \(formatFixed(seconds, 3)), \"captured\": \(n.captured), \"dropped\": \(n.dropped), \"stale\": \(n.stale), \"corrupt\": \(corrupt)}")
    } else {
        sys_print("\(frames - corrupt) frames in \(dir) (\(formatFixed(seconds, 2)) s); captured \(n.captured), dropped \(n.dropped), stale \(n.stale), corrupt \(corrupt)")
    }
}

/// `DIR/frame_000012.EXT`: the file of frame `index` that `record` and `run --overlay` write.
func frameFile(_ dir: String, _ index: Int, _ ext: String) -> String {
    var name = String(index)
    while name.utf8.count < 6 { name = "0" + name }
    return dir + "/frame_" + name + "." + ext
}

/// A raw frame (not MJPEG) converted to RGB at its full size in `image`.
func convertFrame(_ raw: RawFrame, into image: inout RGBImage) {
    image.reshape(width: raw.width, height: raw.height)
    image.pixels.withUnsafeMutableBufferPointer { px in
        guard let base = px.baseAddress else { return }
        for y in 0..<raw.height { convertRow(raw, y, into: base + y * raw.width * 3) }
    }
}

/// `swiftlet cameras`: every /dev/videoN with its formats, sizes and frame rates.
public func camerasCommand(json: Bool) throws(SwiftletError) {
    let paths = cameraDevicePaths()
    if paths.isEmpty {
        if json { sys_print("[]") } else { sys_print("no cameras: /dev has no videoN devices (is a camera plugged in, its driver loaded?)") }
        return
    }
    var items: [String] = []
    for path in paths {
        do {
            let c = try Camera(path: path)
            let formats = c.formats()
            if json {
                var s = "{\"device\": \(jsonString(path)), \"card\": \(jsonString(c.card)), \"driver\": \(jsonString(c.driver)), \"bus\": \(jsonString(c.bus)), \"formats\": ["
                for (i, f) in formats.enumerated() {
                    var sizes: [String] = []
                    for z in f.sizes { sizes.append(jsonString(z.text)) }
                    s += (i == 0 ? "" : ", ") + "{\"fourcc\": \(jsonString(fourccText(f.fourcc))), \"supported\": \(f.known != nil), \"sizes\": [\(sizes.joined(separator: ", "))]}"
                }
                items.append(s + "]}")
            } else {
                sys_print("\(path): \(c.card) (\(c.driver), \(c.bus))")
                var other = ""
                for f in formats {
                    if f.known == nil { other += " " + fourccText(f.fourcc) } else { sys_print("  \(fourccText(f.fourcc)): \(sizesText(f))") }
                }
                if !other.isEmpty { sys_print("  not converted by Swiftlet:\(other)") }
            }
        } catch {
            // Not every /dev/videoN is a capture device (metadata and output nodes): say why, go on.
            if json { items.append("{\"device\": \(jsonString(path)), \"error\": \(jsonString(error.message))}") } else { sys_print("\(path): \(error.message)") }
        }
    }
    if json { sys_print("[" + items.joined(separator: ", ") + "]") }
}
#endif
