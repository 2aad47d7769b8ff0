import Foundation
import PorterCore
@testable import PorterRuntime
import Testing

/// One test per fusion of Fusion.swift: the fused step is planned for a graph shaped for
/// it (and its fast path runs), it is not planned when the intermediate has a second
/// reader, and fused results equal node-by-node ones (captureIntermediates disables fusion).
@Suite struct FusionTests {
    static func w(_ name: String, _ shape: [Int], seed: Int) -> TensorEntry {
        let values = (0..<shape.reduce(1, *)).map { Float(($0 * 7 + seed) % 11) / 8 - 0.6 }
        return ExecutorBehaviourTests.weight(name, values, shape)
    }

    static func input(_ shape: [Int], seed: Int) -> HostTensor {
        HostTensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { Float(($0 * 5 + seed) % 13) / 6 - 1 })
    }

    static func labels(_ e: GraphExecutor) -> [String] { e.fusedSteps.map { $0.label(e.graph) } }

    /// Runs fused and node by node; checks every fused step's fast path ran and the outputs agree.
    static func expectFusedEqualsUnfused(_ executor: GraphExecutor, _ inputs: [String: HostTensor], sourceLocation: SourceLocation = #_sourceLocation) throws {
        var values = inputs
        for step in executor.fusedSteps {
            if case .node = step { continue }
            // Each fused step's fast path takes these operands (it does not fall back to node by node).
            var probe = values
            #expect(try executor.runFused(step, values: &probe), "fast path declined \(step.label(executor.graph))", sourceLocation: sourceLocation)
        }
        values = [:]
        let fused = try executor.run(inputs)
        let unfused = try executor.run(inputs, captureIntermediates: true)
        for output in executor.graph.outputs {
            let a = try #require(fused.outputs[output.name]), b = try #require(unfused.outputs[output.name])
            #expect(a.shape == b.shape, sourceLocation: sourceLocation)
            for (x, y) in zip(a.floatValues, b.floatValues) {
                #expect(abs(x - y) <= 1e-5 * max(1, abs(y)), "\(output.name): \(x) vs \(y)", sourceLocation: sourceLocation)
            }
        }
    }

    static func linearThen(_ op: String, attributes: [String: JSONValue] = [:], extraInput: String? = nil, alsoOutputHidden: Bool = false) -> Graph {
        var outputs = [GraphValue(name: "y", dtype: .f32, shape: [-1, 4])]
        if alsoOutputHidden { outputs.append(GraphValue(name: "h", dtype: .f32, shape: [-1, 4])) }
        var inputs = [GraphValue(name: "x", dtype: .f32, shape: [-1, 3])]
        if let extraInput { inputs.append(GraphValue(name: extraInput, dtype: .f32, shape: [-1, 4])) }
        return Graph(inputs: inputs, outputs: outputs,
                     nodes: [GraphNode(name: "fc", op: "linear", inputs: ["x", "fc.weight", "fc.bias"], outputs: ["h"]),
                             GraphNode(name: "post", op: op, inputs: ["h"] + (extraInput.map { [$0] } ?? []), outputs: ["y"], attributes: attributes)],
                     origin: "test")
    }

    static var linearWeights: TensorStore { get throws { try TensorStore([w("fc.weight", [4, 3], seed: 1), w("fc.bias", [4], seed: 2)]) } }

    @Test(arguments: [("gelu", ["approximate": "none"] as [String: JSONValue]), ("gelu", ["approximate": "tanh"]), ("relu", [:])])
    func linearActivation(op: String, attributes: [String: JSONValue]) throws {
        let executor = try GraphExecutor(graph: Self.linearThen(op, attributes: attributes), weights: try Self.linearWeights)
        #expect(Self.labels(executor) == ["linear+\(op)"])
        guard case .linearActivation = executor.fusedSteps[0] else { Issue.record("not a linearActivation step"); return }
        try Self.expectFusedEqualsUnfused(executor, ["x": Self.input([5, 3], seed: 3)])
        // The pre-activation is also a graph output: a second reader, so no fusion.
        let kept = try GraphExecutor(graph: Self.linearThen(op, attributes: attributes, alsoOutputHidden: true), weights: try Self.linearWeights)
        #expect(Self.labels(kept) == ["linear", op])
    }

    @Test func linearResidual() throws {
        let executor = try GraphExecutor(graph: Self.linearThen("add", extraInput: "residual"), weights: try Self.linearWeights)
        #expect(Self.labels(executor) == ["linear+add"])
        guard case .linearResidual = executor.fusedSteps[0] else { Issue.record("not a linearResidual step"); return }
        try Self.expectFusedEqualsUnfused(executor, ["x": Self.input([5, 3], seed: 3), "residual": Self.input([5, 4], seed: 4)])
        let kept = try GraphExecutor(graph: Self.linearThen("add", extraInput: "residual", alsoOutputHidden: true), weights: try Self.linearWeights)
        #expect(Self.labels(kept) == ["linear", "add"])
    }

    static func attention(scale: Bool, mask: Bool, scoresAlsoOutput: Bool = false, softmaxAxis: Int = -1) -> Graph {
        var nodes = [GraphNode(name: "scores", op: "matmul", inputs: ["q", "k"], outputs: ["s"], attributes: ["transpose_b": true])]
        var last = "s"
        if scale { nodes.append(GraphNode(name: "scaled", op: "scale", inputs: [last], outputs: ["ss"], attributes: ["factor": 0.5])); last = "ss" }
        if mask { nodes.append(GraphNode(name: "masked", op: "add", inputs: [last, "mask"], outputs: ["sm"])); last = "sm" }
        nodes.append(GraphNode(name: "probs", op: "softmax", inputs: [last], outputs: ["p"], attributes: ["axis": .int(Int64(softmaxAxis))]))
        var outputs = [GraphValue(name: "p", dtype: .f32, shape: [1, 2, 3, 3])]
        if scoresAlsoOutput { outputs.append(GraphValue(name: "s", dtype: .f32, shape: [1, 2, 3, 3])) }
        return Graph(inputs: [GraphValue(name: "q", dtype: .f32, shape: [1, 2, 3, 4]), GraphValue(name: "k", dtype: .f32, shape: [1, 2, 3, 4]),
                              GraphValue(name: "mask", dtype: .f32, shape: [1, 1, 1, 3])],
                     outputs: outputs, nodes: nodes, origin: "test")
    }

    static let attentionInputs: [String: HostTensor] = [
        "q": input([1, 2, 3, 4], seed: 1), "k": input([1, 2, 3, 4], seed: 2),
        "mask": HostTensor(shape: [1, 1, 1, 3], floats: [0, 0, -Float.greatestFiniteMagnitude]),
    ]

    @Test(arguments: [(true, true, "matmul+scale+add+softmax"), (true, false, "matmul+scale+softmax"), (false, true, "matmul+add+softmax"), (false, false, "matmul+softmax")])
    func attentionScores(scale: Bool, mask: Bool, label: String) throws {
        let executor = try GraphExecutor(graph: Self.attention(scale: scale, mask: mask), weights: TensorStore())
        #expect(Self.labels(executor) == [label])
        guard case .attentionScores = executor.fusedSteps[0] else { Issue.record("not an attentionScores step"); return }
        try Self.expectFusedEqualsUnfused(executor, Self.attentionInputs)
        // The raw scores have a second reader: the matmul is not fused into the softmax.
        let kept = try GraphExecutor(graph: Self.attention(scale: scale, mask: mask, scoresAlsoOutput: true), weights: TensorStore())
        #expect(!Self.labels(kept).contains { $0.hasPrefix("matmul+") })
        // Softmax over another axis than the last is not the fused kernel's.
        let otherAxis = try GraphExecutor(graph: Self.attention(scale: scale, mask: mask, softmaxAxis: 2), weights: TensorStore())
        #expect(!Self.labels(otherAxis).contains { $0.hasPrefix("matmul+") })
    }
}
