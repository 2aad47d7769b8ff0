import Foundation
import PorterCore
import PorterOps

/// Why a SavedModel's function graph could not be imported.
public struct GraphImportFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// TensorFlow ops met that Porter's op set does not cover.
    public var missingOps: [String] = []
}

/// Imports a SavedModel's serving signature into a neutral `Graph` over the ops of
/// `docs/ops.md`, inlining `StatefulPartitionedCall`s into the function library and
/// resolving captured variables through the object graph (`bound_inputs`).
///
/// Supported TensorFlow ops: see `SavedModelGraphImporter.supportedOps`. Anything
/// else fails the import with the list of missing ops.
struct SavedModelGraphImporter {
    let meta: Tensorflow_MetaGraphDef
    let model: NeutralModel
    let file: String
    /// Object-graph node id → model tensor name, for captured variables.
    let variableTensor: [Int: String]

    static let supportedOps: Set<String> = [
        "MatMul", "BatchMatMulV2", "BiasAdd", "Add", "AddV2", "Sub", "Mul", "RealDiv", "Relu", "Relu6", "Sigmoid", "Tanh",
        "Softmax", "Erf", "Exp", "Sqrt", "Rsqrt", "Neg", "Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool", "Mean",
        "Reshape", "Transpose", "ConcatV2", "Squeeze", "ExpandDims", "Identity", "ReadVariableOp", "Const",
        "FusedBatchNormV3", "StatefulPartitionedCall", "PartitionedCall", "NoOp", "Placeholder", "VarHandleOp",
    ]
    static let maxInlineDepth = 32

    enum Value {
        /// A value of the neutral graph (graph input, node output, or a weight name).
        case tensor(String)
        /// A resource handle to the model tensor with this name.
        case resource(String)
        case constant(Tensorflow_TensorProto)
    }

    final class State {
        var nodes: [GraphNode] = []
        var extraTensors: [String: TensorRef] = [:]
        var missing: Set<String> = []
        var counter = 0
        func fresh(_ base: String) -> String {
            counter += 1
            return "\(base)#\(counter)"
        }
    }

    struct Failure: Error { var reason: String }

    /// The graph plus constants it uses as data (to add to the model's tensors).
    func importServingGraph(signature: String = "serving_default") -> Result<(Graph, [String: TensorRef]), GraphImportFailure> {
        guard let sig = meta.signatureDef[signature] else {
            return .failure(GraphImportFailure(description: "no '\(signature)' signature"))
        }
        let functions = Dictionary(meta.graphDef.library.function.map { ($0.signature.name, $0) }, uniquingKeysWith: { a, _ in a })
        let topNodes = Dictionary(meta.graphDef.node.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let state = State()
        var env: [String: Value] = [:]
        var inputs: [GraphValue] = []
        for key in sig.inputs.keys.sorted() {
            let info = sig.inputs[key]!
            guard let dtype = TensorBundle.dtype(info.dtype.rawValue) else {
                return .failure(GraphImportFailure(description: "input '\(key)' has dtype \(TensorBundle.dtypeName(info.dtype.rawValue))"))
            }
            inputs.append(GraphValue(name: key, dtype: dtype, shape: info.tensorShape.dim.map { Int($0.size) }))
            env[nodeName(info.name)] = .tensor(key)
        }
        do {
            var outputs: [GraphValue] = []
            var cache: [String: [Value]] = [:]
            for key in sig.outputs.keys.sorted() {
                let info = sig.outputs[key]!
                let (node, index) = splitTopLevel(info.name)
                let values = try evaluateTop(node, topNodes: topNodes, functions: functions, env: &env, cache: &cache, state: state)
                guard index < values.count, case let .tensor(v) = values[index] else {
                    throw Failure(reason: "output '\(key)' (\(info.name)) is not a computed tensor")
                }
                state.nodes.append(GraphNode(name: "output/\(key)", op: "identity", inputs: [v], outputs: [key]))
                let dtype = TensorBundle.dtype(info.dtype.rawValue) ?? .f32
                outputs.append(GraphValue(name: key, dtype: dtype, shape: info.tensorShape.dim.map { Int($0.size) }))
            }
            if !state.missing.isEmpty {
                return .failure(GraphImportFailure(description: "ops outside Porter's op set: \(state.missing.sorted().joined(separator: ", "))",
                                                   missingOps: state.missing.sorted()))
            }
            let graph = Graph(inputs: inputs, outputs: outputs, nodes: state.nodes, origin: "tensorflow savedmodel signature \(signature)")
            if let failure = Self.specFailure(graph, tensors: model.tensors, constants: state.extraTensors) { return .failure(failure) }
            return .success((graph, state.extraTensors))
        } catch let f as Failure {
            if !state.missing.isEmpty {
                return .failure(GraphImportFailure(description: "ops outside Porter's op set: \(state.missing.sorted().joined(separator: ", "))",
                                                   missingOps: state.missing.sorted()))
            }
            return .failure(GraphImportFailure(description: f.reason))
        } catch {
            return .failure(GraphImportFailure(description: "\(error)"))
        }
    }

    /// Why `graph` does not fit the op specs on the model's tensors plus the imported
    /// constants (nil when it does).
    static func specFailure(_ graph: Graph, tensors: TensorStore, constants: [String: TensorRef]) -> GraphImportFailure? {
        var weights: [String: ValueType] = [:]
        for entry in tensors { weights[entry.name] = ValueType(entry.tensor) }
        for (name, tensor) in constants { weights[name] = ValueType(tensor) }
        do {
            _ = try GraphValidator.validate(graph, weights: weights)
            return nil
        } catch {
            return GraphImportFailure(description: "the imported graph does not fit Porter's op specs: \(error.localizedDescription)")
        }
    }

    func nodeName(_ tensorName: String) -> String {
        String(tensorName.split(separator: ":").first ?? Substring(tensorName))
    }

    func splitTopLevel(_ tensorName: String) -> (String, Int) {
        let parts = tensorName.split(separator: ":")
        return (String(parts.first ?? ""), parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
    }

    /// The value of a captured object-graph constant (`SavedConstant`: the name of a `Const`
    /// node in the MetaGraph's graph), nil when object `nodeID` is not a constant.
    func capturedConstant(_ nodeID: Int, input: String, topNodes: [String: Tensorflow_NodeDef]) throws -> Tensorflow_TensorProto? {
        let nodes = meta.objectGraphDef.nodes
        guard nodeID >= 0, nodeID < nodes.count, case let .constant(saved)? = nodes[nodeID].kind else { return nil }
        guard let node = topNodes[saved.operation], node.op == "Const", let value = node.attr["value"], case .tensor? = value.value else {
            throw Failure(reason: "captured input \(input) (object \(nodeID)) names constant '\(saved.operation)', which is not a Const node of the graph")
        }
        return value.tensor
    }

    /// Evaluates a node of the top-level graph (placeholders, variable handles, calls).
    func evaluateTop(_ name: String, topNodes: [String: Tensorflow_NodeDef], functions: [String: Tensorflow_FunctionDef],
                     env: inout [String: Value], cache: inout [String: [Value]], state: State) throws -> [Value] {
        if let v = env[name] { return [v] }
        if let c = cache[name] { return c }
        guard let node = topNodes[name] else { throw Failure(reason: "graph node '\(name)' not found") }
        switch node.op {
        case "StatefulPartitionedCall", "PartitionedCall":
            let fname = node.attr["f"]?.func.name ?? ""
            guard let fn = functions[fname] else { throw Failure(reason: "function '\(fname)' not in the library") }
            let bound = meta.objectGraphDef.concreteFunctions[fname]?.boundInputs.map(Int.init) ?? []
            let dataInputs = node.input.filter { !$0.hasPrefix("^") }
            var args: [Value] = []
            let capturedStart = dataInputs.count - bound.count
            for (i, input) in dataInputs.enumerated() {
                if i >= capturedStart, capturedStart >= 0 {
                    let nodeID = bound[i - capturedStart]
                    if let tensor = variableTensor[nodeID] {
                        args.append(.resource(tensor))
                    } else if let constant = try capturedConstant(nodeID, input: input, topNodes: topNodes) {
                        // An eager tensor the function captured: its value is a Const node of
                        // the MetaGraph, and it enters the graph as a constant.
                        args.append(.constant(constant))
                    } else {
                        throw Failure(reason: "captured input \(input) (object \(nodeID)) is neither a variable Porter read nor a saved constant")
                    }
                } else {
                    let (n, idx) = splitTopLevel(input)
                    let vs = try evaluateTop(n, topNodes: topNodes, functions: functions, env: &env, cache: &cache, state: state)
                    guard idx < vs.count else { throw Failure(reason: "input \(input) has no output \(idx)") }
                    args.append(vs[idx])
                }
            }
            let out = try inline(fn, args: args, functions: functions, depth: 0, state: state)
            cache[name] = out
            return out
        case "Identity":
            let (n, idx) = splitTopLevel(node.input.first ?? "")
            let vs = try evaluateTop(n, topNodes: topNodes, functions: functions, env: &env, cache: &cache, state: state)
            return [vs[min(idx, vs.count - 1)]]
        default:
            throw Failure(reason: "top-level node '\(name)' is a \(node.op), not a call Porter follows")
        }
    }

    /// Inlines function `fn` applied to `args`; returns its outputs in signature order.
    func inline(_ fn: Tensorflow_FunctionDef, args: [Value], functions: [String: Tensorflow_FunctionDef], depth: Int, state: State) throws -> [Value] {
        guard depth < Self.maxInlineDepth else { throw Failure(reason: "function calls nested deeper than \(Self.maxInlineDepth)") }
        let sig = fn.signature
        guard sig.inputArg.count == args.count else {
            throw Failure(reason: "function \(sig.name) takes \(sig.inputArg.count) inputs, called with \(args.count)")
        }
        var env: [String: Value] = [:]
        for (arg, v) in zip(sig.inputArg, args) { env[arg.name] = v }
        let byName = Dictionary(fn.nodeDef.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var results: [String: [Value]] = [:]
        var visiting: Set<String> = []
        let scope = sig.name

        func resolve(_ ref: String) throws -> Value {
            let parts = ref.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 1 {
                if let v = env[parts[0]] { return v }
                let outs = try evaluate(parts[0])
                guard let first = outs.first else { throw Failure(reason: "\(ref) has no output") }
                return first
            }
            let outs = try evaluate(parts[0])
            let node = byName[parts[0]]
            let index = Int(parts.count > 2 ? parts[2] : "0") ?? 0
            let isCall = node.map { ["StatefulPartitionedCall", "PartitionedCall"].contains($0.op) } ?? false
            if isCall {
                guard index < outs.count else { throw Failure(reason: "\(ref): call has \(outs.count) outputs") }
                return outs[index]
            }
            if node?.op == "FusedBatchNormV3" && parts[1] != "y" {
                throw Failure(reason: "\(ref): only FusedBatchNormV3's y output is supported (inference)")
            }
            guard let first = outs.first else { throw Failure(reason: "\(ref) has no output") }
            return first
        }

        func evaluate(_ name: String) throws -> [Value] {
            if let r = results[name] { return r }
            guard let node = byName[name] else { throw Failure(reason: "\(scope): no node '\(name)'") }
            guard !visiting.contains(name) else { throw Failure(reason: "\(scope): cycle through '\(name)'") }
            visiting.insert(name)
            defer { visiting.remove(name) }
            let inputs = try node.input.filter { !$0.hasPrefix("^") }.map(resolve)
            let out = try lower(node, inputs: inputs, scope: scope, functions: functions, depth: depth, state: state)
            results[name] = out
            return out
        }

        var outputs: [Value] = []
        for arg in sig.outputArg {
            guard let ref = fn.ret[arg.name] else { throw Failure(reason: "\(scope): output \(arg.name) has no return binding") }
            outputs.append(try resolve(ref))
        }
        return outputs
    }

    // MARK: Lowering one TensorFlow op

    func lower(_ node: Tensorflow_NodeDef, inputs: [Value], scope: String, functions: [String: Tensorflow_FunctionDef],
               depth: Int, state: State) throws -> [Value] {
        let name = state.fresh("\(scope)/\(node.name)")
        func tensor(_ i: Int) throws -> String {
            guard i < inputs.count else { throw Failure(reason: "\(node.name) (\(node.op)) lacks input \(i)") }
            switch inputs[i] {
            case let .tensor(t): return t
            case let .resource(r): return r
            case let .constant(proto):
                let weightName = "tf_const/\(name)/\(i)"
                state.extraTensors[weightName] = try Self.constantTensor(proto, name: node.name)
                return weightName
            }
        }
        func ints(_ i: Int) throws -> [Int] {
            guard i < inputs.count, case let .constant(proto) = inputs[i] else {
                throw Failure(reason: "\(node.name) (\(node.op)): input \(i) must be a constant")
            }
            return try Self.constantInts(proto, name: node.name)
        }
        func emit(_ op: String, _ ins: [String], _ attrs: [String: JSONValue] = [:]) -> [Value] {
            state.nodes.append(GraphNode(name: name, op: op, inputs: ins, outputs: [name], attributes: attrs))
            return [.tensor(name)]
        }
        func attrInts(_ key: String) -> [Int] { node.attr[key]?.list.i.map { Int($0) } ?? [] }
        func checkNHWC() throws {
            let format = String(decoding: node.attr["data_format"]?.s ?? Data(), as: UTF8.self)
            guard format.isEmpty || format == "NHWC" else { throw Failure(reason: "\(node.name): data_format \(format) (only NHWC)") }
        }
        func padding() throws -> JSONValue {
            let p = String(decoding: node.attr["padding"]?.s ?? Data(), as: UTF8.self)
            switch p {
            case "SAME": return "same"
            case "VALID": return "valid"
            default: throw Failure(reason: "\(node.name): padding \(p) is not supported")
            }
        }
        func spatial(_ v: [Int]) -> JSONValue { .array(v.count == 4 ? [.int(Int64(v[1])), .int(Int64(v[2]))] : v.map { .int(Int64($0)) }) }
        func bool(_ key: String) -> Bool { node.attr[key]?.b ?? false }

        switch node.op {
        case "NoOp": return []
        case "Identity": return [inputs.first ?? .tensor("")]
        case "Const":
            guard let proto = node.attr["value"]?.tensor else { throw Failure(reason: "\(node.name): Const without value") }
            return [.constant(proto)]
        case "ReadVariableOp":
            guard case let .resource(r)? = inputs.first else { throw Failure(reason: "\(node.name): ReadVariableOp of a non-variable") }
            return [.tensor(r)]
        case "StatefulPartitionedCall", "PartitionedCall":
            let fname = node.attr["f"]?.func.name ?? ""
            guard let fn = functions[fname] else { throw Failure(reason: "function '\(fname)' not in the library") }
            return try inline(fn, args: inputs, functions: functions, depth: depth + 1, state: state)
        case "MatMul", "BatchMatMulV2":
            let ta = bool(node.op == "MatMul" ? "transpose_a" : "adj_x"), tb = bool(node.op == "MatMul" ? "transpose_b" : "adj_y")
            return emit("matmul", [try tensor(0), try tensor(1)], ["transpose_a": .bool(ta), "transpose_b": .bool(tb)])
        case "BiasAdd":
            try checkNHWC()
            return emit("add", [try tensor(0), try tensor(1)])
        case "Add", "AddV2": return emit("add", [try tensor(0), try tensor(1)])
        case "Sub": return emit("sub", [try tensor(0), try tensor(1)])
        case "Mul": return emit("mul", [try tensor(0), try tensor(1)])
        case "RealDiv": return emit("div", [try tensor(0), try tensor(1)])
        case "Relu", "Relu6", "Sigmoid", "Tanh", "Erf", "Exp", "Sqrt", "Rsqrt", "Neg":
            return emit(node.op.lowercased(), [try tensor(0)])
        case "Softmax": return emit("softmax", [try tensor(0)], ["axis": -1])
        case "Conv2D", "DepthwiseConv2dNative":
            try checkNHWC()
            var attrs: [String: JSONValue] = [
                "strides": spatial(attrInts("strides")), "padding": try padding(),
                "dilations": spatial(attrInts("dilations").isEmpty ? [1, 1, 1, 1] : attrInts("dilations")),
                "data_format": "channels_last", "kernel_layout": "HWIO", "groups": 1,
            ]
            let kernel = try tensor(1)
            if node.op == "DepthwiseConv2dNative" {
                guard let shape = shapeOf(kernel, state: state), shape.count == 4 else {
                    throw Failure(reason: "\(node.name): depthwise kernel shape unknown")
                }
                attrs["kernel_layout"] = "HWIM"
                attrs["groups"] = .int(Int64(shape[2]))
            }
            return emit("conv2d", [try tensor(0), kernel], attrs)
        case "MaxPool", "AvgPool":
            try checkNHWC()
            return emit(node.op == "MaxPool" ? "max_pool" : "avg_pool", [try tensor(0)],
                        ["kernel": spatial(attrInts("ksize")), "strides": spatial(attrInts("strides")),
                         "padding": try padding(), "data_format": "channels_last"])
        case "Mean":
            return emit("mean", [try tensor(0)], ["axes": .array(try ints(1).map { .int(Int64($0)) }), "keepdims": .bool(bool("keep_dims"))])
        case "Reshape":
            return emit("reshape", [try tensor(0)], ["shape": .array(try ints(1).map { .int(Int64($0)) })])
        case "Transpose":
            return emit("transpose", [try tensor(0)], ["perm": .array(try ints(1).map { .int(Int64($0)) })])
        case "ConcatV2":
            guard let axis = try ints(inputs.count - 1).first else { throw Failure(reason: "\(node.name): no axis") }
            return emit("concat", try (0..<(inputs.count - 1)).map { try tensor($0) }, ["axis": .int(Int64(axis))])
        case "Squeeze":
            return emit("squeeze", [try tensor(0)], ["axes": .array(attrInts("squeeze_dims").map { .int(Int64($0)) })])
        case "ExpandDims":
            return emit("unsqueeze", [try tensor(0)], ["axes": .array(try ints(1).map { .int(Int64($0)) })])
        case "FusedBatchNormV3":
            try checkNHWC()
            guard !bool("is_training") else { throw Failure(reason: "\(node.name): FusedBatchNormV3 in training mode") }
            let eps = Double(node.attr["epsilon"]?.f ?? 0.001)
            return emit("batch_norm", [try tensor(0), try tensor(1), try tensor(2), try tensor(3), try tensor(4)],
                        ["epsilon": .double(eps), "axis": -1])
        default:
            state.missing.insert(node.op)
            // Keep walking so every missing op is reported.
            return [.tensor(name)]
        }
    }

    func shapeOf(_ name: String, state: State) -> [Int]? {
        if let t = model.tensors[name] { return t.tensor.shape.dims }
        return state.extraTensors[name]?.shape.dims
    }

    // MARK: Constants

    static func constantInts(_ p: Tensorflow_TensorProto, name: String) throws -> [Int] {
        let count = Shape(p.tensorShape.dim.map { Int($0.size) }).elementCount ?? 0
        switch p.dtype.rawValue {
        case 3:
            if !p.tensorContent.isEmpty {
                let b = [UInt8](p.tensorContent)
                guard b.count == count * 4 else { throw Failure(reason: "\(name): int32 constant of \(b.count) bytes") }
                return (0..<count).map { i in Int(Int32(bitPattern: UInt32(b[4*i]) | UInt32(b[4*i+1]) << 8 | UInt32(b[4*i+2]) << 16 | UInt32(b[4*i+3]) << 24)) }
            }
            return fill(p.intVal.map { Int($0) }, count: count)
        case 9:
            if !p.tensorContent.isEmpty {
                let b = [UInt8](p.tensorContent)
                guard b.count == count * 8 else { throw Failure(reason: "\(name): int64 constant of \(b.count) bytes") }
                return (0..<count).map { i in
                    var v: UInt64 = 0
                    for k in 0..<8 { v |= UInt64(b[8*i+k]) << (8 * UInt64(k)) }
                    return Int(Int64(bitPattern: v))
                }
            }
            return fill(p.int64Val.map { Int($0) }, count: count)
        default:
            throw Failure(reason: "\(name): constant of dtype \(TensorBundle.dtypeName(p.dtype.rawValue)) where integers are needed")
        }
    }

    static func fill<T>(_ values: [T], count: Int) -> [T] {
        if values.count == count || values.isEmpty { return values }
        return Array(values + Array(repeating: values[values.count - 1], count: max(0, count - values.count)))
    }

    /// A float32/int constant used as data, as a tensor.
    static func constantTensor(_ p: Tensorflow_TensorProto, name: String) throws -> TensorRef {
        let dims = p.tensorShape.dim.map { Int($0.size) }
        let count = Shape(dims).elementCount ?? 0
        guard count <= 1 << 26 else { throw Failure(reason: "\(name): constant of \(count) elements") }
        switch p.dtype.rawValue {
        case 1:
            if !p.tensorContent.isEmpty {
                guard p.tensorContent.count == count * 4 else { throw Failure(reason: "\(name): float constant of \(p.tensorContent.count) bytes") }
                return .memory([UInt8](p.tensorContent), dtype: .f32, shape: Shape(dims), label: name)
            }
            let values = fill(p.floatVal, count: count)
            var bytes: [UInt8] = []
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            return .memory(bytes, dtype: .f32, shape: Shape(dims), label: name)
        case 3, 9:
            let values = try constantInts(p, name: name)
            var bytes: [UInt8] = []
            for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 } }
            return .memory(bytes, dtype: .i64, shape: Shape(dims), label: name)
        default:
            throw Failure(reason: "\(name): constant of dtype \(TensorBundle.dtypeName(p.dtype.rawValue)) is not supported as data")
        }
    }
}
