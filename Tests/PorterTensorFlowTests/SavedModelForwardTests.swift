import Foundation
import PorterCore
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing
@testable import PorterTensorFlow

/// The imported Keras SavedModel graphs, run by Porter's runtime, reproduce Keras'
/// own outputs recorded at generation time (`<name>_reference.safetensors`).
@Suite struct SavedModelForwardTests {
    @Test(arguments: ["keras_mlp", "keras_cnn"])
    func forwardMatchesKeras(name: String) throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/\(name)"), options: ReadOptions())
        let graph = try #require(model.graph, "\(model.notes)")
        #expect(GraphExecutor.missingOps(in: graph).isEmpty)
        let reference = try SafetensorsReader().readFile(Fixtures.url("tensorflow/\(name)_reference.safetensors")).tensors
        let input = try #require(reference["input"]).tensor
        let expected = try #require(reference["output"]).tensor
        let executor = try GraphExecutor(graph: graph, weights: model.tensors)
        let inputName = try #require(graph.inputs.first?.name)
        let result = try executor.run([inputName: try HostTensor(input, name: "input")])
        let outputName = try #require(graph.outputs.first?.name)
        let output = try #require(result.outputs[outputName])
        #expect(output.shape == expected.shape.dims)
        let want = try expected.floatValues()
        let got = output.floatValues
        #expect(got.count == want.count)
        let maxError = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxError <= 1e-4, "max |porter − keras| = \(maxError)")
    }
}
