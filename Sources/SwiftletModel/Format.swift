/// `.swl` layout constants; `docs/format.md` describes the file byte by byte.
public enum SWLFormat {
    public static let magic: [UInt8] = [0x53, 0x57, 0x4C, 0x54]  // "SWLT"
    /// 2.0: convolution and fully connected weights stored in the kernels' packed layouts (storage 2).
    /// 2.1: the DETECTOR section (a detection decoder's parameters and NMS defaults).
    /// 2.2: GRAPH flag bit 2, float32 requantization (`RequantizationMode`; packed int8 blocks then hold
    /// each output's float32 scale where fixed point has its multiplier, and 0 for its shift).
    /// 2.3: PREPROCESS resize mode 2, letterbox (a reader before 2.3 refuses such a file: "pre-processing
    /// record is invalid"); decoder 3, RetinaFace priors (POSTPROCESS bytes 8–11, a DETECTOR record of
    /// kind 3); NMS kinds 3–4 (soft-NMS) and top-k in the DETECTOR records.
    /// 2.4: decoder 4, YOLOv5/YOLOv8 boxes decoded in the graph (POSTPROCESS bytes 8–11, a DETECTOR
    /// record of kind 4).
    public static let versionMajor = 2
    public static let versionMinor = 4
    /// The oldest major version the reader loads (1.x: plain weights, packed at load).
    public static let oldestMajor = 1
    /// The tensor record's storage byte of packed weights (2.0): the weights section holds them in the
    /// `PackedForm` the node that reads them needs; the reader presents them as `Storage.weights`.
    public static let storagePacked: UInt8 = 2
    public static let headerSize = 64
    public static let sectionEntrySize = 24
    public static let alignment = 64

    public static let tensorRecordSize = 64
    public static let nodeRecordSize = 40
    public static let graphRecordSize = 64
    public static let preprocessRecordSize = 64
    public static let postprocessRecordSize = 64
    public static let labelRecordSize = 8
    public static let detectorRecordSize = 256

    /// Section kinds. Raw values stored in the file: append only.
    public enum Section: UInt32, CaseIterable, Sendable {
        case strings = 1
        case tensors = 2
        case nodes = 3
        case ints = 4
        case graph = 5
        case preprocess = 6
        case labels = 7
        case weights = 8
        case postprocess = 9
        /// float32 values (int8 tensors' scales); version 1.1, absent in float models.
        case floats = 10
        /// A detection decoder's parameters and NMS defaults; version 2.1, present when POSTPROCESS
        /// names a decoder.
        case detector = 11

        public var name: String {
            switch self {
            case .strings: return "STRINGS"
            case .tensors: return "TENSORS"
            case .nodes: return "NODES"
            case .ints: return "INTS"
            case .graph: return "GRAPH"
            case .preprocess: return "PREPROCESS"
            case .labels: return "LABELS"
            case .weights: return "WEIGHTS"
            case .postprocess: return "POSTPROCESS"
            case .floats: return "FLOATS"
            case .detector: return "DETECTOR"
            }
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's `crc32`.
public struct CRC32 {
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        return t
    }()

    /// The CRC of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}

