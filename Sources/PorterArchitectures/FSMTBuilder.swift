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
public struct FSMTBuilder: GraphBuilder {
    public init() {}
    public var modelTypes: [String] { ["fsmt"] }

    public func build(config: JSONValue, tensorNames names: Set<String>) throws -> Graph {
        let c = ConfigReader(config: config, model: "fsmt")
        let d = try c.int("d_model")
        let encoderLayers = try c.int("encoder_layers"), decoderLayers = try c.int("decoder_layers")
        let encoderHeads = try c.int("encoder_attention_heads"), decoderHeads = try c.int("decoder_attention_heads")
        for (key, h) in [("encoder_attention_heads", encoderHeads), ("decoder_attention_heads", decoderHeads)] where h <= 0 || d % h != 0 {
            throw ArchitectureError.badConfig(model: "fsmt", key: key, detail: "\(h) does not divide d_model \(d)")
        }
        let pad = try c.int("pad_token_id", default: 1)
        let act = try c.string("activation_function", default: "relu")
        let embedScale = try c.bool("scale_embedding", default: true) ? Double(d).squareRoot() : 1
        let tgtVocab = try c.int("tgt_vocab_size")
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
        return Graph(inputs: [GraphValue(name: "input_ids", dtype: .i64, shape: ids),
                              GraphValue(name: "attention_mask", dtype: .i64, shape: ids),
                              GraphValue(name: "decoder_input_ids", dtype: .i64, shape: ids)],
                     outputs: [GraphValue(name: "encoder_last_hidden_state", dtype: .f32, shape: [-1, -1, d]),
                               GraphValue(name: "logits", dtype: .f32, shape: [-1, -1, tgtVocab])],
                     nodes: g.nodes, origin: "builder:fsmt")
    }
}
