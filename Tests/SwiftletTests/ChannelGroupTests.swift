import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPipeline
import SwiftletPlanner
import SwiftletPruner
import SwiftletRuntime
import Testing

// The channel groups structured pruning works on (issue #17): found from each op's channel rule on the
// real MobileNetV2 (residual Adds, depthwise convolutions) and SqueezeNet 1.1 (Concat), as imported.

/// One line per group, for failure messages.
func describe(_ groups: [ChannelGroup], _ spec: ModelSpec) -> String {
    groups.map { g in
        let names = g.sources.map { spec.nodes[$0].name }.joined(separator: ",")
        return "\(g.channels)ch sources[\(names)] consumers \(g.consumers.count) weights \(g.weights.count) "
            + "members \(g.members.count) \(g.blocked ?? "prunable")"
    }.joined(separator: "\n")
}

@Suite("channel groups")
struct ChannelGroupTests {
    @Test func mobileNetV2ResidualAndDepthwiseGroups() throws {
        let path = repoFile("models/onnx/mobilenet_v2.onnx")
        let spec = try importONNX(path: path, options: ImportOptions())
        let groups = channelGroups(spec)
        let text = describe(groups, spec)
        let free = groups.filter { $0.blocked == nil }
        // torchvision's MobileNetV2: stages of 1, 2, 3, 4, 3, 3, 1 blocks; a stage's blocks after the
        // first add to its first one's output, so their projections compute one group.
        let residual = free.filter { $0.sources.count > 1 }.map { [$0.channels, $0.sources.count] }
        #expect(residual == [[24, 2], [32, 3], [64, 4], [96, 3], [160, 3]], "\(text)")
        // Every other free group is computed by one layer: conv0, the 16 expansions, the stage
        // ends without a residual (16, 320) and the last 1×1 layer (1280).
        #expect(free.count == 5 + 1 + 16 + 2 + 1, "\(text)")
        // An expansion's group runs through its depthwise convolution: the expansion's weight rows and
        // bias, the depthwise weights and bias (axis 0), and the projection's weight columns.
        let expansions = free.filter { g in g.sources.count == 1 && [96, 144, 192, 384, 576, 960].contains(g.channels) }
        #expect(expansions.count == 16, "\(text)")
        for g in expansions {
            #expect(g.weights.filter { $0.axis == 0 }.count == 4, "\(text)")
            #expect(g.weights.filter { $0.axis == 3 }.count == 1, "\(text)")
            #expect(g.members.count >= 2)
        }
        // The classifier's input (1280, through the mean and the flattening reshapes) is free and read
        // by the fully connected layer; its output is the model's and is not.
        let last = try #require(free.first { $0.channels == 1280 })
        #expect(last.consumers.map { spec.nodes[$0].op.kind } == [.fullyConnected])
        #expect(last.weights.contains { spec.tensors[$0.tensor].shape == [1000, 1280] && $0.axis == 1 })
        let output = try #require(groups.first { g in g.members.contains { $0.tensor == spec.outputs[0] } })
        #expect(output.blocked?.contains("model output") == true)
        let input = try #require(groups.first { g in g.members.contains { $0.tensor == spec.inputs[0] } })
        #expect(input.blocked?.contains("model input") == true)
    }

    @Test func squeezeNetConcatOffsets() throws {
        let path = repoFile("models/onnx/squeezenet1_1.onnx")
        let spec = try importONNX(path: path, options: ImportOptions())
        let groups = channelGroups(spec)
        let text = describe(groups, spec)
        // Each fire module's two expansions are groups of their own; the next squeeze (or conv10) reads
        // the Concat of both, so its weight columns are sliced at 0 for the 1×1 expansion and at its
        // channel count for the 3×3 one.
        let expands = groups.filter { g in g.sources.count == 1 && spec.nodes[g.sources[0]].name.contains("expand") }
        #expect(expands.count == 16, "\(text)")
        for g in expands {
            #expect(g.blocked == nil, "\(text)")
            let name = spec.nodes[g.sources[0]].name
            let reads = g.weights.filter { $0.axis == 3 }
            #expect(reads.count == 1, "\(name)\n\(text)")
            let expected = name.contains("expand3x3") ? g.channels : 0
            #expect(reads.first?.offset == expected, "\(name)\n\(text)")
            // The Concat's output holds the group at the same offset.
            #expect(g.members.contains { $0.offset == expected && spec.tensors[$0.tensor].shape.last == 2 * g.channels }, "\(name)")
        }
        // conv10's output reaches the model's output through the mean: blocked.
        let conv10 = try #require(groups.first { g in g.sources.count == 1 && g.channels == 1000 })
        #expect(conv10.blocked != nil)
    }

    @Test func channelRules() {
        let nhwc = [1, 8, 8, 16]
        #expect(Op.softmax(axis: 3, toEnd: false).channelRule(inputs: [nhwc], output: nhwc) == .opaque)
        #expect(Op.softmax(axis: 1, toEnd: false).channelRule(inputs: [nhwc], output: nhwc) == .perChannel)
        #expect(Op.mean(axes: [1, 2], keepDims: false).channelRule(inputs: [nhwc], output: [1, 16]) == .perChannel)
        #expect(Op.mean(axes: [3], keepDims: true).channelRule(inputs: [nhwc], output: [1, 8, 8, 1]) == .opaque)
        #expect(Op.reshape(shape: [1, 16, 1, 1]).channelRule(inputs: [[1, 1, 1, 16]], output: [1, 16, 1, 1]) == .view)
        #expect(Op.reshape(shape: [1, 1024]).channelRule(inputs: [nhwc], output: [1, 1024]) == .opaque)
        #expect(Op.transpose(perm: [0, 3, 1, 2]).channelRule(inputs: [nhwc], output: [1, 16, 8, 8]) == .opaque)
        #expect(Op.concat(axis: 3).channelRule(inputs: [nhwc, nhwc], output: [1, 8, 8, 32]) == .concatenates)
        var dw = Conv2D()
        dw.groups = 16
        #expect(Op.conv2d(dw).channelRule(inputs: [nhwc, [16, 1, 1, 1], [16]], output: nhwc) == .perChannel)
        dw.groups = 4
        #expect(Op.conv2d(dw).channelRule(inputs: [nhwc, [16, 1, 1, 4], [16]], output: nhwc) == .opaque)
        #expect(Op.conv2d(Conv2D()).channelRule(inputs: [nhwc, [8, 1, 1, 16], [8]], output: [1, 8, 8, 8]) == .mixes)
    }

    @Test func digitsGroupsAreDeterministic() throws {
        // digits_lenet ends in a fully connected layer whose output is the model's: blocked; its hidden
        // layers are free. The same model gives the same groups every time.
        let path = repoFile("models/onnx/digits_lenet.onnx")
        let spec = try importONNX(path: path, options: ImportOptions())
        let a = channelGroups(spec), b = channelGroups(spec)
        #expect(a == b)
        #expect(a.contains { $0.blocked == nil })
        #expect(a.contains { $0.blocked?.contains("model output") == true })
    }

    /// Runs `spec` on the shipped photo's pixels (any fixed input: the comparison is what matters).
    func outputs(_ spec: ModelSpec) throws -> [Float] {
        let model = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "pruned.swl")
        let interp = try Interpreter(model: model)
        let x = spec.tensors[spec.inputs[0]]
        let n = Shape.count(x.shape) ?? 0
        var input = [Float](repeating: 0, count: n)
        for i in 0..<n { input[i] = Float((i * 7919) % 255) / 64 - 2 }
        interp.setInput(0, logical: input)
        interp.invoke()
        return interp.output(0)
    }

    /// Zeroes, in `spec`'s float weights, the columns of the layers reading group `g` for the channels
    /// not in `kept`: what removing those channels must compute.
    func zeroingReaders(_ spec: ModelSpec, _ g: ChannelGroup, kept: [Int]) -> ModelSpec {
        var out = spec
        let readerWeights = Set(g.consumers.map { spec.nodes[$0].inputs[1] })
        for s in g.weights where readerWeights.contains(s.tensor) && s.axis == spec.tensors[s.tensor].shape.count - 1 {
            let info = spec.tensors[s.tensor]
            let depth = info.shape.last!
            for row in 0..<((Shape.count(info.shape) ?? 0) / depth) {
                for c in 0..<g.channels where !kept.contains(c) {
                    let at = info.offset + 4 * (row * depth + s.offset + c)
                    for b in 0..<4 { out.weights[at + b] = 0 }
                }
            }
        }
        return out
    }

    @Test(arguments: ["mobilenet_v2", "squeezenet1_1"])
    func pruningEqualsZeroingTheReaders(_ name: String) throws {
        // Removing channels computes what the original computes with the readers' columns for those
        // channels zeroed; the pruned model is smaller for real (shapes and weights).
        let spec = try importONNX(path: repoFile("models/onnx/\(name).onnx"), options: ImportOptions())
        let groups = channelGroups(spec)
        var keep: [Int: [Int]] = [:]
        var zeroed = spec
        for (i, g) in groups.enumerated() where g.blocked == nil && g.channels >= 4 {
            let kept = (0..<g.channels).filter { $0 % 4 != 1 }  // three in four
            keep[i] = kept
            zeroed = zeroingReaders(zeroed, g, kept: kept)
        }
        let pruned = try pruneChannels(spec, groups, keep: keep)
        #expect(pruned.parameterCount < spec.parameterCount * 7 / 10, "\(pruned.parameterCount) of \(spec.parameterCount)")
        #expect(pruned.weights.count < spec.weights.count)
        let a = try outputs(pruned), b = try outputs(zeroed)
        #expect(a.count == b.count)
        #expect(relativeError(a, b) < 1e-4, "\(relativeError(a, b))")
        // The removed channels mattered: the unpruned model computes something else.
        let c = try outputs(spec)
        #expect(relativeError(a, c) > 1e-3, "\(relativeError(a, c))")
        // Pruning nothing changes nothing.
        let same = try pruneChannels(spec, groups, keep: [:])
        #expect(encodeSWL(same) == encodeSWL({ var s = spec; _ = planArena(&s, reorder: false); return s }()))
    }

    @Test func pruningRefusesBlockedGroupsAndBadKeeps() throws {
        let spec = try importONNX(path: repoFile("models/onnx/digits_lenet.onnx"), options: ImportOptions())
        let groups = channelGroups(spec)
        let blocked = try #require(groups.firstIndex { $0.blocked != nil })
        let free = try #require(groups.firstIndex { $0.blocked == nil })
        #expect(throws: SwiftletError.self) { try pruneChannels(spec, groups, keep: [blocked: [0]]) }
        #expect(throws: SwiftletError.self) { try pruneChannels(spec, groups, keep: [free: []]) }
        #expect(throws: SwiftletError.self) { try pruneChannels(spec, groups, keep: [free: [1, 0]]) }
        #expect(throws: SwiftletError.self) { try pruneChannels(spec, groups, keep: [free: [groups[free].channels]]) }
        #expect(throws: SwiftletError.self) { try pruneChannels(spec, groups, keep: [groups.count: [0]]) }
    }

    /// Outputs of `spec` on each photo, pre-processed as its metadata says.
    func photoOutputs(_ spec: ModelSpec, _ photos: [String]) throws -> [[Float]] {
        let interp = try Interpreter(model: PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "pruned.swl"))
        var out: [[Float]] = []
        for p in photos {
            try loadImageInput(interp, path: p)
            interp.invoke()
            out.append(interp.output(0))
        }
        return out
    }

    /// MobileNetV2 with torchvision's pre-processing, the calibration photos and the shipped photos
    /// (another set) as JPEG paths.
    func mobileNetV2WithPhotos() throws -> (ModelSpec, [String], [String]) {
        var spec = try importONNX(path: repoFile("models/onnx/mobilenet_v2.onnx"), options: ImportOptions())
        var pre = Preprocess()
        (pre.resizeMode, pre.resizeShorter) = (.shorterCrop, 256)
        (pre.mean, pre.std) = ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])
        spec.preprocess = pre
        let jpegs = { (dir: String) in
            try FileManager.default.contentsOfDirectory(atPath: repoFile(dir)).filter { $0.hasSuffix(".jpg") }.sorted()
                .map { repoFile(dir + "/" + $0) }
        }
        return (spec, try jpegs("models/calibration/imagenet"), try jpegs("models/photos"))
    }

    /// The mean over photos of each output's relative error against `want`.
    func meanError(_ want: [[Float]], _ got: [[Float]]) -> Float {
        zip(want, got).map { relativeError($1, $0) }.reduce(0, +) / Float(max(want.count, 1))
    }

    @Test func reconstructionReducesTheErrorOfPruning() throws {
        // MobileNetV2 without one channel in four of every free group, with and without refitting the
        // pointwise readers on the calibration photos' moments: against the unpruned model's logits on
        // the shipped photos (another set), refitting leaves less error.
        let (spec, calibration, photos) = try mobileNetV2WithPhotos()
        let groups = channelGroups(spec)
        var keep: [Int: [Int]] = [:]
        for (i, g) in groups.enumerated() where g.blocked == nil && g.channels >= 4 {
            keep[i] = (0..<g.channels).filter { $0 % 4 != 1 }
        }
        let plain = try pruneChannels(spec, groups, keep: keep)
        let refit = try pruneAndRefit(spec, groups, keep: keep, images: calibration)
        #expect(plain.parameterCount == refit.parameterCount)
        let want = try photoOutputs(spec, photos), a = try photoOutputs(plain, photos), b = try photoOutputs(refit, photos)
        let errPlain = meanError(want, a), errRefit = meanError(want, b)
        print("MobileNetV2, one channel in four of every free group removed: mean relative error of the logits over \(photos.count) photos, "
              + "pruned \(errPlain), pruned and refit \(errRefit)")
        #expect(errRefit < errPlain * 0.8, "mean relative error: refit \(errRefit), plain \(errPlain)")
    }

    @Test func importanceChoosesChannelsThatMatterAtTheMACTarget() throws {
        // MobileNetV2 at 0.75 of its MACs: one ratio for every group, counts in multiples of 16, the
        // channels kept by importance, the readers refit. Keeping the most important channels leaves
        // less error than keeping the least important ones in the same numbers.
        let (spec, calibration, photos) = try mobileNetV2WithPhotos()
        let groups = channelGroups(spec)
        let importance = try channelImportance(spec, groups, images: calibration)
        let keep = chooseUniform(spec, groups, importance: importance, macs: 0.75)
        let fraction = macFraction(spec, groups, keep: keep)
        #expect(fraction <= 0.75 && fraction > 0.65, "\(fraction)")
        #expect(keep.values.allSatisfy { $0.count % 16 == 0 })
        // The least important channels, as many.
        var worst: [Int: [Int]] = [:]
        for (i, kept) in keep {
            let order = (0..<groups[i].channels).sorted { importance[i][$0] < importance[i][$1] }
            worst[i] = order.prefix(kept.count).sorted()
        }
        let best = try pruneAndRefit(spec, groups, keep: keep, images: calibration)
        let bad = try pruneAndRefit(spec, groups, keep: worst, images: calibration)
        #expect(modelStats(best).macs == modelStats(bad).macs)
        let want = try photoOutputs(spec, photos), a = try photoOutputs(best, photos), b = try photoOutputs(bad, photos)
        let errBest = meanError(want, a), errWorst = meanError(want, b)
        let top1 = zip(want, a).filter { argmax($0) == argmax($1) }.count
        print("MobileNetV2 at \(fraction) of its MACs, refit: mean relative error of the logits \(errBest) keeping the most "
              + "important channels, \(errWorst) keeping the least; top-1 as the unpruned model on \(top1) of \(photos.count) photos")
        #expect(errBest < errWorst * 0.9, "best \(errBest), worst \(errWorst)")
    }

    @Test func sensitivityBeatsOneRatioAtTheSameMACs() throws {
        // MobileNetV2 at 0.75 of its MACs, the readers refit either way: per-group counts chosen by
        // each group's measured output noise (on the calibration photos) against its removed MACs leave
        // less error on the shipped photos (another set) than one ratio for every group.
        let (spec, calibration, photos) = try mobileNetV2WithPhotos()
        let groups = channelGroups(spec)
        let importance = try channelImportance(spec, groups, images: calibration)
        let levels = try groupSensitivity(spec, groups, importance: importance, images: calibration)
        for (i, g) in groups.enumerated() {
            #expect(levels[i].map(\.kept) == (g.blocked == nil ? levelCounts(g.channels, multiple: 16) : []))
            // Fewer channels, fewer MACs.
            #expect(zip(levels[i], levels[i].dropFirst()).allSatisfy { $0.macs > $1.macs })
        }
        let chosen = try #require(chooseBySensitivity(spec, groups, importance: importance, levels: levels, macs: 0.75))
        #expect(chosen.macs <= 0.75 && chosen.macs > 0.65, "\(chosen.macs)")
        #expect(chosen.keep.values.allSatisfy { $0.count % 16 == 0 })
        let uniform = chooseUniform(spec, groups, importance: importance, macs: chosen.macs)
        let bySensitivity = try pruneAndRefit(spec, groups, keep: chosen.keep, images: calibration)
        let byRatio = try pruneAndRefit(spec, groups, keep: uniform, images: calibration)
        let total = Double(modelStats(spec).macs)
        let macsRatio = Double(modelStats(byRatio).macs) / total
        #expect(macsRatio <= chosen.macs + 1e-9)
        let want = try photoOutputs(spec, photos), a = try photoOutputs(bySensitivity, photos), b = try photoOutputs(byRatio, photos)
        let errSens = meanError(want, a), errRatio = meanError(want, b)
        let top1 = zip(want, a).filter { argmax($0) == argmax($1) }.count
        print("MobileNetV2, refit: by sensitivity at \(chosen.macs) of its MACs, mean relative error of the logits \(errSens), top-1 as "
              + "unpruned on \(top1) of \(photos.count) photos; one ratio at \(macsRatio): \(errRatio)")
        #expect(errSens < errRatio * 0.8, "sensitivity \(errSens), one ratio \(errRatio)")
        // Unreachable targets are nil, and say how far the counts go.
        let floor = reachableMacs(spec, groups, levels: levels)
        #expect(floor > 0.05 && floor < 0.75)
        #expect(chooseBySensitivity(spec, groups, importance: importance, levels: levels, macs: floor * 0.9) == nil)
    }

    @Test func timedLevelsChooseByMillisecondsAndFallBackToMACs() throws {
        // Two groups pruned alone for the same noise: one removes more MACs, the other more time. By MAC
        // the first is taken, with timed levels the second; and when no move saves measurable time the
        // choice still meets the MAC target, by MACs.
        let (spec, _, _) = try mobileNetV2WithPhotos()
        let groups = channelGroups(spec)
        let importance = groups.map { g in (0..<g.channels).map { Double(g.channels - $0) } }
        let free = groups.indices.filter { groups[$0].blocked == nil && !levelCounts(groups[$0].channels, multiple: 16).isEmpty }
        func level(_ gi: Int, savedMs: Double?) throws -> PruneLevel {
            let kept = levelCounts(groups[gi].channels, multiple: 16)[0]
            let pruned = try pruneChannels(spec, groups, keep: [gi: Array(0..<kept)])
            return PruneLevel(kept: kept, macs: modelStats(pruned).macs, noise: 0.01, savedMs: savedMs)
        }
        let byMacs = try free.map { try level($0, savedMs: nil) }
        // The free groups whose one level removes the most and the fewest MACs.
        let most = free[byMacs.indices.min { byMacs[$0].macs < byMacs[$1].macs }!]
        let fewest = free[byMacs.indices.max { byMacs[$0].macs < byMacs[$1].macs }!]
        #expect(most != fewest)
        func levels(_ ms: [Int: Double]?) throws -> [[PruneLevel]] {
            try groups.indices.map { gi in gi == most || gi == fewest ? [try level(gi, savedMs: ms.map { $0[gi] ?? 0 })] : [] }
        }
        // A target both single moves meet.
        let target = macFraction(spec, groups, keep: [fewest: Array(0..<levelCounts(groups[fewest].channels, multiple: 16)[0])]) + 1e-9
        let mac = try #require(chooseBySensitivity(spec, groups, importance: importance, levels: levels(nil), macs: target))
        #expect(Array(mac.keep.keys) == [most])
        let timed = try #require(chooseBySensitivity(spec, groups, importance: importance, levels: levels([most: 0.01, fewest: 0.2]), macs: target))
        #expect(Array(timed.keep.keys) == [fewest])
        let flat = try #require(chooseBySensitivity(spec, groups, importance: importance, levels: levels([most: 0, fewest: 0]), macs: target))
        #expect(Array(flat.keep.keys) == [most])
    }
}
