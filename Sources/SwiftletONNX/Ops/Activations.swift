import SwiftletCompiler
import SwiftletCore

/// Element-wise activations: Relu, Sigmoid, Tanh, HardSwish, LeakyRelu and HardSigmoid (with their
/// `alpha`/`beta` attributes), the float-only functions Abs, Neg, Sqrt, Exp, Log, Erf, Reciprocal,
/// Floor, Ceil, Softplus, Mish, Gelu (exact or tanh), Elu and Selu, Sin, Cos, Tan, Asin, Acos, Atan,
/// Sinh, Cosh, Asinh, Acosh, Atanh, Sign, Round, Softsign, ThresholdedRelu, Celu and Shrink (#19), Clip (bounds as attributes before opset 11, else constant scalar
/// inputs; Clip(0, ∞) becomes Relu; min > max gives max everywhere, as ONNX defines it) and PRelu with a slope that broadcasts to the input.
extension NodeContext {
    static let activationRules: [String: ImportRule] = [
        "Relu": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.relu))) },
        "Sigmoid": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.sigmoid))) },
        "Tanh": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.tanh))) },
        "HardSwish": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.hardSwish))) },
        "LeakyRelu": { c throws(SwiftletError) in
            try c.produceSameShape(.activation(Activation(.leakyRelu, try c.attrs.float("alpha", 0.01))))
        },
        "HardSigmoid": { c throws(SwiftletError) in
            try c.produceSameShape(.activation(Activation(.hardSigmoid, try c.attrs.float("alpha", 0.2), try c.attrs.float("beta", 0.5))))
        },
        "Clip": { c throws(SwiftletError) in try c.clip() },
        "Abs": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.abs))) },
        "Neg": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.neg))) },
        "Sqrt": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.sqrt))) },
        "Exp": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.exp))) },
        "Log": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.log))) },
        "Erf": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.erf))) },
        "Reciprocal": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.reciprocal))) },
        "Floor": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.floor))) },
        "Ceil": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.ceil))) },
        "Softplus": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.softplus))) },
        "Mish": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.mish))) },
        "Gelu": { c throws(SwiftletError) in
            let approximate = try c.attrs.string("approximate", "none")
            guard approximate == "none" || approximate == "tanh" else { throw c.unsupported("Gelu's approximate must be 'none' or 'tanh', not '\(approximate)'") }
            try c.produceSameShape(.activation(Activation(.gelu, approximate == "tanh" ? 1 : 0)))
        },
        "Elu": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.elu, try c.attrs.float("alpha", 1)))) },
        "Selu": { c throws(SwiftletError) in
            try c.produceSameShape(.activation(Activation(.selu, try c.attrs.float("alpha", 1.67326319217681884765625),
                                                          try c.attrs.float("gamma", 1.05070102214813232421875))))
        },
        "Sin": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.sin))) },
        "Cos": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.cos))) },
        "Tan": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.tan))) },
        "Asin": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.asin))) },
        "Acos": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.acos))) },
        "Atan": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.atan))) },
        "Sinh": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.sinh))) },
        "Cosh": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.cosh))) },
        "Asinh": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.asinh))) },
        "Acosh": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.acosh))) },
        "Atanh": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.atanh))) },
        "Sign": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.sign))) },
        "Round": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.round))) },
        "Softsign": { c throws(SwiftletError) in try c.produceSameShape(.activation(Activation(.softsign))) },
        "ThresholdedRelu": { c throws(SwiftletError) in
            try c.produceSameShape(.activation(Activation(.thresholdedRelu, try c.attrs.float("alpha", 1))))
        },
        "Celu": { c throws(SwiftletError) in
            let alpha = try c.attrs.float("alpha", 1)
            guard alpha != 0 else { throw c.fail("alpha is 0; Celu divides by it") }
            try c.produceSameShape(.activation(Activation(.celu, alpha)))
        },
        "Shrink": { c throws(SwiftletError) in
            try c.produceSameShape(.activation(Activation(.shrink, try c.attrs.float("lambd", 0.5), try c.attrs.float("bias", 0))))
        },
        "PRelu": { c throws(SwiftletError) in try c.prelu() },
    ]

    mutating func clip() throws(SwiftletError) {
        var lo = -Float.greatestFiniteMagnitude
        var hi = Float.greatestFiniteMagnitude
        if opset < 11 {
            lo = try attrs.float("min", lo)
            hi = try attrs.float("max", hi)
        } else {
            for (k, dst) in [(1, 0), (2, 1)] where has(k) {
                guard let c = constFloats(k), c.count == 1 else { throw unsupported("Clip's min/max must be constant scalars") }
                if dst == 0 { lo = c[0] } else { hi = c[0] }
            }
        }
        // ONNX Clip is min(max(x, min), max): max everywhere when min > max.
        if lo > hi { lo = hi }
        if lo == 0 && hi == .greatestFiniteMagnitude {
            try produceSameShape(.activation(Activation(.relu)))
        } else {
            try produceSameShape(.activation(Activation(.clip, lo, hi)))
        }
    }

    mutating func prelu() throws(SwiftletError) {
        let x = try shape(0)
        let sl = try shape(1)
        guard let out = Shape.broadcast(x, sl), out == x else { throw fail("slope \(sl) does not broadcast to \(x)") }
        try produce(.prelu, x, inputs: [try input(0), try input(1)])
    }
}

/// Softmax over one axis: from opset 13 the axis alone (default -1); before, ONNX's flattened form
/// over `axis` and every axis after it (default 1). LogSoftmax over the same axes, composed without
/// overflow: d = x − ReduceMax(x), y = d − Log(ReduceSum(Exp(d))) (float32; no new kernel).
extension NodeContext {
    static let softmaxRules: [String: ImportRule] = [
        "Softmax": { c throws(SwiftletError) in try c.softmax() },
        "LogSoftmax": { c throws(SwiftletError) in try c.logSoftmax() },
    ]

    mutating func logSoftmax() throws(SwiftletError) {
        let x = try shape(0)
        let axis = try normAxis(try attrs.int("axis", opset >= 13 ? -1 : 1), x.count, fail)
        let axes = opset >= 13 ? [axis] : Array(axis..<x.count)
        let reduced = try Op.mean(axes: axes, keepDims: true).outputShape([x], where: location)
        let m = try intermediate(.reduce(.reduceMax, axes: axes, keepDims: true), reduced, inputs: [try input(0)], "max")
        let d = try intermediate(.binary(.sub, .none), x, inputs: [try input(0), m], "shifted")
        let e = try intermediate(.activation(Activation(.exp)), x, inputs: [d], "exp")
        let mean = try intermediate(.mean(axes: axes, keepDims: true), reduced, inputs: [e], "mean")
        let count = g.constant("\(name)/count", [], [Float(axes.reduce(1) { $0 * x[$1] })])
        let sum = try intermediate(.binary(.mul, .none), reduced, inputs: [mean, count], "sum")
        let lse = try intermediate(.activation(Activation(.log)), reduced, inputs: [sum], "log")
        try produce(.binary(.sub, .none), x, inputs: [d, lse])
    }

    mutating func softmax() throws(SwiftletError) {
        let x = try shape(0)
        let axis = try normAxis(try attrs.int("axis", opset >= 13 ? -1 : 1), x.count, fail)
        try produce(.softmax(axis: axis, toEnd: opset < 13 && axis != x.count - 1), x, inputs: [try input(0)])
    }
}
