import Foundation
import PorterCore
import PorterOps

/// Reads an ONNX model (`.onnx`): its initializers become the model's tensors, read
/// lazily from the mapped file (raw_data), decoded on demand (typed fields such as
/// float_data / int64_data), or from external data files inside the model's folder.
/// The ModelProto is located by a wire-format scan: initializer payloads are never
/// copied while reading, and every length is checked against its enclosing message.
public struct ONNXReader: ModelReader {
    public init() {}

    /// protobuf's limit for one serialised message: larger models keep weights outside.
    public static let maxModelBytes = Int(Int32.max)

    public var info: FormatInfo {
        FormatInfo(id: "onnx", name: "ONNX", extensions: [".onnx"],
                   summary: "ONNX models: initializers (raw, typed fields, external data, read lazily), graph imported through the op specs")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        // The folder the ONNX writer makes for external data: model.onnx + model.onnx.data.
        if input.isDirectory { return input.entries.contains("model.onnx") && !input.entries.contains("config.json") ? .likely : .no }
        guard input.url.pathExtension.lowercased() == "onnx" else { return .no }
        // A ModelProto written by onnx starts with ir_version (field 1, varint: tag 0x08).
        return input.headStarts(with: [0x08]) ? .certain : .likely
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            return try read(url.appendingPathComponent("model.onnx"), options: options)
        }
        let path = url.path
        let file = try OpenFile(path: path)
        guard file.size <= Self.maxModelBytes else {
            throw ONNXError.fileTooLarge(file: path, size: file.size, limit: Self.maxModelBytes)
        }
        let proto = try file.withMappedBytes(offset: 0, count: file.size) { bytes in
            try ProtoParser(bytes: bytes, file: path).model()
        }
        guard let graph = proto.graph else { throw ONNXError.noGraph(file: path) }

        var model = NeutralModel(sourceFormat: info.id, sourceFiles: [path])
        let external = ExternalData(modelPath: path)
        var seen = Set<String>()
        for t in graph.initializers {
            guard !t.name.isEmpty else { throw ONNXError.unnamedTensor(file: path, offset: t.offset) }
            guard seen.insert(t.name).inserted else { throw ONNXError.duplicateTensor(file: path, tensor: t.name, offset: t.offset) }
            switch try Initializer.tensor(t, file: file, external: external) {
            case let .tensor(ref):
                var prov = Provenance(sourceFile: path, sourceName: t.name)
                if t.dataLocation == 1, let loc = t.externalData.first(where: { $0.key == "location" })?.value {
                    prov.sourceFile = external.folder.appendingPathComponent(loc).path
                }
                try model.tensors.add(TensorEntry(name: t.name, tensor: ref, provenance: prov))
            case let .dropped(reason, bytes):
                model.dropped.append(DroppedTensor(name: t.name, reason: reason, byteCount: bytes, sourceFile: path))
            }
        }
        if graph.initializers.isEmpty { try constantWeights(graph, file: file, external: external, into: &model) }
        let branches = try branchInitializers(graph, file: file, external: external, into: &model)
        Self.describe(proto, graph: graph, into: &model)
        try importGraph(proto, graph: graph, file: file, external: external, branches: branches, into: &model)
        model.sourceFiles += external.filesOpened
        return model
    }

    /// A graph with no initializers keeps its weights in Constant nodes (Paddle2ONNX writes
    /// RapidOCR's models so): each Constant's tensor value becomes a model tensor named by the
    /// node's output, with `graph constant` provenance, so converting the file loses nothing
    /// (scalars excepted: they stay constants of the graph). When no If branch has initializers
    /// either, the Constants inside the branches (nested ones included; spox writes silero-vad's
    /// whole network there) are read the same way, then before else; a name another tensor has
    /// already becomes `<If output>/<branch>/<name>`, as for branch initializers.
    func constantWeights(_ graph: GraphProto, file: OpenFile, external: ExternalData, into model: inout NeutralModel) throws {
        var inBranches = 0
        var renamed: [String] = []
        func read(_ g: GraphProto, prefix: String?) throws {
            for n in g.nodes where n.opType == "Constant" && (n.domain.isEmpty || n.domain == "ai.onnx") {
                guard let out = n.outputs.first, !out.isEmpty,
                      let a = n.attributes.first(where: { $0.name == "value" }), var t = a.t, !t.dims.isEmpty else { continue }
                // (A scalar is never a weight: it stays a constant of the graph.)
                var name = out
                if model.tensors[name] != nil || model.dropped.contains(where: { $0.name == name }) {
                    guard let prefix else { continue }
                    name = "\(prefix)/\(out)"
                    guard model.tensors[name] == nil else { throw ONNXError.duplicateTensor(file: file.path, tensor: name, offset: t.offset) }
                    renamed.append("\(out) → \(name)")
                }
                if t.name.isEmpty { t.name = out }
                switch try Initializer.tensor(t, file: file, external: external) {
                case let .tensor(ref):
                    try model.tensors.add(TensorEntry(name: name, tensor: ref, provenance: Provenance(sourceFile: file.path, sourceName: out, transforms: [.graphConstant])))
                    if prefix != nil { inBranches += 1 }
                case let .dropped(reason, bytes):
                    model.dropped.append(DroppedTensor(name: name, reason: reason, byteCount: bytes, sourceFile: file.path))
                }
            }
        }
        try read(graph, prefix: nil)
        if Self.subgraphStats(graph).initializers == 0 {
            try Self.eachIfBranch(graph) { n, branch, sub in try read(sub, prefix: "\(n.outputs.first ?? n.name)/\(branch)") }
        }
        if !model.tensors.names.isEmpty {
            model.notes.append("no initializers: the \(model.tensors.names.count) Constant nodes' values are read as the model's tensors"
                               + (inBranches > 0 ? " (\(inBranches) of them inside If branches)" : "")
                               + (renamed.isEmpty ? "" : " (renamed: \(renamed.joined(separator: ", ")))"))
        }
    }

    /// The initializers of If branches (silero-vad keeps its whole network there), nested ones
    /// included, read as model tensors: each keeps its name when no other tensor has it, else
    /// becomes `<If output>/<branch>/<name>`; its provenance names it as in the branch, and a
    /// note says which If and branch each group came from. Returns, per branch
    /// (`ONNXGraphImporter.branchKey`), the names in the branch → the model tensors' names.
    func branchInitializers(_ graph: GraphProto, file: OpenFile, external: ExternalData, into model: inout NeutralModel) throws -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        try Self.eachIfBranch(graph) { n, branch, sub in
            let key = ONNXGraphImporter.branchKey(n, branch)
            var names: [String: String] = [:]
            var renamed: [String] = []
            for t in sub.initializers {
                guard !t.name.isEmpty else { throw ONNXError.unnamedTensor(file: file.path, offset: t.offset) }
                guard names[t.name] == nil else { throw ONNXError.duplicateTensor(file: file.path, tensor: t.name, offset: t.offset) }
                var name = t.name
                if model.tensors[name] != nil || model.dropped.contains(where: { $0.name == name }) {
                    name = "\(n.outputs.first ?? n.name)/\(branch)/\(t.name)"
                    renamed.append("\(t.name) → \(name)")
                }
                guard model.tensors[name] == nil else { throw ONNXError.duplicateTensor(file: file.path, tensor: name, offset: t.offset) }
                switch try Initializer.tensor(t, file: file, external: external) {
                case let .tensor(ref):
                    try model.tensors.add(TensorEntry(name: name, tensor: ref, provenance: Provenance(sourceFile: file.path, sourceName: t.name)))
                    names[t.name] = name
                case let .dropped(reason, bytes):
                    model.dropped.append(DroppedTensor(name: name, reason: reason, byteCount: bytes, sourceFile: file.path))
                }
            }
            if !sub.initializers.isEmpty {
                model.notes.append("If node '\(n.name)' \(branch): \(sub.initializers.count) initializer(s) read as tensors"
                                   + (renamed.isEmpty ? "" : " (renamed: \(renamed.joined(separator: ", ")))"))
            }
            result[key] = names
        }
        return result
    }

    /// The graph in Porter's op set, validated against the op specs; when it cannot be
    /// imported the model stays weights-only and the notes say why (metadata
    /// `onnx.graph.unsupported_ops` lists the operators Porter does not run).
    func importGraph(_ proto: ModelProto, graph: GraphProto, file: OpenFile, external: ExternalData, branches: [String: [String: String]] = [:],
                     into model: inout NeutralModel) throws {
        var constants: [String: TensorRef] = [:]
        // Constant nodes of the graph and of its If branches (which may be inlined).
        var nodes: [NodeProto] = []
        func collect(_ list: [NodeProto]) {
            for n in list {
                nodes.append(n)
                if n.opType == "If" { for a in n.attributes { if let g = a.g { collect(g.nodes) } } }
            }
        }
        collect(graph.nodes)
        for n in nodes where n.opType == "Constant" && (n.domain.isEmpty || n.domain == "ai.onnx") {
            guard let out = n.outputs.first, let a = n.attributes.first(where: { $0.name == "value" }), var t = a.t else { continue }
            if t.name.isEmpty { t.name = out }
            if case let .tensor(ref) = try Initializer.tensor(t, file: file, external: external) { constants[out] = ref }
        }
        // ConstantOfShape's fill value, under `<output>#value` (no graph value has a `#`).
        for n in nodes where n.opType == "ConstantOfShape" && (n.domain.isEmpty || n.domain == "ai.onnx") {
            guard let out = n.outputs.first, let a = n.attributes.first(where: { $0.name == "value" }), var t = a.t else { continue }
            if t.name.isEmpty { t.name = out + "#value" }
            if case let .tensor(ref) = try Initializer.tensor(t, file: file, external: external) { constants[out + "#value"] = ref }
        }
        let initializers = Dictionary(model.tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let opset = proto.opsets.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 1
        let importer = ONNXGraphImporter(graph: graph, opset: opset, file: file.path, initializers: initializers, constantValues: constants,
                                         branchTensors: branches)
        switch importer.run() {
        case let .success((g, used)):
            var store = model.tensors
            for (name, tensor) in used.sorted(by: { $0.key < $1.key }) where store[name] == nil {
                try store.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: file.path, sourceName: name, transforms: [.graphConstant])))
            }
            do {
                _ = try GraphValidator.validate(g, tensors: store)
            } catch {
                model.notes.append("no graph: the imported graph fails the op specs: \(error.localizedDescription); verification stays at the weights level")
                return
            }
            model.tensors = store
            model.graph = g
            model.notes.append("graph imported (\(g.nodes.count) nodes)")
        case let .failure(failure):
            model.notes.append("no graph: \(failure.description); verification stays at the weights level")
            if !failure.unsupportedOperators.isEmpty {
                model.metadata["onnx.graph.unsupported_ops"] = failure.unsupportedOperators.joined(separator: ", ")
            }
        }
    }

    /// Graph facts as metadata (`porter inspect` shows them): IR version, opsets, producer,
    /// inputs and outputs with symbolic dims, and the op histogram.
    static func describe(_ proto: ModelProto, graph: GraphProto, into model: inout NeutralModel) {
        var meta: [String: String] = [:]
        meta["onnx.ir_version"] = String(proto.irVersion)
        meta["onnx.opset_import"] = proto.opsets
            .map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }.joined(separator: ", ")
        let producer = [proto.producerName, proto.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        if !producer.isEmpty { meta["onnx.producer"] = producer }
        if !proto.domain.isEmpty { meta["onnx.domain"] = proto.domain }
        if proto.modelVersion != 0 { meta["onnx.model_version"] = String(proto.modelVersion) }
        if !graph.name.isEmpty { meta["onnx.graph"] = graph.name }
        let initializerNames = Set(graph.initializers.map(\.name))
        // IR < 4 lists initializers among the inputs too; those are weights, not inputs.
        meta["onnx.inputs"] = graph.inputs.filter { !initializerNames.contains($0.name) }.map(\.summary).joined(separator: "; ")
        meta["onnx.outputs"] = graph.outputs.map(\.summary).joined(separator: "; ")
        meta["onnx.ops"] = opHistogram(graph).map { "\($0.op)×\($0.count)" }.joined(separator: " ")
        for (k, v) in proto.metadata { meta["onnx.meta.\(k)"] = v }
        model.metadata = meta

        if graph.sparseInitializerCount > 0 {
            model.notes.append("\(graph.sparseInitializerCount) sparse initializer(s) not read (Porter reads dense initializers only)")
        }
        let sub = subgraphStats(graph)
        if sub.graphs > 0 {
            model.notes.append("\(sub.graphs) subgraph(s) (If/Loop/Scan bodies) hold \(sub.nodes) node(s) and \(sub.initializers) initializer(s); those of If branches are read as tensors, those of Loop/Scan bodies are not")
        }
        if proto.functionCount > 0 { model.notes.append("\(proto.functionCount) model-local function(s) not read") }
    }

    /// Nodes per operator, sorted by operator; operators outside the default domain are
    /// spelled `domain.Op`.
    static func opHistogram(_ graph: GraphProto) -> [(op: String, count: Int)] {
        var counts: [String: Int] = [:]
        for n in graph.nodes {
            let op = n.domain.isEmpty || n.domain == "ai.onnx" ? n.opType : "\(n.domain).\(n.opType)"
            counts[op, default: 0] += 1
        }
        return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Calls `body` for each branch of each If (default domain), then before else whatever the
    /// order of the attributes in the file, and then for the Ifs inside that branch.
    static func eachIfBranch(_ g: GraphProto, _ body: (NodeProto, String, GraphProto) throws -> Void) rethrows {
        for n in g.nodes where n.opType == "If" && (n.domain.isEmpty || n.domain == "ai.onnx") {
            for branch in ["then_branch", "else_branch"] {
                guard let sub = n.attributes.first(where: { $0.name == branch })?.g else { continue }
                try body(n, branch, sub)
                try eachIfBranch(sub, body)
            }
        }
    }

    static func subgraphStats(_ graph: GraphProto) -> (graphs: Int, nodes: Int, initializers: Int) {
        var result = (graphs: 0, nodes: 0, initializers: 0)
        for n in graph.nodes {
            for a in n.attributes {
                for g in (a.g.map { [$0] } ?? []) + a.graphs {
                    let inner = subgraphStats(g)
                    result.graphs += 1 + inner.graphs
                    result.nodes += g.nodes.count + inner.nodes
                    result.initializers += g.initializers.count + inner.initializers
                }
            }
        }
        return result
    }
}

extension ONNXReader: HazardChecking {
    /// `porter scan`: an external-data location that leads out of the model's folder is the
    /// hazard (the first one met, as the reader refuses it); a malformed file throws.
    public func hazards(of url: URL) throws -> [String] {
        do {
            _ = try read(url, options: ReadOptions())
            return []
        } catch let error as ONNXError {
            if case .externalDataRefused = error { return [error.localizedDescription] }
            throw error
        }
    }
}
