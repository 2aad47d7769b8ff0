import PorterCore

/// Ops the Keras layers need beyond the core set (docs/ops.md, "Keras layers").
public enum KerasOps {
    /// The elementwise functions of the `activation` op, with the defaults of their parameters.
    public static let activationFunctions = [
        "elu", "selu", "softplus", "softsign", "hard_sigmoid", "hard_silu", "leaky_relu", "mish", "celu", "hard_tanh",
        "log_sigmoid", "tanh_shrink", "hard_shrink", "soft_shrink", "squareplus", "sparse_plus", "sparse_sigmoid", "relu",
    ]

    /// Every spec of this file, appended to `OpSet.all`.
    public static let specs: [OpSpec] = [
        OpSpec(name: "activation", inputs: [.required("x")], attributes: [
            AttributeSpec("function", .string(allowed: activationFunctions), default: .required),
            AttributeSpec("alpha", .number), AttributeSpec("beta", .number), AttributeSpec("max_value", .number),
        ]) { c in
            try c.requireFloat(0)
            return [ValueType(dtype: .f32, shape: c.input(0).shape)]
        },
        OpSpec(name: "log_softmax", inputs: [.required("x")], attributes: [AttributeSpec("axis", .int, default: .value(.int(-1)))]) { c in
            try c.requireFloat(0)
            if let xs = c.input(0).shape { _ = try c.axis(try c.attributes.int("axis"), rank: xs.count) }
            return [ValueType(dtype: .f32, shape: c.input(0).shape)]
        },
        OpSpec(name: "sparsemax", inputs: [.required("x")], attributes: [AttributeSpec("axis", .int, default: .value(.int(-1)))]) { c in
            try c.requireFloat(0)
            if let xs = c.input(0).shape { _ = try c.axis(try c.attributes.int("axis"), rank: xs.count) }
            return [ValueType(dtype: .f32, shape: c.input(0).shape)]
        },
        OpSpec(name: "glu", inputs: [.required("x")], attributes: [AttributeSpec("axis", .int, default: .value(.int(-1)))]) { c in
            try c.requireFloat(0)
            guard var xs = c.input(0).shape else { return [ValueType(dtype: .f32, shape: nil)] }
            let axis = try c.axis(try c.attributes.int("axis"), rank: xs.count)
            if xs[axis] >= 0 {
                guard xs[axis] % 2 == 0 else { throw c.mismatch("glu halves axis \(axis), which has an odd size \(xs[axis])") }
                xs[axis] /= 2
            }
            return [ValueType(dtype: .f32, shape: xs)]
        },
        binaryFloat("maximum"), binaryFloat("minimum"), binaryFloat("prelu"),
        OpSpec(name: "repeat", inputs: [.required("x")], attributes: [
            AttributeSpec("axis", .int, default: .required), AttributeSpec("repeats", .int, default: .required),
        ]) { c in
            let repeats = try c.attributes.int("repeats")
            guard repeats >= 1, repeats <= 1 << 16 else { throw c.badAttribute("repeats", "must be between 1 and 65536, is \(repeats)") }
            let x = c.input(0)
            guard var dims = x.shape else { return [ValueType(dtype: x.dtype, shape: nil)] }
            let axis = try c.axis(try c.attributes.int("axis"), rank: dims.count)
            if dims[axis] >= 0 { dims[axis] *= repeats }
            return [ValueType(dtype: x.dtype, shape: dims)]
        },
        convTranspose(spatial: 1), convTranspose(spatial: 2),
        recurrent,
        OpSpec(name: "masking", inputs: [.required("x")], attributes: [AttributeSpec("mask_value", .number, default: .value(.number(0)))]) { c in
            try c.requireFloat(0)
            let xs = c.input(0).shape
            guard xs.map({ $0.count >= 2 }) ?? true else { throw c.mismatch("expected [batch, time, …]") }
            return [ValueType(dtype: .f32, shape: xs), ValueType(dtype: .i64, shape: xs.map { Array($0.prefix(2)) })]
        },
    ]

    /// Activations a recurrent cell may use (`hard_sigmoid` is Keras 3's, `hard_sigmoid_tf_keras` tf-keras 2's).
    public static let recurrentActivations = ["tanh", "sigmoid", "relu", "linear", "hard_sigmoid", "hard_sigmoid_tf_keras"] + activationFunctions.filter { $0 != "hard_sigmoid" && $0 != "relu" }

    /// A Keras recurrent layer over `[batch, time, features]`: cell `simple` (SimpleRNN), `lstm`
    /// (gates i, f, c, o) or `gru` (gates z, r, h; `reset_after` as Keras). An optional mask
    /// `[batch, time]` keeps the state over masked steps.
    static let recurrent = OpSpec(name: "rnn", inputs: [.required("x"), .required("kernel"), .required("recurrent_kernel"), .optional("bias"), .optional("mask")], attributes: [
        AttributeSpec("cell", .string(allowed: ["simple", "lstm", "gru"]), default: .required),
        AttributeSpec("activation", .string(allowed: recurrentActivations), default: .value(.string("tanh"))),
        AttributeSpec("recurrent_activation", .string(allowed: recurrentActivations), default: .value(.string("sigmoid"))),
        AttributeSpec("return_sequences", .bool, default: .value(.bool(false))),
        AttributeSpec("go_backwards", .bool, default: .value(.bool(false))),
        AttributeSpec("reset_after", .bool, default: .value(.bool(true))),
        AttributeSpec("zero_output_for_mask", .bool, default: .value(.bool(false))),
        // With go_backwards: write step outputs at their original time index (Bidirectional's flip back).
        AttributeSpec("align_outputs", .bool, default: .value(.bool(false))),
    ]) { c in
        for i in 0..<3 { try c.requireFloat(i) }
        let gates = ["simple": 1, "lstm": 4, "gru": 3][try c.attributes.string("cell")]!
        let xs = Dims.orDynamic(c.input(0).shape, rank: 3), ks = Dims.orDynamic(c.input(1).shape, rank: 2), rs = Dims.orDynamic(c.input(2).shape, rank: 2)
        guard xs.count == 3 else { throw c.mismatch("expected x [batch, time, features]") }
        guard ks.count == 2, rs.count == 2 else { throw c.mismatch("kernel and recurrent_kernel must be 2-D") }
        let units = rs[0]
        if Dims.conflict(ks[0], xs[2]) { throw c.mismatch("the kernel expects \(ks[0]) features, x has \(xs[2])") }
        if units >= 0, Dims.conflict(ks[1], gates * units) || Dims.conflict(rs[1], gates * units) {
            throw c.mismatch("kernels must have \(gates) × \(units) columns")
        }
        let out = try c.attributes.bool("return_sequences") ? [xs[0], xs[1], units] : [xs[0], units]
        return [ValueType(dtype: .f32, shape: out)]
    }

    private static func binaryFloat(_ name: String) -> OpSpec {
        OpSpec(name: name, inputs: [.required("a"), .required("b")]) { c in
            try c.requireFloat(0)
            try c.requireFloat(1)
            guard let sa = c.input(0).shape, let sb = c.input(1).shape else { return [ValueType(dtype: .f32, shape: nil)] }
            guard let s = Dims.broadcast(sa, sb) else { throw c.mismatch("operands do not broadcast") }
            return [ValueType(dtype: .f32, shape: s)]
        }
    }

    /// Output length of a transposed convolution along one axis (Keras' `deconv_output_length`).
    public static func transposedLength(input: Int, kernel: Int, stride: Int, dilation: Int, same: Bool, outputPadding: Int?) -> Int {
        let k = (kernel - 1) * dilation + 1
        guard let op = outputPadding else { return same ? input * stride : input * stride + max(k - stride, 0) }
        let pad = same ? k / 2 : 0
        return (input - 1) * stride + k - 2 * pad + op
    }

    /// Padding before the first output of a transposed convolution (TensorFlow's gradient of
    /// a convolution from `output` to `input` with the same padding mode).
    public static func transposedPadBefore(input: Int, output: Int, kernel: Int, stride: Int, dilation: Int, same: Bool) -> Int {
        guard same else { return 0 }
        let k = (kernel - 1) * dilation + 1
        return max((input - 1) * stride + k - output, 0) / 2
    }

    /// Transposed convolution, channels last, Keras kernel layout (`HWOI` / `WOI`: spatial
    /// extents, output channels, input channels).
    private static func convTranspose(spatial: Int) -> OpSpec {
        OpSpec(name: "conv_transpose\(spatial)d", inputs: [.required("x"), .required("kernel"), .optional("bias")], attributes: [
            AttributeSpec("strides", .ints), AttributeSpec("dilations", .ints),
            AttributeSpec("padding", .string(allowed: ["valid", "same"]), default: .value(.string("valid"))),
            AttributeSpec("output_padding", .ints),
            AttributeSpec("kernel_layout", .string(allowed: [spatial == 2 ? "HWOI" : "WOI"]), default: .value(.string(spatial == 2 ? "HWOI" : "WOI"))),
        ]) { c in
            for i in 0..<3 where c.has(i) { try c.requireFloat(i) }
            let rank = spatial + 2
            let xs = Dims.orDynamic(c.input(0).shape, rank: rank), ks = Dims.orDynamic(c.input(1).shape, rank: rank)
            guard xs.count == rank else { throw c.mismatch("expected a rank-\(rank) input (batch, \(spatial) spatial axes, channels)") }
            guard ks.count == rank else { throw c.mismatch("the kernel must have rank \(rank) (spatial…, out, in)") }
            if Dims.conflict(xs[rank - 1], ks[rank - 1]) { throw c.mismatch("input channels \(xs[rank - 1]) do not match the kernel's \(ks[rank - 1])") }
            let strides = try spatialList(c, "strides", rank: spatial, default: [Int](repeating: 1, count: spatial))
            let dilations = try spatialList(c, "dilations", rank: spatial, default: [Int](repeating: 1, count: spatial))
            let outputPadding = try c.attributes.optionalInts("output_padding")
            if let op = outputPadding, op.count != spatial || op.contains(where: { $0 < 0 }) {
                throw c.badAttribute("output_padding", "needs \(spatial) non-negative numbers, has \(op)")
            }
            let same = try c.attributes.string("padding") == "same"
            var out = [xs[0]]
            for a in 0..<spatial {
                let (n, k) = (xs[1 + a], ks[a])
                out.append(n < 0 || k < 0 ? -1 : transposedLength(input: n, kernel: k, stride: strides[a], dilation: dilations[a], same: same, outputPadding: outputPadding?[a]))
            }
            out.append(ks[spatial])
            if c.has(2), let n = c.input(2).elementCount, Dims.conflict(n, ks[spatial]) {
                throw c.mismatch("the bias has \(n) elements, expected \(ks[spatial])")
            }
            return [ValueType(dtype: .f32, shape: out)]
        }
    }
}
