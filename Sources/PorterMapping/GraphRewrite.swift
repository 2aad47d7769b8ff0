import PorterCore

/// Keeps a model's graph consistent with what a mapping did to its weights: weight
/// references follow renames, and a transposed weight's layout attribute is rewritten
/// to the layout the runtime reads (`linear`'s `weight_layout`, `conv1d`/`conv2d`'s
/// `kernel_layout`). When the graph cannot follow (a weight it reads was split,
/// concatenated, dropped or reshaped, or transposed into a layout no op attribute can
/// state) the graph is dropped with the reason: an inconsistent graph is never written.
public enum GraphRewrite {
    /// What the mapping did to one source tensor.
    public enum Fate: Sendable, Equatable {
        /// Produced one-to-one under `to`, transposed by `transpose` and/or reshaped to `reshape`.
        case mapped(to: String, transpose: [Int]?, reshape: [Int]?)
        /// Produced under `to`, transposed by `transpose` (giving dims `from`), then reshaped
        /// to `reshape`. The graph follows only a depthwise kernel becoming a grouped one
        /// (`HWIM` → `OIHW` with `groups`, see `regroupedDepthwise`); any other reshape drops it.
        case reshaped(to: String, transpose: [Int]?, from: [Int], reshape: [Int])
        /// The graph cannot read it whole any more; the text says what happened to it.
        case unfollowable(String)
    }

    public enum Outcome: Sendable, Equatable {
        case kept(Graph)
        case dropped(String)
    }

    /// Layout attributes per op: the input position of the weight, the attribute, its
    /// default and the layouts the runtime accepts (docs/ops.md).
    struct LayoutAttribute {
        var input: Int
        var attribute: String
        var defaultValue: String
        /// Accepted values, each spelled as its axis names in order.
        var accepted: [String: [String]]
        /// Attributes whose default depends on this one, pinned to their value before the change.
        var pinned: [(attribute: String, valueFor: (String) -> String)]
    }

    static func layoutAttribute(op: String) -> LayoutAttribute? {
        func letters(_ s: String) -> [String] { s.map { String($0) } }
        func dataFormat(_ layout: String) -> String { layout.hasPrefix("O") ? "channels_first" : "channels_last" }
        switch op {
        case "linear":
            return LayoutAttribute(input: 1, attribute: "weight_layout", defaultValue: "out_in",
                                   accepted: ["out_in": ["out", "in"], "in_out": ["in", "out"]], pinned: [])
        case "conv1d":
            return LayoutAttribute(input: 1, attribute: "kernel_layout", defaultValue: "OIW",
                                   accepted: Dictionary(uniqueKeysWithValues: ["OIW", "WIO", "WIM"].map { ($0, letters($0)) }),
                                   pinned: [("data_format", dataFormat)])
        case "conv2d":
            return LayoutAttribute(input: 1, attribute: "kernel_layout", defaultValue: "OIHW",
                                   accepted: Dictionary(uniqueKeysWithValues: ["OIHW", "HWIO", "HWIM"].map { ($0, letters($0)) }),
                                   pinned: [("data_format", dataFormat)])
        default:
            return nil
        }
    }

    /// Rewrites `graph` for the weights' `fates`. `sourceWeights` are the names of the
    /// model's tensors before mapping; graph inputs naming anything else are left alone.
    public static func rewrite(_ graph: Graph, fates: [String: Fate], sourceWeights: Set<String>) -> Outcome {
        var values = Set(graph.inputs.map(\.name))
        for node in graph.nodes { values.formUnion(node.outputs) }
        var produced = Set(graph.inputs.map(\.name))
        var out = graph
        for (n, node) in graph.nodes.enumerated() {
            var rewritten = node
            for (i, input) in node.inputs.enumerated() where !input.isEmpty && !produced.contains(input) && sourceWeights.contains(input) {
                let reads = "node \(node.name) (\(node.op)) reads \(input)"
                guard let fate = fates[input] else {
                    return .dropped("\(reads), which the mapping did not carry over")
                }
                switch fate {
                case let .unfollowable(what):
                    return .dropped("\(reads) whole, but \(what)")
                case let .reshaped(to, transpose, from, reshape):
                    if values.contains(to) {
                        return .dropped("\(reads), which the mapping renames to \(to), a name the graph already uses for a value")
                    }
                    guard let attributes = regroupedDepthwise(node, input: i, transpose: transpose, from: from, reshape: reshape) else {
                        return .dropped("\(reads), which the mapping reshapes to \(reshape); no op attribute states a reshaped weight")
                    }
                    if rewritten.attributes["kernel_layout"] != node.attributes["kernel_layout"] {
                        return .dropped("\(reads); node \(node.name)'s kernel_layout was already rewritten")
                    }
                    rewritten.inputs[i] = to
                    for (key, value) in attributes { rewritten.attributes[key] = value }
                case let .mapped(to, transpose, reshape):
                    if values.contains(to) {
                        return .dropped("\(reads), which the mapping renames to \(to), a name the graph already uses for a value")
                    }
                    if let reshape {
                        return .dropped("\(reads), which the mapping reshapes to \(reshape); no op attribute states a reshaped weight")
                    }
                    rewritten.inputs[i] = to
                    if let perm = transpose, perm != Array(perm.indices) {
                        guard let layout = layoutAttribute(op: node.op), layout.input == i else {
                            return .dropped("\(reads) as input \(i), which the mapping transposes by \(perm); \(node.op) has no layout attribute for that input")
                        }
                        let current = node.attributes[layout.attribute]?.stringValue ?? layout.defaultValue
                        guard let axes = layout.accepted[current], axes.count == perm.count, perm.allSatisfy({ $0 >= 0 && $0 < axes.count }) else {
                            return .dropped("\(reads) with \(layout.attribute) '\(current)', which a transpose by \(perm) does not fit")
                        }
                        let permuted = perm.map { axes[$0] }
                        guard let next = layout.accepted.first(where: { $0.value == permuted })?.key else {
                            return .dropped("\(reads) with \(layout.attribute) '\(current)'; transposed by \(perm) it would be \(permuted.joined(separator: ",")), a layout \(node.op) does not accept")
                        }
                        for pin in layout.pinned where rewritten.attributes[pin.attribute] == nil {
                            rewritten.attributes[pin.attribute] = .string(pin.valueFor(current))
                        }
                        if let previous = rewritten.attributes[layout.attribute], previous != node.attributes[layout.attribute] {
                            // Two weights of one node set the same attribute: cannot happen for these ops.
                            return .dropped("\(reads); node \(node.name)'s \(layout.attribute) was already rewritten to \(previous)")
                        }
                        rewritten.attributes[layout.attribute] = .string(next)
                    }
                }
            }
            out.nodes[n] = rewritten
            produced.formUnion(node.outputs)
        }
        return .kept(out)
    }

    /// A Keras depthwise kernel mapped to PyTorch's grouped layout — `HWIM` transposed by
    /// `[2, 3, 0, 1]` to `[I, M, H, W]`, reshaped to `[I·M, 1, H, W]` (`WIM` by `[1, 2, 0]` for
    /// conv1d) — is the same convolution as `OIHW` (`OIW`) with `groups` = I: output channel
    /// i·M + m reads input channel i in both. Returns the node's new attributes (layout, the
    /// pinned `groups` and `data_format`), or nil when the reshape is anything else.
    static func regroupedDepthwise(_ node: GraphNode, input: Int, transpose: [Int]?, from: [Int], reshape: [Int]) -> [String: JSONValue]? {
        guard let layout = layoutAttribute(op: node.op), layout.input == input,
              let current = node.attributes[layout.attribute]?.stringValue else { return nil }
        let (perm, grouped): ([Int], String)
        switch current {
        case "HWIM": (perm, grouped) = ([2, 3, 0, 1], "OIHW")
        case "WIM": (perm, grouped) = ([1, 2, 0], "OIW")
        default: return nil
        }
        guard transpose == perm, from.count == perm.count, reshape.count == perm.count,
              case let (i, m) = (from[0], from[1]), reshape == [i * m, 1] + from[2...] else { return nil }
        if let groups = node.attributes["groups"], groups.intValue != i { return nil }
        var out: [String: JSONValue] = [layout.attribute: .string(grouped), "groups": .int(Int64(i))]
        if node.attributes["data_format"] == nil { out["data_format"] = .string("channels_last") }
        return out
    }
}
