import Foundation
import PorterCore
@testable import PorterRuntime
import Testing

/// Runs one node of `op` over `inputs` (graph inputs `in0`, `in1`, … ; nil = omitted).
func runOp(_ op: String, _ inputs: [HostTensor?], _ attributes: [String: JSONValue] = [:], outputs: Int = 1) throws -> [HostTensor] {
    var values: [GraphValue] = []
    var feed: [String: HostTensor] = [:]
    var names: [String] = []
    for (i, t) in inputs.enumerated() {
        guard let t else { names.append(""); continue }
        values.append(GraphValue(name: "in\(i)", dtype: t.dtype, shape: t.shape))
        feed["in\(i)"] = t
        names.append("in\(i)")
    }
    let outs = (0..<outputs).map { "out\($0)" }
    let graph = Graph(inputs: values, outputs: outs.map { GraphValue(name: $0, dtype: .f32, shape: []) },
                      nodes: [GraphNode(name: "node", op: op, inputs: names, outputs: outs, attributes: attributes)], origin: "test")
    let result = try GraphExecutor(graph: graph, weights: TensorStore()).run(feed)
    return outs.map { result.outputs[$0]! }
}

func run1(_ op: String, _ inputs: [HostTensor?], _ attributes: [String: JSONValue] = [:]) throws -> HostTensor {
    try runOp(op, inputs, attributes)[0]
}

func f(_ shape: [Int], _ values: [Float]) -> HostTensor { HostTensor(shape: shape, floats: values) }
func i(_ shape: [Int], _ values: [Int64]) -> HostTensor { HostTensor(shape: shape, int64s: values) }

/// Expects `actual` to have `shape` and float values within `tolerance` of `values`.
func expectClose(_ actual: HostTensor, _ shape: [Int], _ values: [Float], tolerance: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == shape, sourceLocation: sourceLocation)
    let got = actual.floatValues
    #expect(got.count == values.count, sourceLocation: sourceLocation)
    for (k, (a, e)) in zip(got, values).enumerated() {
        let ok = a == e || abs(a - e) <= tolerance * max(1, abs(e))
        #expect(ok, "element \(k): \(a) vs expected \(e)", sourceLocation: sourceLocation)
    }
}

let lowest = -Float.greatestFiniteMagnitude
