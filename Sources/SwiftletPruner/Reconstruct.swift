import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner
import SwiftletRuntime

/// Layers whose output is `W · x + b` at each position: reconstruction can refit them in closed form.
func isPointwise(_ op: Op) -> Bool {
    switch op {
    case .conv2d(let c): return c.groups == 1 && c.kernelH == 1 && c.kernelW == 1 && c.padTop == 0 && c.padLeft == 0
        && c.padBottom == 0 && c.padRight == 0
    case .fullyConnected: return true
    case .binary, .activation, .prelu, .maxPool, .avgPool, .mean, .reduce, .concat, .softmax, .resize, .pad, .slice,
         .transpose, .reshape, .quantize, .dequantize, .lookup:
        return false
    }
}

/// A float model loaded to be run on calibration images with every tensor whole, and read back.
struct CalibrationRunner {
    let spec: ModelSpec
    let interp: Interpreter

    init(_ spec: ModelSpec) throws(SwiftletError) {
        var run = spec
        run.streamRows = false  // every tensor whole
        _ = planArena(&run, reorder: false)
        self.spec = run
        interp = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(run)), path: spec.name + " (pruning calibration)"))
    }

    /// Tensor `t`'s values when the model runs on the image at `path` (pre-processed as its metadata says).
    func values(of t: Int, image path: String) throws(SwiftletError) -> [Float] {
        try values(of: [t], image: path)[t] ?? []
    }

    /// The values of each tensor of `tensors` when the model runs once on the image at `path`.
    func values(of tensors: Set<Int>, image path: String) throws(SwiftletError) -> [Int: [Float]] {
        try loadImageInput(interp, path: path)
        var out: [Int: [Float]] = [:]
        let read = { (t: Int) -> [Float] in self.interp.tensorBytes(t).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        for t in spec.inputs where tensors.contains(t) { out[t] = read(t) }
        interp.invoke { i in
            for t in self.spec.nodes[i].outputs where tensors.contains(t) { out[t] = read(t) }
        }
        return out
    }
}

/// Per pointwise node, the input channels `keep` removes from it (its weights' cut last axis).
func droppedInputs(_ spec: ModelSpec, _ groups: [ChannelGroup], _ keep: [Int: [Int]]) -> [Int: Set<Int>] {
    let cuts = channelCuts(groups, keep: keep)
    var dropped = [Int: Set<Int>]()
    for (n, node) in spec.nodes.enumerated() where isPointwise(node.op) && node.inputs.count > 1 {
        let w = node.inputs[1]
        if let gone = cuts[w]?[spec.tensors[w].shape.count - 1], !gone.isEmpty { dropped[n] = gone }
    }
    return dropped
}

/// `spec` with each pointwise layer that loses input channels to `keep` refit by least squares on the
/// calibration images, as in ThiNet (Luo et al., 2017) and channel pruning (He et al., 2017): layer by
/// layer in execution order, its weights on the kept channels and its bias become those that best
/// reproduce the original model's output of that layer from the input it now gets (the earlier layers
/// already pruned and refit), `min E‖W x + b − W′ x′_K − b′‖²`. The removed channels' weights become
/// zero (`pruneChannels` then removes them); other layers are unchanged.
public func reconstructReaders(_ spec: ModelSpec, _ groups: [ChannelGroup], keep: [Int: [Int]],
                               images: [String]) throws(SwiftletError) -> ModelSpec {
    let original = try CalibrationRunner(spec)
    var current = spec
    for (n, gone) in droppedInputs(spec, groups, keep).sorted(by: { $0.key < $1.key }) where spec.nodes[n].inputs.count > 2 {
        let x = spec.nodes[n].inputs[0]
        let c = spec.tensors[x].shape.last ?? 1
        let d = c + 1
        var own = [Double](repeating: 0, count: d * d)    // E[[x′; 1] [x′; 1]ᵀ], upper triangle
        var cross = [Double](repeating: 0, count: d * d)  // E[[x; 1] [x′; 1]ᵀ]
        let now = try CalibrationRunner(current)
        for path in images {
            let a = try original.values(of: x, image: path), b = try now.values(of: x, image: path)
            accumulateMoments(&own, &cross, a, b, channels: c)
        }
        refit(&current, node: n, dropping: gone, own: own, cross: cross)
    }
    return current
}

/// `spec` with `keep`'s channels removed and the layers that read them refit on the images:
/// `reconstructReaders`, then `pruneChannels`.
public func pruneAndRefit(_ spec: ModelSpec, _ groups: [ChannelGroup], keep: [Int: [Int]], images: [String]) throws(SwiftletError) -> ModelSpec {
    try pruneChannels(reconstructReaders(spec, groups, keep: keep, images: images), groups, keep: keep)
}

/// Adds, over the positions of `a` (the original input) and `b` (the pruned model's), the upper
/// triangle of `Σ [b; 1] [b; 1]ᵀ` to `own` and `Σ [a; 1] [b; 1]ᵀ` to `cross`.
func accumulateMoments(_ own: inout [Double], _ cross: inout [Double], _ a: [Float], _ b: [Float], channels c: Int) {
    let d = c + 1
    let positions = min(a.count, b.count) / max(c, 1)
    var ra = [Double](repeating: 1, count: d), rb = [Double](repeating: 1, count: d)
    own.withUnsafeMutableBufferPointer { op in
        cross.withUnsafeMutableBufferPointer { cp in
            for p in 0..<positions {
                for k in 0..<c {
                    ra[k] = Double(a[p * c + k])
                    rb[k] = Double(b[p * c + k])
                }
                for i in 0..<d {
                    let bi = rb[i], ai = ra[i]
                    let base = i * d
                    if bi != 0 { for j in i..<d { op[base + j] += bi * rb[j] } }
                    if ai != 0 { for j in 0..<d { cp[base + j] += ai * rb[j] } }
                }
            }
        }
    }
}

/// Element (i, j) of a symmetric `d × d` matrix whose upper triangle `m` holds.
@inline(__always) func moment(_ m: [Double], _ d: Int, _ i: Int, _ j: Int) -> Double {
    i <= j ? m[i * d + j] : m[j * d + i]
}

/// Refits node `n`'s weights `[O, …, C]` and bias `[O]` on the channels it keeps (see `reconstructReaders`):
/// `[W′_K b′] = [W b] · cross[:, K′] · (own[K′, K′] + λI)⁻¹`, K′ the kept channels and the constant.
func refit(_ spec: inout ModelSpec, node n: Int, dropping gone: Set<Int>, own: [Double], cross: [Double]) {
    let wt = spec.nodes[n].inputs[1], bt = spec.nodes[n].inputs[2]
    let c = spec.tensors[wt].shape.last ?? 1
    let o = spec.tensors[wt].shape[0]
    let d = c + 1
    let kept = (0..<c).filter { !gone.contains($0) } + [c]  // c: the constant 1, i.e. the bias
    let k = kept.count
    var w = spec.weightFloats(wt), b = spec.weightFloats(bt)
    // A = own[K′, K′] + λ on the weights' diagonal: a ridge that pulls the weights towards their
    // unpruned values, worth k positions of data (λ = k · the mean of a kept channel's E[x²]). With many
    // positions per unknown (convolutions over an image) it hardly matters; where a layer sees few
    // (a classifier on one vector per image) it keeps the fit from matching the calibration images only.
    // The bias is not pulled: it absorbs the removed channels' mean.
    var a = [Double](repeating: 0, count: k * k)
    let samples = max(moment(own, d, c, c), 1)
    var diagonal = 0.0
    for i in 0..<(k - 1) { diagonal += moment(own, d, kept[i], kept[i]) }
    let meanSquare = diagonal / Double(max(k - 1, 1)) / samples
    let lambda = Double(k) * meanSquare + 1e-5 * diagonal / Double(max(k - 1, 1)) + 1e-12
    for i in 0..<k { for j in 0..<k { a[i * k + j] = moment(own, d, kept[i], kept[j]) } }
    for i in 0..<(k - 1) { a[i * k + i] += lambda }
    a[(k - 1) * k + (k - 1)] += 1e-12 * samples
    guard cholesky(&a, k) else { return }
    var rhs = [Double](repeating: 0, count: k)
    for row in 0..<o {
        // rhs_i = Σ_j cross[j, K′_i] · [w_row; b_row]_j
        for i in 0..<k {
            let col = kept[i]
            var s = cross[c * d + col] * Double(b[row])
            for j in 0..<c { s += cross[j * d + col] * Double(w[row * c + j]) }
            rhs[i] = s + (i < k - 1 ? lambda * Double(w[row * c + col]) : 0)
        }
        choleskySolve(a, k, &rhs)
        for j in 0..<c { w[row * c + j] = 0 }
        for i in 0..<(k - 1) { w[row * c + kept[i]] = Float(rhs[i]) }
        b[row] = Float(rhs[k - 1])
    }
    store(&spec, wt, w)
    store(&spec, bt, b)
}

func store(_ spec: inout ModelSpec, _ t: Int, _ v: [Float]) {
    let at = spec.tensors[t].offset
    v.withUnsafeBytes { b in for i in 0..<b.count { spec.weights[at + i] = b[i] } }
}

/// In-place Cholesky factor `L` (lower triangle) of the symmetric positive definite `n × n` matrix `a`;
/// false when it is not positive definite.
func cholesky(_ a: inout [Double], _ n: Int) -> Bool {
    for j in 0..<n {
        var s = a[j * n + j]
        for k in 0..<j { s -= a[j * n + k] * a[j * n + k] }
        guard s > 0 else { return false }
        let l = s.squareRoot()
        a[j * n + j] = l
        for i in (j + 1)..<max(n, j + 1) {
            var t = a[i * n + j]
            for k in 0..<j { t -= a[i * n + k] * a[j * n + k] }
            a[i * n + j] = t / l
        }
    }
    return true
}

/// Solves `L Lᵀ x = b` in place with `cholesky`'s factor.
func choleskySolve(_ l: [Double], _ n: Int, _ b: inout [Double]) {
    for i in 0..<n {
        var s = b[i]
        for k in 0..<i { s -= l[i * n + k] * b[k] }
        b[i] = s / l[i * n + i]
    }
    for i in stride(from: n - 1, through: 0, by: -1) {
        var s = b[i]
        for k in (i + 1)..<max(n, i + 1) { s -= l[k * n + i] * b[k] }
        b[i] = s / l[i * n + i]
    }
}
