import Foundation
import SwiftletCompiler
import SwiftletCore

/// Ops that compute on values: the unary ones (Floor, Ceil, Sqrt, Neg, Abs, Relu), the broadcasting
/// binary ones (Add, Sub, Mul, Div, Equal, Min, Max, Pow), Where and ReduceProd. Integers stay
/// integers, and integer arithmetic that overflows Int64 is refused.
extension Folder {
    static let arithmeticRules = merged([
        rule({ f throws(SwiftletError) in try f.unary() }, for: ["Floor", "Ceil", "Sqrt", "Neg", "Abs", "Relu"]),
        rule({ f throws(SwiftletError) in try f.binary() }, for: ["Add", "Sub", "Mul", "Div", "Equal", "Min", "Max", "Pow"]),
        ["Where": { f throws(SwiftletError) in try f.select() }, "ReduceProd": { f throws(SwiftletError) in try f.reduceProd() }],
    ])

    /// `op` applied to each element: on integers (Neg and Abs of Int64.min refused), or on floats.
    func unary() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        if isIntData(a.data) {
            let i = a.data.asInts
            var r: [Int64] = []
            r.reserveCapacity(i.count)
            for v in i {
                switch op {
                case "Neg", "Abs":
                    if v == Int64.min { throw fail("integer overflow folding \(op) of \(v): its negation does not fit in int64", "") }
                    r.append(op == "Neg" || v < 0 ? -v : v)
                case "Relu": r.append(max(v, 0))
                default: r.append(v)
                }
            }
            return [Result(shape: a.shape, data: .ints(r))]
        }
        let f = a.data.asFloats
        let r: [Float]
        switch op {
        case "Floor": r = f.map { $0.rounded(.down) }
        case "Ceil": r = f.map { $0.rounded(.up) }
        case "Sqrt": r = f.map { $0.squareRoot() }
        case "Neg": r = f.map { -$0 }
        case "Abs": r = f.map { abs($0) }
        default: r = f.map { max($0, 0) }
        }
        return [Result(shape: a.shape, data: .floats(r))]
    }

    /// `op` on the two inputs broadcast together: on integers when both are (overflow and division by zero refused), else on floats.
    func binary() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        let b = try c(1)
        guard let shape = Shape.broadcast(a.shape, b.shape) else { throw fail("shapes \(a.shape) and \(b.shape) do not broadcast", "") }
        _ = try count(shape)
        let ia = broadcastIndices(a.shape, shape), ib = broadcastIndices(b.shape, shape)
        if isIntData(a.data) && isIntData(b.data) {
            let x = a.data.asInts, y = b.data.asInts
            var out: [Int64] = []
            for k in 0..<ia.count {
                let (p, q) = (x[ia[k]], y[ib[k]])
                switch op {
                case "Add": out.append(try checked(p.addingReportingOverflow(q), p, "+", q))
                case "Sub": out.append(try checked(p.subtractingReportingOverflow(q), p, "-", q))
                case "Mul": out.append(try checked(p.multipliedReportingOverflow(by: q), p, "*", q))
                case "Div":
                    if q == 0 { throw fail("integer division by zero while folding \(p) / 0", "") }
                    out.append(try checked(p.dividedReportingOverflow(by: q), p, "/", q))
                case "Equal": out.append(p == q ? 1 : 0)
                case "Min": out.append(min(p, q))
                case "Max": out.append(max(p, q))
                default:
                    guard let r = Int64(exactly: pow(Double(p), Double(q)).rounded(.towardZero)) else {
                        throw fail("integer overflow folding \(p) ^ \(q)", "")
                    }
                    out.append(r)
                }
            }
            return [Result(shape: shape, data: .ints(out))]
        }
        let x = a.data.asFloats, y = b.data.asFloats
        var out: [Float] = []
        for k in 0..<ia.count {
            let (p, q) = (x[ia[k]], y[ib[k]])
            switch op {
            case "Add": out.append(p + q)
            case "Sub": out.append(p - q)
            case "Mul": out.append(p * q)
            case "Div": out.append(p / q)
            case "Equal": out.append(p == q ? 1 : 0)
            case "Min": out.append(min(p, q))
            case "Max": out.append(max(p, q))
            default: out.append(Float(pow(Double(p), Double(q))))
            }
        }
        return [Result(shape: shape, data: op == "Equal" ? .ints(out.map { Int64($0) }) : .floats(out))]
    }

    /// Input 1's element where the condition is nonzero, else input 2's, all three broadcast together.
    func select() throws(SwiftletError) -> [Result] {
        let cond = try c(0), a = try c(1), b = try c(2)
        guard let s1 = Shape.broadcast(cond.shape, a.shape), let shape = Shape.broadcast(s1, b.shape) else {
            throw fail("Where shapes do not broadcast", "")
        }
        _ = try count(shape)
        let ic = broadcastIndices(cond.shape, shape), ia = broadcastIndices(a.shape, shape), ib = broadcastIndices(b.shape, shape)
        let cv = cond.data.asInts
        if isIntData(a.data) && isIntData(b.data) {
            let x = a.data.asInts, y = b.data.asInts
            return [Result(shape: shape, data: .ints((0..<ic.count).map { cv[ic[$0]] != 0 ? x[ia[$0]] : y[ib[$0]] }))]
        }
        let x = a.data.asFloats, y = b.data.asFloats
        return [Result(shape: shape, data: .floats((0..<ic.count).map { cv[ic[$0]] != 0 ? x[ia[$0]] : y[ib[$0]] }))]
    }

    /// The product of a 1-D integer input (overflow refused), of shape [1] with `keepdims`, else a scalar.
    func reduceProd() throws(SwiftletError) -> [Result] {
        let a = try c(0)
        if a.shape.count > 1 || attrs.has("axes") { throw fail("ReduceProd folding supports a 1-D input only", "") }
        let keep = try attrs.int("keepdims", 1) == 1
        var prod: Int64 = 1
        for v in try exactInts(a.data, "the input") {
            prod = try checked(prod.multipliedReportingOverflow(by: v), prod, "*", v)
        }
        return [Result(shape: keep ? [1] : [], data: .ints([prod]))]
    }
}
