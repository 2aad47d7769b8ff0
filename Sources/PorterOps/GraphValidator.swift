import PorterCore

/// Checks a graph against the op set and infers the type of every value.
///
/// Every node's op must have a spec, its inputs must be graph inputs, earlier node
/// outputs or weights, its attributes must fit the spec, and its input types must fit the
/// op where they are known. Dims of -1 stay dynamic; only a mismatch that is certain
/// (both dims known and different) is an error.
public enum GraphValidator {
    /// The inferred types of every graph input, weight the graph reads, and node output.
    public static func validate(_ graph: Graph, weights: [String: ValueType], specs: [String: OpSpec] = OpSet.standard) throws -> [String: ValueType] {
        var types: [String: ValueType] = [:]
        for input in graph.inputs {
            types[input.name] = ValueType(dtype: ValueType.computeType(of: input.dtype), shape: input.shape)
        }
        for node in graph.nodes {
            guard let spec = specs[node.op] else { throw OpError.unknownOp(node: node.name, op: node.op) }
            try spec.checkInputs(of: node)
            let attributes = try spec.decodeAttributes(of: node)
            var inputs: [ValueType?] = []
            for name in node.inputs {
                if name.isEmpty { inputs.append(nil); continue }
                if let t = types[name] { inputs.append(t); continue }
                guard let w = weights[name] else { throw OpError.missingValue(node: node.name, op: node.op, name: name) }
                types[name] = w
                inputs.append(w)
            }
            let outputs = try spec.infer(InferenceContext(node: node, attributes: attributes, inputs: inputs))
            guard node.outputs.count <= outputs.count else {
                throw OpError.wrongOutputCount(node: node.name, op: node.op, expected: outputs.count, got: node.outputs.count)
            }
            for (name, t) in zip(node.outputs, outputs) { types[name] = t }
        }
        for output in graph.outputs where types[output.name] == nil {
            guard let w = weights[output.name] else { throw OpError.missingOutput(name: output.name) }
            types[output.name] = w
        }
        return types
    }

    /// Validates against the tensors of a model (shapes known, float kinds computed as f32).
    public static func validate(_ graph: Graph, tensors: TensorStore) throws -> [String: ValueType] {
        var weights: [String: ValueType] = [:]
        for entry in tensors {
            weights[entry.name] = ValueType(entry.tensor)
        }
        return try validate(graph, weights: weights)
    }

    /// Validates knowing only the names of the weights (their types unknown), as graph
    /// builders do.
    public static func validate(_ graph: Graph, weightNames: Set<String>) throws -> [String: ValueType] {
        try validate(graph, weights: Dictionary(uniqueKeysWithValues: weightNames.map { ($0, ValueType.unknown) }))
    }
}
