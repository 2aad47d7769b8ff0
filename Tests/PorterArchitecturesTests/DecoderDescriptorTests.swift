import Foundation
import PorterArchitectures
import PorterCore
import PorterPipeline
import PorterSafetensors
import PorterTestSupport
import PorterVerifier
import Testing

private func decoderFixture(_ name: String) throws -> (config: JSONValue, shapes: [String: [Int]]) {
    let config = try Fixtures.json("llama/\(name)/config.json")
    let model = try SafetensorsReader().readFile(Fixtures.url("llama/\(name)/model.safetensors"))
    return (config, Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.tensor.shape.dims) }))
}

/// `name` renamed by the first matching rule of a mapping file (regex `match`, `$n` in `rename`).
private func renamed(_ name: String, by rules: [JSONValue]) throws -> String? {
    for rule in rules {
        guard let match = rule["match"]?.stringValue, let rename = rule["rename"]?.stringValue else { continue }
        let re = try NSRegularExpression(pattern: match)
        let range = NSRange(name.startIndex..., in: name)
        guard re.firstMatch(in: name, range: range) != nil else { continue }
        return re.stringByReplacingMatches(in: name, range: range, withTemplate: rename)
    }
    return nil
}

@Suite("Decoder language model descriptors")
struct DecoderDescriptorTests {
    let registry = ArchitectureRegistry.standard
    static let variants = ["llama", "llama-tied", "llama-bias", "llama-rope-linear", "llama-rope-dynamic", "llama-rope-llama3",
                           "llama-rope-yarn", "mistral", "mistral-window", "qwen2", "qwen3", "gemma", "gemma2", "gemma2-window", "phi3"]

    @Test("every fixture tensor is a template of its family with the template's shape; every required one is stored",
          arguments: variants)
    func templatesCoverFixtures(name: String) throws {
        let (config, shapes) = try decoderFixture(name)
        let d = try #require(registry.descriptor(for: config))
        #expect(d.family == (config["model_type"]?.stringValue ?? ""))
        let expected = try d.expectedTensors(config: config, prefix: "model.")
        let byName = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0) })
        for (n, shape) in shapes {
            let e = try #require(byName[n], "\(name): \(n) has no template")
            #expect(e.shape == shape, "\(name): \(n)")
        }
        for e in expected where !e.optional { #expect(shapes[e.name] != nil, "\(name): \(e.name) missing") }
        // Tied variants store no head, and the head template says what it is tied to.
        let head = try #require(byName["lm_head.weight"])
        #expect(head.tiedTo == (config["tie_word_embeddings"]?.boolValue == true ? "model.embed_tokens.weight" : nil))
    }

    @Test("the templates' GGUF names are the ones mappings/hf-llama-to-gguf.json renames to")
    func ggufNamesAgreeWithTheMappingFile() throws {
        let mapping = try JSONValue.parse(Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("mappings/hf-llama-to-gguf.json")))
        let rules = try #require(mapping["rules"]?.arrayValue)
        for name in ["llama", "llama-bias", "mistral"] {
            let (config, shapes) = try decoderFixture(name)
            let d = try #require(registry.descriptor(for: config))
            let templateRules = try d.mappingRules(from: .hfPT, to: .gguf)
            for tensor in shapes.keys.sorted() {
                let fromFile = try renamed(tensor, by: rules)
                let fromTemplates = try renamed(tensor, by: templateRules)
                #expect(fromFile != nil && fromFile == fromTemplates, "\(name): \(tensor) → file \(fromFile ?? "–"), templates \(fromTemplates ?? "–")")
            }
        }
        // The other families' names follow llama.cpp too.
        let qwen3 = try Qwen3Descriptor().mappingRules(from: .hfPT, to: .gguf)
        #expect(try renamed("model.layers.1.self_attn.k_norm.weight", by: qwen3) == "blk.1.attn_k_norm.weight")
        let gemma2 = try Gemma2Descriptor().mappingRules(from: .hfPT, to: .gguf)
        #expect(try renamed("model.layers.0.post_feedforward_layernorm.weight", by: gemma2) == "blk.0.post_ffw_norm.weight")
        #expect(try renamed("model.layers.0.pre_feedforward_layernorm.weight", by: gemma2) == "blk.0.ffn_norm.weight")
        let phi3 = try Phi3Descriptor().mappingRules(from: .hfPT, to: .gguf)
        #expect(try renamed("model.layers.3.self_attn.qkv_proj.weight", by: phi3) == "blk.3.attn_qkv.weight")
        #expect(try renamed("model.layers.3.mlp.gate_up_proj.weight", by: phi3) == "blk.3.ffn_up.weight")
    }

    @Test("GGUF key-values are llama.cpp's per-architecture keys")
    func ggufKeyValues() throws {
        let kv = try LlamaDescriptor().ggufKeyValues(config: try decoderFixture("llama").config)
        #expect(kv == [
            "general.architecture": "llama", "llama.vocab_size": 64, "llama.context_length": 64, "llama.embedding_length": 32,
            "llama.block_count": 2, "llama.feed_forward_length": 48, "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2,
            "llama.attention.layer_norm_rms_epsilon": 1e-5, "llama.rope.freq_base": 10000.0, "llama.rope.dimension_count": 8,
        ])
        // head_dim wider than hidden / heads is stated; yarn scaling is spelt as llama.cpp does.
        let yarn = try LlamaDescriptor().ggufKeyValues(config: try decoderFixture("llama-rope-yarn").config)
        #expect(yarn["llama.attention.key_length"] == 8 && yarn["llama.embedding_length"] == 16)
        #expect(yarn["llama.rope.scaling.type"] == "yarn" && yarn["llama.rope.scaling.factor"] == 4.0)
        #expect(yarn["llama.rope.scaling.original_context_length"] == 16)
        let linear = try LlamaDescriptor().ggufKeyValues(config: try decoderFixture("llama-rope-linear").config)
        #expect(linear["llama.rope.scaling.type"] == "linear")
        // Gemma 2 with llama.cpp's attention scale (query_pre_attn_scalar = head_dim); the fixture's 6 is refused.
        let fixture = try decoderFixture("gemma2").config
        #expect(throws: GGUFLayoutRefusal.self) { _ = try Gemma2Descriptor().ggufKeyValues(config: fixture) }
        var scaled = fixture.objectValue ?? [:]
        scaled["query_pre_attn_scalar"] = 8
        let gemma2 = try Gemma2Descriptor().ggufKeyValues(config: .object(scaled))
        #expect(gemma2["general.architecture"] == "gemma2" && gemma2["gemma2.attn_logit_softcapping"] == 1.5)
        #expect(gemma2["gemma2.final_logit_softcapping"] == 3.0 && gemma2["gemma2.attention.sliding_window"] == 4096)
        let phi3 = try Phi3Descriptor().ggufKeyValues(config: try decoderFixture("phi3").config)
        #expect(phi3["phi3.rope.dimension_count"] == 4)  // partial_rotary_factor 0.5 of head size 8
        #expect(try MistralDescriptor().ggufKeyValues(config: try decoderFixture("mistral").config)["general.architecture"] == "llama")
    }

    @Test("transformers 4.x spellings (rope_theta, rope_scaling with type) read as transformers 5's rope_parameters")
    func olderRopeSpellings() throws {
        var config = try #require(try decoderFixture("llama-rope-linear").config.objectValue)
        let v5 = try LlamaDescriptor().decode(.object(config))
        config["rope_parameters"] = nil
        config["rope_theta"] = 10000.0
        config["rope_scaling"] = ["type": "linear", "factor": 4.0]
        let v4 = try LlamaDescriptor().decode(.object(config))
        #expect(v4 == v5)
        #expect(v4.rope.type == "linear" && v4.rope.factor == 4)
        // No rope keys at all: default rope with theta 10000; no head_dim: hidden / heads.
        config["rope_scaling"] = nil
        config["rope_theta"] = nil
        config["head_dim"] = nil
        let plain = try LlamaDescriptor().decode(.object(config))
        #expect(plain.rope.type == "default" && plain.rope.theta == 10000 && plain.headDim == 4)
    }

    @Test("configs Porter cannot run are refused naming the key")
    func badConfigsNameTheKey() throws {
        let config = try #require(try decoderFixture("llama").config.objectValue)
        func refuses(_ change: (inout [String: JSONValue]) -> Void, key: String) {
            var c = config
            change(&c)
            #expect(throws: ArchitectureError.self) { _ = try LlamaDescriptor().decode(.object(c)) }
            do { _ = try LlamaDescriptor().decode(.object(c)) } catch let ArchitectureError.badConfig(_, k, _) {
                #expect(k == key)
            } catch { Issue.record("\(error)") }
        }
        refuses({ $0["num_key_value_heads"] = 3 }, key: "num_key_value_heads")
        refuses({ $0["hidden_size"] = nil }, key: "hidden_size")
        refuses({ $0["rope_parameters"] = ["rope_type": "longrope", "rope_theta": 10000.0, "factor": 2.0] }, key: "rope_parameters.rope_type")
        refuses({ $0["rope_parameters"] = ["rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0] }, key: "rope_parameters.low_freq_factor")
        refuses({ $0["rope_parameters"] = ["rope_type": "linear", "rope_theta": 10000.0] }, key: "rope_parameters.factor")
        refuses({ $0["rope_parameters"] = "fast" }, key: "rope_parameters")
        refuses({ $0["partial_rotary_factor"] = 0.1 }, key: "partial_rotary_factor")
        refuses({ $0["layer_types"] = ["full_attention"] }, key: "layer_types")
        // An unsupported activation is named when the graph is built.
        var c = config
        c["hidden_act"] = "mystery"
        let names = Set(try decoderFixture("llama").shapes.keys)
        #expect(throws: ArchitectureError.badConfig(model: "llama", key: "activation", detail: "'mystery' is not supported")) {
            try ArchitectureRegistry.standard.buildGraph(config: .object(c), tensorNames: names)
        }
        // A checkpoint without a layer's tensor is named.
        #expect(throws: ArchitectureError.missingTensor(model: "llama", name: "model.layers.1.mlp.up_proj.weight")) {
            try ArchitectureRegistry.standard.buildGraph(config: .object(config), tensorNames: names.subtracting(["model.layers.1.mlp.up_proj.weight"]))
        }
    }

    @Test("configs found by architectures[0] alone")
    func foundByClassName() throws {
        for (cls, family) in [("LlamaForCausalLM", "llama"), ("MistralForCausalLM", "mistral"), ("Qwen2ForCausalLM", "qwen2"),
                              ("Qwen3ForCausalLM", "qwen3"), ("GemmaForCausalLM", "gemma"), ("Gemma2ForCausalLM", "gemma2"), ("Phi3ForCausalLM", "phi3")] {
            #expect(registry.descriptor(for: ["architectures": [.string(cls)]])?.family == family)
        }
    }

    @Test("porter tiny shrinks a grouped-query model keeping its grouping, and the copy verifies and runs",
          arguments: ["llama", "qwen3", "gemma2", "phi3"])
    func tinyCopies(name: String) throws {
        let out = try Fixtures.scratchDirectory("porter-tiny-decoder").appendingPathComponent(name)
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        _ = try Pipeline().tiny(TinyJob(source: Fixtures.url("llama/\(name)"), output: out,
                                        sizes: TinySizes(layers: 1, hidden: 16, heads: 2, intermediate: 8), seed: 5))
        let (_, model) = try Pipeline().read(out)
        let d = try #require(registry.descriptor(for: model.config))
        let c = try d.dimensions(config: model.config)
        #expect(c["layers"] == 1 && c["hidden"] == 16 && c["intermediate"] == 8)
        #expect(model.config["num_attention_heads"] == 2 && model.config["num_key_value_heads"] == 1)  // 4:2 grouping kept
        if model.config["head_dim"] != nil { #expect(model.config["head_dim"] == 8) }
        let expected = try d.expectedTensors(config: model.config, prefix: "model.")
        let shapes = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0.shape) })
        for e in model.tensors { #expect(e.tensor.shape.dims == shapes[e.name], "\(name): \(e.name)") }
        let report = Verifier().verify(source: model, converted: model)
        #expect(report.passed, "\(report.failures)")
        #expect(report.forward.status == .passed)
        #expect(report.tolerance.from == "descriptor:\(d.family)")
    }
}
