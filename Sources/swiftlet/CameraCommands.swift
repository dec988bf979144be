import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletEstimate
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer

// MARK: - cameras

struct Cameras: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the V4L2 cameras (/dev/videoN) with their formats, frame sizes and frame rates.")

    @Flag(help: "Print one JSON array.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in try camerasCommand(json: json) }
    }
}

// MARK: - record

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save camera frames as JPEG files, for a calibration set (quantize --calibration DIR) or a bug report.",
        discussion: """
            MJPEG frames are written as the camera sent them; raw frames (YUYV, NV12, GREY, RGB24) are \
            converted to RGB and encoded (JPEG quality 90, 4:4:4). Files are DIR/frame_000000.jpg, and so on.
            """)

    @Option(help: ArgumentHelp("The V4L2 camera (see 'swiftlet cameras').", valueName: "/dev/videoN"))
    var camera: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The folder to write the frames to (made if missing).", valueName: "dir"))
    var output: String

    @Option(parsing: .unconditional, help: "How many frames to save.")
    var frames = 10

    @OptionGroup var request: FrameRequest

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(SwiftletError) in
            var s = StreamOptions()
            s.camera = camera
            s.frames = frames
            try request.apply(to: &s)
            try recordCommand(camera: camera, s, output: output, json: json)
        }
    }
}

/// The frame request `run` and `record` share: format, size, rate and the frame policy.
struct FrameRequest: ParsableArguments {
    @Option(help: "With --camera or --video: yuyv, nv12, mjpeg, grey or rgb24 (camera default: the first of these it offers).")
    var format: String?

    @Option(help: ArgumentHelp("With --camera or --video: the frame size (camera default: the offered size closest to 640x480).", valueName: "WxH"))
    var size: String?

    @Option(parsing: .unconditional, help: "With --camera: frames per second to ask for (default: the camera's).")
    var fps: Int?

    @Flag(help: "With --camera: take every frame in order instead of the latest one (older ready frames are otherwise skipped and counted as stale).")
    var queue = false

    /// Sets the request in `s`, parsing `--format` and `--size`.
    func apply(to s: inout StreamOptions) throws(SwiftletError) {
        if let format { s.format = try StreamOptions.parseFormat(format) }
        if let size { (s.width, s.height) = try StreamOptions.parseSize(size) }
        s.fps = fps
        s.queue = queue
    }
}
