import Foundation
import PorterArchitectures
import PorterCore
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// Tiny transformers models (fixtures/architectures, made by torch): Porter's graph
/// builders + runtime reproduce the outputs torch recorded.
@Suite struct ArchitectureReferenceTests {
    struct Loaded {
        var config: JSONValue
        var weights: TensorStore
        var reference: TensorStore
    }

    static func load(_ name: String) throws -> Loaded {
        Loaded(config: try Fixtures.json("architectures/\(name)/config.json"),
               weights: try SafetensorsReader().readFile(Fixtures.url("architectures/\(name)/model.safetensors")).tensors,
               reference: try SafetensorsReader().readFile(Fixtures.url("architectures/\(name)/reference.safetensors")).tensors)
    }

    static func run(_ fixture: Loaded, weights: TensorStore? = nil, capture: Bool = false) throws -> (Graph, ExecutionResult) {
        let store = weights ?? fixture.weights
        let graph = try ArchitectureRegistry.standard.buildGraph(config: fixture.config, tensorNames: Set(store.names))
        let executor = try GraphExecutor(graph: graph, weights: store)
        var inputs: [String: HostTensor] = [:]
        for input in graph.inputs {
            let entry = try #require(fixture.reference[input.name], "reference lacks input \(input.name)")
            inputs[input.name] = try HostTensor(entry.tensor, name: input.name)
        }
        return (graph, try executor.run(inputs, captureIntermediates: capture))
    }

    static func maxAbsDifference(_ a: HostTensor, _ b: HostTensor) -> Float {
        zip(a.floatValues, b.floatValues).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: ["bert", "roberta", "gpt2", "fsmt"])
    func reproducesTorchWithin1e4(name: String) throws {
        let fixture = try Self.load(name)
        let (graph, result) = try Self.run(fixture)
        #expect(!graph.outputs.isEmpty)
        for output in graph.outputs {
            let expected = try HostTensor(try #require(fixture.reference[output.name]).tensor)
            let actual = try #require(result.outputs[output.name])
            #expect(actual.shape == expected.shape, "\(name) \(output.name)")
            let diff = Self.maxAbsDifference(actual, expected)
            #expect(diff <= 1e-4, "\(name) \(output.name): max abs difference \(diff)")
            // The outputs are not trivially small, so 1e-4 is a real bound.
            #expect(expected.floatValues.map(abs).max()! > 0.5)
        }
    }

    /// Without capture the executor fuses linear+activation, linear+residual and
    /// matmul+scale+mask+softmax; with capture it runs node by node. Both agree.
    @Test(arguments: ["bert", "gpt2", "fsmt"])
    func fusedAndNodeByNodeExecutionAgree(name: String) throws {
        let fixture = try Self.load(name)
        let (graph, fused) = try Self.run(fixture)
        let (_, plain) = try Self.run(fixture, capture: true)
        #expect(plain.intermediates.count >= graph.nodes.count)
        for output in graph.outputs {
            let a = try #require(fused.outputs[output.name]), b = try #require(plain.outputs[output.name])
            #expect(a.shape == b.shape)
            #expect(Self.maxAbsDifference(a, b) <= 1e-5, "\(name) \(output.name)")
        }
    }

    @Test func aTransposedWeightIsCaught() throws {
        var fixture = try Self.load("bert")
        let name = "encoder.layer.1.attention.self.value.weight"
        let original = try #require(fixture.weights[name])
        let w = try HostTensor(original.tensor)
        let n = w.shape[0]
        let values = w.floatValues
        let transposed = (0..<(n * n)).map { values[($0 % n) * n + $0 / n] }
        fixture.weights.set(TensorEntry(name: name, tensor: HostTensor(shape: w.shape, floats: transposed).tensorRef(label: name),
                                        provenance: original.provenance))
        let (_, result) = try Self.run(fixture, capture: true)
        let expected = try HostTensor(try #require(fixture.reference["last_hidden_state"]).tensor)
        #expect(Self.maxAbsDifference(try #require(result.outputs["last_hidden_state"]), expected) > 1e-2)
        // Intermediates name the modules, in execution order.
        let nodes = result.intermediates.map(\.node)
        #expect(nodes.contains("encoder.layer.1.attention.self.value"))
        #expect(nodes.firstIndex(of: "encoder.layer.0.output.LayerNorm")! < nodes.firstIndex(of: "encoder.layer.1.attention.self.value")!)
    }

    @Test func fsmtLogitsFallBackToTheTiedDecoderEmbeddings() throws {
        var fixture = try Self.load("fsmt")
        fixture.weights.remove("model.decoder.output_projection.weight")
        let (graph, result) = try Self.run(fixture)
        let head = try #require(graph.nodes.first { $0.name == "decoder.output_projection" })
        #expect(head.inputs[1] == "model.decoder.embed_tokens.weight")
        let expected = try HostTensor(try #require(fixture.reference["logits"]).tensor)
        #expect(Self.maxAbsDifference(try #require(result.outputs["logits"]), expected) <= 1e-4)
    }

    @Test func gpt2HeadIsTiedToWte() throws {
        let fixture = try Self.load("gpt2")
        let graph = try ArchitectureRegistry.standard.buildGraph(config: fixture.config, tensorNames: Set(fixture.weights.names))
        #expect(graph.nodes.last?.inputs[1] == "transformer.wte.weight")
        #expect(graph.outputs.map(\.name) == ["logits"])
    }

    @Test func unknownModelTypeAndMissingTensorAreReported() throws {
        #expect(throws: ArchitectureError.unknownModelType("t5")) {
            try ArchitectureRegistry.standard.buildGraph(config: ["model_type": "t5"], tensorNames: [])
        }
        var fixture = try Self.load("bert")
        fixture.weights.remove("encoder.layer.0.intermediate.dense.weight")
        #expect(throws: ArchitectureError.missingTensor(model: "bert", name: "encoder.layer.0.intermediate.dense.weight")) {
            try ArchitectureRegistry.standard.buildGraph(config: fixture.config, tensorNames: Set(fixture.weights.names))
        }
    }

    @Test func builtGraphsUseOnlyImplementedOps() throws {
        for name in ["bert", "roberta", "gpt2", "fsmt"] {
            let fixture = try Self.load(name)
            let graph = try ArchitectureRegistry.standard.buildGraph(config: fixture.config, tensorNames: Set(fixture.weights.names))
            #expect(GraphExecutor.missingOps(in: graph).isEmpty, "\(name)")
        }
    }
}

@Suite struct BuilderConfigTests {
    @Test func missingOrMistypedConfigKeysAreNamed() throws {
        var config = try Fixtures.json("architectures/bert/config.json").objectValue!
        let names = Set(try SafetensorsReader().readFile(Fixtures.url("architectures/bert/model.safetensors")).tensors.names)
        config["hidden_size"] = nil
        #expect(throws: ArchitectureError.badConfig(model: "bert", key: "hidden_size", detail: "is missing or not an integer")) {
            try ArchitectureRegistry.standard.buildGraph(config: .object(config), tensorNames: names)
        }
        config["hidden_size"] = 32
        config["num_attention_heads"] = 5
        #expect(throws: ArchitectureError.self) { try ArchitectureRegistry.standard.buildGraph(config: .object(config), tensorNames: names) }
        config["num_attention_heads"] = 4
        config["hidden_act"] = "mystery"
        #expect(throws: ArchitectureError.badConfig(model: "bert", key: "activation", detail: "'mystery' is not supported")) {
            try ArchitectureRegistry.standard.buildGraph(config: .object(config), tensorNames: names)
        }
        #expect(throws: ArchitectureError.unknownModelType(nil)) { try ArchitectureRegistry.standard.buildGraph(config: [:], tensorNames: names) }
    }

    @Test func prefixedCheckpointNamesAreFound() throws {
        // A BertForMaskedLM-style checkpoint: every encoder tensor under "bert.".
        let config = try Fixtures.json("architectures/bert/config.json")
        let names = Set(try SafetensorsReader().readFile(Fixtures.url("architectures/bert/model.safetensors")).tensors.names.map { "bert." + $0 })
        let graph = try ArchitectureRegistry.standard.buildGraph(config: config, tensorNames: names)
        #expect(graph.nodes.first?.inputs.first == "bert.embeddings.word_embeddings.weight")
        #expect(graph.origin == "builder:bert")
    }

    @Test func registryAcceptsNewBuilders() throws {
        struct Echo: GraphBuilder {
            var modelTypes: [String] { ["echo"] }
            func build(config: JSONValue, tensorNames: Set<String>) throws -> Graph {
                var g = GraphBuilding()
                g.add("echo", "identity", ["x"], output: "y")
                return Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [-1])],
                             nodes: g.nodes, origin: "builder:echo")
            }
        }
        var registry = ArchitectureRegistry.standard
        registry.register(Echo())
        #expect(registry.modelTypes == ["bert", "echo", "fsmt", "gemma", "gemma2", "gpt2", "llama", "mistral", "phi3", "qwen2", "qwen3", "roberta"])
        let graph = try registry.buildGraph(config: ["model_type": "echo"], tensorNames: [])
        let out = try GraphExecutor(graph: graph, weights: TensorStore()).run(["x": HostTensor(shape: [2], floats: [1, 2])])
        #expect(out.outputs["y"]?.floats == [1, 2])
    }
}
