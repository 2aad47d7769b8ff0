import Foundation
import PorterCore

/// GPT-2 with its language-model head from a transformers `config.json`
/// (`GPT2LMHeadModel` names, or `GPT2Model` names without the `transformer.` prefix).
///
/// Inputs `input_ids`, `attention_mask` (int64 `[batch, seq]`); output `logits`. The head
/// is `lm_head.weight` when the checkpoint stores it, else tied to `wte`.
public struct GPT2Builder: GraphBuilder {
    public init() {}
    public var modelTypes: [String] { ["gpt2"] }

    public func build(config: JSONValue, tensorNames names: Set<String>) throws -> Graph {
        let c = ConfigReader(config: config, model: "gpt2")
        let hidden = try c.int("n_embd")
        let layers = try c.int("n_layer")
        let heads = try c.int("n_head")
        guard heads > 0, hidden % heads == 0 else {
            throw ArchitectureError.badConfig(model: "gpt2", key: "n_head", detail: "\(heads) does not divide n_embd \(hidden)")
        }
        let vocab = try c.int("vocab_size")
        let epsilon = try c.double("layer_norm_epsilon", default: 1e-5)
        let act = try c.string("activation_function", default: "gelu_new")
        let scaleWeights = try c.bool("scale_attn_weights", default: true)
        if try c.bool("scale_attn_by_inverse_layer_idx", default: false) {
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
                                      scale: scaleWeights ? 1 / Double(headDim).squareRoot() : nil)
            let attnOut = g.linear("\(l).attn.c_proj", context, weightPrefix: p, names: names, layout: "in_out")
            let res1 = g.add("\(l).attn.residual", "add", [attnOut, x])
            let ln2 = g.layerNorm("\(l).ln_2", res1, weightPrefix: p, epsilon: epsilon)
            let fc = g.linear("\(l).mlp.c_fc", ln2, weightPrefix: p, names: names, layout: "in_out")
            let activated = try g.activation("\(l).mlp.act", fc, kind: act, model: "gpt2")
            let proj = g.linear("\(l).mlp.c_proj", activated, weightPrefix: p, names: names, layout: "in_out")
            x = g.add("\(l).mlp.residual", "add", [proj, res1])
        }
        let final = g.layerNorm("ln_f", x, weightPrefix: p, epsilon: epsilon)
        let head = names.contains("lm_head.weight") ? "lm_head.weight" : p + "wte.weight"
        g.add("lm_head", "linear", [final, g.weight(head)], output: "logits")
        try g.checkWeights(in: names, model: "gpt2")
        let ids: [Int] = [-1, -1]
        return Graph(inputs: [GraphValue(name: "input_ids", dtype: .i64, shape: ids),
                              GraphValue(name: "attention_mask", dtype: .i64, shape: ids)],
                     outputs: [GraphValue(name: "logits", dtype: .f32, shape: [-1, -1, vocab])],
                     nodes: g.nodes, origin: "builder:gpt2")
    }
}
