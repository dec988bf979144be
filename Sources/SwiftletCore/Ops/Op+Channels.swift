/// How an op's output channels relate to its inputs' channels (`Op.channelRule`): what structured
/// pruning needs to know to remove whole channels. A channel is an index along a tensor's channel
/// axis: the last axis for the ops below (NHWC's C, a fully connected layer's features).
public enum ChannelRule: Equatable, Sendable {
    /// Output channel o is computed from every channel of input 0 through weights (input 1: output
    /// channels on axis 0, input channels on its last axis) and a bias (input 2, one per output
    /// channel): Conv2D with one group, FullyConnected. Its input's channels and its output's are
    /// pruned apart: removing output channels removes weight rows; removing input channels removes
    /// weight columns.
    case mixes
    /// Output channel c is channel c of each input that has the output's channel count on its last
    /// axis (an input of one channel is broadcast); per-channel constants follow it (a depthwise
    /// convolution's weights and bias on their axis 0, PReLU slopes, a Mul's or Add's constant).
    /// Element-wise ops, depthwise Conv2D, pooling, Resize, and Pad, Slice, Mean, Softmax, Transpose
    /// and Concat that leave the last axis alone.
    case perChannel
    /// Reshape that only inserts or removes axes of size 1, so channel c stays channel c; its output's
    /// channel axis is its last axis of more than one element (`[1, 1, 1, C]` → `[1, C, 1, 1]`).
    case view
    /// Concat along the last axis: the output's channels are its inputs' in order.
    case concatenates
    /// Output channels cannot be traced to input channels (a Reshape or Transpose that moves the last
    /// axis, Softmax or Mean over it, a Pad or Slice that changes it, a grouped Conv2D): no tensor it
    /// reads or writes may lose channels.
    case opaque
}

extension Op {
    /// How the output's channels relate to the inputs' for inputs of shapes `inputs` and an output of
    /// shape `output` (physical shapes, as the model stores them).
    public func channelRule(inputs: [[Int]], output: [Int]) -> ChannelRule {
        let last = output.count - 1
        guard last >= 0, let x = inputs.first else { return .opaque }
        switch self {
        case .conv2d(let c):
            let channels = x.last ?? 0
            if c.groups == 1 { return .mixes }
            return c.groups == channels && output[last] == channels ? .perChannel : .opaque
        case .fullyConnected:
            return .mixes
        case .binary, .activation, .prelu, .maxPool, .avgPool, .resize, .quantize, .dequantize, .lookup:
            return .perChannel
        case .mean(let axes, _), .reduce(_, let axes, _):
            return axes.contains(x.count - 1) ? .opaque : .perChannel
        case .softmax(let axis, let toEnd):
            return axis == last || toEnd ? .opaque : .perChannel
        case .concat(let axis):
            return axis == last ? .concatenates : .perChannel
        case .pad(let p):
            return p.begins.last == 0 && p.ends.last == 0 ? .perChannel : .opaque
        case .slice(let s):
            return s.starts.last == 0 && s.steps.last == 1 && s.sizes.last == x.last ? .perChannel : .opaque
        case .transpose(let perm):
            return perm.last == last ? .perChannel : .opaque
        case .reshape:
            return x.filter { $0 != 1 } == output.filter { $0 != 1 } ? .view : .opaque
        }
    }
}
