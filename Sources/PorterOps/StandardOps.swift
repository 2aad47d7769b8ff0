import PorterCore

/// Shape rules the specs' inference and the runtime's kernels share.
public enum ShapeRules {
    /// `dims` with a 1 inserted at each of `axes` (axes of the result, already normalised).
    public static func unsqueezed(_ dims: [Int], at axes: Set<Int>) -> [Int] {
        var out: [Int] = []
        var next = 0
        for i in 0..<(dims.count + axes.count) {
            if axes.contains(i) { out.append(1) } else { out.append(dims[next]); next += 1 }
        }
        return out
    }
}

/// The op set of `docs/ops.md`, one spec per op.
public enum OpSet {
    /// Every spec, in the order of docs/ops.md.
    public static let all: [OpSpec] = elementwise + shape + linearAlgebra + embeddings + convolution
        + KerasOps.specs + decoderOps + onnxOps + onnxImportOps

    /// Specs by op name.
    public static let standard: [String: OpSpec] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

    public static var names: Set<String> { Set(standard.keys) }

    public static func spec(_ op: String) -> OpSpec? { standard[op] }
}

private func same(_ c: InferenceContext, dtype: DType?) -> [ValueType] { [ValueType(dtype: dtype, shape: c.input(0).shape)] }

// MARK: Elementwise and activations

private func binary(_ name: String, keepsIntegers: Bool) -> OpSpec {
    OpSpec(name: name, inputs: [.required("a"), .required("b")]) { c in
        let a = c.input(0), b = c.input(1)
        var shape: [Int]? = nil
        if let sa = a.shape, let sb = b.shape {
            guard let s = Dims.broadcast(sa, sb) else { throw c.mismatch("operands do not broadcast") }
            shape = s
        }
        return [ValueType(dtype: keepsIntegers ? arithmeticType([a, b]) : .f32, shape: shape)]
    }
}

private func unaryFloat(_ name: String, attributes: [AttributeSpec] = []) -> OpSpec {
    OpSpec(name: name, inputs: [.required("x")], attributes: attributes) { c in
        try c.requireFloat(0)
        return same(c, dtype: .f32)
    }
}

private let elementwise: [OpSpec] = [
    binary("add", keepsIntegers: true),
    binary("sub", keepsIntegers: true),
    binary("mul", keepsIntegers: true),
    binary("div", keepsIntegers: false),
    OpSpec(name: "neg", inputs: [.required("x")]) { c in same(c, dtype: c.input(0).dtype) },
    unaryFloat("exp"), unaryFloat("sqrt"), unaryFloat("rsqrt"), unaryFloat("erf"), unaryFloat("tanh"), unaryFloat("sigmoid"),
    unaryFloat("relu"), unaryFloat("relu6"), unaryFloat("silu"),
    unaryFloat("gelu", attributes: [AttributeSpec("approximate", .string(allowed: ["none", "tanh"]), default: .value(.string("none")))]),
    OpSpec(name: "identity", inputs: [.required("x")]) { c in same(c, dtype: c.input(0).dtype) },
    unaryFloat("scale", attributes: [AttributeSpec("factor", .number, default: .required)]),
    OpSpec(name: "cast", inputs: [.required("x")], attributes: [AttributeSpec("dtype", .string(allowed: ["f32", "i64"]), default: .required)]) { c in
        same(c, dtype: try c.attributes.string("dtype") == "f32" ? .f32 : .i64)
    },
    OpSpec(name: "not_equal", inputs: [.required("x")], attributes: [AttributeSpec("value", .number, default: .required)]) { c in
        same(c, dtype: .i64)
    },
]

// MARK: Tensor shape

private let shape: [OpSpec] = [
    OpSpec(name: "reshape", inputs: [.required("x")], attributes: [AttributeSpec("shape", .ints, default: .required)]) { c in
        let target = try c.attributes.ints("shape")
        guard target.filter({ $0 == -1 }).count <= 1, target.allSatisfy({ $0 >= -1 }) else {
            throw c.badAttribute("shape", "\(target) may hold one -1 and no other negative dim")
        }
        let x = c.input(0)
        guard let xs = x.shape else {
            return [ValueType(dtype: x.dtype, shape: target.map { $0 == 0 ? -1 : $0 })]
        }
        var dims = target
        var copied = Set<Int>()
        for (i, d) in target.enumerated() where d == 0 {
            guard i < xs.count else { throw c.mismatch("shape \(target) copies dim \(i), the input has rank \(xs.count)") }
            dims[i] = xs[i]
            copied.insert(i)
        }
        // Dims copied in place cancel out of the element count on both sides.
        let inferred = target.firstIndex(of: -1)
        let rest = Dims.product(xs.indices.filter { !copied.contains($0) }.map { xs[$0] })
        let known = Dims.product(target.indices.filter { $0 != inferred && !copied.contains($0) }.map { target[$0] })
        if rest >= 0 {
            if let k = inferred {
                guard known > 0, rest % known == 0 else { throw c.mismatch("cannot reshape to \(target): \(rest) elements do not divide into \(known)") }
                dims[k] = rest / known
            } else if known != rest {
                throw c.mismatch("cannot reshape to \(target): \(rest) elements, the target holds \(known)")
            }
        }
        return [ValueType(dtype: x.dtype, shape: dims)]
    },
    OpSpec(name: "transpose", inputs: [.required("x")], attributes: [AttributeSpec("perm", .ints)]) { c in
        let x = c.input(0)
        let perm = try c.attributes.optionalInts("perm")
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: perm.map { [Int](repeating: -1, count: $0.count) })] }
        let normalized = try (perm ?? Array((0..<xs.count).reversed())).map { try c.axis($0, rank: xs.count, attribute: "perm") }
        guard normalized.count == xs.count, Set(normalized).count == xs.count else {
            throw c.badAttribute("perm", "\(perm ?? []) is not a permutation of \(xs.count) axes")
        }
        return [ValueType(dtype: x.dtype, shape: normalized.map { xs[$0] })]
    },
    OpSpec(name: "slice", inputs: [.required("x")], attributes: [
        AttributeSpec("axis", .int, default: .required), AttributeSpec("start", .int, default: .value(.int(0))),
        AttributeSpec("end", .int, default: .value(.int(Int.max))), AttributeSpec("step", .int, default: .value(.int(1))),
    ]) { c in
        let step = try c.attributes.int("step")
        guard step != 0, abs(step) <= 1 << 31 else { throw c.badAttribute("step", "must be non-zero, at most 2^31 either way") }
        let x = c.input(0)
        guard var dims = x.shape else { return [ValueType(dtype: x.dtype, shape: nil)] }
        let axis = try c.axis(try c.attributes.int("axis"), rank: dims.count)
        let length = dims[axis]
        if length >= 0 {
            dims[axis] = sliceBounds(length: length, start: try c.attributes.int("start"), end: try c.attributes.int("end"), step: step).count
        }
        return [ValueType(dtype: x.dtype, shape: dims)]
    },
    OpSpec(name: "concat", inputs: [.variadic("x")], attributes: [AttributeSpec("axis", .int, default: .required)]) { c in
        let parts = (0..<c.inputs.count).map { c.input($0) }
        let dtype = arithmeticType(parts)
        let shapes = parts.compactMap(\.shape)
        guard shapes.count == parts.count, let first = shapes.first else { return [ValueType(dtype: dtype, shape: nil)] }
        let axis = try c.axis(try c.attributes.int("axis"), rank: first.count)
        guard shapes.allSatisfy({ $0.count == first.count }) else { throw c.mismatch("inputs have different ranks") }
        var out = first
        for d in first.indices {
            if d == axis {
                out[d] = shapes.contains { $0[d] < 0 } ? -1 : shapes.reduce(0) { $0 + $1[d] }
                continue
            }
            for s in shapes {
                guard let u = Dims.unify(out[d], s[d]) else { throw c.mismatch("inputs differ off the concat axis (axis \(d): \(out[d]) vs \(s[d]))") }
                out[d] = u
            }
        }
        return [ValueType(dtype: dtype, shape: out)]
    },
    OpSpec(name: "split", inputs: [.required("x")], attributes: [AttributeSpec("axis", .int, default: .required), AttributeSpec("sizes", .ints, default: .required)]) { c in
        let sizes = try c.attributes.ints("sizes")
        guard sizes.allSatisfy({ $0 >= 0 }) else { throw c.badAttribute("sizes", "\(sizes) has a negative size") }
        let x = c.input(0)
        guard let xs = x.shape else { return sizes.map { _ in ValueType(dtype: x.dtype, shape: nil) } }
        let axis = try c.axis(try c.attributes.int("axis"), rank: xs.count)
        if xs[axis] >= 0, sizes.reduce(0, +) != xs[axis] {
            throw c.mismatch("sizes \(sizes) do not sum to axis \(axis)'s length \(xs[axis])")
        }
        return sizes.map { size in
            var d = xs
            d[axis] = size
            return ValueType(dtype: x.dtype, shape: d)
        }
    },
    OpSpec(name: "flatten", inputs: [.required("x")], attributes: [AttributeSpec("axis", .int, default: .value(.int(1)))]) { c in
        let x = c.input(0)
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: [-1, -1])] }
        let axis = try c.axis(try c.attributes.int("axis"), rank: xs.count, inclusive: true)
        return [ValueType(dtype: x.dtype, shape: [Dims.product(xs[..<axis]), Dims.product(xs[axis...])])]
    },
    OpSpec(name: "squeeze", inputs: [.required("x")], attributes: [AttributeSpec("axes", .ints)]) { c in
        let x = c.input(0)
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: nil)] }
        let axes: Set<Int>
        if let list = try c.attributes.optionalInts("axes") {
            axes = Set(try list.map { try c.axis($0, rank: xs.count, attribute: "axes") })
            for a in axes.sorted() where xs[a] >= 0 && xs[a] != 1 { throw c.mismatch("axis \(a) has size \(xs[a]), not 1") }
        } else {
            if xs.contains(where: { $0 < 0 }) { return [ValueType(dtype: x.dtype, shape: nil)] }
            axes = Set(xs.indices.filter { xs[$0] == 1 })
        }
        return [ValueType(dtype: x.dtype, shape: xs.indices.filter { !axes.contains($0) }.map { xs[$0] })]
    },
    OpSpec(name: "unsqueeze", inputs: [.required("x")], attributes: [AttributeSpec("axes", .ints, default: .required)]) { c in
        let x = c.input(0)
        let list = try c.attributes.ints("axes")
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: nil)] }
        let rank = xs.count + list.count
        let axes = Set(try list.map { try c.axis($0, rank: rank, attribute: "axes") })
        guard axes.count == list.count else { throw c.badAttribute("axes", "repeats an axis") }
        return [ValueType(dtype: x.dtype, shape: ShapeRules.unsqueezed(xs, at: axes))]
    },
    // Pads before and after per axis; mode constant (`value`), reflect (mirror without the edge) or edge.
    OpSpec(name: "pad", inputs: [.required("x")], attributes: [
        AttributeSpec("pads", .ints, default: .required), AttributeSpec("value", .number, default: .value(.number(0))),
        AttributeSpec("mode", .string(allowed: ["constant", "reflect", "edge"]), default: .value(.string("constant"))),
    ]) { c in
        let x = c.input(0)
        let flat = try c.attributes.ints("pads")
        guard flat.allSatisfy({ $0 >= 0 }) else { throw c.badAttribute("pads", "\(flat) has a negative amount") }
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: flat.count % 2 == 0 ? [Int](repeating: -1, count: flat.count / 2) : nil)] }
        guard flat.count == 2 * xs.count else { throw c.badAttribute("pads", "needs two numbers per axis (\(2 * xs.count)), has \(flat.count)") }
        return [ValueType(dtype: x.dtype, shape: xs.indices.map { xs[$0] < 0 ? -1 : xs[$0] + flat[2 * $0] + flat[2 * $0 + 1] })]
    },
]

// MARK: Linear algebra and reductions

private let linearAlgebra: [OpSpec] = [
    OpSpec(name: "matmul", inputs: [.required("a"), .required("b")], attributes: [
        AttributeSpec("transpose_a", .bool, default: .value(.bool(false))), AttributeSpec("transpose_b", .bool, default: .value(.bool(false))),
    ]) { c in
        try c.requireFloat(0)
        try c.requireFloat(1)
        guard let sa = c.input(0).shape, let sb = c.input(1).shape else { return [ValueType(dtype: .f32, shape: nil)] }
        guard sa.count >= 2, sb.count >= 2 else { throw c.mismatch("matmul needs operands of rank ≥ 2") }
        let ta = try c.attributes.bool("transpose_a"), tb = try c.attributes.bool("transpose_b")
        let (ar, br) = (sa.count, sb.count)
        let m = ta ? sa[ar - 1] : sa[ar - 2], ka = ta ? sa[ar - 2] : sa[ar - 1]
        let kb = tb ? sb[br - 1] : sb[br - 2], n = tb ? sb[br - 2] : sb[br - 1]
        if Dims.conflict(ka, kb) { throw c.mismatch("inner dimensions differ (\(ka) vs \(kb))") }
        guard let batch = Dims.broadcast(Array(sa.dropLast(2)), Array(sb.dropLast(2))) else { throw c.mismatch("batch axes do not broadcast") }
        return [ValueType(dtype: .f32, shape: batch + [m, n])]
    },
    OpSpec(name: "linear", inputs: [.required("x"), .required("weight"), .optional("bias")], attributes: [
        AttributeSpec("weight_layout", .string(allowed: ["out_in", "in_out"]), default: .value(.string("out_in"))),
    ]) { c in
        for i in 0..<3 where c.has(i) { try c.requireFloat(i) }
        let outIn = try c.attributes.string("weight_layout") == "out_in"
        var outF = -1
        if let ws = c.input(1).shape {
            guard ws.count == 2 else { throw c.mismatch("the weight must be 2-D") }
            let inF = outIn ? ws[1] : ws[0]
            outF = outIn ? ws[0] : ws[1]
            if let xs = c.input(0).shape {
                guard let last = xs.last else { throw c.mismatch("x must have rank ≥ 1") }
                if Dims.conflict(last, inF) { throw c.mismatch("the weight expects \(inF) input features, x has \(last)") }
            }
        }
        if c.has(2), let count = c.input(2).elementCount, Dims.conflict(count, outF) {
            throw c.mismatch("the bias has \(count) elements, expected \(outF)")
        }
        guard let xs = c.input(0).shape else { return [ValueType(dtype: .f32, shape: nil)] }
        guard !xs.isEmpty else { throw c.mismatch("x must have rank ≥ 1") }
        return [ValueType(dtype: .f32, shape: Array(xs.dropLast()) + [outF])]
    },
    OpSpec(name: "mean", inputs: [.required("x")], attributes: [AttributeSpec("axes", .ints), AttributeSpec("keepdims", .bool, default: .value(.bool(false)))]) { c in
        try c.requireFloat(0)
        guard let xs = c.input(0).shape else { return [ValueType(dtype: .f32, shape: nil)] }
        let axes = Set(try (c.attributes.optionalInts("axes") ?? Array(xs.indices)).map { try c.axis($0, rank: xs.count, attribute: "axes") })
        let keep = try c.attributes.bool("keepdims")
        let out = keep ? xs.indices.map { axes.contains($0) ? 1 : xs[$0] } : xs.indices.filter { !axes.contains($0) }.map { xs[$0] }
        return [ValueType(dtype: .f32, shape: out)]
    },
    OpSpec(name: "softmax", inputs: [.required("x")], attributes: [AttributeSpec("axis", .int, default: .value(.int(-1)))]) { c in
        try c.requireFloat(0)
        if let xs = c.input(0).shape { _ = try c.axis(try c.attributes.int("axis"), rank: xs.count) }
        return same(c, dtype: .f32)
    },
    OpSpec(name: "layer_norm", inputs: [.required("x"), .optional("gamma"), .optional("beta")], attributes: [
        AttributeSpec("axis", .int, default: .value(.int(-1))), AttributeSpec("epsilon", .number, default: .value(.number(1e-5))),
    ]) { c in
        for i in 0..<3 where c.has(i) { try c.requireFloat(i) }
        if let xs = c.input(0).shape {
            let axis = try c.axis(try c.attributes.int("axis"), rank: xs.count)
            let width = Dims.product(xs[axis...])
            for i in 1..<3 where c.has(i) {
                if let n = c.input(i).elementCount, Dims.conflict(n, width) {
                    throw c.mismatch("scale/shift have \(n) elements, the normalised axes \(width)")
                }
            }
        }
        return same(c, dtype: .f32)
    },
]

// MARK: Embeddings, positions, masks

private let embeddings: [OpSpec] = [
    OpSpec(name: "gather", inputs: [.required("table"), .required("indices")], attributes: [AttributeSpec("axis", .int, default: .value(.int(0)))]) { c in
        let table = c.input(0), indices = c.input(1)
        guard let ts = table.shape else { return [ValueType(dtype: table.dtype, shape: nil)] }
        let axis = try c.axis(try c.attributes.int("axis"), rank: ts.count)
        guard let ishape = indices.shape else { return [ValueType(dtype: table.dtype, shape: nil)] }
        return [ValueType(dtype: table.dtype, shape: Array(ts[..<axis]) + ishape + Array(ts[(axis + 1)...]))]
    },
    OpSpec(name: "position_ids", inputs: [.required("input_ids")], attributes: [
        AttributeSpec("offset", .int, default: .value(.int(0))), AttributeSpec("padding_idx", .int),
    ]) { c in
        if let xs = c.input(0).shape, xs.isEmpty { throw c.mismatch("input_ids must have a sequence axis") }
        return same(c, dtype: .i64)
    },
    OpSpec(name: "sinusoidal_positions", inputs: [.required("positions")], attributes: [
        AttributeSpec("dim", .int, default: .required), AttributeSpec("padding_idx", .int),
        AttributeSpec("style", .string(allowed: ["fairseq"]), default: .value(.string("fairseq"))),
    ]) { c in
        let dim = try c.attributes.int("dim")
        guard dim >= 2, dim <= 1 << 20 else { throw c.badAttribute("dim", "must be between 2 and 2^20, is \(dim)") }
        return [ValueType(dtype: .f32, shape: c.input(0).shape.map { $0 + [dim] })]
    },
    OpSpec(name: "attention_mask", inputs: [.required("mask")], attributes: [AttributeSpec("causal", .bool, default: .value(.bool(false)))]) { c in
        let ms = Dims.orDynamic(c.input(0).shape, rank: 2)
        guard ms.count == 2 else { throw c.mismatch("the mask must be [batch, seq]") }
        return [ValueType(dtype: .f32, shape: try c.attributes.bool("causal") ? [ms[0], 1, ms[1], ms[1]] : [ms[0], 1, 1, ms[1]])]
    },
    OpSpec(name: "causal_mask", inputs: [.required("x")]) { c in
        let xs = Dims.orDynamic(c.input(0).shape, rank: 2)
        guard xs.count >= 2 else { throw c.mismatch("the input must be [batch, seq, …]") }
        return [ValueType(dtype: .f32, shape: [1, 1, xs[1], xs[1]])]
    },
]

// MARK: Convolution and pooling

private let formats = ["channels_last", "channels_first"]

private func convolution(spatial: Int) -> OpSpec {
    let layouts = spatial == 2 ? ["OIHW", "HWIO", "HWIM"] : ["OIW", "WIO", "WIM"]
    return OpSpec(name: "conv\(spatial)d", inputs: [.required("x"), .required("kernel"), .optional("bias")], attributes: [
        AttributeSpec("strides", .ints), AttributeSpec("dilations", .ints),
        AttributeSpec("padding", .stringOrInts(allowed: ["valid", "same"])), AttributeSpec("groups", .int),
        AttributeSpec("data_format", .string(allowed: formats)),
        AttributeSpec("kernel_layout", .string(allowed: layouts), default: .value(.string(layouts[0]))),
    ]) { c in
        for i in 0..<3 where c.has(i) { try c.requireFloat(i) }
        let layout = try c.attributes.string("kernel_layout")
        let keras = layout.hasPrefix("H") || layout.hasPrefix("W")
        let channelsFirst = (try c.attributes.optionalString("data_format") ?? (keras ? "channels_last" : "channels_first")) == "channels_first"
        let rank = spatial + 2
        let xs = Dims.orDynamic(c.input(0).shape, rank: rank), ks = Dims.orDynamic(c.input(1).shape, rank: rank)
        guard xs.count == rank else { throw c.mismatch("expected a rank-\(rank) input (batch, \(spatial) spatial axes, channels)") }
        guard ks.count == rank else { throw c.mismatch("kernel rank does not fit \(layout)") }
        let channels = channelsFirst ? xs[1] : xs[rank - 1]
        let inputSpatial = channelsFirst ? Array(xs[2...]) : Array(xs[1..<(rank - 1)])
        // Kernel: spatial extents, input channels per group, output channels.
        let kernelSpatial: [Int], inPerGroup: Int, outChannels: Int
        var groups = try c.attributes.optionalInt("groups") ?? 1
        switch layout {
        case "OIHW", "OIW": (outChannels, inPerGroup, kernelSpatial) = (ks[0], ks[1], Array(ks[2...]))
        case "HWIO", "WIO": (kernelSpatial, inPerGroup, outChannels) = (Array(ks[..<spatial]), ks[spatial], ks[spatial + 1])
        default:  // HWIM / WIM
            let cIn = ks[spatial], multiplier = ks[spatial + 1]
            kernelSpatial = Array(ks[..<spatial])
            inPerGroup = 1
            outChannels = cIn >= 0 && multiplier >= 0 ? cIn * multiplier : -1
            if try c.attributes.optionalInt("groups") == nil { groups = cIn }
        }
        if try c.attributes.isSet("groups"), groups < 1 { throw c.badAttribute("groups", "must be at least 1") }
        if groups >= 1, channels >= 0, inPerGroup >= 0, channels != inPerGroup * groups {
            throw c.mismatch("input channels \(channels) do not match the kernel (\(inPerGroup) per group × \(groups) groups)")
        }
        if groups >= 1, outChannels >= 0, outChannels % groups != 0 {
            throw c.mismatch("\(outChannels) output channels do not split into \(groups) groups")
        }
        let strides = try spatialList(c, "strides", rank: spatial, default: [Int](repeating: 1, count: spatial))
        let dilations = try spatialList(c, "dilations", rank: spatial, default: [Int](repeating: 1, count: spatial))
        let mode = try c.attributes.value("padding")
        var outSpatial: [Int] = []
        for a in 0..<spatial {
            let pad = kernelSpatial[a] < 0 ? nil : try spatialPadding(mode, axis: a, spatialRank: spatial, input: inputSpatial[a], kernel: kernelSpatial[a],
                                                                     stride: strides[a], dilation: dilations[a], ctx: c)
            outSpatial.append(try windowOutput(input: inputSpatial[a], kernel: kernelSpatial[a], stride: strides[a], dilation: dilations[a], pad: pad, ctx: c))
        }
        if c.has(2), let n = c.input(2).elementCount, Dims.conflict(n, outChannels) {
            throw c.mismatch("the bias has \(n) elements, expected \(outChannels)")
        }
        return [ValueType(dtype: .f32, shape: channelsFirst ? [xs[0], outChannels] + outSpatial : [xs[0]] + outSpatial + [outChannels])]
    }
}

private func pooling(_ name: String) -> OpSpec {
    OpSpec(name: name, inputs: [.required("x")], attributes: [
        AttributeSpec("kernel", .ints, default: .required), AttributeSpec("strides", .ints),
        AttributeSpec("padding", .string(allowed: ["valid", "same"])),
        AttributeSpec("data_format", .string(allowed: formats), default: .value(.string("channels_last"))),
    ]) { c in
        try c.requireFloat(0)
        let kernel = try c.attributes.ints("kernel")
        let spatial = kernel.count
        guard spatial == 1 || spatial == 2, kernel.allSatisfy({ $0 >= 1 }) else { throw c.badAttribute("kernel", "must list 1 or 2 positive sizes") }
        let channelsFirst = try c.attributes.string("data_format") == "channels_first"
        let rank = spatial + 2
        let xs = Dims.orDynamic(c.input(0).shape, rank: rank)
        guard xs.count == rank else { throw c.mismatch("expected a rank-\(rank) input for a \(spatial)-D window") }
        let strides = try spatialList(c, "strides", rank: spatial, default: kernel)
        let mode = try c.attributes.value("padding")
        let inputSpatial = channelsFirst ? Array(xs[2...]) : Array(xs[1..<(rank - 1)])
        var outSpatial: [Int] = []
        for a in 0..<spatial {
            let pad = try spatialPadding(mode, axis: a, spatialRank: spatial, input: inputSpatial[a], kernel: kernel[a], stride: strides[a], dilation: 1, ctx: c)
            outSpatial.append(try windowOutput(input: inputSpatial[a], kernel: kernel[a], stride: strides[a], dilation: 1, pad: pad, ctx: c))
        }
        let ch = channelsFirst ? xs[1] : xs[rank - 1]
        return [ValueType(dtype: .f32, shape: channelsFirst ? [xs[0], ch] + outSpatial : [xs[0]] + outSpatial + [ch])]
    }
}

private func globalPooling(_ name: String) -> OpSpec {
    OpSpec(name: name, inputs: [.required("x")], attributes: [
        AttributeSpec("data_format", .string(allowed: formats), default: .value(.string("channels_last"))),
        AttributeSpec("keepdims", .bool, default: .value(.bool(false))),
    ]) { c in
        try c.requireFloat(0)
        guard let xs = c.input(0).shape else { return [ValueType(dtype: .f32, shape: try c.attributes.bool("keepdims") ? nil : [-1, -1])] }
        guard xs.count >= 3 else { throw c.mismatch("expected [batch, spatial…, channels] or [batch, channels, spatial…]") }
        let channelsFirst = try c.attributes.string("data_format") == "channels_first"
        let ch = channelsFirst ? xs[1] : xs[xs.count - 1]
        let ones = [Int](repeating: 1, count: xs.count - 2)
        let out = try c.attributes.bool("keepdims") ? (channelsFirst ? [xs[0], ch] + ones : [xs[0]] + ones + [ch]) : [xs[0], ch]
        return [ValueType(dtype: .f32, shape: out)]
    }
}

private let convolution: [OpSpec] = [
    convolution(spatial: 1), convolution(spatial: 2),
    OpSpec(name: "batch_norm", inputs: [.required("x"), .optional("gamma"), .optional("beta"), .required("mean"), .required("variance")], attributes: [
        AttributeSpec("epsilon", .number, default: .value(.number(1e-5))), AttributeSpec("axis", .int, default: .value(.int(-1))),
    ]) { c in
        for i in 0..<5 where c.has(i) { try c.requireFloat(i) }
        if let xs = c.input(0).shape {
            let axis = try c.axis(try c.attributes.int("axis"), rank: xs.count)
            for i in 1..<5 where c.has(i) {
                if let n = c.input(i).elementCount, Dims.conflict(n, xs[axis]) {
                    throw c.mismatch("parameters must have \(xs[axis]) elements (axis \(axis)), '\(c.node.inputs[i])' has \(n)")
                }
            }
        }
        return same(c, dtype: .f32)
    },
    pooling("max_pool"), pooling("avg_pool"),
    globalPooling("global_avg_pool"), globalPooling("global_max_pool"),
]
