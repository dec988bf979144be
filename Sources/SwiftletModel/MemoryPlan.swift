import SwiftletCore

/// Tensor lifetimes over the execution order: step `first[t]` defines t, step `last[t]` reads it last.
///
/// Graph inputs are defined at step −1. Graph outputs live to the end, and so do the inputs unless
/// `spec.reuseInputs`: a caller may run the same input again (as TFLite's `preserve_inputs`).
/// Unused tensors get first > last.
public struct Lifetimes {
    public var first: [Int]
    public var last: [Int]
    /// `streamedRows(spec)`, which the lifetimes depend on (kept for `Aliasing`).
    public var ringRows: [Int]

    public init(_ spec: ModelSpec) {
        let n = spec.tensors.count
        first = [Int](repeating: Int.max, count: n)
        last = [Int](repeating: Int.min, count: n)
        for t in spec.inputs {
            first[t] = -1
            last[t] = max(last[t], -1)
        }
        for (i, nd) in spec.nodes.enumerated() {
            for t in nd.outputs {
                first[t] = min(first[t], i)
                last[t] = max(last[t], i)
            }
            for t in nd.inputs where first[t] != Int.max { last[t] = max(last[t], i) }
        }
        for t in spec.outputs { last[t] = spec.nodes.count }
        if !spec.reuseInputs { for t in spec.inputs { last[t] = spec.nodes.count } }
        // A streamed pair runs its producer's rows during the consumer's step: the producer's
        // inputs are read then too.
        ringRows = streamedRows(spec)
        for (i, node) in spec.nodes.enumerated() where ringRows[node.outputs[0]] > 0 {
            for x in node.inputs where first[x] != Int.max { last[x] = max(last[x], i + 1) }
        }
    }
}

/// Conv → Conv pairs that run row by row (`spec.streamRows`): for tensor t, the rows of the ring
/// that holds it instead of the whole tensor (0: t is a whole tensor).
///
/// t qualifies when a Conv (node e) writes it, the next node (e + 1) is a Conv that is its only
/// reader, t is an NHWC tensor of batch 1 that is no graph input or output, and the consumer's
/// kernel needs fewer rows at once than t has: `(kernelH − 1) · dilationH + 1`. The runtime then
/// computes t's rows as the consumer reaches them, into `ring` rows used round-robin, and the plan
/// reserves only those. Pairs do not chain (a streamed tensor's producer does not read one, its
/// consumer does not write one); among candidates that would, the larger saving wins.
public func streamedRows(_ spec: ModelSpec) -> [Int] {
    let n = spec.tensors.count
    var rows = [Int](repeating: 0, count: n)
    if !spec.streamRows { return rows }
    var readers = [Int](repeating: 0, count: n)
    for node in spec.nodes { for t in node.inputs { readers[t] += 1 } }
    var io = [Bool](repeating: false, count: n)
    for t in spec.inputs + spec.outputs { io[t] = true }
    // Candidates: (saving in bytes, tensor, producer node, ring rows).
    var candidates: [(Int, Int, Int, Int)] = []
    for e in 0..<max(spec.nodes.count - 1, 0) {
        let t = spec.nodes[e].outputs[0]
        let d = spec.nodes[e + 1]
        let info = spec.tensors[t]
        guard case .conv2d = spec.nodes[e].op, case .conv2d(let c) = d.op, d.inputs[0] == t, readers[t] == 1, !io[t],
              info.storage == .arena, info.layout == .nhwc, info.shape.count == 4, info.shape[0] == 1,
              spec.tensors[spec.nodes[e].inputs[0]].shape.first == 1 else { continue }
        let ring = (c.kernelH - 1) * c.dilationH + 1
        if ring >= info.shape[1] { continue }
        let rowBytes = info.shape[2] * info.shape[3] * info.dtype.size
        candidates.append(((info.shape[1] - ring) * rowBytes, t, e, ring))
    }
    // Largest saving first, then by tensor (`sortIndices`: no sort specialised for the tuples).
    var order = [Int](repeating: 0, count: candidates.count)
    for k in 0..<order.count { order[k] = k }
    sortIndices(&order) { a, b in
        candidates[a].0 != candidates[b].0 ? candidates[a].0 > candidates[b].0 : candidates[a].1 < candidates[b].1
    }
    for k in order {
        let (_, t, e, ring) = candidates[k]
        let input = spec.nodes[e].inputs[0]
        let next = spec.nodes[e + 1].outputs[0]
        if rows[input] > 0 || rows[next] > 0 { continue }
        rows[t] = ring
    }
    return rows
}

/// Which arena tensors may share their bytes, and where (docs/memory.md, "Aliasing"). A pure function
/// of the graph (`Aliasing(spec)`), so the planner, the lower bound, the reader's plan check and the
/// runtime agree. Three rules, applied in execution order:
///
/// - **View:** a Reshape's output is its input's bytes (the copy step sees equal pointers and skips).
/// - **In place:** an element-wise node (Activation, Add/Sub/Mul/Div, PRelu, Lookup) writes over an
///   input of the output's shape and dtype when that input's whole group is read for the last time
///   by this node and holds no graph input (inputs are kept for a repeated run).
/// - **Concat slices:** a Concat input is written by its producer straight into its slice of the
///   output. When the slice is contiguous (every dim before the axis is 1) any producer may; when it
///   is not (channels of an NHWC tensor), the input must be a Conv's output read by nothing but the
///   Concat, and the Conv writes its pixels `rowStride` elements apart. The input's group must hold
///   no graph input or output and take part in no other Concat; int8 inputs need the output's
///   quantization (the Concat then moves bytes unchanged).
///
/// A group is planned as one block of `groupBytes[group[t]]` bytes; member t starts `offset[t]` bytes
/// into it.
public struct Aliasing {
    /// `group[t]`: the smallest tensor index of t's alias group.
    public var group: [Int]
    /// `offset[t]`: t's first byte, from its group's first byte (0 but for Concat slices).
    public var offset: [Int]
    /// `rowStride[t]`: for a strided Concat slice, the elements between the starts of t's rows of
    /// `shape.last` elements (the Concat output's last dim); 0 when t is contiguous.
    public var rowStride: [Int]
    /// For a Concat slice, the Concat output; −1 otherwise.
    public var sliceOf: [Int]
    /// Per group (index `group[t]`): the bytes its members span.
    public var groupBytes: [Int]
    /// `streamedRows(spec)`: the ring rows of a streamed tensor, 0 for the others.
    public var ringRows: [Int]

    public init(_ spec: ModelSpec) { self.init(spec, life: Lifetimes(spec)) }

    /// With the graph's lifetimes already computed.
    @_optimize(size)  // runs at load: size before speed (docs/benchmarks.md, "Board binary size")
    public init(_ spec: ModelSpec, life: Lifetimes) {
        let n = spec.tensors.count
        var parent = Array(0..<n)
        // Offset of t from parent[t], in bytes (may be negative until the end).
        var rel = [Int](repeating: 0, count: n)
        func find(_ t: Int) -> (Int, Int) {
            var r = t, off = 0
            while parent[r] != r {
                off += rel[r]
                r = parent[r]
            }
            return (r, off)
        }
        var groupLast = life.last
        var holdsInput = [Bool](repeating: false, count: n)
        var holdsOutput = [Bool](repeating: false, count: n)
        var sliced = [Bool](repeating: false, count: n)
        for t in spec.inputs { holdsInput[t] = true }
        for t in spec.outputs { holdsOutput[t] = true }
        var stride = [Int](repeating: 0, count: n)
        var sliceOf = [Int](repeating: -1, count: n)
        // Places b's group so that b starts `delta` bytes after a.
        func join(_ b: Int, at delta: Int, from a: Int) {
            let (ra, oa) = find(a), (rb, ob) = find(b)
            if ra == rb { return }
            let d = oa + delta - ob   // rb's offset from ra
            let (root, other, o) = ra < rb ? (ra, rb, d) : (rb, ra, -d)
            parent[other] = root
            rel[other] = o
            groupLast[root] = max(groupLast[ra], groupLast[rb])
            holdsInput[root] = holdsInput[ra] || holdsInput[rb]
            holdsOutput[root] = holdsOutput[ra] || holdsOutput[rb]
            sliced[root] = sliced[ra] || sliced[rb]
        }
        var producer = [Int](repeating: -1, count: n)
        var readers = [Int](repeating: 0, count: n)
        for (i, node) in spec.nodes.enumerated() {
            for t in node.outputs { producer[t] = i }
            for t in node.inputs { readers[t] += 1 }
        }
        for (i, node) in spec.nodes.enumerated() {
            let y = node.outputs[0]
            let yt = spec.tensors[y]
            guard yt.storage == .arena, life.first[y] <= life.last[y] else { continue }
            switch node.op.outputSharing {
            case .view:
                let x = node.inputs[0]
                if spec.tensors[x].storage == .arena && spec.tensors[x].byteCount == yt.byteCount { join(y, at: 0, from: x) }
            case .overInput(let firstInputOnly):
                let candidates = firstInputOnly ? [node.inputs[0]] : node.inputs
                for x in candidates {
                    let xt = spec.tensors[x]
                    guard xt.storage == .arena, xt.shape == yt.shape, xt.dtype == yt.dtype else { continue }
                    let (r, _) = find(x)
                    // Every member of x's group dies here, and none is a kept graph input.
                    if (holdsInput[r] && !spec.reuseInputs) || groupLast[r] > i { continue }
                    // x must not also be another input of this node at another position (it is read
                    // as it is overwritten only at the same index).
                    if node.inputs.filter({ $0 == x }).count > 1 { continue }
                    join(y, at: 0, from: x)
                    break
                }
            case .slices(let axis):
                let (outer, inner) = Shape.outerInner(yt.shape, axis: axis)
                let rowLength = yt.shape.last ?? 1
                var at = 0   // elements into an output row
                for x in node.inputs {
                    let xt = spec.tensors[x]
                    let chunk = (xt.shape.count > axis ? xt.shape[axis] : 1) * inner
                    defer { at += chunk }
                    guard xt.storage == .arena, xt.dtype == yt.dtype, life.first[x] <= life.last[x], xt.byteCount > 0 else { continue }
                    if xt.dtype == .int8 && xt.quant != yt.quant { continue }
                    if node.inputs.filter({ $0 == x }).count > 1 { continue }
                    let (r, _) = find(x)
                    if holdsInput[r] || holdsOutput[r] || sliced[r] || r == find(y).0 { continue }
                    if outer > 1 {
                        // Strided: x alone in its group, a Conv's NHWC output read only here, the
                        // Concat along its channels.
                        guard axis == yt.shape.count - 1, xt.layout == .nhwc, readers[x] == 1, producer[x] >= 0,
                              case .conv2d = spec.nodes[producer[x]].op else { continue }
                        var alone = true
                        for t in 0..<n where t != x && find(t).0 == r { alone = false; break }
                        if !alone { continue }
                        stride[x] = rowLength
                    }
                    join(x, at: at * yt.dtype.size, from: y)
                    sliceOf[x] = y
                    sliced[find(y).0] = true
                }
            case .none:
                break
            }
        }
        group = [Int](repeating: 0, count: n)
        offset = [Int](repeating: 0, count: n)
        var low = [Int](repeating: 0, count: n)
        for t in 0..<n {
            let (r, o) = find(t)
            group[t] = r
            offset[t] = o
            low[r] = min(low[r], o)
        }
        groupBytes = [Int](repeating: 0, count: n)
        ringRows = life.ringRows
        rowStride = stride
        self.sliceOf = sliceOf
        for t in 0..<n {
            offset[t] -= low[group[t]]
            groupBytes[group[t]] = max(groupBytes[group[t]], offset[t] + extent(t, spec.tensors[t]))
        }
    }

    /// The bytes from t's first byte to its last: its byte count, for a strided slice
    /// `((rows − 1) · rowStride + rowLength)` elements, for a streamed tensor its ring's rows.
    public func extent(_ t: Int, _ info: TensorInfo) -> Int {
        if ringRows[t] > 0 { return ringRows[t] * info.shape[2] * info.shape[3] * info.dtype.size }
        let s = rowStride[t]
        guard s > 0, let last = info.shape.last, last > 0 else { return info.byteCount }
        let rows = info.byteCount / info.dtype.size / last
        return ((rows - 1) * s + last) * info.dtype.size
    }

    /// The bytes tensor t occupies in the arena as placed: its ring for a streamed tensor, its whole
    /// stride for a strided Concat slice in its slice, else its byte count.
    public func span(_ t: Int, _ tensors: [TensorInfo]) -> Int {
        ringRows[t] > 0 || inSlice(t, tensors) ? extent(t, tensors[t]) : tensors[t].byteCount
    }

    /// Whether t is a Concat slice that the plan placed in its slice (its producer then writes the
    /// Concat's output, strided when `rowStride[t]` > 0, and the Concat copies nothing for it).
    public func inSlice(_ t: Int, _ tensors: [TensorInfo]) -> Bool {
        sliceOf[t] >= 0 && placedTogether(t, sliceOf[t], tensors)
    }

    /// Whether tensor t sits in the arena where its alias group puts it relative to `other`
    /// (the plan may place members apart; then the runtime copies between them).
    public func placedTogether(_ t: Int, _ other: Int, _ tensors: [TensorInfo]) -> Bool {
        group[t] == group[other] && tensors[t].offset - tensors[other].offset == offset[t] - offset[other]
    }
}

/// The largest sum of simultaneously live arena tensor sizes over the execution order.
public func arenaLowerBound(_ spec: ModelSpec) -> Int {
    var best = 0
    for live in liveBytesPerStep(spec) { best = max(best, live) }
    return best
}

/// The memory timeline: for each step i (node i running), the bytes of arena tensors live then —
/// its inputs, its output, its kernel scratch and everything computed earlier that a later step
/// still reads.
public func liveBytesPerStep(_ spec: ModelSpec) -> [Int] {
    let life = Lifetimes(spec)
    let alias = Aliasing(spec, life: life)
    let group = alias.group
    var out: [Int] = []
    out.reserveCapacity(spec.nodes.count)
    // An alias group's bytes count once: its members are the same bytes.
    let groupBytes = alias.groupBytes
    var counted = [Int](repeating: -1, count: spec.tensors.count)
    for step in 0..<max(spec.nodes.count, 1) {
        var sum = 0
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena && life.first[t] <= step && step <= life.last[t] {
            let r = group[t]
            if counted[r] == step { continue }
            counted[r] = step
            sum += groupBytes[r]
        }
        if step < spec.nodes.count { sum += scratchBytes(spec.nodes[step], spec.tensors) }
        out.append(sum)
    }
    return out
}

/// What the plan of `spec` shares (as placed: a member the plan put apart is copied instead).
public struct SharingSummary: Equatable, Sendable {
    /// Reshape outputs that are their input's bytes.
    public var views = 0
    /// Element-wise outputs written over their input.
    public var inPlace = 0
    /// Concat inputs, and those written by their producer straight into the output.
    public var concatInputs = 0, concatInputsInPlace = 0
    /// Bytes the Concats still copy per run.
    public var concatBytesCopied = 0
    /// Conv → Conv pairs run row by row (`streamedRows`), and the bytes their rings leave out.
    public var streamedPairs = 0, streamedBytesSaved = 0

    public init(_ spec: ModelSpec) {
        let alias = Aliasing(spec)
        for t in 0..<spec.tensors.count where alias.ringRows[t] > 0 {
            streamedPairs += 1
            streamedBytesSaved += spec.tensors[t].byteCount - alias.extent(t, spec.tensors[t])
        }
        for node in spec.nodes {
            let y = node.outputs[0]
            switch node.op.outputSharing {
            case .slices:
                for x in node.inputs {
                    concatInputs += 1
                    if alias.sliceOf[x] == y && alias.inSlice(x, spec.tensors) {
                        concatInputsInPlace += 1
                    } else {
                        concatBytesCopied += spec.tensors[x].byteCount
                    }
                }
            case .view:
                if alias.placedTogether(node.inputs[0], y, spec.tensors) && spec.tensors[y].storage == .arena { views += 1 }
            case .overInput:
                for x in node.inputs where spec.tensors[x].storage == .arena && alias.placedTogether(x, y, spec.tensors) {
                    inPlace += 1
                    break
                }
            case .none:
                break
            }
        }
    }
}

/// Bytes of kernel scratch node `node` needs in the arena while it runs (`Op.arenaScratchBytes`). Scratch
/// is planned in the arena like a tensor that lives for its node's step only; `scratchOffset` finds it
/// again at load.
public func scratchBytes(_ node: NodeInfo, _ tensors: [TensorInfo]) -> Int {
    let y = tensors[node.outputs[0]]
    return node.op.arenaScratchBytes(outputCount: Shape.count(y.shape) ?? 0, int8: y.dtype == .int8)
}

/// Where node `step`'s scratch (`scratchBytes`) sits: the lowest 64-byte aligned offset at which that
/// many bytes are free of every arena tensor live at that step (a strided Concat slice counting its
/// whole span), or nil when the arena has no such gap (a plan made before scratch was planned).
/// The planner reserves room for it, so for plans it made the gap exists.
public func scratchOffset(_ spec: ModelSpec, step: Int, life: Lifetimes, alias: Aliasing) -> Int? {
    let bytes = scratchBytes(spec.nodes[step], spec.tensors)
    if bytes == 0 { return nil }
    let align = SWLFormat.alignment
    var busy: [(Int, Int)] = []
    for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena && life.first[t] <= step && step <= life.last[t] {
        let span = alias.span(t, spec.tensors)
        if span > 0 { busy.append((spec.tensors[t].offset, spec.tensors[t].offset + span)) }
    }
    var order = [Int](repeating: 0, count: busy.count)
    for k in 0..<order.count { order[k] = k }
    sortIndices(&order) { a, b in busy[a].0 != busy[b].0 ? busy[a].0 < busy[b].0 : busy[a].1 < busy[b].1 }
    var cursor = 0
    for k in order {
        let (s, e) = busy[k]
        if s >= cursor + bytes { break }
        cursor = max(cursor, (e + align - 1) / align * align)
    }
    return cursor + bytes <= spec.arenaBytes ? cursor : nil
}
