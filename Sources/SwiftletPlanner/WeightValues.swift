import SwiftletCore
import SwiftletModel

// Host side only: in the core model target this function, unused on the boards, still cost the rpi4
// binary a 16 KiB segment (927,880 bytes against 911,496).

extension ModelSpec {
    /// The values of float32 weights tensor `t`, from `weights` (which must hold the weights section:
    /// a spec built on the host, not one the reader decoded). Read by the quantizer and the pruner.
    public func weightFloats(_ t: Int) -> [Float] {
        let info = tensors[t]
        let n = Shape.count(info.shape) ?? 0
        var v = [Float](repeating: 0, count: n)
        weights.withUnsafeBytes { b in
            for i in 0..<n { v[i] = b.loadUnaligned(fromByteOffset: info.offset + 4 * i, as: Float.self) }
        }
        return v
    }
}
