import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime

// `swiftlet eval`: a classifier's top-1 / top-5 accuracy on a labelled folder (ImageFolder layout:
// one sub-folder per class, named by class index or by label), for one model or several side by
// side (float and int8), with how often each model's top-1 agrees with the first model's.

/// One labelled image.
public struct LabelledImage: Sendable {
    public var path: String
    public var label: Int
}

/// The images of an ImageFolder tree, sorted by path, with their class from the folder name: an
/// integer is the class index, anything else must be one of `labels`.
public func labelledImages(_ dir: String, labels: [String], classes: Int) throws(SwiftletError) -> [LabelledImage] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw .invalidInput(path: dir, detail: "no such folder (--labels)", hint: "pass a folder with one sub-folder per class (named by class index or label)")
    }
    let subdirs: [String]
    do {
        subdirs = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    } catch {
        throw .invalidInput(path: dir, detail: "the --labels folder cannot be read", hint: "check its permissions")
    }
    var out: [LabelledImage] = []
    for sub in subdirs {
        let path = dir + "/" + sub
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { continue }
        var cls: Int
        if let n = Int(sub) {
            cls = n
        } else if let i = labels.firstIndex(of: sub) ?? labels.firstIndex(where: { $0.lowercased() == sub.lowercased() }) {
            cls = i
        } else {
            throw .invalidInput(path: dir, detail: "sub-folder '\(sub)' is neither a class index nor one of the model's labels", hint: "name class folders 0…\(classes - 1) or by label")
        }
        if cls < 0 || cls >= classes {
            throw .invalidInput(path: dir, detail: "sub-folder '\(sub)' is class \(cls), but the model has \(classes) classes (0…\(classes - 1))", hint: "")
        }
        for f in try listImages(path, flag: "--labels") { out.append(LabelledImage(path: f, label: cls)) }
    }
    if out.isEmpty { throw .invalidInput(path: dir, detail: "the --labels folder has no class sub-folders with JPEG images", hint: "") }
    return out
}

/// Accuracy of one model.
public struct EvalScore: Sendable {
    public var model: String
    public var top1 = 0
    public var top5 = 0
    /// Images whose top-1 equals the first model's top-1.
    public var agree = 0
    public var count = 0
}

/// Evaluates every model on the labelled images (all models must be classifiers with the same classes).
public func evaluate(models: [String], labelsDir: String, limit: Int? = nil) throws(SwiftletError) -> (scores: [EvalScore], failed: [(String, String)]) {
    if models.isEmpty { throw .usage(detail: "pass at least one model (.swl)") }
    if let limit, limit < 1 { throw .usage(detail: "--images must be at least 1, got \(limit)") }
    var runs: [Interpreter] = []
    for m in models {
        let r = try Interpreter(model: try PackedModel(path: m))
        if r.spec.postprocess.kind != .classification && r.spec.outputs.count != 1 {
            throw .invalidModel(detail: "\(m) is not a classifier (one output of class scores)", hint: "eval measures classification accuracy")
        }
        if r.spec.preprocess == nil {
            throw .invalidModel(detail: "\(m) has no pre-processing metadata, so it cannot take images",
                                hint: "re-import it with --mean R,G,B --std R,G,B")
        }
        runs.append(r)
    }
    let classes = runs[0].spec.tensors[runs[0].spec.outputs[0]].shape.last ?? 0
    for (i, r) in runs.enumerated() where (r.spec.tensors[r.spec.outputs[0]].shape.last ?? 0) != classes {
        throw .invalidModel(detail: "\(models[i]) has \(r.spec.tensors[r.spec.outputs[0]].shape.last ?? 0) classes, \(models[0]) has \(classes); compare models of the same classifier", hint: "")
    }
    var images = try labelledImages(labelsDir, labels: runs[0].spec.labels, classes: classes)
    if let limit, images.count > limit { images = Array(images.prefix(limit)) }
    var scores = models.map { EvalScore(model: $0) }
    var failed: [(String, String)] = []
    for img in images {
        // Every model's input first: models may pre-process differently (size, crop), so an image
        // one model can take and another cannot is skipped for all, and every model counts the same
        // images.
        var problem: String? = nil
        for r in runs where problem == nil {
            do {
                try loadImageInput(r, path: img.path)
            } catch {
                problem = error.message
            }
        }
        if let problem {
            failed.append((img.path, problem))
            continue
        }
        var firstTop = -1
        for (m, r) in runs.enumerated() {
            r.invoke()
            let top = topIndices(r.output(0), 5)
            if m == 0 { firstTop = top[0] }
            scores[m].count += 1
            if top.first == img.label { scores[m].top1 += 1 }
            if top.contains(img.label) { scores[m].top5 += 1 }
            if top.first == firstTop { scores[m].agree += 1 }
        }
    }
    return (scores, failed)
}
