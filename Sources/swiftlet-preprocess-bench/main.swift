import CSwiftletSys
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletModel
import SwiftletVision

// Benchmark tooling only (tools/bench/preprocess drives it): times the camera path's pre-processing
// per frame, exactly as `run --camera` / `--video` runs it (`FrameInput.load`: MJPEG decoded by
// libjpeg at the DCT scale the resize needs, or YUYV converted row by row inside the resize; the
// Pillow-exact bilinear resize; the model's mean/std into the float input), while
// tools/bench/preprocess.py times OpenCV on the same frames in the same run, round by round.
//
//   swiftlet-preprocess-bench W H SIZES FRAME...
//       FRAME: W×H frames, `.jpg` (MJPEG) or `.yuyv` (packed 4:2:2); SIZES: input sides, e.g. 128,224,320
//
// It prints one line per case (`case mjpeg 224`), then `ready`. Per line on stdin, `run N` answers one
// line per case, in order: N numbers, nanoseconds per frame, frames taken in turn; `quit` ends.

func fail(_ s: String) -> Never {
    FileHandle.standardError.write(Data("swiftlet-preprocess-bench: \(s)\n".utf8))
    exit(1)
}

let args = CommandLine.arguments
guard args.count >= 5, let width = Int(args[1]), let height = Int(args[2]) else {
    fail("usage: swiftlet-preprocess-bench W H SIZES FRAME...")
}
let sizes = args[3].split(separator: ",").compactMap { Int($0) }
var mjpeg: [UnsafeRawBufferPointer] = [], yuyv: [UnsafeRawBufferPointer] = []
for path in args[4...] {
    guard let d = FileManager.default.contents(atPath: path) else { fail("\(path): cannot read") }
    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: d.count, alignment: 64)
    d.copyBytes(to: p)
    if path.hasSuffix(".jpg") { mjpeg.append(UnsafeRawBufferPointer(p)) } else { yuyv.append(UnsafeRawBufferPointer(p)) }
}
var pre = Preprocess()
pre.mean = [0.485, 0.456, 0.406]
pre.std = [0.229, 0.224, 0.225]

struct Case {
    var format: CameraPixelFormat
    var frames: [UnsafeRawBufferPointer]
    var input: FrameInput
    var tensor: UnsafeMutablePointer<Float>
}

var cases: [Case] = []
for (format, frames) in [(CameraPixelFormat.mjpeg, mjpeg), (.yuyv, yuyv)] where !frames.isEmpty {
    for s in sizes {
        let tensor = UnsafeMutablePointer<Float>.allocate(capacity: s * s * 3)
        cases.append(Case(format: format, frames: frames, input: FrameInput(pre: pre, width: s, height: s, channels: 3), tensor: tensor))
        print("case \(format == .mjpeg ? "mjpeg" : "yuyv") \(s)")
    }
}

func load(_ c: inout Case, _ i: Int) {
    let frame = RawFrame(format: c.format, width: width, height: height, bytesPerLine: c.format == .yuyv ? width * 2 : 0,
                         bytes: c.frames[i % c.frames.count])
    do {
        _ = try c.input.load(frame, source: "frame \(i)", into: c.tensor)
    } catch {
        fail("frame \(i): \(error.message)")
    }
}

// Warm up: every frame once (buffers and taps are made at the first frame).
for k in 0..<cases.count { for i in 0..<cases[k].frames.count { load(&cases[k], i) } }
print("ready")
fflush(nil)
var next = 0
while let line = readLine() {
    let w = line.split(separator: " ")
    if w.first == "quit" { break }
    guard w.count == 2, w[0] == "run", let n = Int(w[1]) else { fail("expected 'run N' or 'quit', got '\(line)'") }
    for k in 0..<cases.count {
        var ns: [String] = []
        for i in 0..<n {
            let t0 = sys_monotonicNanoseconds()
            load(&cases[k], next + i)
            ns.append(String(sys_monotonicNanoseconds() - t0))
        }
        print(ns.joined(separator: " "))
    }
    next += n
    fflush(nil)
}
