import Foundation
import SwiftletModel
import Testing

// No heap allocation per frame: after load, 100 inferences of every shipped model, float32 and int8,
// make no malloc/calloc/realloc/posix_memalign call, on one thread and on two (the pool's worker
// counted too). Counted by ordo-one/malloc-interposer, preloaded
// into `swiftlet-alloc-check` (built beside the swiftlet binary).

@Suite struct AllocationTests {
    /// `swiftlet-alloc-check` and the interposer library, next to the swiftlet binary.
    func tools() throws -> (String, String) {
        guard let swiftlet = swiftletBinary else { throw TestFailure("the swiftlet binary is missing; build with 'swift build -c release'") }
        let dir = URL(fileURLWithPath: swiftlet).deletingLastPathComponent().path
        let check = dir + "/swiftlet-alloc-check", lib = dir + "/libMallocInterposerSwift.so"
        for p in [check, lib] where !FileManager.default.fileExists(atPath: p) {
            throw TestFailure("\(p) is missing; 'swift build -c release' builds it")
        }
        return (check, lib)
    }

    /// Runs the check with the interposer preloaded; returns (load allocations, per-run allocations).
    func count(_ model: String, threads: Int) throws -> (Int, Int) {
        let (check, lib) = try tools()
        let r = try runProcess("/usr/bin/env", ["LD_PRELOAD=\(lib)", check, model, "100", "\(threads)"])
        #expect(r.status == 0, "\(model): \(r.stderr)")
        let words = r.stdout.split(separator: " ").map(String.init)
        guard let li = words.firstIndex(of: "load_allocations"), let ai = words.firstIndex(of: "allocations"),
              let load = Int(words[li + 1]), let runs = Int(words[ai + 1]) else {
            throw TestFailure("unexpected output from swiftlet-alloc-check: \(r.stdout)")
        }
        return (load, runs)
    }

    @Test("camera frames fitted and normalised into the input allocate nothing per frame (YUYV, NV12, GREY)",
          arguments: [("yuyv", "chelsea_160x120.yuyv", 160, 120), ("nv12", "coffee_160x120.nv12", 160, 120), ("grey", "astronaut_96x72.grey", 96, 72)])
    func cameraFrameNoAllocationPerFrame(format: String, file: String, width: Int, height: Int) throws {
        let (check, lib) = try tools()
        let r = try runProcess("/usr/bin/env", ["LD_PRELOAD=\(lib)", check, "--frame", format, "\(width)", "\(height)",
                                                repoFile("Tests/Fixtures/camera/" + file), "50"])
        #expect(r.status == 0, "\(file): \(r.stderr)")
        let words = r.stdout.split(separator: " ").map(String.init)
        guard let li = words.firstIndex(of: "load_allocations"), let ai = words.firstIndex(of: "allocations"),
              let load = Int(words[li + 1]), let runs = Int(words[ai + 1]) else {
            throw TestFailure("unexpected output from swiftlet-alloc-check: \(r.stdout)")
        }
        #expect(load > 0, "the interposer counted nothing: is it preloaded?")
        #expect(runs == 0, "\(file): \(runs) allocations in 50 frames")
    }

    /// `swiftlet-alloc-check --stream`'s counts: (allocations, libjpeg's own allocations, frames counted).
    func streamCount(_ args: [String]) throws -> (Int, Int, Int) {
        let (check, lib) = try tools()
        let r = try runProcess("/usr/bin/env", ["LD_PRELOAD=\(lib)", check, "--stream"] + args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let words = last.split(separator: " ").map(String.init)
        func value(_ key: String) -> Int? { words.firstIndex(of: key).flatMap { $0 + 1 < words.count ? Int(words[$0 + 1]) : nil } }
        guard let load = value("load_allocations"), let n = value("allocations"), let jpeg = value("libjpeg_allocations"),
              let frames = value("frames") else {
            throw TestFailure("unexpected output from swiftlet-alloc-check --stream: \(last)")
        }
        #expect(load > 0, "the interposer counted nothing while loading: is it preloaded?")
        // Every counted frame printed its line.
        #expect(r.stdout.split(separator: "\n").filter { $0.contains(" frame ") }.count >= frames + 2, "\(r.stdout.prefix(400))")
        return (n, jpeg, frames)
    }

    @Test("the frame loop allocates nothing per frame: raw recordings through a detector and a classifier, pipelined and not, JSON and text")
    func frameLoopNoAllocationPerFrame() throws {
        let dir = try scratchDirectory()
        let face = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        #expect(face.status == 0, "\(face.stderr)")
        let squeeze = try swiftlet(["import", repoFile("models/onnx/squeezenet1_1.onnx"), "-o", dir + "/s.swl", "--labels", repoFile("models/labels/imagenet.txt")])
        #expect(squeeze.status == 0, "\(squeeze.stderr)")
        // Eight copies of a recorded frame make a recording.
        for (file, name) in [("chelsea_160x120.yuyv", "yuyv"), ("coffee_160x120.nv12", "nv12")] {
            let frame = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Fixtures/camera/" + file)))
            var all = Data()
            for _ in 0..<8 { all.append(frame) }
            try all.write(to: URL(fileURLWithPath: dir + "/r." + name))
        }
        for model in ["b.swl", "s.swl"] {
            for format in ["yuyv", "nv12"] {
                for flags in [["--json"], [], ["--json", "--no-pipeline"], ["--no-pipeline"]] {
                    let (n, jpeg, frames) = try streamCount([dir + "/" + model, dir + "/r." + format, "8", "--format", format, "--size", "160x120"] + flags)
                    #expect(frames == 6 && jpeg == 0)
                    #expect(n == 0, "\(model) \(format) \(flags): \(n) allocations in \(frames) frames")
                }
            }
        }
    }

    @Test("the frame loop allocates nothing per frame on MJPEG either: libjpeg's blocks are kept and reused (CSwiftletSys/jpeg.c)")
    func frameLoopMJPEGNoAllocationPerFrame() throws {
        let dir = try scratchDirectory()
        let face = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        #expect(face.status == 0, "\(face.stderr)")
        let photos = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Fixtures/camera/photos_160x120.mjpeg")))
        var all = Data()
        for _ in 0..<4 { all.append(photos) }  // 12 frames
        try all.write(to: URL(fileURLWithPath: dir + "/r.mjpeg"))
        for flags in [["--json", "--no-pipeline"], ["--json"], []] {
            let (n, jpeg, frames) = try streamCount([dir + "/b.swl", dir + "/r.mjpeg", "12"] + flags)
            #expect(frames == 10)
            // The decode alone (libjpeg through its memory interface), and the whole loop.
            #expect(jpeg == 0, "\(flags): libjpeg allocated \(jpeg) blocks in \(frames) decodes")
            #expect(n == 0, "\(flags): \(n) allocations in \(frames) frames")
        }
    }

    @Test("a detector's decoding and NMS allocate nothing per frame (BlazeFace, float32 and int8)")
    func detectorNoAllocationPerFrame() throws {
        let dir = try scratchDirectory()
        let swl = dir + "/blazeface.swl"
        let imp = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", swl, "--decoder", "blazeface"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let (int8, _) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 2)
        let (check, lib) = try tools()
        for path in [swl, int8] {
            for threads in [1, 2] {
                let (load, perRun) = try count(path, threads: threads)
                #expect(load > 0, "\(path): the interposer counted nothing while loading; is it preloaded?")
                #expect(perRun == 0, "\(path): \(perRun) heap allocations across 100 inferences with detection on \(threads) threads")
            }
            // The detector ran: score threshold 0 makes every anchor a candidate.
            let r = try runProcess("/usr/bin/env", ["LD_PRELOAD=\(lib)", check, path, "10"])
            let words = r.stdout.split(separator: " ").map(String.init)
            let i = try #require(words.firstIndex(of: "detections"), "\(r.stdout)")
            #expect((Int(words[i + 1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "\(r.stdout)")
        }
    }

    @Test("a RetinaFace-style decoder (1,050 priors, five landmarks) and its NMS allocate nothing per frame")
    func retinaFaceNoAllocationPerFrame() throws {
        let dir = try scratchDirectory()
        let swl = dir + "/stub.swl"
        let imp = try swiftlet(["import", repoFile("Tests/Fixtures/retinaface/stub160.onnx"), "-o", swl, "--decoder", "retinaface"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let (load, perRun) = try count(swl, threads: 1)
        #expect(load > 0, "the interposer counted nothing while loading; is it preloaded?")
        #expect(perRun == 0, "\(perRun) heap allocations across 100 inferences with RetinaFace decoding")
    }

    @Test("the YOLO decoders (v8 channel-major, v5 with objectness) and their NMS allocate nothing per frame", arguments: ["v8", "v5"])
    func yoloNoAllocationPerFrame(version: String) throws {
        let dir = try scratchDirectory()
        let swl = dir + "/yolo\(version).swl"
        let imp = try swiftlet(["import", repoFile("Tests/Fixtures/yolo/stub_\(version).onnx"), "-o", swl, "--decoder", "yolo\(version)"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let (load, perRun) = try count(swl, threads: 1)
        #expect(load > 0, "the interposer counted nothing while loading; is it preloaded?")
        #expect(perRun == 0, "\(perRun) heap allocations across 100 inferences with YOLO\(version) decoding")
    }

    @Test("the MTCNN cascade allocates nothing per image (float32 and int8, astronaut)")
    func mtcnnNoAllocationPerImage() throws {
        let dir = try mtcnnBundles(int8: true)
        let (check, lib) = try tools()
        for bundle in ["mtcnn.bundle", "mtcnn-int8.bundle"] {
            let r = try runProcess("/usr/bin/env", ["LD_PRELOAD=\(lib)", check, "\(dir)/\(bundle)", repoFile("models/photos/astronaut.jpg"), "5"])
            #expect(r.status == 0, "\(bundle): \(r.stderr)")
            let words = r.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            func value(_ key: String) -> Int? { words.firstIndex(of: key).flatMap { Int(words[$0 + 1]) } }
            #expect((value("load_allocations") ?? 0) > 0, "\(bundle): the interposer counted nothing while loading: \(r.stdout)")
            #expect(value("allocations") == 0, "\(bundle): \(r.stdout)")
            #expect(value("detections") == 6, "\(bundle): one face in each of the warm-up and 5 runs: \(r.stdout)")
        }
    }

    @Test("no allocation across 100 inferences", arguments: GoldenTests.models)
    func noAllocationPerFrame(model: String) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/\(model).onnx", dir: dir)
        // int8: calibrated on two photos (the ranges do not matter here, the kernels do).
        let (int8, _) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 2)
        for path in [swl, int8] {
            for threads in [1, 2] {
                let (load, perRun) = try count(path, threads: threads)
                // Loading allocates (the spec, the arena): proof that the interposer is counting.
                #expect(load > 0, "\(path): the interposer counted nothing while loading; is it preloaded?")
                #expect(perRun == 0, "\(path): \(perRun) heap allocations across 100 inferences on \(threads) threads")
            }
        }
    }
}
