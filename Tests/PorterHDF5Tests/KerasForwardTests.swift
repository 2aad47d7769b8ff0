import Foundation
import PorterCore
import PorterHDF5
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// Keras fixtures with reference inputs/outputs recorded by Keras, and the largest
/// absolute difference allowed. The float16 model computes in float16 inside Keras
/// (10-bit mantissa) while Porter's runtime computes in float32, so its bound is
/// float16's rounding, not 1e-4.
let forwardFixtures: [(file: String, io: String, tolerance: Float)] = [
    ("mlp_sequential.h5", "mlp_sequential", 1e-4),
    ("cnn_functional.h5", "cnn_functional", 1e-4),
    ("zoo_functional.h5", "zoo_functional", 1e-4),
    ("keras3_mlp.keras", "keras3_mlp", 1e-4),
    ("keras3_functional.keras", "keras3_functional", 1e-4),
    ("mlp_f16.h5", "mlp_f16", 1e-3),
]

@Suite("Keras graphs run in the runtime")
struct KerasForwardTests {
    @Test("forward pass matches Keras' recorded outputs", arguments: forwardFixtures.map { [$0.file, $0.io, String($0.tolerance)] })
    func forward(args: [String]) throws {
        let (file, ioName, tol) = (args[0], args[1], Float(args[2])!)
        let model = try readFixture(file)
        let graph = try #require(model.graph, "\(file): no graph (\(model.notes))")
        #expect(GraphExecutor.missingOps(in: graph).isEmpty)
        let io = try SafetensorsReader().read(Fixtures.url("hdf5/\(ioName).io.safetensors"))
        let input = try #require(io.tensors["input"]).tensor
        let expected = try #require(io.tensors["output"]).tensor
        let host: HostTensor
        if graph.inputs[0].dtype == .i64 {
            host = try HostTensor(input)
        } else {
            host = HostTensor(shape: input.shape.dims, floats: try input.floatValues())
        }
        let executor = try GraphExecutor(graph: graph, weights: model.tensors)
        let result = try executor.run([graph.inputs[0].name: host])
        let out = try #require(result.outputs[graph.outputs[0].name])
        #expect(out.shape == expected.shape.dims)
        guard case let .float(values) = out.storage else { Issue.record("output is not float"); return }
        let want = try expected.floatValues()
        #expect(values.count == want.count)
        let maxDiff = zip(values, want).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDiff <= tol, "\(file): max |porter - keras| = \(maxDiff)")
    }
}
