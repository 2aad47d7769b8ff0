import Foundation
import PorterCore
import PorterOps

/// Why an ONNX graph could not be imported into Porter's op set.
public struct ONNXGraphImportFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// ONNX operators (`Range`, `com.microsoft.FusedMatMul`) the graph uses that Porter does
    /// not run, sorted.
    public var unsupportedOperators: [String] = []
}

/// Imports an ONNX graph into a neutral `Graph` over the ops of `docs/ops.md`, one node per
/// ONNX node where the operator and its attributes have a neutral counterpart
/// (`ONNXGraphImporter.supportedOperators`). Constant inputs that are attributes in the
/// neutral set (Reshape's shape, Unsqueeze's axes) must be initializers or Constant nodes.
/// The result is validated against the op specs (shape inference) before it is used.
struct ONNXGraphImporter {
    let graph: GraphProto
    let opset: Int64
    let file: String
    /// Initializers that became model tensors (name → tensor), for constant operands.
    let initializers: [String: TensorRef]
    /// Constant nodes' values (output name → tensor), read by the reader.
    let constantValues: [String: TensorRef]
    /// If branches' initializers: `ifBranchKey(node, branch)` → (name in the branch → the
    /// model tensor's name), read by the reader (`ONNXReader.branchInitializers`).
    var branchTensors: [String: [String: String]] = [:]

    static let supportedOperators: Set<String> = [
        "Conv", "Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Sqrt", "Neg", "Identity", "Add", "Sub", "Mul", "Div",
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Gemm", "MatMul", "Softmax",
        "Transpose", "LayerNormalization", "Gather", "Unsqueeze", "Squeeze", "Reshape", "Concat", "Cast", "Constant",
        // Folded at import time (shape arithmetic) or, for Range(0, seq, 1), run as position_ids.
        "Shape", "Size", "Pow", "Range",
        // Comparison, logic and selection (bool values are int64 0 / 1 in Porter's graph).
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "Where",
        "CumSum", "ConstantOfShape", "Trilu", "Reciprocal", "Slice", "Pad",
        // Onto ops of the Keras set and the core set.
        "BatchNormalization", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Softplus", "Softsign", "LogSoftmax",
        "Clip", "Max", "Min", "ReduceMean", "Split", "Gelu",
        // GraphImportOps.swift.
        "Expand", "Tile", "Resize", "ConvTranspose", "InstanceNormalization", "If", "LSTM",
        "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp",
    ]

    struct Failure: Error { var reason: String }

    final class State {
        var nodes: [GraphNode] = []
        /// Constant-node outputs, by value name.
        var constants: [String: TensorRef] = [:]
        /// Constants that graph nodes read as data (to add to the model's tensors).
        var usedConstants: [String: TensorRef] = [:]
        /// Values computed at import time (shape arithmetic, float scalars).
        var folded: [String: Folded] = [:]
        /// Symbolic shapes of graph inputs, weights and emitted values.
        var shapes: [String: [Sym]] = [:]
        /// Folded values with dims known only at run time that a node reads as data: computed by
        /// emitted `shape` / `slice` / `concat` nodes (`emitShapeValue`).
        var computedAtRunTime: Set<String> = []
        /// The emitted `shape` of a value, by value name.
        var shapeOf: [String: String] = [:]
    }

    func run() -> Result<(Graph, [String: TensorRef]), ONNXGraphImportFailure> {
        var missing = Set<String>()
        func check(_ nodes: [NodeProto]) {
            for n in nodes {
                let op = n.domain.isEmpty || n.domain == "ai.onnx" ? n.opType : "\(n.domain).\(n.opType)"
                if !Self.supportedOperators.contains(op) { missing.insert(op) }
                // An If's branches: one is inlined, so both must be importable.
                if op == "If" { for a in n.attributes { if let g = a.g { check(g.nodes) } } }
            }
        }
        check(graph.nodes)
        if !missing.isEmpty {
            let list = missing.sorted()
            return .failure(ONNXGraphImportFailure(description: "operators Porter does not run: \(list.joined(separator: ", "))", unsupportedOperators: list))
        }
        let state = State()
        state.constants = constantValues
        for v in graph.inputs {
            guard let dims = v.shape else { continue }
            state.shapes[v.name] = dims.enumerated().map { i, d in
                switch d {
                case let .value(x): return .known(Int(truncatingIfNeeded: x))
                case let .param(p): return .param(p)
                case .unknown: return .dim(v.name, i)
                }
            }
        }
        for (name, t) in initializers {
            state.shapes[name] = t.shape.dims.map { .known($0) }
            // Small integer initializers (tf2onnx keeps a Slice's starts and ends so) fold like
            // Constant nodes, so shape arithmetic over them folds too.
            if (t.dtype == .i64 || t.dtype == .i32), t.shape.rank <= 1, t.elementCount <= 64, let v = try? intValues(t) {
                state.folded[name] = .ints(v.map { .known($0) }, scalar: t.shape.rank == 0)
            }
        }
        do {
            for n in graph.nodes { try importNode(n, state) }
        } catch let f as Failure {
            return .failure(ONNXGraphImportFailure(description: f.reason))
        } catch {
            return .failure(ONNXGraphImportFailure(description: "\(error)"))
        }
        let initializerNames = Set(initializers.keys)
        func value(_ v: ONNXValueInfo) -> GraphValue {
            let dims = (v.shape ?? []).map { d -> Int in
                if case let .value(x) = d, let i = Int(exactly: x) { return i }
                return -1
            }
            return GraphValue(name: v.name, dtype: Initializer.dtype(v.elementType) ?? .f32, shape: dims)
        }
        let g = Graph(inputs: graph.inputs.filter { !initializerNames.contains($0.name) }.map(value),
                      outputs: graph.outputs.map(value), nodes: state.nodes, origin: "onnx graph")
        return .success((g, state.usedConstants))
    }

    // MARK: constants

    func constantTensor(_ name: String, _ state: State) -> TensorRef? {
        state.constants[name] ?? initializers[name]
    }

    func constantInts(_ name: String, _ state: State, node: NodeProto) throws -> [Int] {
        if case let .ints(syms, _)? = state.folded[name] {
            return try syms.map {
                guard case let .known(k) = $0 else { throw refuse(node, "input '\(name)' = \(syms) depends on dynamic dims") }
                return k
            }
        }
        guard let t = constantTensor(name, state) else {
            throw Failure(reason: "node '\(node.name)' (\(node.opType)): input '\(name)' must be a constant (initializer or Constant node); Porter does not compute shapes at run time")
        }
        let bytes = try t.contiguousBytes()
        switch t.dtype {
        case .i64: return bytes.withUnsafeBytes { raw in (0..<(bytes.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
        case .i32: return bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) } }
        default: throw Failure(reason: "node '\(node.name)' (\(node.opType)): input '\(name)' must hold integers, holds \(t.dtype.rawValue)")
        }
    }

    /// A data input: a constant becomes a model tensor the graph reads by name.
    func data(_ name: String, _ state: State) throws -> String {
        if let c = state.constants[name] {
            state.usedConstants[name] = c
        } else if let f = state.folded[name], state.usedConstants[name] == nil, !state.computedAtRunTime.contains(name) {
            if case let .ints(syms, scalar) = f, syms.contains(where: { if case .known = $0 { return false }; return true }) {
                try emitShapeValue(name, syms, scalar: scalar, state)
            } else {
                state.usedConstants[name] = try materialize(name, f, state)
            }
        }
        if state.shapes[name] == nil, let t = state.usedConstants[name] { state.shapes[name] = t.shape.dims.map { .known($0) } }
        return name
    }

    /// A folded shape value with dims known only at run time, read as data (YOLOv8's anchor grid,
    /// silero-vad's STFT pad): each element is a constant or dim `axis` of a value, taken by an
    /// emitted `shape` of that value and a one-element `slice`; the elements are concatenated (and
    /// squeezed for a scalar) into `name`.
    func emitShapeValue(_ name: String, _ syms: [Sym], scalar: Bool, _ state: State) throws {
        var parts: [String] = []
        for (k, sym) in syms.enumerated() {
            let part = "\(name)#\(k)"
            switch sym {
            case let .known(v):
                let bytes = [Int64(v)].withUnsafeBytes { Array($0) }
                state.usedConstants[part] = .memory(bytes, dtype: .i64, shape: Shape([1]), label: part)
                state.shapes[part] = [.known(1)]
            case .param, .dim:
                let (origin, axis): (String, Int)
                if case let .dim(o, a) = sym, state.shapes[o] != nil || graph.inputs.contains(where: { $0.name == o }) {
                    (origin, axis) = (o, a)
                } else if let holder = valueHolding([sym], state), let a = holder.shape.firstIndex(of: sym) {
                    (origin, axis) = (holder.name, a)
                } else {
                    throw Failure(reason: "value '\(name)' = \(syms) needs dim \(sym) at run time, and no value holds it")
                }
                let shape = state.shapeOf[origin] ?? "\(origin)#shape"
                if state.shapeOf[origin] == nil {
                    emit(shape, "shape", [origin], [shape], [:], state)
                    state.shapeOf[origin] = shape
                }
                emit(part, "slice", [shape], [part], ["axis": .int(0), "start": .int(Int64(axis)), "end": .int(Int64(axis + 1))], state)
                state.shapes[part] = [.known(1)]
            }
            parts.append(part)
        }
        let vector = scalar ? "\(name)#vector" : name
        emit(vector, "concat", parts, [vector], ["axis": .int(0)], state)
        if scalar { emit(name, "squeeze", [vector], [name], ["axes": .array([.int(0)])], state) }
        state.shapes[name] = scalar ? [] : [.known(syms.count)]
        state.computedAtRunTime.insert(name)
    }

    // MARK: attributes

    func attr(_ n: NodeProto, _ key: String) -> AttributeProto? { n.attributes.first { $0.name == key } }
    func int(_ n: NodeProto, _ key: String, _ def: Int) -> Int { attr(n, key)?.i.map { Int(truncatingIfNeeded: $0) } ?? def }
    func ints(_ n: NodeProto, _ key: String) -> [Int]? { attr(n, key).map { $0.ints.map { Int(truncatingIfNeeded: $0) } } }
    func float(_ n: NodeProto, _ key: String, _ def: Float) -> Float { attr(n, key)?.f ?? def }
    func string(_ n: NodeProto, _ key: String) -> String? { attr(n, key)?.s.map { String(decoding: $0, as: UTF8.self) } }

    func refuse(_ n: NodeProto, _ why: String) -> Failure {
        Failure(reason: "node '\(n.name)' (\(n.opType)): \(why)")
    }

    func emit(_ n: NodeProto, _ op: String, _ inputs: [String], _ attributes: [String: JSONValue] = [:], _ state: State) {
        emit(n.name.isEmpty ? "\(n.opType)_\(state.nodes.count)" : n.name, op, inputs, n.outputs, attributes, state)
    }

    func emit(_ name: String, _ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [String: JSONValue], _ state: State) {
        let node = GraphNode(name: name, op: op, inputs: inputs, outputs: outputs, attributes: attributes)
        state.nodes.append(node)
        propagate(node, state)
    }

    static let unary: [String: String] = ["Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Erf": "erf", "Exp": "exp",
                                          "Sqrt": "sqrt", "Neg": "neg", "Identity": "identity", "Reciprocal": "reciprocal",
                                          "Not": "logical_not"]
    static let binary: [String: String] = ["Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div",
                                           "Equal": "equal", "Less": "less", "Greater": "greater", "LessOrEqual": "less_equal",
                                           "GreaterOrEqual": "greater_equal", "And": "logical_and", "Or": "logical_or", "Xor": "logical_xor"]

    func importNode(_ n: NodeProto, _ state: State) throws {
        let ins = n.inputs
        func input(_ i: Int) throws -> String {
            guard i < ins.count, !ins[i].isEmpty else { throw refuse(n, "input \(i) is missing") }
            return try data(ins[i], state)
        }
        if try fold(n, state) { return }
        if let op = Self.unary[n.opType] { emit(n, op, [try input(0)], [:], state); return }
        if let op = Self.binary[n.opType] { emit(n, op, [try input(0), try input(1)], [:], state); return }
        switch n.opType {
        case "Constant":
            guard let out = n.outputs.first, state.constants[out] != nil else {
                throw refuse(n, "only Constant with a numeric 'value' tensor is supported")
            }
        case "Pow":
            // A constant exponent Porter's ops express: x², √x, x, 1/x (LayerNorm decompositions).
            guard ins.count == 2, let e = state.folded[ins[1]].flatMap(scalar)
                    ?? constantTensor(ins[1], state).flatMap({ $0.elementCount == 1 ? try? firstNumber($0) : nil }) else {
                throw refuse(n, "computes from values Porter cannot fold at import time (only shape arithmetic and scalars are folded; a constant exponent 2, 0.5, 1 or -1 runs)")
            }
            let x = try input(0)
            switch e {
            case 2: emit(n, "mul", [x, x], [:], state)
            case 0.5: emit(n, "sqrt", [x], [:], state)
            case 1: emit(n, "identity", [x], [:], state)
            case -1: emit(n, "reciprocal", [x], [:], state)
            default: throw refuse(n, "exponent \(e) is not supported (2, 0.5, 1 and -1 are)")
            }
        case "Shape":
            // Not folded (the input's rank is not known here): the dims at run time.
            guard let out = n.outputs.first, !ins.isEmpty else { throw refuse(n, "input 0 is missing") }
            let x = try input(0)
            let base = n.name.isEmpty ? "Shape_\(state.nodes.count)" : n.name
            let (start, end) = (int(n, "start", 0), attr(n, "end")?.i.map { Int(truncatingIfNeeded: $0) })
            if start == 0 && end == nil {
                emit(base, "shape", [x], [out], [:], state)
            } else {
                emit(base, "shape", [x], [out + "#all"], [:], state)
                emit(base + "/range", "slice", [out + "#all"], [out], ["axis": .int(0), "start": .int(Int64(start)), "end": .int(Int64(end ?? Int(Int32.max)))], state)
            }
        case "Range":
            // Range(0, seq, 1) where seq is dim 1 of a [batch, seq] value: position_ids of that
            // value's first row.
            guard ins.count == 3, let out = n.outputs.first else { throw refuse(n, "needs start, limit and delta") }
            // Known numbers: folded (at most 65536 of them).
            if case let .ints(a, true)? = state.folded[ins[0]], case let .ints(b, true)? = state.folded[ins[1]], case let .ints(c, true)? = state.folded[ins[2]],
               case let .known(start) = a[0], case let .known(limit) = b[0], case let .known(delta) = c[0], !(start == 0 && delta == 1) {
                guard delta != 0 else { throw refuse(n, "delta is 0") }
                let span = ((Double(limit) - Double(start)) / Double(delta)).rounded(.up)
                guard span <= 65536 else { throw refuse(n, "a Range of \(span) numbers is more than Porter folds (65536)") }
                let count = max(Int(span), 0)
                state.folded[out] = .ints((0..<count).map { .known(start &+ $0 &* delta) }, scalar: false)
                return
            }
            guard case let .ints(s0, _)? = state.folded[ins[0]], case let .ints(lim, _)? = state.folded[ins[1]],
                  case let .ints(d, _)? = state.folded[ins[2]], s0 == [.known(0)], d == [.known(1)], let limit = lim.first else {
                // Anything else runs at run time, over scalars the graph computes.
                emit(n, "range", [try input(0), try input(1), try input(2)], [:], state)
                return
            }
            if case let .known(k) = limit {
                guard k <= 1 << 16 else { throw refuse(n, "a Range of \(k) numbers is more than Porter folds (65536)") }
                state.folded[out] = .ints((0..<max(k, 0)).map { .known($0) }, scalar: false)
                return
            }
            guard let source = graph.inputs.map(\.name).first(where: { state.shapes[$0]?.count == 2 && state.shapes[$0]?[1] == limit }) else {
                // Another dynamic length: Range at run time over the dim it reads.
                emit(n, "range", [try input(0), try input(1), try input(2)], [:], state)
                return
            }
            let base = n.name.isEmpty ? "Range_\(state.nodes.count)" : n.name
            emit(base + "/position_ids", "position_ids", [source], [out + "#positions"], [:], state)
            emit(base + "/first_row", "slice", [out + "#positions"], [out + "#row"], ["axis": .int(0), "start": .int(0), "end": .int(1)], state)
            emit(base + "/squeeze", "squeeze", [out + "#row"], [out], ["axes": .array([.int(0)])], state)
        case "Conv":
            let kernel = try input(1)
            // The kernel: an initializer, or computed from one (Porter's own files transpose a
            // Keras kernel in the graph); its dims must be known.
            guard let syms = state.shapes[ins[1]], syms.count == 3 || syms.count == 4 else {
                throw refuse(n, "the kernel must be a 1-D or 2-D tensor of known shape")
            }
            let ks = syms
            let spatial = ks.count - 2
            var a: [String: JSONValue] = ["data_format": .string("channels_first"), "kernel_layout": .string(spatial == 2 ? "OIHW" : "OIW")]
            try convAttributes(n, spatial: spatial, into: &a)
            a["groups"] = .int(Int64(int(n, "group", 1)))
            var inputs = [try input(0), kernel]
            if ins.count > 2, !ins[2].isEmpty { inputs.append(try input(2)) }
            emit(n, spatial == 2 ? "conv2d" : "conv1d", inputs, a, state)
        case "MaxPool", "AveragePool":
            guard let kernel = ints(n, "kernel_shape") else { throw refuse(n, "kernel_shape is missing") }
            if int(n, "ceil_mode", 0) != 0 { throw refuse(n, "ceil_mode=1 is not supported") }
            if let d = ints(n, "dilations"), d.contains(where: { $0 != 1 }) { throw refuse(n, "dilations other than 1 are not supported") }
            var padded: [Int]?
            if let p = ints(n, "pads"), p.contains(where: { $0 != 0 }) {
                // Max: padding with float32's lowest value never wins; average counting the
                // padding (count_include_pad 1): zeros. Averaging over the real elements only
                // (count_include_pad 0, the default) with explicit pads is not supported.
                guard n.opType == "MaxPool" || int(n, "count_include_pad", 0) != 0 else {
                    throw refuse(n, "explicit pads with count_include_pad=0 are not supported")
                }
                guard p.count == 2 * kernel.count, p.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else {
                    throw refuse(n, "pads \(p) must be two numbers per spatial axis between 0 and 65536")
                }
                padded = p
            }
            if n.outputs.count > 1 { throw refuse(n, "MaxPool's indices output is not supported") }
            let pad = string(n, "auto_pad") ?? "NOTSET"
            guard pad == "NOTSET" || pad == "VALID" || pad == "SAME_UPPER" else { throw refuse(n, "auto_pad \(pad) is not supported") }
            if n.opType == "AveragePool", int(n, "count_include_pad", 0) != 0, pad == "SAME_UPPER" {
                throw refuse(n, "count_include_pad=1 with auto_pad SAME_UPPER is not supported")
            }
            var a: [String: JSONValue] = ["kernel": .array(kernel.map { .int(Int64($0)) }), "data_format": .string("channels_first")]
            if pad == "SAME_UPPER" { a["padding"] = .string("same") }
            if let s = ints(n, "strides") { a["strides"] = .array(s.map { .int(Int64($0)) }) } else { a["strides"] = .array(kernel.map { _ in .int(1) }) }
            var x = try input(0)
            if let p = padded, let out = n.outputs.first {
                let spatial = kernel.count
                let flat = [0, 0, 0, 0] + (0..<spatial).flatMap { [p[$0], p[spatial + $0]] }
                let value = n.opType == "MaxPool" ? -Double(Float.greatestFiniteMagnitude) : 0
                let base = n.name.isEmpty ? "\(n.opType)_\(state.nodes.count)" : n.name
                emit(base + "/pad", "pad", [x], [out + "#padded"], ["pads": .array(flat.map { .int(Int64($0)) }), "value": .double(value)], state)
                x = out + "#padded"
            }
            emit(n, n.opType == "MaxPool" ? "max_pool" : "avg_pool", [x], a, state)
        case "GlobalAveragePool", "GlobalMaxPool":
            emit(n, n.opType == "GlobalAveragePool" ? "global_avg_pool" : "global_max_pool", [try input(0)],
                 ["data_format": .string("channels_first"), "keepdims": .bool(true)], state)
        case "Flatten":
            emit(n, "flatten", [try input(0)], ["axis": .int(Int64(int(n, "axis", 1)))], state)
        case "Gemm":
            guard int(n, "transA", 0) == 0, float(n, "alpha", 1) == 1, float(n, "beta", 1) == 1 else {
                throw refuse(n, "only transA=0, alpha=1, beta=1 is supported")
            }
            var inputs = [try input(0), try input(1)]
            if ins.count > 2, !ins[2].isEmpty { inputs.append(try input(2)) }
            emit(n, "linear", inputs, ["weight_layout": .string(int(n, "transB", 0) == 1 ? "out_in" : "in_out")], state)
        case "MatMul":
            emit(n, "matmul", [try input(0), try input(1)], [:], state)
        case "Softmax":
            emit(n, "softmax", [try input(0)], ["axis": .int(Int64(try softmaxAxis(n, state)))], state)
        case "Transpose":
            var a: [String: JSONValue] = [:]
            if let p = ints(n, "perm") { a["perm"] = .array(p.map { .int(Int64($0)) }) }
            emit(n, "transpose", [try input(0)], a, state)
        case "LayerNormalization":
            guard n.outputs.count == 1 else { throw refuse(n, "the mean and inverse-deviation outputs are not supported") }
            var inputs = [try input(0), try input(1)]
            if ins.count > 2, !ins[2].isEmpty { inputs.append(try input(2)) }
            emit(n, "layer_norm", inputs, ["axis": .int(Int64(int(n, "axis", -1))), "epsilon": .double(Double(float(n, "epsilon", 1e-5)))], state)
        case "Gather":
            emit(n, "gather", [try input(0), try input(1)], ["axis": .int(Int64(int(n, "axis", 0)))], state)
        case "Unsqueeze", "Squeeze":
            let axes: [Int]?
            if opset >= 13 { axes = ins.count > 1 && !ins[1].isEmpty ? try constantInts(ins[1], state, node: n) : nil } else { axes = ints(n, "axes") }
            var a: [String: JSONValue] = [:]
            if let axes { a["axes"] = .array(axes.map { .int(Int64($0)) }) }
            if n.opType == "Unsqueeze", axes == nil { throw refuse(n, "axes are missing") }
            emit(n, n.opType.lowercased(), [try input(0)], a, state)
        case "Reshape":
            if int(n, "allowzero", 0) != 0 { throw refuse(n, "allowzero=1 is not supported") }
            let x = try input(0)
            let shape: [Int]
            if ins.count > 1, case let .ints(target, false)? = state.folded[ins[1]] {
                shape = try reshapeTarget(n, target: target, input: state.shapes[x])
            } else {
                shape = try constantInts(ins.count > 1 ? ins[1] : "", state, node: n)
            }
            emit(n, "reshape", [x], ["shape": .array(shape.map { .int(Int64($0)) })], state)
        case "Concat":
            emit(n, "concat", try ins.indices.map { try input($0) }, ["axis": .int(Int64(int(n, "axis", 0)))], state)
        case "Cast":
            let to = int(n, "to", 0)
            if to == ONNXDataType.bool {
                // Porter's truth values are int64 0 / 1.
                emit(n, "not_equal", [try input(0)], ["value": .int(0)], state)
                return
            }
            guard let dtype = to == ONNXDataType.float ? "f32" : to == ONNXDataType.int64 ? "i64" : nil else {
                throw refuse(n, "casts to \(ONNXDataType.name(to)) are not supported (FLOAT and INT64 are)")
            }
            emit(n, "cast", [try input(0)], ["dtype": .string(dtype)], state)
        case "BatchNormalization":
            guard n.outputs.count == 1, int(n, "training_mode", 0) == 0 else { throw refuse(n, "only inference (one output, training_mode 0) is supported") }
            emit(n, "batch_norm", try (0..<5).map { try input($0) }, ["axis": .int(1), "epsilon": .double(Double(float(n, "epsilon", 1e-5)))], state)
        case "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Softplus", "Softsign":
            // ONNX's defaults, given explicitly (Keras' differ).
            var a: [String: JSONValue]
            switch n.opType {
            case "HardSigmoid": a = ["function": .string("hard_sigmoid"), "alpha": .double(Double(float(n, "alpha", 0.2))), "beta": .double(Double(float(n, "beta", 0.5)))]
            case "HardSwish": a = ["function": .string("hard_silu"), "alpha": .double(1.0 / 6.0), "beta": .double(0.5)]
            case "LeakyRelu": a = ["function": .string("leaky_relu"), "alpha": .double(Double(float(n, "alpha", 0.01)))]
            case "Elu": a = ["function": .string("elu"), "alpha": .double(Double(float(n, "alpha", 1)))]
            case "Selu":
                guard attr(n, "alpha") == nil, attr(n, "gamma") == nil else { throw refuse(n, "only the default alpha and gamma are supported") }
                a = ["function": .string("selu")]
            case "Softplus": a = ["function": .string("softplus")]
            default: a = ["function": .string("softsign")]
            }
            emit(n, "activation", [try input(0)], a, state)
        case "Gelu":
            emit(n, "gelu", [try input(0)], ["approximate": .string(string(n, "approximate") ?? "none")], state)
        case "LogSoftmax":
            emit(n, "log_softmax", [try input(0)], ["axis": .int(Int64(try softmaxAxis(n, state)))], state)
        case "Clip":
            // min / max: inputs from opset 11, attributes before; either may be absent.
            var bounds: [(String, Double)] = []
            if opset >= 11 {
                for (i, op) in [(1, "maximum"), (2, "minimum")] where ins.count > i && !ins[i].isEmpty {
                    guard let t = constantTensor(ins[i], state) ?? (state.folded[ins[i]].flatMap(scalar).map { v in
                        var f = Float(v); return TensorRef.memory(withUnsafeBytes(of: &f) { Array($0) }, dtype: .f32, shape: Shape([]), label: ins[i]) }),
                          t.elementCount == 1 else { throw refuse(n, "min and max must be constants") }
                    bounds.append((op, try firstNumber(t)))
                }
            } else {
                if let v = attr(n, "min")?.f { bounds.append(("maximum", Double(v))) }
                if let v = attr(n, "max")?.f { bounds.append(("minimum", Double(v))) }
            }
            guard let out = n.outputs.first else { throw refuse(n, "no output") }
            var x = try input(0)
            let base = n.name.isEmpty ? "Clip_\(state.nodes.count)" : n.name
            if bounds.isEmpty { emit(base, "identity", [x], [out], [:], state) }
            for (k, (op, v)) in bounds.enumerated() {
                let c = out + "#\(op)"
                var f = Float(v)
                state.usedConstants[c] = .memory(withUnsafeBytes(of: &f) { Array($0) }, dtype: .f32, shape: Shape([]), label: c)
                state.shapes[c] = []
                let y = k == bounds.count - 1 ? out : out + "#clip\(k)"
                emit(base + (k == bounds.count - 1 ? "" : "#\(k)"), op, [x, c], [y], [:], state)
                x = y
            }
        case "Max", "Min":
            guard let out = n.outputs.first, !ins.isEmpty else { throw refuse(n, "needs inputs") }
            var x = try input(0)
            let base = n.name.isEmpty ? "\(n.opType)_\(state.nodes.count)" : n.name
            if ins.count == 1 { emit(base, "identity", [x], [out], [:], state) }
            for k in 1..<max(ins.count, 1) {
                let y = k == ins.count - 1 ? out : out + "#\(k)"
                emit(base + (k == ins.count - 1 ? "" : "#\(k)"), n.opType == "Max" ? "maximum" : "minimum", [x, try input(k)], [y], [:], state)
                x = y
            }
        case "ReduceMean":
            var axes: [Int]?
            if opset >= 18 { axes = ins.count > 1 && !ins[1].isEmpty ? try constantInts(ins[1], state, node: n) : nil } else { axes = ints(n, "axes") }
            if axes == nil, int(n, "noop_with_empty_axes", 0) != 0 { emit(n, "identity", [try input(0)], [:], state); return }
            var a: [String: JSONValue] = ["keepdims": .bool(int(n, "keepdims", 1) != 0)]
            if let axes { a["axes"] = .array(axes.map { .int(Int64($0)) }) }
            emit(n, "mean", [try input(0)], a, state)
        case "Split":
            let axis = int(n, "axis", 0)
            var sizes: [Int]
            if opset >= 13, ins.count > 1, !ins[1].isEmpty {
                sizes = try constantInts(ins[1], state, node: n)
            } else if let s = ints(n, "split") {
                sizes = s
            } else {
                // Equal parts (num_outputs from opset 18, else one per output): the dim must be known.
                guard let shape = state.shapes[ins[0]], (-shape.count..<shape.count).contains(axis),
                      case let .known(d) = shape[axis < 0 ? axis + shape.count : axis] else {
                    throw refuse(n, "splitting into equal parts needs the axis' size known at import time")
                }
                let parts = n.outputs.count
                guard parts > 0 else { throw refuse(n, "no outputs") }
                let size = (d + parts - 1) / parts
                sizes = (0..<parts).map { min(size, max(d - $0 * size, 0)) }
            }
            guard sizes.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else { throw refuse(n, "split sizes \(sizes) must be between 0 and 2^31") }
            guard sizes.count == n.outputs.count else { throw refuse(n, "\(sizes.count) sizes for \(n.outputs.count) outputs") }
            emit(n, "split", [try input(0)], ["axis": .int(Int64(axis)), "sizes": .array(sizes.map { .int(Int64($0)) })], state)
        case "Where":
            emit(n, "where", [try input(0), try input(1), try input(2)], [:], state)
        case "CumSum":
            guard ins.count == 2, let axis = try constantInts(ins[1], state, node: n).first else { throw refuse(n, "the axis must be a constant") }
            emit(n, "cumsum", [try input(0)], ["axis": .int(Int64(axis)), "exclusive": .bool(int(n, "exclusive", 0) != 0),
                                              "reverse": .bool(int(n, "reverse", 0) != 0)], state)
        case "ConstantOfShape":
            try constantOfShape(n, state)
        case "Trilu":
            var a: [String: JSONValue] = ["upper": .bool(int(n, "upper", 1) != 0)]
            if ins.count > 1, !ins[1].isEmpty {
                guard let k = try constantInts(ins[1], state, node: n).first else { throw refuse(n, "k must be a constant") }
                a["k"] = .int(Int64(k))
            }
            emit(n, "trilu", [try input(0)], a, state)
        case "Slice":
            try slice(n, state)
        case "Pad":
            try pad(n, state)
        default:
            if try importMore(n, state) { return }
            throw refuse(n, "not supported")
        }
    }

    /// Softmax's axis. Before opset 13 the input is flattened to 2-D at `axis` (default 1),
    /// which is a softmax over the last axis when that axis is the last one.
    func softmaxAxis(_ n: NodeProto, _ state: State) throws -> Int {
        if opset >= 13 { return int(n, "axis", -1) }
        let axis = int(n, "axis", 1)
        guard let rank = n.inputs.first.flatMap({ state.shapes[$0] })?.count, axis == -1 || axis == rank - 1 else {
            throw refuse(n, "\(n.opType) before opset 13 flattens to 2-D; only an axis that is the input's last (of known rank) is supported")
        }
        return -1
    }

    /// ConstantOfShape: a constant when every dim is known, else `fill` over the dims of the
    /// one value they come from (a graph input's named dims, or another value's).
    func constantOfShape(_ n: NodeProto, _ state: State) throws {
        guard let out = n.outputs.first, n.inputs.count == 1, !n.inputs[0].isEmpty else { throw refuse(n, "needs its shape input") }
        var dtype = DType.f32
        var value = 0.0
        if let t = attr(n, "value")?.t {
            guard let d = Initializer.dtype(t.dataType), d == .f32 || d == .i64 || d == .i32 || d == .bool || d == .f64 else {
                throw refuse(n, "a value of type \(ONNXDataType.name(t.dataType)) is not supported")
            }
            guard let ref = constantValues[out + "#value"], ref.elementCount == 1 else { throw refuse(n, "its value must be a one-element tensor") }
            dtype = d == .f32 || d == .f64 ? .f32 : .i64
            value = try firstNumber(ref)
            if dtype == .i64, !(value.isFinite && abs(value) < 0x1p62) { throw refuse(n, "its value \(value) is not an int64") }
        }
        guard case let .ints(syms, false)? = state.folded[n.inputs[0]] else {
            // The shape is computed at run time (YOLOv8's anchor grid: the product of a feature
            // map's dynamic height and width): `constant_of_shape` reads it then.
            let base = n.name.isEmpty ? "ConstantOfShape_\(state.nodes.count)" : n.name
            emit(base, "constant_of_shape", [try data(n.inputs[0], state)], [out], ["value": .double(value), "dtype": .string(dtype == .i64 ? "i64" : "f32")], state)
            if let count = state.shapes[n.inputs[0]]?.first, case let .known(rank) = count {
                state.shapes[out] = (0..<rank).map { .dim(out, $0) }
            }
            return
        }
        // Every dim known: a constant tensor (bounded, so a hostile shape cannot make one huge).
        if let dims = try? syms.map({ s -> Int in
            guard case let .known(k) = s else { throw Failure(reason: "") }
            return k
        }) {
            guard dims.allSatisfy({ $0 >= 0 }), let count = dims.reduce(Int?(1), { a, d in a.flatMap { $0.multipliedReportingOverflow(by: d).overflow ? nil : $0 * d } }),
                  count <= 1 << 20 else {
                throw refuse(n, "a constant of shape \(dims) is more than Porter folds (2^20 elements)")
            }
            let bytes: [UInt8] = dtype == .i64 ? [Int64](repeating: Int64(value), count: count).withUnsafeBytes { Array($0) }
                : [Float](repeating: Float(value), count: count).withUnsafeBytes { Array($0) }
            state.constants[out] = .memory(bytes, dtype: dtype, shape: Shape(dims), label: out)
            if dims.count <= 1, count <= 64, dtype == .i64 {
                state.folded[out] = .ints([Sym](repeating: .known(Int(value)), count: count), scalar: false)
            }
            state.shapes[out] = dims.map { .known($0) }
            return
        }
        // A value that has every symbolic dim: a graph input first, then any value seen.
        let candidates = graph.inputs.map(\.name) + state.shapes.keys.sorted()
        var like: (name: String, shape: [Sym])?
        for c in candidates {
            guard let shape = state.shapes[c] else { continue }
            if syms.allSatisfy({ s in if case .known = s { return true }; return shape.contains(s) }) { like = (c, shape); break }
        }
        guard let like else { throw refuse(n, "its shape \(syms) is not made of the dims of one value") }
        let dims = syms.map { s -> Int in
            if case let .known(k) = s { return k }
            return -1 - like.shape.firstIndex(of: s)!
        }
        emit(n, "fill", [like.name], ["dims": .array(dims.map { .int(Int64($0)) }), "value": .double(value),
                                      "dtype": .string(dtype == .i64 ? "i64" : "f32")], state)
        state.shapes[out] = syms
    }

    /// The first element of a small constant, as a number.
    func firstNumber(_ t: TensorRef) throws -> Double {
        switch t.dtype {
        case .i64, .i32: return Double(try intValues(t).first ?? 0)
        case .bool, .u8: return Double(try t.contiguousBytes().first ?? 0)
        default: return Double(try t.floatValues().first ?? 0)
        }
    }

    /// Slice with constant starts, ends, axes and non-zero steps (negative ones reverse, as a
    /// reflection pad is written): one `slice` per axis.
    func slice(_ n: NodeProto, _ state: State) throws {
        let ins = n.inputs
        guard opset >= 10, ins.count >= 3, let out = n.outputs.first else { throw refuse(n, "only Slice with starts and ends as inputs (opset ≥ 10) is supported") }
        let starts = try constantInts(ins[1], state, node: n), ends = try constantInts(ins[2], state, node: n)
        let axes = ins.count > 3 && !ins[3].isEmpty ? try constantInts(ins[3], state, node: n) : Array(starts.indices)
        let steps = ins.count > 4 && !ins[4].isEmpty ? try constantInts(ins[4], state, node: n) : starts.map { _ in 1 }
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count, !starts.isEmpty else {
            throw refuse(n, "starts, ends, axes and steps differ in length")
        }
        guard steps.allSatisfy({ $0 != 0 && abs($0) <= 1 << 31 }) else { throw refuse(n, "steps must be non-zero and at most 2^31 either way") }
        var x = try data(ins[0], state)
        for k in starts.indices {
            let last = k == starts.count - 1
            let name = last ? out : out + "#slice\(k)"
            let base = (n.name.isEmpty ? "Slice_\(state.nodes.count)" : n.name) + (last ? "" : "#\(k)")
            emit(base, "slice", [x], [name], ["axis": .int(Int64(axes[k])), "start": .int(Int64(starts[k])),
                                               "end": .int(Int64(ends[k])), "step": .int(Int64(steps[k]))], state)
            x = name
        }
    }

    /// Pad, mode constant, reflect or edge, pads constant (ONNX: all begins, then all ends).
    func pad(_ n: NodeProto, _ state: State) throws {
        let ins = n.inputs
        let mode = string(n, "mode") ?? "constant"
        guard ["constant", "reflect", "edge"].contains(mode) else { throw refuse(n, "mode \(mode) is not supported (constant, reflect and edge are)") }
        guard ins.count < 4 || ins[3].isEmpty else { throw refuse(n, "the axes input is not supported") }
        let pads: [Int]
        if opset >= 11 { pads = try constantInts(ins.count > 1 ? ins[1] : "", state, node: n) } else { pads = ints(n, "pads") ?? [] }
        guard pads.count % 2 == 0, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 24 }) else {
            throw refuse(n, "pads \(pads) must be two numbers per axis between 0 and 2^24")
        }
        var value = Double(float(n, "value", 0))
        if opset >= 11, ins.count > 2, !ins[2].isEmpty {
            if let f = state.folded[ins[2]], let v = scalar(f) {
                value = v
            } else if let t = constantTensor(ins[2], state), t.elementCount == 1 {
                value = try firstNumber(t)
            } else {
                throw refuse(n, "the pad value must be a constant")
            }
        }
        let r = pads.count / 2
        let flat = (0..<r).flatMap { [pads[$0], pads[r + $0]] }
        var a: [String: JSONValue] = ["pads": .array(flat.map { .int(Int64($0)) }), "value": .double(value)]
        if mode != "constant" { a["mode"] = .string(mode) }
        emit(n, "pad", [try data(ins[0], state)], a, state)
    }

    /// Conv's strides, dilations and pads (ONNX: all begins, then all ends; Porter: before and
    /// after per axis) or auto_pad.
    func convAttributes(_ n: NodeProto, spatial: Int, into a: inout [String: JSONValue]) throws {
        if let s = ints(n, "strides") { a["strides"] = .array(s.map { .int(Int64($0)) }) }
        if let d = ints(n, "dilations") { a["dilations"] = .array(d.map { .int(Int64($0)) }) }
        switch string(n, "auto_pad") ?? "NOTSET" {
        case "NOTSET":
            if let p = ints(n, "pads") {
                guard p.count == 2 * spatial else { throw refuse(n, "pads has \(p.count) numbers for \(spatial) spatial axes") }
                a["padding"] = .array((0..<spatial).flatMap { [JSONValue.int(Int64(p[$0])), .int(Int64(p[spatial + $0]))] })
            }
        case "VALID": a["padding"] = .string("valid")
        case "SAME_UPPER": a["padding"] = .string("same")
        case let other: throw refuse(n, "auto_pad \(other) is not supported")
        }
    }
}
