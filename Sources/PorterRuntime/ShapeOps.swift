import Foundation
import PorterCore
import PorterOps

/// Permutes axes: output axis i is input axis `perm[i]`.
func permute<T: Sendable & BitwiseCopyable>(_ x: [T], shape: [Int], perm: [Int], zero: T) -> [T] {
    let rank = shape.count
    let count = x.count
    if count == 0 || rank <= 1 || perm == Array(0..<rank) { return x }
    let inStrides = stridesOf(shape)
    let outShape = perm.map { shape[$0] }
    let srcStrides = perm.map { inStrides[$0] }  // input stride of each output axis
    let inner = outShape[rank - 1]
    let innerStride = srcStrides[rank - 1]
    let outer = count / inner
    var out: [T] = uninitialized(count)
    out.withUnsafeMutableBufferPointer { o in
        x.withUnsafeBufferPointer { p in
            nonisolated(unsafe) let (o, p) = (o, p)
            parallelChunks(outer, minimumPerChunk: max(1, (1 << 15) / inner)) { rows in
                for row in rows {
                    var rem = row
                    var src = 0
                    for axis in stride(from: rank - 2, through: 0, by: -1) {
                        let i = rem % outShape[axis]
                        rem /= outShape[axis]
                        src += i * srcStrides[axis]
                    }
                    let base = row * inner
                    if innerStride == 1 {
                        for j in 0..<inner { o[base + j] = p[src + j] }
                    } else {
                        for j in 0..<inner { o[base + j] = p[src + j * innerStride] }
                    }
                }
            }
        }
    }
    return out
}

/// Elements `start, start+step, …` (< end) of `axis`, for a tensor viewed as [outer, len, inner].
/// `count` entries from `start` by `step` along the middle axis of `x` viewed as
/// [outer, length, inner], copied as contiguous runs (one run of count·inner per outer
/// index when step is 1, else one of inner per entry), split across cores when large.
func sliceAxis<T: BitwiseCopyable>(_ x: [T], outer: Int, length: Int, inner: Int, start: Int, count: Int, step: Int) -> [T] {
    let total = outer * count * inner
    if total == 0 { return [] }
    return [T](unsafeUninitializedCapacity: total) { out, initialized in
        x.withUnsafeBufferPointer { src in
            nonisolated(unsafe) let (src, dst) = (src.baseAddress!, out.baseAddress!)
            let run = step == 1 ? count * inner : inner
            let runsPerOuter = step == 1 ? 1 : count
            parallelChunks(outer * runsPerOuter, minimumPerChunk: max(1, (1 << 16) / max(run, 1))) { runs in
                for r in runs {
                    let (o, k) = (r / runsPerOuter, r % runsPerOuter)
                    (dst + r * run).initialize(from: src + (o * length + start + k * step) * inner, count: run)
                }
            }
        }
        initialized = total
    }
}

func concatAxis<T>(_ parts: [[T]], lengths: [Int], outer: Int, inner: Int) -> [T] {
    var out: [T] = []
    out.reserveCapacity(lengths.reduce(0, +) * outer * inner)
    for o in 0..<outer {
        for (p, part) in parts.enumerated() {
            let block = lengths[p] * inner
            out.append(contentsOf: part[(o * block)..<((o + 1) * block)])
        }
    }
    return out
}

func padConstant<T>(_ x: [T], shape: [Int], pads: [(Int, Int)], value: T) -> (shape: [Int], values: [T]) {
    let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
    let total = outShape.reduce(1, *)
    var out = [T](repeating: value, count: total)
    let rank = shape.count
    if x.isEmpty || total == 0 { return (outShape, out) }
    if rank == 0 { return (outShape, x) }
    let outStrides = stridesOf(outShape)
    let inner = shape[rank - 1]
    let rows = x.count / inner
    for row in 0..<rows {
        var rem = row
        var dst = pads[rank - 1].0
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            let i = rem % shape[axis]
            rem /= shape[axis]
            dst += (i + pads[axis].0) * outStrides[axis]
        }
        for j in 0..<inner { out[dst + j] = x[row * inner + j] }
    }
    return (outShape, out)
}

/// `pad` in mode reflect (the mirror image without the edge element: numpy's and ONNX's
/// `reflect`; each pad shorter than its axis) or edge (the edge element repeated): every output
/// element gathered from its source index per axis.
func padGather<T>(_ x: [T], shape: [Int], pads: [(Int, Int)], reflect: Bool) -> (shape: [Int], values: [T]) {
    let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
    if outShape.reduce(1, *) == 0 || x.isEmpty { return (outShape, []) }
    let sources = offsets(outShape, shape) { a, k in
        let n = shape[a]
        var i = k - pads[a].0
        if !reflect { return min(max(i, 0), n - 1) }
        if n == 1 { return 0 }
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
        return i
    }
    return (outShape, sources.map { x[$0] })
}

private func withStorage(_ t: HostTensor, float: ([Float]) throws -> HostTensor.Storage, int: ([Int64]) throws -> HostTensor.Storage) rethrows -> HostTensor.Storage {
    switch t.storage {
    case let .float(v): return try float(v)
    case let .int64(v): return try int(v)
    }
}

/// Resolves a reshape target: `0` copies the input dimension, one `-1` is inferred.
func resolveReshape(_ target: [Int], from shape: [Int]) -> [Int]? {
    var dims = target
    var inferred: Int? = nil
    for (i, d) in dims.enumerated() {
        if d == 0 {
            guard i < shape.count else { return nil }
            dims[i] = shape[i]
        } else if d == -1 {
            if inferred != nil { return nil }
            inferred = i
        } else if d < -1 { return nil }
    }
    let count = shape.reduce(1, *)
    if let i = inferred {
        let known = dims.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
        guard known > 0, count % known == 0 else { return nil }
        dims[i] = count / known
    }
    return dims.reduce(1, *) == count ? dims : nil
}

let shapeKernels: KeyValuePairs<String, Kernel> = [
    "reshape": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let target = try ctx.attrs.ints("shape")
        guard let dims = resolveReshape(target, from: t.shape) else {
            throw ctx.shapeError("cannot reshape to \(target)", [t.shape])
        }
        return [HostTensor(shape: dims, storage: t.storage)]
    },
    "transpose": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let perm = try ctx.attrs.optionalInts("perm") ?? Array((0..<t.rank).reversed())
        let normalized = try perm.map { try ctx.axis($0, rank: t.rank, key: "perm") }
        guard normalized.count == t.rank, Set(normalized).count == t.rank else {
            throw ctx.shapeError("perm \(perm) is not a permutation of the axes", [t.shape])
        }
        let storage = withStorage(t, float: { .float(permute($0, shape: t.shape, perm: normalized, zero: 0)) },
                                  int: { .int64(permute($0, shape: t.shape, perm: normalized, zero: 0)) })
        return [HostTensor(shape: normalized.map { t.shape[$0] }, storage: storage)]
    },
    "slice": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: t.rank)
        let length = t.shape[axis]
        let step = try ctx.attrs.int("step")
        guard step != 0, abs(step) <= 1 << 31 else { throw ctx.bad("step", "must be non-zero, at most 2^31 either way") }
        let (start, count) = sliceBounds(length: length, start: try ctx.attrs.int("start"), end: try ctx.attrs.int("end"), step: step)
        let outer = t.shape[..<axis].reduce(1, *)
        let inner = t.shape[(axis + 1)...].reduce(1, *)
        var shape = t.shape
        shape[axis] = count
        let storage = withStorage(t, float: { .float(sliceAxis($0, outer: outer, length: length, inner: inner, start: start, count: count, step: step)) },
                                  int: { .int64(sliceAxis($0, outer: outer, length: length, inner: inner, start: start, count: count, step: step)) })
        return [HostTensor(shape: shape, storage: storage)]
    },
    "concat": { ctx in
        guard !ctx.inputs.isEmpty else { throw RuntimeError.wrongInputCount(node: ctx.name, op: "concat", expected: "at least 1", got: 0) }
        let parts = try (0..<ctx.inputs.count).map { try ctx.input($0) }
        let first = parts[0]
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: first.rank)
        for p in parts where p.rank != first.rank || (0..<p.rank).contains(where: { $0 != axis && p.shape[$0] != first.shape[$0] }) {
            throw ctx.shapeError("inputs differ off the concat axis", parts.map(\.shape))
        }
        let lengths = parts.map { $0.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        var shape = first.shape
        shape[axis] = lengths.reduce(0, +)
        if parts.allSatisfy({ $0.int64s != nil }) {
            return [HostTensor(shape: shape, int64s: concatAxis(parts.map { $0.int64s! }, lengths: lengths, outer: outer, inner: inner))]
        }
        return [HostTensor(shape: shape, floats: concatAxis(parts.map(\.floatValues), lengths: lengths, outer: outer, inner: inner))]
    },
    "split": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: t.rank)
        let sizes = try ctx.attrs.ints("sizes")
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == t.shape[axis] else {
            throw ctx.shapeError("sizes \(sizes) do not sum to axis \(axis)'s length", [t.shape])
        }
        let outer = t.shape[..<axis].reduce(1, *)
        let inner = t.shape[(axis + 1)...].reduce(1, *)
        var start = 0
        var results: [HostTensor] = []
        for size in sizes {
            var shape = t.shape
            shape[axis] = size
            let s = start
            let storage = withStorage(t, float: { .float(sliceAxis($0, outer: outer, length: t.shape[axis], inner: inner, start: s, count: size, step: 1)) },
                                      int: { .int64(sliceAxis($0, outer: outer, length: t.shape[axis], inner: inner, start: s, count: size, step: 1)) })
            results.append(HostTensor(shape: shape, storage: storage))
            start += size
        }
        return results
    },
    "flatten": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let raw = try ctx.attrs.int("axis")
        let axis = raw < 0 ? raw + t.rank : raw
        guard axis >= 0, axis <= t.rank else { throw ctx.bad("axis", "\(raw) is out of range for rank \(t.rank)") }
        return [HostTensor(shape: [t.shape[..<axis].reduce(1, *), t.shape[axis...].reduce(1, *)], storage: t.storage)]
    },
    "squeeze": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let axes: Set<Int>
        if let list = try ctx.attrs.optionalInts("axes") {
            axes = Set(try list.map { try ctx.axis($0, rank: t.rank, key: "axes") })
            for a in axes where t.shape[a] != 1 { throw ctx.shapeError("axis \(a) has size \(t.shape[a]), not 1", [t.shape]) }
        } else {
            axes = Set(t.shape.indices.filter { t.shape[$0] == 1 })
        }
        return [HostTensor(shape: t.shape.indices.filter { !axes.contains($0) }.map { t.shape[$0] }, storage: t.storage)]
    },
    "unsqueeze": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let list = try ctx.attrs.ints("axes")
        let rank = t.rank + list.count
        let axes = Set(try list.map { try ctx.axis($0, rank: rank, key: "axes") })
        guard axes.count == list.count else { throw ctx.bad("axes", "repeats an axis") }
        return [HostTensor(shape: ShapeRules.unsqueezed(t.shape, at: axes), storage: t.storage)]
    },
    "pad": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let flat = try ctx.attrs.ints("pads")
        guard flat.count == 2 * t.rank, flat.allSatisfy({ $0 >= 0 }) else {
            throw ctx.bad("pads", "needs two non-negative numbers per axis (\(2 * t.rank)), has \(flat)")
        }
        let pads = (0..<t.rank).map { (flat[2 * $0], flat[2 * $0 + 1]) }
        var total = 1
        for (d, p) in zip(t.shape, pads) {
            let (sum, o1) = d.addingReportingOverflow(p.0 + p.1)
            let (product, o2) = total.multipliedReportingOverflow(by: sum)
            guard !o1, !o2, product <= 1 << 34 else { throw ctx.bad("pads", "make a tensor too large to allocate") }
            total = product
        }
        let mode = try ctx.attrs.string("mode")
        if mode != "constant" {
            let reflect = mode == "reflect"
            for (d, p) in zip(t.shape, pads) where p.0 > 0 || p.1 > 0 {
                guard d > 0, !reflect || (p.0 < d && p.1 < d) else {
                    throw ctx.shapeError("\(mode) pads \(flat) need \(reflect ? "each pad shorter than its axis" : "non-empty axes")", [t.shape])
                }
            }
            let storage = withStorage(t, float: { .float(padGather($0, shape: t.shape, pads: pads, reflect: reflect).values) },
                                      int: { .int64(padGather($0, shape: t.shape, pads: pads, reflect: reflect).values) })
            return [HostTensor(shape: zip(t.shape, pads).map { $0 + $1.0 + $1.1 }, storage: storage)]
        }
        let value = try ctx.attrs.number("value")
        switch t.storage {
        case let .float(v):
            let r = padConstant(v, shape: t.shape, pads: pads, value: Float(value))
            return [HostTensor(shape: r.shape, floats: r.values)]
        case let .int64(v):
            let r = padConstant(v, shape: t.shape, pads: pads, value: Int64(value))
            return [HostTensor(shape: r.shape, int64s: r.values)]
        }
    },
]
