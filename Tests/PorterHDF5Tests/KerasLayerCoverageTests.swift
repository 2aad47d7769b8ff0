import Foundation
import PorterCore
import PorterHDF5
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// fixtures/keras-layers (gen_keras_layers.py): one tiny model per Keras layer, saved by
/// Keras 3 (`.keras`) or tf-keras 2 (`.h5`), with the input and the output Keras computed.
let kerasLayerCases: JSONValue = (try? Fixtures.json("keras-layers/generator.json"))?["facts"]?["cases"] ?? .null
/// Single-output cases by name (the activation models have one output per activation).
let kerasLayerModels: [String] = (kerasLayerCases.objectValue ?? [:]).filter { $0.value["activations"] == nil }.keys.sorted()
/// "<model>:<activation>" for each activation the two activation models hold.
let kerasActivationCases: [String] = (kerasLayerCases.objectValue ?? [:]).flatMap { name, info in
    (info["activations"]?.arrayValue ?? []).compactMap(\.stringValue).map { "\(name):\($0)" }
}.sorted()

/// Bound from the brief: Porter's runtime against the framework's own output.
let kerasLayerTolerance: Float = 1e-5

func readKerasLayerModel(_ name: String) throws -> NeutralModel {
    let file = try #require(kerasLayerCases[name]?["file"]?.stringValue, "no case \(name) in keras-layers/generator.json")
    let url = Fixtures.url("keras-layers/" + file)
    let reader: any ModelReader = file.hasSuffix(".keras") ? KerasArchiveReader() : KerasH5Reader()
    return try reader.read(url, options: ReadOptions())
}

/// Runs the model's graph on the recorded input; outputs by graph output name.
func runKerasLayerModel(_ model: NeutralModel, io: NeutralModel, label: String) throws -> [String: HostTensor] {
    let graph = try #require(model.graph, "\(label): no graph (\(model.notes.joined(separator: "; ")))")
    #expect(GraphExecutor.missingOps(in: graph).isEmpty, "\(label)")
    let input = try #require(io.tensors["input"]).tensor
    let host = graph.inputs[0].dtype == .i64 ? try HostTensor(input) : HostTensor(shape: input.shape.dims, floats: try input.floatValues())
    return try GraphExecutor(graph: graph, weights: model.tensors).run([graph.inputs[0].name: host]).outputs
}

func maxDifference(_ out: HostTensor, _ expected: TensorRef, _ label: String) throws -> Float {
    #expect(out.shape == expected.shape.dims, "\(label): shape \(out.shape) vs Keras \(expected.shape.dims)")
    guard case let .float(values) = out.storage else { Issue.record("\(label): output is not float"); return .infinity }
    let want = try expected.floatValues()
    guard values.count == want.count else { return .infinity }
    return zip(values, want).map { abs($0 - $1) }.max() ?? 0
}

@Suite("Keras layer coverage: Porter's runtime against Keras' recorded outputs")
struct KerasLayerCoverageTests {
    @Test("the fixtures are there") func present() {
        #expect(kerasLayerModels.count >= 30)
        #expect(kerasActivationCases.count >= 35)
    }

    @Test("layer model matches Keras within 1e-5", arguments: kerasLayerModels)
    func layer(name: String) throws {
        let model = try readKerasLayerModel(name)
        let io = try SafetensorsReader().read(Fixtures.url("keras-layers/\(name).io.safetensors"))
        let outputs = try runKerasLayerModel(model, io: io, label: name)
        let graph = try #require(model.graph)
        let out = try #require(outputs[graph.outputs[0].name])
        let diff = try maxDifference(out, try #require(io.tensors["output"]).tensor, name)
        #expect(diff <= kerasLayerTolerance, "\(name): max |porter - keras| = \(diff)")
    }

    @Test("activation matches Keras within 1e-5", arguments: kerasActivationCases)
    func activation(id: String) throws {
        let parts = id.split(separator: ":").map(String.init)
        let (name, act) = (parts[0], parts[1])
        let model = try readKerasLayerModel(name)
        let io = try SafetensorsReader().read(Fixtures.url("keras-layers/\(name).io.safetensors"))
        let outputs = try runKerasLayerModel(model, io: io, label: id)
        let out = try #require(outputs["act_\(act)"], "\(id): the graph has no output act_\(act)")
        let diff = try maxDifference(out, try #require(io.tensors["output/act_\(act)"]).tensor, id)
        #expect(diff <= kerasLayerTolerance, "\(id): max |porter - keras| = \(diff)")
    }

    @Test("an unsupported layer is a typed error naming the layer and its class")
    func unsupportedLayer() throws {
        let config: JSONValue = ["class_name": "Sequential", "config": ["name": "m", "layers": [
            ["class_name": "InputLayer", "config": ["name": "x", "batch_input_shape": [.null, 4, 3]]],
            ["class_name": "ConvLSTM1D", "config": ["name": "clstm"]],
        ]]]
        #expect(throws: KerasGraphError.unsupportedLayer(layer: "clstm", className: "ConvLSTM1D")) {
            _ = try KerasGraphBuilder(weights: .keras2(TensorStore())).build(config)
        }
        let error = KerasGraphError.unsupportedLayer(layer: "clstm", className: "ConvLSTM1D")
        #expect(error.localizedDescription.contains("clstm") && error.localizedDescription.contains("ConvLSTM1D"))
    }

    @Test("an unsupported activation or setting names the layer, its class and the setting")
    func unsupportedSetting() throws {
        let config: JSONValue = ["class_name": "Sequential", "config": ["name": "m", "layers": [
            ["class_name": "InputLayer", "config": ["name": "x", "batch_input_shape": [.null, 4]]],
            ["class_name": "Activation", "config": ["name": "act", "activation": "threshold"]],
        ]]]
        #expect(throws: KerasGraphError.unsupportedSetting(layer: "act", className: "Activation", setting: "activation 'threshold'")) {
            _ = try KerasGraphBuilder(weights: .keras2(TensorStore())).build(config)
        }
        let up: JSONValue = ["class_name": "Sequential", "config": ["name": "m", "layers": [
            ["class_name": "InputLayer", "config": ["name": "x", "batch_input_shape": [.null, 2, 2, 1]]],
            ["class_name": "UpSampling2D", "config": ["name": "up", "size": [2, 2], "interpolation": "bilinear"]],
        ]]]
        #expect(throws: KerasGraphError.unsupportedSetting(layer: "up", className: "UpSampling2D", setting: "interpolation bilinear")) {
            _ = try KerasGraphBuilder(weights: .keras2(TensorStore())).build(up)
        }
    }
}
