// swift-tools-version: 6.2
import PackageDescription

// Core targets (CSwiftletSys … SwiftletApp, SwiftletDetect) are embedded-clean: no Foundation, typed throws,
// no existentials. `tools/embedded-check` compiles them with `-enable-experimental-feature Embedded`.
// Host-only targets (SwiftletPlanner, SwiftletPruner, SwiftletONNX, SwiftletTFLite, SwiftletCompiler, SwiftletQuantizer, SwiftletEstimate, SwiftletFuzz, swiftlet,
// swiftlet-fuzz) may use Foundation and packages. `tools/check-deps` checks that every target lists the package modules it imports.
let core: [SwiftSetting] = [.treatWarning("EmbeddedRestrictions", as: .error)]
/// The core Swift targets, in build order: the one list. Each gets `core` below (and no other target
/// does); tools/embedded-check and tools/build-board read this line, so keep it on one line.
let coreSwiftTargets = ["SwiftletCore", "SwiftletDetect", "SwiftletKernels", "SwiftletModel", "SwiftletRuntime", "SwiftletVision", "SwiftletPipeline", "SwiftletApp"]

let package = Package(
    name: "Swiftlet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swiftlet", targets: ["swiftlet"]),
        .library(name: "SwiftletRuntime", targets: ["SwiftletRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Test tooling only: counts heap allocations per inference (swiftlet-alloc-check).
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        .target(name: "CSwiftletSys", path: "Sources/CSwiftletSys",
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("pthread")]),
        // The SIMD micro-kernels (C with intrinsics; per-function target attributes, no global -march).
        .target(name: "CSwiftletKernels", path: "Sources/CSwiftletKernels"),
        .target(name: "SwiftletCore", dependencies: ["CSwiftletSys"]),
        // Detection post-processing: anchors, box decoding, NMS, mapping back to image pixels.
        .target(name: "SwiftletDetect", dependencies: ["SwiftletCore", "CSwiftletSys"]),
        .target(name: "SwiftletKernels", dependencies: ["SwiftletCore", "CSwiftletSys", "CSwiftletKernels"]),
        // The model format stores weights in the kernels' packed layouts (SwiftletKernels' Conv2D+Packed)
        // and detection decoders (SwiftletDetect's options, validated by the reader).
        .target(name: "SwiftletModel", dependencies: ["SwiftletCore", "SwiftletKernels", "SwiftletDetect", "CSwiftletSys"]),
        .target(name: "SwiftletRuntime", dependencies: ["SwiftletCore", "SwiftletModel", "SwiftletKernels", "CSwiftletKernels"]),
        .target(name: "SwiftletVision", dependencies: ["SwiftletCore", "CSwiftletSys", "CSwiftletKernels"]),
        // Pre- and post-processing from a model's metadata, shared by the CLI (SwiftletApp) and the host
        // tools: a photo into the input, the model's detector, MTCNN bundles, top-k, model statistics.
        .target(name: "SwiftletPipeline", dependencies: ["SwiftletCore", "SwiftletModel", "SwiftletKernels", "SwiftletRuntime", "SwiftletVision",
                                                      "SwiftletDetect"]),
        .target(name: "SwiftletApp", dependencies: ["SwiftletCore", "SwiftletModel", "SwiftletKernels", "SwiftletRuntime", "SwiftletVision",
                                                 "SwiftletDetect", "SwiftletPipeline", "CSwiftletKernels", "CSwiftletSys"]),
        // Pack-time memory planning (host only): arena placement and the execution-order search. What
        // the reader and the interpreter need of the plan (lifetimes, aliasing, scratch) is in SwiftletModel.
        .target(name: "SwiftletPlanner", dependencies: ["SwiftletCore", "SwiftletModel"]),
        .target(name: "SwiftletCompiler", dependencies: ["SwiftletCore", "SwiftletModel", "SwiftletPlanner"]),
        .target(name: "SwiftletONNX", dependencies: [
            "SwiftletCore", "SwiftletCompiler", "SwiftletModel", "SwiftletPlanner", "SwiftletDetect",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // TensorFlow Lite import (host only): a validating flatbuffer reader and the builtins' mapping
        // onto the import graph, through SwiftletONNX's shared pipeline (finishImport) (issue #18).
        .target(name: "SwiftletTFLite", dependencies: ["SwiftletCore", "SwiftletCompiler", "SwiftletModel", "SwiftletONNX", "SwiftletQuantizer"]),
        .target(name: "SwiftletQuantizer", dependencies: [
            "SwiftletCore", "SwiftletModel", "SwiftletKernels", "SwiftletRuntime", "SwiftletPipeline", "SwiftletPlanner", "SwiftletDetect",
            "SwiftletVision",
        ]),
        // Structured channel pruning (host only): the channel groups of a float model (issue #17).
        .target(name: "SwiftletPruner", dependencies: [
            "SwiftletCore", "SwiftletModel", "SwiftletPlanner", "SwiftletRuntime", "SwiftletPipeline", "SwiftletQuantizer", "SwiftletEstimate",
        ]),
        // `swiftlet estimate`: ARM latency from llvm-mca's cycles for the board build's loops (host only).
        .target(name: "SwiftletEstimate", dependencies: [
            "SwiftletCore", "SwiftletModel", "SwiftletKernels", "SwiftletRuntime", "SwiftletPipeline", "CSwiftletKernels",
        ]),
        .executableTarget(name: "swiftlet", dependencies: [
            "SwiftletCore", "SwiftletModel", "SwiftletKernels", "SwiftletRuntime", "SwiftletVision", "SwiftletPipeline", "SwiftletApp",
            "SwiftletDetect", "SwiftletCompiler", "SwiftletONNX", "SwiftletTFLite", "SwiftletQuantizer", "SwiftletEstimate", "SwiftletPruner",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmark tooling only: the int8 multiply-add peak of this core (tools/bench/pointwise).
        .executableTarget(name: "swiftlet-peak", dependencies: ["CSwiftletKernels", "CSwiftletSys", "SwiftletCore", "SwiftletKernels"]),
        // Benchmark tooling only: decode + NMS per frame beside OpenCV's NMSBoxes (tools/bench/nms).
        .executableTarget(name: "swiftlet-nms-bench", dependencies: [
            "CSwiftletSys", "SwiftletCore", "SwiftletModel", "SwiftletRuntime", "SwiftletDetect", "SwiftletPipeline",
        ]),
        // Benchmark tooling only: the camera path's pre-processing beside OpenCV's (tools/bench/preprocess).
        .executableTarget(name: "swiftlet-preprocess-bench", dependencies: [
            "CSwiftletSys", "SwiftletCore", "SwiftletModel", "SwiftletVision", "SwiftletApp",
        ]),
        .executableTarget(name: "swiftlet-alloc-check", dependencies: [
            "SwiftletCore", "SwiftletModel", "SwiftletRuntime", "SwiftletDetect", "SwiftletPipeline", "SwiftletApp", "SwiftletVision",
            .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
        ]),
        // Fuzzing (host only): the fuzz targets as plain functions, replayed by FuzzCorpusTests, and
        // their driver, which tools/fuzz builds with -sanitize=fuzzer,address (libFuzzer).
        .target(name: "SwiftletFuzz", dependencies: [
            "SwiftletCore", "SwiftletModel", "SwiftletRuntime", "SwiftletVision", "SwiftletPipeline", "SwiftletApp", "SwiftletONNX",
            "SwiftletTFLite",
        ]),
        .executableTarget(name: "swiftlet-fuzz", dependencies: ["SwiftletCore", "SwiftletFuzz"]),
        .testTarget(name: "SwiftletTests", dependencies: [
            "CSwiftletKernels", "CSwiftletSys", "SwiftletCore", "SwiftletModel", "SwiftletKernels", "SwiftletRuntime", "SwiftletVision",
            "SwiftletDetect", "SwiftletPipeline", "SwiftletApp", "SwiftletPlanner", "SwiftletCompiler", "SwiftletONNX", "SwiftletQuantizer",
            "SwiftletFuzz", "SwiftletEstimate", "SwiftletPruner", "SwiftletTFLite",
        ]),
    ]
)

// The core settings (Embedded restrictions as errors) on exactly the core targets.
for name in coreSwiftTargets where !package.targets.contains(where: { $0.name == name }) {
    fatalError("coreSwiftTargets names '\(name)', which is no target of this package")
}
for target in package.targets where coreSwiftTargets.contains(target.name) {
    target.swiftSettings = core
}
