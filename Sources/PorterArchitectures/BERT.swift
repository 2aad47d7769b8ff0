import Foundation
import PorterCore

/// BERT and RoBERTa encoders (`BertModel`, `RobertaModel`, and the same tensors under a
/// `bert.`/`roberta.` prefix in task models such as `BertForMaskedLM`).
///
/// Inputs `input_ids`, `attention_mask`, `token_type_ids` (int64 `[batch, seq]`); output
/// `last_hidden_state`. RoBERTa positions are fairseq-style, counted from `pad_token_id`.
public struct BERTDescriptor: ArchitectureDescriptor {
    public init() {}
    public var family: String { "bert" }
    public var modelTypes: [String] { ["bert", "roberta"] }
    public var architectureNames: [String] {
        ["BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification", "BertForTokenClassification",
         "RobertaModel", "RobertaForMaskedLM", "RobertaForSequenceClassification"]
    }
    public func basePrefix(modelType: String) -> String { modelType == "roberta" ? "roberta" : "bert" }
    public func tfModelScope(modelType: String) -> String? { "tf_\(basePrefix(modelType: modelType))_model" }

    /// transformers' `BertConfig` / `RobertaConfig` fields the graph and `porter tiny` use.
    public struct Config: ArchitectureConfig, Equatable {
        public var modelType: String
        public var vocabSize: Int
        public var hiddenSize: Int
        public var numHiddenLayers: Int
        public var numAttentionHeads: Int
        public var intermediateSize: Int
        public var maxPositionEmbeddings: Int
        public var typeVocabSize: Int
        public var layerNormEps: Double
        public var hiddenAct: String
        public var padTokenId: Int

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
            case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
            case layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act", padTokenId = "pad_token_id"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.configContainer(Config.self)
            modelType = try c.value(String.self, "model_type", default: "bert")
            hiddenSize = try c.required(Int.self, "hidden_size")
            numHiddenLayers = try c.required(Int.self, "num_hidden_layers")
            numAttentionHeads = try c.required(Int.self, "num_attention_heads")
            try c.check(numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0, "num_attention_heads",
                        "\(numAttentionHeads) does not divide hidden_size \(hiddenSize)")
            try c.check(numHiddenLayers >= 0, "num_hidden_layers", "\(numHiddenLayers) is negative")
            vocabSize = try c.value(Int.self, "vocab_size", default: 30522)
            intermediateSize = try c.value(Int.self, "intermediate_size", default: 4 * hiddenSize)
            maxPositionEmbeddings = try c.value(Int.self, "max_position_embeddings", default: 512)
            typeVocabSize = try c.value(Int.self, "type_vocab_size", default: 2)
            layerNormEps = try c.value(Double.self, "layer_norm_eps", default: 1e-12)
            hiddenAct = try c.value(String.self, "hidden_act", default: "gelu")
            padTokenId = try c.value(Int.self, "pad_token_id", default: modelType == "roberta" ? 1 : 0)
        }
    }

    public func inputs(_ c: Config) -> [InputSpec] {
        [InputSpec("input_ids", role: .tokens), InputSpec("attention_mask", role: .mask), InputSpec("token_type_ids", role: .categories)]
    }

    public func tolerance(for dtype: DType) -> ArchitectureTolerance? {
        // Measured on the fixtures against transformers (docs/verification.md): f32 encoders agree to ~1e-6.
        dtype == .f32 ? ArchitectureTolerance(atol: 1e-4, rtol: 1e-3) : nil
    }

    public var blockPaths: [String] { ["encoder.layer.{bid}"] }

    public func dims(_ c: Config) -> [String: Int] {
        ["vocab": c.vocabSize, "hidden": c.hiddenSize, "intermediate": c.intermediateSize, "positions": c.maxPositionEmbeddings,
         "types": c.typeVocabSize, "layers": c.numHiddenLayers, "one": 1, "two": 2]
    }

    public var tensorTemplates: [TensorTemplate] {
        var t: [TensorTemplate] = [
            .init("embeddings.word_embeddings.weight", tf: "embeddings/word_embeddings/weight:0", shape: ["vocab", "hidden"], kind: .embedding),
            .init("embeddings.position_embeddings.weight", tf: "embeddings/position_embeddings/embeddings:0", shape: ["positions", "hidden"], kind: .embedding),
            .init("embeddings.token_type_embeddings.weight", tf: "embeddings/token_type_embeddings/embeddings:0", shape: ["types", "hidden"], kind: .embedding),
            .init("embeddings.LayerNorm.weight", tf: "embeddings/LayerNorm/gamma:0", shape: ["hidden"], kind: .normScale),
            .init("embeddings.LayerNorm.bias", tf: "embeddings/LayerNorm/beta:0", shape: ["hidden"], kind: .normBias),
            .init("embeddings.position_ids", shape: ["one", "positions"], kind: .positionIds, optional: true),
        ]
        func linear(_ hf: String, _ tf: String, out: String, in i: String) {
            t.append(.init("encoder.layer.{bid}.\(hf).weight", tf: "encoder/layer_._{bid}/\(tf)/kernel:0", tfTranspose: true, shape: [out, i], blocks: "layers"))
            t.append(.init("encoder.layer.{bid}.\(hf).bias", tf: "encoder/layer_._{bid}/\(tf)/bias:0", shape: [out], blocks: "layers", kind: .bias))
        }
        func norm(_ hf: String, _ tf: String) {
            t.append(.init("encoder.layer.{bid}.\(hf).weight", tf: "encoder/layer_._{bid}/\(tf)/gamma:0", shape: ["hidden"], blocks: "layers", kind: .normScale))
            t.append(.init("encoder.layer.{bid}.\(hf).bias", tf: "encoder/layer_._{bid}/\(tf)/beta:0", shape: ["hidden"], blocks: "layers", kind: .normBias))
        }
        for p in ["query", "key", "value"] { linear("attention.self.\(p)", "attention/self/\(p)", out: "hidden", in: "hidden") }
        linear("attention.output.dense", "attention/output/dense", out: "hidden", in: "hidden")
        norm("attention.output.LayerNorm", "attention/output/LayerNorm")
        linear("intermediate.dense", "intermediate/dense", out: "intermediate", in: "hidden")
        linear("output.dense", "output/dense", out: "hidden", in: "intermediate")
        norm("output.LayerNorm", "output/LayerNorm")
        t += [
            .init("pooler.dense.weight", tf: "pooler/dense/kernel:0", tfTranspose: true, shape: ["hidden", "hidden"], optional: true),
            .init("pooler.dense.bias", tf: "pooler/dense/bias:0", shape: ["hidden"], kind: .bias, optional: true),
            // Task heads (BertForMaskedLM / BertForPreTraining, RobertaForMaskedLM): no TF names yet.
            .init("cls.predictions.transform.dense.weight", shape: ["hidden", "hidden"], head: true, optional: true),
            .init("cls.predictions.transform.dense.bias", shape: ["hidden"], kind: .bias, head: true, optional: true),
            .init("cls.predictions.transform.LayerNorm.weight", shape: ["hidden"], kind: .normScale, head: true, optional: true),
            .init("cls.predictions.transform.LayerNorm.bias", shape: ["hidden"], kind: .normBias, head: true, optional: true),
            .init("cls.predictions.bias", shape: ["vocab"], kind: .bias, head: true, optional: true),
            .init("cls.predictions.decoder.weight", shape: ["vocab", "hidden"], head: true, optional: true, tiedTo: "embeddings.word_embeddings.weight"),
            .init("cls.predictions.decoder.bias", shape: ["vocab"], kind: .bias, head: true, optional: true, tiedTo: "cls.predictions.bias", tieFollowsConfig: false),
            .init("cls.seq_relationship.weight", shape: ["two", "hidden"], head: true, optional: true),
            .init("cls.seq_relationship.bias", shape: ["two"], kind: .bias, head: true, optional: true),
            .init("lm_head.dense.weight", shape: ["hidden", "hidden"], head: true, optional: true),
            .init("lm_head.dense.bias", shape: ["hidden"], kind: .bias, head: true, optional: true),
            .init("lm_head.layer_norm.weight", shape: ["hidden"], kind: .normScale, head: true, optional: true),
            .init("lm_head.layer_norm.bias", shape: ["hidden"], kind: .normBias, head: true, optional: true),
            .init("lm_head.bias", shape: ["vocab"], kind: .bias, head: true, optional: true),
            .init("lm_head.decoder.weight", shape: ["vocab", "hidden"], head: true, optional: true, tiedTo: "embeddings.word_embeddings.weight"),
            .init("lm_head.decoder.bias", shape: ["vocab"], kind: .bias, head: true, optional: true, tiedTo: "lm_head.bias", tieFollowsConfig: false),
        ]
        return t
    }

    public func shrunk(_ c: Config, to request: TinyRequest) throws -> Config {
        let r = try request.resolved()
        var s = c
        s.numHiddenLayers = r.layers
        s.hiddenSize = r.hidden
        s.numAttentionHeads = r.heads
        s.intermediateSize = r.intermediate
        return s
    }

    public func modelCard(_ c: Config, facts: ModelCardFacts) -> String? {
        TinyModelCard.text(family: c.modelType == "roberta" ? "RoBERTa" : "BERT", facts: facts,
                           sizes: "\(c.numHiddenLayers) layers, hidden size \(c.hiddenSize), \(c.numAttentionHeads) heads, intermediate size \(c.intermediateSize), vocabulary \(c.vocabSize)")
    }

    public func build(_ c: Config, modelType type: String, tensorNames names: Set<String>) throws -> Graph {
        let hidden = c.hiddenSize, layers = c.numHiddenLayers, heads = c.numAttentionHeads
        let epsilon = c.layerNormEps
        guard let p = namePrefix(of: "embeddings.word_embeddings.weight", in: names) else {
            throw ArchitectureError.missingTensor(model: type, name: "embeddings.word_embeddings.weight")
        }
        var g = GraphBuilding()
        // Embeddings.
        let words = g.add("embeddings.word_embeddings", "gather", [g.weight(p + "embeddings.word_embeddings.weight"), "input_ids"])
        let positionAttributes: [String: JSONValue]
        if type == "roberta" {
            positionAttributes = ["offset": 0, "padding_idx": .int(Int64(c.padTokenId))]
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
            let activated = try g.activation("\(l).intermediate.intermediate_act_fn", inter, kind: c.hiddenAct, model: type)
            let out = g.linear("\(l).output.dense", activated, weightPrefix: p, names: names)
            let res = g.add("\(l).output.residual", "add", [out, attn])
            x = g.layerNorm("\(l).output.LayerNorm", res, weightPrefix: p, epsilon: epsilon,
                            output: i == layers - 1 ? "last_hidden_state" : nil)
        }
        if layers == 0 { x = g.add("last_hidden_state", "identity", [x], output: "last_hidden_state") }
        try g.checkWeights(in: names, model: type)
        return Graph(inputs: inputs(c).map { GraphValue(name: $0.name, dtype: $0.dtype, shape: [-1, -1]) },
                     outputs: [GraphValue(name: "last_hidden_state", dtype: .f32, shape: [-1, -1, hidden])],
                     nodes: g.nodes, origin: "builder:\(type)")
    }
}
