import Foundation
import PorterCore
import PorterOps

/// Why a Keras model config could not become a neutral graph. Weights are still read.
public enum KerasGraphError: Error, Sendable, Equatable {
    /// A layer class outside the supported set (a `Lambda` is never run: it is code).
    case unsupportedLayer(layer: String, className: String)
    /// A supported layer with a setting Porter cannot express.
    case unsupportedSetting(layer: String, className: String, setting: String)
    /// A layer needs a weight the file does not hold.
    case missingWeight(layer: String, role: String)
    /// The config is not a Sequential or Functional model of the expected shape.
    case badConfig(reason: String)
}

extension KerasGraphError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .unsupportedLayer(layer, className) where className == "Lambda":
            return "layer '\(layer)' is a Lambda (Python code in the model file); Porter never runs code from a model, so it cannot build this graph"
        case let .unsupportedLayer(layer, className):
            return "layer '\(layer)' is a \(className), which Porter's graph builder does not support"
        case let .unsupportedSetting(layer, className, setting):
            return "layer '\(layer)' (\(className)): \(setting) is not supported"
        case let .missingWeight(layer, role):
            return "layer '\(layer)' needs its \(role) weight, which the file does not hold"
        case let .badConfig(reason):
            return "model config: \(reason)"
        }
    }
}

/// Where a Keras layer's weights are in the tensor store.
public enum KerasLayerWeights: Sendable {
    /// Keras 2 / tf-keras: tensors named `<layer>/<...>/<role>:0`.
    case keras2(TensorStore)
    /// Keras 3: per layer name, the tensor names of `vars/0`, `vars/1`, … in order.
    case keras3(TensorStore, [String: [String]])

    var store: TensorStore {
        switch self {
        case let .keras2(s): return s
        case let .keras3(s, _): return s
        }
    }

    /// The tensor name of a layer's weight by role (Keras 2) or position (Keras 3).
    func find(layer: String, role: String, index: Int) -> String? {
        switch self {
        case let .keras2(store):
            let prefix = layer + "/"
            let own = store.names.filter { $0.hasPrefix(prefix) }
            let byRole = own.first { name in
                let last = name.split(separator: "/").last.map(String.init) ?? ""
                let bare = last.split(separator: ":").first.map(String.init) ?? last
                return bare == role
            }
            // A legacy file written from a Keras 3 model names weights by position (`<layer>/vars/<i>`).
            if byRole == nil, own.allSatisfy({ $0.contains("/vars/") }), index < own.count { return own[index] }
            return byRole
        case let .keras3(_, byLayer):
            guard let list = byLayer[layer], index < list.count, !list[index].isEmpty else { return nil }
            return list[index]
        }
    }
}

/// Builds a neutral `Graph` (ops of docs/ops.md, channels_last, Keras kernel layouts
/// `HWIO`/`WIO`/`HWIM`, linear `in_out`) from a Keras Sequential or Functional config,
/// tf-keras 2 (`model_config`) or Keras 3 (`config.json`). Nothing in the config is
/// executed; a Lambda or unknown layer is an error naming it.
public struct KerasGraphBuilder {
    public let weights: KerasLayerWeights
    private var nodes: [GraphNode] = []
    private var inputs: [GraphValue] = []
    /// Rank of each value, where known.
    private var ranks: [String: Int] = [:]
    private var dtypes: [String: DType] = [:]
    /// A Keras 3 config (objects carry "module"); activations whose definition changed
    /// between tf-keras 2 and Keras 3 (`hard_sigmoid`) follow it.
    private var keras3 = false
    /// Keras 3 weights: each layer's group (`layers/<group>`), and for a wrapped layer the
    /// path inside it (`/layer` for TimeDistributed).
    private var groups: [String: String] = [:]
    private var subPath: [String: String] = [:]
    /// The Keras mask (`[batch, time]`, nonzero = kept) each value carries, from Masking or
    /// `Embedding(mask_zero=True)`.
    private var masks: [String: String] = [:]

    public init(weights: KerasLayerWeights) { self.weights = weights }

    /// Builds the graph for a config `{"class_name": "Sequential"|"Functional"|"Model", "config": {...}}`.
    public func build(_ modelConfig: JSONValue) throws -> Graph {
        var b = self
        return try b.run(modelConfig)
    }

    private mutating func run(_ root: JSONValue) throws -> Graph {
        guard let cls = root["class_name"]?.stringValue, let config = root["config"] else {
            throw KerasGraphError.badConfig(reason: "no class_name/config at the top")
        }
        guard let layers = config["layers"]?.arrayValue else { throw KerasGraphError.badConfig(reason: "\(cls) has no layers list") }
        keras3 = root["module"] != nil || layers.contains { $0["module"] != nil }
        for layer in KerasModelLayers(root)?.saved ?? [] { groups[layer.name] = layer.group }
        var outputs: [String] = []
        switch cls {
        case "Sequential":
            var current: String?
            for (i, layer) in layers.enumerated() {
                let lcls = layer["class_name"]?.stringValue ?? "?"
                let lcfg = layer["config"] ?? [:]
                let name = lcfg["name"]?.stringValue ?? "layer_\(i)"
                if lcls == "InputLayer" {
                    current = try addInput(name: name, config: lcfg)
                    continue
                }
                if current == nil {
                    guard let shape = lcfg["batch_input_shape"] ?? lcfg["batch_shape"] else {
                        throw KerasGraphError.badConfig(reason: "Sequential model has no input shape (no InputLayer, no batch_input_shape on \(name))")
                    }
                    current = try addInput(name: "input", config: ["batch_input_shape": shape, "dtype": lcfg["dtype"] ?? "float32"])
                }
                current = try addLayer(cls: lcls, name: name, config: lcfg, inputs: [current!], outputName: name)
            }
            guard let last = current else { throw KerasGraphError.badConfig(reason: "empty Sequential model") }
            outputs = [last]
        case "Functional", "Model":
            for layer in layers {
                let lcls = layer["class_name"]?.stringValue ?? "?"
                let lcfg = layer["config"] ?? [:]
                guard let name = layer["name"]?.stringValue ?? lcfg["name"]?.stringValue else {
                    throw KerasGraphError.badConfig(reason: "a layer without a name")
                }
                if lcls == "InputLayer" {
                    _ = try addInput(name: name, config: lcfg)
                    continue
                }
                let calls = try inboundCalls(layer["inbound_nodes"], layer: name)
                for (k, args) in calls.enumerated() {
                    _ = try addLayer(cls: lcls, name: k == 0 ? name : "\(name)#\(k)", config: lcfg, inputs: args, outputName: valueName(name, k))
                }
            }
            outputs = try refs(config["output_layers"], what: "output_layers")
        default:
            throw KerasGraphError.badConfig(reason: "top-level class \(cls) is not Sequential or Functional")
        }
        let outs = outputs.map { GraphValue(name: $0, dtype: .f32, shape: [Int](repeating: -1, count: ranks[$0] ?? 0)) }
        let graph = Graph(inputs: inputs, outputs: outs, nodes: nodes, origin: "keras model_config (\(cls))")
        // The graph must fit the op specs on these weights; otherwise the reader keeps the weights and notes why.
        _ = try GraphValidator.validate(graph, tensors: weights.store)
        return graph
    }

    private func valueName(_ layer: String, _ node: Int) -> String { node == 0 ? layer : "\(layer)#\(node)" }

    /// `[[layer, node, tensor, …], …]` or Keras 3's flat `[layer, node, tensor]`.
    private func refs(_ value: JSONValue?, what: String) throws -> [String] {
        guard let arr = value?.arrayValue else { throw KerasGraphError.badConfig(reason: "no \(what)") }
        if let first = arr.first, first.stringValue != nil { return [try ref(value!)] }
        return try arr.map { try ref($0) }
    }

    private func ref(_ v: JSONValue) throws -> String {
        guard let a = v.arrayValue, a.count >= 3, let layer = a[0].stringValue, let node = a[1].intValue, let t = a[2].intValue else {
            throw KerasGraphError.badConfig(reason: "bad tensor reference \(v)")
        }
        guard t == 0 else { throw KerasGraphError.badConfig(reason: "layer \(layer) has several outputs, which Porter does not support") }
        return valueName(layer, node)
    }

    /// Each call of a layer: the value names it consumes (tf-keras lists or Keras 3 dicts).
    private func inboundCalls(_ value: JSONValue?, layer: String) throws -> [[String]] {
        guard let nodes = value?.arrayValue else { return [] }
        return try nodes.map { node -> [String] in
            if let list = node.arrayValue {  // tf-keras: [[name, node, tensor, kwargs], …]
                var out = try list.map { try ref($0) }
                // Tensors passed by keyword (MultiHeadAttention's value / key) follow, in that order.
                for entry in list {
                    guard let kwargs = entry.arrayValue?.dropFirst(3).first?.objectValue else { continue }
                    for key in ["value", "key"] {
                        if let r = kwargs[key], r.arrayValue?.first?.stringValue != nil { out.append(try ref(r)) }
                    }
                }
                return out
            }
            if let kwargs = node["kwargs"]?.objectValue {
                // Keras 3: tensors or settings passed by keyword that change a layer's result.
                for (key, v) in kwargs where v["config"]?["keras_history"] != nil || (key == "use_causal_mask" && v.boolValue == true) {
                    throw KerasGraphError.unsupportedSetting(layer: layer, className: "?", setting: "call argument \(key)")
                }
            }
            guard let args = node["args"]?.arrayValue else { throw KerasGraphError.badConfig(reason: "layer \(layer): inbound node without args") }
            var out: [String] = []
            func collect(_ v: JSONValue) throws {
                if let hist = v["config"]?["keras_history"] { out.append(try ref(hist)); return }
                if let list = v.arrayValue { for x in list { try collect(x) } }
            }
            for a in args { try collect(a) }
            return out
        }
    }

    private mutating func addInput(name: String, config: JSONValue) throws -> String {
        guard let shape = (config["batch_input_shape"] ?? config["batch_shape"])?.arrayValue else {
            throw KerasGraphError.badConfig(reason: "InputLayer \(name) has no batch_input_shape")
        }
        let dims = shape.map { $0.intValue ?? -1 }
        let dt = (config["dtype"]?.stringValue ?? config["dtype"]?["config"]?["name"]?.stringValue ?? "float32")
        let dtype: DType = dt.hasPrefix("int") || dt.hasPrefix("uint") ? .i64 : .f32
        inputs.append(GraphValue(name: name, dtype: dtype, shape: dims))
        ranks[name] = dims.count
        dtypes[name] = dtype
        return name
    }

    // MARK: layers

    private mutating func emit(_ name: String, _ op: String, _ ins: [String], _ out: String, _ attrs: [String: JSONValue] = [:], rank: Int?) {
        nodes.append(GraphNode(name: name, op: op, inputs: ins, outputs: [out], attributes: attrs))
        if let rank { ranks[out] = rank }
    }

    private func weight(_ layer: String, _ role: String, _ index: Int, required: Bool = true) throws -> String? {
        var name: String?
        if case .keras3 = weights, let group = groups[layer] {
            let path = "layers/\(group)\(subPath[layer] ?? "")/vars/\(index)"
            if weights.store[path] != nil { name = path }
        }
        name = name ?? weights.find(layer: layer, role: role, index: index)
        if name == nil && required { throw KerasGraphError.missingWeight(layer: layer, role: role) }
        return name
    }

    private func shapeOf(_ tensor: String) -> [Int] { weights.store[tensor]?.tensor.shape.dims ?? [] }

    /// Emits the layer's activation, if any, producing `out`; returns `out`.
    private mutating func activation(_ layer: String, cls: String, _ act: String, _ x: String, _ out: String) throws -> String {
        let r = ranks[x]
        func fn(_ function: String, _ extra: [String: JSONValue] = [:]) {
            var attrs = extra
            attrs["function"] = .string(function)
            emit(layer + "/" + function, "activation", [x], out, attrs, rank: r)
        }
        switch act {
        case "linear", "":
            if x == out { return out }
            emit(layer + "/identity", "identity", [x], out, rank: r)
        case "relu", "sigmoid", "tanh", "relu6", "silu": emit(layer + "/" + act, act, [x], out, rank: r)
        case "swish": emit(layer + "/silu", "silu", [x], out, rank: r)
        case "exponential": emit(layer + "/exp", "exp", [x], out, rank: r)
        case "gelu": emit(layer + "/gelu", "gelu", [x], out, ["approximate": "none"], rank: r)
        case "softmax": emit(layer + "/softmax", "softmax", [x], out, ["axis": -1], rank: r)
        case "log_softmax", "sparsemax", "glu": emit(layer + "/" + act, act, [x], out, ["axis": -1], rank: r)
        // tf-keras 2: clip(0.2x + 0.5); Keras 3: relu6(x + 3) / 6.
        case "hard_sigmoid": fn("hard_sigmoid", ["alpha": .double(keras3 ? 1.0 / 6.0 : 0.2), "beta": 0.5])
        case "hard_silu", "hard_swish": fn("hard_silu", ["alpha": .double(1.0 / 6.0), "beta": 0.5])
        case "leaky_relu": fn("leaky_relu", ["alpha": 0.2])
        case "elu", "selu", "softplus", "softsign", "mish", "celu", "hard_tanh", "log_sigmoid", "tanh_shrink", "hard_shrink",
             "soft_shrink", "squareplus", "sparse_plus", "sparse_sigmoid":
            fn(act)
        default: throw KerasGraphError.unsupportedSetting(layer: layer, className: cls, setting: "activation '\(act)'")
        }
        return out
    }

    private func ints(_ v: JSONValue?, count: Int, default d: [Int]? = nil) -> [Int]? {
        if let i = v?.intValue { return [Int](repeating: i, count: count) }
        if let a = v?.arrayValue { let x = a.compactMap(\.intValue); return x.count == a.count ? x : nil }
        return d
    }

    /// Per spatial axis (before, after) from Keras' int / (a, b) / ((a, b), (c, d)) forms.
    private func pairs(_ v: JSONValue?, spatial: Int) -> [[Int]]? {
        var perAxis: [[Int]] = []
        if let i = v?.intValue {
            perAxis = [[Int]](repeating: [i, i], count: spatial)
        } else if let a = v?.arrayValue {
            if a.allSatisfy({ $0.intValue != nil }) {
                let list = a.compactMap(\.intValue)
                perAxis = spatial == 1 ? [list] : list.map { [$0, $0] }
            } else {
                perAxis = a.map { ($0.arrayValue ?? []).compactMap(\.intValue) }
            }
        }
        guard perAxis.count == spatial, perAxis.allSatisfy({ $0.count == 2 && $0[0] >= 0 && $0[1] >= 0 }) else { return nil }
        return perAxis
    }

    /// True when the layer's own activation is the identity (no extra node needed).
    private func isLinear(_ config: JSONValue) -> Bool { ["linear", ""].contains(activationName(config)) }

    private func activationName(_ config: JSONValue) -> String {
        if let s = config["activation"]?.stringValue { return s }
        // Keras 3 may serialise an activation as {"class_name": ..., "config": {"name": ...}}.
        return config["activation"]?["config"]?["name"]?.stringValue ?? "linear"
    }

    /// Layers that pass a Keras mask through unchanged, and those that use it.
    private static let maskPassThrough: Set<String> = ["Dense", "Activation", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise",
                                                       "AlphaDropout", "LayerNormalization", "BatchNormalization", "ReLU", "ELU", "LeakyReLU",
                                                       "Softmax", "TimeDistributed", "Masking"]
    private static let maskConsumers: Set<String> = ["LSTM", "GRU", "SimpleRNN", "Bidirectional"]

    private mutating func addLayer(cls: String, name: String, config: JSONValue, inputs ins: [String], outputName out: String) throws -> String {
        let inMask = ins.first.flatMap { masks[$0] }
        let result = try addLayerCore(cls: cls, name: name, config: config, inputs: ins, outputName: out)
        if let inMask, masks[result] == nil, !Self.maskConsumers.contains(cls) {
            guard Self.maskPassThrough.contains(cls) else {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "a masked input (a Masking layer or Embedding(mask_zero=True) upstream)")
            }
            masks[result] = inMask
        }
        return result
    }

    /// A recurrent cell's activation as the `rnn` op names it.
    private func recurrentActivation(_ name: String, layer: String, cls: String) throws -> String {
        if name == "hard_sigmoid" { return keras3 ? "hard_sigmoid" : "hard_sigmoid_tf_keras" }
        guard KerasOps.recurrentActivations.contains(name) else {
            throw KerasGraphError.unsupportedSetting(layer: layer, className: cls, setting: "recurrent activation '\(name)'")
        }
        return name
    }

    /// kernel, recurrent_kernel and bias of a recurrent layer (`part`: Bidirectional's forward / backward).
    private func rnnWeights(_ layer: String, part: String?) throws -> (String, String, String?) {
        switch weights {
        case let .keras2(store):
            let prefix = layer + "/"
            // tf-keras: `bi/bi/forward_lstm/lstm_cell/kernel:0` (the forward / backward layer is a path component).
            let own = store.names.filter { name in
                name.hasPrefix(prefix) && (part.map { p in name.dropFirst(prefix.count).split(separator: "/").contains { $0.hasPrefix(p + "_") } } ?? true)
            }
            func role(_ r: String) -> String? {
                own.first { ($0.split(separator: "/").last.map(String.init) ?? "").split(separator: ":").first.map(String.init) == r }
            }
            guard let k = role("kernel") else { throw KerasGraphError.missingWeight(layer: layer, role: (part.map { $0 + " " } ?? "") + "kernel") }
            guard let rk = role("recurrent_kernel") else { throw KerasGraphError.missingWeight(layer: layer, role: (part.map { $0 + " " } ?? "") + "recurrent_kernel") }
            return (k, rk, role("bias"))
        case let .keras3(store, _):
            guard let group = groups[layer] else { throw KerasGraphError.missingWeight(layer: layer, role: "kernel") }
            let base = "layers/\(group)/" + (part.map { "\($0)_layer/" } ?? "") + "cell/vars/"
            guard store[base + "0"] != nil, store[base + "1"] != nil else {
                throw KerasGraphError.missingWeight(layer: layer, role: (part.map { $0 + " " } ?? "") + "kernel")
            }
            return (base + "0", base + "1", store[base + "2"] != nil ? base + "2" : nil)
        }
    }

    /// A MultiHeadAttention projection's kernel (0) or bias (1): `part` query, key, value or output.
    private func mhaWeight(_ layer: String, _ part: String, _ index: Int) throws -> String {
        let role = index == 0 ? "kernel" : "bias"
        switch weights {
        case let .keras2(store):
            // tf-keras: mha/query/kernel:0 … mha/attention_output/bias:0.
            let component = part == "output" ? "attention_output" : part
            let prefix = layer + "/"
            if let name = store.names.first(where: { name in
                guard name.hasPrefix(prefix) else { return false }
                let parts = name.dropFirst(prefix.count).split(separator: "/").map(String.init)
                return parts.dropLast().contains(component) && parts.last?.split(separator: ":").first.map(String.init) == role
            }) { return name }
        case let .keras3(store, _):
            if let group = groups[layer], store["layers/\(group)/\(part)_dense/vars/\(index)"] != nil {
                return "layers/\(group)/\(part)_dense/vars/\(index)"
            }
        }
        throw KerasGraphError.missingWeight(layer: layer, role: "\(part) \(role)")
    }

    /// One recurrent layer as an `rnn` node.
    private mutating func recurrentNode(_ name: String, layer: String, cls: String, config: JSONValue, x: String, out: String,
                                        part: String?, backwards: Bool, zeroOutputForMask: Bool, align: Bool) throws {
        for setting in ["return_state", "stateful", "time_major"] where config[setting]?.boolValue == true {
            throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: setting)
        }
        guard ranks[x] == nil || ranks[x] == 3 else {
            throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "an input of rank \(ranks[x]!) (expected [batch, time, features])")
        }
        let cell = ["LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple"][cls]!
        let (kernel, recurrent, bias) = try rnnWeights(layer, part: part)
        let useBias = config["use_bias"]?.boolValue ?? true
        let sequences = config["return_sequences"]?.boolValue ?? false
        var attrs: [String: JSONValue] = [
            "cell": .string(cell),
            "activation": .string(try recurrentActivation(activationName(config) == "linear" && config["activation"] == nil ? "tanh" : activationName(config), layer: name, cls: cls)),
            "return_sequences": .bool(sequences),
            "go_backwards": .bool(backwards),
        ]
        if cell != "simple" {
            attrs["recurrent_activation"] = .string(try recurrentActivation(config["recurrent_activation"]?.stringValue ?? "sigmoid", layer: name, cls: cls))
        }
        if cell == "gru" { attrs["reset_after"] = .bool(config["reset_after"]?.boolValue ?? true) }
        if zeroOutputForMask { attrs["zero_output_for_mask"] = true }
        if align { attrs["align_outputs"] = true }
        var inputs = [x, kernel, recurrent, useBias ? (bias ?? "") : ""]
        if let mask = masks[x] { inputs.append(mask) }
        while inputs.last == "" { inputs.removeLast() }
        emit(name + (part.map { "/" + $0 } ?? ""), "rnn", inputs, out, attrs, rank: sequences ? 3 : 2)
    }

    private mutating func addLayerCore(cls: String, name: String, config: JSONValue, inputs ins: [String], outputName out: String) throws -> String {
        let layer = config["name"]?.stringValue ?? name
        guard let x = ins.first else { throw KerasGraphError.badConfig(reason: "layer \(name) has no inputs") }
        let r = ranks[x]
        let dataFormat = config["data_format"]?.stringValue ?? "channels_last"
        func single() throws {
            guard ins.count == 1 else { throw KerasGraphError.badConfig(reason: "layer \(name) (\(cls)) takes one input, got \(ins.count)") }
        }
        switch cls {
        case "Dense":
            try single()
            let kernel = try weight(layer, "kernel", 0)!
            let useBias = config["use_bias"]?.boolValue ?? true
            let bias = useBias ? try weight(layer, "bias", 1) : nil
            let pre = isLinear(config) ? out : out + ":linear"
            emit(name, "linear", [x, kernel] + (bias.map { [$0] } ?? []), pre, ["weight_layout": "in_out"], rank: r)
            return try activation(name, cls: cls, activationName(config), pre, out)

        case "Conv1D", "Conv2D":
            try single()
            let spatial = cls == "Conv1D" ? 1 : 2
            let kernel = try weight(layer, "kernel", 0)!
            let useBias = config["use_bias"]?.boolValue ?? true
            let bias = useBias ? try weight(layer, "bias", 1) : nil
            var padding = config["padding"]?.stringValue ?? "valid"
            var input = x
            let dilations = ints(config["dilation_rate"], count: spatial, default: [Int](repeating: 1, count: spatial))!
            if padding == "causal" {
                guard spatial == 1, dataFormat == "channels_last" else {
                    throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "causal padding with \(dataFormat)")
                }
                let k = shapeOf(kernel).first ?? 1
                let padded = out + ":causal_pad"
                emit(name + "/causal_pad", "pad", [x], padded, ["pads": [0, 0, .int(Int64((k - 1) * dilations[0])), 0, 0, 0]], rank: r)
                input = padded
                padding = "valid"
            }
            let pre = isLinear(config) ? out : out + ":conv"
            let attrs: [String: JSONValue] = [
                "strides": .array((ints(config["strides"], count: spatial, default: [Int](repeating: 1, count: spatial)) ?? []).map { .int(Int64($0)) }),
                "dilations": .array(dilations.map { .int(Int64($0)) }),
                "padding": .string(padding),
                "groups": .int(Int64(config["groups"]?.intValue ?? 1)),
                "data_format": .string(dataFormat),
                "kernel_layout": .string(spatial == 1 ? "WIO" : "HWIO"),
            ]
            emit(name, spatial == 1 ? "conv1d" : "conv2d", [input, kernel] + (bias.map { [$0] } ?? []), pre, attrs, rank: r)
            return try activation(name, cls: cls, activationName(config), pre, out)

        case "DepthwiseConv1D":
            try single()
            guard let dk = weights.find(layer: layer, role: "depthwise_kernel", index: 0) ?? weights.find(layer: layer, role: "kernel", index: 0) else {
                throw KerasGraphError.missingWeight(layer: layer, role: "depthwise_kernel")
            }
            let kshape = shapeOf(dk)
            guard kshape.count == 3 else { throw KerasGraphError.badConfig(reason: "layer \(name): depthwise kernel of shape \(kshape)") }
            guard dataFormat == "channels_last" else { throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "data_format \(dataFormat)") }
            let bias = (config["use_bias"]?.boolValue ?? true) ? try weight(layer, "bias", 1) : nil
            let pre = isLinear(config) ? out : out + ":conv"
            emit(name, "conv1d", [x, dk] + (bias.map { [$0] } ?? []), pre, [
                "strides": .array((ints(config["strides"], count: 1, default: [1]) ?? []).map { .int(Int64($0)) }),
                "dilations": .array((ints(config["dilation_rate"], count: 1, default: [1]) ?? []).map { .int(Int64($0)) }),
                "padding": .string(config["padding"]?.stringValue ?? "valid"), "groups": .int(Int64(kshape[1])),
                "data_format": "channels_last", "kernel_layout": "WIM",
            ], rank: r)
            return try activation(name, cls: cls, activationName(config), pre, out)

        case "Conv1DTranspose", "Conv2DTranspose":
            try single()
            let spatial = cls == "Conv1DTranspose" ? 1 : 2
            guard dataFormat == "channels_last" else { throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "data_format \(dataFormat)") }
            let kernel = try weight(layer, "kernel", 0)!
            let bias = (config["use_bias"]?.boolValue ?? true) ? try weight(layer, "bias", 1) : nil
            let padding = config["padding"]?.stringValue ?? "valid"
            guard ["valid", "same"].contains(padding) else { throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "padding \(padding)") }
            var attrs: [String: JSONValue] = [
                "strides": .array((ints(config["strides"], count: spatial, default: [Int](repeating: 1, count: spatial)) ?? []).map { .int(Int64($0)) }),
                "dilations": .array((ints(config["dilation_rate"], count: spatial, default: [Int](repeating: 1, count: spatial)) ?? []).map { .int(Int64($0)) }),
                "padding": .string(padding),
            ]
            if let op = ints(config["output_padding"], count: spatial) { attrs["output_padding"] = .array(op.map { .int(Int64($0)) }) }
            let pre = isLinear(config) ? out : out + ":conv"
            emit(name, spatial == 1 ? "conv_transpose1d" : "conv_transpose2d", [x, kernel] + (bias.map { [$0] } ?? []), pre, attrs, rank: r)
            return try activation(name, cls: cls, activationName(config), pre, out)

        case "DepthwiseConv2D", "SeparableConv2D":
            try single()
            let separable = cls == "SeparableConv2D"
            guard let dk = weights.find(layer: layer, role: "depthwise_kernel", index: 0)
                ?? (separable ? nil : weights.find(layer: layer, role: "kernel", index: 0)) else {
                throw KerasGraphError.missingWeight(layer: layer, role: "depthwise_kernel")
            }
            let kshape = shapeOf(dk)
            guard kshape.count == 4 else { throw KerasGraphError.badConfig(reason: "layer \(name): depthwise kernel of shape \(kshape)") }
            let useBias = config["use_bias"]?.boolValue ?? true
            let bias = useBias ? try weight(layer, "bias", separable ? 2 : 1) : nil
            let common: [String: JSONValue] = [
                "strides": .array((ints(config["strides"], count: 2, default: [1, 1]) ?? []).map { .int(Int64($0)) }),
                "dilations": .array((ints(config["dilation_rate"], count: 2, default: [1, 1]) ?? []).map { .int(Int64($0)) }),
                "padding": .string(config["padding"]?.stringValue ?? "valid"),
                "groups": .int(Int64(kshape[2])),
                "data_format": .string(dataFormat),
                "kernel_layout": "HWIM",
            ]
            let pre = isLinear(config) ? out : out + ":conv"
            if separable {
                let pk = try weight(layer, "pointwise_kernel", 1)!
                let mid = out + ":depthwise"
                emit(name + "/depthwise", "conv2d", [x, dk], mid, common, rank: r)
                emit(name + "/pointwise", "conv2d", [mid, pk] + (bias.map { [$0] } ?? []), pre,
                     ["strides": [1, 1], "dilations": [1, 1], "padding": "valid", "groups": 1, "data_format": .string(dataFormat), "kernel_layout": "HWIO"], rank: r)
            } else {
                emit(name, "conv2d", [x, dk] + (bias.map { [$0] } ?? []), pre, common, rank: r)
            }
            return try activation(name, cls: cls, activationName(config), pre, out)

        case "BatchNormalization":
            try single()
            let scale = config["scale"]?.boolValue ?? true
            let center = config["center"]?.boolValue ?? true
            var i = 0
            let gamma = scale ? try weight(layer, "gamma", i) : nil
            if scale { i += 1 }
            let beta = center ? try weight(layer, "beta", i) : nil
            if center { i += 1 }
            let mean = try weight(layer, "moving_mean", i)!
            let variance = try weight(layer, "moving_variance", i + 1)!
            let axisValue = config["axis"]?.intValue ?? config["axis"]?.arrayValue?.first?.intValue ?? -1
            if let a = config["axis"]?.arrayValue, a.count != 1 {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "normalising over several axes \(a)")
            }
            emit(name, "batch_norm", [x, gamma ?? "", beta ?? "", mean, variance], out,
                 ["epsilon": .double(config["epsilon"]?.doubleValue ?? 1e-3), "axis": .int(Int64(axisValue))], rank: r)
            return out

        case "LayerNormalization":
            try single()
            if config["rms_scaling"]?.boolValue == true {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "rms_scaling")
            }
            let scale = config["scale"]?.boolValue ?? true
            let center = config["center"]?.boolValue ?? true
            let gamma = scale ? try weight(layer, "gamma", 0) : nil
            let beta = center ? try weight(layer, "beta", scale ? 1 : 0) : nil
            var axes = ints(config["axis"], count: 1, default: [-1])!
            if let rank = r { axes = axes.map { $0 < 0 ? $0 + rank : $0 }.sorted() }
            // layer_norm normalises from `axis` to the end: the axes must be the trailing ones.
            let start: Int
            if axes == [-1] { start = -1 } else {
                guard let rank = r, let first = axes.first, axes == Array(first..<rank) else {
                    throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "axis \(axes) (only trailing axes)")
                }
                start = first - rank
            }
            emit(name, "layer_norm", [x, gamma ?? "", beta ?? ""], out,
                 ["axis": .int(Int64(start)), "epsilon": .double(config["epsilon"]?.doubleValue ?? 1e-3)], rank: r)
            return out

        case "Embedding":
            try single()
            let table = try weight(layer, "embeddings", 0)!
            emit(name, "gather", [table, x], out, ["axis": 0], rank: r.map { $0 + 1 })
            if config["mask_zero"]?.boolValue == true {
                emit(name + "/mask", "not_equal", [x], out + ":mask", ["value": 0], rank: r)
                masks[out] = out + ":mask"
            }
            return out

        case "Activation":
            try single()
            return try activation(name, cls: cls, activationName(config), x, out)

        case "ReLU":
            try single()
            let maxValue = config["max_value"]?.doubleValue
            let slope = config["negative_slope"]?.doubleValue ?? 0
            let threshold = config["threshold"]?.doubleValue ?? 0
            switch (maxValue, slope, threshold) {
            case (nil, 0, 0): emit(name, "relu", [x], out, rank: r)
            case (6?, 0, 0): emit(name, "relu6", [x], out, rank: r)
            default:
                var attrs: [String: JSONValue] = ["function": "relu", "alpha": .double(slope), "beta": .double(threshold)]
                if let maxValue { attrs["max_value"] = .double(maxValue) }
                emit(name, "activation", [x], out, attrs, rank: r)
            }
            return out

        case "ELU":
            try single()
            emit(name, "activation", [x], out, ["function": "elu", "alpha": .double(config["alpha"]?.doubleValue ?? 1)], rank: r)
            return out

        case "LeakyReLU":
            try single()
            // Keras 3 spells the slope negative_slope, tf-keras alpha; both default to 0.3.
            let slope = config["negative_slope"]?.doubleValue ?? config["alpha"]?.doubleValue ?? 0.3
            emit(name, "activation", [x], out, ["function": "leaky_relu", "alpha": .double(slope)], rank: r)
            return out

        case "PReLU":
            try single()
            let alpha = try weight(layer, "alpha", 0)!
            emit(name, "prelu", [x, alpha], out, rank: r)
            return out

        case "Softmax":
            try single()
            let axis = config["axis"]?.intValue ?? config["axis"]?.arrayValue?.first?.intValue ?? -1
            emit(name, "softmax", [x], out, ["axis": .int(Int64(axis))], rank: r)
            return out

        case "Add", "Multiply", "Subtract", "Maximum", "Minimum", "Average":
            guard ins.count >= 2 else { throw KerasGraphError.badConfig(reason: "layer \(name) (\(cls)) needs at least two inputs") }
            if cls == "Subtract", ins.count != 2 { throw KerasGraphError.badConfig(reason: "layer \(name) (Subtract) takes exactly two inputs") }
            let op = ["Add": "add", "Multiply": "mul", "Subtract": "sub", "Maximum": "maximum", "Minimum": "minimum", "Average": "add"][cls]!
            let rank = ins.compactMap { ranks[$0] }.max()
            let sumOut = cls == "Average" ? out + ":sum" : out
            var acc = ins[0]
            for (i, other) in ins.dropFirst().enumerated() {
                let target = i == ins.count - 2 ? sumOut : "\(out):\(op)\(i)"
                emit(ins.count == 2 ? name : "\(name)/\(i)", op, [acc, other], target, rank: rank)
                acc = target
            }
            if cls == "Average" {
                emit(name + "/mean", "scale", [sumOut], out, ["factor": .double(1.0 / Double(ins.count))], rank: rank)
            }
            return out

        case "Dot":
            guard ins.count == 2 else { throw KerasGraphError.badConfig(reason: "layer \(name) (Dot) takes exactly two inputs") }
            if config["normalize"]?.boolValue == true { throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "normalize=true") }
            guard let ra = ranks[ins[0]], let rb = ranks[ins[1]], ra == rb, ra == 2 || ra == 3,
                  let axes = ints(config["axes"], count: 2), axes.count == 2 else {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "axes \(config["axes"] ?? .null) on inputs of rank \(ranks[ins[0]].map(String.init) ?? "?") (only rank 2 or 3)")
            }
            let (aa, ab) = (axes[0] < 0 ? axes[0] + ra : axes[0], axes[1] < 0 ? axes[1] + ra : axes[1])
            if ra == 2 {
                guard aa == 1, ab == 1 else { throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "axes \(axes)") }
                emit(name + "/row", "reshape", [ins[0]], out + ":a", ["shape": [0, 1, -1]], rank: 3)
                emit(name + "/col", "reshape", [ins[1]], out + ":b", ["shape": [0, -1, 1]], rank: 3)
                emit(name, "matmul", [out + ":a", out + ":b"], out + ":ab", rank: 3)
                emit(name + "/squeeze", "reshape", [out + ":ab"], out, ["shape": [0, 1]], rank: 2)
            } else {
                guard (1...2).contains(aa), (1...2).contains(ab) else { throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "axes \(axes)") }
                emit(name, "matmul", [ins[0], ins[1]], out, ["transpose_a": .bool(aa == 1), "transpose_b": .bool(ab == 2)], rank: 3)
            }
            return out

        case "Cropping1D", "Cropping2D":
            try single()
            let spatial = cls == "Cropping1D" ? 1 : 2
            guard let perAxis = pairs(config["cropping"], spatial: spatial) else {
                throw KerasGraphError.badConfig(reason: "layer \(name): cropping \(config["cropping"] ?? .null)")
            }
            let first = spatial == 2 && dataFormat == "channels_first" ? 2 : 1
            var current = x
            for (a, crop) in perAxis.enumerated() {
                let target = a == spatial - 1 ? out : "\(out):crop\(a)"
                emit(spatial == 1 ? name : "\(name)/\(a)", "slice", [current], target,
                     ["axis": .int(Int64(first + a)), "start": .int(Int64(crop[0])), "end": crop[1] == 0 ? .int(Int64(Int.max)) : .int(Int64(-crop[1]))], rank: r)
                current = target
            }
            return out

        case "UpSampling1D", "UpSampling2D":
            try single()
            let spatial = cls == "UpSampling1D" ? 1 : 2
            if spatial == 2, let interp = config["interpolation"]?.stringValue, interp != "nearest" {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "interpolation \(interp)")
            }
            guard let size = ints(config["size"], count: spatial, default: [Int](repeating: 2, count: spatial)), size.count == spatial else {
                throw KerasGraphError.badConfig(reason: "layer \(name): size \(config["size"] ?? .null)")
            }
            let first = spatial == 2 && dataFormat == "channels_first" ? 2 : 1
            var current = x
            for (a, n) in size.enumerated() {
                let target = a == spatial - 1 ? out : "\(out):up\(a)"
                emit(spatial == 1 ? name : "\(name)/\(a)", "repeat", [current], target, ["axis": .int(Int64(first + a)), "repeats": .int(Int64(n))], rank: r)
                current = target
            }
            return out

        case "Concatenate":
            guard ins.count >= 1 else { throw KerasGraphError.badConfig(reason: "layer \(name): no inputs") }
            emit(name, "concat", ins, out, ["axis": .int(Int64(config["axis"]?.intValue ?? -1))], rank: r)
            return out

        case "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D":
            try single()
            let spatial = cls.hasSuffix("1D") ? 1 : 2
            let pool = ints(config["pool_size"], count: spatial, default: [Int](repeating: 2, count: spatial))!
            let strides = ints(config["strides"], count: spatial, default: pool) ?? pool
            emit(name, cls.hasPrefix("Max") ? "max_pool" : "avg_pool", [x], out,
                 ["kernel": .array(pool.map { .int(Int64($0)) }), "strides": .array(strides.map { .int(Int64($0)) }),
                  "padding": .string(config["padding"]?.stringValue ?? "valid"), "data_format": .string(dataFormat)], rank: r)
            return out

        case "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
             "GlobalAvgPool1D", "GlobalAvgPool2D":
            try single()
            let keep = config["keepdims"]?.boolValue ?? false
            let op = cls.contains("Max") ? "global_max_pool" : "global_avg_pool"
            emit(name, op, [x], out, ["data_format": .string(dataFormat), "keepdims": .bool(keep)], rank: keep ? r : 2)
            return out

        case "Flatten":
            try single()
            var input = x
            if dataFormat == "channels_first", let rank = r, rank > 2 {
                // Keras moves channels last before flattening.
                let perm = [0] + Array(2..<rank) + [1]
                input = out + ":channels_last"
                emit(name + "/to_channels_last", "transpose", [x], input, ["perm": .array(perm.map { .int(Int64($0)) })], rank: rank)
            } else if dataFormat == "channels_first", r == nil {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "channels_first on an input of unknown rank")
            }
            emit(name, "flatten", [input], out, ["axis": 1], rank: 2)
            return out

        case "Reshape":
            try single()
            guard let target = ints(config["target_shape"], count: 1) else {
                throw KerasGraphError.badConfig(reason: "layer \(name): Reshape without target_shape")
            }
            emit(name, "reshape", [x], out, ["shape": .array(([0] + target).map { .int(Int64($0)) })], rank: target.count + 1)
            return out

        case "Permute":
            try single()
            guard let dims = ints(config["dims"], count: 1) else { throw KerasGraphError.badConfig(reason: "layer \(name): Permute without dims") }
            emit(name, "transpose", [x], out, ["perm": .array(([0] + dims).map { .int(Int64($0)) })], rank: dims.count + 1)
            return out

        case "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout":
            try single()
            emit(name, "identity", [x], out, rank: r)
            return out

        case "ZeroPadding1D", "ZeroPadding2D":
            try single()
            let spatial = cls == "ZeroPadding1D" ? 1 : 2
            var perAxis: [[Int]] = []
            let p = config["padding"]
            if let i = p?.intValue {
                perAxis = [[Int]](repeating: [i, i], count: spatial)
            } else if let a = p?.arrayValue {
                if a.allSatisfy({ $0.intValue != nil }) {
                    let v = a.compactMap(\.intValue)
                    perAxis = spatial == 1 ? [v] : v.map { [$0, $0] }
                } else {
                    perAxis = a.map { ($0.arrayValue ?? []).compactMap(\.intValue) }
                }
            }
            guard perAxis.count == spatial, perAxis.allSatisfy({ $0.count == 2 }) else {
                throw KerasGraphError.badConfig(reason: "layer \(name): padding \(p ?? .null)")
            }
            var pads: [Int] = [0, 0]  // batch
            let fmt = spatial == 1 ? "channels_last" : dataFormat
            if fmt == "channels_first" { pads += [0, 0] }
            for a in perAxis { pads += a }
            if fmt == "channels_last" { pads += [0, 0] }
            emit(name, "pad", [x], out, ["pads": .array(pads.map { .int(Int64($0)) }), "value": 0.0], rank: spatial + 2)
            return out

        case "LSTM", "GRU", "SimpleRNN":
            try single()
            let sequences = config["return_sequences"]?.boolValue ?? false
            try recurrentNode(name, layer: layer, cls: cls, config: config, x: x, out: out, part: nil,
                              backwards: config["go_backwards"]?.boolValue ?? false, zeroOutputForMask: false, align: false)
            if sequences, let m = masks[x] { masks[out] = m }
            return out

        case "Bidirectional":
            try single()
            guard let inner = config["layer"], let innerCls = inner["class_name"]?.stringValue, let innerCfg = inner["config"],
                  ["LSTM", "GRU", "SimpleRNN"].contains(innerCls) else {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "wrapping \(config["layer"]?["class_name"]?.stringValue ?? "?") (only LSTM, GRU, SimpleRNN)")
            }
            let backwardCfg = config["backward_layer"]?["config"] ?? innerCfg
            let sequences = innerCfg["return_sequences"]?.boolValue ?? false
            let mode = config["merge_mode"]?.stringValue
            guard let mode, ["concat", "sum", "mul", "ave"].contains(mode) else {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "merge_mode \(config["merge_mode"] ?? .null)")
            }
            let masked = masks[x] != nil
            let forwardGoesBack = innerCfg["go_backwards"]?.boolValue ?? false
            try recurrentNode(name, layer: layer, cls: innerCls, config: innerCfg, x: x, out: out + ":forward", part: "forward",
                              backwards: forwardGoesBack, zeroOutputForMask: masked && sequences, align: false)
            try recurrentNode(name, layer: layer, cls: innerCls, config: backwardCfg, x: x, out: out + ":backward", part: "backward",
                              backwards: config["backward_layer"] != nil ? (backwardCfg["go_backwards"]?.boolValue ?? true) : !forwardGoesBack,
                              zeroOutputForMask: masked && sequences, align: true)
            let rank = sequences ? 3 : 2
            switch mode {
            case "concat": emit(name + "/concat", "concat", [out + ":forward", out + ":backward"], out, ["axis": -1], rank: rank)
            case "sum": emit(name + "/sum", "add", [out + ":forward", out + ":backward"], out, rank: rank)
            case "mul": emit(name + "/mul", "mul", [out + ":forward", out + ":backward"], out, rank: rank)
            default:
                emit(name + "/sum", "add", [out + ":forward", out + ":backward"], out + ":sum", rank: rank)
                emit(name + "/ave", "scale", [out + ":sum"], out, ["factor": 0.5], rank: rank)
            }
            if sequences, let m = masks[x] { masks[out] = m }
            return out

        case "TimeDistributed":
            try single()
            guard let inner = config["layer"], let innerCls = inner["class_name"]?.stringValue, case var .object(innerCfg)? = inner["config"],
                  ["Dense", "Activation", "Dropout", "ReLU", "ELU", "LeakyReLU", "Softmax"].contains(innerCls) else {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "wrapping \(config["layer"]?["class_name"]?.stringValue ?? "?") (only layers that act on the last axis)")
            }
            // Those layers act on the last axis, so over time they are the layer itself; its weights are the wrapper's.
            innerCfg["name"] = .string(layer)
            subPath[layer] = "/layer"
            return try addLayerCore(cls: innerCls, name: name, config: .object(innerCfg), inputs: ins, outputName: out)

        case "MultiHeadAttention":
            guard (1...3).contains(ins.count) else { throw KerasGraphError.badConfig(reason: "layer \(name) (MultiHeadAttention) takes query, value and key") }
            // Keras records the default for [batch, time, features] inputs as [1].
            if let axes = config["attention_axes"], !axes.isNull, ints(axes, count: 1) != [1], ints(axes, count: 1) != [-2] {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "attention_axes \(axes)")
            }
            if let shape = config["output_shape"], !shape.isNull {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "output_shape \(shape)")
            }
            guard let heads = config["num_heads"]?.intValue, let keyDim = config["key_dim"]?.intValue, heads >= 1, keyDim >= 1 else {
                throw KerasGraphError.badConfig(reason: "layer \(name): MultiHeadAttention without num_heads / key_dim")
            }
            let valueDim = config["value_dim"]?.intValue ?? keyDim
            let useBias = config["use_bias"]?.boolValue ?? true
            let query = ins[0], value = ins.count > 1 ? ins[1] : ins[0], key = ins.count > 2 ? ins[2] : value
            for v in [query, value, key] where ranks[v] != nil && ranks[v] != 3 {
                throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "inputs of rank \(ranks[v]!) (only [batch, time, features])")
            }
            // Projections: kernel [d, heads, dim] as [d, heads·dim], bias [heads, dim] as [heads·dim].
            func project(_ part: String, _ x: String, dim: Int) throws -> String {
                let kernel = try mhaWeight(layer, part, 0)
                let flatK = "\(out):\(part)_kernel", projected = "\(out):\(part)"
                emit("\(name)/\(part)_kernel", "reshape", [kernel], flatK, ["shape": [-1, .int(Int64(heads * dim))]], rank: 2)
                var inputs = [x, flatK]
                if useBias {
                    let bias = try mhaWeight(layer, part, 1)
                    emit("\(name)/\(part)_bias", "reshape", [bias], "\(out):\(part)_bias", ["shape": [.int(Int64(heads * dim))]], rank: 1)
                    inputs.append("\(out):\(part)_bias")
                }
                emit("\(name)/\(part)", "linear", inputs, projected + ":flat", ["weight_layout": "in_out"], rank: 3)
                emit("\(name)/\(part)_heads", "reshape", [projected + ":flat"], projected + ":split", ["shape": [0, 0, .int(Int64(heads)), .int(Int64(dim))]], rank: 4)
                emit("\(name)/\(part)_transpose", "transpose", [projected + ":split"], projected, ["perm": [0, 2, 1, 3]], rank: 4)
                return projected
            }
            let q = try project("query", query, dim: keyDim)
            let k = try project("key", key, dim: keyDim)
            let v = try project("value", value, dim: valueDim)
            emit(name + "/scale", "scale", [q], out + ":query_scaled", ["factor": .double(1 / Double(keyDim).squareRoot())], rank: 4)
            emit(name + "/scores", "matmul", [out + ":query_scaled", k], out + ":scores", ["transpose_b": true], rank: 4)
            emit(name + "/softmax", "softmax", [out + ":scores"], out + ":attention", ["axis": -1], rank: 4)
            emit(name + "/context", "matmul", [out + ":attention", v], out + ":context", rank: 4)
            emit(name + "/merge_transpose", "transpose", [out + ":context"], out + ":context_t", ["perm": [0, 2, 1, 3]], rank: 4)
            emit(name + "/merge_heads", "reshape", [out + ":context_t"], out + ":merged", ["shape": [0, 0, .int(Int64(heads * valueDim))]], rank: 3)
            let ok = try mhaWeight(layer, "output", 0)
            emit(name + "/output_kernel", "reshape", [ok], out + ":output_kernel", ["shape": [.int(Int64(heads * valueDim)), -1]], rank: 2)
            emit(name + "/output", "linear", [out + ":merged", out + ":output_kernel"] + (useBias ? [try mhaWeight(layer, "output", 1)] : []), out,
                 ["weight_layout": "in_out"], rank: 3)
            return out

        case "Masking":
            try single()
            nodes.append(GraphNode(name: name, op: "masking", inputs: [x], outputs: [out, out + ":mask"],
                                   attributes: ["mask_value": .double(config["mask_value"]?.doubleValue ?? 0)]))
            ranks[out] = r
            ranks[out + ":mask"] = 2
            masks[out] = out + ":mask"
            return out

        case "Functional", "Sequential", "Model":
            throw KerasGraphError.unsupportedSetting(layer: name, className: cls, setting: "a nested model used as a layer")

        default:
            throw KerasGraphError.unsupportedLayer(layer: name, className: cls)
        }
    }
}
