import Foundation
import CPorterKernels
import CPorterRuntime
import PorterCore

/// NumPy broadcast of two shapes, or nil when they do not broadcast.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides of `shape` seen through broadcasting to `out` (0 on broadcast axes).
func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
    let own = stridesOf(shape)
    let lead = out.count - shape.count
    return (0..<out.count).map { i in
        i < lead ? 0 : (shape[i - lead] == 1 && out[i] != 1 ? 0 : own[i - lead])
    }
}

/// Applies `f` elementwise with broadcasting; parallel over outer rows when large.
func broadcastBinary<T: Sendable & BitwiseCopyable>(_ a: [T], _ sa: [Int], _ b: [T], _ sb: [Int], out shape: [Int], zero: T, _ f: (T, T) -> T) -> [T] {
    let count = shape.reduce(1, *)
    if count == 0 { return [] }
    var result: [T] = uninitialized(count)
    // Fast paths: same shape; a scalar-like operand.
    if sa == shape && sb == shape {
        result.withUnsafeMutableBufferPointer { r in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    nonisolated(unsafe) let (r, pa, pb) = (r, pa, pb)
                    parallelChunks(count, minimumPerChunk: 1 << 15) { range in
                        for i in range { r[i] = f(pa[i], pb[i]) }
                    }
                }
            }
        }
        return result
    }
    let rank = shape.count
    let inner = rank == 0 ? 1 : shape[rank - 1]
    let outer = count / max(inner, 1)
    let ta = broadcastStrides(sa, to: shape)
    let tb = broadcastStrides(sb, to: shape)
    let ia = rank == 0 ? 0 : ta[rank - 1]
    let ib = rank == 0 ? 0 : tb[rank - 1]
    result.withUnsafeMutableBufferPointer { r in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                nonisolated(unsafe) let (r, pa, pb) = (r, pa, pb)
                parallelChunks(outer, minimumPerChunk: max(1, (1 << 15) / max(inner, 1))) { rows in
                    for row in rows {
                        // Offsets of this row in a and b.
                        var rem = row
                        var oa = 0, ob = 0
                        if rank >= 2 {
                            for axis in stride(from: rank - 2, through: 0, by: -1) {
                                let i = rem % shape[axis]
                                rem /= shape[axis]
                                oa += i * ta[axis]
                                ob += i * tb[axis]
                            }
                        }
                        let base = row * inner
                        for j in 0..<inner { r[base + j] = f(pa[oa + j * ia], pb[ob + j * ib]) }
                    }
                }
            }
        }
    }
    return result
}

/// Applies `f` to every element; parallel when large.
func mapFloats(_ x: [Float], _ f: (Float) -> Float) -> [Float] {
    let n = x.count
    var out: [Float] = uninitialized(n)
    out.withUnsafeMutableBufferPointer { o in
        x.withUnsafeBufferPointer { p in
            nonisolated(unsafe) let (o, p) = (o, p)
            parallelChunks(n, minimumPerChunk: 1 << 14) { range in
                for i in range { o[i] = f(p[i]) }
            }
        }
    }
    return out
}

private func binaryKernel(_ floatOp: @escaping @Sendable (Float, Float) -> Float, _ intOp: (@Sendable (Int64, Int64) -> Int64)?) -> Kernel {
    return { ctx in
        try ctx.requireInputs(2...2)
        let a = try ctx.input(0), b = try ctx.input(1)
        guard let shape = broadcastShapes(a.shape, b.shape) else {
            throw ctx.shapeError("operands do not broadcast", [a.shape, b.shape])
        }
        if let intOp, case let .int64(x) = a.storage, case let .int64(y) = b.storage {
            return [HostTensor(shape: shape, int64s: broadcastBinary(x, a.shape, y, b.shape, out: shape, zero: 0, intOp))]
        }
        return [HostTensor(shape: shape, floats: broadcastBinary(a.floatValues, a.shape, b.floatValues, b.shape, out: shape, zero: 0, floatOp))]
    }
}

private func unaryKernel(_ f: @escaping @Sendable (Float) -> Float) -> Kernel {
    return { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        return [HostTensor(shape: shape, floats: mapFloats(x, f))]
    }
}

@inline(__always) func sigmoidf(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// GELU, tanh form: x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))).
@inline(__always) func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.79788456080286536 * (x + 0.044715 * x * x * x)))
}

let elementwiseKernels: KeyValuePairs<String, Kernel> = [
    "add": binaryKernel({ $0 + $1 }, { $0 &+ $1 }),
    "sub": binaryKernel({ $0 - $1 }, { $0 &- $1 }),
    "mul": binaryKernel({ $0 * $1 }, { $0 &* $1 }),
    "div": binaryKernel({ $0 / $1 }, nil),
    "neg": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        if case let .int64(v) = t.storage { return [HostTensor(shape: t.shape, int64s: v.map { 0 &- $0 })] }
        return [HostTensor(shape: t.shape, floats: mapFloats(t.floatValues) { -$0 })]
    },
    "exp": unaryKernel { expf($0) },
    "sqrt": unaryKernel { sqrtf($0) },
    "rsqrt": unaryKernel { 1 / sqrtf($0) },
    "erf": unaryKernel { erff($0) },
    "tanh": unaryKernel { tanhf($0) },
    "sigmoid": unaryKernel { sigmoidf($0) },
    "relu": unaryKernel { max($0, 0) },
    "relu6": unaryKernel { min(max($0, 0), 6) },
    "silu": unaryKernel { $0 * sigmoidf($0) },
    "gelu": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        switch try ctx.attrs.string("approximate") {
        case "none":
            // The same kernel as the fused linear+gelu, so fused and node-by-node runs agree.
            var out = x
            out.withUnsafeMutableBufferPointer { o in
                nonisolated(unsafe) let o = o
                parallelChunks(o.count, minimumPerChunk: 1 << 14) { porter_gelu_erf(o.baseAddress! + $0.lowerBound, $0.count) }
            }
            return [HostTensor(shape: shape, floats: out)]
        case "tanh":
            // Vectorised (CPorterRuntime), the same kernel as the fused linear+gelu.
            var out = x
            out.withUnsafeMutableBufferPointer { o in
                nonisolated(unsafe) let o = o
                parallelChunks(o.count, minimumPerChunk: 1 << 14) { porter_gelu_tanh(o.baseAddress! + $0.lowerBound, $0.count) }
            }
            return [HostTensor(shape: shape, floats: out)]
        case let other: throw ctx.bad("approximate", "is '\(other)'; expected \"none\" or \"tanh\"")
        }
    },
    "identity": { ctx in
        try ctx.requireInputs(1...1)
        return [try ctx.input(0)]
    },
    "scale": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let factor = Float(try ctx.attrs.number("factor"))
        return [HostTensor(shape: shape, floats: mapFloats(x) { $0 * factor })]
    },
    "cast": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        switch try ctx.attrs.string("dtype") {
        case "f32": return [HostTensor(shape: t.shape, floats: t.floatValues)]
        case "i64":
            if case .int64 = t.storage { return [t] }
            return [HostTensor(shape: t.shape, int64s: t.floatValues.map(truncatedInt64))]
        case let other: throw ctx.bad("dtype", "is '\(other)'; expected \"f32\" or \"i64\"")
        }
    },
    "not_equal": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let value = try ctx.attrs.number("value")
        return [HostTensor(shape: t.shape, int64s: t.doubleValues.map { $0 != value ? 1 : 0 })]
    },
]

/// Float → int64 toward zero; NaN becomes 0 and out-of-range values clamp (never traps).
func truncatedInt64(_ x: Float) -> Int64 {
    if x.isNaN { return 0 }
    if x >= 9.2233715e18 { return .max }
    if x <= -9.2233715e18 { return .min }
    return Int64(x.rounded(.towardZero))
}
