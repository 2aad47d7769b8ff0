import Foundation
import PorterCore
@testable import PorterONNX
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// A Keras CNN exported by tf2onnx (fixtures/onnx/tf2onnx/, gen_onnx_tf2onnx.py: tf_keras 2.21,
/// tf2onnx 1.16.1, batch norm fused into the conv by tf2onnx, a depthwise conv, NHWC input
/// transposed in the graph): initializers read back bit-exact against onnx's reading, and the
/// imported graph matches ONNX Runtime within 1e-4 at two batch sizes (ONNX Runtime matched
/// Keras within 3e-8 at generation).
@Suite struct ONNXTf2onnxTests {
    @Test func initializersAreBitExact() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/tf2onnx/keras_cnn.onnx"), options: ReadOptions())
        let facts = try #require(try Fixtures.json("onnx/generator.json")["facts"]?["tf2onnx"]?["initializers"]?.objectValue)
        #expect(Set(model.tensors.names.filter { model.tensors[$0]?.provenance.transforms != [.graphConstant] }) == Set(facts.keys))
        for (name, f) in facts {
            let t = try #require(model.tensors[name], "\(name) missing")
            #expect(t.tensor.shape.dims == f["shape"]?.arrayValue?.compactMap(\.intValue), "\(name)")
            #expect(try tensorDigest(t.tensor) == f["sha256"]?.stringValue, "\(name)")
        }
        #expect(model.metadata["onnx.producer"]?.hasPrefix("tf2onnx") == true, "\(model.metadata)")
    }

    @Test(arguments: ["keras_cnn.io", "keras_cnn.b5.io"])
    func graphMatchesONNXRuntime(_ io: String) throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/tf2onnx/keras_cnn.onnx"), options: ReadOptions())
        let graph = try #require(model.graph, "no graph: \(model.notes)")
        let ref = try SafetensorsReader().read(Fixtures.url("onnx/tf2onnx/\(io).safetensors"), options: ReadOptions())
        let input = try #require(graph.inputs.first?.name)
        let result = try GraphExecutor(graph: graph, weights: model.tensors).run([input: try HostTensor(try #require(ref.tensors["input"]).tensor)])
        let want = try #require(ref.tensors["output"]).tensor
        let outputName = try #require(graph.outputs.first?.name)
        let got = try #require(result.outputs[outputName])
        #expect(got.shape == want.shape.dims)
        let diff = zip(got.floatValues, try want.floatValues()).map { abs($0 - $1) }.max() ?? .infinity
        #expect(diff <= 1e-4, "max abs diff \(diff)")
    }
}
