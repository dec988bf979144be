import Foundation
import SwiftletCore
import SwiftletFuzz

// The fuzz targets' driver (issue #12 item 6).
//
// Normal build: `swiftlet-fuzz TARGET FILE...` runs each file through the target once and prints
// "ok" or the error it was refused with (to reproduce a finding without sanitizers).
//
// `tools/fuzz` builds it with `-sanitize=fuzzer,address -D SWIFTLET_LIBFUZZER`: then `main` hands
// the command line to libFuzzer (`LLVMFuzzerRunDriver`), and libFuzzer calls `LLVMFuzzerTestOneInput`
// and, for `swl` and `onnx`, `LLVMFuzzerCustomMutator`. SwiftPM links executables with their entry
// point renamed to `<module>_main`, so libFuzzer's own `main` is not used; the libFuzzer functions
// are looked up with `dlsym` (the build exports them with `--export-dynamic`), so the normal build
// links without libFuzzer.

/// The target this process fuzzes: `SWIFTLET_FUZZ_TARGET` (set from the first argument by `main`, so
/// processes libFuzzer starts again, e.g. to minimize a crash, inherit it).
let fuzzTarget: FuzzTarget? = ProcessInfo.processInfo.environment["SWIFTLET_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:))

typealias MutateFunction = @convention(c) (UnsafeMutablePointer<UInt8>?, Int, Int) -> Int
typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
typealias DriverFunction = @convention(c) (
    UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>, TestOneInput
) -> CInt

func libFuzzerFunction<T>(_ name: String, as type: T.Type) -> T? {
    dlsym(nil, name).map { unsafeBitCast($0, to: type) }
}

let libFuzzerMutate = libFuzzerFunction("LLVMFuzzerMutate", as: MutateFunction.self)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = fuzzTarget else { fatalError("SWIFTLET_FUZZ_TARGET is not set; run through tools/fuzz") }
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try target.run(bytes)
    } catch {
        // A clean refusal: the input got a message.
    }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzCustomMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let libFuzzerMutate, let data else { return size }
    let byteMutator: ByteMutator = { input, limit in
        var buffer = input + [UInt8](repeating: 0, count: max(0, limit - input.count))
        let n = buffer.withUnsafeMutableBufferPointer { libFuzzerMutate($0.baseAddress, input.count, limit) }
        return Array(buffer[0..<n])
    }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let output: [UInt8]
    switch fuzzTarget {
    case .swl: output = mutateSWL(input, maxSize: maxSize, seed: seed, bytes: byteMutator)
    case .onnx: output = mutateONNX(input, maxSize: maxSize, seed: seed, bytes: byteMutator)
    default: output = byteMutator(input, maxSize)
    }
    let n = min(output.count, maxSize)
    output.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    return n
}

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: swiftlet-fuzz TARGET FILE...   (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
    exit(64)
}

#if SWIFTLET_LIBFUZZER
@_cdecl("swiftlet_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var args = Array(UnsafeBufferPointer(start: argv, count: Int(argc)))
    if args.count > 1, let a = args[1], let target = FuzzTarget(rawValue: String(cString: a)) {
        setenv("SWIFTLET_FUZZ_TARGET", target.rawValue, 1)
        args.remove(at: 1)
    } else if fuzzTarget == nil {
        usage()
    }
    // libFuzzer may write through argv; keep the array alive for the whole run.
    let storage = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: args.count + 1)
    storage.initialize(from: args + [nil], count: args.count + 1)
    var count = CInt(args.count)
    var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = storage
    guard let driver = libFuzzerFunction("LLVMFuzzerRunDriver", as: DriverFunction.self) else {
        fatalError("LLVMFuzzerRunDriver not found: link with -sanitize=fuzzer and -Xlinker --export-dynamic (tools/fuzz does)")
    }
    return driver(&count, &vector, fuzzTestOneInput)
}
#else
@main
struct SwiftletFuzzReplay {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, let target = FuzzTarget(rawValue: args[1]) else { usage() }
        for path in args.dropFirst(2) {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                exit(1)
            }
            do {
                try target.run([UInt8](data))
                print("\(path): ok")
            } catch {
                print("\(path): refused: \(error.message)")
            }
        }
    }
}
#endif
