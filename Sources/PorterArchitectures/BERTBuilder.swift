import Foundation
import PorterCore

/// BERT and RoBERTa encoders from a transformers `config.json` (`BertModel`,
/// `RobertaModel`, and the same names under a `bert.`/`roberta.` prefix).
///
/// Inputs `input_ids`, `attention_mask`, `token_type_ids` (int64 `[batch, seq]`); output
/// `last_hidden_state`. RoBERTa positions are fairseq-style, counted from `pad_token_id`.
public struct BERTBuilder: GraphBuilder {
    public init() {}
    public var modelTypes: [String] { ["bert", "roberta"] }

    public func build(config: JSONValue, tensorNames names: Set<String>) throws -> Graph {
        let type = config["model_type"]?.stringValue ?? "bert"
        let c = ConfigReader(config: config, model: type)
        let hidden = try c.int("hidden_size")
        let layers = try c.int("num_hidden_layers")
        let heads = try c.int("num_attention_heads")
        guard heads > 0, hidden % heads == 0 else {
            throw ArchitectureError.badConfig(model: type, key: "num_attention_heads", detail: "\(heads) does not divide hidden_size \(hidden)")
        }
        let epsilon = try c.double("layer_norm_eps", default: 1e-12)
        let act = try c.string("hidden_act", default: "gelu")
        guard let p = namePrefix(of: "embeddings.word_embeddings.weight", in: names) else {
            throw ArchitectureError.missingTensor(model: type, name: "embeddings.word_embeddings.weight")
        }
        var g = GraphBuilding()
        // Embeddings.
        let words = g.add("embeddings.word_embeddings", "gather", [g.weight(p + "embeddings.word_embeddings.weight"), "input_ids"])
        let positionAttributes: [String: JSONValue]
        if type == "roberta" {
            positionAttributes = ["offset": 0, "padding_idx": .int(Int64(try c.int("pad_token_id", default: 1)))]
        } else {
            positionAttributes = ["offset": 0, "padding_idx": nil]
        }
        let positionIds = g.add("embeddings.position_ids", "position_ids", ["input_ids"], positionAttributes)
        let positions = g.add("embeddings.position_embeddings", "gather", [g.weight(p + "embeddings.position_embeddings.weight"), positionIds])
        let types = g.add("embeddings.token_type_embeddings", "gather", [g.weight(p + "embeddings.token_type_embeddings.weight"), "token_type_ids"])
        let sum = g.add("embeddings.sum", "add", [g.add("embeddings.sum_positions", "add", [words, positions]), types])
        var x = g.layerNorm("embeddings.LayerNorm", sum, weightPrefix: p, epsilon: epsilon)
        let mask = g.add("extended_attention_mask", "attention_mask", ["attention_mask"], ["causal": false])
        let headDim = hidden / heads
        for i in 0..<layers {
            let l = "encoder.layer.\(i)"
            let q = g.linear("\(l).attention.self.query", x, weightPrefix: p, names: names)
            let k = g.linear("\(l).attention.self.key", x, weightPrefix: p, names: names)
            let v = g.linear("\(l).attention.self.value", x, weightPrefix: p, names: names)
            let context = g.attention("\(l).attention.self", query: q, key: k, value: v, mask: mask, heads: heads,
                                      headDim: headDim, scale: 1 / Double(headDim).squareRoot())
            let attnOut = g.linear("\(l).attention.output.dense", context, weightPrefix: p, names: names)
            let attnRes = g.add("\(l).attention.output.residual", "add", [attnOut, x])
            let attn = g.layerNorm("\(l).attention.output.LayerNorm", attnRes, weightPrefix: p, epsilon: epsilon)
            let inter = g.linear("\(l).intermediate.dense", attn, weightPrefix: p, names: names)
            let activated = try g.activation("\(l).intermediate.intermediate_act_fn", inter, kind: act, model: type)
            let out = g.linear("\(l).output.dense", activated, weightPrefix: p, names: names)
            let res = g.add("\(l).output.residual", "add", [out, attn])
            x = g.layerNorm("\(l).output.LayerNorm", res, weightPrefix: p, epsilon: epsilon,
                            output: i == layers - 1 ? "last_hidden_state" : nil)
        }
        if layers == 0 { x = g.add("last_hidden_state", "identity", [x], output: "last_hidden_state") }
        try g.checkWeights(in: names, model: type)
        let ids: [Int] = [-1, -1]
        return Graph(inputs: [GraphValue(name: "input_ids", dtype: .i64, shape: ids),
                              GraphValue(name: "attention_mask", dtype: .i64, shape: ids),
                              GraphValue(name: "token_type_ids", dtype: .i64, shape: ids)],
                     outputs: [GraphValue(name: "last_hidden_state", dtype: .f32, shape: [-1, -1, hidden])],
                     nodes: g.nodes, origin: "builder:\(type)")
    }
}
