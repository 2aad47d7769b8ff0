import Foundation
import PorterCore
@testable import PorterONNX
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// ONNX graphs imported through the op specs run on Porter's runtime and reproduce the
/// outputs ONNX Runtime recorded at fixture time (`*.io.safetensors`) within 1e-4; graphs
/// with operators Porter does not run say which.
@Suite struct ONNXGraphTests {
    @Test func cnnGraphReproducesONNXRuntime() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/cnn_tiny.onnx"), options: ReadOptions())
        let graph = try #require(model.graph, "no graph: \(model.notes)")
        #expect(Set(graph.nodes.map(\.op)) == ["conv2d", "relu", "max_pool", "avg_pool", "global_avg_pool", "flatten", "linear", "softmax"])
        #expect(graph.inputs.map(\.shape) == [[-1, 3, 12, 12]])
        let io = try SafetensorsReader().read(Fixtures.url("onnx/cnn_tiny.io.safetensors"), options: ReadOptions())
        let pixels = try HostTensor(try #require(io.tensors["input"]).tensor)
        let want = try #require(io.tensors["output"]).tensor.floatValues()
        let result = try GraphExecutor(graph: graph, weights: model.tensors).run(["pixels": pixels])
        let got = try #require(result.outputs["probs"]?.floats)
        #expect(got.count == want.count)
        let diff = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
        #expect(diff <= 1e-4, "max abs diff \(diff)")
    }

    @Test func externalDataModelRunsToo() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/cnn_external.onnx"), options: ReadOptions())
        #expect(model.graph != nil, "\(model.notes)")
    }

    /// torch's BERT export computes shapes at run time (Shape, Range, Pow ...): the typed list
    /// of what Porter does not run, and a weights-only model.
    @Test func bertExportListsTheOperatorsPorterDoesNotRun() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/bert_tiny.onnx"), options: ReadOptions())
        #expect(model.graph == nil)
        let listed = Set((model.metadata["onnx.graph.unsupported_ops"] ?? "").components(separatedBy: ", "))
        #expect(listed == ["Pow", "Range", "Shape"], "\(listed)")
        #expect(model.notes.contains { $0.hasPrefix("no graph: operators Porter does not run: Pow, Range, Shape") })
        let result = ONNXGraphImporter(graph: GraphProto(), opset: 17, file: "x", initializers: [:], constantValues: [:]).run()
        if case .failure = result { Issue.record("an empty graph imports") }
    }
}
