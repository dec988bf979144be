import SwiftletCore
import SwiftletDetect

/// The records of a `.swl`'s metadata sections as `encodeSWL` writes them, with the STRINGS, INTS
/// and FLOATS sections they point into, filled in the order the records are written.
struct SWLRecordWriter {
    var strings = ByteWriter()
    var ints = ByteWriter()
    var intCount: UInt32 = 0
    var floats = ByteWriter()
    var floatCount: UInt32 = 0

    /// Appends `s` to STRINGS; returns its offset and length.
    mutating func str(_ s: String) -> (UInt32, UInt32) {
        let off = UInt32(strings.bytes.count)
        var n: UInt32 = 0
        for b in s.utf8 {
            strings.u8(b)
            n += 1
        }
        return (off, n)
    }

    /// Appends `v` to INTS; returns the index of its first value.
    mutating func intList(_ v: [Int]) -> UInt32 {
        let start = intCount
        for x in v {
            ints.i32(Int32(truncatingIfNeeded: x))
            intCount += 1
        }
        return start
    }

    mutating func int32List(_ v: [Int32]) -> UInt32 {
        let start = intCount
        for x in v {
            ints.i32(x)
            intCount += 1
        }
        return start
    }

    /// The TENSORS section: each tensor's record, in the place `place` gives it in the weights
    /// section (its quantization scales appended to FLOATS).
    mutating func tensorRecords(_ spec: ModelSpec, _ place: [(offset: Int, count: Int, packed: Bool)]) -> [UInt8] {
        var tensors = ByteWriter()
        for (i, t) in spec.tensors.enumerated() {
            let (o, n) = str(t.name)
            tensors.u32(o)
            tensors.u32(n)
            tensors.u8(t.dtype.rawValue)
            tensors.u8(UInt8(clamping: t.shape.count))
            tensors.u8(place[i].packed ? SWLFormat.storagePacked : t.storage.rawValue)
            tensors.u8(t.layout.rawValue)
            // Quantization: kind (0 none, 1 per tensor, 2 per axis), axis, two reserved bytes.
            tensors.u8(t.quant == nil ? 0 : (t.quant?.axis == nil ? 1 : 2))
            tensors.u8(UInt8(clamping: t.quant?.axis ?? 0))
            tensors.u16(0)
            for i in 0..<maxRank { tensors.u32(i < t.shape.count ? UInt32(clamping: t.shape[i]) : 0) }
            tensors.u64(UInt64(clamping: place[i].offset))
            tensors.u64(UInt64(clamping: place[i].count))
            if let q = t.quant {
                tensors.i32(q.zeroPoint)
                tensors.u32(floatCount)
                for v in q.scales {
                    floats.f32(v)
                    floatCount += 1
                }
            } else {
                tensors.u64(0)
            }
        }
        return tensors.bytes
    }

    /// The NODES section: each node's op kind, name, input and output tensors and attributes.
    mutating func nodeRecords(_ spec: ModelSpec) -> [UInt8] {
        var nodes = ByteWriter()
        for nd in spec.nodes {
            let (o, n) = str(nd.name)
            nodes.u16(nd.op.kind.rawValue)
            nodes.u16(0)
            nodes.u32(o)
            nodes.u32(n)
            nodes.u32(intList(nd.inputs))
            nodes.u32(UInt32(nd.inputs.count))
            nodes.u32(intList(nd.outputs))
            nodes.u32(UInt32(nd.outputs.count))
            let attrs = nd.op.encode()
            nodes.u32(int32List(attrs))
            nodes.u32(UInt32(attrs.count))
            nodes.u32(0)
        }
        return nodes.bytes
    }

    /// The GRAPH record: name, arena size, inputs, outputs and flags.
    mutating func graphRecord(_ spec: ModelSpec) -> [UInt8] {
        var graph = ByteWriter()
        let (gn, gl) = str(spec.name)
        graph.u32(gn)
        graph.u32(gl)
        graph.u64(UInt64(clamping: spec.arenaBytes))
        graph.u32(UInt32(spec.inputs.count))
        graph.u32(intList(spec.inputs))
        graph.u32(UInt32(spec.outputs.count))
        graph.u32(intList(spec.outputs))
        graph.u32((spec.reuseInputs ? 1 : 0) | (spec.streamRows ? 2 : 0) | (spec.requantization == .float32 ? 4 : 0))
        graph.zeros(SWLFormat.graphRecordSize - graph.bytes.count)
        return graph.bytes
    }

    /// The LABELS section: each label's string.
    mutating func labelRecords(_ spec: ModelSpec) -> [UInt8] {
        var labels = ByteWriter()
        for l in spec.labels {
            let (o, n) = str(l)
            labels.u32(o)
            labels.u32(n)
        }
        return labels.bytes
    }
}

/// The PREPROCESS record: flag, resize mode, channel order, mean and std (zeros without pre-processing).
func preprocessRecord(_ spec: ModelSpec) -> [UInt8] {
    var pre = ByteWriter()
    if let p = spec.preprocess {
        pre.u32(1)
        pre.u8(p.resizeMode.rawValue)
        pre.u8(p.bgr ? 1 : 0)
        pre.u16(0)
        pre.u32(UInt32(clamping: p.resizeShorter))
        pre.u32(0)
        for c in 0..<3 { pre.f32(c < p.mean.count ? p.mean[c] : 0) }
        for c in 0..<3 { pre.f32(c < p.std.count ? p.std[c] : 1) }
    }
    pre.zeros(SWLFormat.preprocessRecordSize - pre.bytes.count)
    return pre.bytes
}

/// The POSTPROCESS record: output kind, probabilities flag and decoder kind.
func postprocessRecord(_ spec: ModelSpec) -> [UInt8] {
    var post = ByteWriter()
    post.u32(spec.postprocess.kind.rawValue)
    post.u32(spec.postprocess.outputsProbabilities ? 1 : 0)
    post.u32(spec.postprocess.decoder.kind.rawValue)
    // Bytes 12–63 (a parameter count and 12 floats up to 2.0) are zero: the DETECTOR section holds
    // the decoder's parameters.
    post.zeros(SWLFormat.postprocessRecordSize - post.bytes.count)
    return post.bytes
}
