import Foundation
import PorterCore
import PorterOps

/// Kernels of the decoder-only language model ops (`PorterOps.decoderOps`).
let decoderKernels: KeyValuePairs<String, Kernel> = [
    // x · rsqrt(mean(x², last axis) + ε) · (offset + weight), as transformers' LlamaRMSNorm
    // (offset 0) and GemmaRMSNorm (offset 1) compute it in float32.
    "rms_norm": { ctx in
        try ctx.requireInputs(1...2)
        let (shape, x) = try ctx.floats(0)
        guard let width = shape.last, width > 0 else { throw ctx.shapeError("x must have a non-empty last axis", [shape]) }
        let epsilon = Float(try ctx.attrs.number("epsilon"))
        let offset = Float(try ctx.attrs.number("weight_offset"))
        // Without a weight the scale is 1 (offset ignored).
        var scale = [Float](repeating: 1, count: width)
        if ctx.optionalInput(1) != nil {
            let (ws, w) = try ctx.floats(1)
            guard w.count == width else { throw ctx.shapeError("the weight has \(w.count) elements, the last axis \(width)", [shape, ws]) }
            scale = w.map { offset + $0 }
        }
        var out = uninitialized(x.count, of: Float.self)
        let rows = x.count / width
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                nonisolated(unsafe) let o = o
                parallelChunks(rows, minimumPerChunk: 256) { range in
                    for r in range {
                        let base = r * width
                        var sum: Float = 0
                        for k in 0..<width { sum += xs[base + k] * xs[base + k] }
                        let inv = 1 / (sum / Float(width) + epsilon).squareRoot()
                        for k in 0..<width { o[base + k] = scale[k] * (xs[base + k] * inv) }
                    }
                }
            }
        }
        return [HostTensor(shape: shape, floats: out)]
    },
    // The first rotary_dim dims of each head, in pairs turned by the angle position · inv_freq[j];
    // the rest pass through.
    "rotary_embedding": { ctx in
        try ctx.requireInputs(2...2)
        let (shape, x) = try ctx.floats(0)
        let (ps, positions) = try ctx.ints(1)
        guard shape.count == 4 else { throw ctx.shapeError("x must be [batch, seq, heads, head_dim]", [shape, ps]) }
        let (batch, seq, heads, headDim) = (shape[0], shape[1], shape[2], shape[3])
        guard ps.count == 2, ps[1] == seq, ps[0] == batch || ps[0] == 1 else {
            throw ctx.shapeError("positions must be [batch or 1, seq] for x [batch, seq, heads, head_dim]", [shape, ps])
        }
        let rope = try RopeFrequencies(ctx.attrs, headDim: headDim)
        if let (attribute, detail) = rope.problem(headDim: headDim) { throw ctx.bad(attribute, detail) }
        guard let maxPosition = positions.max(), positions.allSatisfy({ $0 >= 0 && $0 < 1 << 40 }) else {
            if let bad = positions.first(where: { $0 < 0 || $0 >= 1 << 40 }) {
                throw RuntimeError.indexOutOfRange(node: ctx.name, index: bad, size: 1 << 40)
            }
            return [HostTensor(shape: shape, floats: x)]
        }
        let (inverse, attentionScale) = rope.frequencies(maxPosition: Int(maxPosition))
        let half = rope.dim / 2
        // "half": pair j is (j, j + half) (transformers' rotate_half); "interleaved": (2j, 2j + 1)
        // (llama.cpp's LLAMA_ROPE_TYPE_NORM, over q/k rows its converter permuted).
        let interleaved = try ctx.attrs.string("layout") == "interleaved"
        let (first, second, step) = interleaved ? (0, 1, 2) : (0, half, 1)
        var out = x
        var cosines = [Float](repeating: 0, count: half), sines = [Float](repeating: 0, count: half)
        for b in 0..<batch {
            for s in 0..<seq {
                let p = Float(positions[(ps[0] == 1 ? 0 : b) * seq + s])
                for j in 0..<half {
                    let angle = p * inverse[j]
                    cosines[j] = cosf(angle) * attentionScale
                    sines[j] = sinf(angle) * attentionScale
                }
                for h in 0..<heads {
                    let base = ((b * seq + s) * heads + h) * headDim
                    for j in 0..<half {
                        let a = base + first + j * step, b = base + second + j * step
                        let x1 = x[a], x2 = x[b]
                        out[a] = x1 * cosines[j] - x2 * sines[j]
                        out[b] = x2 * cosines[j] + x1 * sines[j]
                    }
                }
            }
        }
        return [HostTensor(shape: shape, floats: out)]
    },
    // Causal and sliding: query i sees key j when j ≤ i, i − j < window and the key is not padding.
    "window_attention_mask": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, mask) = try ctx.ints(0)
        guard shape.count == 2 else { throw ctx.shapeError("the mask must be [batch, seq]", [shape]) }
        let window = try ctx.attrs.int("window")
        guard window >= 1 else { throw ctx.bad("window", "\(window) must be at least 1") }
        let (batch, seq) = (shape[0], shape[1])
        var out = [Float](repeating: -Float.greatestFiniteMagnitude, count: batch * seq * seq)
        for b in 0..<batch {
            for i in 0..<seq {
                for j in max(0, i - window + 1)...i where mask[b * seq + j] != 0 {
                    out[(b * seq + i) * seq + j] = 0
                }
            }
        }
        return [HostTensor(shape: [batch, 1, seq, seq], floats: out)]
    },
]
