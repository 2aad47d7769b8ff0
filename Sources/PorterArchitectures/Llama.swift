import Foundation
import PorterCore

/// Decoder-only language models of the Llama lineage: one typed config and one graph
/// builder (`DecoderGraph`) shared by Llama, Mistral, Qwen2 and Qwen3 (this file), Gemma /
/// Gemma 2 (`Gemma.swift`) and Phi-3 (`Phi3.swift`); each family is a thin descriptor that
/// states its own defaults, tensor names and GGUF architecture.
///
/// The graph is transformers' `*ForCausalLM`: embedding → N × [RMSNorm, q/k/v projections,
/// rotary embedding (rotate_half convention), grouped-query causal attention, o_proj,
/// residual, RMSNorm, gated MLP (`act(gate) · up` → down), residual] → RMSNorm → `lm_head`
/// (or the embeddings when tied). Inputs `input_ids` and `attention_mask` (int64
/// `[batch, seq]`); positions are `0..<seq` per row, as transformers uses without
/// `position_ids` or a cache; output `logits`.
public struct DecoderConfig: ArchitectureConfig, Equatable {
    /// The config's `model_type` (`llama`, `mistral`, `qwen2`, `qwen3`, `gemma`, `gemma2`, `phi3`):
    /// it decides the family defaults below.
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// nil: `hidden_size / num_attention_heads`.
    public var headDimension: Int?
    public var rmsNormEps: Double
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool
    public var mlpBias: Bool
    /// `hidden_act` (Gemma: `hidden_activation`).
    public var hiddenAct: String
    public var rope: Rope
    /// Mistral / Qwen2 / Gemma 2 sliding-window attention span, nil when every layer attends to all.
    public var slidingWindow: Int?
    /// Per layer: `sliding_attention` or `full_attention` (transformers' `layer_types`), nil for the family default.
    public var layerTypes: [String]?
    /// Qwen2: whether `sliding_window` is used at all, and from which layer.
    public var useSlidingWindow: Bool
    public var maxWindowLayers: Int
    /// Gemma 2: attention scale `query_pre_attn_scalar^-0.5` (default 256).
    public var queryPreAttnScalar: Double?
    /// Gemma 2 soft-capping `cap · tanh(x / cap)` of the attention scores and the logits (nil: none).
    public var attnLogitSoftcapping: Double?
    public var finalLogitSoftcapping: Double?

    /// transformers' rope parameters: `rope_parameters` (transformers 5) or `rope_theta` +
    /// `rope_scaling` (4.x, `type` or `rope_type`), with `partial_rotary_factor` (Phi-3).
    public struct Rope: Equatable, Sendable {
        public var theta: Double
        public var type: String
        public var factor: Double?
        public var lowFreqFactor: Double?
        public var highFreqFactor: Double?
        public var originalMaxPositionEmbeddings: Int?
        public var betaFast: Double?
        public var betaSlow: Double?
        public var attentionFactor: Double?
        public var mscale: Double?
        public var mscaleAllDim: Double?
        public var truncate: Bool?
        public var partialRotaryFactor: Double
    }

    public var headDim: Int { headDimension ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0) }
    public var rotaryDim: Int { Int(Double(headDim) * rope.partialRotaryFactor) }

    var isGemma: Bool { modelType == "gemma" || modelType == "gemma2" }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDimension = "head_dim", layerTypes = "layer_types"
    }

    /// Only the sizes (and `layer_types`, one per layer) are written back (`porter tiny`); every
    /// other key of the source config stays as it was.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encodeIfPresent(headDimension, forKey: .headDimension)
        try c.encodeIfPresent(layerTypes, forKey: .layerTypes)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.configContainer(DecoderConfig.self)
        let type = try c.optional(String.self, "model_type") ?? c.model
        modelType = type
        let gemma = type == "gemma" || type == "gemma2"
        vocabSize = try c.required(Int.self, "vocab_size")
        hiddenSize = try c.required(Int.self, "hidden_size")
        intermediateSize = try c.required(Int.self, "intermediate_size")
        numHiddenLayers = try c.required(Int.self, "num_hidden_layers")
        numAttentionHeads = try c.required(Int.self, "num_attention_heads")
        numKeyValueHeads = try c.value(Int.self, "num_key_value_heads", default: numAttentionHeads)
        headDimension = try c.optional(Int.self, "head_dim")
        try c.check(hiddenSize > 0, "hidden_size", "\(hiddenSize) must be positive")
        try c.check(intermediateSize > 0, "intermediate_size", "\(intermediateSize) must be positive")
        try c.check(vocabSize > 0, "vocab_size", "\(vocabSize) must be positive")
        try c.check(numHiddenLayers >= 0, "num_hidden_layers", "\(numHiddenLayers) is negative")
        try c.check(numAttentionHeads > 0, "num_attention_heads", "\(numAttentionHeads) must be positive")
        try c.check(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0, "num_key_value_heads",
                    "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        if let h = headDimension {
            try c.check(h > 0, "head_dim", "\(h) must be positive")
        } else {
            try c.check(hiddenSize % numAttentionHeads == 0, "num_attention_heads", "\(numAttentionHeads) does not divide hidden_size \(hiddenSize) (and there is no head_dim)")
        }
        rmsNormEps = try c.value(Double.self, "rms_norm_eps", default: type == "phi3" ? 1e-5 : 1e-6)
        let defaultPositions = ["mistral": 131072, "qwen2": 32768, "qwen3": 32768, "gemma": 8192, "gemma2": 8192, "phi3": 4096][type] ?? 2048
        maxPositionEmbeddings = try c.value(Int.self, "max_position_embeddings", default: defaultPositions)
        tieWordEmbeddings = try c.value(Bool.self, "tie_word_embeddings", default: gemma)
        attentionBias = try c.value(Bool.self, "attention_bias", default: type == "qwen2")
        mlpBias = try c.value(Bool.self, "mlp_bias", default: false)
        hiddenAct = try (gemma ? c.optional(String.self, "hidden_activation") : nil)
            ?? c.value(String.self, "hidden_act", default: gemma ? "gelu_pytorch_tanh" : "silu")
        slidingWindow = try c.optional(Int.self, "sliding_window")
        if let w = slidingWindow { try c.check(w > 0, "sliding_window", "\(w) must be positive") }
        layerTypes = try c.optional([String].self, "layer_types")
        if let l = layerTypes {
            try c.check(l.count == numHiddenLayers, "layer_types", "has \(l.count) entries for \(numHiddenLayers) layers")
            for t in l { try c.check(["sliding_attention", "full_attention"].contains(t), "layer_types", "'\(t)' is not supported") }
        }
        useSlidingWindow = try c.value(Bool.self, "use_sliding_window", default: type != "qwen2" && type != "qwen3")
        maxWindowLayers = try c.value(Int.self, "max_window_layers", default: 28)
        queryPreAttnScalar = try c.optional(Double.self, "query_pre_attn_scalar") ?? (type == "gemma2" ? 256 : nil)
        attnLogitSoftcapping = try c.optional(Double.self, "attn_logit_softcapping") ?? (type == "gemma2" ? 50 : nil)
        finalLogitSoftcapping = try c.optional(Double.self, "final_logit_softcapping") ?? (type == "gemma2" ? 30 : nil)
        for (key, v) in [("attn_logit_softcapping", attnLogitSoftcapping), ("final_logit_softcapping", finalLogitSoftcapping), ("query_pre_attn_scalar", queryPreAttnScalar)] {
            if let v { try c.check(v > 0 && v.isFinite, key, "\(v) must be positive") }
        }
        rope = try Self.readRope(c, type: type)
        let dim = headDimension ?? hiddenSize / numAttentionHeads
        let rotary = Int(Double(dim) * rope.partialRotaryFactor)
        try c.check(rotary >= 2 && rotary % 2 == 0 && rotary <= dim, "partial_rotary_factor",
                    "\(rope.partialRotaryFactor) of head size \(dim) gives \(rotary) rotated dims, which must be even and at least 2")
    }

    private static func readRope(_ c: ConfigContainer<DecoderConfig>, type: String) throws -> Rope {
        // transformers 5 writes `rope_parameters` (theta inside); 4.x `rope_theta` and `rope_scaling`.
        let key = try c.optional(JSONValue.self, "rope_parameters") != nil ? "rope_parameters" : "rope_scaling"
        let params = try c.optional(JSONValue.self, key)
        if let params, params.objectValue == nil { throw ArchitectureError.badConfig(model: c.model, key: key, detail: "is not an object") }
        if let o = params?.objectValue, o["rope_type"] == nil, o["type"] == nil, o["rope_theta"] == nil, o.values.contains(where: { $0.objectValue != nil }) {
            throw ArchitectureError.badConfig(model: c.model, key: key, detail: "holds per-layer-type parameters, which are not supported")
        }
        func number(_ name: String) throws -> Double? {
            guard let v = params?[name], !v.isNull else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw ArchitectureError.badConfig(model: c.model, key: "\(key).\(name)", detail: "is not a number") }
            return d
        }
        func integer(_ name: String) throws -> Int? {
            guard let d = try number(name) else { return nil }
            guard let i = Int(exactly: d) else { throw ArchitectureError.badConfig(model: c.model, key: "\(key).\(name)", detail: "is not an integer") }
            return i
        }
        let kind = params?["rope_type"]?.stringValue ?? params?["type"]?.stringValue ?? "default"
        let supported = ["default", "linear", "dynamic", "llama3", "yarn"]
        guard supported.contains(kind) else {
            throw ArchitectureError.badConfig(model: c.model, key: "\(key).rope_type", detail: "'\(kind)' is not supported (supported: \(supported.joined(separator: ", ")))")
        }
        let theta = try number("rope_theta") ?? c.value(Double.self, "rope_theta", default: 10000)
        guard theta > 0 else { throw ArchitectureError.badConfig(model: c.model, key: "rope_theta", detail: "\(theta) must be positive") }
        let partial = try number("partial_rotary_factor") ?? c.value(Double.self, "partial_rotary_factor", default: 1)
        let rope = Rope(theta: theta, type: kind, factor: try number("factor"), lowFreqFactor: try number("low_freq_factor"),
                        highFreqFactor: try number("high_freq_factor"),
                        originalMaxPositionEmbeddings: try c.optional(Int.self, "original_max_position_embeddings") ?? integer("original_max_position_embeddings"),
                        betaFast: try number("beta_fast"), betaSlow: try number("beta_slow"), attentionFactor: try number("attention_factor"),
                        mscale: try number("mscale"), mscaleAllDim: try number("mscale_all_dim"),
                        truncate: params?["truncate"]?.boolValue, partialRotaryFactor: partial)
        if kind != "default" {
            guard let f = rope.factor, f > 0 else {
                throw ArchitectureError.badConfig(model: c.model, key: "\(key).factor", detail: "\(kind) scaling needs a positive factor")
            }
            if kind == "llama3" {
                for (name, v) in [("low_freq_factor", rope.lowFreqFactor), ("high_freq_factor", rope.highFreqFactor)] where v == nil {
                    throw ArchitectureError.badConfig(model: c.model, key: "\(key).\(name)", detail: "llama3 scaling needs it")
                }
                if rope.originalMaxPositionEmbeddings == nil {
                    throw ArchitectureError.badConfig(model: c.model, key: "\(key).original_max_position_embeddings", detail: "llama3 scaling needs it")
                }
            }
        }
        return rope
    }
}

/// What distinguishes one decoder family's graph from another's.
public struct DecoderStyle: Sendable, Equatable {
    /// GGUF `general.architecture` (`llama`, `qwen2`, `gemma2`, …).
    public var ggufArchitecture: String
    /// Gemma: RMSNorm scales by `1 + weight`, embeddings are multiplied by sqrt(hidden).
    public var gemmaNorms = false
    /// Gemma 2: RMSNorm after attention and around the MLP (`post_attention_layernorm`,
    /// `pre_feedforward_layernorm`, `post_feedforward_layernorm`).
    public var sandwichNorms = false
    /// Qwen3: RMSNorm over each head of q and k (`q_norm`, `k_norm`).
    public var qkNorm = false
    /// Phi-3: `qkv_proj` and `gate_up_proj` fused.
    public var fused = false
    /// Layers use `sliding_window` when no `layer_types` says otherwise: all (Mistral),
    /// alternate from the first (Gemma 2), from `max_window_layers` when `use_sliding_window` (Qwen2).
    public enum WindowDefault: Sendable, Equatable { case none, all, alternating, fromMaxWindowLayers }
    public var window = WindowDefault.none

    public init(ggufArchitecture: String, gemmaNorms: Bool = false, sandwichNorms: Bool = false, qkNorm: Bool = false,
                fused: Bool = false, window: WindowDefault = .none) {
        self.ggufArchitecture = ggufArchitecture
        self.gemmaNorms = gemmaNorms
        self.sandwichNorms = sandwichNorms
        self.qkNorm = qkNorm
        self.fused = fused
        self.window = window
    }
}

/// A descriptor built on `DecoderConfig` and `DecoderGraph`: the family gives its names,
/// style and templates, the rest is shared.
public protocol DecoderDescriptor: ArchitectureDescriptor where Config == DecoderConfig {
    var style: DecoderStyle { get }
    /// The family's name in model cards (`Llama`, `Qwen2`).
    var displayName: String { get }
}

extension DecoderDescriptor {
    public func basePrefix(modelType: String) -> String { "model" }

    /// llama.cpp's names and q/k permutation (`mappings/hf-llama-to-gguf.json`, by `model_type`);
    /// Gemma's norm weights get 1 added there (`"add": 1`), as `convert_hf_to_gguf.py` stores them.
    public var ggufMapping: String? { "hf-llama-to-gguf" }

    public func inputs(_ c: DecoderConfig) -> [InputSpec] {
        [InputSpec("input_ids", role: .tokens), InputSpec("attention_mask", role: .mask)]
    }

    public func tolerance(for dtype: DType) -> ArchitectureTolerance? {
        dtype == .f32 ? ArchitectureTolerance(atol: 1e-4, rtol: 1e-3) : nil
    }

    public var blockPaths: [String] { ["layers.{bid}"] }

    public func dims(_ c: DecoderConfig) -> [String: Int] {
        ["vocab": c.vocabSize, "hidden": c.hiddenSize, "intermediate": c.intermediateSize, "gate_up": 2 * c.intermediateSize,
         "layers": c.numHiddenLayers, "q": c.numAttentionHeads * c.headDim, "kv": c.numKeyValueHeads * c.headDim,
         "qkv": (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim, "head_dim": c.headDim, "positions": c.maxPositionEmbeddings]
    }

    public func build(_ c: DecoderConfig, modelType: String, tensorNames names: Set<String>) throws -> Graph {
        try DecoderGraph.build(c, style: style, model: modelType, names: names, inputs: inputs(c), templates: tensorTemplates)
    }

    /// `porter tiny`: layers, hidden size, heads and intermediate size as asked; the kv
    /// heads keep the source's grouping when it divides the new head count (else one per
    /// head); an explicit `head_dim` becomes hidden / heads.
    public func shrunk(_ c: DecoderConfig, to request: TinyRequest) throws -> DecoderConfig {
        let r = try request.resolved()
        var s = c
        s.numHiddenLayers = r.layers
        s.hiddenSize = r.hidden
        s.numAttentionHeads = r.heads
        s.intermediateSize = r.intermediate
        let group = max(1, c.numAttentionHeads / max(c.numKeyValueHeads, 1))
        s.numKeyValueHeads = r.heads % group == 0 ? r.heads / group : r.heads
        if c.headDimension != nil { s.headDimension = r.hidden / r.heads }
        if s.rotaryDim < 2 || s.rotaryDim % 2 != 0 {
            throw ArchitectureError.badTinyRequest("head size \(s.headDim) leaves \(s.rotaryDim) rotated dims (partial_rotary_factor \(c.rope.partialRotaryFactor)); pick --hidden/--heads for a larger head")
        }
        if let types = c.layerTypes, !types.isEmpty {
            s.layerTypes = (0..<r.layers).map { types[$0 % types.count] }
        }
        return s
    }

    public func modelCard(_ c: DecoderConfig, facts: ModelCardFacts) -> String? {
        TinyModelCard.text(family: displayName, facts: facts,
                           sizes: "\(c.numHiddenLayers) layers, hidden size \(c.hiddenSize), \(c.numAttentionHeads) heads (\(c.numKeyValueHeads) key/value), intermediate size \(c.intermediateSize), vocabulary \(c.vocabSize)")
    }

    public var ggufArchitecture: String? { style.ggufArchitecture }
    public var ggufInverseMapping: String? { "gguf-to-hf-llama" }

    /// The inverse of `ggufKeyValues`: transformers' config from llama.cpp's keys. Sizes,
    /// heads, epsilon and context length must be there (the error names the key); rope base,
    /// kv heads and head size default as llama.cpp defaults them. What the keys cannot say
    /// comes from the tensors: tied embeddings (no `output.weight`), attention and MLP biases.
    /// Float32 values are written as their shortest decimal (`1e-06`, not `9.99999997e-07`).
    /// Tokenizer keys are not translated (docs/formats/gguf.md).
    public func hfConfig(fromGGUF metadata: [String: JSONValue], tensorNames names: Set<String>) throws -> JSONValue? {
        let a = style.ggufArchitecture
        let model = "GGUF \(a)"
        func required(_ key: String) throws -> JSONValue {
            guard let v = metadata["\(a).\(key)"], !v.isNull else {
                throw ArchitectureError.badConfig(model: model, key: "\(a).\(key)", detail: "is missing from the GGUF metadata; transformers' config.json needs it")
            }
            return v
        }
        func int(_ key: String) throws -> Int64 {
            guard let i = try required(key).intValue else { throw ArchitectureError.badConfig(model: model, key: "\(a).\(key)", detail: "is not an integer") }
            return Int64(i)
        }
        func optionalInt(_ key: String) throws -> Int64? { metadata["\(a).\(key)"] == nil ? nil : try int(key) }
        func float(_ key: String) throws -> Double {
            guard let d = try required(key).doubleValue, d.isFinite else { throw ArchitectureError.badConfig(model: model, key: "\(a).\(key)", detail: "is not a number") }
            return Double(String(Float(d))) ?? d
        }
        func optionalFloat(_ key: String) throws -> Double? { metadata["\(a).\(key)"] == nil ? nil : try float(key) }
        let heads = try int("attention.head_count")
        let hidden = try int("embedding_length")
        var c: [String: JSONValue] = [
            "model_type": .string(modelTypes[0]),
            "architectures": [.string(architectureNames[0])],
            "hidden_size": .int(hidden),
            "intermediate_size": .int(try int("feed_forward_length")),
            "num_hidden_layers": .int(try int("block_count")),
            "num_attention_heads": .int(heads),
            "num_key_value_heads": .int(try optionalInt("attention.head_count_kv") ?? heads),
            "rms_norm_eps": .double(try float("attention.layer_norm_rms_epsilon")),
            "max_position_embeddings": .int(try int("context_length")),
            "tie_word_embeddings": .bool(!names.contains("output.weight")),
            "hidden_act": "silu",
        ]
        if style.gemmaNorms {
            // llama.cpp's Gemma: tanh-GELU gate, tied head, key_length always written.
            c["hidden_act"] = "gelu_pytorch_tanh"
            c["hidden_activation"] = "gelu_pytorch_tanh"
            c["head_dim"] = .int(try int("attention.key_length"))
        }
        if style.sandwichNorms {
            // llama.cpp scales Gemma 2's scores by 1/sqrt(key_length), by 1/sqrt(hidden / heads)
            // for the 46-layer (27B) model (llama-model.cpp); transformers by query_pre_attn_scalar^-0.5.
            let layers = try int("block_count"), keyLength = try int("attention.key_length")
            c["query_pre_attn_scalar"] = .int(layers == 46 && heads > 0 ? hidden / heads : keyLength)
            for key in ["attn_logit_softcapping", "final_logit_softcapping"] {
                c[key] = metadata["\(a).\(key)"] == nil ? .null : .double(try float(key))
            }
        }
        if let v = try optionalInt("vocab_size") {
            c["vocab_size"] = .int(v)
        } else if let tokens = metadata["tokenizer.ggml.tokens"]?.arrayValue {
            c["vocab_size"] = .int(Int64(tokens.count))
        } else {
            throw ArchitectureError.badConfig(model: model, key: "\(a).vocab_size", detail: "is missing from the GGUF metadata (and there is no tokenizer.ggml.tokens to count); transformers' config.json needs it")
        }
        let headDim = try optionalInt("attention.key_length")
        if let headDim, heads > 0, headDim * heads != hidden || style.qkNorm || style.gemmaNorms { c["head_dim"] = .int(headDim) }
        let dim = headDim ?? (heads > 0 ? hidden / heads : 0)
        var rope: [String: JSONValue] = ["rope_theta": .double(try optionalFloat("rope.freq_base") ?? 10000), "rope_type": "default"]
        if let rotary = try optionalInt("rope.dimension_count"), rotary != dim, dim > 0 {
            c["partial_rotary_factor"] = .double(Double(rotary) / Double(dim))
        }
        switch metadata["\(a).rope.scaling.type"]?.stringValue {
        case nil, "none": break
        case "linear":
            rope["rope_type"] = "linear"
            rope["factor"] = .double(try float("rope.scaling.factor"))
        case "yarn":
            rope["rope_type"] = "yarn"
            rope["factor"] = .double(try float("rope.scaling.factor"))
            if let o = try optionalInt("rope.scaling.original_context_length") { rope["original_max_position_embeddings"] = .int(o) }
            if let v = try optionalFloat("rope.scaling.yarn_beta_fast") { rope["beta_fast"] = .double(v) }
            if let v = try optionalFloat("rope.scaling.yarn_beta_slow") { rope["beta_slow"] = .double(v) }
            if let v = try optionalFloat("rope.scaling.attn_factor") { rope["attention_factor"] = .double(v) }
        case let other?:
            throw ArchitectureError.badConfig(model: model, key: "\(a).rope.scaling.type", detail: "'\(other)' has no transformers rope type Porter knows (linear, yarn)")
        }
        c["rope_parameters"] = .object(rope)
        if let w = try optionalInt("attention.sliding_window") {
            c["sliding_window"] = .int(w)
            if style.window == .fromMaxWindowLayers { c["use_sliding_window"] = true; c["max_window_layers"] = 0 }
        } else if style.window == .fromMaxWindowLayers {
            c["use_sliding_window"] = false
        }
        let biases = names.contains("blk.0.attn_q.bias")
        if modelTypes[0] == "llama" {
            c["attention_bias"] = .bool(biases)
            c["mlp_bias"] = .bool(names.contains("blk.0.ffn_gate.bias"))
        }
        for (key, name) in [("bos_token_id", "tokenizer.ggml.bos_token_id"), ("eos_token_id", "tokenizer.ggml.eos_token_id"),
                            ("pad_token_id", "tokenizer.ggml.padding_token_id")] {
            // Absent: null, not the config class's default (Phi3Config's pad_token_id 32000 is past a
            // smaller vocabulary, and transformers refuses the model).
            c[key] = metadata[name]?.intValue.map { .int(Int64($0)) } ?? .null
        }
        return .object(c)
    }

    /// llama.cpp's per-architecture key-values (gguf-py `Keys.LLM`, `Keys.Attention`,
    /// `Keys.Rope`; what `convert_hf_to_gguf.py`'s `set_gguf_parameters` writes for these
    /// families). Rope scaling: `linear` and `yarn` as llama.cpp spells them; dynamic NTK has
    /// no GGUF spelling (llama.cpp's converter writes nothing for it; `ggufNotes` tells). A config whose
    /// model llama.cpp would compute differently is refused (`checkGGUFLayout`).
    public func ggufKeyValues(_ c: DecoderConfig) throws -> [String: JSONValue] {
        let a = style.ggufArchitecture
        try checkGGUFLayout(c)
        func int(_ v: Int) -> JSONValue { .int(Int64(v)) }
        var kv: [String: JSONValue] = [
            "general.architecture": .string(a),
            "\(a).vocab_size": int(c.vocabSize),
            "\(a).context_length": int(c.maxPositionEmbeddings),
            "\(a).embedding_length": int(c.hiddenSize),
            "\(a).block_count": int(c.numHiddenLayers),
            "\(a).feed_forward_length": int(c.intermediateSize),
            "\(a).attention.head_count": int(c.numAttentionHeads),
            "\(a).attention.head_count_kv": int(c.numKeyValueHeads),
            "\(a).attention.layer_norm_rms_epsilon": .double(c.rmsNormEps),
            "\(a).rope.freq_base": .double(c.rope.theta),
            "\(a).rope.dimension_count": int(c.rotaryDim),
        ]
        if c.headDimension != nil, c.headDim * c.numAttentionHeads != c.hiddenSize || style.gemmaNorms || style.qkNorm {
            kv["\(a).attention.key_length"] = int(c.headDim)
            kv["\(a).attention.value_length"] = int(c.headDim)
        }
        switch c.rope.type {
        case "linear":
            kv["\(a).rope.scaling.type"] = "linear"
            kv["\(a).rope.scaling.factor"] = .double(c.rope.factor ?? 1)
        case "yarn":
            kv["\(a).rope.scaling.type"] = "yarn"
            kv["\(a).rope.scaling.factor"] = .double(c.rope.factor ?? 1)
            kv["\(a).rope.scaling.original_context_length"] = int(c.rope.originalMaxPositionEmbeddings ?? c.maxPositionEmbeddings)
            if let f = c.rope.betaFast { kv["\(a).rope.scaling.yarn_beta_fast"] = .double(f) }
            if let s = c.rope.betaSlow { kv["\(a).rope.scaling.yarn_beta_slow"] = .double(s) }
            if let f = c.rope.attentionFactor { kv["\(a).rope.scaling.attn_factor"] = .double(f) }
        default: break
        }
        if let w = c.slidingWindow, DecoderGraph.windowedLayers(c, style: style).contains(true) {
            kv["\(a).attention.sliding_window"] = int(w)
        }
        if let s = c.attnLogitSoftcapping { kv["\(a).attn_logit_softcapping"] = .double(s) }
        if let s = c.finalLogitSoftcapping { kv["\(a).final_logit_softcapping"] = .double(s) }
        return kv
    }
}

extension DecoderDescriptor {
    /// What llama.cpp computes differently past a length: dynamic NTK rope scaling, which GGUF has
    /// no key for (llama.cpp has none; `convert_hf_to_gguf.py` writes nothing), rescales the rotary
    /// frequencies past `max_position_embeddings` in transformers only; and llama.cpp's `llama`
    /// architecture (Llama, Mistral) has no sliding-window attention (it reads
    /// `attention.sliding_window` for other architectures only, src/models/llama.cpp,
    /// llama-cpp-python 0.3.36). Both measured by check_gguf_llamacpp_load.py on
    /// fixtures/llama/llama-rope-dynamic (7.3e-3 past 4 positions) and mistral-window (window 3: the
    /// top token differs past it). Up to those lengths llama.cpp agrees, so the file is written and
    /// the user told.
    public func ggufNotes(_ c: DecoderConfig) throws -> [String] {
        var notes: [String] = []
        if c.rope.type == "dynamic" {
            notes.append("llama.cpp has no dynamic NTK rope scaling (GGUF has no key for it): past \(c.maxPositionEmbeddings) tokens (max_position_embeddings) transformers rescales the rotary frequencies and llama.cpp does not, so its outputs differ there")
        }
        if style.ggufArchitecture == "llama", let w = c.slidingWindow, w < c.maxPositionEmbeddings,
           DecoderGraph.windowedLayers(c, style: style).contains(true) {
            notes.append("llama.cpp's llama architecture has no sliding-window attention: with more than \(w) tokens of context (sliding_window) it attends to all of them, where transformers attends to the last \(w) only, so its outputs differ there")
        }
        return notes
    }

    /// Llama 3 rope scaling as llama.cpp holds it: no metadata keys but `rope_freqs.weight`, one
    /// factor per rotary frequency that llama.cpp divides the frequency by (1 for short
    /// wavelengths, `factor` for long ones, smoothed between). Computed as `convert_hf_to_gguf.py`
    /// (llama-cpp-python 0.3.36, `LlamaModel.generate_extra_tensors`) computes it: in float32 as
    /// torch does, over head_dim (not the partial rotary width), with its defaults for missing keys
    /// (factor 8, low 1, high 4, original context 8192). Bit-equal to the converter's tensor
    /// (fixtures/gguf/families, `llama3-rope`).
    public func ggufComputedTensors(_ c: DecoderConfig) throws -> [GGUFComputedTensor] {
        guard c.rope.type == "llama3", style.ggufArchitecture == "llama" else { return [] }
        let dim = c.headDim
        guard dim >= 2 else { return [] }
        let factor = Float(c.rope.factor ?? 8), low = c.rope.lowFreqFactor ?? 1, high = c.rope.highFreqFactor ?? 4
        let old = Double(c.rope.originalMaxPositionEmbeddings ?? 8192)
        let lowWavelen = Float(old / low), highWavelen = Float(old / high)
        let twoPi = Float(2 * Double.pi), span = Float(high - low)
        var values: [Float] = []
        for k in stride(from: 0, to: dim, by: 2) {
            // torch: 1.0 / (base ** (arange(0, dim, 2, float32) / dim)), each step in float32.
            let freq = 1 / powf(Float(c.rope.theta), Float(k) / Float(dim))
            let wavelen = twoPi / freq
            if wavelen < highWavelen {
                values.append(1)
            } else if wavelen > lowWavelen {
                values.append(factor)
            } else {
                let smooth = (Float(old) / wavelen - Float(low)) / span
                values.append(1 / ((1 - smooth) / factor + smooth))
            }
        }
        return [GGUFComputedTensor(name: "rope_freqs.weight", shape: [values.count], values: values,
                                   origin: "rope_scaling (llama3): factor \(c.rope.factor ?? 8), low_freq_factor \(low), high_freq_factor \(high), original_max_position_embeddings \(Int(old))")]
    }
}

extension DecoderDescriptor {
    public var ggufComputedTensorNames: Set<String> { style.ggufArchitecture == "llama" ? ["rope_freqs.weight"] : [] }

    /// `rope_freqs.weight` back to transformers' `rope_scaling` (llama3): llama.cpp keeps only the
    /// factors, and only the ratios of low/high/original context show in them, so the
    /// parameters are searched over the values Llama 3.x ships and nearby ones (factor from the
    /// long-wavelength end; low 0.5–2, high 2–8, original context a power of two from 1 to 2^20
    /// or the file's context length) and kept only when `ggufComputedTensors` gives the file's
    /// factors bit for bit. All factors 1 is no scaling. Anything else is refused.
    public func hfConfig(_ config: JSONValue, fromGGUFComputedTensors tensors: [String: [Float]]) throws -> JSONValue {
        guard let factors = tensors["rope_freqs.weight"] else { return config }
        guard let c = config.objectValue else { return config }
        if factors.allSatisfy({ $0 == 1 }) { return config }
        guard let factor = factors.last, factor.isFinite, factor > 1 else {
            throw ArchitectureError.badConfig(model: "GGUF \(style.ggufArchitecture)", key: "rope_freqs.weight", detail:
                "its factors do not end in a llama3 scaling factor above 1 (last \(factors.last.map { "\($0)" } ?? "none")); Porter cannot write transformers' rope_scaling for them, and dropping them would change every rotary frequency")
        }
        var contexts = (0...20).map { 1 << $0 }
        if let ctx = c["max_position_embeddings"]?.intValue { contexts.insert(ctx, at: 0) }
        // transformers 5's rope_parameters (rope_theta inside, as hfConfig(fromGGUF:) writes it), or 4.x's rope_scaling.
        let key = c["rope_parameters"] != nil ? "rope_parameters" : "rope_scaling"
        // Scaling old, low and high by one power of two gives the same factors bit for bit (only the
        // ratios count), so Llama 3.x's low 1 / high 4 is tried first at every context.
        for (low, high) in [(1.0, 4.0), (1.0, 2.0), (1.0, 8.0), (0.5, 2.0), (0.5, 4.0), (0.5, 8.0), (2.0, 4.0), (2.0, 8.0)] {
            for old in contexts {
                do {
                    var scaling = c[key]?.objectValue ?? [:]
                    scaling["rope_type"] = "llama3"
                    scaling["factor"] = .double(Double(factor))
                    scaling["low_freq_factor"] = .double(low)
                    scaling["high_freq_factor"] = .double(high)
                    scaling["original_max_position_embeddings"] = .int(Int64(old))
                    var candidate = c
                    candidate[key] = .object(scaling)
                    let computed = try? ggufComputedTensors(config: .object(candidate))
                    if let v = computed?.first(where: { $0.name == "rope_freqs.weight" })?.values,
                       v.count == factors.count, zip(v, factors).allSatisfy({ $0.bitPattern == $1.bitPattern }) {
                        return .object(candidate)
                    }
                }
            }
        }
        throw ArchitectureError.badConfig(model: "GGUF \(style.ggufArchitecture)", key: "rope_freqs.weight", detail:
            "its \(factors.count) factors (scaling factor \(factor)) match no llama3 rope_scaling Porter searched (low_freq_factor 0.5/1/2, high_freq_factor 2/4/8, original context a power of two or the context length); refused rather than written without them, which would change every rotary frequency")
    }
}

/// A model Porter will not write as GGUF because llama.cpp would load it and compute
/// something else (or refuse it): the tensor or config key that shows it, and why. The GGUF
/// writer reports it as its own `unwritable` error, naming `tensor`.
public struct GGUFLayoutRefusal: Error, LocalizedError, Sendable, Equatable {
    public var tensor: String?
    public var key: String?
    public var reason: String
    public var errorDescription: String? {
        [tensor.map { "tensor \($0)" }, key.map { "config key '\($0)'" }].compactMap { $0 }.joined(separator: ", ") + ": " + reason
    }
}

extension DecoderDescriptor {
    /// What llama.cpp (llama-cpp-python 0.3.36's `llama-model.cpp`) cannot hold for these families.
    func checkGGUFLayout(_ c: DecoderConfig) throws {
        let a = style.ggufArchitecture
        if a == "qwen2", c.headDim * c.numAttentionHeads != c.hiddenSize {
            throw GGUFLayoutRefusal(tensor: "blk.0.attn_q.weight", key: "head_dim", reason:
                "q is \(c.numAttentionHeads) heads × head_dim \(c.headDim) = \(c.numAttentionHeads * c.headDim) wide, not hidden_size \(c.hiddenSize); llama.cpp's qwen2 loads attn_q/attn_output only as [hidden, hidden] (it has no key_length for qwen2) and refuses the file")
        }
        if c.rope.type == "llama3", a != "llama" {
            throw GGUFLayoutRefusal(tensor: "rope_freqs.weight", key: "rope_scaling.rope_type", reason:
                "llama3 rope scaling is a per-frequency factor tensor (rope_freqs.weight) that llama.cpp's converter writes for the llama architecture only; its \(a) would rotate with unscaled frequencies")
        }
        if style.gemmaNorms {
            if !c.tieWordEmbeddings {
                throw GGUFLayoutRefusal(tensor: "output.weight", key: "tie_word_embeddings", reason:
                    "is false; llama.cpp's \(a) uses token_embd as the head (convert_hf_to_gguf.py drops lm_head), so an untied head would be lost")
            }
            if c.hiddenAct != "gelu_pytorch_tanh" && c.hiddenAct != "gelu_tanh" {
                throw GGUFLayoutRefusal(tensor: nil, key: "hidden_activation", reason: "'\(c.hiddenAct)'; llama.cpp's \(a) gates with tanh-GELU only")
            }
        }
        if style.sandwichNorms {
            let expected = c.numHiddenLayers == 46 ? Double(c.hiddenSize / c.numAttentionHeads) : Double(c.headDim)
            if let q = c.queryPreAttnScalar, q != expected {
                throw GGUFLayoutRefusal(tensor: nil, key: "query_pre_attn_scalar", reason:
                    "\(q) is not \(Int(expected)) (\(c.numHiddenLayers == 46 ? "hidden / heads for 46 layers" : "head_dim")); llama.cpp's gemma2 scales attention by 1/sqrt of that and has no key for another scale")
            }
            let alternating = (0..<c.numHiddenLayers).map { $0 % 2 == 0 }
            if DecoderGraph.windowedLayers(c, style: style) != alternating, c.slidingWindow != nil {
                throw GGUFLayoutRefusal(tensor: nil, key: "layer_types", reason:
                    "the sliding layers are not every other layer from layer 0; llama.cpp's gemma2 windows exactly those")
            }
        }
    }
}

/// Tensor templates of the Llama layout (relative to `model.`; `lm_head` at the root),
/// with llama.cpp's GGUF names (`gguf-py/gguf/tensor_mapping.py`). The q/k weights need
/// llama.cpp's head permutation on the way to GGUF for Llama and Mistral
/// (`mappings/hf-llama-to-gguf.json`); the names here are names only.
func llamaLayoutTemplates(biases: Bool, mlpBias: Bool, qkNorm: Bool = false, sandwich: Bool = false) -> [TensorTemplate] {
    var t: [TensorTemplate] = [.init("embed_tokens.weight", gguf: "token_embd.weight", shape: ["vocab", "hidden"], kind: .embedding)]
    func layer(_ hf: String, _ gguf: String, _ shape: [String], kind: TensorKind = .weight, optional: Bool = false) {
        t.append(.init("layers.{bid}.\(hf)", gguf: "blk.{bid}.\(gguf)", shape: shape, blocks: "layers", kind: kind, optional: optional))
    }
    layer("input_layernorm.weight", "attn_norm.weight", ["hidden"], kind: .normScale)
    for (hf, gguf, rows) in [("q_proj", "attn_q", "q"), ("k_proj", "attn_k", "kv"), ("v_proj", "attn_v", "kv")] {
        layer("self_attn.\(hf).weight", "\(gguf).weight", [rows, "hidden"])
        if biases { layer("self_attn.\(hf).bias", "\(gguf).bias", [rows], kind: .bias, optional: true) }
    }
    if qkNorm {
        layer("self_attn.q_norm.weight", "attn_q_norm.weight", ["head_dim"], kind: .normScale)
        layer("self_attn.k_norm.weight", "attn_k_norm.weight", ["head_dim"], kind: .normScale)
    }
    layer("self_attn.o_proj.weight", "attn_output.weight", ["hidden", "q"])
    if biases { layer("self_attn.o_proj.bias", "attn_output.bias", ["hidden"], kind: .bias, optional: true) }
    if sandwich {
        layer("post_attention_layernorm.weight", "post_attention_norm.weight", ["hidden"], kind: .normScale)
        layer("pre_feedforward_layernorm.weight", "ffn_norm.weight", ["hidden"], kind: .normScale)
        layer("post_feedforward_layernorm.weight", "post_ffw_norm.weight", ["hidden"], kind: .normScale)
    } else {
        layer("post_attention_layernorm.weight", "ffn_norm.weight", ["hidden"], kind: .normScale)
    }
    for (hf, gguf, shape) in [("gate_proj", "ffn_gate", ["intermediate", "hidden"]), ("up_proj", "ffn_up", ["intermediate", "hidden"]),
                              ("down_proj", "ffn_down", ["hidden", "intermediate"])] {
        layer("mlp.\(hf).weight", "\(gguf).weight", shape)
        if mlpBias { layer("mlp.\(hf).bias", "\(gguf).bias", [shape[0]], kind: .bias, optional: true) }
    }
    t += [
        .init("norm.weight", gguf: "output_norm.weight", shape: ["hidden"], kind: .normScale),
        .init("lm_head.weight", gguf: "output.weight", shape: ["vocab", "hidden"], head: true, optional: true, tiedTo: "embed_tokens.weight"),
    ]
    return t
}

/// transformers' `LlamaForCausalLM` (model type `llama`).
public struct LlamaDescriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "llama" }
    public var displayName: String { "Llama" }
    public var modelTypes: [String] { ["llama"] }
    public var architectureNames: [String] { ["LlamaForCausalLM", "LlamaModel"] }
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "llama") }
    /// `attention_bias` adds q/k/v/o biases, `mlp_bias` gate/up/down biases (both optional templates).
    public var tensorTemplates: [TensorTemplate] { llamaLayoutTemplates(biases: true, mlpBias: true) }
}

/// transformers' `MistralForCausalLM`: Llama's graph; `sliding_window` limits every layer's
/// attention to the last `sliding_window` positions (the same graph as Llama's while the
/// sequence is no longer than the window).
public struct MistralDescriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "mistral" }
    public var displayName: String { "Mistral" }
    public var modelTypes: [String] { ["mistral"] }
    public var architectureNames: [String] { ["MistralForCausalLM", "MistralModel"] }
    /// llama.cpp converts Mistral checkpoints as `llama` (`convert_hf_to_gguf.py` registers MistralForCausalLM with LlamaModel).
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "llama", window: .all) }
    public var tensorTemplates: [TensorTemplate] { llamaLayoutTemplates(biases: false, mlpBias: false) }
}

/// transformers' `Qwen2ForCausalLM`: Llama's graph with q/k/v biases (o_proj has none).
public struct Qwen2Descriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "qwen2" }
    public var displayName: String { "Qwen2" }
    public var modelTypes: [String] { ["qwen2"] }
    public var architectureNames: [String] { ["Qwen2ForCausalLM", "Qwen2Model"] }
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "qwen2", window: .fromMaxWindowLayers) }
    public var tensorTemplates: [TensorTemplate] {
        llamaLayoutTemplates(biases: true, mlpBias: false).filter { $0.hf != "layers.{bid}.self_attn.o_proj.bias" }
            .map { var t = $0; if t.kind == .bias { t.optional = false }; return t }
    }
}

/// transformers' `Qwen3ForCausalLM`: Llama's graph with RMSNorm over each head of q and k
/// before the rotary embedding.
public struct Qwen3Descriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "qwen3" }
    public var displayName: String { "Qwen3" }
    public var modelTypes: [String] { ["qwen3"] }
    public var architectureNames: [String] { ["Qwen3ForCausalLM", "Qwen3Model"] }
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "qwen3", qkNorm: true, window: .fromMaxWindowLayers) }
    public var tensorTemplates: [TensorTemplate] { llamaLayoutTemplates(biases: true, mlpBias: false, qkNorm: true) }
}
