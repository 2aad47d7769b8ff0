import Foundation
import PorterCore

/// Rows of a fairseq-style sinusoidal table: sin of the first half of frequencies, then
/// cos; a zero column when `dim` is odd; the `paddingIdx` row all zeros. Computed in
/// float32 the way fairseq/transformers build the table.
func sinusoidalRow(position: Int64, dim: Int, paddingIdx: Int?, into out: UnsafeMutablePointer<Float>) {
    if let paddingIdx, position == Int64(paddingIdx) {
        out.update(repeating: 0, count: dim)
        return
    }
    let half = dim / 2
    let step = half > 1 ? Float(log(10000.0) / Double(half - 1)) : 0
    let p = Float(position)
    for j in 0..<half {
        let angle = p * expf(Float(j) * -step)
        out[j] = sinf(angle)
        out[half + j] = cosf(angle)
    }
    if dim % 2 == 1 { out[dim - 1] = 0 }
}

let embeddingKernels: KeyValuePairs<String, Kernel> = [
    "gather": { ctx in
        try ctx.requireInputs(2...2)
        if let packed = ctx.packedInput(0) { return [try packedGather(packed, ctx: ctx)] }
        let table = try ctx.input(0)
        let (ishape, indices) = try ctx.ints(1)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: table.rank)
        let (outer, length, inner) = around(table.shape, axis: axis)
        for i in indices where i < 0 || i >= Int64(length) {
            throw RuntimeError.indexOutOfRange(node: ctx.name, index: i, size: length)
        }
        let outShape = Array(table.shape[..<axis]) + ishape + Array(table.shape[(axis + 1)...])
        func take<T>(_ v: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(outer * indices.count * inner)
            for o in 0..<outer {
                for i in indices {
                    let base = (o * length + Int(i)) * inner
                    out.append(contentsOf: v[base..<(base + inner)])
                }
            }
            return out
        }
        switch table.storage {
        case let .float(v): return [HostTensor(shape: outShape, floats: take(v))]
        case let .int64(v): return [HostTensor(shape: outShape, int64s: take(v))]
        }
    },
    "position_ids": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, ids) = try ctx.ints(0)
        guard shape.count >= 1 else { throw ctx.shapeError("input_ids must have a sequence axis", [shape]) }
        let offset = Int64(try ctx.attrs.int("offset"))
        let seq = shape[shape.count - 1]
        var out = [Int64](repeating: 0, count: ids.count)
        if let pad = try ctx.attrs.optionalInt("padding_idx") {
            let padding = Int64(pad)
            for rowStart in stride(from: 0, to: ids.count, by: max(seq, 1)) {
                var running: Int64 = 0
                for j in 0..<seq {
                    let keep: Int64 = ids[rowStart + j] != padding ? 1 : 0
                    running += keep
                    out[rowStart + j] = running * keep + padding + offset
                }
            }
        } else {
            for i in 0..<ids.count { out[i] = offset + Int64(i % max(seq, 1)) }
        }
        return [HostTensor(shape: shape, int64s: out)]
    },
    "sinusoidal_positions": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, positions) = try ctx.ints(0)
        let dim = try ctx.attrs.int("dim")
        guard dim >= 2, dim <= 1 << 20 else { throw ctx.bad("dim", "must be between 2 and 2^20") }
        let style = try ctx.attrs.string("style")
        guard style == "fairseq" else { throw ctx.bad("style", "is '\(style)'; only \"fairseq\" is implemented") }
        let pad = try ctx.attrs.optionalInt("padding_idx")
        var out = [Float](repeating: 0, count: positions.count * dim)
        out.withUnsafeMutableBufferPointer { o in
            for (i, p) in positions.enumerated() {
                sinusoidalRow(position: p, dim: dim, paddingIdx: pad, into: o.baseAddress! + i * dim)
            }
        }
        return [HostTensor(shape: shape + [dim], floats: out)]
    },
    "attention_mask": { ctx in
        try ctx.requireInputs(1...1)
        let mask = try ctx.input(0)
        guard mask.rank == 2 else { throw ctx.shapeError("mask must be [batch, seq]", [mask.shape]) }
        let (batch, seq) = (mask.shape[0], mask.shape[1])
        let keep = mask.doubleValues.map { $0 != 0 }
        let lowest = -Float.greatestFiniteMagnitude
        if try ctx.attrs.bool("causal") {
            var out = [Float](repeating: 0, count: batch * seq * seq)
            for b in 0..<batch {
                for q in 0..<seq {
                    for k in 0..<seq where k > q || !keep[b * seq + k] { out[(b * seq + q) * seq + k] = lowest }
                }
            }
            return [HostTensor(shape: [batch, 1, seq, seq], floats: out)]
        }
        return [HostTensor(shape: [batch, 1, 1, seq], floats: keep.map { $0 ? 0 : lowest })]
    },
    "causal_mask": { ctx in
        try ctx.requireInputs(1...1)
        let x = try ctx.input(0)
        guard x.rank >= 2 else { throw ctx.shapeError("input must be [batch, seq, …]", [x.shape]) }
        let seq = x.shape[1]
        var out = [Float](repeating: 0, count: seq * seq)
        for q in 0..<seq { for k in (q + 1)..<max(seq, q + 1) { out[q * seq + k] = -Float.greatestFiniteMagnitude } }
        return [HostTensor(shape: [1, 1, seq, seq], floats: out)]
    },
]
