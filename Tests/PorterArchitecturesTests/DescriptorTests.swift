import Foundation
import PorterArchitectures
import PorterCore
import PorterSafetensors
import PorterTestSupport
import Testing

/// The fixture's config and its tensors' names and shapes.
func architectureFixture(_ name: String) throws -> (config: JSONValue, shapes: [String: [Int]]) {
    let config = try Fixtures.json("architectures/\(name)/config.json")
    let model = try SafetensorsReader().readFile(Fixtures.url("architectures/\(name)/model.safetensors"))
    return (config, Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.tensor.shape.dims) }))
}

@Suite("Architecture descriptors")
struct DescriptorTests {
    let registry = ArchitectureRegistry.standard

    @Test("every fixture tensor is one of its descriptor's templates, with the template's shape",
          arguments: [("bert", ""), ("roberta", ""), ("gpt2", "transformer."), ("fsmt", "model.")])
    func templatesCoverFixtures(name: String, prefix: String) throws {
        let (config, shapes) = try architectureFixture(name)
        let d = try #require(registry.descriptor(for: config))
        let expected = try d.expectedTensors(config: config, prefix: prefix)
        let byName = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0) })
        for (n, shape) in shapes {
            let e = try #require(byName[n], "\(name): \(n) has no template")
            #expect(e.shape == shape, "\(name): \(n)")
        }
        // Every required template is in the checkpoint.
        for e in expected where !e.optional { #expect(shapes[e.name] != nil, "\(name): \(e.name) missing") }
    }

    @Test("GPT-2's config takes HF's generic spellings too; the canonical ones win")
    func gpt2Aliases() throws {
        let d = GPT2Descriptor()
        let canonical = try d.decode(["n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 50])
        let generic = try d.decode(["hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50])
        #expect(canonical == generic)
        #expect(canonical.intermediate == 128)
        #expect(canonical.nPositions == 1024 && canonical.layerNormEpsilon == 1e-5 && canonical.activationFunction == "gelu_new")
        let both = try d.decode(["n_embd": 32, "hidden_size": 64, "n_layer": 2, "n_head": 4, "vocab_size": 50])
        #expect(both.nEmbd == 32)
    }

    @Test("decoding errors name the key")
    func decodingErrorsNameTheKey() throws {
        let d = GPT2Descriptor()
        #expect(throws: ArchitectureError.badConfig(model: "gpt2", key: "n_embd", detail: "is missing or not an integer")) {
            _ = try d.decode(["model_type": "gpt2", "n_layer": 2, "n_head": 4, "vocab_size": 50])
        }
        #expect(throws: ArchitectureError.badConfig(model: "gpt2", key: "hidden_size", detail: "is not an integer")) {
            _ = try d.decode(["model_type": "gpt2", "hidden_size": "wide", "n_layer": 2, "n_head": 4, "vocab_size": 50])
        }
        #expect(throws: ArchitectureError.badConfig(model: "gpt2", key: "n_embd", detail: "is not an integer")) {
            _ = try d.decode(["model_type": "gpt2", "n_embd": 32.5, "n_layer": 2, "n_head": 4, "vocab_size": 50])
        }
        #expect(throws: ArchitectureError.badConfig(model: "bert", key: "layer_norm_eps", detail: "is not a number")) {
            _ = try BERTDescriptor().decode(["hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "layer_norm_eps": "tiny"])
        }
        #expect(throws: ArchitectureError.badConfig(model: "fsmt", key: "decoder_attention_heads", detail: "3 does not divide d_model 8")) {
            _ = try FSMTDescriptor().decode(["model_type": "fsmt", "d_model": 8, "encoder_layers": 1, "decoder_layers": 1,
                                             "encoder_attention_heads": 2, "decoder_attention_heads": 3, "tgt_vocab_size": 10])
        }
        #expect(throws: ArchitectureError.self) { _ = try BERTDescriptor().decode(.array([1, 2])) }
    }

    @Test("a config without model_type is found by architectures[0]")
    func byArchitectureName() throws {
        let fixture = try architectureFixture("gpt2")
        var config = fixture.config
        let shapes = fixture.shapes
        var o = try #require(config.objectValue)
        o["model_type"] = nil
        config = .object(o)
        #expect(registry.descriptor(for: config)?.family == "gpt2")
        let graph = try registry.buildGraph(config: config, tensorNames: Set(shapes.keys))
        #expect(graph.origin == "builder:gpt2")
        #expect(registry.descriptor(for: ["architectures": ["T5ForConditionalGeneration"]]) == nil)
    }

    @Test("graph inputs are the declared inputs, with roles")
    func declaredInputs() throws {
        for name in ["bert", "gpt2", "fsmt"] {
            let (config, shapes) = try architectureFixture(name)
            let d = try #require(registry.descriptor(for: config))
            let graph = try registry.buildGraph(config: config, tensorNames: Set(shapes.keys))
            let specs = try d.inputSpecs(config: config)
            #expect(graph.inputs.map(\.name) == specs.map(\.name), "\(name)")
            #expect(specs.filter { $0.role == .mask }.map(\.name) == ["attention_mask"], "\(name)")
        }
        let fsmt = try architectureFixture("fsmt").config
        #expect(try FSMTDescriptor().inputSpecs(config: fsmt).filter { $0.role == .tokens }.map(\.name) == ["input_ids", "decoder_input_ids"])
    }

    @Test("block naming for the divergence search comes from the descriptor")
    func blockNaming() {
        #expect(BERTDescriptor().blockKey("encoder.layer.3.attention.self.query") == "encoder.layer.3")
        #expect(BERTDescriptor().blockKey("embeddings.LayerNorm") == nil)
        #expect(GPT2Descriptor().blockKey("h.11.mlp.c_fc") == "h.11")
        #expect(GPT2Descriptor().blockKey("h.x.mlp") == nil)
        #expect(FSMTDescriptor().blockKey("decoder.layers.0.encoder_attn.k_proj") == "decoder.layers.0")
    }

    @Test("format metadata hooks: GPT-2's GGUF key-values and names; ONNX axes from the inputs")
    func metadataHooks() throws {
        let (config, _) = try architectureFixture("gpt2")
        let kv = try GPT2Descriptor().ggufKeyValues(config: config)
        #expect(kv["general.architecture"] == "gpt2")
        #expect(kv["gpt2.block_count"] == config["n_layer"])
        #expect(kv["gpt2.embedding_length"] == config["n_embd"])
        #expect(try BERTDescriptor().ggufKeyValues(config: try architectureFixture("bert").config).isEmpty)
        let axes = try GPT2Descriptor().onnxDynamicAxes(config: config)
        #expect(axes["input_ids"] == [0: "batch", 1: "sequence"])
        let rules = try GPT2Descriptor().mappingRules(from: .hfPT, to: .gguf)
        #expect(rules.contains { $0["rename"]?.stringValue == "blk.$1.attn_qkv.weight" })
    }

    @Test("shrinking rewrites the sizes under the spellings the config uses and keeps every other key")
    func shrinking() throws {
        let (config, _) = try architectureFixture("gpt2")
        let small = try GPT2Descriptor().shrunkConfig(config, to: TinyRequest(layers: 1, hidden: 8, heads: 2, intermediate: 16))
        #expect(small["n_layer"] == 1 && small["n_embd"] == 8 && small["n_head"] == 2 && small["n_inner"] == 16)
        #expect(small["vocab_size"] == config["vocab_size"])
        for (k, v) in try #require(config.objectValue) where !["n_layer", "n_embd", "n_head", "n_inner"].contains(k) {
            #expect(small[k] == v, "\(k)")
        }
        var generic = try #require(config.objectValue)
        generic["hidden_size"] = generic.removeValue(forKey: "n_embd")
        let g = try GPT2Descriptor().shrunkConfig(.object(generic), to: TinyRequest(hidden: 16, heads: 4))
        #expect(g["hidden_size"] == 16 && g["n_embd"] == nil)
        #expect(throws: ArchitectureError.badTinyRequest("--heads 3 does not divide --hidden 32")) {
            _ = try BERTDescriptor().shrunkConfig(try architectureFixture("bert").config, to: TinyRequest(heads: 3))
        }
    }

    @Test("the registry lists one descriptor per family and finds each by family")
    func registryListing() {
        #expect(registry.descriptors.map(\.family).sorted() == ["bert", "fsmt", "gemma", "gemma2", "gpt2", "llama", "mistral", "phi3", "qwen2", "qwen3"])
        #expect(registry.descriptor(family: "bert")?.modelTypes == ["bert", "roberta"])
        #expect(registry.descriptor(for: ["model_type": "roberta"])?.family == "bert")
    }
}
