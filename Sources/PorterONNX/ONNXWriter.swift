import Foundation
import PorterArchitectures
import PorterCore
import PorterOps

/// Writes an ONNX model (`--to onnx`): the model's graph (stored, or built by its
/// architecture descriptor from the config) rewritten as ONNX nodes, weights as
/// initializers. The protobuf framing around each initializer is written by hand and its
/// bytes streamed from the source, so no more than one tensor is in memory at a time.
public struct ONNXWriter: ModelWriter {
    public init() {}

    public static let defaultOpset = 17
    static let opsets = 17...21

    public var info: FormatInfo {
        FormatInfo(id: "onnx", name: "ONNX", extensions: [".onnx"],
                   summary: "ONNX ModelProto (opset 17 by default): graph from the model or its descriptor, weights streamed as initializers")
    }

    public var options: [FormatOption] {
        [FormatOption("opset", .choice(Self.opsets.map(String.init)), default: String(Self.defaultOpset),
                      help: "ONNX opset of the default domain to declare (the nodes written are valid from 17 on)"),
         FormatOption("external-data", .choice(["auto", "always", "never"]), default: "auto",
                      help: "weights in OUT/model.onnx.data beside OUT/model.onnx (auto: when they pass 2 GB − 64 MiB, protobuf's limit)")]
    }

    /// File names of the folder written with external data.
    public static let modelFileName = "model.onnx", dataFileName = "model.onnx.data"
    /// Weights above this many bytes go to external data under `external-data=auto`.
    public static let externalThreshold = Int(Int32.max) - (64 << 20)
    /// External tensors start at multiples of this (onnx.proto: offsets SHOULD be page multiples).
    static let externalAlignment = 4096

    func usesExternalData(_ model: NeutralModel, options: WriteOptions) -> Bool {
        switch options.extra["external-data"] ?? "auto" {
        case "always": return true
        case "never": return false
        default: return model.tensors.uniqueByteCount > Self.externalThreshold
        }
    }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { usesExternalData(model, options: options) }

    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        usesExternalData(model, options: options)
            ? .folder([.file(Self.modelFileName), .file(Self.dataFileName)], producer: "the \(info.name) writer")
            : .file(producer: "the \(info.name) writer")
    }

    /// The graph to write and the dynamic-axis names of its inputs.
    func graphAndAxes(_ model: NeutralModel) throws -> (Graph, [String: [Int: String]]) {
        let registry = ArchitectureRegistry.standard
        var axes: [String: [Int: String]] = [:]
        if let d = registry.descriptor(for: model.config) { axes = (try? d.onnxDynamicAxes(config: model.config)) ?? [:] }
        if let g = model.graph { return (g, axes) }
        guard model.config.objectValue?.isEmpty == false else { throw ONNXWriteError.noGraph(reason: "no stored graph and no config") }
        do {
            return (try registry.buildGraph(config: model.config, tensorNames: Set(model.tensors.names)), axes)
        } catch {
            throw ONNXWriteError.noGraph(reason: error.localizedDescription)
        }
    }

    func opset(_ options: WriteOptions) throws -> Int {
        let text = options.extra["opset"] ?? String(Self.defaultOpset)
        guard let v = Int(text), Self.opsets.contains(v) else { throw ONNXWriteError.badOpset(value: text) }
        return v
    }

    struct Plan {
        var lowering: ONNXLowering
        var graph: Graph
        var axes: [String: [Int: String]]
        var weights: [(name: String, tensor: TensorRef)]
        var types: [String: ValueType]
    }

    func plan(_ model: NeutralModel, options: WriteOptions) throws -> Plan {
        _ = try opset(options)
        let (graph, axes) = try graphAndAxes(model)
        let missing = ONNXLowering.unsupported(graph)
        guard missing.isEmpty else { throw ONNXWriteError.unsupportedOps(ops: missing) }
        let types: [String: ValueType]
        do { types = try GraphValidator.validate(graph, tensors: model.tensors) } catch {
            throw ONNXWriteError.invalidGraph(reason: error.localizedDescription)
        }
        var lowering = ONNXLowering(graph: graph, types: types, keep: model.tensors.names)
        try lowering.lower()
        // Every weight becomes an initializer: those the graph reads first (first-use order,
        // f32 / i64 as the nodes written take them), then the rest in the model's order, so
        // nothing is lost and the verifier finds each source tensor under its own name.
        var seen = Set<String>()
        var weights: [(String, TensorRef)] = []
        for n in graph.nodes {
            for i in n.inputs where !i.isEmpty && !seen.contains(i) {
                guard let e = model.tensors[i] else { continue }
                seen.insert(i)
                guard e.tensor.dtype == .f32 || e.tensor.dtype == .i64 else {
                    throw ONNXWriteError.unsupportedDType(tensor: i, dtype: e.tensor.dtype.rawValue)
                }
                weights.append((i, e.tensor))
            }
        }
        for e in model.tensors where !seen.contains(e.name) {
            seen.insert(e.name)
            weights.append((e.name, e.tensor))
        }
        return Plan(lowering: lowering, graph: graph, axes: axes, weights: weights, types: types)
    }

    public func check(_ model: NeutralModel, options: WriteOptions) throws {
        let p = try plan(model, options: options)
        let bytes = p.weights.reduce(0) { $0 + $1.tensor.byteCount }
        if !usesExternalData(model, options: options), bytes > Self.externalThreshold {
            throw ONNXWriteError.tooLarge(bytes: bytes)
        }
    }

    static func irVersion(opset: Int) -> Int64 { opset <= 18 ? 8 : opset <= 20 ? 9 : 10 }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let opset = try opset(options)
        let p = try plan(model, options: options)
        let namer = p.lowering.namer

        // Everything of the GraphProto except the weight initializers, in memory (small).
        var head = ProtoEncoder()
        head.string(2, "porter")
        for n in p.lowering.nodes { head.message(1, Self.node(n)) }
        var firstInputDims: [ONNXDim] = []
        for (k, input) in p.graph.inputs.enumerated() {
            let names = p.axes[input.name] ?? [:]
            let dims: [ONNXDim] = input.shape.enumerated().map { i, d in
                d >= 0 ? .value(Int64(d)) : .param(names[i] ?? (i == 0 ? "batch" : i == 1 ? "sequence" : "\(input.name)_d\(i)"))
            }
            if k == 0 { firstInputDims = dims }
            head.message(11, Self.valueInfo(namer.name(input.name), type: Initializer.onnxType(input.dtype), dims: dims))
        }
        for output in p.graph.outputs {
            let inferred = p.types[output.name]
            // Dynamic dims of an output take the first input's name at the same axis
            // (batch, sequence); others stay unnamed.
            let dims = (inferred?.shape ?? output.shape).enumerated().map { i, d -> ONNXDim in
                if d >= 0 { return .value(Int64(d)) }
                if i < firstInputDims.count, case .param = firstInputDims[i] { return firstInputDims[i] }
                return .unknown
            }
            let dtype = inferred?.dtype ?? output.dtype
            head.message(12, Self.valueInfo(namer.name(output.name), type: Initializer.onnxType(dtype), dims: dims))
        }
        // Each weight: TensorProto header, then raw_data's tag and length, then its bytes
        // (streamed); with external data, the header names the data file's byte range.
        let external = usesExternalData(model, options: options)
        var tensorHeads: [[UInt8]] = []
        var dataOffsets: [Int] = []
        var graphLength = head.bytes.count
        var dataLength = 0
        for (name, t) in p.weights {
            var th = ProtoEncoder()
            for d in t.shape.dims { th.int(1, Int64(d)) }
            th.int(2, Int64(Initializer.onnxType(t.dtype)))
            th.string(8, namer.name(name))
            var inline = t.byteCount
            if external {
                dataLength = (dataLength + Self.externalAlignment - 1) / Self.externalAlignment * Self.externalAlignment
                dataOffsets.append(dataLength)
                for (k, v) in [("location", Self.dataFileName), ("offset", String(dataLength)), ("length", String(t.byteCount))] {
                    var entry = ProtoEncoder()
                    entry.string(1, k)
                    entry.string(2, v)
                    th.message(13, entry)
                }
                th.int(14, 1)
                dataLength += t.byteCount
                inline = 0
            } else {
                th.bytes += ProtoEncoder.header(9, length: t.byteCount)
            }
            let framed = ProtoEncoder.header(5, length: th.bytes.count + inline) + th.bytes
            tensorHeads.append(framed)
            graphLength += framed.count + inline
        }
        var model = ProtoEncoder()
        model.int(1, Self.irVersion(opset: opset))
        model.string(2, "porter")
        model.string(3, PorterVersion.current)
        var op = ProtoEncoder()
        op.string(1, "")
        op.int(2, Int64(opset))
        model.message(8, op)
        model.bytes += ProtoEncoder.header(7, length: graphLength)

        var modelURL = url
        var data: OutputFile?
        if external {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            modelURL = url.appendingPathComponent(Self.modelFileName)
            data = try OutputFile(path: url.appendingPathComponent(Self.dataFileName).path)
        }
        let out = try OutputFile(path: modelURL.path)
        try out.write(model.bytes)
        try out.write(head.bytes)
        options.progress.begin("writing ONNX", totalUnits: Int64(p.weights.reduce(0) { $0 + $1.tensor.byteCount }))
        for (i, (_, t)) in p.weights.enumerated() {
            try out.write(tensorHeads[i])
            if let data {
                try data.writeZeros(dataOffsets[i] - data.bytesWritten)
                try data.write(tensor: t)
            } else {
                try out.write(tensor: t)
            }
            options.progress.advance(Int64(t.byteCount))
        }
        options.progress.end()
        try out.close()
        try data?.close()
    }

    static func node(_ n: ONNXNodeOut) -> ProtoEncoder {
        var e = ProtoEncoder()
        for i in n.inputs { e.string(1, i) }
        for o in n.outputs { e.string(2, o) }
        e.string(3, n.name)
        e.string(4, n.op)
        for a in n.attributes {
            var p = ProtoEncoder()
            switch a {
            case let .int(name, v): p.string(1, name); p.int(20, 2); p.int(3, v)
            case let .ints(name, v): p.string(1, name); p.int(20, 7); p.packedInts(8, v)
            case let .float(name, v): p.string(1, name); p.int(20, 1); p.float(2, v)
            case let .string(name, v): p.string(1, name); p.int(20, 3); p.string(4, v)
            case let .tensor(name, dataType, dims, raw):
                var t = ProtoEncoder()
                for d in dims { t.int(1, d) }
                t.int(2, Int64(dataType))
                t.data(9, raw)
                p.string(1, name); p.int(20, 4); p.message(5, t)
            }
            e.message(5, p)
        }
        return e
    }

    static func valueInfo(_ name: String, type: Int, dims: [ONNXDim]?) -> ProtoEncoder {
        var tensor = ProtoEncoder()
        tensor.int(1, Int64(type))
        if let dims {
            var shape = ProtoEncoder()
            for d in dims {
                var dim = ProtoEncoder()
                switch d {
                case let .value(v): dim.int(1, v)
                case let .param(s): dim.string(2, s)
                case .unknown: break
                }
                shape.message(1, dim)
            }
            tensor.message(2, shape)
        }
        var typeProto = ProtoEncoder()
        typeProto.message(1, tensor)
        var v = ProtoEncoder()
        v.string(1, name)
        v.message(2, typeProto)
        return v
    }
}
