import SwiftletApp
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPipeline
import SwiftletRuntime
import SwiftletTFLite
import SwiftletVision

/// The fuzz targets (issue #12 item 6): what each does with one input, as plain functions.
///
/// `tools/fuzz TARGET` runs them under libFuzzer with AddressSanitizer (`swiftlet-fuzz`);
/// `FuzzCorpusTests` replays every committed seed and regression input through the same functions
/// on the normal build. A thrown `SwiftletError` is a clean outcome (the input was refused with a
/// message); a trap, a sanitizer report, a time-out, or a broken property (`fuzzFailure`) is a
/// finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A `.swl` file: the reader, what `inspect` computes, and one inference when the reader accepts.
    case swl
    /// A `.npy` tensor: the reader, the float conversion, and encode → parse round trip.
    case npy
    /// A JPEG image: libjpeg decode, then resize and normalise as `run --image` does.
    case jpeg
    /// An ONNX model: import, the writer's check, encode, and the reader on the result.
    case onnx
    /// A TensorFlow Lite model: the flatbuffer reader, import, the writer's check, encode, the reader.
    case tflite

    /// Runs one input through the target.
    public func run(_ bytes: [UInt8]) throws(SwiftletError) {
        switch self {
        case .swl: try fuzzSWL(bytes)
        case .npy: try fuzzNPY(bytes)
        case .jpeg: try fuzzJPEG(bytes)
        case .onnx: try fuzzONNX(bytes)
        case .tflite: try fuzzTFLite(bytes)
        }
    }
}

/// Models whose arena is above this are read and inspected but not run: a huge arena is the memory
/// limit's business (`MemoryBoundTests`), and under AddressSanitizer each allocated and freed
/// megabyte costs time. It was 64 MiB: a mutant declaring a 64 MiB arena for 800 bytes of tensors
/// took 67 ms an input under ASan (a seed: under 1 ms), and one such input ran past libFuzzer's 10 s
/// (`Tests/Fuzz/swl/regressions/timeout-66da733f…`). The seeds' arenas are at most 3.4 KB.
public let fuzzMaxArenaBytes = 4 << 20
/// Models with more multiply-accumulates than this are not run (an inference must stay well under
/// the fuzzer's per-input time-out).
public let fuzzMaxMACs = 50_000_000

/// Whether the `swl` target runs an inference on an accepted model of `macs` multiply-accumulates
/// (it reads and inspects them all).
public func fuzzRunsInference(_ spec: ModelSpec, macs: Int) -> Bool {
    spec.arenaBytes <= fuzzMaxArenaBytes && macs <= fuzzMaxMACs
}

/// A property every accepted input must have, broken: a finding, like a trap.
func fuzzFailure(_ what: String) -> Never {
    fatalError("fuzz finding: \(what)")
}

/// `.swl`: `PackedModel` from bytes (CRC checked), the figures `inspect` prints (statistics, lower
/// bound, memory timeline, kernels, sharing, the plan drawing), then an `Interpreter` and one
/// inference on a deterministic input when the arena is at most `fuzzMaxArenaBytes`.
public func fuzzSWL(_ bytes: [UInt8]) throws(SwiftletError) {
    let model = try PackedModel(file: MappedFile(bytes: bytes), path: "fuzz.swl")
    let spec = model.spec
    let stats = modelStats(spec)
    _ = arenaLowerBound(spec)
    _ = liveBytesPerStep(spec)
    _ = Interpreter.plannedKernels(spec)
    _ = SharingSummary(spec)
    _ = planSVG(spec)
    guard fuzzRunsInference(spec, macs: stats.macs) else { return }
    let interpreter = try Interpreter(model: model, kernels: .auto, threads: 1)
    for i in 0..<spec.inputs.count {
        let n = Shape.count(spec.tensors[spec.inputs[i]].shape) ?? 0
        let p = interpreter.inputPointer(i)
        for k in 0..<n { p[k] = Float(k % 17) * 0.25 - 2 }
    }
    interpreter.invoke()
    for i in 0..<spec.outputs.count { _ = interpreter.tensorBytes(spec.outputs[i]) }
}

/// `.npy`: the reader, the float conversion `run --input` uses, and the writer: what it encodes must
/// parse back to the same array.
public func fuzzNPY(_ bytes: [UInt8]) throws(SwiftletError) {
    let array = try NPYArray(parsing: bytes, path: "fuzz.npy")
    _ = try? array.floats()
    let again: NPYArray
    do {
        again = try NPYArray(parsing: array.encoded(), path: "again.npy")
    } catch {
        fuzzFailure("an accepted .npy does not parse again after encoding: \(error.message)")
    }
    if again != array { fuzzFailure("an accepted .npy changed in an encode/parse round trip") }
}

/// JPEG: libjpeg decode (with the DCT-scale budget `run --image` uses), then the model's
/// pre-processing: stretch or shorter-side resize and centre crop, then normalise to float (RGB,
/// BGR, or luma). The pre-processing is chosen from a hash of the input, so mutants vary it too.
public func fuzzJPEG(_ bytes: [UInt8]) throws(SwiftletError) {
    var h: UInt32 = 2_166_136_261
    for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
    let width = 1 + Int(h % 48), height = 1 + Int((h >> 6) % 48)
    let crop = (h >> 12) & 1 == 1
    let shorter = crop ? Int((h >> 13) % 64) : 0
    var pre = Preprocess()
    pre.resizeMode = crop ? .shorterCrop : .stretch
    pre.resizeShorter = shorter
    pre.bgr = (h >> 20) & 1 == 1
    pre.mean = [127.5, 116, 103]
    pre.std = [58, 57, 57.5]
    // As `loadImageInput` (Sources/SwiftletApp/Run.swift): the size the resize needs, then the fit.
    let need = crop ? max(shorter, height, width) : 0
    var image = RGBImage(width: 0, height: 0)
    try decodeJPEG(bytes, path: "fuzz.jpg", atLeast: crop ? (need, need) : (width, height), into: &image)
    let fitted: RGBImage
    if crop {
        fitted = resizeShorterSideAndCenterCrop(image, shorter: shorter > 0 ? shorter : max(width, height), width: width, height: height)
    } else {
        fitted = image.width == width && image.height == height ? image : resize(image, width: width, height: height)
    }
    if fitted.width != width || fitted.height != height {
        fuzzFailure("pre-processing gave \(fitted.width)x\(fitted.height), wanted \(width)x\(height)")
    }
    var out = [Float](repeating: 0, count: width * height * 3)
    if (h >> 21) & 3 == 0 {
        out.withUnsafeMutableBufferPointer { normalizeLuma(fitted, mean: pre.mean[0], std: pre.std[0], into: $0.baseAddress!) }
    } else {
        normalize(fitted, mean: pre.mean, std: pre.std, bgr: pre.bgr, intoArray: &out)
    }
}

/// ONNX: `importONNX` from bytes, the writer's check (as `swiftlet import` does), `encodeSWL`, and the
/// reader on the result: a model the importer and the writer accept must load ("a model that imports
/// also loads", docs/reliability.md).
public func fuzzONNX(_ bytes: [UInt8]) throws(SwiftletError) {
    try checkImported(try importONNX(bytes: bytes, path: "fuzz.onnx", options: ImportOptions()))
}

/// TFLite: `importTFLite` from bytes (the validating flatbuffer reader first), then as `fuzzONNX`:
/// the writer's check, `encodeSWL`, and the reader on the result.
public func fuzzTFLite(_ bytes: [UInt8]) throws(SwiftletError) {
    try checkImported(try importTFLite(bytes: bytes, path: "fuzz.tflite", options: ImportOptions()))
}

/// What every importer's fuzz target checks of an accepted model: the writer's check, then the
/// reader must load what the writer encodes.
func checkImported(_ spec: ModelSpec) throws(SwiftletError) {
    try checkWritable(spec)
    let encoded = encodeSWL(spec)
    do {
        _ = try PackedModel(file: MappedFile(bytes: encoded), path: "imported.swl")
    } catch {
        fuzzFailure("the importer and checkWritable accepted a model the reader refuses: \(error.message)")
    }
}
