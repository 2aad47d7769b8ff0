import Foundation
import PorterArchitectures
import PorterCore
import PorterOps
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// Tiny decoder-only language models made by transformers 5.24 (fixtures/llama, see
/// gen_llama.py): Porter's descriptors + runtime reproduce the logits transformers
/// computed, within 1e-4 in float32.
@Suite struct DecoderReferenceTests {
    static let variants = ["llama", "llama-tied", "llama-bias", "llama-rope-linear", "llama-rope-dynamic", "llama-rope-llama3",
                           "llama-rope-yarn", "mistral", "mistral-window", "qwen2", "qwen3", "gemma", "gemma2", "gemma2-window", "phi3"]

    static func load(_ name: String) throws -> ArchitectureReferenceTests.Loaded {
        ArchitectureReferenceTests.Loaded(
            config: try Fixtures.json("llama/\(name)/config.json"),
            weights: try SafetensorsReader().readFile(Fixtures.url("llama/\(name)/model.safetensors")).tensors,
            reference: try SafetensorsReader().readFile(Fixtures.url("llama/\(name)/reference.safetensors")).tensors)
    }

    static func logitsDifference(_ fixture: ArchitectureReferenceTests.Loaded, capture: Bool = false) throws -> Float {
        let (_, result) = try ArchitectureReferenceTests.run(fixture, capture: capture)
        let expected = try HostTensor(try #require(fixture.reference["logits"]).tensor)
        let actual = try #require(result.outputs["logits"])
        #expect(actual.shape == expected.shape)
        return ArchitectureReferenceTests.maxAbsDifference(actual, expected)
    }

    @Test(arguments: variants)
    func reproducesTransformersLogitsWithin1e4(name: String) throws {
        let fixture = try Self.load(name)
        let diff = try Self.logitsDifference(fixture)
        #expect(diff <= 1e-4, "\(name): max abs difference \(diff)")
        let expected = try HostTensor(try #require(fixture.reference["logits"]).tensor)
        #expect(expected.floatValues.map(abs).max()! > 0.5, "logits large enough for 1e-4 to bound something")
        // Node by node (no fusion) gives the same logits.
        #expect(try Self.logitsDifference(fixture, capture: true) <= 1e-4)
    }

    /// Each variant's distinguishing part matters: dropping it moves the logits well past
    /// the tolerance, so the 1e-4 agreement above is not luck.
    @Test(arguments: [
        ("llama-rope-linear", "rope_parameters", "rope_type", JSONValue.string("default")),
        ("llama-rope-dynamic", "rope_parameters", "rope_type", "default"),
        ("llama-rope-llama3", "rope_parameters", "rope_type", "default"),
        ("llama-rope-yarn", "rope_parameters", "rope_type", "default"),
        ("gemma2", "", "attn_logit_softcapping", 1000.0),
        ("gemma2", "", "final_logit_softcapping", 1000.0),
        ("gemma2", "", "query_pre_attn_scalar", 8),
        ("phi3", "rope_parameters", "partial_rotary_factor", 1.0),
        ("llama", "", "rms_norm_eps", 0.5),
        ("mistral-window", "", "sliding_window", 4096),
        ("gemma2-window", "", "sliding_window", 4096),
    ])
    func theVariantsPartIsNeeded(name: String, parent: String, key: String, value: JSONValue) throws {
        var fixture = try Self.load(name)
        var config = try #require(fixture.config.objectValue)
        if parent.isEmpty {
            config[key] = value
        } else {
            var inner = try #require(config[parent]?.objectValue)
            inner[key] = value
            config[parent] = .object(inner)
            if key == "partial_rotary_factor" { config[key] = value }
        }
        fixture.config = .object(config)
        let diff = try Self.logitsDifference(fixture)
        #expect(diff > 1e-3, "\(name) with \(key) = \(value): difference only \(diff)")
    }

    @Test func groupedQueryHeadsReadTheirOwnKeyValueHead() throws {
        // Swapping the two kv heads of one layer's k_proj must change the logits.
        var fixture = try Self.load("llama")
        let name = "model.layers.1.self_attn.k_proj.weight"
        let entry = try #require(fixture.weights[name])
        let w = try HostTensor(entry.tensor)
        let half = w.floatValues.count / 2
        let swapped = Array(w.floatValues[half...]) + Array(w.floatValues[..<half])
        fixture.weights.set(TensorEntry(name: name, tensor: HostTensor(shape: w.shape, floats: swapped).tensorRef(label: name), provenance: entry.provenance))
        #expect(try Self.logitsDifference(fixture) > 1e-3)
    }

    @Test func tiedVariantsReadTheEmbeddingsAsTheHead() throws {
        for name in ["llama-tied", "qwen2", "gemma", "gemma2"] {
            let fixture = try Self.load(name)
            #expect(fixture.weights["lm_head.weight"] == nil, "\(name) stores lm_head")
            let graph = try ArchitectureRegistry.standard.buildGraph(config: fixture.config, tensorNames: Set(fixture.weights.names))
            #expect(graph.nodes.first { $0.name == "lm_head" }?.inputs[1] == "model.embed_tokens.weight", "\(name)")
        }
        let untied = try Self.load("llama")
        let graph = try ArchitectureRegistry.standard.buildGraph(config: untied.config, tensorNames: Set(untied.weights.names))
        #expect(graph.nodes.first { $0.name == "lm_head" }?.inputs[1] == "lm_head.weight")
    }

    @Test func slidingWindowsFollowTheFamilysLayerPattern() throws {
        // Mistral: every layer windowed; Gemma 2: layer 0 (sliding_attention), not layer 1.
        for (name, windowed) in [("mistral-window", ["layers.0", "layers.1"]), ("gemma2-window", ["layers.0"]), ("llama", [])] {
            let fixture = try Self.load(name)
            let graph = try ArchitectureRegistry.standard.buildGraph(config: fixture.config, tensorNames: Set(fixture.weights.names))
            let mask = graph.nodes.first { $0.op == "window_attention_mask" }
            #expect((mask?.attributes["window"]) == (windowed.isEmpty ? nil : 3), "\(name)")
            let maskName = mask?.outputs.first ?? "–"
            let reading = graph.nodes.filter { $0.op == "add" && $0.inputs.contains(maskName) }.map { $0.name.components(separatedBy: ".self_attn")[0] }
            #expect(reading == windowed, "\(name)")
        }
    }

    @Test(arguments: variants)
    func builtGraphsInferTheShapesTheyRunWith(name: String) throws {
        let fixture = try Self.load(name)
        let (graph, result) = try ArchitectureReferenceTests.run(fixture)
        var concrete = graph
        for (k, input) in graph.inputs.enumerated() { concrete.inputs[k].shape = try #require(fixture.reference[input.name]).tensor.shape.dims }
        let types = try GraphValidator.validate(concrete, tensors: fixture.weights)
        let logits = try #require(result.outputs["logits"])
        #expect(types["logits"] == ValueType(dtype: .f32, shape: logits.shape))
    }
}
