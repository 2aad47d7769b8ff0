import Foundation
import PorterCore

/// The graph of a decoder-only language model (`DecoderDescriptor`), from its config and
/// style. Node names are transformers' module paths under the base model
/// (`layers.0.self_attn.q_proj`), so the divergence search reads per layer.
enum DecoderGraph {
    /// Which layers attend through a sliding window (transformers' `layer_types`, else the family default).
    static func windowedLayers(_ c: DecoderConfig, style: DecoderStyle) -> [Bool] {
        guard c.slidingWindow != nil else { return [Bool](repeating: false, count: c.numHiddenLayers) }
        if let types = c.layerTypes { return types.map { $0 == "sliding_attention" } }
        return (0..<c.numHiddenLayers).map { i in
            switch style.window {
            case .none: return false
            case .all: return true
            case .alternating: return i % 2 == 0
            case .fromMaxWindowLayers: return c.useSlidingWindow && i >= c.maxWindowLayers
            }
        }
    }

    /// The `rotary_embedding` attributes of the config's rope parameters.
    static func ropeAttributes(_ c: DecoderConfig) -> [String: JSONValue] {
        let r = c.rope
        var a: [String: JSONValue] = ["theta": .double(r.theta)]
        if c.rotaryDim != c.headDim { a["rotary_dim"] = .int(Int64(c.rotaryDim)) }
        if r.type != "default" {
            a["scaling"] = .string(r.type)
            if let f = r.factor { a["factor"] = .double(f) }
        }
        switch r.type {
        case "llama3":
            if let v = r.lowFreqFactor { a["low_freq_factor"] = .double(v) }
            if let v = r.highFreqFactor { a["high_freq_factor"] = .double(v) }
            a["original_max_positions"] = .int(Int64(r.originalMaxPositionEmbeddings ?? c.maxPositionEmbeddings))
        case "yarn":
            a["original_max_positions"] = .int(Int64(r.originalMaxPositionEmbeddings ?? c.maxPositionEmbeddings))
            if let v = r.betaFast, v != 0 { a["beta_fast"] = .double(v) }
            if let v = r.betaSlow, v != 0 { a["beta_slow"] = .double(v) }
            if let v = r.attentionFactor { a["attention_factor"] = .double(v) }
            if let v = r.mscale { a["mscale"] = .double(v) }
            if let v = r.mscaleAllDim { a["mscale_all_dim"] = .double(v) }
            if let v = r.truncate { a["truncate"] = .bool(v) }
        case "dynamic":
            a["max_positions"] = .int(Int64(c.maxPositionEmbeddings))
        default: break
        }
        return a
    }

    /// How the checkpoint names its tensors: transformers' names under a prefix (`model.`), or
    /// llama.cpp's GGUF names (`token_embd.weight`, `blk.N.attn_q.weight`, from the templates).
    struct Naming {
        var prefix: String
        /// HF template (`layers.{bid}.self_attn.q_proj.weight`) → GGUF template, when the checkpoint uses GGUF names.
        var gguf: [String: String]?

        init(names: Set<String>, templates: [TensorTemplate], model: String) throws {
            if let p = namePrefix(of: "embed_tokens.weight", in: names) {
                prefix = p
                gguf = nil
            } else if names.contains("token_embd.weight") {
                prefix = ""
                gguf = Dictionary(templates.compactMap { t in t.gguf.map { (t.hf, $0) } }, uniquingKeysWith: { a, _ in a })
            } else {
                throw ArchitectureError.missingTensor(model: model, name: "embed_tokens.weight")
            }
        }

        /// The checkpoint's name of the tensor transformers calls `module` + `suffix` (under the base model).
        func name(_ module: String, _ suffix: String = ".weight") -> String {
            let hf = module + suffix
            guard let gguf else { return hf == "lm_head.weight" ? hf : prefix + hf }
            let parts = hf.split(separator: ".", maxSplits: 2).map(String.init)
            if parts.count == 3, parts[0] == "layers", Int(parts[1]) != nil,
               let t = gguf["layers.{bid}." + parts[2]] {
                return t.replacingOccurrences(of: "{bid}", with: parts[1])
            }
            return gguf[hf] ?? hf
        }
    }

    static func build(_ c: DecoderConfig, style: DecoderStyle, model: String, names: Set<String>, inputs: [InputSpec],
                      templates: [TensorTemplate]) throws -> Graph {
        let naming = try Naming(names: names, templates: templates, model: model)
        let heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads, d = c.headDim
        let qWidth = heads * d, kvWidth = kvHeads * d
        let eps = JSONValue.double(c.rmsNormEps)
        // llama.cpp's converter stores Gemma's norm weights with the 1 added.
        let offset: JSONValue = style.gemmaNorms && naming.gguf == nil ? 1 : 0
        var g = GraphBuilding()
        func norm(_ module: String, _ x: String, output: String? = nil, gemmaOffset: Bool = true) -> String {
            g.add(module, "rms_norm", [x, g.weight(naming.name(module))], ["epsilon": eps, "weight_offset": gemmaOffset ? offset : 0], output: output)
        }
        func linear(_ module: String, _ x: String) -> String {
            var inputs = [x, g.weight(naming.name(module))]
            let bias = naming.name(module, ".bias")
            if names.contains(bias) { inputs.append(g.weight(bias)) }
            return g.add(module, "linear", inputs)
        }
        func softcap(_ path: String, _ x: String, _ cap: Double?, output: String? = nil) -> String {
            guard let cap else { return x }
            let down = g.add("\(path).softcap_in", "scale", [x], ["factor": .double(1 / cap)])
            let t = g.add("\(path).softcap_tanh", "tanh", [down])
            return g.add("\(path).softcap", "scale", [t], ["factor": .double(cap)], output: output)
        }
        func slice(_ name: String, _ x: String, _ start: Int, _ end: Int) -> String {
            g.add(name, "slice", [x], ["axis": -1, "start": .int(Int64(start)), "end": .int(Int64(end))])
        }

        let embeddings = naming.name("embed_tokens")
        var x = g.add("embed_tokens", "gather", [g.weight(embeddings), "input_ids"])
        if style.gemmaNorms {
            // transformers multiplies by sqrt(hidden) rounded to the activations' dtype (float32).
            x = g.add("embed_scale", "scale", [x], ["factor": .double(Double(Float(Double(c.hiddenSize).squareRoot())))])
        }
        let positions = g.add("position_ids", "position_ids", ["input_ids"], ["offset": 0, "padding_idx": nil])
        let windows = windowedLayers(c, style: style)
        var fullMask: String?
        var windowMask: String?
        var rope = ropeAttributes(c)
        // llama.cpp permutes Llama's (and Mistral's) q/k rows for its adjacent-pair rope.
        if naming.gguf != nil, style.ggufArchitecture == "llama" { rope["layout"] = "interleaved" }
        let scale = 1 / (c.queryPreAttnScalar ?? Double(d)).squareRoot()
        for i in 0..<c.numHiddenLayers {
            let l = "layers.\(i)"
            let mask: String
            if windows[i], let w = c.slidingWindow {
                if windowMask == nil { windowMask = g.add("sliding_window_mask", "window_attention_mask", ["attention_mask"], ["window": .int(Int64(w))]) }
                mask = windowMask!
            } else {
                if fullMask == nil { fullMask = g.add("causal_attention_mask", "attention_mask", ["attention_mask"], ["causal": true]) }
                mask = fullMask!
            }
            let h = norm("\(l).input_layernorm", x)
            var q: String, k: String, v: String
            if style.fused {
                let qkv = linear("\(l).self_attn.qkv_proj", h)
                q = slice("\(l).self_attn.query", qkv, 0, qWidth)
                k = slice("\(l).self_attn.key", qkv, qWidth, qWidth + kvWidth)
                v = slice("\(l).self_attn.value", qkv, qWidth + kvWidth, qWidth + 2 * kvWidth)
            } else {
                q = linear("\(l).self_attn.q_proj", h)
                k = linear("\(l).self_attn.k_proj", h)
                v = linear("\(l).self_attn.v_proj", h)
            }
            q = g.add("\(l).self_attn.query_split", "reshape", [q], ["shape": [0, 0, .int(Int64(heads)), .int(Int64(d))]])
            k = g.add("\(l).self_attn.key_split", "reshape", [k], ["shape": [0, 0, .int(Int64(kvHeads)), .int(Int64(d))]])
            v = g.add("\(l).self_attn.value_split", "reshape", [v], ["shape": [0, 0, .int(Int64(kvHeads)), .int(Int64(d))]])
            if style.qkNorm {
                q = norm("\(l).self_attn.q_norm", q, gemmaOffset: false)
                k = norm("\(l).self_attn.k_norm", k, gemmaOffset: false)
            }
            q = g.add("\(l).self_attn.query_rotary", "rotary_embedding", [q, positions], rope)
            k = g.add("\(l).self_attn.key_rotary", "rotary_embedding", [k, positions], rope)
            let perm: JSONValue = [0, 2, 1, 3]
            q = g.add("\(l).self_attn.query_heads", "transpose", [q], ["perm": perm])
            k = g.add("\(l).self_attn.key_heads", "transpose", [k], ["perm": perm])
            v = g.add("\(l).self_attn.value_heads", "transpose", [v], ["perm": perm])
            if kvHeads != heads {
                // transformers' repeat_kv: query head h reads key/value head h / (heads / kv heads).
                let repeats = heads / kvHeads
                func expand(_ name: String, _ t: String) -> String {
                    let u = g.add("\(l).self_attn.\(name)_unsqueeze", "unsqueeze", [t], ["axes": [2]])
                    let c = g.add("\(l).self_attn.\(name)_repeat", "concat", [String](repeating: u, count: repeats), ["axis": 2])
                    return g.add("\(l).self_attn.\(name)_expanded", "reshape", [c], ["shape": [0, .int(Int64(heads)), -1, .int(Int64(d))]])
                }
                k = expand("key", k)
                v = expand("value", v)
            }
            var scores = g.add("\(l).self_attn.scores", "matmul", [q, k], ["transpose_b": true])
            scores = g.add("\(l).self_attn.scaled_scores", "scale", [scores], ["factor": .double(scale)])
            scores = softcap("\(l).self_attn", scores, c.attnLogitSoftcapping)
            scores = g.add("\(l).self_attn.masked_scores", "add", [scores, mask])
            let probs = g.add("\(l).self_attn.probs", "softmax", [scores], ["axis": -1])
            let context = g.add("\(l).self_attn.context", "matmul", [probs, v])
            let merged = g.add("\(l).self_attn.context_heads", "transpose", [context], ["perm": perm])
            let flat = g.add("\(l).self_attn.context_merged", "reshape", [merged], ["shape": [0, 0, .int(Int64(qWidth))]])
            var attn = linear("\(l).self_attn.o_proj", flat)
            if style.sandwichNorms { attn = norm("\(l).post_attention_layernorm", attn) }
            x = g.add("\(l).attn_residual", "add", [attn, x])
            let h2 = norm(style.sandwichNorms ? "\(l).pre_feedforward_layernorm" : "\(l).post_attention_layernorm", x)
            let gate: String, up: String
            if style.fused {
                let gu = linear("\(l).mlp.gate_up_proj", h2)
                gate = slice("\(l).mlp.gate", gu, 0, c.intermediateSize)
                up = slice("\(l).mlp.up", gu, c.intermediateSize, 2 * c.intermediateSize)
            } else {
                gate = linear("\(l).mlp.gate_proj", h2)
                up = linear("\(l).mlp.up_proj", h2)
            }
            let act = try g.activation("\(l).mlp.act", gate, kind: c.hiddenAct, model: model)
            let gated = g.add("\(l).mlp.gated", "mul", [act, up])
            var down = linear("\(l).mlp.down_proj", gated)
            if style.sandwichNorms { down = norm("\(l).post_feedforward_layernorm", down) }
            x = g.add("\(l).mlp_residual", "add", [down, x])
        }
        let final = norm("norm", x)
        // A stored head is used (tied checkpoints may store it with the embeddings' values); else the embeddings.
        let stored = naming.name("lm_head")
        let head = names.contains(stored) ? stored : embeddings
        if c.finalLogitSoftcapping != nil {
            let raw = g.add("lm_head", "linear", [final, g.weight(head)])
            _ = softcap("lm_head", raw, c.finalLogitSoftcapping, output: "logits")
        } else {
            g.add("lm_head", "linear", [final, g.weight(head)], output: "logits")
        }
        try g.checkWeights(in: names, model: model)
        return Graph(inputs: inputs.map { GraphValue(name: $0.name, dtype: $0.dtype, shape: [-1, -1]) },
                     outputs: [GraphValue(name: "logits", dtype: .f32, shape: [-1, -1, c.vocabSize])],
                     nodes: g.nodes, origin: "builder:\(model)")
    }
}
