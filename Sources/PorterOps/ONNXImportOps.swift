import PorterCore

// Ops real ONNX files need beyond the rest of the set (docs/ops.md, "ONNX import"): `expand`,
// `tile`, `resize`, `conv_transpose` (ONNX's form: channels first, IOHW kernel in groups,
// explicit pads), `instance_norm`, `reduce` (sum, max, min, prod, l1, l2, sum_square,
// log_sum, log_sum_exp), `lstm`, `shape` and `range`. Every number an attribute carries is bounded here, so a
// graph read from a hostile file is refused by name before a kernel allocates anything.

/// Elements at most one op of this file may produce (2^31).
public let onnxImportElementLimit = 1 << 31

/// Dims `dims` copy from `like` where negative (`-1 - axis`), as `fill` does.
private func resolveDims(_ c: InferenceContext, _ dims: [Int], like: [Int]?, attribute: String) throws -> [Int] {
    try dims.map { d -> Int in
        if d >= 0 {
            guard d <= onnxImportElementLimit else { throw c.badAttribute(attribute, "dim \(d) is over 2^31") }
            return d
        }
        guard d >= -(1 << 16) else { throw c.badAttribute(attribute, "\(d) copies no dim") }
        guard let like else { return -1 }
        let axis = -1 - d
        guard axis < like.count else { throw c.badAttribute(attribute, "\(d) copies dim \(axis) of a rank-\(like.count) value") }
        return like[axis]
    }
}

private func checkCount(_ c: InferenceContext, _ shape: [Int]) throws {
    let n = Dims.product(shape)
    if n > onnxImportElementLimit || (n < 0 && shape.allSatisfy { $0 >= 0 }) {
        throw c.mismatch("the output \(shape) has more than 2^31 elements")
    }
}

/// The reductions of `reduce`.
public let reduceFunctions = ["sum", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "log_sum_exp"]

/// LSTM's directions.
public let lstmDirections = ["forward", "reverse", "bidirectional"]

/// Resize's modes and coordinate transformations Porter runs.
public let resizeModes = ["nearest", "linear"]
public let resizeCoordinateModes = ["asymmetric", "half_pixel", "align_corners", "pytorch_half_pixel"]
public let resizeNearestModes = ["floor", "round_prefer_floor", "round_prefer_ceil", "ceil"]

/// Resize's output length for a scale: in float32, truncated, as ONNX Runtime computes it
/// (3 × 5/3 is 5 there, 4.9999… in double). The scale is at most 65536 and the dim 2^31.
public func resizedLength(_ input: Int, _ scale: Double) -> Int {
    Int((Float(input) * Float(scale)).rounded(.towardZero))
}

let onnxImportOps: [OpSpec] = [
    // ONNX Expand: x broadcast against `shape` (1 keeps x's dim; negative copies a dim of `like`).
    OpSpec(name: "expand", inputs: [.required("x"), .optional("like")], attributes: [AttributeSpec("shape", .ints, default: .required)]) { c in
        let x = c.input(0)
        let target = try resolveDims(c, try c.attributes.ints("shape"), like: c.has(1) ? c.input(1).shape : nil, attribute: "shape")
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: nil)] }
        guard let out = Dims.broadcast(xs, target) else { throw c.mismatch("\(xs) does not broadcast to \(target)") }
        try checkCount(c, out)
        return [ValueType(dtype: x.dtype, shape: out)]
    },
    OpSpec(name: "tile", inputs: [.required("x")], attributes: [AttributeSpec("repeats", .ints, default: .required)]) { c in
        let x = c.input(0)
        let repeats = try c.attributes.ints("repeats")
        guard repeats.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw c.badAttribute("repeats", "\(repeats) must each be between 0 and 65536") }
        guard let xs = x.shape else { return [ValueType(dtype: x.dtype, shape: nil)] }
        guard xs.count == repeats.count else { throw c.mismatch("\(repeats.count) repeats for a rank-\(xs.count) input") }
        let out = zip(xs, repeats).map { $0 < 0 ? -1 : $0 * $1 }
        try checkCount(c, out)
        return [ValueType(dtype: x.dtype, shape: out)]
    },
    // ONNX Resize: `sizes` (output dims, negative copying the input's) or `scales` per axis.
    OpSpec(name: "resize", inputs: [.required("x")], attributes: [
        AttributeSpec("mode", .string(allowed: resizeModes), default: .value(.string("nearest"))),
        AttributeSpec("coordinate_transformation_mode", .string(allowed: resizeCoordinateModes), default: .value(.string("half_pixel"))),
        AttributeSpec("nearest_mode", .string(allowed: resizeNearestModes), default: .value(.string("round_prefer_floor"))),
        AttributeSpec("scales", .numbers), AttributeSpec("sizes", .ints),
    ]) { c in
        try c.requireFloat(0)
        let scales = try c.attributes.optionalNumbers("scales"), sizes = try c.attributes.optionalInts("sizes")
        guard (scales == nil) != (sizes == nil) else { throw c.badAttribute("scales", "exactly one of scales and sizes must be set") }
        let rank = scales?.count ?? sizes!.count
        if let scales, !scales.allSatisfy({ $0 > 0 && $0 <= 65536 }) { throw c.badAttribute("scales", "\(scales) must each be above 0 and at most 65536") }
        guard let xs = c.input(0).shape else { return [ValueType(dtype: .f32, shape: [Int](repeating: -1, count: rank))] }
        guard xs.count == rank else { throw c.mismatch("\(rank) scales or sizes for a rank-\(xs.count) input") }
        let out: [Int]
        if let sizes {
            out = try resolveDims(c, sizes, like: xs, attribute: "sizes")
        } else {
            out = zip(xs, scales!).map { d, s in d < 0 ? -1 : resizedLength(d, s) }
        }
        try checkCount(c, out)
        return [ValueType(dtype: .f32, shape: out)]
    },
    // ONNX ConvTranspose, channels first; kernel [in, out/groups, spatial…].
    OpSpec(name: "conv_transpose", inputs: [.required("x"), .required("kernel"), .optional("bias")], attributes: [
        AttributeSpec("strides", .ints), AttributeSpec("dilations", .ints), AttributeSpec("pads", .ints),
        AttributeSpec("output_padding", .ints), AttributeSpec("groups", .int, default: .value(.int(1))),
    ]) { c in
        for i in 0..<3 where c.has(i) { try c.requireFloat(i) }
        let ks = c.input(1).shape
        guard let ks, ks.count == 3 || ks.count == 4 else { throw c.mismatch("the kernel must be [in, out/groups, spatial…] of known rank 3 or 4") }
        let spatial = ks.count - 2
        let xs = Dims.orDynamic(c.input(0).shape, rank: ks.count)
        guard xs.count == ks.count else { throw c.mismatch("expected a rank-\(ks.count) input (batch, channels, spatial…)") }
        let groups = try c.attributes.int("groups")
        guard groups >= 1, groups <= 1 << 16 else { throw c.badAttribute("groups", "\(groups) must be between 1 and 65536") }
        if Dims.conflict(xs[1], ks[0]) { throw c.mismatch("input channels \(xs[1]) do not match the kernel's \(ks[0])") }
        if ks[0] >= 0, ks[0] % groups != 0 { throw c.mismatch("\(ks[0]) input channels do not split into \(groups) groups") }
        func list(_ key: String, _ def: Int, low: Int, count: Int) throws -> [Int] {
            guard let l = try c.attributes.optionalInts(key) else { return [Int](repeating: def, count: count) }
            guard l.count == count, l.allSatisfy({ $0 >= low && $0 <= 1 << 16 }) else {
                throw c.badAttribute(key, "needs \(count) numbers between \(low) and 65536, has \(l)")
            }
            return l
        }
        let strides = try list("strides", 1, low: 1, count: spatial), dilations = try list("dilations", 1, low: 1, count: spatial)
        let pads = try list("pads", 0, low: 0, count: 2 * spatial), outputPadding = try list("output_padding", 0, low: 0, count: spatial)
        for a in 0..<spatial where outputPadding[a] >= max(strides[a], dilations[a]) {
            throw c.badAttribute("output_padding", "\(outputPadding[a]) must be less than the stride or the dilation of axis \(a)")
        }
        var out = [xs[0], ks[1] < 0 ? -1 : ks[1] * groups]
        for a in 0..<spatial {
            let (n, k) = (xs[2 + a], ks[2 + a])
            guard n >= 0, k >= 0 else { out.append(-1); continue }
            let length = strides[a] * (n - 1) + outputPadding[a] + (k - 1) * dilations[a] + 1 - pads[a] - pads[spatial + a]
            guard length >= 1 else { throw c.mismatch("axis \(a) has output length \(length)") }
            out.append(length)
        }
        if c.has(2), let n = c.input(2).elementCount, Dims.conflict(n, out[1]) { throw c.mismatch("the bias has \(n) elements, expected \(out[1])") }
        try checkCount(c, out)
        return [ValueType(dtype: .f32, shape: out)]
    },
    // ONNX InstanceNormalization: each (batch, channel) normalised over the spatial axes.
    OpSpec(name: "instance_norm", inputs: [.required("x"), .required("scale"), .required("bias")], attributes: [
        AttributeSpec("epsilon", .number, default: .value(.number(1e-5))),
    ]) { c in
        for i in 0..<3 { try c.requireFloat(i) }
        let xs = c.input(0).shape
        if let xs, xs.count < 3 { throw c.mismatch("expected [batch, channels, spatial…], rank \(xs.count)") }
        for i in 1...2 { if let xs, let n = c.input(i).elementCount, Dims.conflict(n, xs[1]) { throw c.mismatch("input \(i) has \(n) elements for \(xs[1]) channels") } }
        return [ValueType(dtype: .f32, shape: xs)]
    },
    // ONNX Reduce*: over `axes` (all when absent).
    OpSpec(name: "reduce", inputs: [.required("x")], attributes: [
        AttributeSpec("function", .string(allowed: reduceFunctions), default: .required),
        AttributeSpec("axes", .ints), AttributeSpec("keepdims", .bool, default: .value(.bool(true))),
    ]) { c in
        let x = c.input(0)
        let f = try c.attributes.string("function")
        let keepsIntegers = ["sum", "max", "min", "prod", "l1", "sum_square"].contains(f)
        let dtype: DType? = x.dtype == .i64 && keepsIntegers ? .i64 : (x.dtype == nil ? nil : .f32)
        guard let xs = x.shape else { return [ValueType(dtype: dtype, shape: nil)] }
        let axes = Set(try (c.attributes.optionalInts("axes") ?? Array(xs.indices)).map { try c.axis($0, rank: xs.count, attribute: "axes") })
        let keep = try c.attributes.bool("keepdims")
        let out = keep ? xs.indices.map { axes.contains($0) ? 1 : xs[$0] } : xs.indices.filter { !axes.contains($0) }.map { xs[$0] }
        return [ValueType(dtype: dtype, shape: out)]
    },
    // ONNX LSTM (layout 0): x [seq, batch, input]; w [dirs, 4·hidden, input] and r [dirs, 4·hidden,
    // hidden] with the gates in ONNX's order i, o, f, c; b [dirs, 8·hidden] (input then recurrent
    // biases); initial_h / initial_c [dirs, batch, hidden]. Gates σ, cell and output tanh, no
    // peepholes, no clip. Outputs y [seq, dirs, batch, hidden], y_h and y_c [dirs, batch, hidden].
    OpSpec(name: "lstm", inputs: [.required("x"), .required("w"), .required("r"), .optional("b"),
                                  .optional("initial_h"), .optional("initial_c")], attributes: [
        AttributeSpec("hidden_size", .int, default: .required),
        AttributeSpec("direction", .string(allowed: lstmDirections), default: .value(.string("forward"))),
    ]) { c in
        for i in 0..<6 where c.has(i) { try c.requireFloat(i) }
        let hidden = try c.attributes.int("hidden_size")
        guard hidden >= 1, hidden <= 1 << 16 else { throw c.badAttribute("hidden_size", "\(hidden) must be between 1 and 65536") }
        let dirs = try c.attributes.string("direction") == "bidirectional" ? 2 : 1
        let xs = Dims.orDynamic(c.input(0).shape, rank: 3), ws = Dims.orDynamic(c.input(1).shape, rank: 3), rs = Dims.orDynamic(c.input(2).shape, rank: 3)
        guard xs.count == 3, ws.count == 3, rs.count == 3 else { throw c.mismatch("x, w and r must be 3-D ([seq, batch, input], [dirs, 4·hidden, input], [dirs, 4·hidden, hidden])") }
        if Dims.conflict(ws[0], dirs) || Dims.conflict(ws[1], 4 * hidden) || Dims.conflict(ws[2], xs[2]) {
            throw c.mismatch("w is \(ws), expected [\(dirs), \(4 * hidden), \(xs[2])]")
        }
        if Dims.conflict(rs[0], dirs) || Dims.conflict(rs[1], 4 * hidden) || Dims.conflict(rs[2], hidden) {
            throw c.mismatch("r is \(rs), expected [\(dirs), \(4 * hidden), \(hidden)]")
        }
        if c.has(3), let bs = c.input(3).shape, bs.count != 2 || Dims.conflict(bs[0], dirs) || Dims.conflict(bs[1], 8 * hidden) {
            throw c.mismatch("b is \(bs), expected [\(dirs), \(8 * hidden)]")
        }
        for i in 4...5 where c.has(i) {
            if let s = c.input(i).shape, s.count != 3 || Dims.conflict(s[0], dirs) || Dims.conflict(s[1], xs[1]) || Dims.conflict(s[2], hidden) {
                throw c.mismatch("\(i == 4 ? "initial_h" : "initial_c") is \(s), expected [\(dirs), \(xs[1]), \(hidden)]")
            }
        }
        let y = [xs[0], dirs, xs[1], hidden], state = [dirs, xs[1], hidden]
        try checkCount(c, y)
        return [ValueType(dtype: .f32, shape: y), ValueType(dtype: .f32, shape: state), ValueType(dtype: .f32, shape: state)]
    },
    // ONNX ConstantOfShape whose dims are known only at run time: `value` (f32 or i64) in the shape
    // the int64 vector `shape` holds (at most 2^31 elements).
    OpSpec(name: "constant_of_shape", inputs: [.required("shape")], attributes: [
        AttributeSpec("value", .number, default: .value(.number(0))),
        AttributeSpec("dtype", .string(allowed: ["f32", "i64"]), default: .value(.string("f32"))),
    ]) { c in
        guard c.input(0).dtype == nil || c.input(0).dtype == .i64 else { throw c.mismatch("the shape must be int64") }
        if let r = c.input(0).rank, r != 1 { throw c.mismatch("the shape must be a vector, has rank \(r)") }
        let rank = c.input(0).shape?.first
        return [ValueType(dtype: try c.attributes.string("dtype") == "i64" ? .i64 : .f32, shape: rank.flatMap { $0 >= 0 ? [Int](repeating: -1, count: $0) : nil })]
    },
    // ONNX Expand to a shape known only at run time (an int64 vector): x broadcast against it.
    OpSpec(name: "expand_to", inputs: [.required("x"), .required("shape")]) { c in
        guard c.input(1).dtype == nil || c.input(1).dtype == .i64 else { throw c.mismatch("the shape must be int64") }
        if let r = c.input(1).rank, r != 1 { throw c.mismatch("the shape must be a vector, has rank \(r)") }
        guard let xr = c.input(0).rank, let n = c.input(1).shape?.first, n >= 0 else { return [ValueType(dtype: c.input(0).dtype, shape: nil)] }
        return [ValueType(dtype: c.input(0).dtype, shape: [Int](repeating: -1, count: max(xr, n)))]
    },
    // The dims of x at run time, as int64 (ONNX Shape where the importer cannot fold it).
    OpSpec(name: "shape", inputs: [.required("x")]) { c in
        [ValueType(dtype: .i64, shape: c.input(0).rank.map { [$0] } ?? [-1])]
    },
    // ONNX Range over three scalars read at run time: [start, start + delta, …) below limit.
    OpSpec(name: "range", inputs: [.required("start"), .required("limit"), .required("delta")]) { c in
        for i in 0..<3 { if let r = c.input(i).rank, r != 0 { throw c.mismatch("input \(i) must be a scalar, has rank \(r)") } }
        return [ValueType(dtype: arithmeticType([c.input(0), c.input(1), c.input(2)]), shape: [-1])]
    },
]
