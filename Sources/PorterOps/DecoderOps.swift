import Foundation
import PorterCore

// Ops of decoder-only language models (Llama, Mistral, Qwen, Gemma, Phi-3): RMSNorm and
// rotary position embeddings. Gated MLPs, grouped-query attention and soft-capping are
// compositions of the standard ops (docs/ops.md).

/// The rotary frequencies of transformers' `ROPE_INIT_FUNCTIONS` (`modeling_rope_utils.py`),
/// from a node's typed attributes: what the `rotary_embedding` spec validates and the
/// runtime kernel computes with.
public struct RopeFrequencies: Sendable, Equatable {
    public enum Scaling: String, Sendable, CaseIterable {
        case `default`, linear, dynamic, llama3, yarn
    }

    public var theta: Double
    /// Rotated dims per head (even); the rest of the head passes through.
    public var dim: Int
    public var scaling: Scaling
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    /// llama3 / yarn: the context length the model was trained at.
    public var originalMaxPositions: Int?
    /// dynamic: `max_position_embeddings`, beyond which the base is stretched.
    public var maxPositions: Int?
    public var betaFast: Double
    public var betaSlow: Double
    /// yarn: nil derives it from `factor` (and `mscale`, `mscale_all_dim`).
    public var attentionFactor: Double?
    public var mscale: Double?
    public var mscaleAllDim: Double?
    public var truncate: Bool

    public init(theta: Double, dim: Int, scaling: Scaling = .default, factor: Double = 1, lowFreqFactor: Double = 1,
                highFreqFactor: Double = 4, originalMaxPositions: Int? = nil, maxPositions: Int? = nil, betaFast: Double = 32,
                betaSlow: Double = 1, attentionFactor: Double? = nil, mscale: Double? = nil, mscaleAllDim: Double? = nil,
                truncate: Bool = true) {
        self.theta = theta
        self.dim = dim
        self.scaling = scaling
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositions = originalMaxPositions
        self.maxPositions = maxPositions
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.attentionFactor = attentionFactor
        self.mscale = mscale
        self.mscaleAllDim = mscaleAllDim
        self.truncate = truncate
    }

    /// Reads the `rotary_embedding` attributes; `headDim` is the last axis of the input.
    public init(_ a: OpAttributes, headDim: Int) throws {
        let scaling = try a.string("scaling")
        self.init(theta: try a.number("theta"), dim: try a.optionalInt("rotary_dim") ?? headDim,
                  scaling: Scaling(rawValue: scaling) ?? .default, factor: try a.number("factor"),
                  lowFreqFactor: try a.number("low_freq_factor"), highFreqFactor: try a.number("high_freq_factor"),
                  originalMaxPositions: try a.optionalInt("original_max_positions"), maxPositions: try a.optionalInt("max_positions"),
                  betaFast: try a.number("beta_fast"), betaSlow: try a.number("beta_slow"),
                  attentionFactor: try a.value("attention_factor").flatMap { if case let .number(d) = $0 { return d } else { return nil } },
                  mscale: try a.value("mscale").flatMap { if case let .number(d) = $0 { return d } else { return nil } },
                  mscaleAllDim: try a.value("mscale_all_dim").flatMap { if case let .number(d) = $0 { return d } else { return nil } },
                  truncate: try a.bool("truncate"))
    }

    /// Why these parameters cannot make frequencies (attribute, detail), nil when they can.
    public func problem(headDim: Int?) -> (String, String)? {
        if dim < 2 || dim % 2 != 0 { return ("rotary_dim", "\(dim) must be even and at least 2") }
        if let headDim, headDim >= 0, dim > headDim { return ("rotary_dim", "\(dim) is more than the head size \(headDim)") }
        if !(theta > 0) || !theta.isFinite { return ("theta", "\(theta) must be positive") }
        if !(factor > 0) || !factor.isFinite { return ("factor", "\(factor) must be positive") }
        switch scaling {
        case .llama3:
            guard let o = originalMaxPositions, o > 0 else { return ("original_max_positions", "llama3 scaling needs a positive value") }
            if !(highFreqFactor > lowFreqFactor), lowFreqFactor > 0 { return ("high_freq_factor", "must be more than low_freq_factor") }
            if !(lowFreqFactor > 0) { return ("low_freq_factor", "must be positive") }
        case .yarn:
            guard let o = originalMaxPositions, o > 0 else { return ("original_max_positions", "yarn scaling needs a positive value") }
            if !(betaFast > 0), !(betaSlow > 0) { return ("beta_fast", "beta_fast and beta_slow must be positive") }
        case .dynamic:
            guard let m = maxPositions, m > 0 else { return ("max_positions", "dynamic scaling needs a positive value") }
            if dim <= 2 { return ("rotary_dim", "dynamic scaling needs more than 2 rotated dims") }
        case .default, .linear: break
        }
        return nil
    }

    /// `1 / theta^(2i/dim)` for i in 0..<dim/2, each step rounded to float32 as torch does.
    private static func base(_ theta: Double, _ dim: Int) -> [Float] {
        (0..<(dim / 2)).map { i in 1 / Float(pow(theta, Double(Float(2 * i) / Float(dim)))) }
    }

    /// Inverse frequencies (dim / 2 of them) and the factor cos/sin are multiplied by, for a
    /// sequence whose largest position is `maxPosition`.
    public func frequencies(maxPosition: Int) -> (inverse: [Float], attentionScale: Float) {
        switch scaling {
        case .default:
            return (Self.base(theta, dim), 1)
        case .linear:
            return (Self.base(theta, dim).map { $0 / Float(factor) }, 1)
        case .dynamic:
            let seq = maxPosition + 1, m = maxPositions ?? seq
            guard seq > m else { return (Self.base(theta, dim), 1) }
            let stretched = theta * pow(factor * Double(seq) / Double(m) - (factor - 1), Double(dim) / Double(dim - 2))
            return (Self.base(stretched, dim), 1)
        case .llama3:
            let old = Double(originalMaxPositions ?? 1)
            let lowWavelen = old / lowFreqFactor, highWavelen = old / highFreqFactor
            let inv = Self.base(theta, dim).map { f -> Float in
                let wavelen = 2 * Double.pi / Double(f)
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / Float(factor) }
                let smooth = Float((old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor))
                return (1 - smooth) * f / Float(factor) + smooth * f
            }
            return (inv, 1)
        case .yarn:
            func mscaleOf(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            let attention: Double
            if let attentionFactor { attention = attentionFactor }
            else if let mscale, let mscaleAllDim, mscale != 0, mscaleAllDim != 0 { attention = mscaleOf(factor, mscale) / mscaleOf(factor, mscaleAllDim) }
            else { attention = mscaleOf(factor) }
            let original = Double(originalMaxPositions ?? 1)
            func correctionDim(_ rotations: Double) -> Double {
                Double(dim) * log(original / (rotations * 2 * Double.pi)) / (2 * log(theta))
            }
            var low = correctionDim(betaFast), high = correctionDim(betaSlow)
            if truncate { low = low.rounded(.down); high = high.rounded(.up) }
            low = max(low, 0)
            high = min(high, Double(dim - 1))
            if low == high { high += 0.001 }
            let inv = (0..<(dim / 2)).map { i -> Float in
                let posFreq = Float(pow(theta, Double(Float(2 * i) / Float(dim))))
                let extrapolation = 1 / posFreq, interpolation = 1 / (Float(factor) * posFreq)
                let ramp = Float(min(max((Double(i) - low) / (high - low), 0), 1))
                let keep = 1 - ramp
                return interpolation * (1 - keep) + extrapolation * keep
            }
            return (inv, Float(attention))
        }
    }
}

public let decoderOps: [OpSpec] = [
    OpSpec(name: "rms_norm", inputs: [.required("x"), .optional("weight")], attributes: [
        AttributeSpec("epsilon", .number, default: .value(.number(1e-6))),
        AttributeSpec("weight_offset", .number, default: .value(.number(0))),
    ]) { c in
        for i in 0..<2 where c.has(i) { try c.requireFloat(i) }
        if let xs = c.input(0).shape {
            guard let last = xs.last else { throw c.mismatch("x must have rank ≥ 1") }
            if c.has(1), let n = c.input(1).elementCount, Dims.conflict(n, last) {
                throw c.mismatch("the weight has \(n) elements, the last axis \(last)")
            }
        }
        return [ValueType(dtype: .f32, shape: c.input(0).shape)]
    },
    OpSpec(name: "rotary_embedding", inputs: [.required("x"), .required("positions")], attributes: [
        AttributeSpec("theta", .number, default: .required),
        AttributeSpec("rotary_dim", .int),
        AttributeSpec("scaling", .string(allowed: RopeFrequencies.Scaling.allCases.map(\.rawValue)), default: .value(.string("default"))),
        AttributeSpec("factor", .number, default: .value(.number(1))),
        AttributeSpec("low_freq_factor", .number, default: .value(.number(1))),
        AttributeSpec("high_freq_factor", .number, default: .value(.number(4))),
        AttributeSpec("original_max_positions", .int),
        AttributeSpec("max_positions", .int),
        AttributeSpec("beta_fast", .number, default: .value(.number(32))),
        AttributeSpec("beta_slow", .number, default: .value(.number(1))),
        AttributeSpec("attention_factor", .number),
        AttributeSpec("mscale", .number),
        AttributeSpec("mscale_all_dim", .number),
        AttributeSpec("truncate", .bool, default: .value(.bool(true))),
        AttributeSpec("layout", .string(allowed: ["half", "interleaved"]), default: .value(.string("half"))),
    ]) { c in
        try c.requireFloat(0)
        if let d = c.input(1).dtype, d != .i64 { throw c.dtypeError(1, "positions must be integers, are \(d.rawValue)") }
        let xs = Dims.orDynamic(c.input(0).shape, rank: 4)
        guard xs.count == 4 else { throw c.mismatch("x must be [batch, seq, heads, head_dim]") }
        if let ps = c.input(1).shape {
            guard ps.count == 2 else { throw c.mismatch("positions must be [batch, seq]") }
            if Dims.conflict(ps[1], xs[1]) { throw c.mismatch("positions cover \(ps[1]) steps, x has \(xs[1])") }
            if ps[0] != 1, Dims.conflict(ps[0], xs[0]) { throw c.mismatch("positions have batch \(ps[0]), x has \(xs[0])") }
        }
        // With the head size unknown and no rotary_dim, the dim checks wait for the runtime.
        let known = try c.attributes.optionalInt("rotary_dim") != nil || xs[3] >= 0
        let rope = try RopeFrequencies(c.attributes, headDim: xs[3] >= 0 ? xs[3] : 4)
        if let (attribute, detail) = rope.problem(headDim: xs[3]), known || attribute != "rotary_dim" {
            throw c.badAttribute(attribute, detail)
        }
        return [ValueType(dtype: .f32, shape: xs)]
    },
    OpSpec(name: "window_attention_mask", inputs: [.required("mask")], attributes: [AttributeSpec("window", .int, default: .required)]) { c in
        let w = try c.attributes.int("window")
        guard w >= 1 else { throw c.badAttribute("window", "\(w) must be at least 1") }
        let ms = Dims.orDynamic(c.input(0).shape, rank: 2)
        guard ms.count == 2 else { throw c.mismatch("the mask must be [batch, seq]") }
        return [ValueType(dtype: .f32, shape: [ms[0], 1, ms[1], ms[1]])]
    },
]
