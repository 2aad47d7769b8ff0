import Foundation
import PorterCore

// Kernels of the comparison, logic and selection ops (PorterOps/ONNXOps.swift). Truth
// values are int64 0 / 1; any non-zero number counts as true.

/// Offsets into each of `shapes` (broadcast to `out`) for every element of `out`, row-major.
private func broadcastOffsets(_ shapes: [[Int]], to out: [Int]) -> [[Int]] {
    let count = out.reduce(1, *)
    let strides = shapes.map { broadcastStrides($0, to: out) }
    var offsets = shapes.map { _ in [Int](repeating: 0, count: count) }
    var index = [Int](repeating: 0, count: out.count)
    for i in 0..<count {
        for k in shapes.indices {
            var o = 0
            for a in 0..<out.count { o += index[a] * strides[k][a] }
            offsets[k][i] = o
        }
        var a = out.count - 1
        while a >= 0 {
            index[a] += 1
            if index[a] < out[a] { break }
            index[a] = 0
            a -= 1
        }
    }
    return offsets
}

private func comparisonKernel(_ ints: @escaping @Sendable (Int64, Int64) -> Bool, _ floats: @escaping @Sendable (Float, Float) -> Bool) -> Kernel {
    return { ctx in
        try ctx.requireInputs(2...2)
        let a = try ctx.input(0), b = try ctx.input(1)
        guard let shape = broadcastShapes(a.shape, b.shape) else { throw ctx.shapeError("operands do not broadcast", [a.shape, b.shape]) }
        if case let .int64(x) = a.storage, case let .int64(y) = b.storage {
            return [HostTensor(shape: shape, int64s: broadcastBinary(x, a.shape, y, b.shape, out: shape, zero: 0) { ints($0, $1) ? 1 : 0 })]
        }
        let r = broadcastBinary(a.floatValues, a.shape, b.floatValues, b.shape, out: shape, zero: 0) { floats($0, $1) ? Float(1) : 0 }
        return [HostTensor(shape: shape, int64s: r.map { Int64($0) })]
    }
}

private func logicKernel(_ f: @escaping @Sendable (Bool, Bool) -> Bool) -> Kernel {
    return { ctx in
        try ctx.requireInputs(2...2)
        let a = try ctx.input(0), b = try ctx.input(1)
        guard let shape = broadcastShapes(a.shape, b.shape) else { throw ctx.shapeError("operands do not broadcast", [a.shape, b.shape]) }
        let x = a.doubleValues.map { $0 != 0 ? Int64(1) : 0 }, y = b.doubleValues.map { $0 != 0 ? Int64(1) : 0 }
        return [HostTensor(shape: shape, int64s: broadcastBinary(x, a.shape, y, b.shape, out: shape, zero: 0) { f($0 != 0, $1 != 0) ? 1 : 0 })]
    }
}

let onnxKernels: KeyValuePairs<String, Kernel> = [
    "equal": comparisonKernel({ $0 == $1 }, { $0 == $1 }),
    "less": comparisonKernel({ $0 < $1 }, { $0 < $1 }),
    "greater": comparisonKernel({ $0 > $1 }, { $0 > $1 }),
    "less_equal": comparisonKernel({ $0 <= $1 }, { $0 <= $1 }),
    "greater_equal": comparisonKernel({ $0 >= $1 }, { $0 >= $1 }),
    "logical_and": logicKernel { $0 && $1 },
    "logical_or": logicKernel { $0 || $1 },
    "logical_xor": logicKernel { $0 != $1 },
    "logical_not": { ctx in
        try ctx.requireInputs(1...1)
        let x = try ctx.input(0)
        return [HostTensor(shape: x.shape, int64s: x.doubleValues.map { $0 == 0 ? 1 : 0 })]
    },
    "where": { ctx in
        try ctx.requireInputs(3...3)
        let c = try ctx.input(0), a = try ctx.input(1), b = try ctx.input(2)
        guard let ab = broadcastShapes(a.shape, b.shape), let shape = broadcastShapes(c.shape, ab) else {
            throw ctx.shapeError("condition and operands do not broadcast", [c.shape, a.shape, b.shape])
        }
        let off = broadcastOffsets([c.shape, a.shape, b.shape], to: shape)
        let cond = c.doubleValues
        if case let .int64(x) = a.storage, case let .int64(y) = b.storage {
            return [HostTensor(shape: shape, int64s: off[0].indices.map { cond[off[0][$0]] != 0 ? x[off[1][$0]] : y[off[2][$0]] })]
        }
        let x = a.floatValues, y = b.floatValues
        return [HostTensor(shape: shape, floats: off[0].indices.map { cond[off[0][$0]] != 0 ? x[off[1][$0]] : y[off[2][$0]] })]
    },
    "cumsum": { ctx in
        try ctx.requireInputs(1...1)
        let x = try ctx.input(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: x.shape.count)
        let exclusive = try ctx.attrs.bool("exclusive"), reverse = try ctx.attrs.bool("reverse")
        let n = x.shape.isEmpty ? 1 : x.shape[axis]
        let inner = x.shape.isEmpty ? 1 : x.shape[(axis + 1)...].reduce(1, *)
        let outer = x.shape.isEmpty ? 1 : x.shape[..<axis].reduce(1, *)
        func scan<T: AdditiveArithmetic>(_ v: [T]) -> [T] {
            var out = v
            for o in 0..<outer {
                for i in 0..<inner {
                    var acc = T.zero
                    for s in 0..<n {
                        let k = o * n * inner + (reverse ? n - 1 - s : s) * inner + i
                        if exclusive { out[k] = acc; acc += v[k] } else { acc += v[k]; out[k] = acc }
                    }
                }
            }
            return out
        }
        switch x.storage {
        case let .int64(v): return [HostTensor(shape: x.shape, int64s: scan(v))]
        case let .float(v): return [HostTensor(shape: x.shape, floats: scan(v))]
        }
    },
    "fill": { ctx in
        try ctx.requireInputs(1...1)
        let like = try ctx.input(0).shape
        var shape = like
        if let dims = try ctx.attrs.optionalInts("dims") {
            shape = try dims.map { d in
                if d >= 0 { return d }
                guard d >= -like.count else { throw ctx.bad("dims", "\(d) copies dim \(-1 - d) of a rank-\(like.count) value") }
                return like[-1 - d]
            }
        }
        // Checked: the dims come from the graph, which may come from a file.
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= 1 << 31 else { throw ctx.shapeError("fill of \(shape) is too large", [shape]) }
            count = p
        }
        let value = try ctx.attrs.number("value")
        if try ctx.attrs.string("dtype") == "i64" {
            guard value.isFinite, abs(value) < 0x1p62 else { throw ctx.bad("value", "\(value) is not an int64") }
            return [HostTensor(shape: shape, int64s: [Int64](repeating: Int64(value), count: count))]
        }
        return [HostTensor(shape: shape, floats: [Float](repeating: Float(value), count: count))]
    },
    "trilu": { ctx in
        try ctx.requireInputs(1...1)
        let x = try ctx.input(0)
        let r = x.shape.count
        guard r >= 2 else { throw ctx.shapeError("trilu needs rank 2 or more", [x.shape]) }
        let upper = try ctx.attrs.bool("upper"), k = try ctx.attrs.int("k")
        let (rows, cols) = (x.shape[r - 2], x.shape[r - 1])
        // Element (i, j) is kept when j − i ≥ k (upper) or j − i ≤ k (lower).
        func keep(_ flat: Int) -> Bool {
            let j = flat % cols, i = (flat / cols) % max(rows, 1)
            return upper ? j - i >= k : j - i <= k
        }
        switch x.storage {
        case let .int64(v): return [HostTensor(shape: x.shape, int64s: v.indices.map { keep($0) ? v[$0] : 0 })]
        case let .float(v): return [HostTensor(shape: x.shape, floats: v.indices.map { keep($0) ? v[$0] : 0 })]
        }
    },
    "reciprocal": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        return [HostTensor(shape: shape, floats: mapFloats(x) { 1 / $0 })]
    },
]
