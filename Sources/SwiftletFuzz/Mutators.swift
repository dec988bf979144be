import SwiftletCore
import SwiftletModel
import SwiftletONNX

/// libFuzzer's own byte mutator as a closure: mutates `bytes` in place of at most `maxSize` bytes
/// and returns the result (`LLVMFuzzerMutate`; in tests, any byte change).
public typealias ByteMutator = (_ bytes: [UInt8], _ maxSize: Int) -> [UInt8]

/// The `.swl` custom mutator: a byte mutation (libFuzzer's) or a field mutation (a header field, a
/// section table entry's kind, count, offset or length, a u32 inside a section, a truncation or a
/// copied block), then — for 15 of 16 mutants — the header's file size and CRC-32 are set to match
/// the new bytes (docs/format.md: size at bytes 16–23, CRC of bytes 64… at 24–27), so the mutant
/// reaches the checks behind the CRC. The remaining sixteenth keeps whatever the mutation left, so
/// the size and CRC checks themselves are exercised too.
public func mutateSWL(_ input: [UInt8], maxSize: Int, seed: UInt32, bytes mutate: ByteMutator) -> [UInt8] {
    var rng = SplitMix64(state: UInt64(seed) &* 0x2545_F491_4F6C_DD1D &+ 1)  // seeded by libFuzzer's per-mutation seed
    var b = input
    if b.count < SWLFormat.headerSize || rng.chance(3) {
        b = mutate(b, maxSize)
    } else {
        mutateSWLField(&b, &rng)
    }
    if b.count > maxSize { b.removeLast(b.count - maxSize) }
    if b.count >= SWLFormat.headerSize && !rng.chance(16) { sealSWL(&b) }
    return b
}

/// Sets the header's file size and CRC-32 to match `b` (which must hold a 64-byte header).
public func sealSWL(_ b: inout [UInt8]) {
    put64(&b, 16, UInt64(b.count))
    let crc = b.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[SWLFormat.headerSize...])) }
    put32(&b, 24, crc)
}

func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}
func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
}
func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
    for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
}

/// Values on the reader's edges: zero, one, alignment steps, the section and string limits, u32/u64 edges.
let swlInterestingValues: [UInt64] = [0, 1, 2, 3, 4, 7, 8, 63, 64, 65, 128, 4095, 4096, 4097, 65535, 65536,
                                      0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 1 << 40, UInt64.max]

func mutateSWLField(_ b: inout [UInt8], _ rng: inout SplitMix64) {
    let sections = min(Int(get32(b, 12)), 64)
    let tableEnd = 64 + 24 * sections
    func value(near v: UInt64) -> UInt64 {
        switch rng.below(4) {
        case 0: return swlInterestingValues[rng.below(swlInterestingValues.count)]
        case 1: return v &+ UInt64(rng.below(130)) &- 65
        case 2: return v &* 2
        default: return v ^ (1 << UInt64(rng.below(32)))
        }
    }
    switch rng.below(8) {
    case 0:  // a header field: version, header size, section count, flags, table offset
        let at = [4, 6, 8, 12, 28, 32][rng.below(6)]
        let width = at == 4 || at == 6 ? 2 : (at == 32 ? 8 : 4)
        var v: UInt64 = 0
        for i in 0..<width { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
        v = value(near: v)
        for i in 0..<width { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    case 1, 2:  // a section table entry: kind, count, offset or length
        guard sections > 0, tableEnd <= b.count else { break }
        let entry = 64 + 24 * rng.below(sections)
        let field = [0, 4, 8, 16][rng.below(4)]
        if field < 8 {
            put32(&b, entry + field, UInt32(truncatingIfNeeded: value(near: UInt64(get32(b, entry + field)))))
        } else {
            let v = UInt64(get32(b, entry + field)) | UInt64(get32(b, entry + field + 4)) << 32
            put64(&b, entry + field, value(near: v))
        }
    case 3:  // a section entry copied over another (duplicated or retargeted sections)
        guard sections > 1, tableEnd <= b.count else { break }
        let from = 64 + 24 * rng.below(sections), to = 64 + 24 * rng.below(sections)
        for i in 0..<24 { b[to + i] = b[from + i] }
    case 4, 5:  // a u32 inside the body: a tensor's dimension, a node's input index, an attribute…
        guard b.count >= tableEnd + 4, b.count > 68 else { break }
        let at = (tableEnd + rng.below(b.count - tableEnd - 3)) & ~3
        guard at + 4 <= b.count else { break }
        put32(&b, at, UInt32(truncatingIfNeeded: value(near: UInt64(get32(b, at)))))
    case 6:  // truncated, or bytes appended
        if rng.chance(2) {
            b.removeLast(rng.below(b.count - SWLFormat.headerSize + 1))
        } else {
            b += [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: 1 + rng.below(128))
        }
    default:  // a block of the body copied elsewhere in the body
        guard b.count > tableEnd + 8 else { break }
        let n = 1 + rng.below(min(64, b.count - tableEnd))
        let from = tableEnd + rng.below(b.count - tableEnd - n + 1)
        let to = tableEnd + rng.below(b.count - tableEnd - n + 1)
        for i in 0..<n { b[to + i] = b[from + i] }
    }
}

/// The ONNX custom mutator: a field of the parsed model changed (`mutateONNXFields`) for 3 of 4
/// mutants that parse, else libFuzzer's byte mutation (which also finds protobuf-level damage).
public func mutateONNX(_ input: [UInt8], maxSize: Int, seed: UInt32, bytes mutate: ByteMutator) -> [UInt8] {
    if seed % 4 != 0, let m = mutateONNXFields(input, seed: UInt64(seed)), m.count <= maxSize { return m }
    return mutate(input, maxSize)
}
