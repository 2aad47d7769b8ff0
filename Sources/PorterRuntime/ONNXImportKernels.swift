import Foundation
import PorterCore
import PorterOps

// Kernels of the ONNX import ops (PorterOps/ONNXImportOps.swift): expand, tile, resize,
// conv_transpose, instance_norm, reduce, lstm, range. Sizes come from the graph, which may come
// from a file: every output's element count is checked before anything is allocated.

private func checkedCount(_ shape: [Int], _ ctx: NodeContext) throws -> Int {
    var n = 1
    for d in shape {
        guard d >= 0 else { throw ctx.shapeError("negative dim", [shape]) }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        guard !o, p <= onnxImportElementLimit else { throw ctx.shapeError("an output of \(shape) is more than 2^31 elements", [shape]) }
        n = p
    }
    return n
}

/// Gathers `source` at `offsets` for either storage.
private func gathered(_ t: HostTensor, shape: [Int], _ offsets: [Int]) -> HostTensor {
    switch t.storage {
    case let .float(v): return HostTensor(shape: shape, floats: offsets.map { v[$0] })
    case let .int64(v): return HostTensor(shape: shape, int64s: offsets.map { v[$0] })
    }
}

/// `x` broadcast against `target` (ONNX Expand), for `expand` and `expand_to`.
private func expanded(_ x: HostTensor, to target: [Int], _ ctx: NodeContext) throws -> HostTensor {
    guard let out = broadcastShapes(x.shape, target) else { throw ctx.shapeError("cannot expand to \(target)", [x.shape, target]) }
    _ = try checkedCount(out, ctx)
    let lead = out.count - x.shape.count
    return gathered(x, shape: out, offsets(out, [Int](repeating: 1, count: lead) + x.shape) { a, i in
        a < lead ? 0 : (x.shape[a - lead] == 1 ? 0 : i)
    })
}

/// For each element of `out` (row-major), the offset into a tensor of `shape` whose index on
/// each axis is `map(axis, outIndex)`.
func offsets(_ out: [Int], _ shape: [Int], _ map: (Int, Int) -> Int) -> [Int] {
    let count = out.reduce(1, *)
    let strides = stridesOf(shape)
    // Per-axis tables of offsets, summed over a row-major walk.
    let tables = out.indices.map { a in (0..<out[a]).map { map(a, $0) * strides[a] } }
    var result = [Int](repeating: 0, count: count)
    if count == 0 { return result }
    var index = [Int](repeating: 0, count: out.count)
    var acc = tables.indices.reduce(0) { $0 + (tables[$1].first ?? 0) }
    for i in 0..<count {
        result[i] = acc
        var a = out.count - 1
        while a >= 0 {
            acc -= tables[a][index[a]]
            index[a] += 1
            if index[a] < out[a] { acc += tables[a][index[a]]; break }
            index[a] = 0
            acc += tables[a][0]
            a -= 1
        }
    }
    return result
}

/// One axis of a resize: for each output index, two input indices and their weights.
private struct AxisTaps {
    var i0: [Int], i1: [Int], w1: [Float]
}

private func resizeTaps(input: Int, output: Int, scale: Float, mode: String, transform: String, nearest: String) -> AxisTaps {
    // In float32, as ONNX Runtime computes (upsamplebase.h), so ties fall the same way.
    var taps = AxisTaps(i0: [], i1: [], w1: [])
    for o in 0..<output {
        let r = Float(o)
        let x: Float
        switch transform {
        case "asymmetric": x = r / scale
        case "align_corners": x = output == 1 ? 0 : r * Float(input - 1) / Float(output - 1)
        case "pytorch_half_pixel": x = output > 1 ? (r + 0.5) / scale - 0.5 : 0
        default: x = (r + 0.5) / scale - 0.5  // half_pixel
        }
        if mode == "nearest" {
            var k: Float
            switch nearest {
            case "floor": k = x.rounded(.down)
            case "ceil": k = x.rounded(.up)
            case "round_prefer_ceil": k = x.rounded(.toNearestOrAwayFromZero)
            default: k = x == x.rounded(.towardZero) + 0.5 ? x.rounded(.down) : x.rounded(.toNearestOrAwayFromZero)  // round_prefer_floor
            }
            let i = Int(min(max(k, 0), Float(input - 1)))
            taps.i0.append(i); taps.i1.append(i); taps.w1.append(0)
        } else {
            let c = min(max(x, 0), Float(input - 1))
            let lo = Int(c.rounded(.down))
            let hi = min(lo + 1, input - 1)
            taps.i0.append(lo); taps.i1.append(hi); taps.w1.append(c - Float(lo))
        }
    }
    return taps
}

private func reduceKernel(_ ctx: NodeContext) throws -> [HostTensor] {
    try ctx.requireInputs(1...1)
    let x = try ctx.input(0)
    let shape = x.shape
    let f = try ctx.attrs.string("function")
    let axes = Set(try (ctx.attrs.optionalInts("axes") ?? Array(shape.indices)).map { try ctx.axis($0, rank: shape.count, key: "axes") })
    let keep = try ctx.attrs.bool("keepdims")
    let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
    let outShape = keep ? kept : shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
    let outStrides = broadcastStrides(kept, to: shape)
    let inStrides = stridesOf(shape)
    let count = kept.reduce(1, *)
    func destination(_ i: Int) -> Int {
        var dst = 0
        for axis in shape.indices { dst += (i / inStrides[axis]) % shape[axis] * outStrides[axis] }
        return dst
    }
    if case let .int64(v) = x.storage, ["sum", "max", "min", "prod", "l1", "sum_square"].contains(f) {
        let start: Int64 = f == "max" ? .min : f == "min" ? .max : f == "prod" ? 1 : 0
        var acc = [Int64](repeating: start, count: count)
        for (i, e) in v.enumerated() {
            let d = destination(i)
            switch f {
            case "sum": acc[d] &+= e
            case "max": acc[d] = max(acc[d], e)
            case "min": acc[d] = min(acc[d], e)
            case "prod": acc[d] &*= e
            case "l1": acc[d] &+= e < 0 ? 0 &- e : e
            default: acc[d] &+= e &* e
            }
        }
        return [HostTensor(shape: outShape, int64s: acc)]
    }
    let v = x.floatValues
    let start: Double = f == "max" ? -.infinity : f == "min" ? .infinity : f == "prod" ? 1 : 0
    var acc = [Double](repeating: start, count: count)
    if f == "log_sum_exp" {
        // Stable: the maximum first, then the sum of exponentials relative to it.
        var top = [Double](repeating: -.infinity, count: count)
        for (i, e) in v.enumerated() { let d = destination(i); top[d] = max(top[d], Double(e)) }
        for (i, e) in v.enumerated() { let d = destination(i); acc[d] += top[d].isFinite ? exp(Double(e) - top[d]) : 0 }
        return [HostTensor(shape: outShape, floats: zip(acc, top).map { s, m in Float(m.isFinite ? m + log(s) : m) })]
    }
    for (i, e) in v.enumerated() {
        let d = destination(i), x = Double(e)
        switch f {
        case "sum", "log_sum": acc[d] += x
        case "max": acc[d] = max(acc[d], x)
        case "min": acc[d] = min(acc[d], x)
        case "prod": acc[d] *= x
        case "l1": acc[d] += abs(x)
        default: acc[d] += x * x  // l2, sum_square
        }
    }
    let values = acc.map { a -> Float in
        switch f {
        case "l2": return Float(a.squareRoot())
        case "log_sum": return Float(log(a))
        default: return Float(a)
        }
    }
    return [HostTensor(shape: outShape, floats: values)]
}

private func convTransposeKernel(_ ctx: NodeContext) throws -> [HostTensor] {
    try ctx.requireInputs(2...3)
    let (xs0, x) = try ctx.floats(0), (ks0, w) = try ctx.floats(1)
    let bias = try ctx.optionalInput(2).map { _ in try ctx.floats(2).values }
    guard ks0.count == 3 || ks0.count == 4, xs0.count == ks0.count else { throw ctx.shapeError("expected input and kernel of rank 3 or 4", [xs0, ks0]) }
    let spatial = ks0.count - 2
    // 1-D as 2-D with a height of 1.
    let xs = spatial == 1 ? [xs0[0], xs0[1], 1, xs0[2]] : xs0, ks = spatial == 1 ? [ks0[0], ks0[1], 1, ks0[2]] : ks0
    func list(_ key: String, _ def: Int, _ count: Int) throws -> [Int] { try ctx.attrs.optionalInts(key) ?? [Int](repeating: def, count: count) }
    var strides = try list("strides", 1, spatial), dilations = try list("dilations", 1, spatial)
    var pads = try list("pads", 0, 2 * spatial), outputPadding = try list("output_padding", 0, spatial)
    guard strides.count == spatial, dilations.count == spatial, pads.count == 2 * spatial, outputPadding.count == spatial else {
        throw ctx.bad("strides", "lists must have one number per spatial axis (pads two)")
    }
    if spatial == 1 { strides = [1] + strides; dilations = [1] + dilations; pads = [0, pads[0], 0, pads[1]]; outputPadding = [0] + outputPadding }
    let (st, di, pa) = (strides, dilations, pads)
    let groups = try ctx.attrs.int("groups")
    let (batch, cin, h, wd) = (xs[0], xs[1], xs[2], xs[3])
    guard groups >= 1, cin == ks[0], cin % groups == 0 else { throw ctx.shapeError("input channels do not match the kernel's in groups of \(groups)", [xs0, ks0]) }
    let ipg = cin / groups, opg = ks[1], cout = opg * groups
    let (kh, kw) = (ks[2], ks[3])
    let oh = strides[0] * (h - 1) + outputPadding[0] + (kh - 1) * dilations[0] + 1 - pads[0] - pads[2]
    let ow = strides[1] * (wd - 1) + outputPadding[1] + (kw - 1) * dilations[1] + 1 - pads[1] - pads[3]
    guard oh >= 1, ow >= 1 else { throw ctx.shapeError("output length below 1", [xs0, ks0]) }
    let outShape0 = spatial == 1 ? [batch, cout, ow] : [batch, cout, oh, ow]
    let total = try checkedCount(outShape0, ctx)
    if let bias, bias.count != cout { throw ctx.shapeError("the bias has \(bias.count) elements, expected \(cout)", [xs0, ks0]) }
    var out = [Float](repeating: 0, count: total)
    out.withUnsafeMutableBufferPointer { o in
        x.withUnsafeBufferPointer { px in
            w.withUnsafeBufferPointer { pw in
                nonisolated(unsafe) let (o, px, pw) = (o, px, pw)
                // One (batch, output channel) plane per task: no two tasks write the same element.
                parallelChunks(batch * cout) { planes in
                    for plane in planes {
                        let (n, oc) = (plane / cout, plane % cout)
                        let (g, ocg) = (oc / opg, oc % opg)
                        let base = plane * oh * ow
                        if let bias { for i in 0..<(oh * ow) { o[base + i] = bias[oc] } }
                        for icg in 0..<ipg {
                            let ic = g * ipg + icg
                            let xBase = (n * cin + ic) * h * wd
                            let wBase = (ic * opg + ocg) * kh * kw
                            for iy in 0..<h {
                                for ky in 0..<kh {
                                    let y = iy * st[0] - pa[0] + ky * di[0]
                                    if y < 0 || y >= oh { continue }
                                    for ix in 0..<wd {
                                        let v = px[xBase + iy * wd + ix]
                                        for kx in 0..<kw {
                                            let xx = ix * st[1] - pa[1] + kx * di[1]
                                            if xx < 0 || xx >= ow { continue }
                                            o[base + y * ow + xx] += v * pw[wBase + ky * kw + kx]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return [HostTensor(shape: outShape0, floats: out)]
}

let onnxImportKernels: KeyValuePairs<String, Kernel> = [
    "expand": { ctx in
        try ctx.requireInputs(1...2)
        let x = try ctx.input(0)
        let like = ctx.optionalInput(1)?.shape
        let target = try ctx.attrs.ints("shape").map { d -> Int in
            if d >= 0 { return d }
            guard let like, -1 - d < like.count else { throw ctx.bad("shape", "\(d) copies no dim of the like input") }
            return like[-1 - d]
        }
        return [try expanded(x, to: target, ctx)]
    },
    "expand_to": { ctx in
        try ctx.requireInputs(2...2)
        let x = try ctx.input(0), s = try ctx.input(1)
        guard s.rank == 1, let dims = s.int64s, dims.allSatisfy({ $0 >= 0 && $0 <= Int64(onnxImportElementLimit) }) else {
            throw ctx.shapeError("the shape must be an int64 vector of dims between 0 and 2^31", [s.shape])
        }
        let target = dims.map { Int($0) }
        return [try expanded(x, to: target, ctx)]
    },
    "tile": { ctx in
        try ctx.requireInputs(1...1)
        let x = try ctx.input(0)
        let repeats = try ctx.attrs.ints("repeats")
        guard repeats.count == x.shape.count, repeats.allSatisfy({ $0 >= 0 }) else { throw ctx.bad("repeats", "\(repeats) for a rank-\(x.shape.count) input") }
        let out = zip(x.shape, repeats).map { $0 * $1 }
        _ = try checkedCount(out, ctx)
        return [gathered(x, shape: out, offsets(out, x.shape) { a, i in i % x.shape[a] })]
    },
    "resize": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let mode = try ctx.attrs.string("mode"), transform = try ctx.attrs.string("coordinate_transformation_mode")
        let nearest = try ctx.attrs.string("nearest_mode")
        let scales = try ctx.attrs.optionalNumbers("scales"), sizes = try ctx.attrs.optionalInts("sizes")
        let rank = scales?.count ?? sizes?.count ?? -1
        guard rank == shape.count else { throw ctx.bad("scales", "\(rank) entries for a rank-\(shape.count) input") }
        // A negative size −1 − i keeps the input's dim i, as the spec infers.
        let out: [Int] = try sizes.map { s in
            try s.map { d in
                guard d < 0 else { return d }
                guard -1 - d < shape.count else { throw ctx.bad("sizes", "\(d) copies no dim of a rank-\(shape.count) input") }
                return shape[-1 - d]
            }
        } ?? zip(shape, scales!).map { resizedLength($0, $1) }
        _ = try checkedCount(out, ctx)
        // ONNX: with sizes, each axis' scale is output / input.
        let axisScales = scales.map { $0.map { Float($0) } } ?? zip(out, shape).map { $1 == 0 ? 1 : Float($0) / Float($1) }
        var cur = x, curShape = shape
        for a in shape.indices {
            // Same length at scale 1: every transformation maps each index to itself.
            if out[a] == shape[a] && axisScales[a] == 1 { continue }
            if shape[a] == 0 || out[a] == 0 { curShape[a] = out[a]; cur = []; continue }
            let taps = resizeTaps(input: shape[a], output: out[a], scale: axisScales[a], mode: mode, transform: transform, nearest: nearest)
            let outer = curShape[..<a].reduce(1, *), inner = curShape[(a + 1)...].reduce(1, *)
            var next = [Float](repeating: 0, count: outer * out[a] * inner)
            for o in 0..<outer {
                for k in 0..<out[a] {
                    let (i0, i1, w1) = (taps.i0[k], taps.i1[k], taps.w1[k])
                    let src0 = (o * shape[a] + i0) * inner, src1 = (o * shape[a] + i1) * inner, dst = (o * out[a] + k) * inner
                    for j in 0..<inner { next[dst + j] = w1 == 0 ? cur[src0 + j] : cur[src0 + j] * (1 - w1) + cur[src1 + j] * w1 }
                }
            }
            cur = next
            curShape[a] = out[a]
        }
        return [HostTensor(shape: out, floats: cur)]
    },
    "conv_transpose": convTransposeKernel,
    "lstm": lstmKernel,
    "constant_of_shape": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        guard t.rank == 1, let dims = t.int64s else { throw ctx.shapeError("the shape must be an int64 vector", [t.shape]) }
        let shape = try dims.map { d -> Int in
            guard d >= 0, d <= Int64(onnxImportElementLimit) else { throw ctx.shapeError("dim \(d) must be between 0 and 2^31", [t.shape]) }
            return Int(d)
        }
        let count = try checkedCount(shape, ctx)
        let value = try ctx.attrs.number("value")
        if try ctx.attrs.string("dtype") == "i64" { return [HostTensor(shape: shape, int64s: [Int64](repeating: Int64(value), count: count))] }
        return [HostTensor(shape: shape, floats: [Float](repeating: Float(value), count: count))]
    },
    "shape": { ctx in
        try ctx.requireInputs(1...1)
        let t = try ctx.input(0)
        return [HostTensor(shape: [t.rank], int64s: t.shape.map { Int64($0) })]
    },
    "instance_norm": { ctx in
        try ctx.requireInputs(3...3)
        let (shape, x) = try ctx.floats(0)
        let scale = try ctx.floats(1).values, bias = try ctx.floats(2).values
        guard shape.count >= 3, scale.count == shape[1], bias.count == shape[1] else {
            throw ctx.shapeError("expected [batch, channels, spatial…] and one scale and bias per channel", [shape, [scale.count], [bias.count]])
        }
        let epsilon = try ctx.attrs.number("epsilon")
        let plane = shape[2...].reduce(1, *)
        var out = x
        for p in 0..<(shape[0] * shape[1]) {
            let c = p % shape[1]
            var mean = 0.0
            for i in 0..<plane { mean += Double(x[p * plane + i]) }
            mean /= Double(max(plane, 1))
            var variance = 0.0
            for i in 0..<plane { let d = Double(x[p * plane + i]) - mean; variance += d * d }
            variance /= Double(max(plane, 1))
            let inv = 1 / (variance + epsilon).squareRoot()
            for i in 0..<plane { out[p * plane + i] = Float((Double(x[p * plane + i]) - mean) * inv * Double(scale[c]) + Double(bias[c])) }
        }
        return [HostTensor(shape: shape, floats: out)]
    },
    "reduce": reduceKernel,
    "range": { ctx in
        try ctx.requireInputs(3...3)
        let s = try ctx.input(0), l = try ctx.input(1), d = try ctx.input(2)
        guard s.elementCount == 1, l.elementCount == 1, d.elementCount == 1 else { throw ctx.shapeError("start, limit and delta must be scalars", [s.shape, l.shape, d.shape]) }
        if case let .int64(a) = s.storage, case let .int64(b) = l.storage, case let .int64(c) = d.storage {
            let (start, limit, delta) = (a[0], b[0], c[0])
            guard delta != 0 else { throw ctx.bad("delta", "is 0") }
            let count = ((Double(limit) - Double(start)) / Double(delta)).rounded(.up)
            guard count <= Double(onnxImportElementLimit) else { throw ctx.shapeError("a range of \(count) numbers is more than 2^31", []) }
            let n = count > 0 ? Int(count) : 0
            return [HostTensor(shape: [n], int64s: (0..<n).map { start &+ Int64($0) &* delta })]
        }
        let (start, limit, delta) = (s.floatValues[0], l.floatValues[0], d.floatValues[0])
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else { throw ctx.bad("delta", "start, limit and delta must be finite and delta non-zero") }
        let count = ((Double(limit) - Double(start)) / Double(delta)).rounded(.up)
        guard count <= Double(onnxImportElementLimit) else { throw ctx.shapeError("a range of \(count) numbers is more than 2^31", []) }
        let n = count > 0 ? Int(count) : 0
        // ONNX Runtime adds delta step by step; so does this.
        var values = [Float](repeating: 0, count: n), v = start
        for i in 0..<n { values[i] = v; v += delta }
        return [HostTensor(shape: [n], floats: values)]
    },
]

/// `lstm`: ONNX's LSTM, layout 0, step by step per direction (reverse runs the steps last to first
/// and writes each at its own time index): gates = x·Wᵀ + h·Rᵀ + Wb + Rb in the order i, o, f, c;
/// c = σ(f)·c + σ(i)·tanh(g); h = σ(o)·tanh(c). Sums in float32, in input order, as ONNX
/// Runtime's reference loops do.
private let lstmKernel: Kernel = { ctx in
    try ctx.requireInputs(3...6)
    let (xs, x) = try ctx.floats(0), (ws, w) = try ctx.floats(1), (rs, r) = try ctx.floats(2)
    let hidden = try ctx.attrs.int("hidden_size")
    let direction = try ctx.attrs.string("direction")
    let dirs = direction == "bidirectional" ? 2 : 1
    guard xs.count == 3, ws == [dirs, 4 * hidden, xs[2]], rs == [dirs, 4 * hidden, hidden] else {
        throw ctx.shapeError("expects x [seq, batch, input], w [\(dirs), \(4 * hidden), input], r [\(dirs), \(4 * hidden), \(hidden)]", [xs, ws, rs])
    }
    let (steps, batch, features) = (xs[0], xs[1], xs[2])
    let stateCount = try checkedCount([dirs, batch, hidden], ctx)
    let yCount = try checkedCount([steps, dirs, batch, hidden], ctx)
    var bias = [Float](repeating: 0, count: dirs * 8 * hidden)
    if let b = ctx.optionalInput(3) {
        guard b.shape == [dirs, 8 * hidden], let v = b.floats else { throw ctx.shapeError("b must be [\(dirs), \(8 * hidden)] float32", [b.shape]) }
        bias = v
    }
    func state(_ i: Int, _ name: String) throws -> [Float] {
        guard let t = ctx.optionalInput(i) else { return [Float](repeating: 0, count: stateCount) }
        guard t.shape == [dirs, batch, hidden], let v = t.floats else { throw ctx.shapeError("\(name) must be [\(dirs), \(batch), \(hidden)] float32", [t.shape]) }
        return v
    }
    var hAll = try state(4, "initial_h"), cAll = try state(5, "initial_c")
    var y = [Float](repeating: 0, count: yCount)
    let gates = 4 * hidden
    var z = [Float](repeating: 0, count: gates)
    for d in 0..<dirs {
        let backwards = direction == "reverse" || d == 1
        let wBase = d * gates * features, rBase = d * gates * hidden, bBase = d * 8 * hidden
        for n in 0..<batch {
            let sBase = (d * batch + n) * hidden
            for s in 0..<steps {
                let t = backwards ? steps - 1 - s : s
                let xBase = (t * batch + n) * features
                for j in 0..<gates {
                    var a: Float = 0
                    let wr = wBase + j * features
                    for f in 0..<features { a += x[xBase + f] * w[wr + f] }
                    var b: Float = 0
                    let rr = rBase + j * hidden
                    for k in 0..<hidden { b += hAll[sBase + k] * r[rr + k] }
                    z[j] = a + b + bias[bBase + j] + bias[bBase + gates + j]
                }
                for k in 0..<hidden {
                    let i = sigmoidf(z[k]), o = sigmoidf(z[hidden + k]), f = sigmoidf(z[2 * hidden + k]), g = tanhf(z[3 * hidden + k])
                    let c = f * cAll[sBase + k] + i * g
                    cAll[sBase + k] = c
                    hAll[sBase + k] = o * tanhf(c)
                }
                let yBase = ((t * dirs + d) * batch + n) * hidden
                for k in 0..<hidden { y[yBase + k] = hAll[sBase + k] }
            }
        }
    }
    return [HostTensor(shape: [steps, dirs, batch, hidden], floats: y), HostTensor(shape: [dirs, batch, hidden], floats: hAll),
            HostTensor(shape: [dirs, batch, hidden], floats: cAll)]
}
