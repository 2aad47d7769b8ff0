import Foundation
import CPorterRuntime
import PorterCore
import PorterOps

/// The nodes of one multi-head attention as `GraphBuilding.attention` lays them out:
/// q/k/v each `reshape [0, 0, H, D]` → `transpose [0, 2, 1, 3]`, `matmul(q, k, transpose_b)`,
/// optional `scale`, optional `add` (mask), `softmax(axis -1)`, `matmul(probs, v)`,
/// `transpose [0, 2, 1, 3]`, `reshape [0, 0, H·D]`.
struct AttentionPattern: Equatable {
    var first: Int
    var query: String, key: String, value: String
    var heads: Int, headDim: Int
    var scale: Int?
    /// The `add` node and which of its inputs is the mask.
    var add: Int?, mask: String?
    var merged: Int
    var nodeIndices: [Int] { Array(first...merged) }

    /// The pattern starting at node `i`, when every value inside it has exactly one reader.
    static func match(at i: Int, nodes: [GraphNode], attributes: [OpAttributes], soleOutput: (Int) -> String?) -> AttentionPattern? {
        func node(_ j: Int, _ op: String, reading inputs: [String]) -> Bool {
            j < nodes.count && nodes[j].op == op && nodes[j].inputs == inputs && nodes[j].outputs.count == 1
        }
        func heads(_ r: Int) -> (input: String, heads: Int, dim: Int, out: String)? {
            guard r + 1 < nodes.count, nodes[r].op == "reshape", nodes[r].inputs.count == 1, let split = soleOutput(r),
                  let shape = try? attributes[r].ints("shape"), shape.count == 4, shape[0] == 0, shape[1] == 0,
                  shape[2] > 0, shape[3] > 0, node(r + 1, "transpose", reading: [split]),
                  (try? attributes[r + 1].optionalInts("perm")) == [0, 2, 1, 3], let out = soleOutput(r + 1) else { return nil }
            return (nodes[r].inputs[0], shape[2], shape[3], out)
        }
        guard let q = heads(i), let k = heads(i + 2), let v = heads(i + 4),
              k.heads == q.heads, v.heads == q.heads, k.dim == q.dim, v.dim == q.dim else { return nil }
        var j = i + 6
        guard node(j, "matmul", reading: [q.out, k.out]), (try? attributes[j].bool("transpose_b")) == true,
              (try? attributes[j].bool("transpose_a")) == false, var value = soleOutput(j) else { return nil }
        var scale: Int? = nil, add: Int? = nil, mask: String? = nil
        if node(j + 1, "scale", reading: [value]), let o = soleOutput(j + 1) { j += 1; scale = j; value = o }
        if j + 1 < nodes.count, nodes[j + 1].op == "add", nodes[j + 1].inputs.count == 2, nodes[j + 1].outputs.count == 1,
           nodes[j + 1].inputs.contains(value), nodes[j + 1].inputs[0] != nodes[j + 1].inputs[1], let o = soleOutput(j + 1) {
            j += 1; add = j; mask = nodes[j].inputs[0] == value ? nodes[j].inputs[1] : nodes[j].inputs[0]; value = o
        }
        guard node(j + 1, "softmax", reading: [value]), (try? attributes[j + 1].int("axis")) == -1, let probs = soleOutput(j + 1),
              node(j + 2, "matmul", reading: [probs, v.out]), (try? attributes[j + 2].bool("transpose_a")) == false,
              (try? attributes[j + 2].bool("transpose_b")) == false, let context = soleOutput(j + 2),
              node(j + 3, "transpose", reading: [context]), (try? attributes[j + 3].optionalInts("perm")) == [0, 2, 1, 3],
              let merged = soleOutput(j + 3), node(j + 4, "reshape", reading: [merged]),
              (try? attributes[j + 4].ints("shape")) == [0, 0, q.heads * q.dim] else { return nil }
        return AttentionPattern(first: i, query: q.input, key: k.input, value: v.input, heads: q.heads, headDim: q.dim,
                                scale: scale, add: add, mask: mask, merged: j + 4)
    }
}

/// Multi-head attention without per-head copies: for each (batch, head), scores = α·Q·Kᵀ
/// (Q, K, V read in place from `[B, S, H·D]` / `[B, T, H·D]` with leading dimension H·D),
/// `+ mask` (broadcast to `[B, H, S, T]`) and softmax per row in one pass over a scratch
/// block of S×T, then context = P·V written straight into its `[B, S, H·D]` place. Heads run
/// in parallel, each GEMM on one thread. Nil when the shapes do not fit (the caller runs the
/// nodes one by one).
func fusedAttention(q: HostTensor, k: HostTensor, v: HostTensor, heads: Int, headDim: Int, alpha: Float,
                    mask: HostTensor?) -> HostTensor? {
    let width = heads * headDim
    guard let qf = q.floats, let kf = k.floats, let vf = v.floats, q.rank == 3, k.rank == 3, k.shape == v.shape,
          q.shape[2] == width, k.shape[2] == width, q.shape[0] == k.shape[0] else { return nil }
    let (batch, s, t) = (q.shape[0], q.shape[1], k.shape[1])
    let full = [batch, heads, s, t]
    var maskStrides = [0, 0, 0, 0]
    var maskValues: [Float] = []
    if let mask {
        guard let m = mask.floats, mask.rank <= 4, broadcastShapes(full, mask.shape) == full else { return nil }
        maskStrides = broadcastStrides(mask.shape, to: full)
        maskValues = m
    }
    let total = batch * s * width
    if total == 0 { return HostTensor(shape: q.shape, floats: []) }
    // No keys: an empty softmax, and a product over nothing is zero (as the unfused nodes give).
    if t == 0 { return HostTensor(shape: q.shape, floats: [Float](repeating: 0, count: total)) }
    let hasMask = mask != nil
    let ms = maskStrides
    var out: [Float] = uninitialized(total)
    qf.withUnsafeBufferPointer { pq in kf.withUnsafeBufferPointer { pk in vf.withUnsafeBufferPointer { pv in
    maskValues.withUnsafeBufferPointer { pm in out.withUnsafeMutableBufferPointer { po in
        nonisolated(unsafe) let (pq, pk, pv, pm, po) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, pm.baseAddress, po.baseAddress!)
        let units = batch * heads
        let threads: Int? = min(RuntimeThreads.current, units) > 1 ? 1 : nil
        parallelChunks(units, minimumPerChunk: 1) { range in
            var scores = [Float](unsafeUninitializedCapacity: s * t) { _, n in n = s * t }
            var offsets = [Int](repeating: 0, count: s)
            scores.withUnsafeMutableBufferPointer { ps in offsets.withUnsafeMutableBufferPointer { off in
                let ps = ps.baseAddress!
                for unit in range {
                    let (b, h) = (unit / heads, unit % heads)
                    sgemm(transA: false, transB: true, m: s, n: t, k: headDim, a: pq + b * s * width + h * headDim, lda: width,
                          b: pk + b * t * width + h * headDim, ldb: width, beta: 0, c: ps, ldc: t, alpha: alpha, threads: threads)
                    if hasMask {
                        for row in 0..<s { off[row] = b * ms[0] + h * ms[1] + row * ms[2] }
                        porter_softmax_rows(ps, s, t, t, 1, pm, off.baseAddress!, ms[3])
                    } else {
                        porter_softmax_rows(ps, s, t, t, 1, nil, nil, 0)
                    }
                    sgemm(transA: false, transB: false, m: s, n: headDim, k: t, a: ps, lda: t,
                          b: pv + b * t * width + h * headDim, ldb: width, beta: 0, c: po + b * s * width + h * headDim, ldc: width,
                          threads: threads)
                }
            } }
        }
    } } } } }
    return HostTensor(shape: q.shape, floats: out)
}
