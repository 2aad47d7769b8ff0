import Foundation
import PorterCore
import PorterRuntime
import Testing

@Suite struct ExecutorTests {
    @Test func unknownOpIsNamedWithItsNode() throws {
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [2])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [2])],
                          nodes: [GraphNode(name: "block.weird", op: "frobnicate", inputs: ["x"], outputs: ["y"])], origin: "test")
        #expect(GraphExecutor.missingOps(in: graph) == ["frobnicate"])
        #expect(throws: RuntimeError.unknownOp(node: "block.weird", op: "frobnicate")) { try GraphExecutor(graph: graph, weights: TensorStore()) }
    }
}
