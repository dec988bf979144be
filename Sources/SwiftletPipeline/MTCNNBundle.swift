import SwiftletCore
import SwiftletDetect
import SwiftletKernels
import SwiftletModel
import SwiftletRuntime
import SwiftletVision

// Left out of the board binaries (tools/build-board defines SWIFTLET_NO_MTCNN); still embedded-clean.
#if !SWIFTLET_NO_MTCNN

// An MTCNN bundle: a small text file naming the three `.swl` stages and the cascade's parameters
// (docs/detection.md, "MTCNN"), loaded into three interpreters that `MTCNN.detect` runs.
//
//     swiftlet-bundle 1
//     detector mtcnn
//     pnet mtcnn_pnet.swl          # relative paths are from the bundle's folder
//     rnet mtcnn_rnet.swl
//     onet mtcnn_onet.swl
//     min-face-size 20             # optional, facenet-pytorch's defaults
//     scale-factor 0.709
//     thresholds 0.6 0.7 0.7
//     nms 0.5 0.7 0.7 0.7          # P-Net per level, P-Net over the pyramid, R-Net, O-Net ('Min')
//     max-pnet-candidates 4096
//     max-rnet-candidates 512

/// A parsed bundle: the three model paths (resolved) and the options.
public struct MTCNNBundle: Equatable {
    public var pnet: String
    public var rnet: String
    public var onet: String
    public var options: MTCNNOptions

    /// Parses the bundle text; `path` names it in errors and resolves relative model paths.
    public init(text: [UInt8], path: String) throws(SwiftletError) {
        var o = MTCNNOptions()
        var models: [String?] = [nil, nil, nil]
        var sawHeader = false, sawDetector = false
        let folder = parentFolder(path)
        var lineNumber = 0
        for raw in splitLines(text) {
            lineNumber += 1
            var words: [String] = []
            for w in splitWords(raw) {
                if w.first == UInt8(ascii: "#") { break }
                words.append(String(decoding: w, as: UTF8.self))
            }
            if words.isEmpty { continue }
            func bad(_ why: String) -> SwiftletError {
                .malformedFile(path: path, detail: "line \(lineNumber): \(why)", hint: "see docs/detection.md (MTCNN bundle)")
            }
            func numbers(_ n: Int) throws(SwiftletError) -> [Float] {
                if words.count != n + 1 { throw bad("'\(words[0])' takes \(n) number\(n == 1 ? "" : "s"), got \(words.count - 1)") }
                var out: [Float] = []
                for w in words.dropFirst() {
                    guard let v = parseDecimal(w) else { throw bad("'\(w)' is not a decimal number") }
                    out.append(v)
                }
                return out
            }
            let key = words[0]
            if !sawHeader {
                if !(key.same("swiftlet-bundle") && words.count == 2) { throw bad("expected 'swiftlet-bundle 1' first, got '\(key)'") }
                if !words[1].same("1") { throw bad("bundle version \(words[1]), this build reads 1") }
                sawHeader = true
                continue
            }
            if key.same("detector") {
                if !(words.count == 2 && words[1].same("mtcnn")) { throw bad("only 'detector mtcnn' is known") }
                sawDetector = true
            } else if key.same("pnet") || key.same("rnet") || key.same("onet") {
                if words.count != 2 { throw bad("'\(key)' takes one path (no spaces)") }
                let stage = key.same("pnet") ? 0 : key.same("rnet") ? 1 : 2
                models[stage] = words[1].startsWith("/") ? words[1] : folder + words[1]
            } else if key.same("min-face-size") {
                o.minFaceSize = Double(try numbers(1)[0])
            } else if key.same("scale-factor") {
                // Parsed in double, as facenet-pytorch's 0.709.
                if words.count != 2 || parseDecimal(words[1]) == nil { throw bad("'scale-factor' takes one decimal number") }
                o.scaleFactor = parseDecimalDouble(words[1])
            } else if key.same("thresholds") {
                let v = try numbers(3)
                o.thresholds = (v[0], v[1], v[2])
            } else if key.same("nms") {
                let v = try numbers(4)
                o.nmsThresholds = (v[0], v[1], v[2], v[3])
            } else if key.same("max-pnet-candidates") {
                o.maxPNetCandidates = Int(try numbers(1)[0])
            } else if key.same("max-rnet-candidates") {
                o.maxRNetCandidates = Int(try numbers(1)[0])
            } else {
                throw bad("unknown key '\(key)'")
            }
        }
        if !sawHeader { throw .malformedFile(path: path, detail: "empty bundle", hint: "see docs/detection.md (MTCNN bundle)") }
        if !sawDetector { throw .malformedFile(path: path, detail: "no 'detector mtcnn' line", hint: "see docs/detection.md (MTCNN bundle)") }
        let names = ["pnet", "rnet", "onet"]
        for i in 0..<3 where models[i] == nil {
            throw .malformedFile(path: path, detail: "no '\(names[i])' line naming the \(names[i]) .swl file", hint: "see docs/detection.md (MTCNN bundle)")
        }
        if let p = o.problem() { throw .malformedFile(path: path, detail: p, hint: "see docs/detection.md (MTCNN bundle)") }
        pnet = models[0]!
        rnet = models[1]!
        onet = models[2]!
        options = o
    }
}

/// The three networks of a bundle on three interpreters.
public final class MTCNNInterpreters: MTCNNNetworks {
    public let stages: [Interpreter]
    public let pnetWidth: Int
    public let pnetHeight: Int

    /// Loads and checks the three models: inputs `[1, 3, H, W]` (24 × 24 for R-Net, 48 × 48 for
    /// O-Net), outputs as facenet-pytorch's nets give them; errors name the bundle, the stage's file,
    /// the output, its shape and what is expected.
    public init(bundle: MTCNNBundle, path: String, kernels: KernelChoice = .auto, threads: Int = 1) throws(SwiftletError) {
        var out: [Interpreter] = []
        var pw = 0, ph = 0
        for (stage, file) in [bundle.pnet, bundle.rnet, bundle.onet].enumerated() {
            let name = ["pnet", "rnet", "onet"][stage]
            let model: PackedModel
            do {
                model = try PackedModel(path: file)
            } catch {
                throw .invalidModel(detail: "\(path): \(name): \(error.message)", hint: "")
            }
            let spec = model.spec
            func fail(_ what: String) -> SwiftletError {
                .invalidModel(detail: "\(path): \(name) '\(file)': \(what)", hint: "export the stage from tools/models (facenet-pytorch's nets) and import it again")
            }
            if spec.inputs.count != 1 { throw fail("has \(spec.inputs.count) inputs, MTCNN's \(name) has 1") }
            let input = spec.tensors[spec.inputs[0]]
            let s = input.logicalShape
            let side = stage == 1 ? 24 : 48
            let inputOK = s.count == 4 && s[0] == 1 && s[1] == 3 && input.layout == .nhwc && input.dtype == .float32
                && (stage == 0 ? (s[2] >= 12 && s[3] >= 12) : (s[2] == side && s[3] == side))
            if !inputOK {
                let want = stage == 0 ? "[1, 3, H, W] with H, W >= 12" : "[1, 3, \(side), \(side)]"
                throw fail("input '\(input.name)' has shape \(Shape.text(s)), \(name) expects \(want) (float32 image)")
            }
            var expected: [[Int]]
            if stage == 0 {
                ph = s[2]
                pw = s[3]
                let oh = pnetOutputSide(ph), ow = pnetOutputSide(pw)
                expected = [[1, 4, oh, ow], [1, 2, oh, ow]]
            } else {
                expected = stage == 1 ? [[1, 4], [1, 2]] : [[1, 4], [1, 10], [1, 2]]
            }
            let roles = stage == 2 ? ["box regressors", "landmarks", "face probabilities"] : ["box regressors", "face probabilities"]
            if spec.outputs.count != expected.count {
                throw fail("has \(spec.outputs.count) outputs, \(name) has \(expected.count) (\(roles.joined(separator: ", ")))")
            }
            for (i, want) in expected.enumerated() {
                let t = spec.tensors[spec.outputs[i]]
                let ok = t.logicalShape == want && t.dtype == .float32 && (want.count != 4 || t.layout == .nhwc)
                if !ok {
                    throw fail("output \(i) '\(t.name)' has shape \(Shape.text(t.logicalShape)), \(name) expects \(Shape.text(want)) (\(roles[i]))")
                }
            }
            out.append(try Interpreter(model: model, kernels: kernels, threads: threads))
        }
        stages = out
        pnetWidth = pw
        pnetHeight = ph
    }

    public func input(_ stage: Int) -> UnsafeMutablePointer<Float> { stages[stage].inputPointer(0) }
    public func run(_ stage: Int) { stages[stage].invoke() }
    public func output(_ stage: Int, _ index: Int) -> UnsafePointer<Float> { stages[stage].outputPointer(index) }
}

/// Loads a bundle file: its text, its models (checked), and the cascade sized for them.
public func loadMTCNN(path: String, kernels: KernelChoice = .auto, threads: Int = 1) throws(SwiftletError) -> (MTCNN, MTCNNInterpreters) {
    let text = try sys_readFile(path, what: "an MTCNN bundle")
    let bundle = try MTCNNBundle(text: text, path: path)
    let nets = try MTCNNInterpreters(bundle: bundle, path: path, kernels: kernels, threads: threads)
    return (try MTCNN(options: bundle.options, pnetWidth: nets.pnetWidth, pnetHeight: nets.pnetHeight), nets)
}

func splitLines(_ b: [UInt8]) -> [ArraySlice<UInt8>] {
    b.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
}

func splitWords(_ b: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
    b.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
}

/// The folder part of `path` with its trailing `/`, or "" for a bare name.
func parentFolder(_ path: String) -> String {
    let b = Array(path.utf8)
    guard let slash = b.lastIndex(of: UInt8(ascii: "/")) else { return "" }
    return String(decoding: b[...slash], as: UTF8.self)
}

/// `parseDecimal` in double precision, correctly rounded (digits / 10^decimals; the caller has
/// checked the text parses), so `0.709` is the same double as Python's.
func parseDecimalDouble(_ text: String) -> Double {
    var digits: UInt64 = 0, decimals = 0, seenDot = false, negative = false
    for (i, b) in text.utf8.enumerated() {
        if i == 0 && b == UInt8(ascii: "-") {
            negative = true
        } else if b == UInt8(ascii: ".") {
            seenDot = true
        } else {
            digits = digits * 10 + UInt64(b - UInt8(ascii: "0"))
            if seenDot { decimals += 1 }
        }
    }
    var p = 1.0
    for _ in 0..<decimals { p *= 10 }
    return (negative ? -1 : 1) * Double(digits) / p
}

#endif

/// True when `path` names a bundle (`.bundle`) rather than a `.swl` model.
public func isBundlePath(_ path: String) -> Bool { path.endsWith(".bundle") }
