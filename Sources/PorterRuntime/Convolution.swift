import Foundation
import PorterCore
import PorterOps

/// A batch of images as NHWC (1-D inputs get H = 1), plus how to undo the layout change.
private struct ChannelsLast {
    var values: [Float]
    var n: Int, h: Int, w: Int, c: Int
    var spatialRank: Int
    var channelsFirst: Bool

    init(_ x: [Float], shape: [Int], spatialRank: Int, channelsFirst: Bool, ctx: NodeContext) throws {
        guard shape.count == spatialRank + 2 else {
            throw ctx.shapeError("expected a rank-\(spatialRank + 2) input (batch, \(spatialRank) spatial axes, channels)", [shape])
        }
        self.spatialRank = spatialRank
        self.channelsFirst = channelsFirst
        var nhwc = shape
        if channelsFirst {
            let perm = spatialRank == 2 ? [0, 2, 3, 1] : [0, 2, 1]
            values = permute(x, shape: shape, perm: perm, zero: 0)
            nhwc = perm.map { shape[$0] }
        } else {
            values = x
        }
        n = nhwc[0]
        c = nhwc[nhwc.count - 1]
        h = spatialRank == 2 ? nhwc[1] : 1
        w = nhwc[nhwc.count - 2]
    }

    /// Shape and values of an NHWC result in the input's layout.
    func restore(_ out: [Float], oh: Int, ow: Int, oc: Int) -> HostTensor {
        let nhwc = spatialRank == 2 ? [n, oh, ow, oc] : [n, ow, oc]
        guard channelsFirst else { return HostTensor(shape: nhwc, floats: out) }
        let perm = spatialRank == 2 ? [0, 3, 1, 2] : [0, 2, 1]
        return HostTensor(shape: perm.map { nhwc[$0] }, floats: permute(out, shape: nhwc, perm: perm, zero: 0))
    }
}

/// (before, after) padding of one spatial axis.
private func axisPadding(_ mode: AttributeValue?, axis: Int, spatialRank: Int, input: Int, kernel: Int, stride: Int,
                         dilation: Int, ctx: NodeContext) throws -> (Int, Int) {
    let extent = (kernel - 1) * dilation + 1
    switch mode {
    case nil, .some(.string("valid")):
        return (0, 0)
    case .some(.string("same")):
        let out = (input + stride - 1) / stride
        let total = max((out - 1) * stride + extent - input, 0)
        return (total / 2, total - total / 2)
    case let .some(.ints(list)) where !list.isEmpty:
        if list.count == 1 { return (list[0], list[0]) }
        if list.count == spatialRank { return (list[axis], list[axis]) }
        if list.count == 2 * spatialRank { return (list[2 * axis], list[2 * axis + 1]) }
        throw ctx.bad("padding", "has \(list.count) numbers; expected \(spatialRank) (symmetric) or \(2 * spatialRank) (before/after per axis)")
    default:
        throw ctx.bad("padding", "must be \"valid\", \"same\" or a list of integers")
    }
}

private func spatialList(_ ctx: NodeContext, _ key: String, rank: Int, default value: [Int]) throws -> [Int] {
    guard let list = try ctx.attrs.optionalInts(key) else { return value }
    if list.count == 1, list[0] >= 1 { return [Int](repeating: list[0], count: rank) }
    guard list.count == rank, list.allSatisfy({ $0 >= 1 }) else { throw ctx.bad(key, "needs \(rank) positive numbers, has \(list)") }
    return list
}

private func convolution(spatialRank: Int) -> Kernel {
    return { ctx in
        try ctx.requireInputs(2...3)
        let (xShape, x) = try ctx.floats(0)
        let (kShape, k) = try ctx.floats(1)
        let layout = try ctx.attrs.string("kernel_layout")
        let kerasLayout = layout.hasPrefix("H") || layout.hasPrefix("W")
        let format = try ctx.attrs.optionalString("data_format") ?? (kerasLayout ? "channels_last" : "channels_first")
        guard format == "channels_last" || format == "channels_first" else { throw ctx.bad("data_format", "is '\(format)'") }
        let input = try ChannelsLast(x, shape: xShape, spatialRank: spatialRank, channelsFirst: format == "channels_first", ctx: ctx)
        guard kShape.count == spatialRank + 2 else { throw ctx.shapeError("kernel rank does not fit \(layout)", [xShape, kShape]) }
        // Kernel as [kh, kw, inPerGroup, out].
        var kh = 1, kw: Int, inPerGroup: Int, outChannels: Int
        var weights: [Float]
        var groups = try ctx.attrs.optionalInt("groups") ?? 1
        switch (layout, spatialRank) {
        case ("OIHW", 2):
            (outChannels, inPerGroup, kh, kw) = (kShape[0], kShape[1], kShape[2], kShape[3])
            weights = permute(k, shape: kShape, perm: [2, 3, 1, 0], zero: 0)
        case ("OIW", 1):
            (outChannels, inPerGroup, kw) = (kShape[0], kShape[1], kShape[2])
            weights = permute(k, shape: kShape, perm: [2, 1, 0], zero: 0)
        case ("HWIO", 2):
            (kh, kw, inPerGroup, outChannels) = (kShape[0], kShape[1], kShape[2], kShape[3])
            weights = k
        case ("WIO", 1):
            (kw, inPerGroup, outChannels) = (kShape[0], kShape[1], kShape[2])
            weights = k
        case ("HWIM", 2), ("WIM", 1):
            let c = kShape[spatialRank]
            let multiplier = kShape[spatialRank + 1]
            if spatialRank == 2 { (kh, kw) = (kShape[0], kShape[1]) } else { kw = kShape[0] }
            (inPerGroup, outChannels) = (1, c * multiplier)
            if try !ctx.attrs.isSet("groups") { groups = c }
            weights = k  // [kh, kw, C, M] is [kh, kw, 1, C·M] in memory
        default:
            throw ctx.bad("kernel_layout", "is '\(layout)', which does not fit conv\(spatialRank)d")
        }
        guard groups >= 1, input.c == inPerGroup * groups, outChannels % groups == 0 else {
            throw ctx.shapeError("input channels \(input.c) do not match kernel (\(inPerGroup) per group × \(groups) groups, \(outChannels) out)", [xShape, kShape])
        }
        let strides = try spatialList(ctx, "strides", rank: spatialRank, default: [Int](repeating: 1, count: spatialRank))
        let dilations = try spatialList(ctx, "dilations", rank: spatialRank, default: [Int](repeating: 1, count: spatialRank))
        let (sh, sw) = spatialRank == 2 ? (strides[0], strides[1]) : (1, strides[0])
        let (dh, dw) = spatialRank == 2 ? (dilations[0], dilations[1]) : (1, dilations[0])
        let mode = try ctx.attrs.value("padding")
        let padH = spatialRank == 2 ? try axisPadding(mode, axis: 0, spatialRank: 2, input: input.h, kernel: kh, stride: sh, dilation: dh, ctx: ctx) : (0, 0)
        let padW = try axisPadding(mode, axis: spatialRank - 1, spatialRank: spatialRank, input: input.w, kernel: kw, stride: sw, dilation: dw, ctx: ctx)
        let oh = (input.h + padH.0 + padH.1 - ((kh - 1) * dh + 1)) / sh + 1
        let ow = (input.w + padW.0 + padW.1 - ((kw - 1) * dw + 1)) / sw + 1
        guard oh >= 1, ow >= 1 else { throw ctx.shapeError("the kernel is larger than the padded input", [xShape, kShape]) }
        let outPerGroup = outChannels / groups
        let positions = input.n * oh * ow
        let depth = kh * kw * inPerGroup
        var out = [Float](repeating: 0, count: positions * outChannels)
        var cols = [Float](repeating: 0, count: positions * depth)
        let (H, W, C) = (input.h, input.w, input.c)
        for g in 0..<groups {
            // im2col for this group: row (n, y, x), column (ky, kx, ci).
            cols.withUnsafeMutableBufferPointer { cp in
                input.values.withUnsafeBufferPointer { xp in
                    nonisolated(unsafe) let (cp, xp) = (cp, xp)
                    parallelChunks(positions, minimumPerChunk: 256) { range in
                        for p in range {
                            let n = p / (oh * ow), y = (p / ow) % oh, xo = p % ow
                            var col = p * depth
                            for ky in 0..<kh {
                                let iy = y * sh - padH.0 + ky * dh
                                for kx in 0..<kw {
                                    let ix = xo * sw - padW.0 + kx * dw
                                    if iy < 0 || iy >= H || ix < 0 || ix >= W {
                                        for ci in 0..<inPerGroup { cp[col + ci] = 0 }
                                    } else {
                                        let src = ((n * H + iy) * W + ix) * C + g * inPerGroup
                                        for ci in 0..<inPerGroup { cp[col + ci] = xp[src + ci] }
                                    }
                                    col += inPerGroup
                                }
                            }
                        }
                    }
                }
            }
            cols.withUnsafeBufferPointer { cp in weights.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
                sgemm(transA: false, transB: false, m: positions, n: outPerGroup, k: depth, a: cp.baseAddress!, lda: depth,
                      b: wp.baseAddress! + g * outPerGroup, ldb: outChannels, beta: 0, c: op.baseAddress! + g * outPerGroup, ldc: outChannels)
            } } }
        }
        if ctx.optionalInput(2) != nil {
            let bias = try ctx.floats(2).values
            guard bias.count == outChannels else { throw ctx.shapeError("bias has \(bias.count) elements, expected \(outChannels)", [xShape, kShape, [bias.count]]) }
            for p in 0..<positions { for o in 0..<outChannels { out[p * outChannels + o] += bias[o] } }
        }
        return [input.restore(out, oh: oh, ow: ow, oc: outChannels)]
    }
}

private func pooling(max isMax: Bool) -> Kernel {
    return { ctx in
        try ctx.requireInputs(1...1)
        let (xShape, x) = try ctx.floats(0)
        let kernel = try ctx.attrs.ints("kernel")
        let rank = kernel.count
        guard rank == 1 || rank == 2, kernel.allSatisfy({ $0 >= 1 }) else { throw ctx.bad("kernel", "must list 1 or 2 positive sizes") }
        let format = try ctx.attrs.string("data_format")
        let input = try ChannelsLast(x, shape: xShape, spatialRank: rank, channelsFirst: format == "channels_first", ctx: ctx)
        let strides = try spatialList(ctx, "strides", rank: rank, default: kernel)
        let mode = try ctx.attrs.value("padding")
        let (kh, kw) = rank == 2 ? (kernel[0], kernel[1]) : (1, kernel[0])
        let (sh, sw) = rank == 2 ? (strides[0], strides[1]) : (1, strides[0])
        let padH = rank == 2 ? try axisPadding(mode, axis: 0, spatialRank: 2, input: input.h, kernel: kh, stride: sh, dilation: 1, ctx: ctx) : (0, 0)
        let padW = try axisPadding(mode, axis: rank - 1, spatialRank: rank, input: input.w, kernel: kw, stride: sw, dilation: 1, ctx: ctx)
        let oh = (input.h + padH.0 + padH.1 - kh) / sh + 1
        let ow = (input.w + padW.0 + padW.1 - kw) / sw + 1
        guard oh >= 1, ow >= 1 else { throw ctx.shapeError("the pooling window is larger than the padded input", [xShape]) }
        let (H, W, C) = (input.h, input.w, input.c)
        var out = [Float](repeating: 0, count: input.n * oh * ow * C)
        for n in 0..<input.n {
            for y in 0..<oh {
                for xo in 0..<ow {
                    let y0 = max(y * sh - padH.0, 0), y1 = min(y * sh - padH.0 + kh, H)
                    let x0 = max(xo * sw - padW.0, 0), x1 = min(xo * sw - padW.0 + kw, W)
                    let count = Float(max((y1 - y0) * (x1 - x0), 1))
                    let dst = ((n * oh + y) * ow + xo) * C
                    for c in 0..<C {
                        var acc: Float = isMax ? -.infinity : 0
                        for iy in y0..<y1 {
                            for ix in x0..<x1 {
                                let v = input.values[((n * H + iy) * W + ix) * C + c]
                                if isMax { acc = max(acc, v) } else { acc += v }
                            }
                        }
                        out[dst + c] = isMax ? acc : acc / count
                    }
                }
            }
        }
        return [input.restore(out, oh: oh, ow: ow, oc: C)]
    }
}

private func globalPooling(max isMax: Bool) -> Kernel {
    return { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        guard shape.count >= 3 else { throw ctx.shapeError("expected [batch, spatial…, channels] or [batch, channels, spatial…]", [shape]) }
        let channelsFirst = try ctx.attrs.string("data_format") == "channels_first"
        let keep = try ctx.attrs.bool("keepdims")
        let n = shape[0]
        let c = channelsFirst ? shape[1] : shape[shape.count - 1]
        let spatial = shape.count - 2
        let area = channelsFirst ? shape[2...].reduce(1, *) : shape[1..<(shape.count - 1)].reduce(1, *)
        var out = [Float](repeating: isMax ? -.infinity : 0, count: n * c)
        for b in 0..<n {
            for s in 0..<area {
                for ch in 0..<c {
                    let v = channelsFirst ? x[(b * c + ch) * area + s] : x[(b * area + s) * c + ch]
                    if isMax { out[b * c + ch] = max(out[b * c + ch], v) } else { out[b * c + ch] += v }
                }
            }
        }
        if !isMax { out = out.map { $0 / Float(max(area, 1)) } }
        let ones = [Int](repeating: 1, count: spatial)
        let outShape = !keep ? [n, c] : (channelsFirst ? [n, c] + ones : [n] + ones + [c])
        return [HostTensor(shape: outShape, floats: out)]
    }
}

let convolutionKernels: KeyValuePairs<String, Kernel> = [
    "conv1d": convolution(spatialRank: 1),
    "conv2d": convolution(spatialRank: 2),
    "max_pool": pooling(max: true),
    "avg_pool": pooling(max: false),
    "global_avg_pool": globalPooling(max: false),
    "global_max_pool": globalPooling(max: true),
    "batch_norm": { ctx in
        try ctx.requireInputs(5...5)
        let (shape, x) = try ctx.floats(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: shape.count)
        let epsilon = Float(try ctx.attrs.number("epsilon"))
        let (outer, channels, inner) = around(shape, axis: axis)
        let mean = try ctx.floats(3).values, variance = try ctx.floats(4).values
        let gamma = ctx.optionalInput(1) != nil ? try ctx.floats(1).values : [Float](repeating: 1, count: channels)
        let beta = ctx.optionalInput(2) != nil ? try ctx.floats(2).values : [Float](repeating: 0, count: channels)
        for p in [mean, variance, gamma, beta] where p.count != channels {
            throw ctx.shapeError("parameters must have \(channels) elements (axis \(axis)), one has \(p.count)", [shape, [p.count]])
        }
        let scale = (0..<channels).map { gamma[$0] / sqrtf(variance[$0] + epsilon) }
        let shift = (0..<channels).map { beta[$0] - mean[$0] * scale[$0] }
        var out = x
        for o in 0..<outer {
            for ch in 0..<channels {
                let base = (o * channels + ch) * inner
                for i in 0..<inner { out[base + i] = x[base + i] * scale[ch] + shift[ch] }
            }
        }
        return [HostTensor(shape: shape, floats: out)]
    },
]
