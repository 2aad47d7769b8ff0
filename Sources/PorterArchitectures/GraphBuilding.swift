import PorterCore

/// Accumulates nodes of a graph under construction. Each node's single output is named
/// after the node unless given, so values read like module paths.
public struct GraphBuilding: Sendable {
    public private(set) var nodes: [GraphNode] = []
    /// Tensor names the graph reads from the checkpoint.
    public private(set) var weightsRead: [String] = []
    private var used: Set<String> = []

    public init() {}

    /// Appends a node and returns the name of its output.
    @discardableResult
    public mutating func add(_ name: String, _ op: String, _ inputs: [String], _ attributes: [String: JSONValue] = [:],
                             output: String? = nil) -> String {
        var unique = name
        var n = 1
        while used.contains(unique) { n += 1; unique = "\(name)_\(n)" }
        used.insert(unique)
        let out = output ?? unique
        nodes.append(GraphNode(name: unique, op: op, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    /// Records that `name` is a checkpoint tensor the graph reads and returns it.
    public mutating func weight(_ name: String) -> String {
        weightsRead.append(name)
        return name
    }

    /// Throws `missingTensor` for the first weight read that `names` lacks.
    public func checkWeights(in names: Set<String>, model: String) throws {
        if let missing = weightsRead.first(where: { !names.contains($0) }) {
            throw ArchitectureError.missingTensor(model: model, name: missing)
        }
    }

    /// Multi-head scaled dot-product attention over already projected q, k, v
    /// (`[batch, seq, heads·headDim]`), with an additive mask broadcast to
    /// `[batch, heads, q, k]`. Returns `[batch, q, heads·headDim]`.
    public mutating func attention(_ path: String, query: String, key: String, value: String, mask: String?,
                                   heads: Int, headDim: Int, scale: Double?) -> String {
        let split: JSONValue = .array([0, 0, .int(Int64(heads)), .int(Int64(headDim))])
        let perm: JSONValue = [0, 2, 1, 3]
        let q = add("\(path).query_heads", "transpose", [add("\(path).query_split", "reshape", [query], ["shape": split])], ["perm": perm])
        let k = add("\(path).key_heads", "transpose", [add("\(path).key_split", "reshape", [key], ["shape": split])], ["perm": perm])
        let v = add("\(path).value_heads", "transpose", [add("\(path).value_split", "reshape", [value], ["shape": split])], ["perm": perm])
        var scores = add("\(path).scores", "matmul", [q, k], ["transpose_b": true])
        if let scale { scores = add("\(path).scaled_scores", "scale", [scores], ["factor": .double(scale)]) }
        if let mask { scores = add("\(path).masked_scores", "add", [scores, mask]) }
        let probs = add("\(path).probs", "softmax", [scores], ["axis": -1])
        let context = add("\(path).context", "matmul", [probs, v])
        let merged = add("\(path).context_heads", "transpose", [context], ["perm": perm])
        return add("\(path).context_merged", "reshape", [merged], ["shape": .array([0, 0, .int(Int64(heads * headDim))])])
    }

    /// `linear` with weight `<module>.weight` and bias `<module>.bias` (when present).
    public mutating func linear(_ module: String, _ x: String, weightPrefix: String, names: Set<String>,
                                layout: String = "out_in", output: String? = nil) -> String {
        let w = weight(weightPrefix + module + ".weight")
        var inputs = [x, w]
        if names.contains(weightPrefix + module + ".bias") { inputs.append(weight(weightPrefix + module + ".bias")) }
        return add(module, "linear", inputs, layout == "out_in" ? [:] : ["weight_layout": .string(layout)], output: output)
    }

    /// `layer_norm` with `<module>.weight`/`.bias` (or `gamma`/`beta` names given).
    public mutating func layerNorm(_ module: String, _ x: String, weightPrefix: String, epsilon: Double,
                                   output: String? = nil) -> String {
        add(module, "layer_norm", [x, weight(weightPrefix + module + ".weight"), weight(weightPrefix + module + ".bias")],
            ["axis": -1, "epsilon": .double(epsilon)], output: output)
    }

    /// An activation node for a transformers `hidden_act` / `activation_function` name.
    public mutating func activation(_ name: String, _ x: String, kind: String, model: String) throws -> String {
        switch kind {
        case "gelu", "gelu_python": return add(name, "gelu", [x], ["approximate": "none"])
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return add(name, "gelu", [x], ["approximate": "tanh"])
        case "relu": return add(name, "relu", [x])
        case "silu", "swish": return add(name, "silu", [x])
        case "tanh": return add(name, "tanh", [x])
        default: throw ArchitectureError.badConfig(model: model, key: "activation", detail: "'\(kind)' is not supported")
        }
    }
}
