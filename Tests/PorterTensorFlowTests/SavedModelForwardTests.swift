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

/// A serving function that captures eager constants (object-graph `constant` objects,
/// `Const` nodes of the MetaGraph) besides a variable: the constants become graph
/// constants, and the graph reproduces TensorFlow's outputs.
@Suite struct SavedModelCapturedConstantTests {
    @Test func capturedConstantsBecomeGraphConstants() throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow-captures/captured_constants"), options: ReadOptions())
        let graph = try #require(model.graph, "\(model.notes)")
        #expect(model.graphUnavailable == nil)
        // The variable plus the two captured constants, the constants marked as such.
        let constants = model.tensors.filter { $0.provenance.transforms.contains(.graphConstant) }
        #expect(constants.count == 2, "\(model.tensors.names)")
        #expect(model.tensors.names.contains("w"))
        let reference = try SafetensorsReader().readFile(Fixtures.url("tensorflow-captures/captured_constants.io.safetensors")).tensors
        let x = try #require(reference["x"]).tensor
        let want = try #require(reference["y"]).tensor
        let inputName = try #require(graph.inputs.first?.name)
        let outputName = try #require(graph.outputs.first?.name)
        let result = try GraphExecutor(graph: graph, weights: model.tensors).run([inputName: try HostTensor(x, name: "x")])
        let got = try #require(result.outputs[outputName])
        #expect(got.shape == want.shape.dims)
        let maxError = zip(got.floatValues, try want.floatValues()).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxError <= 1e-5, "max |porter − tensorflow| = \(maxError)")
    }
}
