import Foundation
import PorterCore
import PorterRuntime
import PorterTestSupport
import Testing

@Suite struct ExecutorTests {
    @Test func unknownOpIsNamedWithItsNode() throws {
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [2])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [2])],
                          nodes: [GraphNode(name: "block.weird", op: "frobnicate", inputs: ["x"], outputs: ["y"])], origin: "test")
        #expect(GraphExecutor.missingOps(in: graph) == ["frobnicate"])
        #expect(throws: RuntimeError.unknownOp(node: "block.weird", op: "frobnicate")) { try GraphExecutor(graph: graph, weights: TensorStore()) }
    }
}

@Suite struct ExecutorBehaviourTests {
    static func weight(_ name: String, _ values: [Float], _ shape: [Int], dtype: DType = .f32) -> TensorEntry {
        let bytes: [UInt8]
        switch dtype {
        case .f16: bytes = values.flatMap { v -> [UInt8] in let b = Float16(v).bitPattern; return [UInt8(b & 0xff), UInt8(b >> 8)] }
        default: bytes = values.withUnsafeBytes { [UInt8]($0) }
        }
        return TensorEntry(name: name, tensor: .memory(bytes, dtype: dtype, shape: Shape(shape), label: name),
                           provenance: Provenance(sourceFile: "test", sourceName: name))
    }

    static let graph = Graph(
        inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1, 2])],
        outputs: [GraphValue(name: "y", dtype: .f32, shape: [-1, 2]), GraphValue(name: "h", dtype: .f32, shape: [-1, 2])],
        nodes: [GraphNode(name: "fc", op: "linear", inputs: ["x", "fc.weight", "fc.bias"], outputs: ["h"]),
                GraphNode(name: "act", op: "relu", inputs: ["h"], outputs: ["a"]),
                GraphNode(name: "res", op: "add", inputs: ["a", "h"], outputs: ["y"])],
        origin: "test")

    @Test func halfWeightsAreWidenedAndIntermediatesComeInOrder() throws {
        let store = try TensorStore([Self.weight("fc.weight", [1, -1, 0.5, 2], [2, 2], dtype: .f16),
                                     Self.weight("fc.bias", [0, 1], [2], dtype: .f16)])
        let executor = try GraphExecutor(graph: Self.graph, weights: store)
        let result = try executor.run(["x": f([1, 2], [1, 2])], captureIntermediates: true)
        // h = [1−2+0, 0.5+4+1] = [−1, 5.5]; y = relu(h) + h = [−1, 11].
        expectClose(result.outputs["h"]!, [1, 2], [-1, 5.5])
        expectClose(result.outputs["y"]!, [1, 2], [-1, 11])
        #expect(result.intermediates.map(\.node) == ["fc", "act", "res"])
        #expect(result.intermediates.map(\.output) == ["h", "a", "y"])
        #expect(result.intermediates.map(\.op) == ["linear", "relu", "add"])
        // Without capture nothing is kept, and a second run gives the same answer.
        let again = try executor.run(["x": f([1, 2], [1, 2])])
        #expect(again.intermediates.isEmpty)
        #expect(again.outputs["y"] == result.outputs["y"])
    }

    @Test func missingInputWeightAndBadDTypeAreReported() throws {
        let store = try TensorStore([Self.weight("fc.weight", [1, 0, 0, 1], [2, 2])])
        #expect(throws: RuntimeError.missingValue(node: "fc", name: "fc.bias")) { try GraphExecutor(graph: Self.graph, weights: store) }
        let full = try TensorStore([Self.weight("fc.weight", [1, 0, 0, 1], [2, 2]), Self.weight("fc.bias", [0, 0], [2])])
        let executor = try GraphExecutor(graph: Self.graph, weights: full)
        #expect(throws: RuntimeError.missingInput(name: "x")) { try executor.run([:]) }
        #expect(throws: RuntimeError.self) { try executor.run(["x": i([1, 2], [1, 2])]) }
        let complex = TensorRef.memory([UInt8](repeating: 0, count: 8), dtype: .c64, shape: [1], label: "c")
        #expect(throws: RuntimeError.unsupportedDType(tensor: "c", dtype: "c64")) { try HostTensor(complex, name: "c") }
    }

    @Test func hostTensorRoundTripsThroughTensorRef() throws {
        let t = f([2, 2], [1.5, -2, 0, 3])
        #expect(try HostTensor(t.tensorRef(label: "t")) == t)
        let n = i([3], [1, -5, 1 << 40])
        #expect(try HostTensor(n.tensorRef(label: "n")) == n)
        #expect(n.dtype == .i64 && t.dtype == .f32)
    }

    @Test func supportedOpsCoverTheDocumentedOpSet() throws {
        // Every op named in docs/ops.md tables is implemented, and every implemented op is documented.
        let doc = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/ops.md"), encoding: .utf8)
        var documented = Set<String>()
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.split(separator: "|")[0]
            for part in firstCell.split(separator: "`") where !part.contains(",") && !part.contains("/") && !part.trimmingCharacters(in: .whitespaces).isEmpty {
                documented.insert(String(part))
            }
        }
        #expect(documented == GraphExecutor.supportedOps, "documented but missing: \(documented.subtracting(GraphExecutor.supportedOps)); implemented but undocumented: \(GraphExecutor.supportedOps.subtracting(documented))")
    }
}
