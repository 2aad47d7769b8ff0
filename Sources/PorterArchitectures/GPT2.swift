import Foundation
import PorterCore

/// GPT-2 with its language-model head (`GPT2LMHeadModel` names, or `GPT2Model` names
/// without the `transformer.` prefix).
///
/// Inputs `input_ids`, `attention_mask` (int64 `[batch, seq]`); output `logits`. The head
/// is `lm_head.weight` when the checkpoint stores it, else tied to `wte`.
public struct GPT2Descriptor: ArchitectureDescriptor {
    public init() {}
    public var family: String { "gpt2" }
    public var modelTypes: [String] { ["gpt2"] }
    public var architectureNames: [String] { ["GPT2LMHeadModel", "GPT2Model"] }
    public func basePrefix(modelType: String) -> String { "transformer" }
    public var ggufMapping: String? { "hf-gpt2-to-gguf" }
    /// Keras' snake case of `TFGPT2Model`, as transformers' TF GPT-2 files spell it.
    public func tfModelScope(modelType: String) -> String? { "tfgp_t2_model" }

    /// transformers' `GPT2Config`; `hidden_size`, `num_hidden_layers`, `num_attention_heads`
    /// and `max_position_embeddings` are accepted for `n_embd`, `n_layer`, `n_head`, `n_positions`.
    public struct Config: ArchitectureConfig, Equatable {
        public var vocabSize: Int
        public var nEmbd: Int
        public var nLayer: Int
        public var nHead: Int
        /// nil: 4 × `n_embd`, as transformers does.
        public var nInner: Int?
        public var nPositions: Int
        public var layerNormEpsilon: Double
        public var activationFunction: String
        public var scaleAttnWeights: Bool
        public var scaleAttnByInverseLayerIdx: Bool

        enum CodingKeys: String, CodingKey {
            case vocabSize = "vocab_size", nEmbd = "n_embd", nLayer = "n_layer", nHead = "n_head", nInner = "n_inner"
            case nPositions = "n_positions", layerNormEpsilon = "layer_norm_epsilon", activationFunction = "activation_function"
            case scaleAttnWeights = "scale_attn_weights", scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        }

        public static var aliases: [String: [String]] {
            ["n_embd": ["n_embd", "hidden_size"], "n_layer": ["n_layer", "num_hidden_layers"],
             "n_head": ["n_head", "num_attention_heads"], "n_positions": ["n_positions", "max_position_embeddings", "n_ctx"]]
        }

        public var intermediate: Int { nInner ?? 4 * nEmbd }

        public init(from decoder: Decoder) throws {
            let c = try decoder.configContainer(Config.self)
            nEmbd = try c.required(Int.self, "n_embd")
            nLayer = try c.required(Int.self, "n_layer")
            nHead = try c.required(Int.self, "n_head")
            try c.check(nHead > 0 && nEmbd % nHead == 0, "n_head", "\(nHead) does not divide n_embd \(nEmbd)")
            try c.check(nLayer >= 0, "n_layer", "\(nLayer) is negative")
            vocabSize = try c.required(Int.self, "vocab_size")
            nInner = try c.optional(Int.self, "n_inner")
            nPositions = try c.value(Int.self, "n_positions", default: 1024)
            layerNormEpsilon = try c.value(Double.self, "layer_norm_epsilon", default: 1e-5)
            activationFunction = try c.value(String.self, "activation_function", default: "gelu_new")
            scaleAttnWeights = try c.value(Bool.self, "scale_attn_weights", default: true)
            scaleAttnByInverseLayerIdx = try c.value(Bool.self, "scale_attn_by_inverse_layer_idx", default: false)
        }
    }

    public func inputs(_ c: Config) -> [InputSpec] {
        [InputSpec("input_ids", role: .tokens), InputSpec("attention_mask", role: .mask)]
    }

    public func tolerance(for dtype: DType) -> ArchitectureTolerance? {
        dtype == .f32 ? ArchitectureTolerance(atol: 1e-4, rtol: 1e-3) : nil
    }

    public var blockPaths: [String] { ["h.{bid}"] }

    public func dims(_ c: Config) -> [String: Int] {
        ["vocab": c.vocabSize, "hidden": c.nEmbd, "qkv": 3 * c.nEmbd, "intermediate": c.intermediate, "positions": c.nPositions,
         "layers": c.nLayer]
    }

    /// Conv1D weights are `[in, out]` in PyTorch and TF alike (no transpose). TF names follow
    /// transformers' `modeling_tf_gpt2` (TFSharedEmbeddings `wte/weight`, as the Hub's
    /// `tf_model.h5` files store it); GGUF names follow llama.cpp's `tensor_mapping.py` (data only).
    public var tensorTemplates: [TensorTemplate] {
        var t: [TensorTemplate] = [
            .init("wte.weight", tf: "wte/weight:0", gguf: "token_embd.weight", shape: ["vocab", "hidden"], kind: .embedding),
            .init("wpe.weight", tf: "wpe/embeddings:0", gguf: "position_embd.weight", shape: ["positions", "hidden"], kind: .embedding),
        ]
        func norm(_ hf: String, _ gguf: String) {
            t.append(.init("h.{bid}.\(hf).weight", tf: "h_._{bid}/\(hf)/gamma:0", gguf: "blk.{bid}.\(gguf).weight", shape: ["hidden"], blocks: "layers", kind: .normScale))
            t.append(.init("h.{bid}.\(hf).bias", tf: "h_._{bid}/\(hf)/beta:0", gguf: "blk.{bid}.\(gguf).bias", shape: ["hidden"], blocks: "layers", kind: .normBias))
        }
        func conv(_ hf: String, _ gguf: String, in i: String, out o: String) {
            let tf = hf.replacingOccurrences(of: ".", with: "/")
            t.append(.init("h.{bid}.\(hf).weight", tf: "h_._{bid}/\(tf)/weight:0", gguf: "blk.{bid}.\(gguf).weight", shape: [i, o], blocks: "layers"))
            t.append(.init("h.{bid}.\(hf).bias", tf: "h_._{bid}/\(tf)/bias:0", gguf: "blk.{bid}.\(gguf).bias", shape: [o], blocks: "layers", kind: .bias))
        }
        norm("ln_1", "attn_norm")
        conv("attn.c_attn", "attn_qkv", in: "hidden", out: "qkv")
        conv("attn.c_proj", "attn_output", in: "hidden", out: "hidden")
        norm("ln_2", "ffn_norm")
        conv("mlp.c_fc", "ffn_up", in: "hidden", out: "intermediate")
        conv("mlp.c_proj", "ffn_down", in: "intermediate", out: "hidden")
        t += [
            .init("ln_f.weight", tf: "ln_f/gamma:0", gguf: "output_norm.weight", shape: ["hidden"], kind: .normScale),
            .init("ln_f.bias", tf: "ln_f/beta:0", gguf: "output_norm.bias", shape: ["hidden"], kind: .normBias),
            .init("lm_head.weight", gguf: "output.weight", shape: ["vocab", "hidden"], head: true, optional: true, tiedTo: "wte.weight"),
        ]
        return t
    }

    /// llama.cpp's GPT-2 key-values (`convert_hf_to_gguf.py`, `GPT2Model.set_gguf_parameters`).
    public func ggufKeyValues(_ c: Config) -> [String: JSONValue] {
        ["general.architecture": "gpt2", "gpt2.block_count": .int(Int64(c.nLayer)), "gpt2.context_length": .int(Int64(c.nPositions)),
         "gpt2.embedding_length": .int(Int64(c.nEmbd)), "gpt2.feed_forward_length": .int(Int64(c.intermediate)),
         "gpt2.attention.head_count": .int(Int64(c.nHead)), "gpt2.attention.layer_norm_epsilon": .double(c.layerNormEpsilon)]
    }

    public func shrunk(_ c: Config, to request: TinyRequest) throws -> Config {
        let r = try request.resolved()
        var s = c
        s.nLayer = r.layers
        s.nEmbd = r.hidden
        s.nHead = r.heads
        s.nInner = r.intermediate == 4 * r.hidden && c.nInner == nil ? nil : r.intermediate
        return s
    }

    public func modelCard(_ c: Config, facts: ModelCardFacts) -> String? {
        TinyModelCard.text(family: "GPT-2", facts: facts,
                           sizes: "\(c.nLayer) layers, n_embd \(c.nEmbd), \(c.nHead) heads, inner size \(c.intermediate), vocabulary \(c.vocabSize)")
    }

    public func build(_ c: Config, modelType: String, tensorNames names: Set<String>) throws -> Graph {
        let hidden = c.nEmbd, layers = c.nLayer, heads = c.nHead
        let epsilon = c.layerNormEpsilon
        if c.scaleAttnByInverseLayerIdx {
            throw ArchitectureError.badConfig(model: "gpt2", key: "scale_attn_by_inverse_layer_idx", detail: "true is not supported")
        }
        guard let p = namePrefix(of: "wte.weight", in: names) else { throw ArchitectureError.missingTensor(model: "gpt2", name: "wte.weight") }
        var g = GraphBuilding()
        let tokens = g.add("wte", "gather", [g.weight(p + "wte.weight"), "input_ids"])
        let positionIds = g.add("position_ids", "position_ids", ["input_ids"], ["offset": 0, "padding_idx": nil])
        let positions = g.add("wpe", "gather", [g.weight(p + "wpe.weight"), positionIds])
        var x = g.add("embeddings", "add", [tokens, positions])
        let mask = g.add("causal_attention_mask", "attention_mask", ["attention_mask"], ["causal": true])
        let headDim = hidden / heads
        let d = JSONValue.int(Int64(hidden))
        for i in 0..<layers {
            let l = "h.\(i)"
            let ln1 = g.layerNorm("\(l).ln_1", x, weightPrefix: p, epsilon: epsilon)
            let qkv = g.linear("\(l).attn.c_attn", ln1, weightPrefix: p, names: names, layout: "in_out")
            let qName = g.add("\(l).attn.query", "slice", [qkv], ["axis": -1, "start": 0, "end": d])
            let kName = g.add("\(l).attn.key", "slice", [qkv], ["axis": -1, "start": d, "end": .int(Int64(2 * hidden))])
            let vName = g.add("\(l).attn.value", "slice", [qkv], ["axis": -1, "start": .int(Int64(2 * hidden)), "end": .int(Int64(3 * hidden))])
            let context = g.attention("\(l).attn", query: qName, key: kName, value: vName, mask: mask, heads: heads, headDim: headDim,
                                      scale: c.scaleAttnWeights ? 1 / Double(headDim).squareRoot() : nil)
            let attnOut = g.linear("\(l).attn.c_proj", context, weightPrefix: p, names: names, layout: "in_out")
            let res1 = g.add("\(l).attn.residual", "add", [attnOut, x])
            let ln2 = g.layerNorm("\(l).ln_2", res1, weightPrefix: p, epsilon: epsilon)
            let fc = g.linear("\(l).mlp.c_fc", ln2, weightPrefix: p, names: names, layout: "in_out")
            let activated = try g.activation("\(l).mlp.act", fc, kind: c.activationFunction, model: "gpt2")
            let proj = g.linear("\(l).mlp.c_proj", activated, weightPrefix: p, names: names, layout: "in_out")
            x = g.add("\(l).mlp.residual", "add", [proj, res1])
        }
        let final = g.layerNorm("ln_f", x, weightPrefix: p, epsilon: epsilon)
        let head = names.contains("lm_head.weight") ? "lm_head.weight" : p + "wte.weight"
        g.add("lm_head", "linear", [final, g.weight(head)], output: "logits")
        try g.checkWeights(in: names, model: "gpt2")
        return Graph(inputs: inputs(c).map { GraphValue(name: $0.name, dtype: $0.dtype, shape: [-1, -1]) },
                     outputs: [GraphValue(name: "logits", dtype: .f32, shape: [-1, -1, c.vocabSize])],
                     nodes: g.nodes, origin: "builder:gpt2")
    }
}
