import Foundation
import PorterArchitectures
import PorterCore
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing
@testable import PorterTensorFlow

/// Google's TF1 BERT checkpoint, renamed and transposed by `mappings/tf1-bert-to-hf-bert.json`
/// into transformers BertModel names, runs through Porter's BERT graph builder and
/// runtime and reproduces TensorFlow's forward pass recorded at generation time.
@Suite struct BertTF1ForwardTests {
    @Test func mappedCheckpointReproducesTensorFlow() throws {
        let model = try TensorFlowCheckpointReader().read(Fixtures.url("tensorflow/bert_tf1/bert_model.ckpt"), options: ReadOptions())
        let rules = try MappingFileTests.load("tf1-bert-to-hf-bert.json")
        var store = TensorStore()
        for entry in model.tensors {
            let outcome = try #require(try MappingFileTests.apply(rules, to: entry.name), "\(entry.name) unmapped")
            guard !outcome.dropped, let target = outcome.name else { continue }
            var tensor = entry.tensor
            if outcome.transposed {
                // A [in, out] kernel as a [out, in] view of the same storage.
                let dims = tensor.shape.dims
                #expect(dims.count == 2)
                tensor = TensorRef(dtype: tensor.dtype, shape: Shape([dims[1], dims[0]]), storage: tensor.storage,
                                   offset: tensor.offset, strides: [1, dims[1]])
            }
            try store.add(TensorEntry(name: target, tensor: tensor, provenance: entry.provenance))
        }
        var config = try Fixtures.json("tensorflow/bert_tf1/bert_config.json").objectValue ?? [:]
        config["model_type"] = "bert"
        let graph = try ArchitectureRegistry.standard.buildGraph(config: .object(config), tensorNames: Set(store.names))
        let reference = try SafetensorsReader().readFile(Fixtures.url("tensorflow/bert_tf1/reference.safetensors")).tensors
        var inputs: [String: HostTensor] = [:]
        for input in graph.inputs {
            inputs[input.name] = try HostTensor(try #require(reference[input.name]).tensor, name: input.name)
        }
        let result = try GraphExecutor(graph: graph, weights: store).run(inputs)
        let expected = try HostTensor(try #require(reference["last_hidden_state"]).tensor)
        let actual = try #require(result.outputs["last_hidden_state"])
        #expect(actual.shape == expected.shape)
        // Compare only unmasked positions' rows too: all positions are defined, so compare everything.
        let diff = zip(actual.floatValues, expected.floatValues).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(diff <= 1e-4, "max |porter − tensorflow| = \(diff)")
        #expect(expected.floatValues.map(abs).max() ?? 0 > 0.5)
    }
}
