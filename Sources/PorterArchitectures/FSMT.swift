import Foundation
import PorterCore

/// The fairseq transformer as transformers' `FSMTForConditionalGeneration` (post-norm
/// encoder–decoder, sinusoidal positions counted from the padding index).
///
/// Inputs `input_ids`, `attention_mask`, `decoder_input_ids` (int64); outputs
/// `encoder_last_hidden_state` and teacher-forced decoder `logits`. The decoder attends
/// causally and ignores padding in `decoder_input_ids`, as FSMT does without a cache.
/// Logits use `decoder.output_projection.weight` when stored, else the tied decoder
/// embeddings.
public struct FSMTDescriptor: ArchitectureDescriptor {
    public init() {}
    public var family: String { "fsmt" }
    public var modelTypes: [String] { ["fsmt"] }
    public var architectureNames: [String] { ["FSMTForConditionalGeneration", "FSMTModel"] }
    public func basePrefix(modelType: String) -> String { "model" }

    /// transformers' `FSMTConfig`. `Defaults` are fairseq's transformer defaults, which
    /// PorterFairseq's config translation falls back to when a checkpoint's args omit a field.
    public struct Config: ArchitectureConfig, Equatable {
        public enum Defaults {
            public static let dModel = 512, layers = 6, heads = 8, ffnDim = 2048, maxPositions = 1024
            public static let activation = "relu"
            public static let initStd = 0.02
        }
        public var dModel: Int
        public var encoderLayers: Int
        public var decoderLayers: Int
        public var encoderAttentionHeads: Int
        public var decoderAttentionHeads: Int
        public var encoderFfnDim: Int
        public var decoderFfnDim: Int
        public var srcVocabSize: Int
        public var tgtVocabSize: Int
        public var maxPositionEmbeddings: Int
        public var padTokenId: Int
        public var activationFunction: String
        public var scaleEmbedding: Bool

        enum CodingKeys: String, CodingKey {
            case dModel = "d_model", encoderLayers = "encoder_layers", decoderLayers = "decoder_layers"
            case encoderAttentionHeads = "encoder_attention_heads", decoderAttentionHeads = "decoder_attention_heads"
            case encoderFfnDim = "encoder_ffn_dim", decoderFfnDim = "decoder_ffn_dim", srcVocabSize = "src_vocab_size"
            case tgtVocabSize = "tgt_vocab_size", maxPositionEmbeddings = "max_position_embeddings", padTokenId = "pad_token_id"
            case activationFunction = "activation_function", scaleEmbedding = "scale_embedding"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.configContainer(Config.self)
            dModel = try c.required(Int.self, "d_model")
            encoderLayers = try c.required(Int.self, "encoder_layers")
            decoderLayers = try c.required(Int.self, "decoder_layers")
            encoderAttentionHeads = try c.required(Int.self, "encoder_attention_heads")
            decoderAttentionHeads = try c.required(Int.self, "decoder_attention_heads")
            for (key, h) in [("encoder_attention_heads", encoderAttentionHeads), ("decoder_attention_heads", decoderAttentionHeads)] {
                try c.check(h > 0 && dModel % h == 0, key, "\(h) does not divide d_model \(dModel)")
            }
            try c.check(encoderLayers >= 0 && decoderLayers >= 0, "encoder_layers", "is negative")
            encoderFfnDim = try c.value(Int.self, "encoder_ffn_dim", default: Defaults.ffnDim)
            decoderFfnDim = try c.value(Int.self, "decoder_ffn_dim", default: Defaults.ffnDim)
            tgtVocabSize = try c.required(Int.self, "tgt_vocab_size")
            srcVocabSize = try c.value(Int.self, "src_vocab_size", default: tgtVocabSize)
            maxPositionEmbeddings = try c.value(Int.self, "max_position_embeddings", default: Defaults.maxPositions)
            padTokenId = try c.value(Int.self, "pad_token_id", default: 1)
            activationFunction = try c.value(String.self, "activation_function", default: Defaults.activation)
            scaleEmbedding = try c.value(Bool.self, "scale_embedding", default: true)
        }
    }

    public func inputs(_ c: Config) -> [InputSpec] {
        [InputSpec("input_ids", role: .tokens), InputSpec("attention_mask", role: .mask), InputSpec("decoder_input_ids", role: .tokens)]
    }

    public func tolerance(for dtype: DType) -> ArchitectureTolerance? {
        dtype == .f32 ? ArchitectureTolerance(atol: 1e-4, rtol: 1e-3) : nil
    }

    public var blockPaths: [String] { ["encoder.layers.{bid}", "decoder.layers.{bid}"] }

    public func dims(_ c: Config) -> [String: Int] {
        ["d": c.dModel, "srcVocab": c.srcVocabSize, "tgtVocab": c.tgtVocabSize, "encoderLayers": c.encoderLayers,
         "decoderLayers": c.decoderLayers, "encoderFFN": c.encoderFfnDim, "decoderFFN": c.decoderFfnDim,
         "positionRows": c.maxPositionEmbeddings + c.padTokenId + 1]
    }

    public var tensorTemplates: [TensorTemplate] {
        var t: [TensorTemplate] = [
            .init("encoder.embed_tokens.weight", shape: ["srcVocab", "d"], kind: .embedding),
            .init("decoder.embed_tokens.weight", shape: ["tgtVocab", "d"], kind: .embedding),
            .init("decoder.output_projection.weight", shape: ["tgtVocab", "d"], optional: true),
            // transformers stores the sinusoidal tables; the graph computes them (sinusoidal_positions).
            .init("encoder.embed_positions.weight", shape: ["positionRows", "d"], kind: .sinusoidal, optional: true),
            .init("decoder.embed_positions.weight", shape: ["positionRows", "d"], kind: .sinusoidal, optional: true),
        ]
        func layer(_ side: String, _ blocks: String, _ ffn: String, attentions: [String], norms: [String]) {
            let l = "\(side).layers.{bid}"
            for a in attentions {
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    t.append(.init("\(l).\(a).\(proj).weight", shape: ["d", "d"], blocks: blocks))
                    t.append(.init("\(l).\(a).\(proj).bias", shape: ["d"], blocks: blocks, kind: .bias))
                }
            }
            for n in norms {
                t.append(.init("\(l).\(n).weight", shape: ["d"], blocks: blocks, kind: .normScale))
                t.append(.init("\(l).\(n).bias", shape: ["d"], blocks: blocks, kind: .normBias))
            }
            t.append(.init("\(l).fc1.weight", shape: [ffn, "d"], blocks: blocks))
            t.append(.init("\(l).fc1.bias", shape: [ffn], blocks: blocks, kind: .bias))
            t.append(.init("\(l).fc2.weight", shape: ["d", ffn], blocks: blocks))
            t.append(.init("\(l).fc2.bias", shape: ["d"], blocks: blocks, kind: .bias))
        }
        layer("encoder", "encoderLayers", "encoderFFN", attentions: ["self_attn"], norms: ["self_attn_layer_norm", "final_layer_norm"])
        layer("decoder", "decoderLayers", "decoderFFN", attentions: ["self_attn", "encoder_attn"],
              norms: ["self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm"])
        return t
    }

    public func shrunk(_ c: Config, to request: TinyRequest) throws -> Config {
        let r = try request.resolved()
        var s = c
        (s.encoderLayers, s.decoderLayers) = (r.layers, r.layers)
        s.dModel = r.hidden
        (s.encoderAttentionHeads, s.decoderAttentionHeads) = (r.heads, r.heads)
        (s.encoderFfnDim, s.decoderFfnDim) = (r.intermediate, r.intermediate)
        return s
    }

    public func modelCard(_ c: Config, facts: ModelCardFacts) -> String? {
        TinyModelCard.text(family: "FSMT", facts: facts,
                           sizes: "\(c.encoderLayers)+\(c.decoderLayers) layers, d_model \(c.dModel), \(c.encoderAttentionHeads) heads, FFN \(c.encoderFfnDim), vocabularies \(c.srcVocabSize)/\(c.tgtVocabSize)")
    }

    public func build(_ c: Config, modelType: String, tensorNames names: Set<String>) throws -> Graph {
        let d = c.dModel
        let encoderLayers = c.encoderLayers, decoderLayers = c.decoderLayers
        let encoderHeads = c.encoderAttentionHeads, decoderHeads = c.decoderAttentionHeads
        let pad = c.padTokenId
        let act = c.activationFunction
        let embedScale = c.scaleEmbedding ? Double(d).squareRoot() : 1
        let tgtVocab = c.tgtVocabSize
        let epsilon = 1e-5  // nn.LayerNorm's default, which FSMT uses
        guard let p = namePrefix(of: "encoder.embed_tokens.weight", in: names) else {
            throw ArchitectureError.missingTensor(model: "fsmt", name: "encoder.embed_tokens.weight")
        }
        var g = GraphBuilding()

        func embed(_ side: String, ids: String) -> String {
            let tokens = g.add("\(side).embed_tokens", "gather", [g.weight(p + "\(side).embed_tokens.weight"), ids])
            let scaled = embedScale == 1 ? tokens : g.add("\(side).embed_scale", "scale", [tokens], ["factor": .double(embedScale)])
            let positionIds = g.add("\(side).position_ids", "position_ids", [ids], ["offset": 0, "padding_idx": .int(Int64(pad))])
            let positions = g.add("\(side).embed_positions", "sinusoidal_positions", [positionIds],
                                  ["dim": .int(Int64(d)), "padding_idx": .int(Int64(pad)), "style": "fairseq"])
            return g.add("\(side).embeddings", "add", [scaled, positions])
        }

        func attentionBlock(_ path: String, query x: String, keyValue kv: String, mask: String, heads: Int) -> String {
            let headDim = d / heads
            let q = g.linear("\(path).q_proj", x, weightPrefix: p, names: names)
            let qScaled = g.add("\(path).q_scaled", "scale", [q], ["factor": .double(1 / Double(headDim).squareRoot())])
            let k = g.linear("\(path).k_proj", kv, weightPrefix: p, names: names)
            let v = g.linear("\(path).v_proj", kv, weightPrefix: p, names: names)
            let context = g.attention(path, query: qScaled, key: k, value: v, mask: mask, heads: heads, headDim: headDim, scale: nil)
            return g.linear("\(path).out_proj", context, weightPrefix: p, names: names)
        }

        func feedForward(_ layer: String, _ x: String, side: String) throws -> String {
            let fc1 = g.linear("\(layer).fc1", x, weightPrefix: p, names: names)
            let activated = try g.activation("\(layer).activation_fn", fc1, kind: act, model: "fsmt")
            let fc2 = g.linear("\(layer).fc2", activated, weightPrefix: p, names: names)
            return g.add("\(layer).ffn_residual", "add", [fc2, x])
        }

        // Encoder.
        var x = embed("encoder", ids: "input_ids")
        let encoderMask = g.add("encoder.attention_mask", "attention_mask", ["attention_mask"], ["causal": false])
        for i in 0..<encoderLayers {
            let l = "encoder.layers.\(i)"
            let attn = attentionBlock("\(l).self_attn", query: x, keyValue: x, mask: encoderMask, heads: encoderHeads)
            let res = g.add("\(l).self_attn_residual", "add", [attn, x])
            let normed = g.layerNorm("\(l).self_attn_layer_norm", res, weightPrefix: p, epsilon: epsilon)
            x = g.layerNorm("\(l).final_layer_norm", try feedForward(l, normed, side: "encoder"), weightPrefix: p, epsilon: epsilon,
                            output: i == encoderLayers - 1 ? "encoder_last_hidden_state" : nil)
        }
        if encoderLayers == 0 { x = g.add("encoder_last_hidden_state", "identity", [x], output: "encoder_last_hidden_state") }
        let encoderOut = x

        // Decoder, teacher-forced.
        var y = embed("decoder", ids: "decoder_input_ids")
        let decoderKeep = g.add("decoder.padding_mask", "not_equal", ["decoder_input_ids"], ["value": .int(Int64(pad))])
        let selfMask = g.add("decoder.causal_mask", "attention_mask", [decoderKeep], ["causal": true])
        for i in 0..<decoderLayers {
            let l = "decoder.layers.\(i)"
            let selfAttn = attentionBlock("\(l).self_attn", query: y, keyValue: y, mask: selfMask, heads: decoderHeads)
            let res1 = g.add("\(l).self_attn_residual", "add", [selfAttn, y])
            let n1 = g.layerNorm("\(l).self_attn_layer_norm", res1, weightPrefix: p, epsilon: epsilon)
            let cross = attentionBlock("\(l).encoder_attn", query: n1, keyValue: encoderOut, mask: encoderMask, heads: decoderHeads)
            let res2 = g.add("\(l).encoder_attn_residual", "add", [cross, n1])
            let n2 = g.layerNorm("\(l).encoder_attn_layer_norm", res2, weightPrefix: p, epsilon: epsilon)
            y = g.layerNorm("\(l).final_layer_norm", try feedForward(l, n2, side: "decoder"), weightPrefix: p, epsilon: epsilon)
        }
        let projection = names.contains(p + "decoder.output_projection.weight") ? p + "decoder.output_projection.weight" : p + "decoder.embed_tokens.weight"
        g.add("decoder.output_projection", "linear", [y, g.weight(projection)], output: "logits")
        try g.checkWeights(in: names, model: "fsmt")
        let ids: [Int] = [-1, -1]
        return Graph(inputs: inputs(c).map { GraphValue(name: $0.name, dtype: $0.dtype, shape: ids) },
                     outputs: [GraphValue(name: "encoder_last_hidden_state", dtype: .f32, shape: [-1, -1, d]),
                               GraphValue(name: "logits", dtype: .f32, shape: [-1, -1, tgtVocab])],
                     nodes: g.nodes, origin: "builder:fsmt")
    }
}
