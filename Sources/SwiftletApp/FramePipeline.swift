import CSwiftletSys
import SwiftletCore
import SwiftletVision

// The frame loop's two halves. FrameProducer captures a frame (the camera's latest, or every one with
// --queue; a recording's next) and pre-processes it into a float input buffer. Without a pipeline
// (`--no-pipeline`) the inference thread calls it with the arena's own input, then infers. With one
// (the default) a capture thread calls it with one of two staging inputs outside the arena while the
// inference thread infers the frame before; the inference thread copies the newest staged input into
// the arena between inferences, so the arena's input is never written while the model reads it, and a
// model packed with --reuse-input (whose input memory the plan reuses mid-inference) streams the same.

#if !SWIFTLET_NO_CAMERA
/// One captured and pre-processed frame: where and when it came from, and what it cost.
struct StagedFrame {
    /// The driver's sequence number (camera) or the frame's index (recording).
    var sequence = 0
    /// Capture time, CLOCK_MONOTONIC ns: the driver's buffer timestamp, or when a recording's frame was read.
    var stamp: UInt64 = 0
    /// Waiting for the frame, and decoding and pre-processing it, in ns.
    var waitNs: UInt64 = 0, preNs: UInt64 = 0
    /// The frame's size and the size it was decoded at (MJPEG's DCT scaling), for the box mapping.
    var frameSize = (0, 0), decodedSize = (0, 0)
}

/// Captures frames and fits them into a model input. Used by one thread at a time.
final class FrameProducer {
    let s: StreamOptions
    let json: Bool
    let source: String
    var camera: Camera?
    var recording: Recording?
    var input: FrameInput
    let deadline: UInt64?
    /// The counters of camera sessions that went away (--reconnect), and how many times it came back.
    var lost = CameraCounters()
    var reconnects = 0
    /// Frames that could not be used (reported, skipped; under `sync` when a pipeline runs this), frames
    /// read from a recording, and usable frames handed out.
    private var corrupt = 0
    var read = 0
    var delivered = 0
    /// A camera's MJPEG frame, copied out of the driver's buffer (grown to the largest frame, once).
    private var compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 64)
    /// The pipeline's lock, which guards `corrupt` while the capture thread runs.
    var sync: UnsafeMutablePointer<swl_monitor>? = nil

    init(_ s: StreamOptions, input: FrameInput, json: Bool, deadline: UInt64?) throws(SwiftletError) {
        self.s = s
        self.json = json
        self.input = input
        self.deadline = deadline
        source = s.camera ?? s.video ?? ""
        if let path = s.camera {
            camera = try openCamera(path, s, json: json)
        } else if let path = s.video {
            let format = s.format ?? .mjpeg
            recording = Recording(file: try MappedFile(path: path, what: "a video recording"), format: format, width: s.width ?? 0,
                                  height: s.height ?? 0)
        }
    }

    /// Frames that could not be used so far.
    var corruptCount: Int {
        if let sync { swl_monitor_lock(sync) }
        defer { if let sync { swl_monitor_unlock(sync) } }
        return corrupt
    }

    /// Every camera session's counters so far.
    var counters: CameraCounters {
        var c = lost
        if let camera { c.add(camera.counters) }
        return c
    }

    /// The camera's nominal frame period in ns (0: a recording, or a camera that does not say).
    var framePeriodNs: UInt64 {
        guard let m = camera?.mode, m.intervalNum > 0, m.intervalDen > 0 else { return 0 }
        return UInt64(m.intervalNum) &* 1_000_000_000 / UInt64(m.intervalDen)
    }

    /// Captures the next usable frame and pre-processes it into `into`; false at the end (a recording's
    /// end, or --reconnect's wait passing the deadline). A corrupt frame is reported, counted (unless
    /// `keepGoing` says the stream is over) and skipped. A camera that goes away without --reconnect,
    /// a stall and other capture failures are thrown.
    /// With `image` (--overlay), the frame is also kept there at full size in RGB (an MJPEG frame
    /// decoded a second time, at full scale).
    func produce(into: UnsafeMutablePointer<Float>, _ f: inout StagedFrame, image: UnsafeMutablePointer<RGBImage>?,
                 keepGoing: () -> Bool) throws(SwiftletError) -> Bool {
        // Every frame is used in order (--queue, a recording): no more than --frames are needed.
        let ordered = camera == nil || s.queue
        while true {
            if ordered, let n = s.frames, delivered + corruptCount >= n { return false }
            let t0 = sys_monotonicNanoseconds()
            let raw: RawFrame
            if let c = camera {
                let frame: CameraFrame
                do {
                    frame = try c.nextFrame(timeoutMs: s.timeoutMs)
                } catch {
                    guard s.reconnect && c.wentAway else { throw error }
                    // --reconnect: say so, keep the counters, wait for the device to come back.
                    reportError(error, json: json)
                    lost.add(c.counters)
                    c.closeDevice()
                    camera = nil
                    camera = reopenCamera(source, s, deadline: deadline, json: json, keepGoing: keepGoing)
                    if camera == nil { return false }
                    reconnects += 1
                    continue
                }
                let m = c.mode!
                var bytes = frame.bytes
                if m.format == .mjpeg {
                    // A compressed frame is copied out of the driver's buffer before it is decoded: a
                    // v4l2loopback device (a virtual camera fed by ffmpeg, OBS, …) overwrites buffers
                    // in turn whether or not a reader holds them, and a decode caught by that gives a
                    // damaged or mixed picture. A few tens of KB, far below the decode's cost.
                    if compressed.count < bytes.count {
                        compressed.deallocate()
                        compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, m.sizeImage), alignment: 64)
                    }
                    compressed.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    bytes = UnsafeRawBufferPointer(start: compressed.baseAddress!, count: bytes.count)
                }
                raw = RawFrame(format: m.format, width: m.width, height: m.height, bytesPerLine: m.bytesPerLine, bytes: bytes)
                f.stamp = frame.timestampNs
                f.sequence = frame.sequence
            } else {
                guard let bytes = recording!.next() else { return false }
                let r = recording!
                let bpl = r.format == .yuyv ? r.width * 2 : r.format == .rgb24 ? r.width * 3 : r.width
                raw = RawFrame(format: r.format, width: r.width, height: r.height, bytesPerLine: bpl, bytes: bytes)
                f.stamp = t0
                f.sequence = read
                read += 1
            }
            let t1 = sys_monotonicNanoseconds()
            do {
                let size = try input.load(raw, source: source, into: into)
                f.frameSize = size.frame
                f.decodedSize = size.decoded
                if let image { try keepFrame(raw, in: image) }
            } catch {
                // A corrupt frame is reported, counted and skipped; the stream goes on.
                if !keepGoing() { return false }
                if let sync { swl_monitor_lock(sync) }
                corrupt += 1
                if let sync { swl_monitor_unlock(sync) }
                reportError(relabeled(error, "\(source) frame \(f.sequence)"), json: json)
                continue
            }
            f.waitNs = t1 &- t0
            f.preNs = sys_monotonicNanoseconds() &- t1
            delivered += 1
            return true
        }
    }

    /// The frame at full size in RGB, for the overlay.
    private func keepFrame(_ raw: RawFrame, in image: UnsafeMutablePointer<RGBImage>) throws(SwiftletError) {
        if raw.format == .mjpeg {
            _ = try decodeJPEGFrame(raw.bytes, path: source, atLeast: (1 << 20, 1 << 20), into: &image.pointee)
            return
        }
        convertFrame(raw, into: &image.pointee)
    }

    deinit { compressed.deallocate() }

    /// Keeps the camera's buffers moving between frames (latest-frame policy; see Camera.drain). A
    /// failure here (the camera went away) shows again at the next frame, which reports it.
    func drain() {
        do { try camera?.drain() } catch {}
    }

    /// Drains the camera (see drain); whether it then holds a frame newer than driver sequence `sequence`.
    func newerFrame(than sequence: Int) -> Bool {
        drain()
        guard let p = camera?.pendingSequence else { return false }
        return p > sequence
    }

    /// Stops the camera (after the capture thread, if any, has ended).
    func stop() {
        camera?.stop()
    }
}

/// `error` with its file or device named `label` (the frame: "/dev/video0 frame 12").
func relabeled(_ error: SwiftletError, _ label: String) -> SwiftletError {
    switch error {
    case .badImage(_, let detail): return .badImage(path: label, detail: detail)
    case .invalidInput(_, let detail, let hint): return .invalidInput(path: label, detail: detail, hint: hint)
    default: return error
    }
}

/// The capture thread and the two staging inputs it fills (see the top of this file). The slots'
/// states, their order and the flags are read and written under `monitor` only.
final class FramePipeline {
    enum Slot { case free, writing, ready, reading }

    let producer: FrameProducer
    /// Latest-frame policy: at most one frame staged ahead, captured as late as the pacing allows;
    /// otherwise (--queue, recordings) frames are staged as fast as there is room and taken in order.
    let latest: Bool
    let monitor: UnsafeMutablePointer<swl_monitor>
    let count: Int
    var buffers: [UnsafeMutablePointer<Float>] = []
    var state: [Slot] = [.free, .free]
    var frames = [StagedFrame(), StagedFrame()]
    var order: [UInt64] = [0, 0]
    var nextOrder: UInt64 = 1
    var stopRequested = false
    var finished = false
    var failure: SwiftletError? = nil
    /// Pacing (latest frame): whether inference is running, when the current one started, and running
    /// means (1/8 weight) of the inference thread's time per frame and of pre-processing, in ns.
    var busy = false
    var inferStart: UInt64 = 0
    var inferEstimate: UInt64 = 0
    var framesDone = 0
    var preEstimate: UInt64 = 0
    /// Frames taken so far, the take each slot's frame was staged for (latest frame), and the staged
    /// frames replaced by a newer one before inference took them.
    var takes = 0
    var epoch = [0, 0]
    var restaged = 0
    /// How often the capture thread drains the camera while it waits: a frame period (10 ms if the
    /// camera does not say).
    let drainPeriod: UInt64
    /// How often the capture thread looks for a newer camera frame while inference overruns its
    /// running mean: 5 ms (a frame period when that is shorter).
    static let overrunPoll: UInt64 = 5_000_000
    /// The CPU to pin the capture thread to (-1: none).
    let cpu: Int
    /// Each slot's frame in RGB at full size (--overlay), else nil.
    let images: UnsafeMutablePointer<RGBImage>?
    private var thread = swl_thread()
    private var started = false

    /// Two staging inputs of `count` floats; starts the capture thread.
    init(_ producer: FrameProducer, count: Int, latest: Bool, cpu: Int, keepImages: Bool) throws(SwiftletError) {
        self.producer = producer
        self.count = count
        self.latest = latest
        self.cpu = cpu
        drainPeriod = producer.framePeriodNs > 0 ? producer.framePeriodNs : 10_000_000
        if keepImages {
            let p = UnsafeMutablePointer<RGBImage>.allocate(capacity: 2)
            p.initialize(repeating: RGBImage(width: 0, height: 0), count: 2)
            images = p
        } else {
            images = nil
        }
        monitor = UnsafeMutablePointer<swl_monitor>.allocate(capacity: 1)
        let e = swl_monitor_init(monitor)
        if e != 0 {
            monitor.deallocate()
            throw .system(call: "pthread_cond_init", path: "the camera pipeline", errno: e)
        }
        producer.sync = monitor
        for _ in 0..<2 {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            b.initialize(repeating: 0, count: max(count, 1))
            buffers.append(b)
        }
        let err = swl_thread_start(&thread, { arg in
            Unmanaged<FramePipeline>.fromOpaque(arg!).takeUnretainedValue().captureLoop()
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
        if err != 0 { throw .system(call: "pthread_create", path: "the camera pipeline's capture thread", errno: err) }
        started = true
    }

    deinit {
        stop()
        swl_monitor_destroy(monitor)
        monitor.deallocate()
        for b in buffers { b.deallocate() }
        if let images {
            images.deinitialize(count: 2)
            images.deallocate()
        }
    }

    /// Whether the inference thread still wants frames (read by the producer between frames).
    private func keepGoing() -> Bool {
        swl_monitor_lock(monitor)
        defer { swl_monitor_unlock(monitor) }
        return !stopRequested
    }

    /// The capture thread: fills a free slot, publishes it, again, until stopped, at the stream's end
    /// or on a capture failure (handed to the inference thread).
    private func captureLoop() {
        if cpu >= 0 { _ = swl_pin_self_any(Int32(truncatingIfNeeded: cpu)) }
        while true {
            swl_monitor_lock(monitor)
            let slot = latest ? pacedSlot() : freeSlot()
            if slot < 0 {
                swl_monitor_unlock(monitor)
                return
            }
            state[slot] = .writing
            epoch[slot] = takes + 1
            swl_monitor_unlock(monitor)
            var f = StagedFrame()
            var more = false
            var failed: SwiftletError? = nil
            do {
                more = try producer.produce(into: buffers[slot], &f, image: images.map { $0 + slot }, keepGoing: keepGoing)
            } catch {
                failed = error
            }
            swl_monitor_lock(monitor)
            if !more {
                state[slot] = .free
                finished = true
                failure = failed
                swl_monitor_broadcast(monitor)
                swl_monitor_unlock(monitor)
                return
            }
            frames[slot] = f
            order[slot] = nextOrder
            nextOrder += 1
            preEstimate = preEstimate == 0 ? f.preNs : (preEstimate / 8 &* 7) &+ f.preNs / 8
            state[slot] = .ready
            // Latest frame: the frame staged before this one, if inference has not taken it, is
            // replaced (see pacedSlot).
            if latest && state[1 - slot] == .ready {
                state[1 - slot] = .free
                restaged += 1
            }
            swl_monitor_broadcast(monitor)
            swl_monitor_unlock(monitor)
        }
    }

    /// --queue and recordings: the first free slot, as soon as there is one. Under the lock; -1 once
    /// stopped.
    private func freeSlot() -> Int {
        while !stopRequested {
            if state[0] == .free { return 0 }
            if state[1] == .free { return 1 }
            swl_monitor_wait(monitor, 0)
        }
        return -1
    }

    /// Latest frame, paced: the slot to capture into, returned when it is time. Under the lock; -1 once
    /// stopped.
    ///
    /// While inference runs, the capture thread waits until it is about to end (19/20 of its running
    /// mean, less the pre-processing time), then takes the camera's newest frame, so it is ready just
    /// as inference wants it: fresh, and no frame is pre-processed only to be replaced. If inference
    /// then overruns its mean (a busier machine, a slower frame), each newer frame the camera delivers
    /// meanwhile is pre-processed into the other slot and replaces the staged one, so the frame taken
    /// is never more than a frame period and a pre-processing older than the end of inference. Extra
    /// pre-processing is spent only on overruns (counted in the summary's `restaged`). A frame staged
    /// for an inference that has since started (the inference thread took the older one while this
    /// one was pre-processed) is replaced the same way at the next inference's pacing point, and
    /// never taken: if that inference ends first, `take` drops it and waits for the newest.
    /// Before the first inference has been timed there is nothing to pace by: the capture thread waits
    /// for it to end (that frame is captured as without the pipeline).
    /// Meanwhile, once a frame period, it keeps the camera's buffers moving (Camera.drain), so the
    /// frame it then takes is the camera's newest.
    private func pacedSlot() -> Int {
        while !stopRequested {
            let free = state[0] == .free ? 0 : state[1] == .free ? 1 : -1
            let ready = state[0] == .ready ? 0 : state[1] == .ready ? 1 : -1
            if free < 0 || (!busy && ready >= 0) {
                // Both slots in use, or a frame staged and inference about to take it.
                swl_monitor_wait(monitor, 0)
                continue
            }
            if !busy { return free }
            let now = sys_monotonicNanoseconds()
            var due: UInt64 = .max
            if inferEstimate > 0 {
                if ready < 0 || epoch[ready] <= takes {
                    let early = inferEstimate / 20 * 19
                    due = inferStart &+ early &- min(preEstimate, early)
                } else {
                    due = inferStart &+ inferEstimate
                }
            }
            if now >= due {
                if ready < 0 { return free }
                let staged = frames[ready].sequence, start = inferStart
                swl_monitor_unlock(monitor)
                let newer = producer.newerFrame(than: staged)
                swl_monitor_lock(monitor)
                // Only if nothing moved meanwhile (else look again).
                guard state[ready] == .ready, state[free] == .free, busy, inferStart == start else { continue }
                if newer { return free }
                // Overrunning: look again soon (a newer frame found a period late would be a period
                // older when inference ends).
                swl_monitor_wait(monitor, now &+ min(drainPeriod, FramePipeline.overrunPoll))
                continue
            }
            swl_monitor_wait(monitor, min(due, now &+ drainPeriod))
            swl_monitor_unlock(monitor)
            producer.drain()
            swl_monitor_lock(monitor)
        }
        return -1
    }

    /// The next staged frame (the newest, or with queue order the oldest), copied into `input`; nil when
    /// the stream ended (then `failure` says whether it failed) or `deadline` (CLOCK_MONOTONIC ns, 0:
    /// none) passed. Returns the frame and how long the copy took. With --overlay the slot's frame image
    /// is swapped with `image` (the two buffers trade places: no copy).
    func take(into input: UnsafeMutablePointer<Float>, image: inout RGBImage, deadline: UInt64) -> (frame: StagedFrame, copyNs: UInt64)? {
        swl_monitor_lock(monitor)
        if busy {
            busy = false
            swl_monitor_broadcast(monitor)  // a paced capture thread starts at once
        }
        var slot = -1
        while true {
            slot = -1
            let r0 = state[0] == .ready, r1 = state[1] == .ready
            if r0 && r1 {
                slot = (order[0] < order[1]) == latest ? 1 : 0
            } else if r0 {
                slot = 0
            } else if r1 {
                slot = 1
            }
            if slot >= 0 && latest && epoch[slot] <= takes {
                // Staged for an earlier inference (pre-processed while that one took the frame
                // before it), so now as old as an inference: replaced by the camera's newest, which
                // the capture thread, seeing inference idle and nothing staged, takes at once.
                state[slot] = .free
                restaged += 1
                swl_monitor_broadcast(monitor)
                slot = -1
                continue
            }
            // A newer frame being pre-processed to replace the staged one (an overrun, see pacedSlot):
            // wait for it. Taking the staged one instead would add up to a pre-processing to the
            // latency; waiting costs at most that once, on overruns only.
            if slot >= 0 && latest && state[1 - slot] == .writing && !finished {
                if deadline != 0 && sys_monotonicNanoseconds() >= deadline { break }
                swl_monitor_wait(monitor, deadline)
                continue
            }
            if slot >= 0 || finished { break }
            if deadline != 0 && sys_monotonicNanoseconds() >= deadline { break }
            swl_monitor_wait(monitor, deadline)
        }
        if slot < 0 {
            swl_monitor_unlock(monitor)
            return nil
        }
        state[slot] = .reading
        takes += 1
        // Inference starts now (the copy is part of it): set before the lock is let go, so the
        // capture thread, free to start on the other slot, paces itself by this frame.
        busy = true
        inferStart = sys_monotonicNanoseconds()
        let f = frames[slot]
        swl_monitor_unlock(monitor)
        let t0 = sys_monotonicNanoseconds()
        input.update(from: buffers[slot], count: count)
        if let images { swap(&image, &images[slot]) }
        let copy = sys_monotonicNanoseconds() &- t0
        swl_monitor_lock(monitor)
        state[slot] = .free
        swl_monitor_broadcast(monitor)
        swl_monitor_unlock(monitor)
        return (f, copy)
    }

    /// The inference thread is done with its frame after `ns` (inference, post-processing, printing):
    /// the pacing's estimate.
    /// The first frame is left out (it pays for page faults in the weights and cold caches), so
    /// the first two frames are captured as without the pipeline.
    func frameDone(_ ns: UInt64) {
        swl_monitor_lock(monitor)
        framesDone += 1
        if framesDone > 1 { inferEstimate = inferEstimate == 0 ? ns : (inferEstimate / 8 &* 7) &+ ns / 8 }
        swl_monitor_unlock(monitor)
    }

    /// Asks the capture thread to stop and waits for it (it finishes the frame it is capturing: at most
    /// the camera's frame period, or its timeout when the camera stalls).
    func stop() {
        guard started else { return }
        stopThread(thread, monitor: monitor) { stopRequested = true }
        started = false
    }
}
#endif
