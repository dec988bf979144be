import CSwiftletKernels
import CSwiftletSys
import SwiftletCore

// swiftlet-peak [SECONDS]
//
// The int8 multiply-add peak of one core, measured: the instructions the int8 GEMM variants use
// (x86-64: vpmaddwd + vpaddd; arm64: smull + sadalp, and sdot where the CPU has it), in twelve
// independent chains for about SECONDS (default 0.5) per instruction. Prints one JSON object per
// instruction: {"instruction", "macs_per_instruction", "gmacs"}. Pin it with taskset, as the
// benchmark it feeds does (tools/bench/pointwise).

let args = CommandLine.arguments
let seconds = args.count > 1 ? (Double(args[1]) ?? 0.5) : 0.5

/// Runs `probe` long enough to take `seconds`, then returns multiply-adds per second.
func measure(_ macsPerIteration: Double, _ probe: (Int) -> Int32) -> Double {
    var iterations = 1 << 16
    var sink: Int32 = 0
    while true {
        let t0 = swl_monotonic_ns()
        sink ^= probe(iterations)
        let dt = Double(swl_monotonic_ns() - t0) / 1e9
        if dt >= seconds || iterations >= 1 << 40 {
            if sink == 0x7fff_ffff { sys_print("") }  // keeps the probe's result alive
            return Double(iterations) * macsPerIteration / dt
        }
        iterations *= dt < seconds / 8 ? 8 : 2
    }
}

func report(_ name: String, _ perInstruction: Int, _ macs: Double) {
    let g = (macs / 1e9 * 10).rounded() / 10
    sys_print("{\"instruction\": \"\(name)\", \"macs_per_instruction\": \(perInstruction), \"gmacs\": \(g)}")
}

let features = CPUFeatures.current()
#if arch(x86_64)
if features.contains(.avx2) {
    report("vpmaddwd+vpaddd", 16, measure(12 * 16) { swk_peak_madd_avx2($0) })
}
#elseif arch(arm64)
report("smull+sadalp", 8, measure(12 * 8) { swk_peak_smull_neon($0) })
if features.contains(.dotprod) {
    report("sdot", 16, measure(12 * 16) { swk_peak_sdot_neon($0) })
}
#endif
