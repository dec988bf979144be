/// Little-endian bytes appended (and patched) in order: the .swl writer's and the NPY writer's.
public struct ByteWriter {
    public var bytes: [UInt8]

    public init(bytes: [UInt8] = []) { self.bytes = bytes }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v & 0xFF))
        bytes.append(UInt8(v >> 8))
    }
    public mutating func u32(_ v: UInt32) {
        for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) }
    }
    public mutating func u64(_ v: UInt64) {
        for i in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) }
    }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    public mutating func zeros(_ n: Int) { for _ in 0..<n { bytes.append(0) } }
    public mutating func align(_ a: Int) { while bytes.count % a != 0 { bytes.append(0) } }
    public mutating func patch32(at: Int, _ v: UInt32) {
        for i in 0..<4 { bytes[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) }
    }
    public mutating func patch64(at: Int, _ v: UInt64) {
        for i in 0..<8 { bytes[at + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) }
    }
}
