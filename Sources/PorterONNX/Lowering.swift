import Foundation
import PorterCore
import PorterOps

/// One ONNX node to write.
struct ONNXNodeOut {
    enum Attribute {
        case int(String, Int64)
        case ints(String, [Int64])
        case float(String, Float)
        case string(String, String)
        /// A tensor attribute (ConstantOfShape's and Constant's `value`).
        case tensor(String, dataType: Int, dims: [Int64], raw: [UInt8])
    }
    var name: String
    var op: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [Attribute] = []
}

/// Unique ONNX names for Porter's value and weight names. A name ONNX can carry (not empty,
/// no control characters) is kept as it is, dots and slashes included, as `torch.onnx.export`
/// keeps `bert.encoder.layer.0.attention.self.query.weight` and `onnx::MatMul_136`: weights
/// read back under their own names, so the verifier pairs them with their sources. IR.md
/// asks for C90 identifiers, but neither onnx.checker nor ONNX Runtime holds files to it
/// (docs/formats/onnx.md, *Names*). Names the lowering makes up are C identifiers
/// (`layer_MatMul_12`), distinct from every kept name.
final class ONNXNamer {
    private var byOriginal: [String: String] = [:]
    private var taken: Set<String> = []
    private var counter = 0

    /// True when ONNX can carry `name` as it is.
    static func keepable(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }

    /// Claims `names` first, so no made-up name can take one of them.
    func reserve<S: Sequence>(_ names: S) where S.Element == String {
        for n in names where Self.keepable(n) && byOriginal[n] == nil && !taken.contains(n) {
            taken.insert(n)
            byOriginal[n] = n
        }
    }

    func name(_ original: String) -> String {
        if let n = byOriginal[original] { return n }
        if Self.keepable(original), !original.contains("#"), !taken.contains(original) {
            taken.insert(original)
            byOriginal[original] = original
            return original
        }
        return identifier(original)
    }

    /// A C identifier for `original`, unique among the names given out.
    private func identifier(_ original: String) -> String {
        var s = String(original.unicodeScalars.map { c -> Character in
            (c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "_")) ? Character(c) : "_"
        })
        if s.isEmpty || s.first!.isNumber { s = "_" + s }
        var candidate = s, k = 1
        while taken.contains(candidate) { k += 1; candidate = "\(s)_\(k)" }
        taken.insert(candidate)
        byOriginal[original] = candidate
        return candidate
    }

    /// A fresh name for a value the lowering introduces.
    func fresh(_ base: String) -> String {
        counter += 1
        return identifier("\(base)#\(counter)")
    }
}

/// Rewrites a neutral graph as ONNX nodes (opset 17 semantics), in the graph's own order, so
/// the nodes stay topologically sorted. Constants it needs (reshape targets, scalars) are
/// small in-memory initializers.
struct ONNXLowering {
    let graph: Graph
    let types: [String: ValueType]
    let namer = ONNXNamer()
    var nodes: [ONNXNodeOut] = []
    /// (name, ONNX data type, dims, little-endian bytes)
    var constants: [(name: String, dataType: Int, dims: [Int64], bytes: [UInt8])] = []

    static let supportedOps: Set<String> = [
        "add", "sub", "mul", "div", "relu", "sigmoid", "tanh", "erf", "exp", "sqrt", "rsqrt", "neg", "identity", "silu", "gelu",
        "scale", "softmax", "layer_norm", "linear", "matmul", "reshape", "transpose", "gather", "concat", "flatten", "squeeze",
        "unsqueeze", "cast", "position_ids", "attention_mask", "conv1d", "conv2d", "max_pool", "avg_pool", "global_avg_pool",
        "global_max_pool", "slice", "batch_norm", "pad",
        "equal", "less", "greater", "less_equal", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
        "not_equal", "where", "cumsum", "fill", "trilu", "reciprocal",
    ]

    /// Ops (or op forms) of `graph` the lowering cannot write, sorted.
    static func unsupported(_ graph: Graph) -> [String] {
        var out = Set<String>()
        for n in graph.nodes {
            if !supportedOps.contains(n.op) { out.insert(n.op); continue }

        }
        return out.sorted()
    }

    /// `keep`: names to claim before any made-up one (the graph's values and the model's weights).
    init(graph: Graph, types: [String: ValueType], keep: [String] = []) {
        self.graph = graph
        self.types = types
        namer.reserve(graph.inputs.map(\.name) + graph.outputs.map(\.name) + keep + graph.nodes.flatMap { $0.inputs + $0.outputs })
    }

    func rank(_ value: String) -> Int? { types[value]?.shape?.count }

    /// A small constant the lowering needs (a reshape target, a scalar): a `Constant` node, so
    /// it is part of the graph and not mistaken for a weight when the file is read back.
    mutating func constant(_ base: String, dataType: Int, dims: [Int64], bytes: [UInt8]) -> String {
        let name = namer.fresh(base)
        constants.append((name, dataType, dims, bytes))
        nodes.append(ONNXNodeOut(name: namer.fresh(base + "/Constant"), op: "Constant", inputs: [], outputs: [name],
                                 attributes: [.tensor("value", dataType: dataType, dims: dims, raw: bytes)]))
        return name
    }

    mutating func ints(_ base: String, _ values: [Int], scalar: Bool = false) -> String {
        let v = values.map { Int64($0) }
        return constant(base, dataType: ONNXDataType.int64, dims: scalar ? [] : [Int64(v.count)], bytes: v.withUnsafeBytes { Array($0) })
    }

    mutating func float(_ base: String, _ value: Float) -> String {
        var v = value
        return constant(base, dataType: ONNXDataType.float, dims: [], bytes: withUnsafeBytes(of: &v) { Array($0) })
    }

    mutating func node(_ base: String, _ op: String, _ inputs: [String], _ outputs: [String]? = nil, _ attributes: [ONNXNodeOut.Attribute] = []) -> String {
        let outs = outputs ?? [namer.fresh(base + "_" + op)]
        nodes.append(ONNXNodeOut(name: namer.fresh(base + "/" + op), op: op, inputs: inputs, outputs: outs, attributes: attributes))
        return outs[0]
    }

    static let simple: [String: String] = ["add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "relu": "Relu", "sigmoid": "Sigmoid",
                                           "tanh": "Tanh", "erf": "Erf", "exp": "Exp", "sqrt": "Sqrt", "neg": "Neg", "identity": "Identity"]

    /// Channels last → first (`[0, r−1, 1, …]`) and back, for `spatial` spatial axes.
    static func toFirst(_ spatial: Int) -> [Int64] { ([0, spatial + 1] + (1...max(spatial, 1)).map { $0 }).prefix(spatial + 2).map { Int64($0) } }
    static func toLast(_ spatial: Int) -> [Int64] { ([0] + (2..<(spatial + 2)).map { $0 } + [1]).map { Int64($0) } }

    mutating func lower() throws {
        for n in graph.nodes { try lower(n) }
    }

    func intList(_ v: JSONValue?) -> [Int]? {
        guard let v else { return nil }
        if let i = v.intValue { return [i] }
        return v.arrayValue?.compactMap(\.intValue)
    }

    mutating func lower(_ n: GraphNode) throws {
        let x = n.inputs.map { $0.isEmpty ? "" : namer.name($0) }
        let out = n.outputs.map { namer.name($0) }
        let base = n.name
        let a = n.attributes
        if let op = Self.simple[n.op] { _ = node(base, op, x, out); return }
        switch n.op {
        case "rsqrt":
            _ = node(base, "Reciprocal", [node(base, "Sqrt", [x[0]])], out)
        case "silu":
            _ = node(base, "Mul", [x[0], node(base, "Sigmoid", [x[0]])], out)
        case "scale":
            _ = node(base, "Mul", [x[0], float(base + "_factor", Float(a["factor"]?.doubleValue ?? 1))], out)
        case "gelu":
            if a["approximate"]?.stringValue == "tanh" {
                // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
                let cube = node(base, "Mul", [node(base, "Mul", [x[0], x[0]]), x[0]])
                let inner = node(base, "Add", [x[0], node(base, "Mul", [cube, float(base + "_c", 0.044715)])])
                let t = node(base, "Tanh", [node(base, "Mul", [inner, float(base + "_k", Float((2.0 / Double.pi).squareRoot()))])])
                let onePlus = node(base, "Add", [t, float(base + "_one", 1)])
                _ = node(base, "Mul", [node(base, "Mul", [x[0], float(base + "_half", 0.5)]), onePlus], out)
            } else {
                // 0.5 · x · (1 + erf(x / √2))
                let e = node(base, "Erf", [node(base, "Div", [x[0], float(base + "_sqrt2", Float(2.0.squareRoot()))])])
                let onePlus = node(base, "Add", [e, float(base + "_one", 1)])
                _ = node(base, "Mul", [node(base, "Mul", [x[0], float(base + "_half", 0.5)]), onePlus], out)
            }
        case "softmax":
            _ = node(base, "Softmax", [x[0]], out, [.int("axis", Int64(a["axis"]?.intValue ?? -1))])
        case "layer_norm":
            guard x.count > 1, !x[1].isEmpty else { throw ONNXWriteError.unsupportedOps(ops: ["layer_norm without gamma"]) }
            _ = node(base, "LayerNormalization", Array(x.prefix(3)).filter { !$0.isEmpty }, out,
                     [.int("axis", Int64(a["axis"]?.intValue ?? -1)), .float("epsilon", Float(a["epsilon"]?.doubleValue ?? 1e-5))])
        case "linear":
            let outIn = a["weight_layout"]?.stringValue != "in_out"
            let w = outIn ? node(base, "Transpose", [x[1]], nil, [.ints("perm", [1, 0])]) : x[1]
            if x.count > 2, !x[2].isEmpty {
                _ = node(base, "Add", [node(base, "MatMul", [x[0], w]), x[2]], out)
            } else {
                _ = node(base, "MatMul", [x[0], w], out)
            }
        case "matmul":
            func swapped(_ v: String, _ original: String) throws -> String {
                guard let r = rank(original), r >= 2 else { throw ONNXWriteError.unsupportedOps(ops: ["matmul with a transposed operand of unknown rank"]) }
                var perm = (0..<r).map { Int64($0) }
                perm.swapAt(r - 1, r - 2)
                return node(base, "Transpose", [v], nil, [.ints("perm", perm)])
            }
            let lhs = a["transpose_a"]?.boolValue == true ? try swapped(x[0], n.inputs[0]) : x[0]
            let rhs = a["transpose_b"]?.boolValue == true ? try swapped(x[1], n.inputs[1]) : x[1]
            _ = node(base, "MatMul", [lhs, rhs], out)
        case "reshape":
            _ = node(base, "Reshape", [x[0], ints(base + "_shape", intList(a["shape"]) ?? [])], out)
        case "transpose":
            _ = node(base, "Transpose", [x[0]], out, intList(a["perm"]).map { [.ints("perm", $0.map { Int64($0) })] } ?? [])
        case "gather":
            _ = node(base, "Gather", [x[0], x[1]], out, [.int("axis", Int64(a["axis"]?.intValue ?? 0))])
        case "concat":
            _ = node(base, "Concat", x, out, [.int("axis", Int64(a["axis"]?.intValue ?? 0))])
        case "flatten":
            _ = node(base, "Flatten", [x[0]], out, [.int("axis", Int64(a["axis"]?.intValue ?? 1))])
        case "squeeze":
            if let axes = intList(a["axes"]) { _ = node(base, "Squeeze", [x[0], ints(base + "_axes", axes)], out) } else { _ = node(base, "Squeeze", [x[0]], out) }
        case "unsqueeze":
            _ = node(base, "Unsqueeze", [x[0], ints(base + "_axes", intList(a["axes"]) ?? [])], out)
        case "cast":
            _ = node(base, "Cast", [x[0]], out, [.int("to", Int64(a["dtype"]?.stringValue == "i64" ? ONNXDataType.int64 : ONNXDataType.float))])
        case "position_ids":
            let one64 = [Int64(1)].withUnsafeBytes { Array($0) }
            if let pad = a["padding_idx"]?.intValue {
                // cumsum(ids ≠ pad) · (ids ≠ pad) + pad
                let keep = node(base, "Cast", [node(base, "Not", [node(base, "Equal", [x[0], ints(base + "_pad", [pad], scalar: true)])])], nil,
                                [.int("to", Int64(ONNXDataType.int64))])
                let sum = node(base, "CumSum", [keep, ints(base + "_axis", [1], scalar: true)])
                _ = node(base, "Add", [node(base, "Mul", [sum, keep]), ints(base + "_padv", [pad], scalar: true)], out)
            } else {
                // offset + [0, 1, …, seq-1] per row: cumsum of ones along the sequence, minus one.
                let ones = node(base, "ConstantOfShape", [node(base, "Shape", [x[0]])], nil, [.tensor("value", dataType: ONNXDataType.int64, dims: [1], raw: one64)])
                let sum = node(base, "CumSum", [ones, ints(base + "_axis", [1], scalar: true)])
                _ = node(base, "Add", [sum, ints(base + "_offset", [(a["offset"]?.intValue ?? 0) - 1], scalar: true)], out)
            }
        case "attention_mask":
            // 0 where attended, float32 lowest where masked: [batch, 1, 1, seq]; causal
            // [batch, 1, seq, seq], also masked above the diagonal.
            let isFloat = types[n.inputs[0]]?.dtype == .f32
            let zero = isFloat ? float(base + "_zero", 0) : ints(base + "_zero", [0], scalar: true)
            let keep = node(base, "Unsqueeze", [node(base, "Not", [node(base, "Equal", [x[0], zero])]), ints(base + "_axes", [1, 2])])
            var allowed = keep
            if a["causal"]?.boolValue == true {
                let seq = node(base, "Gather", [node(base, "Shape", [x[0]]), ints(base + "_one", [1])], nil, [.int("axis", 0)])
                let square = node(base, "Concat", [seq, seq], nil, [.int("axis", 0)])
                let one32 = [Float(1)].withUnsafeBytes { Array($0) }
                let ones = node(base, "ConstantOfShape", [square], nil, [.tensor("value", dataType: ONNXDataType.float, dims: [1], raw: one32)])
                let lower = node(base, "Cast", [node(base, "Trilu", [ones], nil, [.int("upper", 0)])], nil, [.int("to", Int64(ONNXDataType.bool))])
                allowed = node(base, "And", [keep, lower])
            }
            _ = node(base, "Where", [allowed, float(base + "_attend", 0), float(base + "_lowest", -Float.greatestFiniteMagnitude)], out)
        case "slice":
            let axis = a["axis"]?.intValue ?? 0
            let end = a["end"]?.intValue ?? Int.max
            _ = node(base, "Slice", [x[0], ints(base + "_starts", [a["start"]?.intValue ?? 0]), ints(base + "_ends", [end]),
                                     ints(base + "_axes", [axis]), ints(base + "_steps", [a["step"]?.intValue ?? 1])], out)
        case "conv1d", "conv2d":
            let spatial = n.op == "conv2d" ? 2 : 1
            let layout = a["kernel_layout"]?.stringValue ?? (spatial == 2 ? "OIHW" : "OIW")
            let keras = layout.hasPrefix("H") || layout.hasPrefix("W")
            let channelsLast = (a["data_format"]?.stringValue ?? (keras ? "channels_last" : "channels_first")) == "channels_last"
            var groups = a["groups"]?.intValue ?? 1
            var kernel = x[1]
            let toFirst = [0, spatial + 1] + (1...spatial).map { $0 }
            if layout.hasSuffix("IO") {
                // HWIO / WIO → OIHW / OIW
                kernel = node(base, "Transpose", [x[1]], nil, [.ints("perm", ([spatial + 1, spatial] + (0..<spatial).map { $0 }).map { Int64($0) })])
            } else if layout.hasSuffix("IM") {
                // Depthwise HWIM / WIM ([…, C, M]) → [C·M, 1, …], one group per input channel.
                guard let ks = types[n.inputs[1]]?.shape, ks.count == spatial + 2, ks.allSatisfy({ $0 > 0 }) else {
                    throw ONNXWriteError.unsupportedOps(ops: ["\(n.op) (depthwise kernel of unknown shape)"])
                }
                let (c, m) = (ks[spatial], ks[spatial + 1])
                if a["groups"] == nil { groups = c }
                let flat = node(base, "Reshape", [x[1], ints(base + "_dw", Array(ks[..<spatial]) + [1, c * m])])
                kernel = node(base, "Transpose", [flat], nil, [.ints("perm", ([spatial + 1, spatial] + (0..<spatial).map { $0 }).map { Int64($0) })])
            }
            var attrs: [ONNXNodeOut.Attribute] = [.int("group", Int64(groups))]
            if let s = intList(a["strides"]) { attrs.append(.ints("strides", (s.count == 1 ? Array(repeating: s[0], count: spatial) : s).map { Int64($0) })) }
            if let d = intList(a["dilations"]) { attrs.append(.ints("dilations", (d.count == 1 ? Array(repeating: d[0], count: spatial) : d).map { Int64($0) })) }
            switch a["padding"] {
            case .some(.string("same")): attrs.append(.string("auto_pad", "SAME_UPPER"))
            case .some(.string("valid")), nil: break
            case let p:
                let list = intList(p) ?? []
                let pairs: [(Int, Int)] = list.count == 1 ? Array(repeating: (list[0], list[0]), count: spatial)
                    : list.count == spatial ? list.map { ($0, $0) } : (0..<spatial).map { (list[2 * $0], list[2 * $0 + 1]) }
                attrs.append(.ints("pads", (pairs.map { Int64($0.0) } + pairs.map { Int64($0.1) })))
            }
            var inputs = [channelsLast ? node(base, "Transpose", [x[0]], nil, [.ints("perm", toFirst.map { Int64($0) })]) : x[0], kernel]
            if x.count > 2, !x[2].isEmpty { inputs.append(x[2]) }
            if channelsLast {
                let y = node(base, "Conv", inputs, nil, attrs)
                _ = node(base, "Transpose", [y], out, [.ints("perm", Self.toLast(spatial))])
            } else {
                _ = node(base, "Conv", inputs, out, attrs)
            }
        case "max_pool", "avg_pool":
            let kernel = intList(a["kernel"]) ?? []
            let spatial = kernel.count
            let strides = intList(a["strides"]) ?? kernel
            var attrs: [ONNXNodeOut.Attribute] = [.ints("kernel_shape", kernel.map { Int64($0) }),
                                                  .ints("strides", (strides.count == 1 ? Array(repeating: strides[0], count: spatial) : strides).map { Int64($0) })]
            // Keras / TensorFlow "same": pad after first, average over the real elements only
            // (ONNX's count_include_pad 0).
            if a["padding"]?.stringValue == "same" { attrs.append(.string("auto_pad", "SAME_UPPER")) }
            let op = n.op == "max_pool" ? "MaxPool" : "AveragePool"
            if a["data_format"]?.stringValue == "channels_first" {
                _ = node(base, op, [x[0]], out, attrs)
            } else {
                let first = node(base, "Transpose", [x[0]], nil, [.ints("perm", Self.toFirst(spatial))])
                _ = node(base, "Transpose", [node(base, op, [first], nil, attrs)], out, [.ints("perm", Self.toLast(spatial))])
            }
        case "global_avg_pool", "global_max_pool":
            let op = n.op == "global_avg_pool" ? "GlobalAveragePool" : "GlobalMaxPool"
            let channelsFirst = a["data_format"]?.stringValue == "channels_first"
            guard let r = rank(n.inputs[0]), r >= 3 else { throw ONNXWriteError.unsupportedOps(ops: ["\(n.op) of unknown rank"]) }
            let input = channelsFirst ? x[0] : node(base, "Transpose", [x[0]], nil, [.ints("perm", Self.toFirst(r - 2))])
            if a["keepdims"]?.boolValue == true {
                if channelsFirst {
                    _ = node(base, op, [input], out)
                } else {
                    _ = node(base, "Transpose", [node(base, op, [input])], out, [.ints("perm", Self.toLast(r - 2))])
                }
            } else {
                _ = node(base, "Flatten", [node(base, op, [input])], out, [.int("axis", 1)])
            }
        case "batch_norm":
            // (x − mean) / √(variance + ε) · γ + β over the last axis (parameters broadcast).
            let axis = a["axis"]?.intValue ?? -1
            guard axis == -1 || axis == (rank(n.inputs[0]) ?? 0) - 1 else { throw ONNXWriteError.unsupportedOps(ops: ["batch_norm (axis \(axis), not the last)"]) }
            let eps = float(base + "_epsilon", Float(a["epsilon"]?.doubleValue ?? 1e-5))
            let centred = node(base, "Sub", [x[0], x[3]])
            var y = node(base, "Div", [centred, node(base, "Sqrt", [node(base, "Add", [x[4], eps])])])
            if !x[1].isEmpty { y = node(base, "Mul", [y, x[1]]) }
            if !x[2].isEmpty { y = node(base, "Add", [y, x[2]]) }
            _ = node(base, "Identity", [y], out)
        case "pad":
            let flat = intList(a["pads"]) ?? []
            let begins = stride(from: 0, to: flat.count, by: 2).map { flat[$0] }
            let ends = stride(from: 1, to: flat.count, by: 2).map { flat[$0] }
            let mode = a["mode"]?.stringValue ?? "constant"
            _ = node(base, "Pad", [x[0], ints(base + "_pads", begins + ends)] + (mode == "constant" ? [float(base + "_value", Float(a["value"]?.doubleValue ?? 0))] : []), out,
                     [.string("mode", mode)])
        case "equal", "less", "greater", "less_equal", "greater_equal":
            // Porter's truth values are int64 0 / 1; ONNX's are BOOL.
            let op = ["equal": "Equal", "less": "Less", "greater": "Greater", "less_equal": "LessOrEqual", "greater_equal": "GreaterOrEqual"][n.op]!
            _ = node(base, "Cast", [node(base, op, [x[0], x[1]])], out, [.int("to", Int64(ONNXDataType.int64))])
        case "logical_and", "logical_or", "logical_xor":
            let op = ["logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"][n.op]!
            _ = node(base, "Cast", [node(base, op, [bool(base, x[0]), bool(base, x[1])])], out, [.int("to", Int64(ONNXDataType.int64))])
        case "logical_not":
            _ = node(base, "Cast", [node(base, "Not", [bool(base, x[0])])], out, [.int("to", Int64(ONNXDataType.int64))])
        case "not_equal":
            let v = a["value"]?.doubleValue ?? 0
            let isFloat = types[n.inputs[0]]?.dtype == .f32
            guard isFloat || (v.isFinite && abs(v) < 0x1p62) else { throw ONNXWriteError.unsupportedOps(ops: ["not_equal (value \(v) on integers)"]) }
            let value = isFloat ? float(base + "_value", Float(v)) : ints(base + "_value", [Int(v)], scalar: true)
            _ = node(base, "Cast", [node(base, "Not", [node(base, "Equal", [x[0], value])])], out, [.int("to", Int64(ONNXDataType.int64))])
        case "where":
            _ = node(base, "Where", [bool(base, x[0]), x[1], x[2]], out)
        case "cumsum":
            _ = node(base, "CumSum", [x[0], ints(base + "_axis", [a["axis"]?.intValue ?? 0], scalar: true)], out,
                     [.int("exclusive", a["exclusive"]?.boolValue == true ? 1 : 0), .int("reverse", a["reverse"]?.boolValue == true ? 1 : 0)])
        case "reciprocal":
            _ = node(base, "Reciprocal", [x[0]], out)
        case "trilu":
            _ = node(base, "Trilu", [x[0], ints(base + "_k", [a["k"]?.intValue ?? 0], scalar: true)], out,
                     [.int("upper", a["upper"]?.boolValue == false ? 0 : 1)])
        case "fill":
            let shape = node(base, "Shape", [x[0]])
            var target = shape
            if let dims = intList(a["dims"]) {
                guard dims.allSatisfy({ $0 >= -(1 << 16) }) else { throw ONNXWriteError.unsupportedOps(ops: ["fill (dims \(dims))"]) }
                let pieces = dims.map { d in
                    d >= 0 ? ints(base + "_dim", [d]) : node(base, "Gather", [shape, ints(base + "_axis", [-1 - d])], nil, [.int("axis", 0)])
                }
                target = pieces.count == 1 ? pieces[0] : node(base, "Concat", pieces, nil, [.int("axis", 0)])
            }
            let v = a["value"]?.doubleValue ?? 0
            guard a["dtype"]?.stringValue != "i64" || (v.isFinite && abs(v) < 0x1p62) else { throw ONNXWriteError.unsupportedOps(ops: ["fill (value \(v) as int64)"]) }
            let value: ONNXNodeOut.Attribute = a["dtype"]?.stringValue == "i64"
                ? .tensor("value", dataType: ONNXDataType.int64, dims: [1], raw: [Int64(v)].withUnsafeBytes { Array($0) })
                : .tensor("value", dataType: ONNXDataType.float, dims: [1], raw: [Float(v)].withUnsafeBytes { Array($0) })
            _ = node(base, "ConstantOfShape", [target], out, [value])
        default:
            throw ONNXWriteError.unsupportedOps(ops: [n.op])
        }
    }

    /// `v` as ONNX BOOL (Porter's truth values are numbers: non-zero is true).
    mutating func bool(_ base: String, _ v: String) -> String {
        node(base, "Cast", [v], nil, [.int("to", Int64(ONNXDataType.bool))])
    }
}
