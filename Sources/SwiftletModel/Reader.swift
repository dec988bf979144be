import SwiftletCore
import SwiftletDetect
import SwiftletKernels

/// A validated `.swl` model: its spec, and its weights used in place from the mapped file.
///
/// Validation runs before anything else: magic, version, sizes, CRC, every section's offset and length,
/// every tensor's shape, storage and bounds, every node's tensors, attributes and output shape, and the
/// memory plan (no two live arena tensors overlap). A bad file is a `SwiftletError`, never a trap.
public final class PackedModel {
    public let path: String
    public let file: MappedFile
    /// The model, its weights tensors all plain (`Storage.weights`, their shapes' bytes), whether the
    /// file stores them packed or not.
    public let spec: ModelSpec
    /// Offset of the weights section in the file (64-byte aligned).
    public let weightsOffset: Int
    public let weightsLength: Int
    /// The file's major format version (1: plain weights only; 2: packed weights too).
    public let formatMajor: Int
    /// Per tensor: the packed layout the file stores it in (format 2), or nil (plain weights, or not weights).
    public let packedShapes: [PackedShape?]
    /// How many weight tensors the file stores packed.
    public var packedTensorCount: Int {
        var n = 0
        for s in packedShapes where s != nil { n += 1 }
        return n
    }
    /// Plain copies of packed tensors, made when something asks for them (`plainWeights`); freed with the model.
    private var unpacked: [UnsafeMutableRawPointer?]

    /// Maps and validates `path`.
    public convenience init(path: String) throws(SwiftletError) {
        try self.init(file: try MappedFile(path: path), path: path)
    }

    /// Validates a model already in memory (`path` names it in messages).
    public init(file: MappedFile, path: String, checkCRC: Bool = true) throws(SwiftletError) {
        self.path = path
        self.file = file
        var r = SWLReader(bytes: file.bytes, path: path)
        let (spec, wOff, wLen) = try r.read(checkCRC: checkCRC)
        // The checksum read every page; the interpreter touches the weights it uses again, so they
        // need not all stay resident meanwhile.
        if checkCRC { file.releasePages(file.base, count: file.count) }
        self.spec = spec
        self.weightsOffset = wOff
        self.weightsLength = wLen
        formatMajor = r.major
        packedShapes = r.packed
        unpacked = [UnsafeMutableRawPointer?](repeating: nil, count: spec.tensors.count)
    }

    deinit {
        for p in unpacked { if let p { sys_free(p) } }
    }

    /// Pointer to a weights tensor's first byte in the file: its packed bytes when the file stores it
    /// packed (`packedShapes`), its plain bytes otherwise.
    public func weights(_ tensor: Int) -> UnsafeRawPointer {
        file.base + weightsOffset + spec.tensors[tensor].offset
    }

    /// A tensor's packed bytes in the file and their layout, when the file stores it packed.
    public func packedWeights(_ tensor: Int) -> (shape: PackedShape, bytes: UnsafeRawPointer)? {
        guard let shape = packedShapes[tensor] else { return nil }
        return (shape, weights(tensor))
    }

    /// Pointer to a weights tensor's plain bytes (`spec.tensors[tensor].byteCount` of them): in the file,
    /// or, for a packed tensor, a copy unpacked on first use (what the reference kernels and the
    /// quantizer read). Not for concurrent first calls.
    public func plainWeights(_ tensor: Int) throws(SwiftletError) -> UnsafeRawPointer {
        guard let shape = packedShapes[tensor] else { return weights(tensor) }
        if let p = unpacked[tensor] { return UnsafeRawPointer(p) }
        let p = try sys_alignedAllocate(bytes: max(spec.tensors[tensor].byteCount, 64), alignment: 64,
                                        what: "\(path): plain weights of '\(spec.tensors[tensor].name)'")
        unpackWeights(shape, weights(tensor), into: p)
        unpacked[tensor] = p
        // Nothing reads the packed bytes of a tensor that runs from its plain copy: out of the
        // resident set they go (they stay in the file and fault back in if read).
        file.releasePages(weights(tensor), count: shape.byteCount)
        return UnsafeRawPointer(p)
    }

    /// Calls `body` with a weights tensor's plain bytes: in place when the file stores them plain, else
    /// unpacked into a block freed when `body` returns (for weights a variant transforms once, at load:
    /// Winograd's, which then reads neither form). Keeps no copy, unlike `plainWeights`.
    public func withPlainWeights<R>(_ tensor: Int, _ body: (UnsafeRawPointer) throws(SwiftletError) -> R) throws(SwiftletError) -> R {
        guard let shape = packedShapes[tensor] else { return try body(weights(tensor)) }
        if let p = unpacked[tensor] { return try body(UnsafeRawPointer(p)) }
        let p = try sys_alignedAllocate(bytes: max(spec.tensors[tensor].byteCount, 64), alignment: 64,
                                        what: "\(path): plain weights of '\(spec.tensors[tensor].name)'")
        defer { sys_free(p) }
        unpackWeights(shape, weights(tensor), into: p)
        return try body(UnsafeRawPointer(p))
    }

    /// Gives a weights tensor's pages in the mapped file back (packed or plain, whichever the file
    /// holds): for a tensor nothing reads any more. They stay in the file and fault back in if read.
    public func releaseWeights(_ tensor: Int) {
        file.releasePages(weights(tensor), count: packedShapes[tensor]?.byteCount ?? spec.tensors[tensor].byteCount)
    }

    /// The spec with its weights section filled with every weights tensor's plain bytes (the tensors'
    /// offsets laid out anew), as the quantizer and `encodeSWL` take it.
    public func specWithPlainWeights() throws(SwiftletError) -> ModelSpec {
        var out = spec
        var bytes: [UInt8] = []
        for t in 0..<out.tensors.count where out.tensors[t].storage == .weights {
            while bytes.count % SWLFormat.alignment != 0 { bytes.append(0) }
            out.tensors[t].offset = bytes.count
            let p = try plainWeights(t)
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: out.tensors[t].byteCount))
        }
        out.weights = bytes
        return out
    }
}

/// Reads and validates the bytes of a `.swl` file.
struct SWLReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    /// The file's major version, once read.
    var major = 0
    /// Per tensor: its packed layout (format 2), once read.
    var packed: [PackedShape?] = []
    /// The place of each known section (by kind), once the section table is read.
    var sections: [SectionRef] = []
    /// The STRINGS and INTS sections, once read.
    var stringsS = SectionRef()
    var intsS = SectionRef()

    func fail(_ detail: String, _ hint: String = "the file is damaged; re-run 'swiftlet import'") -> SwiftletError {
        .malformedFile(path: path, detail: detail, hint: hint)
    }

    func u8(_ at: Int) -> UInt8 { bytes[at] }
    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> Int {
        Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
    }
    func u64(_ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        return v
    }
    func f32(_ at: Int) -> Float { Float(bitPattern: UInt32(u32(at))) }

    struct SectionRef {
        var offset = 0
        var length = 0
        var count = 0
        var present = false
    }

    /// The sections a model needs (and DETECTOR, FLOATS when present), their record counts checked.
    struct Sections {
        var tensors = SectionRef()
        var nodes = SectionRef()
        var graph = SectionRef()
        var pre = SectionRef()
        var post = SectionRef()
        var labels = SectionRef()
        var weights = SectionRef()
        var floats = SectionRef()
        var detector = SectionRef()
    }

    /// Decodes and validates; returns the spec and the weights section's place.
    mutating func read(checkCRC: Bool) throws(SwiftletError) -> (ModelSpec, Int, Int) {
        try readHeader(checkCRC: checkCRC)
        try readSectionTable()
        let s = try requiredSections()
        var spec = try readGraph(s.graph)
        let storedPacked = try readTensors(&spec, s)
        try readGraphIO(&spec, s.graph)
        try readNodes(&spec, s.nodes)
        try checkPlan(spec)
        try checkPacked(spec, storedPacked, s.weights)
        try readPreprocess(&spec, s.pre)
        try readPostprocess(&spec, s)
        try readLabels(&spec, s.labels)
        return (spec, s.weights.offset, s.weights.length)
    }

    /// Magic, version, header size, file size and (with `checkCRC`) the checksum; sets `major`.
    mutating func readHeader(checkCRC: Bool) throws(SwiftletError) {
        let size = bytes.count
        let notSWL = "it is not a Swiftlet model (.swl); create one with 'swiftlet import model.onnx -o model.swl'"
        for i in 0..<min(4, size) where bytes[i] != SWLFormat.magic[i] { throw fail("bad magic bytes", notSWL) }
        if size < SWLFormat.headerSize {
            throw fail("file has \(size) bytes, a .swl header alone has \(SWLFormat.headerSize)", size == 0 ? notSWL : "it is truncated; re-run 'swiftlet import'")
        }
        major = u16(4)
        if major < SWLFormat.oldestMajor || major > SWLFormat.versionMajor {
            throw .versionMismatch(path: path, found: major, supported: SWLFormat.versionMajor)
        }
        if u32(8) != SWLFormat.headerSize { throw fail("header size is \(u32(8)), expected \(SWLFormat.headerSize)") }
        let declared = u64(16)
        if declared != UInt64(size) {
            throw fail("header says the file has \(declared) bytes, it has \(size)",
                       declared > UInt64(size) ? "it is truncated; copy it again or re-run 'swiftlet import'" : "it has trailing bytes; copy it again or re-run 'swiftlet import'")
        }
        if checkCRC {
            let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[SWLFormat.headerSize...]))
            if crc != UInt32(u32(24)) {
                throw fail("CRC mismatch (stored \(hex(UInt32(u32(24)))), computed \(hex(crc)))", "the file is corrupt; copy it again or re-run 'swiftlet import'")
            }
        }
    }

    /// The section table: each known section's place (`sections`), within the file and aligned, once.
    /// Unknown kinds are skipped (minor versions).
    mutating func readSectionTable() throws(SwiftletError) {
        let size = bytes.count
        let count = u32(12)
        let tableOff = u64(32)
        if count > 64 || tableOff != UInt64(SWLFormat.headerSize) {
            throw fail("section table (\(count) sections at \(tableOff)) is invalid")
        }
        let tableEnd = SWLFormat.headerSize + count * SWLFormat.sectionEntrySize
        if tableEnd > size { throw fail("section table ends at byte \(tableEnd), the file has \(size)") }
        sections = []
        for _ in 0...SWLFormat.Section.allCases.count { sections.append(SectionRef()) }
        for i in 0..<count {
            let e = SWLFormat.headerSize + i * SWLFormat.sectionEntrySize
            let kind = u32(e)
            let off = u64(e + 8)
            let len = u64(e + 16)
            guard let k = SWLFormat.Section(rawValue: UInt32(kind)) else { continue }  // unknown: skipped (minor versions)
            if sections[Int(k.rawValue) - 1].present { throw fail("section \(k.name) appears twice") }
            if off < UInt64(tableEnd) || off > UInt64(size) || len > UInt64(size) - off {
                throw fail("section \(k.name) spans bytes \(off)..<\(off &+ len), the file has \(size)")
            }
            if off % UInt64(SWLFormat.alignment) != 0 { throw fail("section \(k.name) at \(off) is not 64-byte aligned") }
            sections[Int(k.rawValue) - 1] = SectionRef(offset: Int(off), length: Int(len), count: u32(e + 4), present: true)
        }
    }

    /// Section `k`, refused when missing or when its length is not `count` records of `recordSize`
    /// (0: any length).
    func section(_ k: SWLFormat.Section, recordSize: Int) throws(SwiftletError) -> SectionRef {
        let s = sections[Int(k.rawValue) - 1]
        if !s.present { throw fail("section \(k.name) is missing") }
        if recordSize > 0 && s.length != s.count * recordSize {
            throw fail("section \(k.name) has \(s.length) bytes for \(s.count) records of \(recordSize)")
        }
        return s
    }

    /// Every section a model needs, checked in file-format order; sets `stringsS` and `intsS`.
    mutating func requiredSections() throws(SwiftletError) -> Sections {
        var s = Sections()
        stringsS = try section(.strings, recordSize: 1)
        s.tensors = try section(.tensors, recordSize: SWLFormat.tensorRecordSize)
        s.nodes = try section(.nodes, recordSize: SWLFormat.nodeRecordSize)
        intsS = try section(.ints, recordSize: 4)
        s.graph = try section(.graph, recordSize: SWLFormat.graphRecordSize)
        s.pre = try section(.preprocess, recordSize: SWLFormat.preprocessRecordSize)
        s.post = try section(.postprocess, recordSize: SWLFormat.postprocessRecordSize)
        s.labels = try section(.labels, recordSize: SWLFormat.labelRecordSize)
        s.weights = try section(.weights, recordSize: 1)
        s.floats = sections[Int(SWLFormat.Section.floats.rawValue) - 1]
        if s.floats.present && s.floats.length != s.floats.count * 4 {
            throw fail("section FLOATS has \(s.floats.length) bytes for \(s.floats.count) values")
        }
        if s.graph.count != 1 || s.pre.count != 1 || s.post.count != 1 { throw fail("GRAPH, PREPROCESS and POSTPROCESS must hold one record each") }
        s.detector = sections[Int(SWLFormat.Section.detector.rawValue) - 1]
        return s
    }

    /// The string whose offset and length are at byte `at`, within the STRINGS section.
    func string(_ at: Int, _ what: String) throws(SwiftletError) -> String {
        let o = u32(at)
        let n = u32(at + 4)
        if o > stringsS.length || n > stringsS.length - o || n > 4096 {
            throw fail("\(what): name at \(o)+\(n) is outside the strings section (\(stringsS.length) bytes)")
        }
        let start = stringsS.offset + o
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + n)]), as: UTF8.self)
    }

    /// `n` values of the INTS section from value `start`.
    func intsAt(_ start: Int, _ n: Int, _ what: String) throws(SwiftletError) -> [Int32] {
        if start > intsS.count || n > intsS.count - start || n > 4096 {
            throw fail("\(what): \(n) values at \(start) are outside the INTS section (\(intsS.count) values)")
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        for i in 0..<n { out.append(Int32(truncatingIfNeeded: u32(intsS.offset + 4 * (start + i)))) }
        return out
    }

    /// Tensor indices, each refused unless it names one of the model's `nt` tensors.
    func tensorList(_ v: [Int32], _ what: String, _ nt: Int) throws(SwiftletError) -> [Int] {
        var out: [Int] = []
        for x in v {
            if x < 0 || Int(x) >= nt { throw fail("\(what) refers to tensor \(x), the model has \(nt)") }
            out.append(Int(x))
        }
        return out
    }

    /// The GRAPH record's name, arena size and flags.
    func readGraph(_ graphS: SectionRef) throws(SwiftletError) -> ModelSpec {
        var spec = ModelSpec()
        let g = graphS.offset
        spec.name = try string(g, "model name")
        let arena = u64(g + 8)
        if arena > UInt64(1) << 40 { throw fail("arena of \(arena) bytes is implausible") }
        spec.arenaBytes = Int(arena)
        let graphFlags = u32(g + 32)
        if graphFlags & ~7 != 0 {
            throw fail("unknown graph flags \(hex(UInt32(graphFlags)))", "it was written by a newer Swiftlet; update this one")
        }
        spec.reuseInputs = graphFlags & 1 != 0
        spec.streamRows = graphFlags & 2 != 0
        spec.requantization = graphFlags & 4 != 0 ? .float32 : .fixedPoint
        return spec
    }

    /// The tensor records: name, dtype, rank, storage, layout, shape, bytes within the weights section
    /// (or a plausible arena place), alignment and quantization. Returns the packed weights (format
    /// 2), whose stored size `checkPacked` checks against their node's layout.
    func readTensors(_ spec: inout ModelSpec, _ s: Sections) throws(SwiftletError) -> [(tensor: Int, bytes: UInt64)] {
        let tensorsS = s.tensors, weightsS = s.weights
        if tensorsS.count > 1 << 20 { throw fail("\(tensorsS.count) tensors is implausible") }
        var storedPacked: [(tensor: Int, bytes: UInt64)] = []
        for i in 0..<tensorsS.count {
            let t = tensorsS.offset + i * SWLFormat.tensorRecordSize
            let what = "tensor \(i)"
            let name = try string(t, what)
            guard let dtype = DType(rawValue: u8(t + 8)) else { throw fail("\(what) '\(name)': unknown dtype \(u8(t + 8))") }
            let rank = Int(u8(t + 9))
            if rank > maxRank { throw fail("\(what) '\(name)': rank \(rank) exceeds \(maxRank)") }
            let isPacked = major >= 2 && u8(t + 10) == SWLFormat.storagePacked
            guard let storage = isPacked ? .weights : Storage(rawValue: u8(t + 10)) else {
                throw fail("\(what) '\(name)': unknown storage \(u8(t + 10))")
            }
            guard let layout = Layout(rawValue: u8(t + 11)) else { throw fail("\(what) '\(name)': unknown layout \(u8(t + 11))") }
            if layout == .nhwc && rank != 4 { throw fail("\(what) '\(name)': NHWC layout needs rank 4, has \(rank)") }
            var dims: [Int] = []
            for d in 0..<rank { dims.append(u32(t + 16 + 4 * d)) }
            guard let n = Shape.count(dims) else { throw fail("\(what) '\(name)': shape \(Shape.text(dims)) is too large") }
            let off = u64(t + 40)
            let len = u64(t + 48)
            if !isPacked && len != UInt64(n * dtype.size) {
                throw fail("\(what) '\(name)': \(len) bytes stored for shape \(Shape.text(dims)) of \(dtype.name)")
            }
            // Arena tensors are checked against the arena with the plan (`checkPlan`): a streamed
            // tensor holds fewer bytes than its shape.
            let limit = storage == .arena ? UInt64(1) << 40 : UInt64(weightsS.length)
            if off > limit || len > limit - off {
                let place = storage == .arena ? "the arena (\(spec.arenaBytes) bytes)" : "the weights section (\(weightsS.length) bytes)"
                throw fail("\(what) '\(name)' ends at byte \(off &+ len), beyond \(place)",
                           "it is truncated or corrupt; re-run 'swiftlet import'")
            }
            if off % UInt64(SWLFormat.alignment) != 0 && storage == .weights {
                throw fail("\(what) '\(name)': weights at \(off) are not 64-byte aligned")
            }
            var info = TensorInfo(name: name, dtype: dtype, shape: dims, layout: layout, storage: storage, offset: Int(off))
            if !isPacked { info.byteCount = Int(len) }
            if isPacked { storedPacked.append((i, len)) }
            info.quant = try quantization(t, dtype: dtype, dims: dims, floats: s.floats, what: "\(what) '\(name)'")
            spec.tensors.append(info)
        }
        return storedPacked
    }

    /// The graph's inputs and outputs: at least one of each, float32 tensors in the arena.
    func readGraphIO(_ spec: inout ModelSpec, _ graphS: SectionRef) throws(SwiftletError) {
        let g = graphS.offset
        let nt = spec.tensors.count
        spec.inputs = try tensorList(try intsAt(u32(g + 20), u32(g + 16), "graph inputs"), "graph input", nt)
        spec.outputs = try tensorList(try intsAt(u32(g + 28), u32(g + 24), "graph outputs"), "graph output", nt)
        if spec.inputs.isEmpty || spec.outputs.isEmpty { throw fail("the graph has no inputs or no outputs") }
        for i in spec.inputs + spec.outputs where spec.tensors[i].storage != .arena || spec.tensors[i].dtype != .float32 {
            throw fail("graph input/output '\(spec.tensors[i].name)' must be a float32 tensor in the arena")
        }
    }

    /// Nodes: tensors exist, attributes decode, stored output shapes equal the computed ones, each
    /// tensor is computed once and before it is read, and every graph output is computed.
    func readNodes(_ spec: inout ModelSpec, _ nodesS: SectionRef) throws(SwiftletError) {
        if nodesS.count > 1 << 20 { throw fail("\(nodesS.count) nodes is implausible") }
        let nt = spec.tensors.count
        var defined = [Bool](repeating: false, count: nt)
        for t in 0..<nt where spec.tensors[t].storage == .weights { defined[t] = true }
        for t in spec.inputs { defined[t] = true }
        for i in 0..<nodesS.count {
            let nd = nodesS.offset + i * SWLFormat.nodeRecordSize
            let name = try string(nd + 4, "node \(i)")
            let what = "node \(i) '\(name)'"
            guard let kind = OpKind(rawValue: UInt16(u16(nd))) else {
                throw fail("\(what): unknown op kind \(u16(nd))", "it was written by a newer swiftlet; update swiftlet")
            }
            let ins = try tensorList(try intsAt(u32(nd + 12), u32(nd + 16), what), what, nt)
            let outs = try tensorList(try intsAt(u32(nd + 20), u32(nd + 24), what), what, nt)
            let attrs = try intsAt(u32(nd + 28), u32(nd + 32), what)
            let op = try Op.decode(kind: kind, attrs: attrs, where: "\(path): \(what)")
            if outs.count != 1 { throw fail("\(what): has \(outs.count) outputs, \(kind.name) has 1") }
            var shapes: [[Int]] = []
            for t in ins {
                if !defined[t] { throw fail("\(what): reads tensor \(t) '\(spec.tensors[t].name)' before it is computed") }
                shapes.append(spec.tensors[t].shape)
            }
            let out = outs[0]
            if defined[out] { throw fail("\(what): writes tensor \(out) '\(spec.tensors[out].name)', already defined") }
            if spec.tensors[out].storage != .arena {
                throw fail("\(what): output '\(spec.tensors[out].name)' must be an arena tensor")
            }
            // The shape check comes first: it also checks the input count that the type check relies on.
            let expect = try op.outputShape(shapes, where: "\(path): \(what)")
            if let problem = typeProblem(op, ins.map { spec.tensors[$0] }, spec.tensors[out]) {
                throw fail("\(what): \(problem)")
            }
            if expect != spec.tensors[out].shape {
                throw fail("\(what): output '\(spec.tensors[out].name)' is stored as \(Shape.text(spec.tensors[out].shape)), the op gives \(Shape.text(expect))")
            }
            if case .softmax(let axis, _) = op, axis >= expect.count { throw fail("\(what): softmax axis out of range") }
            defined[out] = true
            spec.nodes.append(NodeInfo(op: op, name: name, inputs: ins, outputs: outs))
        }
        for o in spec.outputs where !defined[o] { throw fail("graph output '\(spec.tensors[o].name)' is never computed") }
    }

    /// Packed weights (format 2) are what the writer makes: each is the weights of exactly one node,
    /// in the layout `packedWeightsPlan` gives that node, of that layout's size, and every bias,
    /// requantization and padding slot in it agrees with the tensors (`packedWeightsProblem`), so the
    /// reference kernels (which unpack them) and the SIMD ones (which read them in place) agree.
    mutating func checkPacked(_ spec: ModelSpec, _ stored: [(tensor: Int, bytes: UInt64)], _ weightsS: SectionRef) throws(SwiftletError) {
        packed = [PackedShape?](repeating: nil, count: spec.tensors.count)
        if stored.isEmpty { return }
        let plans = packedWeightsPlans(spec)
        for (t, rec) in stored {
            let info = spec.tensors[t]
            guard let plan = plans[t] else {
                throw fail("tensor '\(info.name)' is stored packed, but it is not the weights of one convolution or fully connected layer that reads packed weights")
            }
            if rec != UInt64(plan.shape.byteCount) {
                throw fail("tensor '\(info.name)': \(rec) packed bytes stored, its layout has \(plan.shape.byteCount)")
            }
            let base = bytes.baseAddress! + weightsS.offset
            if let problem = packedWeightsProblem(plan.shape, base + info.offset, bias: base + spec.tensors[plan.bias].offset, q: plan.q) {
                throw fail("packed weights '\(info.name)', output \(problem.output): \(problem.problem)")
            }
            packed[t] = plan.shape
        }
    }

    /// A tensor record's quantization (bytes 12–13 and 56–63), checked: int8 only, positive finite
    /// scales in the FLOATS section, one per slice of the axis, an int8 zero point (0 per axis).
    func quantization(_ t: Int, dtype: DType, dims: [Int], floats: SectionRef, what: String) throws(SwiftletError) -> TensorQuant? {
        let kind = u8(t + 12)
        if kind == 0 { return nil }
        if kind > 2 { throw fail("\(what): unknown quantization kind \(kind)") }
        if dtype != .int8 { throw fail("\(what): \(dtype.name) tensors are not quantized, only int8") }
        let axis = Int(u8(t + 13))
        if kind == 2 && axis >= dims.count { throw fail("\(what): quantization axis \(axis) is outside rank \(dims.count)") }
        let count = kind == 2 ? dims[axis] : 1
        let zp = Int32(truncatingIfNeeded: u32(t + 56))
        if zp < -128 || zp > 127 || (kind == 2 && zp != 0) {
            throw fail("\(what): zero point \(zp) is invalid (−128…127, and 0 for per-channel scales)")
        }
        let start = u32(t + 60)
        if !floats.present || start > floats.count || count > floats.count - start {
            throw fail("\(what): \(count) scales at \(start) are outside the FLOATS section (\(floats.present ? floats.count : 0) values)")
        }
        var scales: [Float] = []
        scales.reserveCapacity(count)
        for i in 0..<count {
            let v = f32(floats.offset + 4 * (start + i))
            if !(v > 0 && v < 1e30) { throw fail("\(what): scale \(v) must be positive and finite") }
            scales.append(v)
        }
        return kind == 2 ? TensorQuant(scales: scales, axis: axis) : TensorQuant(scale: scales[0], zeroPoint: zp)
    }

    /// No two arena tensors that are live at the same time overlap, unless the alias rules
    /// (`Aliasing`: views, in-place element-wise ops, Concat slices) let them share bytes, each where its
    /// group puts it.
    func checkPlan(_ spec: ModelSpec) throws(SwiftletError) {
        let plan = Lifetimes(spec)
        let alias = Aliasing(spec, life: plan)
        var live: [Int] = []
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena && plan.first[t] <= plan.last[t] {
            live.append(t)
        }
        // A strided Concat slice spans more bytes than it holds, when it sits in its slice (the
        // runtime only writes it strided then).
        // A streamed tensor holds only its ring of rows.
        var extent = [Int](repeating: 0, count: spec.tensors.count)
        for t in 0..<spec.tensors.count where spec.tensors[t].storage == .arena {
            extent[t] = alias.span(t, spec.tensors)
            let info = spec.tensors[t]
            if info.offset > spec.arenaBytes || extent[t] > spec.arenaBytes - info.offset {
                throw fail("tensor '\(info.name)' ends at byte \(info.offset + extent[t]), beyond the arena (\(spec.arenaBytes) bytes)",
                           "it is truncated or corrupt; re-run 'swiftlet import'")
            }
        }
        // O(n²) over live arena tensors: a few hundred in the models we ship.
        for i in 0..<live.count {
            let a = live[i]
            let ta = spec.tensors[a]
            for j in (i + 1)..<live.count {
                let b = live[j]
                let tb = spec.tensors[b]
                if plan.first[a] > plan.last[b] || plan.first[b] > plan.last[a] { continue }
                if ta.byteCount == 0 || tb.byteCount == 0 { continue }
                if alias.placedTogether(a, b, spec.tensors) { continue }
                if ta.offset < tb.offset + extent[b] && tb.offset < ta.offset + extent[a] {
                    throw fail("memory plan: tensors '\(ta.name)' and '\(tb.name)' overlap in the arena while both are live")
                }
            }
        }
    }
}

