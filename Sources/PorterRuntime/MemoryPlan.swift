import PorterCore
import PorterOps

/// Activation memory of one run of a graph, planned before running it from the shapes the
/// op specs infer for concrete input dims and the executor's last-use release table.
///
/// Every value counts as its own buffer (float32: 4 bytes, int64: 8), held from the node
/// that makes it until the node that reads it last (graph outputs to the end), as
/// `GraphExecutor.run` does node by node. Views (`reshape`, `identity`) share storage in
/// practice and fusion skips some intermediates, so a real run stays at or below this.
public struct MemoryPlan: Sendable, Equatable {
    /// Live activation bytes right after each node ran, before the values it read last are freed.
    public var liveAfterNode: [Int]
    /// The largest of those (or the graph inputs' bytes, when larger).
    public var peakBytes: Int
    /// The node at which the peak is reached (nil when the inputs alone are the peak).
    public var peakNode: String?
    /// Bytes of the weights the executor holds, as loaded (float32 / int64, or packed).
    public var weightBytes: Int
}

extension GraphExecutor {
    /// Plans the activation memory of a run on inputs of `inputShapes` (by graph input name;
    /// each must fit the declared shape, whose -1 dims it fills).
    public func memoryPlan(inputShapes: [String: [Int]]) throws -> MemoryPlan {
        var concrete = graph
        for (i, input) in graph.inputs.enumerated() {
            guard let dims = inputShapes[input.name] else { throw RuntimeError.missingInput(name: input.name) }
            guard dims.count == input.shape.count, dims.allSatisfy({ $0 >= 0 }),
                  zip(dims, input.shape).allSatisfy({ $1 < 0 || $0 == $1 }) else {
                throw RuntimeError.shapeMismatch(node: "input \(input.name)", op: "input", detail: "dims do not fit the declared shape", shapes: [dims, input.shape])
            }
            concrete.inputs[i].shape = dims
        }
        var weightTypes: [String: ValueType] = [:]
        var weightBytes = 0
        for (name, t) in weights {
            weightTypes[name] = ValueType(dtype: t.dtype, shape: t.shape)
            weightBytes += t.elementCount * (t.dtype == .i64 ? 8 : 4)
        }
        for (name, p) in packed {
            weightTypes[name] = ValueType(dtype: .f32, shape: p.shape)
            weightBytes += p.byteCount
        }
        let types: [String: ValueType]
        do { types = try GraphValidator.validate(concrete, weights: weightTypes) } catch let error as OpError { throw RuntimeError.invalidNode(error) }
        func bytes(_ name: String, node: GraphNode?) throws -> Int {
            guard let t = types[name], let count = t.elementCount else {
                throw RuntimeError.shapeMismatch(node: node?.name ?? "input \(name)", op: node?.op ?? "input",
                                                 detail: "the shape of '\(name)' cannot be inferred for memory planning", shapes: [])
            }
            return count * (t.dtype == .i64 ? 8 : 4)
        }
        var live: [String: Int] = [:]
        for input in concrete.inputs { live[input.name] = try bytes(input.name, node: nil) }
        var total = live.values.reduce(0, +)
        var peak = total
        var peakNode: String? = nil
        var after: [Int] = []
        for (index, node) in graph.nodes.enumerated() {
            for name in node.outputs {
                let b = try bytes(name, node: node)
                total += b - (live[name] ?? 0)
                live[name] = b
            }
            after.append(total)
            if total > peak { peak = total; peakNode = node.name }
            for name in releaseAfter[index] {
                total -= live.removeValue(forKey: name) ?? 0
            }
        }
        return MemoryPlan(liveAfterNode: after, peakBytes: peak, peakNode: peakNode, weightBytes: weightBytes)
    }
}
