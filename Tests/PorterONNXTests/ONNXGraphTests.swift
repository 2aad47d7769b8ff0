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

    /// torch's BERT export computes its reshapes from Shape/Gather/Concat chains and its
    /// positions with Range: folded at import time into static reshape targets (0 keeps a
    /// dim) and position_ids, the graph runs with dynamic batch and sequence and matches ONNX
    /// Runtime.
    @Test func bertExportReproducesONNXRuntime() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/bert_tiny.onnx"), options: ReadOptions())
        let graph = try #require(model.graph, "no graph: \(model.notes)")
        #expect(!graph.nodes.contains { $0.op == "shape" })
        let reshapes = graph.nodes.filter { $0.op == "reshape" }.compactMap { $0.attributes["shape"]?.arrayValue?.compactMap(\.intValue) }
        #expect(reshapes.sorted { $0.count < $1.count } == [[0, 0, -1], [0, 0, 2, 8], [0, 0, 2, 8], [0, 0, 2, 8]])
        let io = try SafetensorsReader().read(Fixtures.url("onnx/bert_tiny.io.safetensors"), options: ReadOptions())
        let feeds = try ["input_ids", "attention_mask"].reduce(into: [String: HostTensor]()) {
            $0[$1] = try HostTensor(try #require(io.tensors[$1]).tensor)
        }
        let want = try #require(io.tensors["last_hidden_state"]).tensor.floatValues()
        let got = try #require(try GraphExecutor(graph: graph, weights: model.tensors).run(feeds).outputs["last_hidden_state"]?.floats)
        #expect(got.count == want.count)
        let diff = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
        #expect(diff <= 1e-4, "max abs diff \(diff)")
    }

    /// An operator Porter does not run: the typed list names it and the model stays weights-only.
    @Test func unsupportedOperatorsAreListed() throws {
        var g = GraphProto()
        var n = NodeProto()
        n.opType = "NonMaxSuppression"
        var m = NodeProto()
        m.opType = "FusedMatMul"
        m.domain = "com.microsoft"
        g.nodes = [n, m, NodeProto(name: "", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"])]
        let result = ONNXGraphImporter(graph: g, opset: 17, file: "x", initializers: [:], constantValues: [:]).run()
        guard case let .failure(f) = result else {
            Issue.record("imported")
            return
        }
        #expect(f.unsupportedOperators == ["NonMaxSuppression", "com.microsoft.FusedMatMul"])
        #expect(f.description == "operators Porter does not run: NonMaxSuppression, com.microsoft.FusedMatMul")
    }
}
