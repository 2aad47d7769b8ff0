/// A named value flowing in or out of a graph, with its element type and shape.
/// A dimension of -1 is dynamic (batch, sequence).
public struct GraphValue: Sendable, Codable, Hashable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// One operation of the neutral graph. `op` names an entry of the op set in
/// `docs/ops.md`; inputs name graph inputs, earlier node outputs, or weights in the
/// model's tensor store.
public struct GraphNode: Sendable, Codable, Hashable {
    public var name: String
    public var op: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: JSONValue]

    public init(name: String, op: String, inputs: [String], outputs: [String], attributes: [String: JSONValue] = [:]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}

/// A dataflow graph over the neutral op set, nodes in a valid execution order.
public struct Graph: Sendable, Codable, Hashable {
    public var inputs: [GraphValue]
    public var outputs: [GraphValue]
    public var nodes: [GraphNode]
    /// Where the graph came from (`keras model_config`, `builder:bert`, ...).
    public var origin: String

    public init(inputs: [GraphValue], outputs: [GraphValue], nodes: [GraphNode], origin: String) {
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.origin = origin
    }
}
