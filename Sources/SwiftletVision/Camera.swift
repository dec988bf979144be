import CSwiftletSys
import SwiftletCore

// V4L2 capture: single-planar video capture devices, memory-mapped streaming, through the raw
// ioctls of CSwiftletSys/v4l2.c (no libv4l2, so the static board binary needs nothing else).
//
// Frame policy. The driver fills the queued buffers in order. `nextFrame` gives the caller one
// buffer at a time and requeues it on the next call. With `.latest` (the default) it first takes
// every buffer that is already filled and keeps only the newest: the older ones go back to the
// driver unread ("stale"), so a result is never built from a frame older than the newest one
// captured. With `.queue` every frame is handed out in order; when the caller is slower than the
// camera the driver runs out of buffers and skips frames itself. Frames the driver skipped show up
// as gaps in its sequence numbers ("dropped"). No call allocates once streaming has started.

/// Pixel formats the pre-processing converts (others are listed by `swiftlet cameras` but refused).
public enum CameraPixelFormat: UInt32, Sendable {
    case yuyv, nv12, mjpeg, grey, rgb24

    /// The V4L2 four-character code.
    public var fourcc: UInt32 {
        switch self {
        case .yuyv: return swl_fourcc_yuyv
        case .nv12: return swl_fourcc_nv12
        case .mjpeg: return swl_fourcc_mjpeg
        case .grey: return swl_fourcc_grey
        case .rgb24: return swl_fourcc_rgb24
        }
    }

    /// The format for a four-character code (JPEG is treated as MJPEG), or nil.
    public init?(fourcc: UInt32) {
        switch fourcc {
        case swl_fourcc_yuyv: self = .yuyv
        case swl_fourcc_nv12: self = .nv12
        case swl_fourcc_mjpeg, swl_fourcc_jpeg: self = .mjpeg
        case swl_fourcc_grey: self = .grey
        case swl_fourcc_rgb24: self = .rgb24
        default: return nil
        }
    }

    /// `yuyv`, `nv12`, `mjpeg`, `grey`, `rgb24` (the `--format` names), or nil.
    public init?(name: String) {
        switch name {
        case "yuyv": self = .yuyv
        case "nv12": self = .nv12
        case "mjpeg": self = .mjpeg
        case "grey", "gray": self = .grey
        case "rgb24": self = .rgb24
        default: return nil
        }
    }

    /// The bytes a `width`×`height` frame must at least have (MJPEG: any non-empty frame).
    public func minimumBytes(width: Int, height: Int) -> Int {
        switch self {
        case .yuyv: return width * height * 2
        case .nv12: return width * height + ((width + 1) / 2) * ((height + 1) / 2) * 2
        case .mjpeg: return 2
        case .grey: return width * height
        case .rgb24: return width * height * 3
        }
    }
}

/// A four-character code as text: `YUYV`, `MJPG`.
public func fourccText(_ code: UInt32) -> String {
    var s = ""
    for i in 0..<4 {
        let b = UInt8(truncatingIfNeeded: code >> (8 * UInt32(i)))
        s.unicodeScalars.append(Unicode.Scalar(b >= 0x20 && b < 0x7F ? b : UInt8(ascii: "?")))
    }
    return s
}

/// A frame size a camera offers: one size, or a stepwise range.
public struct CameraSize {
    public var width: Int, height: Int
    /// For a range: the largest size and the steps (`width`/`height` are then the smallest).
    public var maxWidth: Int, maxHeight: Int, stepWidth: Int, stepHeight: Int
    /// Frame rates at `width`×`height` as intervals (numerator/denominator seconds), fastest first as listed.
    public var intervals: [(num: Int, den: Int)]

    public init(width: Int, height: Int, maxWidth: Int, maxHeight: Int, stepWidth: Int, stepHeight: Int, intervals: [(num: Int, den: Int)]) {
        self.width = width
        self.height = height
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.stepWidth = stepWidth
        self.stepHeight = stepHeight
        self.intervals = intervals
    }

    public var isRange: Bool { maxWidth != width || maxHeight != height }

    /// Whether `w`×`h` is this size, or inside the range on its steps.
    public func allows(width w: Int, height h: Int) -> Bool {
        if !isRange { return w == width && h == height }
        return w >= width && w <= maxWidth && h >= height && h <= maxHeight
            && (w - width) % max(stepWidth, 1) == 0 && (h - height) % max(stepHeight, 1) == 0
    }

    /// `640x480@30,15` or `16x16-1920x1080@30`.
    public var text: String {
        var s = isRange ? "\(width)x\(height)-\(maxWidth)x\(maxHeight)" : "\(width)x\(height)"
        for (i, v) in intervals.enumerated() { s += (i == 0 ? "@" : ",") + fpsText(num: v.num, den: v.den) }
        return s
    }
}

/// Frames per second of an interval `num/den` seconds: `30`, `29.97`.
public func fpsText(num: Int, den: Int) -> String {
    if num <= 0 { return "?" }
    if den % num == 0 { return "\(den / num)" }
    let hundredths = (den * 100 + num / 2) / num
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}

/// A pixel format a camera offers, with its sizes.
public struct CameraFormat {
    public var fourcc: UInt32
    public var compressed: Bool
    public var sizes: [CameraSize]
    public init(fourcc: UInt32, compressed: Bool, sizes: [CameraSize]) {
        self.fourcc = fourcc
        self.compressed = compressed
        self.sizes = sizes
    }

    /// The format Swiftlet converts, or nil for one it lists only.
    public var known: CameraPixelFormat? { CameraPixelFormat(fourcc: fourcc) }
}

/// The format a camera was set to.
public struct CameraMode {
    public var format: CameraPixelFormat
    public var width: Int, height: Int
    /// Bytes from one row to the next (at least `width` × bytes per pixel).
    public var bytesPerLine: Int
    /// The largest frame the driver writes.
    public var sizeImage: Int
    /// Time per frame as a fraction of a second (0/0 when the driver does not say).
    public var intervalNum: Int, intervalDen: Int
}

/// One captured frame: a view of a mapped driver buffer, valid until the next `nextFrame` or `stop`.
public struct CameraFrame {
    public var bytes: UnsafeRawBufferPointer
    /// The driver's frame counter.
    public var sequence: Int
    /// Capture time in nanoseconds: the driver's timestamp (CLOCK_MONOTONIC, as `sys_monotonicNanoseconds`),
    /// or the dequeue time when the driver's clock is another.
    public var timestampNs: UInt64
    /// The driver flagged the buffer as possibly corrupt (V4L2_BUF_FLAG_ERROR).
    public var flaggedError: Bool
    fileprivate var index: Int
}

/// Counters of a stream, for the summary line.
public struct CameraCounters {
    /// Frames dequeued from the driver.
    public var captured = 0
    /// Frames the driver skipped (gaps in its sequence numbers): no buffer was free.
    public var dropped = 0
    /// Frames dequeued and requeued unread because a newer one was ready (latest-frame policy).
    public var stale = 0
    /// Frames handed to the caller.
    public var delivered = 0
    public init() {}

    /// Adds another stream's counts (a camera reopened by `--reconnect`).
    public mutating func add(_ o: CameraCounters) {
        captured += o.captured
        dropped += o.dropped
        stale += o.stale
        delivered += o.delivered
    }
}

/// How `nextFrame` picks among ready frames.
public enum FramePolicy {
    /// The newest ready frame; older ready frames are requeued unread.
    case latest
    /// Every frame, in order.
    case queue
}

#if !SWIFTLET_NO_CAMERA
/// An open V4L2 capture device.
public final class Camera {
    public let path: String
    public let driver: String, card: String, bus: String
    private var fd: Int32
    private var buffers: [(base: UnsafeMutableRawPointer, length: Int)] = []
    private var held: Int = -1
    /// The newest frame `drain` dequeued and no one has been handed yet (latest-frame policy).
    private var pending: swl_v4l2_frame? = nil
    private var streaming = false
    private var lastSequence = -1
    public private(set) var mode: CameraMode? = nil
    public private(set) var counters = CameraCounters()
    public var policy: FramePolicy = .latest
    /// Whether the last error was the camera going away (ENODEV, ENXIO, POLLERR): `--reconnect` reopens it.
    public private(set) var wentAway = false

    /// Opens `path` and checks it is a single-planar capture device with streaming I/O.
    public init(path: String) throws(SwiftletError) {
        self.path = path
        let fd = sys_open(path, O_RDWR | swl_o_nonblock | swl_o_cloexec)
        if fd < 0 {
            let e = swl_errno()
            if e == EBUSY { throw Camera.busy(path) }
            if e == ENOENT {
                throw .invalidInput(path: path, detail: "no such camera device",
                                    hint: "list the cameras with 'swiftlet cameras' (is the camera plugged in, its driver loaded?)")
            }
            throw .system(call: "open", path: path, errno: e)
        }
        var caps = swl_v4l2_caps()
        if swl_v4l2_querycap(fd, &caps) != 0 {
            let e = swl_errno()
            close(fd)
            if e == ENOTTY {
                throw .invalidInput(path: path, detail: "not a V4L2 device (VIDIOC_QUERYCAP: ENOTTY)", hint: "pass a /dev/videoN camera")
            }
            throw .system(call: "ioctl(VIDIOC_QUERYCAP)", path: path, errno: e)
        }
        driver = cText(&caps.driver)
        card = cText(&caps.card)
        bus = cText(&caps.bus)
        if caps.capture == 0 || caps.streaming == 0 {
            close(fd)
            let what = caps.capture_mplane != 0 ? "a multi-planar capture device, which Swiftlet does not support yet"
                : caps.capture == 0 ? "not a video capture device" : "a capture device without streaming I/O"
            throw .invalidInput(path: path, detail: "'\(card)' (\(driver)) is \(what)",
                                hint: "pass another /dev/videoN (see 'swiftlet cameras')")
        }
        self.fd = fd
    }

    deinit {
        closeDevice()
    }

    /// Stops streaming and closes the device now rather than when the last reference goes (a camera
    /// that went away keeps its device number while it is open, so `--reconnect` closes it first and
    /// the device comes back under the same path). Idempotent.
    public func closeDevice() {
        if fd < 0 { return }
        stop()
        close(fd)
        fd = -1
    }

    private static func busy(_ path: String) -> SwiftletError {
        .invalidInput(path: path, detail: "the camera is busy (EBUSY): another program is streaming from it",
                      hint: "stop that program (fuser \(path) names it) and run again")
    }

    /// The pixel formats, sizes and frame rates the camera offers (VIDIOC_ENUM_FMT, _FRAMESIZES, _FRAMEINTERVALS).
    public func formats() -> [CameraFormat] {
        var out: [CameraFormat] = []
        var i: UInt32 = 0
        var code: UInt32 = 0, compressed: UInt32 = 0
        while i < 64 && swl_v4l2_enum_format(fd, i, &code, &compressed) == 0 {
            var f = CameraFormat(fourcc: code, compressed: compressed != 0, sizes: [])
            var j: UInt32 = 0
            var s = swl_v4l2_size()
            while j < 256 && swl_v4l2_enum_size(fd, code, j, &s) == 0 {
                var size = CameraSize(width: Int(s.min_width), height: Int(s.min_height), maxWidth: Int(s.max_width),
                                      maxHeight: Int(s.max_height), stepWidth: Int(s.step_width), stepHeight: Int(s.step_height),
                                      intervals: [])
                var k: UInt32 = 0
                var num: UInt32 = 0, den: UInt32 = 0, step: UInt32 = 0
                while k < 64 && swl_v4l2_enum_interval(fd, code, s.max_width, s.max_height, k, &num, &den, &step) == 0 {
                    size.intervals.append((Int(num), Int(den)))
                    if step != 0 { break }
                    k += 1
                }
                f.sizes.append(size)
                if s.stepwise != 0 { break }
                j += 1
            }
            out.append(f)
            i += 1
        }
        return out
    }

    /// Sets the format: `format` (or the first of YUYV, NV12, MJPEG, GREY, RGB24 the camera offers),
    /// `width`×`height` (or the offered size closest to 640×480), `fps` (or the driver's rate). A request
    /// the camera cannot meet is an error that lists what it offers.
    @discardableResult
    public func configure(format: CameraPixelFormat?, width: Int?, height: Int?, fps: Int?) throws(SwiftletError) -> CameraMode {
        if streaming { stop() }
        let offered = formats()
        let offers = offersText(offered) + "; 'swiftlet cameras' lists their sizes and rates"
        var chosen: CameraFormat? = nil
        if let format {
            chosen = offered.first { CameraPixelFormat(fourcc: $0.fourcc) == format }
            if chosen == nil {
                throw .invalidInput(path: path, detail: "the camera does not offer \(fourccText(format.fourcc)); it offers \(offers)",
                                    hint: "pass one of those with --format (yuyv, nv12, mjpeg, grey, rgb24)")
            }
        } else {
            for want in [CameraPixelFormat.yuyv, .nv12, .mjpeg, .grey, .rgb24] where chosen == nil {
                chosen = offered.first { CameraPixelFormat(fourcc: $0.fourcc) == want }
            }
            if chosen == nil {
                throw .invalidInput(path: path, detail: "the camera offers none of the formats Swiftlet converts (YUYV, NV12, MJPG, GREY, RGB3); it offers \(offers)",
                                    hint: "use a camera that offers one of them")
            }
        }
        guard let chosen, let pixel = chosen.known else { throw .invalidInput(path: path, detail: "no format", hint: "") }
        var w = width ?? 640, h = height ?? 480
        if width == nil, !chosen.sizes.isEmpty, !chosen.sizes.contains(where: { $0.allows(width: w, height: h) }) {
            var best = chosen.sizes[0]
            for s in chosen.sizes where abs(s.width * s.height - 640 * 480) < abs(best.width * best.height - 640 * 480) { best = s }
            w = best.width
            h = best.height
        }
        let sizeEntry = chosen.sizes.first { $0.allows(width: w, height: h) }
        if !chosen.sizes.isEmpty && sizeEntry == nil {
            throw .invalidInput(path: path, detail: "the camera does not offer \(w)x\(h) in \(fourccText(chosen.fourcc)); it offers \(sizesText(chosen)) there",
                                hint: "pass one of those sizes with --size WxH")
        }
        var f = swl_v4l2_format(fourcc: chosen.fourcc, width: UInt32(w), height: UInt32(h), bytes_per_line: 0, size_image: 0)
        if swl_v4l2_set_format(fd, &f) != 0 { throw ioctlError("VIDIOC_S_FMT", swl_errno()) }
        if f.fourcc != chosen.fourcc || Int(f.width) != w || Int(f.height) != h {
            throw .invalidInput(path: path, detail: "asked for \(fourccText(chosen.fourcc)) \(w)x\(h), the driver set \(fourccText(f.fourcc)) \(f.width)x\(f.height); it offers \(sizesText(chosen)) in \(fourccText(chosen.fourcc))",
                                hint: "pass one of those with --format and --size")
        }
        var num: UInt32 = 0, den: UInt32 = 0
        if let fps {
            let rates = sizeEntry?.intervals ?? []
            if !rates.isEmpty && !(sizeEntry?.isRange ?? false) && !rates.contains(where: { $0.num > 0 && $0.den == fps * $0.num }) {
                var list = ""
                for (i, r) in rates.enumerated() { list += (i == 0 ? "" : ", ") + fpsText(num: r.num, den: r.den) }
                throw .invalidInput(path: path, detail: "the camera does not offer \(fps) fps at \(fourccText(chosen.fourcc)) \(w)x\(h); it offers \(list) fps there",
                                    hint: "pass one of those with --fps")
            }
            num = 1
            den = UInt32(fps)
            if swl_v4l2_frame_interval(fd, &num, &den, 1) != 0 { throw ioctlError("VIDIOC_S_PARM", swl_errno()) }
            if num == 0 || Int(den) != fps * Int(num) {
                throw .invalidInput(path: path, detail: "asked for \(fps) fps, the driver set \(fpsText(num: Int(num), den: Int(den))) fps; it offers \(sizesText(chosen)) in \(fourccText(chosen.fourcc))",
                                    hint: "pass one of those rates with --fps")
            }
        } else if swl_v4l2_frame_interval(fd, &num, &den, 0) != 0 {
            num = 0
            den = 0
        }
        let m = CameraMode(format: pixel, width: w, height: h, bytesPerLine: Int(f.bytes_per_line), sizeImage: Int(f.size_image),
                           intervalNum: Int(num), intervalDen: Int(den))
        let rowBytes = pixel == .yuyv ? w * 2 : pixel == .rgb24 ? w * 3 : w
        if pixel != .mjpeg && m.bytesPerLine < rowBytes {
            throw .invalidInput(path: path, detail: "the driver reports \(m.bytesPerLine) bytes per line for \(w) pixels of \(fourccText(f.fourcc)), fewer than \(rowBytes)",
                                hint: "the driver is inconsistent; try another format")
        }
        mode = m
        return m
    }

    /// Maps `count` buffers (2–4) and starts streaming (VIDIOC_REQBUFS, _QUERYBUF, mmap, _QBUF, _STREAMON).
    public func start(buffers count: Int = 4) throws(SwiftletError) {
        precondition(count >= 2 && count <= 4, "Camera.start(buffers:): 2 to 4 buffers")
        if mode == nil { try configure(format: nil, width: nil, height: nil, fps: nil) }
        var n = UInt32(count)
        if swl_v4l2_request_buffers(fd, &n) != 0 {
            let e = swl_errno()
            throw e == EBUSY ? Camera.busy(path) : ioctlError("VIDIOC_REQBUFS", e)
        }
        if n < 2 {
            throw .invalidInput(path: path, detail: "the driver gave \(n) buffer(s), streaming needs at least 2", hint: "free memory or reload the driver")
        }
        buffers.reserveCapacity(Int(n))
        for i in 0..<n {
            var offset: UInt64 = 0, length: UInt32 = 0
            if swl_v4l2_query_buffer(fd, i, &offset, &length) != 0 { throw failStart(ioctlError("VIDIOC_QUERYBUF", swl_errno())) }
            guard let p = mmap(nil, Int(length), PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(offset)), p != swl_map_failed() else {
                throw failStart(.system(call: "mmap", path: path, errno: swl_errno()))
            }
            buffers.append((p, Int(length)))
            if swl_v4l2_queue_buffer(fd, i) != 0 { throw failStart(ioctlError("VIDIOC_QBUF", swl_errno())) }
        }
        if swl_v4l2_stream(fd, 1) != 0 {
            let e = swl_errno()
            throw failStart(e == EBUSY ? Camera.busy(path) : ioctlError("VIDIOC_STREAMON", e))
        }
        streaming = true
        held = -1
        lastSequence = -1
        counters = CameraCounters()
    }

    private func failStart(_ e: SwiftletError) -> SwiftletError {
        stop()
        return e
    }

    /// Stops streaming and unmaps the buffers (VIDIOC_STREAMOFF, munmap, VIDIOC_REQBUFS 0).
    public func stop() {
        if streaming { _ = swl_v4l2_stream(fd, 0) }
        streaming = false
        for b in buffers { munmap(b.base, b.length) }
        if !buffers.isEmpty {
            var zero: UInt32 = 0
            _ = swl_v4l2_request_buffers(fd, &zero)
        }
        buffers.removeAll()
        held = -1
        pending = nil
    }

    /// The next frame by the policy, waiting at most `timeoutMs` for the camera. The previous frame's
    /// buffer goes back to the driver first. A stalled camera, a camera that went away (ENODEV, POLLERR)
    /// and every other failure are errors naming the frames captured so far.
    public func nextFrame(timeoutMs: Int) throws(SwiftletError) -> CameraFrame {
        precondition(streaming, "Camera.nextFrame(timeoutMs:): call start() first")
        if held >= 0 {
            if swl_v4l2_queue_buffer(fd, UInt32(held)) != 0 { throw streamError("VIDIOC_QBUF", swl_errno()) }
            held = -1
        }
        var newest = pending ?? swl_v4l2_frame()
        var have = pending != nil
        pending = nil
        while true {
            var f = swl_v4l2_frame()
            if swl_v4l2_dequeue_buffer(fd, &f) == 0 {
                count(f)
                if have {
                    counters.stale += 1
                    if swl_v4l2_queue_buffer(fd, newest.index) != 0 { throw streamError("VIDIOC_QBUF", swl_errno()) }
                }
                newest = f
                have = true
                if policy == .queue { break }
                continue
            }
            let e = swl_errno()
            if e != EAGAIN { throw streamError("VIDIOC_DQBUF", e) }
            if have { break }
            let r = swl_poll_readable(fd, Int32(clamping: timeoutMs))
            if r == 0 {
                throw .invalidInput(path: path, detail: "no frame within \(timeoutMs) ms after \(counters.captured) frames: the camera stalled",
                                    hint: "check the camera and its cable, or lower --fps")
            }
            if r == 2 { throw gone("poll: POLLERR") }
            if r < 0 { throw streamError("poll", swl_errno()) }
        }
        held = Int(newest.index)
        counters.delivered += 1
        let b = buffers[held]
        let used = min(Int(newest.bytes_used), b.length)
        let ts = newest.monotonic != 0 && newest.timestamp_ns > 0 ? UInt64(newest.timestamp_ns) : sys_monotonicNanoseconds()
        return CameraFrame(bytes: UnsafeRawBufferPointer(start: b.base, count: used), sequence: Int(newest.sequence), timestampNs: ts,
                           flaggedError: newest.error != 0, index: held)
    }

    /// The latest-frame policy between frames: gives the frame handed out last back to the driver, and
    /// dequeues every frame the driver has filled, keeping only the newest (the others go back unread,
    /// counted as stale), without waiting. Called while inference runs (the camera pipeline's capture
    /// thread), it keeps the driver's buffers moving, so the frame `nextFrame` then hands out is the
    /// camera's newest, not the last one the driver could store before its buffers ran out (with four
    /// buffers at 30 fps, 0.1 s after the last `nextFrame`). Does nothing with the queue policy.
    public func drain() throws(SwiftletError) {
        guard streaming, policy == .latest else { return }
        if held >= 0 {
            if swl_v4l2_queue_buffer(fd, UInt32(held)) != 0 { throw streamError("VIDIOC_QBUF", swl_errno()) }
            held = -1
        }
        while true {
            var f = swl_v4l2_frame()
            if swl_v4l2_dequeue_buffer(fd, &f) != 0 {
                let e = swl_errno()
                if e == EAGAIN { return }
                throw streamError("VIDIOC_DQBUF", e)
            }
            count(f)
            if let p = pending {
                counters.stale += 1
                if swl_v4l2_queue_buffer(fd, p.index) != 0 { throw streamError("VIDIOC_QBUF", swl_errno()) }
            }
            pending = f
        }
    }

    /// The driver's sequence number of the newest frame `drain` found and holds for `nextFrame`, if any.
    public var pendingSequence: Int? { pending.map { Int($0.sequence) } }

    /// Counts a dequeued frame, and the frames the driver dropped before it (gaps in its sequence numbers).
    private func count(_ f: swl_v4l2_frame) {
        counters.captured += 1
        let seq = Int(f.sequence)
        if lastSequence >= 0 && seq > lastSequence + 1 { counters.dropped += seq - lastSequence - 1 }
        if seq > lastSequence { lastSequence = seq }
    }

    private func gone(_ why: String) -> SwiftletError {
        wentAway = true
        return .invalidInput(path: path, detail: "the camera went away after \(counters.delivered) frames (\(why))",
                             hint: "reconnect it and run again, or pass --reconnect to wait for it")
    }

    private func streamError(_ call: String, _ e: Int32) -> SwiftletError {
        if e == ENODEV || e == ENXIO || (e == EIO && counters.captured > 0) { return gone("\(call): \(Errno(e).name)") }
        return ioctlError(call, e)
    }

    private func ioctlError(_ call: String, _ e: Int32) -> SwiftletError {
        if e == ENODEV { return gone("\(call): ENODEV") }
        return .system(call: call.startsWith("VIDIOC") ? "ioctl(\(call))" : call, path: path, errno: e)
    }
}

#endif

/// "YUYV, NV12 (and UYVY, NV21, which Swiftlet does not convert)": the formats of `formats`, for messages.
public func offersText(_ formats: [CameraFormat]) -> String {
    if formats.isEmpty { return "no formats" }
    var known = "", other = ""
    for f in formats {
        if f.known != nil { known += (known.isEmpty ? "" : ", ") + fourccText(f.fourcc) } else { other += (other.isEmpty ? "" : ", ") + fourccText(f.fourcc) }
    }
    if other.isEmpty { return known }
    return known.isEmpty ? "\(other), none of which Swiftlet converts" : "\(known) (and \(other), which Swiftlet does not convert)"
}

/// "320x180@30,15 640x480@30": the sizes and rates of one format, for messages.
public func sizesText(_ format: CameraFormat) -> String {
    var s = ""
    for size in format.sizes { s += (s.isEmpty ? "" : " ") + size.text }
    return s.isEmpty ? "no sizes" : s
}

/// The capture devices' paths: `/dev/videoN` in number order.
public func cameraDevicePaths() -> [String] {
    guard let names = try? sys_listDirectory("/dev") else { return [] }
    var numbers: [Int] = []
    for n in names where n.startsWith("video") {
        var v = 0
        var ok = n.utf8.count > 5
        for b in n.utf8.dropFirst(5) {
            if b < 0x30 || b > 0x39 { ok = false; break }
            v = v * 10 + Int(b - 0x30)
        }
        if ok { numbers.append(v) }
    }
    numbers.sort()
    return numbers.map { "/dev/video\($0)" }
}

/// A NUL-terminated C char array as a String.
private func cText<T>(_ tuple: inout T) -> String {
    withUnsafeBytes(of: &tuple) { raw in
        var end = 0
        while end < raw.count && raw[end] != 0 { end += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
    }
}
