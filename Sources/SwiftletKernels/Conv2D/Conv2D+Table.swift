import CSwiftletKernels
import SwiftletCore

/// Which kernels a model runs: the fastest variant the CPU and each layer allow, or the scalar
/// reference everywhere (`--kernels reference`), the definition the others are held to.
public enum KernelChoice: Sendable, Equatable {
    case auto, reference

    /// From a `--kernels` value: `auto` or `reference`.
    public init(parsing s: String) throws(SwiftletError) {
        switch s {
        case "auto": self = .auto
        case "reference": self = .reference
        default: throw .usage(detail: "--kernels takes 'auto' or 'reference', got '\(s)'")
        }
    }
}

/// How a variant computes.
public enum KernelAlgorithm: Sendable, Equatable {
    /// The scalar definition (`conv2dF32_reference`, `conv2dQS8_reference`).
    case reference
    /// 1×1, one group, no padding (any stride): a GEMM over the output pixels.
    case pointwise
    /// One group per channel, channel multiplier 1, kernel height ≤ 16.
    case depthwise
    /// One group, any kernel: each output row's patches gathered into scratch, then the GEMM.
    case im2col
    /// A fully connected layer: the GEMM over its rows.
    case gemm
    /// An element-wise op over contiguous, same-shape tensors (no broadcasting: that stays with the reference).
    case elementwise
    /// Max pooling, one output row at a time, channels in vector lanes.
    case pool
    /// Float 3×3, stride 1, one group: Winograd F(2×2, 3×3) (`Conv2D+Winograd.swift`), tiles of
    /// two output rows, so not in a streamed pair.
    case winograd
}

/// The instruction set a variant's micro-kernel uses.
public enum KernelISA: Sendable, Equatable {
    case scalar, avx2, avx512vnni, neon, neonDot
}

/// The shape of a convolution as a variant sees it (NHWC input and output, `Conv2D` parameters).
public struct ConvGeometry: Sendable, Equatable {
    public var n: Int, h: Int, w: Int, c: Int
    public var oh: Int, ow: Int, oc: Int
    public var params: Conv2D
    /// Whether the layer is one of a streamed Conv → Conv pair (its rows computed one at a time
    /// through a ring), which variants that compute several rows at once decline.
    public var streamed = false

    public init(xShape: [Int], yShape: [Int], params: Conv2D) {
        (n, h, w, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
        (oh, ow, oc) = (yShape[1], yShape[2], yShape[3])
        self.params = params
    }

    /// A fully connected layer of `rows` × `depth` inputs and `units` outputs, as a 1×1 convolution.
    public init(rows: Int, depth: Int, units: Int) {
        (n, h, w, c) = (1, 1, rows, depth)
        (oh, ow, oc) = (1, rows, units)
        params = Conv2D()
    }

    /// Taps per output: KH · KW · C / groups (the GEMM depth of the im2col and pointwise forms).
    public var depth: Int { params.kernelH * params.kernelW * (c / max(params.groups, 1)) }
}

/// One row of a kernel table: a name (what before the first `_`, how after), the algorithm and ISA,
/// the CPU features it needs, and which geometries it takes (`accepts`); a variant that declines a
/// layer leaves it to the next row down the preference order, and the reference takes every layer.
public struct KernelVariant: Sendable, Equatable {
    public let name: String
    public let algorithm: KernelAlgorithm
    public let isa: KernelISA
    public let requires: CPUFeatures

    public init(_ name: String, _ algorithm: KernelAlgorithm, _ isa: KernelISA, requires: CPUFeatures) {
        self.name = name
        self.algorithm = algorithm
        self.isa = isa
        self.requires = requires
    }

    /// The largest GEMM depth the packed kernels take (bounds their scratch); deeper layers run the reference.
    public static let maxDepth = 1 << 16

    /// Whether this variant computes `g` (the CPU is checked separately).
    public func accepts(_ g: ConvGeometry) -> Bool {
        let p = g.params
        switch algorithm {
        case .reference:
            return true
        case .pointwise:
            return p.kernelH == 1 && p.kernelW == 1 && p.groups == 1 && p.padTop == 0 && p.padLeft == 0
                && p.padBottom == 0 && p.padRight == 0 && g.c <= KernelVariant.maxDepth
        case .depthwise:
            return p.groups > 1 && p.groups == g.c && g.oc == g.c && p.kernelH <= 16
                && p.kernelH * p.kernelW <= Int(SWK_DW_MAX_TAPS)
        case .im2col:
            return p.groups == 1 && g.depth <= KernelVariant.maxDepth && !(p.kernelH == 1 && p.kernelW == 1)
        case .gemm:
            return g.c <= KernelVariant.maxDepth
        case .winograd:
            // Where it wins over im2col (tools/bench/winograd): enough input channels for the 16
            // GEMMs to outweigh the transforms, and transformed weights a cache can hold.
            return p.kernelH == 3 && p.kernelW == 3 && p.strideH == 1 && p.strideW == 1 && p.dilationH == 1 && p.dilationW == 1
                && p.groups == 1 && !g.streamed && g.c >= Winograd23.minChannels && 16 * g.c * g.oc <= Winograd23.maxWeightFloats
        case .elementwise, .pool:
            return true
        }
    }

    /// Whether the variant runs on a CPU with `features`.
    public func runs(on features: CPUFeatures) -> Bool { features.isSuperset(of: requires) }
}

/// The architectures the kernel tables are written for: the running one (`native`), or another one
/// for `swiftlet estimate`, which predicts an aarch64 board's latency on an x86-64 host from the
/// variants that board would select (a table's rows for another architecture are never run).
public enum KernelArch: Sendable, Equatable {
    case x86_64, arm64

    public static var native: KernelArch {
        #if arch(x86_64)
        return .x86_64
        #else
        return .arm64
        #endif
    }
}

/// The kernel tables: per op and dtype, the reference first, then the SIMD variants of this
/// architecture. Selection (`select`) walks a table from the end, so later rows are preferred;
/// the tests iterate the same tables, so a variant cannot exist untested.
public enum KernelTables {
    /// What the int8 GEMM's vpdpbusd on 256-bit registers needs (EVEX encoding: AVX-512 VL).
    public static let vnni: CPUFeatures = [.avx2, .avx512f, .avx512bw, .avx512vl, .avx512vnni]

    public static let convF32 = convF32(.native)
    public static let convQS8 = convQS8(.native)
    public static let fullyConnectedF32 = fullyConnectedF32(.native)
    public static let fullyConnectedQS8 = fullyConnectedQS8(.native)
    public static let addQS8 = elementwise("addQS8", .native)
    /// Float Add, Sub and Mul (then none, ReLU or a clip) of same-shape inputs or a per-channel second input.
    public static let binaryF32 = elementwise("binaryF32", .native)
    /// int8 Mul of same-shape inputs, or with the second a per-channel factor (squeeze-excite).
    public static let mulQS8 = elementwise("mulQS8", .native)
    public static let quantizeQS8 = elementwise("quantizeQS8", .native)
    public static let dequantizeQS8 = elementwise("dequantizeQS8", .native)
    /// An int8 activation by its 256-entry table (HardSwish, Sigmoid, … after quantization).
    public static let lookupQS8 = elementwise("lookupQS8", .native, x86Lanes: 32, armLanes: 16)
    /// Max pooling (NHWC, any window, stride and padding).
    public static let maxPoolF32 = pooling("maxPoolF32", .native)
    public static let maxPoolQS8 = pooling("maxPoolQS8", .native)
    /// int8 global average pooling: Mean over every dim but the channels (NHWC), 16 channels a step.
    public static let meanQS8 = globalMean("meanQS8", .native)

    public static func convF32(_ arch: KernelArch) -> [KernelVariant] {
        var t = [KernelVariant("conv2dF32_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64:
            t.append(KernelVariant("conv2dF32_im2colGemm6x16_avx2fma", .im2col, .avx2, requires: [.avx2, .fma]))
            t.append(KernelVariant("conv2dF32_winograd23_avx2fma", .winograd, .avx2, requires: [.avx2, .fma]))
            t.append(KernelVariant("conv2dF32_dw16c_avx2fma", .depthwise, .avx2, requires: [.avx2, .fma]))
            t.append(KernelVariant("conv2dF32_gemm6x16_avx2fma", .pointwise, .avx2, requires: [.avx2, .fma]))
        case .arm64:
            t.append(KernelVariant("conv2dF32_im2colGemm4x16_neon", .im2col, .neon, requires: [.neon]))
            t.append(KernelVariant("conv2dF32_winograd23_neon", .winograd, .neon, requires: [.neon]))
            t.append(KernelVariant("conv2dF32_dw16c_neon", .depthwise, .neon, requires: [.neon]))
            t.append(KernelVariant("conv2dF32_gemm4x16_neon", .pointwise, .neon, requires: [.neon]))
        }
        return t
    }

    public static func convQS8(_ arch: KernelArch) -> [KernelVariant] {
        var t = [KernelVariant("conv2dQS8_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64:
            t.append(KernelVariant("conv2dQS8_im2colGemm4x8c4_avx2", .im2col, .avx2, requires: [.avx2]))
            t.append(KernelVariant("conv2dQS8_dw16c_avx2", .depthwise, .avx2, requires: [.avx2]))
            t.append(KernelVariant("conv2dQS8_gemm4x8c4_avx2", .pointwise, .avx2, requires: [.avx2]))
            t.append(KernelVariant("conv2dQS8_im2colGemm4x8c4_avx512vnni", .im2col, .avx512vnni, requires: KernelTables.vnni))
            t.append(KernelVariant("conv2dQS8_dw32c_avx512vnni", .depthwise, .avx512vnni, requires: KernelTables.vnni))
            t.append(KernelVariant("conv2dQS8_gemm4x8c4_avx512vnni", .pointwise, .avx512vnni, requires: KernelTables.vnni))
        case .arm64:
            t.append(KernelVariant("conv2dQS8_im2colGemm4x8c4_neon", .im2col, .neon, requires: [.neon]))
            t.append(KernelVariant("conv2dQS8_dw16c_neon", .depthwise, .neon, requires: [.neon]))
            t.append(KernelVariant("conv2dQS8_gemm4x8c4_neon", .pointwise, .neon, requires: [.neon]))
            t.append(KernelVariant("conv2dQS8_im2colGemm4x8c4_neonDot", .im2col, .neonDot, requires: [.neon, .dotprod]))
            t.append(KernelVariant("conv2dQS8_gemm4x8c4_neonDot", .pointwise, .neonDot, requires: [.neon, .dotprod]))
        }
        return t
    }

    public static func fullyConnectedF32(_ arch: KernelArch) -> [KernelVariant] {
        var t = [KernelVariant("fullyConnectedF32_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64: t.append(KernelVariant("fullyConnectedF32_gemm6x16_avx2fma", .gemm, .avx2, requires: [.avx2, .fma]))
        case .arm64: t.append(KernelVariant("fullyConnectedF32_gemm4x16_neon", .gemm, .neon, requires: [.neon]))
        }
        return t
    }

    public static func fullyConnectedQS8(_ arch: KernelArch) -> [KernelVariant] {
        var t = [KernelVariant("fullyConnectedQS8_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64:
            t.append(KernelVariant("fullyConnectedQS8_gemm4x8c4_avx2", .gemm, .avx2, requires: [.avx2]))
            t.append(KernelVariant("fullyConnectedQS8_gemm4x8c4_avx512vnni", .gemm, .avx512vnni, requires: KernelTables.vnni))
        case .arm64:
            t.append(KernelVariant("fullyConnectedQS8_gemm4x8c4_neon", .gemm, .neon, requires: [.neon]))
            t.append(KernelVariant("fullyConnectedQS8_gemm4x8c4_neonDot", .gemm, .neonDot, requires: [.neon, .dotprod]))
        }
        return t
    }

    static func pooling(_ what: String, _ arch: KernelArch) -> [KernelVariant] {
        var t = [KernelVariant("\(what)_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64: t.append(KernelVariant("\(what)_avx2", .pool, .avx2, requires: [.avx2]))
        case .arm64: t.append(KernelVariant("\(what)_neon", .pool, .neon, requires: [.neon]))
        }
        return t
    }

    /// The int8 global average pooling table: the reference, then AVX2 or NEON.
    static func globalMean(_ what: String, _ arch: KernelArch) -> [KernelVariant] {
        var t = [KernelVariant("\(what)_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64: t.append(KernelVariant("\(what)_16x_avx2", .elementwise, .avx2, requires: [.avx2]))
        case .arm64: t.append(KernelVariant("\(what)_16x_neon", .elementwise, .neon, requires: [.neon]))
        }
        return t
    }

    /// An element-wise table: the reference, then AVX2 or NEON, named by the elements a step takes.
    static func elementwise(_ what: String, _ arch: KernelArch, x86Lanes: Int = 8, armLanes: Int = 8) -> [KernelVariant] {
        var t = [KernelVariant("\(what)_reference", .reference, .scalar, requires: [])]
        switch arch {
        case .x86_64: t.append(KernelVariant("\(what)_\(x86Lanes)x_avx2", .elementwise, .avx2, requires: [.avx2]))
        case .arm64: t.append(KernelVariant("\(what)_\(armLanes)x_neon", .elementwise, .neon, requires: [.neon]))
        }
        return t
    }

    /// Every table, for the tests and the self-test.
    public static var all: [[KernelVariant]] {
        [convF32, convQS8, fullyConnectedF32, fullyConnectedQS8, binaryF32, addQS8, mulQS8, quantizeQS8, dequantizeQS8, lookupQS8, maxPoolF32, maxPoolQS8,
         meanQS8]
    }

    /// The preferred variant of `table` for `g`: the last row that runs on `features` and accepts
    /// `g`, or the reference (always row 0) when `choice` is `.reference`.
    public static func select(_ table: [KernelVariant], _ g: ConvGeometry, features: CPUFeatures,
                              choice: KernelChoice) -> KernelVariant {
        if choice == .auto {
            for v in table.reversed() where v.runs(on: features) && v.accepts(g) { return v }
        }
        return table[0]
    }
}

/// One architecture's tables, as a model's layers select from them (`Interpreter.kernelVariant`):
/// the running CPU's (`native`, the tables above) or an estimate's target's.
public struct KernelTableSet: Sendable {
    public let convF32, convQS8, fullyConnectedF32, fullyConnectedQS8: [KernelVariant]
    public let addQS8, binaryF32, mulQS8, quantizeQS8, dequantizeQS8, lookupQS8, maxPoolF32, maxPoolQS8, meanQS8: [KernelVariant]

    public static let native = KernelTableSet(
        convF32: KernelTables.convF32, convQS8: KernelTables.convQS8, fullyConnectedF32: KernelTables.fullyConnectedF32,
        fullyConnectedQS8: KernelTables.fullyConnectedQS8, addQS8: KernelTables.addQS8, binaryF32: KernelTables.binaryF32,
        mulQS8: KernelTables.mulQS8, quantizeQS8: KernelTables.quantizeQS8, dequantizeQS8: KernelTables.dequantizeQS8,
        lookupQS8: KernelTables.lookupQS8, maxPoolF32: KernelTables.maxPoolF32, maxPoolQS8: KernelTables.maxPoolQS8,
        meanQS8: KernelTables.meanQS8)

    public init(_ arch: KernelArch) {
        self.init(convF32: KernelTables.convF32(arch), convQS8: KernelTables.convQS8(arch), fullyConnectedF32: KernelTables.fullyConnectedF32(arch),
                  fullyConnectedQS8: KernelTables.fullyConnectedQS8(arch), addQS8: KernelTables.elementwise("addQS8", arch),
                  binaryF32: KernelTables.elementwise("binaryF32", arch), mulQS8: KernelTables.elementwise("mulQS8", arch),
                  quantizeQS8: KernelTables.elementwise("quantizeQS8", arch), dequantizeQS8: KernelTables.elementwise("dequantizeQS8", arch),
                  lookupQS8: KernelTables.elementwise("lookupQS8", arch, x86Lanes: 32, armLanes: 16),
                  maxPoolF32: KernelTables.pooling("maxPoolF32", arch), maxPoolQS8: KernelTables.pooling("maxPoolQS8", arch),
                  meanQS8: KernelTables.globalMean("meanQS8", arch))
    }

    init(convF32: [KernelVariant], convQS8: [KernelVariant], fullyConnectedF32: [KernelVariant], fullyConnectedQS8: [KernelVariant],
         addQS8: [KernelVariant], binaryF32: [KernelVariant], mulQS8: [KernelVariant], quantizeQS8: [KernelVariant],
         dequantizeQS8: [KernelVariant], lookupQS8: [KernelVariant], maxPoolF32: [KernelVariant], maxPoolQS8: [KernelVariant],
         meanQS8: [KernelVariant]) {
        (self.convF32, self.convQS8, self.fullyConnectedF32, self.fullyConnectedQS8) = (convF32, convQS8, fullyConnectedF32, fullyConnectedQS8)
        (self.addQS8, self.binaryF32, self.mulQS8, self.quantizeQS8) = (addQS8, binaryF32, mulQS8, quantizeQS8)
        (self.dequantizeQS8, self.lookupQS8, self.maxPoolF32, self.maxPoolQS8) = (dequantizeQS8, lookupQS8, maxPoolF32, maxPoolQS8)
        self.meanQS8 = meanQS8
    }
}
