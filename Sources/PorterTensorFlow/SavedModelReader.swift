import Foundation
import PorterCore

/// One input or output of a SavedModel signature.
public struct SignatureTensor: Sendable, Hashable, Codable {
    public var key: String
    /// Graph tensor the signature binds (`serving_default_x:0`).
    public var tensorName: String
    /// Porter's dtype name, or TensorFlow's for kinds Porter does not carry.
    public var dtype: String
    /// Dimensions; -1 for unknown. Nil for unknown rank.
    public var shape: [Int]?
}

/// A SavedModel signature (`serving_default`, ...).
public struct SavedModelSignature: Sendable, Hashable, Codable {
    public var name: String
    public var methodName: String
    public var inputs: [SignatureTensor]
    public var outputs: [SignatureTensor]
}

/// Reads a TensorFlow SavedModel folder (`saved_model.pb` + `variables/`): signatures
/// into config and metadata, variables through the tensor bundle reader named by the
/// SavedModel's object graph (Keras variable paths such as `fc1/kernel`).
public struct TensorFlowSavedModelReader: ModelReader {
    public init() {}

    /// Cap on `saved_model.pb` (protobuf's own limit is 2 GiB).
    public static let maxProtoBytes = 1 << 31

    public var info: FormatInfo {
        FormatInfo(id: "tensorflow-savedmodel", name: "TensorFlow SavedModel",
                   extensions: ["saved_model.pb"],
                   summary: "SavedModel folders: signatures, variables named by the object graph, function graph for a documented op subset")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory { return input.entries.contains("saved_model.pb") ? .certain : .no }
        return input.url.lastPathComponent == "saved_model.pb" ? .certain : .no
    }

    /// Decodes `saved_model.pb` in `folder` with the recursion limit.
    static func loadProto(folder: URL) throws -> Tensorflow_SavedModel {
        let path = folder.appendingPathComponent("saved_model.pb").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TensorFlowError.badSavedModel(file: path, reason: "no saved_model.pb in the folder (a .pbtxt SavedModel is not supported)")
        }
        let file = try OpenFile(path: path)
        guard file.size <= maxProtoBytes else {
            throw TensorFlowError.badSavedModel(file: path, reason: "\(file.size) bytes exceeds protobuf's 2 GiB limit")
        }
        let bytes = try file.read(offset: 0, count: file.size)
        do {
            return try Tensorflow_SavedModel(serializedBytes: bytes, options: protobufOptions)
        } catch {
            throw TensorFlowError.badSavedModel(file: path, reason: "not a SavedModel protobuf: \(error)")
        }
    }

    /// The meta graph tagged `serve`, else the first.
    static func servingMetaGraph(_ saved: Tensorflow_SavedModel, path: String) throws -> Tensorflow_MetaGraphDef {
        guard !saved.metaGraphs.isEmpty else { throw TensorFlowError.badSavedModel(file: path, reason: "no meta graphs") }
        return saved.metaGraphs.first(where: { $0.metaInfoDef.tags.contains("serve") }) ?? saved.metaGraphs[0]
    }

    /// The signatures of the SavedModel in `folder`, sorted by name, inputs and outputs by key.
    public static func signatures(folder: URL) throws -> [SavedModelSignature] {
        let path = folder.appendingPathComponent("saved_model.pb").path
        return signatures(of: try servingMetaGraph(try loadProto(folder: folder), path: path))
    }

    static func signatures(of meta: Tensorflow_MetaGraphDef) -> [SavedModelSignature] {
        func tensors(_ map: [String: Tensorflow_TensorInfo]) -> [SignatureTensor] {
            map.keys.sorted().map { key in
                let t = map[key]!
                let shape: [Int]? = t.hasTensorShape && !t.tensorShape.unknownRank ? t.tensorShape.dim.map { Int($0.size) } : nil
                return SignatureTensor(key: key, tensorName: t.name, dtype: TensorBundle.dtypeName(t.dtype.rawValue), shape: shape)
            }
        }
        return meta.signatureDef.keys.sorted().filter { !$0.hasPrefix("__") }.map { name in
            let s = meta.signatureDef[name]!
            return SavedModelSignature(name: name, methodName: s.methodName, inputs: tensors(s.inputs), outputs: tensors(s.outputs))
        }
    }

    /// Object graph node id → variable name (`fc1/kernel`) from the SavedModel's object graph.
    static func variableNames(_ meta: Tensorflow_MetaGraphDef) -> [Int: String] {
        var out: [Int: String] = [:]
        var seen: [String: Int] = [:]
        for (id, node) in meta.objectGraphDef.nodes.enumerated() {
            guard case let .variable(v)? = node.kind, !v.name.isEmpty else { continue }
            var name = v.name
            if name.hasSuffix(":0") { name.removeLast(2) }
            seen[name, default: 0] += 1
            out[id] = name
        }
        // Names Keras reused (two layers with one name) would collide: keep object paths for them.
        return out.filter { seen[$0.value] == 1 }
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        let folder = url.lastPathComponent == "saved_model.pb" ? url.deletingLastPathComponent() : url
        let pbPath = folder.appendingPathComponent("saved_model.pb").path
        let saved = try Self.loadProto(folder: folder)
        let meta = try Self.servingMetaGraph(saved, path: pbPath)
        var model: NeutralModel
        var naming: CheckpointNaming?
        let variablesPrefix = folder.appendingPathComponent("variables/variables").path
        if FileManager.default.fileExists(atPath: variablesPrefix + ".index") {
            let bundle = try TensorBundle(prefix: variablesPrefix)
            let n = try CheckpointNaming(bundle: bundle, preferredNames: Self.variableNames(meta))
            naming = n
            model = try bundle.neutralModel(sourceFormat: info.id, naming: n, progress: options.progress)
            model.sourceFiles.insert(pbPath, at: 0)
        } else {
            model = NeutralModel(sourceFormat: info.id, sourceFiles: [pbPath], notes: ["the SavedModel has no variables"])
        }
        let sigs = Self.signatures(of: meta)
        var sigJSON: [String: JSONValue] = [:]
        for s in sigs {
            func json(_ ts: [SignatureTensor]) -> JSONValue {
                .object(Dictionary(uniqueKeysWithValues: ts.map { t in
                    (t.key, JSONValue.object(["tensor": .string(t.tensorName), "dtype": .string(t.dtype),
                                              "shape": t.shape.map { .array($0.map { .int(Int64($0)) }) } ?? .null]))
                }))
            }
            sigJSON[s.name] = .object(["method": .string(s.methodName), "inputs": json(s.inputs), "outputs": json(s.outputs)])
            func text(_ ts: [SignatureTensor]) -> String {
                ts.map { "\($0.key): \($0.dtype)\($0.shape.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "[?]")" }.joined(separator: ", ")
            }
            model.metadata["signature.\(s.name)"] = "inputs (\(text(s.inputs))) → outputs (\(text(s.outputs)))"
        }
        var config: [String: JSONValue] = ["signatures": .object(sigJSON),
                                           "tags": .array(meta.metaInfoDef.tags.map { .string($0) })]
        if !meta.metaInfoDef.tensorflowVersion.isEmpty {
            config["tensorflow_version"] = .string(meta.metaInfoDef.tensorflowVersion)
            model.metadata["tensorflow.version"] = meta.metaInfoDef.tensorflowVersion
        }
        model.config = .object(config)
        var variableTensor: [Int: String] = [:]
        if let naming {
            for entry in model.tensors {
                if let node = naming.nodeOfKey[entry.provenance.sourceName] { variableTensor[node] = entry.name }
            }
        }
        let importer = SavedModelGraphImporter(meta: meta, model: model, file: pbPath, variableTensor: variableTensor)
        switch importer.importServingGraph() {
        case let .success((graph, constants)):
            for (name, tensor) in constants.sorted(by: { $0.key < $1.key }) {
                try model.tensors.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: pbPath, sourceName: name, transforms: [.graphConstant])))
            }
            model.graph = graph
            model.notes.append("graph imported from the 'serving_default' signature (\(graph.nodes.count) nodes)")
        case let .failure(failure):
            model.graphUnavailable = failure.description
            model.notes.append("no graph: \(failure.description); verification stays at the weights level")
            if !failure.missingOps.isEmpty { model.metadata["tensorflow.graph.missing_ops"] = failure.missingOps.joined(separator: ", ") }
        }
        return model
    }
}

extension TensorFlowSavedModelReader: HazardChecking {
    /// Tensor bundles and protobufs hold no code Porter could run; reading the file (its
    /// checksums, and a `checkpoint` state file's path confinement) is the check.
    public func hazards(of url: URL) throws -> [String] {
        _ = try read(url, options: ReadOptions())
        return []
    }
}
