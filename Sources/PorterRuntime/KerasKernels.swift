import Foundation
import PorterCore
import PorterOps

/// Kernels of the ops in `PorterOps/KerasOps.swift`.

@inline(__always) private func softplusf(_ x: Float) -> Float { max(x, 0) + log1pf(expf(-abs(x))) }

/// The `activation` op's function, its parameters resolved to their defaults.
func activationFunction(_ name: String, alpha: Double?, beta: Double?, maxValue: Double?) -> ((Float) -> Float)? {
    switch name {
    case "elu":
        let a = Float(alpha ?? 1)
        return { $0 > 0 ? $0 : a * expm1f($0) }
    case "selu":
        let a: Float = 1.6732632423543772, s: Float = 1.0507009873554805
        return { s * ($0 > 0 ? $0 : a * expm1f($0)) }
    case "softplus": return softplusf
    case "softsign": return { $0 / (abs($0) + 1) }
    case "hard_sigmoid":
        let slope = Float(alpha ?? 1.0 / 6.0), offset = Float(beta ?? 0.5)
        return { min(max(slope * $0 + offset, 0), 1) }
    case "hard_silu":
        let slope = Float(alpha ?? 1.0 / 6.0), offset = Float(beta ?? 0.5)
        return { $0 * min(max(slope * $0 + offset, 0), 1) }
    case "leaky_relu":
        let a = Float(alpha ?? 0.2)
        return { $0 >= 0 ? $0 : a * $0 }
    case "mish": return { $0 * tanhf(softplusf($0)) }
    case "celu":
        let a = Float(alpha ?? 1)
        return { max($0, 0) + a * expm1f(min($0, 0) / a) }
    case "hard_tanh": return { min(max($0, -1), 1) }
    case "log_sigmoid": return { -softplusf(-$0) }
    case "tanh_shrink": return { $0 - tanhf($0) }
    case "hard_shrink":
        let t = Float(alpha ?? 0.5)
        return { abs($0) > t ? $0 : 0 }
    case "soft_shrink":
        let t = Float(alpha ?? 0.5)
        return { $0 > t ? $0 - t : ($0 < -t ? $0 + t : 0) }
    case "squareplus":
        let b = Float(alpha ?? 4)
        return { ($0 + sqrtf($0 * $0 + b)) / 2 }
    case "sparse_plus": return { $0 <= -1 ? 0 : ($0 >= 1 ? $0 : ($0 + 1) * ($0 + 1) / 4) }
    case "sparse_sigmoid": return { $0 <= -1 ? 0 : ($0 >= 1 ? 1 : ($0 + 1) / 2) }
    case "relu":
        // Keras' relu(x, negative_slope, max_value, threshold).
        let slope = Float(alpha ?? 0), threshold = Float(beta ?? 0), cap = maxValue.map(Float.init) ?? .infinity
        return { $0 > threshold ? min(max($0, 0), cap) : slope * ($0 - threshold) }
    default: return nil
    }
}

private func floatBinary(_ f: @escaping @Sendable (Float, Float) -> Float) -> Kernel {
    return { ctx in
        try ctx.requireInputs(2...2)
        let (sa, a) = try ctx.floats(0), (sb, b) = try ctx.floats(1)
        guard let shape = broadcastShapes(sa, sb) else { throw ctx.shapeError("operands do not broadcast", [sa, sb]) }
        return [HostTensor(shape: shape, floats: broadcastBinary(a, sa, b, sb, out: shape, zero: 0, f))]
    }
}

let kerasKernels: KeyValuePairs<String, Kernel> = [
    "activation": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let name = try ctx.attrs.string("function")
        func number(_ key: String) throws -> Double? { try ctx.attrs.isSet(key) ? try ctx.attrs.number(key) : nil }
        guard let f = activationFunction(name, alpha: try number("alpha"), beta: try number("beta"), maxValue: try number("max_value")) else {
            throw ctx.bad("function", "'\(name)' is not an activation this runtime has")
        }
        return [HostTensor(shape: shape, floats: mapFloats(x, f))]
    },
    "log_softmax": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: shape.count)
        let n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        var out = x
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for k in 0..<n { m = max(m, x[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<n { sum += expf(x[base + k * inner] - m) }
                let lse = m + logf(sum)
                for k in 0..<n { out[base + k * inner] = x[base + k * inner] - lse }
            }
        }
        return [HostTensor(shape: shape, floats: out)]
    },
    "sparsemax": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: shape.count)
        let n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        var out = x
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                let z = (0..<n).map { x[base + $0 * inner] }.sorted(by: >)
                // Keras 3.15's definition (every backend): support = z_k − (c_k − 1)/k > 0 with
                // c_k = Σ_{j ≤ k} z_j; τ = (Σ_{k in support} c_k − 1) / |support|. (The textbook τ
                // uses c_K of the last k in support; the two differ once two entries are in it.)
                var cumsum: Float = 0, supportSum: Float = 0, count: Float = 0
                for (k, v) in z.enumerated() {
                    cumsum += v
                    if v - (cumsum - 1) / Float(k + 1) > 0 { supportSum += cumsum; count += 1 }
                }
                let tau = count > 0 ? (supportSum - 1) / count : 0
                for k in 0..<n { out[base + k * inner] = max(x[base + k * inner] - tau, 0) }
            }
        }
        return [HostTensor(shape: shape, floats: out)]
    },
    "glu": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: shape.count)
        guard shape[axis] % 2 == 0 else { throw ctx.shapeError("glu halves axis \(axis), which has an odd size", [shape]) }
        let half = shape[axis] / 2, inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        var out: [Float] = []
        out.reserveCapacity(x.count / 2)
        for o in 0..<outer {
            let base = o * 2 * half * inner
            for j in 0..<(half * inner) { out.append(x[base + j] * sigmoidf(x[base + half * inner + j])) }
        }
        var outShape = shape
        outShape[axis] = half
        return [HostTensor(shape: outShape, floats: out)]
    },
    "maximum": floatBinary { Swift.max($0, $1) },
    "minimum": floatBinary { Swift.min($0, $1) },
    "prelu": floatBinary { $0 > 0 ? $0 : $1 * $0 },
    "repeat": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: t.rank)
        let repeats = try ctx.attrs.int("repeats")
        guard repeats >= 1 else { throw ctx.bad("repeats", "must be at least 1") }
        let outer = t.shape[..<axis].reduce(1, *), length = t.shape[axis], inner = t.shape[(axis + 1)...].reduce(1, *)
        var shape = t.shape
        shape[axis] = length * repeats
        func run<T>(_ v: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(v.count * repeats)
            for o in 0..<outer {
                for l in 0..<length {
                    let row = v[((o * length + l) * inner)..<((o * length + l + 1) * inner)]
                    for _ in 0..<repeats { out.append(contentsOf: row) }
                }
            }
            return out
        }
        switch t.storage {
        case let .float(v): return [HostTensor(shape: shape, floats: run(v))]
        case let .int64(v): return [HostTensor(shape: shape, int64s: run(v))]
        }
    },
    "conv_transpose1d": convTransposeKernel(spatial: 1),
    "conv_transpose2d": convTransposeKernel(spatial: 2),
]

/// Transposed convolution, channels last, kernel `[spatial…, out, in]`: every input position
/// scatters `x · kernel` into the outputs `i·stride + t·dilation − pad`.
private func convTransposeKernel(spatial: Int) -> Kernel {
    return { ctx in
        try ctx.requireInputs(2...3)
        let (xs, x) = try ctx.floats(0), (ks, k) = try ctx.floats(1)
        let rank = spatial + 2
        guard xs.count == rank, ks.count == rank, xs[rank - 1] == ks[rank - 1] else {
            throw ctx.shapeError("expects x [batch, spatial…, in] and kernel [spatial…, out, in]", [xs, ks])
        }
        let bias = ctx.optionalInput(2) != nil ? try ctx.floats(2).values : nil
        let strides = try ctx.attrs.optionalInts("strides") ?? [1]
        let dilations = try ctx.attrs.optionalInts("dilations") ?? [1]
        let outputPadding = try ctx.attrs.optionalInts("output_padding")
        let same = try ctx.attrs.string("padding") == "same"
        func per(_ list: [Int], _ a: Int) -> Int { list.count == 1 ? list[0] : list[a] }
        // As 2-D: 1-D gets a height of 1.
        let (n, cin, cout) = (xs[0], xs[rank - 1], ks[spatial])
        guard bias == nil || bias!.count == cout else { throw ctx.shapeError("the bias has \(bias!.count) elements, expected \(cout)", [xs, ks]) }
        let inH = spatial == 2 ? xs[1] : 1, inW = xs[spatial]
        let kh = spatial == 2 ? ks[0] : 1, kw = ks[spatial - 1]
        let sh = spatial == 2 ? per(strides, 0) : 1, sw = per(strides, spatial - 1)
        let dh = spatial == 2 ? per(dilations, 0) : 1, dw = per(dilations, spatial - 1)
        guard sh >= 1, sw >= 1, dh >= 1, dw >= 1 else { throw ctx.bad("strides", "strides and dilations must be positive") }
        let opH = spatial == 2 ? outputPadding.map { per($0, 0) } : nil, opW = outputPadding.map { per($0, spatial - 1) }
        let outH = spatial == 2 ? KerasOps.transposedLength(input: inH, kernel: kh, stride: sh, dilation: dh, same: same, outputPadding: opH) : 1
        let outW = KerasOps.transposedLength(input: inW, kernel: kw, stride: sw, dilation: dw, same: same, outputPadding: opW)
        let padH = spatial == 2 ? KerasOps.transposedPadBefore(input: inH, output: outH, kernel: kh, stride: sh, dilation: dh, same: same) : 0
        let padW = KerasOps.transposedPadBefore(input: inW, output: outW, kernel: kw, stride: sw, dilation: dw, same: same)
        guard outH >= 1, outW >= 1 else { throw ctx.shapeError("the output would be empty", [xs, ks]) }
        var out = [Float](repeating: 0, count: n * outH * outW * cout)
        for b in 0..<n {
            for ih in 0..<inH {
                for iw in 0..<inW {
                    let xBase = ((b * inH + ih) * inW + iw) * cin
                    for th in 0..<kh {
                        let oh = ih * sh + th * dh - padH
                        if oh < 0 || oh >= outH { continue }
                        for tw in 0..<kw {
                            let ow = iw * sw + tw * dw - padW
                            if ow < 0 || ow >= outW { continue }
                            let oBase = ((b * outH + oh) * outW + ow) * cout
                            let kBase = (th * kw + tw) * cout * cin
                            for co in 0..<cout {
                                var acc: Float = 0
                                let kRow = kBase + co * cin
                                for ci in 0..<cin { acc += x[xBase + ci] * k[kRow + ci] }
                                out[oBase + co] += acc
                            }
                        }
                    }
                }
            }
        }
        if let bias {
            for i in 0..<(n * outH * outW) { for co in 0..<cout { out[i * cout + co] += bias[co] } }
        }
        let shape = spatial == 2 ? [n, outH, outW, cout] : [n, outW, cout]
        return [HostTensor(shape: shape, floats: out)]
    }
}

/// A recurrent cell's activation by the `rnn` op's names.
private func recurrentFunction(_ name: String) -> ((Float) -> Float)? {
    switch name {
    case "tanh": return tanhf
    case "sigmoid": return sigmoidf
    case "relu": return { max($0, 0) }
    case "linear": return { $0 }
    case "hard_sigmoid": return activationFunction("hard_sigmoid", alpha: 1.0 / 6.0, beta: 0.5, maxValue: nil)
    case "hard_sigmoid_tf_keras": return activationFunction("hard_sigmoid", alpha: 0.2, beta: 0.5, maxValue: nil)
    default: return activationFunction(name, alpha: nil, beta: nil, maxValue: nil)
    }
}

/// `rnn`: Keras SimpleRNN / LSTM / GRU, step by step (`x·W + b` per step, `h·U` per step).
let recurrentKernels: KeyValuePairs<String, Kernel> = [
    "rnn": { ctx in
        try ctx.requireInputs(3...5)
        let (xs, x) = try ctx.floats(0), (ks, w) = try ctx.floats(1), (rs, u) = try ctx.floats(2)
        let cell = try ctx.attrs.string("cell")
        let gates = cell == "lstm" ? 4 : cell == "gru" ? 3 : 1
        guard xs.count == 3, ks.count == 2, rs.count == 2, ks[0] == xs[2], rs[1] == gates * rs[0], ks[1] == gates * rs[0] else {
            throw ctx.shapeError("expects x [batch, time, f], kernel [f, \(gates)·units], recurrent_kernel [units, \(gates)·units]", [xs, ks, rs])
        }
        let (batch, steps, features, units) = (xs[0], xs[1], xs[2], rs[0])
        let width = gates * units
        let resetAfter = try ctx.attrs.bool("reset_after")
        var inputBias = [Float](repeating: 0, count: width), recurrentBias = [Float](repeating: 0, count: width)
        if ctx.optionalInput(3) != nil {
            let (bs, b) = try ctx.floats(3)
            if cell == "gru" && resetAfter && bs.count == 2 && b.count == 2 * width {
                inputBias = Array(b[0..<width]); recurrentBias = Array(b[width...])
            } else if b.count == width {
                inputBias = b
            } else {
                throw ctx.shapeError("the bias has \(b.count) elements, expected \(width)\(cell == "gru" && resetAfter ? " × 2" : "")", [xs, bs])
            }
        }
        var mask: [Int64]? = nil
        if ctx.optionalInput(4) != nil {
            let (ms, m) = try ctx.ints(4)
            guard m.count == batch * steps else { throw ctx.shapeError("the mask must be [batch, time]", [xs, ms]) }
            mask = m
        }
        guard let act = recurrentFunction(try ctx.attrs.string("activation")),
              let rec = recurrentFunction(try ctx.attrs.string("recurrent_activation")) else {
            throw ctx.bad("activation", "not one this runtime has")
        }
        let sequences = try ctx.attrs.bool("return_sequences"), backwards = try ctx.attrs.bool("go_backwards")
        let zeroMasked = try ctx.attrs.bool("zero_output_for_mask"), aligned = try ctx.attrs.bool("align_outputs")
        var out = [Float](repeating: 0, count: sequences ? batch * steps * units : batch * units)
        var zx = [Float](repeating: 0, count: width), zh = [Float](repeating: 0, count: width)
        for b in 0..<batch {
            var h = [Float](repeating: 0, count: units), c = [Float](repeating: 0, count: units)
            var lastOut = [Float](repeating: 0, count: units)
            for s in 0..<steps {
                let t = backwards ? steps - 1 - s : s
                let keep = mask.map { $0[b * steps + t] != 0 } ?? true
                if keep {
                    let xBase = (b * steps + t) * features
                    for j in 0..<width {
                        var a = inputBias[j]
                        for f in 0..<features { a += x[xBase + f] * w[f * width + j] }
                        zx[j] = a
                    }
                    // h·U (+ recurrent bias); GRU without reset_after takes (r ⊙ h)·U_h later.
                    let hCols = cell == "gru" && !resetAfter ? 2 * units : width
                    for j in 0..<width {
                        guard j < hCols else { zh[j] = 0; continue }
                        var a = recurrentBias[j]
                        for k in 0..<units { a += h[k] * u[k * width + j] }
                        zh[j] = a
                    }
                    var next = h
                    switch cell {
                    case "simple":
                        for j in 0..<units { next[j] = act(zx[j] + zh[j]) }
                    case "lstm":
                        for j in 0..<units {
                            let i = rec(zx[j] + zh[j]), f = rec(zx[units + j] + zh[units + j])
                            let g = act(zx[2 * units + j] + zh[2 * units + j]), o = rec(zx[3 * units + j] + zh[3 * units + j])
                            c[j] = f * c[j] + i * g
                            next[j] = o * act(c[j])
                        }
                    default:  // gru
                        var r = [Float](repeating: 0, count: units)
                        for j in 0..<units { r[j] = rec(zx[units + j] + zh[units + j]) }
                        for j in 0..<units {
                            let z = rec(zx[j] + zh[j])
                            let candidate: Float
                            if resetAfter {
                                candidate = act(zx[2 * units + j] + r[j] * zh[2 * units + j])
                            } else {
                                var a: Float = 0
                                for k in 0..<units { a += r[k] * h[k] * u[k * width + 2 * units + j] }
                                candidate = act(zx[2 * units + j] + a)
                            }
                            next[j] = z * h[j] + (1 - z) * candidate
                        }
                    }
                    h = next
                    lastOut = h
                }
                if sequences {
                    let o = (b * steps + (aligned ? t : s)) * units
                    let value = keep ? h : (zeroMasked ? [Float](repeating: 0, count: units) : lastOut)
                    for j in 0..<units { out[o + j] = value[j] }
                }
            }
            if !sequences { for j in 0..<units { out[b * units + j] = lastOut[j] } }
        }
        return [HostTensor(shape: sequences ? [batch, steps, units] : [batch, units], floats: out)]
    },
    "masking": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        guard shape.count >= 2 else { throw ctx.shapeError("expected [batch, time, …]", [shape]) }
        let value = Float(try ctx.attrs.number("mask_value"))
        let rows = shape[0] * shape[1], inner = shape[2...].reduce(1, *)
        var out = x
        var mask = [Int64](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = x[(r * inner)..<((r + 1) * inner)]
            let any = row.contains { $0 != value }
            mask[r] = any ? 1 : 0
            if !any { for i in (r * inner)..<((r + 1) * inner) { out[i] = 0 } }
        }
        return [HostTensor(shape: shape, floats: out), HostTensor(shape: Array(shape.prefix(2)), int64s: mask)]
    },
]
