import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletRuntime

/// The repository root, found from this file's path.
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func repoFile(_ rel: String) -> String { repoRoot + "/" + rel }

/// A golden directory's meta.json, as written by tools/goldens/make_goldens.py.
struct GoldenMeta {
    let json: [String: Any]
    let dir: String

    init(model: String) throws {
        dir = repoFile("Tests/Goldens/\(model)")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/meta.json"))
        json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    var onnxPath: String { repoFile(json["onnx"] as! String) }
    var mean: [Float] { (json["mean"] as! [NSNumber]).map { $0.floatValue } }
    var std: [Float] { (json["std"] as! [NSNumber]).map { $0.floatValue } }
    var inputShape: [Int] { ((json["input"] as! [String: Any])["shape"] as! [NSNumber]).map { $0.intValue } }
    var photos: [String] { (json["photos"] as! [String: Any]).keys.sorted() }
    var task: String { json["task"] as? String ?? "raw" }
    var outputCount: Int { (json["outputs"] as! [Any]).count }
    func photo(_ p: String) -> [String: Any] { (json["photos"] as! [String: Any])[p] as! [String: Any] }
}

/// Imports an ONNX file and loads it as the board would: encode to .swl bytes, validate, prepare.
func importAndLoad(_ onnx: String, options: ImportOptions = ImportOptions()) throws -> (ModelSpec, Interpreter) {
    guard FileManager.default.fileExists(atPath: onnx) else {
        throw TestFailure("\(onnx) is missing: run tools/models/prepare.sh (the README's test command does)")
    }
    let spec = try importONNX(path: onnx, options: options)
    let bytes = encodeSWL(spec)
    let model = try PackedModel(file: MappedFile(bytes: bytes), path: onnx + ".swl")
    return (spec, try Interpreter(model: model))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// `(u8 − mean) / std` per channel, HWC uint8 → NCHW float, exactly as the goldens' NumPy code.
func normalizedNCHW(_ u8: [UInt8], h: Int, w: Int, mean: [Float], std: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: 3 * h * w)
    for y in 0..<h {
        for x in 0..<w {
            for c in 0..<3 {
                out[(c * h + y) * w + x] = (Float(u8[(y * w + x) * 3 + c]) - mean[c]) / std[c]
            }
        }
    }
    return out
}

/// max |a − b| / max |b|: the error relative to the output's own scale.
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    var diff: Float = 0
    var scale: Float = 0
    for i in 0..<min(a.count, b.count) {
        diff = max(diff, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return diff / max(scale, 1e-12)
}

func argmax(_ v: [Float]) -> Int {
    var best = 0
    for i in 1..<v.count where v[i] > v[best] { best = i }
    return best
}

func topK(_ v: [Float], _ k: Int) -> [Int] {
    Array(v.indices.sorted { v[$0] > v[$1] }.prefix(k))
}

/// Runs an executable, capturing stdout and stderr through files; in `directory` when given.
/// `environment` adds to (or replaces in) this process's environment.
func runProcess(_ exe: String, _ args: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
    let dir = try scratchDirectory()
    let outURL = URL(fileURLWithPath: dir + "/stdout"), errURL = URL(fileURLWithPath: dir + "/stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.standardOutput = out
    p.standardError = err
    try p.run()
    p.waitUntilExit()
    try out.close()
    try err.close()
    return CLIResult(status: p.terminationStatus,
                     stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                     stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// A fake powercap tree under `root` (for SWIFTLET_SYSFS_ROOT): one package zone whose energy_uj a
/// thread advances by 5 mJ every 5 ms (1 W) until `stop()`.
final class FakeRAPL: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true

    init(root: String) throws {
        let zone = root + "/sys/class/powercap/intel-rapl:0"
        try FileManager.default.createDirectory(atPath: zone, withIntermediateDirectories: true)
        try "package-0\n".write(toFile: zone + "/name", atomically: true, encoding: .utf8)
        try "262143328850\n".write(toFile: zone + "/max_energy_range_uj", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: zone + "/energy_uj", atomically: true, encoding: .utf8)
        Thread { [self] in
            var uj = 1000
            while lock.withLock({ running }) {
                uj += 5000
                try? "\(uj)\n".write(toFile: zone + "/energy_uj", atomically: true, encoding: .utf8)
                Thread.sleep(forTimeInterval: 0.005)
            }
        }.start()
    }

    func stop() { lock.withLock { running = false } }
}
