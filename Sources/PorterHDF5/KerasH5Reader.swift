import CHDF5Shim
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PorterCore

/// The HDF5 file signature.
public let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

/// Reads Keras 2 / tf-keras `.h5` files (full models with `model_config` and
/// `model_weights`, and `save_weights` files with `layer_names` at the root),
/// transformers' `tf_model.h5`, and plain HDF5 files (every dataset by path).
///
/// Tensor names are the dataset paths under the weights root, `<layer>/<weight name>`
/// (`dense/dense/kernel:0`, `bert/tf_bert_model/bert/.../weight:0`), so a file written back
/// by `KerasH5Writer` has the same layout. Optimizer state is dropped with its reason.
/// When `model_config` is present, the Keras layer graph is built (`KerasGraphBuilder`);
/// a layer Porter cannot express leaves the graph nil with a note naming it.
public struct KerasH5Reader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "keras-h5", name: "Keras / transformers HDF5", extensions: [".h5", ".hdf5", ".keras.h5", "tf_model.h5", "tf_model.h5.index.json"],
                   summary: "Keras 2 full-model and weights files, transformers tf_model.h5 (single or sharded), plain HDF5 datasets (libhdf5)")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory {
            // A transformers TF folder (tf_model.h5 or its shard index + config.json) without safetensors weights.
            let tf = (input.entries.contains("tf_model.h5") || input.entries.contains(TFShardIndex.fileName))
                && !input.entries.contains("model.safetensors") && !input.entries.contains("model.safetensors.index.json")
            return tf ? .likely : .no
        }
        if input.url.lastPathComponent.hasSuffix(TFShardIndex.fileName) { return .certain }
        if input.headStarts(with: hdf5Signature) { return .certain }
        let ext = input.url.pathExtension.lowercased()
        return ext == "h5" || ext == "hdf5" ? .likely : .no
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        if let exe = HDF5Isolation.executable { return try HDF5Isolation.read(url, format: info.id, options: options, executable: exe) }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            let single = url.appendingPathComponent("tf_model.h5")
            let index = url.appendingPathComponent(TFShardIndex.fileName)
            let useIndex = !FileManager.default.fileExists(atPath: single.path) && FileManager.default.fileExists(atPath: index.path)
            return try read(useIndex ? index : single, options: options)
        }
        var model: NeutralModel
        if url.lastPathComponent.hasSuffix(TFShardIndex.fileName) {
            model = try TFShardIndex.read(url, format: info.id)
        } else {
            model = try KerasWeightsLoader.load(try H5File(path: url.path), sourceFile: url.path, format: info.id)
        }
        // transformers folders keep config.json beside tf_model.h5.
        if model.graph == nil, model.metadata["keras_model_config"] == nil {
            let sibling = url.deletingLastPathComponent().appendingPathComponent("config.json")
            if let data = try? Data(contentsOf: sibling), let json = try? JSONValue.parse(data), json["model_type"] != nil {
                model.config = json
                model.sourceFiles.append(sibling.path)
                model.notes.append("config from \(sibling.lastPathComponent) beside the weights (transformers model type \(json["model_type"]?.stringValue ?? "?"))")
            }
        }
        return model
    }
}

/// Reads Keras 3 `.keras` archives: `config.json` (the layer graph), `metadata.json`,
/// and `model.weights.h5` (`layers/<layer>/vars/<i>`), which is copied out to a private
/// temporary file that libhdf5 opens and that is unlinked at once.
public struct KerasArchiveReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "keras", name: "Keras 3 archive", extensions: [".keras"],
                   summary: "Keras 3 .keras zip (config.json, metadata.json, model.weights.h5)")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        guard !input.isDirectory, input.headStarts(with: [0x50, 0x4B, 0x03, 0x04]) else { return .no }
        if input.url.pathExtension.lowercased() == "keras" { return .certain }
        // The first local header's name: Keras writes metadata.json, config.json, model.weights.h5.
        guard input.head.count >= 30 else { return .no }
        let n = Int(input.head[26]) | Int(input.head[27]) << 8
        guard 30 + n <= input.head.count else { return .no }
        let name = String(decoding: input.head[30..<(30 + n)], as: UTF8.self)
        return ["metadata.json", "config.json", "model.weights.h5"].contains(name) ? .likely : .no
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        if let exe = HDF5Isolation.executable { return try HDF5Isolation.read(url, format: info.id, options: options, executable: exe) }
        let archive = try OpenFile(path: url.path)
        let zip = try StoredZip(file: archive)
        let configBytes = try zip.read("config.json")
        let config: JSONValue
        do { config = try JSONValue.parse(Data(configBytes)) } catch {
            throw HDF5Error.invalidModelConfig(file: url.path + ":config.json", reason: "not JSON (\(error.localizedDescription))")
        }
        var metadata: [String: String] = [:]
        if zip.entries["metadata.json"] != nil, let meta = try? JSONValue.parse(Data(zip.read("metadata.json"))) {
            for (k, v) in meta.objectValue ?? [:] { if let s = v.stringValue { metadata[k] = s } }
        }
        let h5 = try Self.openWeights(url, archive: archive, zip: zip)
        var model = try KerasWeightsLoader.loadKeras3(h5, sourceFile: url.path, config: config, format: info.id)
        for (k, v) in metadata { model.metadata[k] = v }
        return model
    }

    /// The member Keras keeps the weights in.
    public static let weightsMember = "model.weights.h5"

    /// How errors name the weights of archive `path`: the user's file and the member.
    static func memberLabel(_ path: String) -> String { "\(path): member \(weightsMember)" }

    /// Opens the archive's `model.weights.h5` with libhdf5 (hazards checked unless
    /// `checkHazards` is false). The member is copied (kernel copy) into a file that has no
    /// name from the start (`O_TMPFILE`, or created and unlinked at once), which libhdf5 opens
    /// as `/proc/self/fd/N`: no exit path, SIGKILL included, leaves a temporary file behind.
    /// Errors name `<archive>: member model.weights.h5`, never a temporary path.
    static func openWeights(_ url: URL, archive: OpenFile? = nil, zip: StoredZip? = nil, checkHazards: Bool = true) throws -> H5File {
        let archive = try archive ?? OpenFile(path: url.path)
        let zip = try zip ?? StoredZip(file: archive)
        let weights = try zip.storedRange(weightsMember)
        let label = memberLabel(url.path)
        let dir = FileManager.default.temporaryDirectory.path
        let fd = porter_anonymous_copy(archive.fd, Int64(weights.offset), Int64(weights.count), dir)
        guard fd >= 0 else {
            throw HDF5Error.archive(file: url.path, offset: weights.offset,
                                    reason: "cannot copy \(weightsMember) to a temporary file in \(dir): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }  // libhdf5 and the lazy tensors hold their own descriptors
        let procPath = "/proc/self/fd/\(fd)"
        if access(procPath, R_OK) == 0 {
            return try H5File(path: procPath, label: label, checkHazards: checkHazards)
        }
        // No /proc (not Linux): a named private file, removed as soon as it is open.
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("porter-keras-\(UUID().uuidString).weights.h5")
        let out = try OutputFile(path: temp.path)
        defer { try? FileManager.default.removeItem(at: temp) }
        try out.copy(from: archive, offset: weights.offset, count: weights.count)
        try out.close()
        return try H5File(path: temp.path, label: label, checkHazards: checkHazards)
    }
}

/// Turns an open HDF5 file in one of Keras' layouts into a `NeutralModel`.
enum KerasWeightsLoader {
    static func load(_ file: H5File, sourceFile: String, format: String) throws -> NeutralModel {
        var model = NeutralModel(sourceFormat: format, sourceFiles: [sourceFile])
        for key in ["keras_version", "backend"] {
            if let v = try file.stringAttribute(key, on: "/") { model.metadata[key] = v }
        }
        var kerasConfig: JSONValue?
        if let text = try file.stringAttribute("model_config", on: "/") {
            do { kerasConfig = try JSONValue.parse(Data(text.utf8)) } catch {
                throw HDF5Error.invalidModelConfig(file: sourceFile, reason: "root attribute model_config is not JSON")
            }
            model.config = kerasConfig ?? .null
            model.metadata["keras_model_config"] = "present"
        }
        if try file.hasAttribute("training_config", on: "/") {
            model.notes.append("training_config (loss, optimizer settings) is not carried over")
        }
        let root = file.exists("model_weights") ? "model_weights" : ""
        var wanted = Set<String>()
        if root.isEmpty, let names = try file.kerasListAttribute("layer_names", on: root), !names.isEmpty, names.allSatisfy({ file.isDataset($0) }) {
            // One shard of transformers' sharded TF weights read on its own: layer_names lists
            // the datasets themselves (TFShardIndex reads the set with the model's names).
            model.metadata["keras_layout"] = "transformers-shard"
            model.notes.append("a transformers tf_model shard read without its \(TFShardIndex.fileName): tensors are named by dataset path")
            for name in names { try add(&model, name: name, path: name, file: file, sourceFile: sourceFile) }
        } else if let layers = try file.kerasListAttribute("layer_names", on: root) {
            model.metadata["keras_layout"] = root.isEmpty ? "weights-only" : "full-model"
            var layerGroups = layers
            if file.exists(join(root, "top_level_model_weights")), !layers.contains("top_level_model_weights") {
                layerGroups.append("top_level_model_weights")
            }
            for layer in layerGroups {
                let layerPath = join(root, layer)
                guard file.exists(layerPath) else { throw HDF5Error.missingObject(file: sourceFile, path: file.display(layerPath)) }
                guard let weightNames = try file.kerasListAttribute("weight_names", on: layerPath) else {
                    throw HDF5Error.missingWeightNames(file: sourceFile, layerPath: file.display(layerPath))
                }
                for wn in weightNames {
                    let path = join(layerPath, wn)
                    guard file.isDataset(path) else {
                        throw HDF5Error.missingWeight(file: sourceFile, layerPath: file.display(layerPath), weightName: wn)
                    }
                    let name = layer + "/" + wn
                    try add(&model, name: name, path: path, file: file, sourceFile: sourceFile)
                    wanted.insert(path)
                }
                // Datasets in a layer group that weight_names does not list are not weights Keras loads.
                for rel in try file.datasets(under: layerPath) where !wanted.contains(join(layerPath, rel)) {
                    let d = try file.describeDataset(join(layerPath, rel))
                    model.dropped.append(DroppedTensor(name: layer + "/" + rel, reason: "not listed in the layer's weight_names, so Keras does not load it",
                                                       byteCount: (d.shape.elementCount ?? 0) * d.dtype.byteSize, sourceFile: sourceFile))
                }
            }
        } else if file.exists("layers") && file.exists("vars") {
            // Keras 3 `save_weights("x.weights.h5")` (and the member of a .keras archive).
            model.metadata["keras_layout"] = "keras3-weights"
            for rel in try file.datasets(under: "") where !rel.hasPrefix("optimizer/") {
                try add(&model, name: rel, path: rel, file: file, sourceFile: sourceFile)
            }
            try dropOptimizer(&model, file: file, under: "optimizer", sourceFile: sourceFile)
        } else {
            model.metadata["keras_layout"] = "plain-hdf5"
            model.notes.append("no layer_names attribute: not a Keras weights layout; every dataset is read under its HDF5 path")
            for rel in try file.datasets(under: "") where !rel.hasPrefix("optimizer_weights/") {
                try add(&model, name: rel, path: rel, file: file, sourceFile: sourceFile)
            }
        }
        try dropOptimizer(&model, file: file, under: "optimizer_weights", sourceFile: sourceFile)
        if kerasConfig == nil {
            model.graphUnavailable = "\(URL(fileURLWithPath: sourceFile).lastPathComponent) holds weights only (no model_config attribute): Keras saved no architecture to build a graph from"
        }
        if let kerasConfig {
            do {
                model.graph = try KerasGraphBuilder(weights: .keras2(model.tensors)).build(kerasConfig)
            } catch {
                model.graphUnavailable = error.localizedDescription
                model.notes.append("no graph: \(error.localizedDescription); the model is verified at the weights level only")
            }
        }
        return model
    }

    static func loadKeras3(_ file: H5File, sourceFile: String, config: JSONValue, format: String) throws -> NeutralModel {
        var model = NeutralModel(sourceFormat: format, sourceFiles: [sourceFile], config: config)
        model.metadata["keras_layout"] = "keras3"
        var byLayer: [String: [String]] = [:]
        for rel in try file.datasets(under: "") {
            if rel.hasPrefix("optimizer/") { continue }
            try add(&model, name: rel, path: rel, file: file, sourceFile: sourceFile)
            // `.../vars/<i>` under a group whose `vars` carries the layer's name.
            let parts = rel.split(separator: "/").map(String.init)
            if parts.count >= 2, parts[parts.count - 2] == "vars", let index = Int(parts[parts.count - 1]) {
                let varsPath = parts.dropLast().joined(separator: "/")
                if let layerName = try file.stringAttribute("name", on: varsPath) {
                    var list = byLayer[layerName, default: []]
                    while list.count <= index { list.append("") }
                    list[index] = rel
                    byLayer[layerName] = list
                }
            }
        }
        try dropOptimizer(&model, file: file, under: "optimizer", sourceFile: sourceFile)
        do {
            model.graph = try KerasGraphBuilder(weights: .keras3(model.tensors, byLayer)).build(config)
        } catch {
            model.graphUnavailable = error.localizedDescription
            model.notes.append("no graph: \(error.localizedDescription); the model is verified at the weights level only")
        }
        return model
    }

    static func add(_ model: inout NeutralModel, name: String, path: String, file: H5File, sourceFile: String) throws {
        let tensor = try file.tensor(path)
        try tensor.validate(name: "\(sourceFile):\(file.display(path))")
        do {
            try model.tensors.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: sourceFile, sourceName: file.display(path))))
        } catch {
            throw HDF5Error.badAttribute(file: sourceFile, path: file.display(path), attribute: "weight_names", reason: "names \(name) twice")
        }
    }

    private static func dropOptimizer(_ model: inout NeutralModel, file: H5File, under group: String, sourceFile: String) throws {
        guard file.exists(group) else { return }
        for rel in try file.datasets(under: group) {
            let d = try file.describeDataset(join(group, rel))
            model.dropped.append(DroppedTensor(name: group + "/" + rel, reason: "optimizer state, not a model weight",
                                               byteCount: (d.shape.elementCount ?? 0) * d.dtype.byteSize, sourceFile: sourceFile))
        }
    }

    static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : a + "/" + b }
}

/// transformers' sharded TF weights: `tf_model.h5.index.json` (`{"metadata": …,
/// "weight_map": {variable name: shard file}}`) beside `tf_model-0000i-of-N.h5` files that
/// hold each variable as a dataset at its name without the first component (transformers'
/// `tf_shard_checkpoint`; names containing `model.` or of one component are kept whole).
/// Tensors are named as in an unsharded `tf_model.h5` (`<layer>/<variable>`, the layer being
/// the first component of the dataset path), so the same mappings apply. Datasets a shard holds that the index does not map are dropped
/// with that reason.
public enum TFShardIndex {
    public static let fileName = "tf_model.h5.index.json"

    public static func read(_ url: URL, format: String) throws -> NeutralModel {
        let path = url.path
        let index: ShardIndex
        do { index = try ShardIndex.read(url) } catch let e as ShardIndex.Invalid {
            throw HDF5Error.badShardIndex(file: path, reason: e.reason)
        }
        guard !index.weightMap.isEmpty else { throw HDF5Error.badShardIndex(file: path, reason: "no weight_map object with entries") }
        var byShard: [String: [String]] = [:]
        for (variable, shard) in index.weightMap { byShard[shard, default: []].append(variable) }
        let folder = url.deletingLastPathComponent()
        var model = NeutralModel(sourceFormat: format, sourceFiles: [path])
        model.metadata["keras_layout"] = "transformers-sharded"
        if let total = index.totalSize { model.metadata["index_total_size"] = String(total) }
        for shard in index.shards {
            let shardURL = folder.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: shardURL.path) else {
                throw HDF5Error.badShardIndex(file: path, reason: "names shard \(shard), which is missing beside it")
            }
            let h5 = try H5File(path: shardURL.path)
            model.sourceFiles.append(shardURL.path)
            var mapped = Set<String>()
            for variable in byShard[shard]!.sorted() {
                let dataset = datasetPath(of: variable)
                guard h5.isDataset(dataset) else {
                    throw HDF5Error.badShardIndex(file: path, reason: "maps \(variable) to \(shard), which has no dataset \(dataset)")
                }
                // The unsharded file keeps each variable under its top-level Keras layer, which is the
                // first component of the shard's dataset path (`bert` for `tf_bert_model/bert/…`).
                let layer = dataset.split(separator: "/").first.map(String.init) ?? dataset
                try KerasWeightsLoader.add(&model, name: layer + "/" + variable, path: dataset, file: h5, sourceFile: shardURL.path)
                mapped.insert(dataset)
            }
            for rel in try h5.datasets(under: "") where !mapped.contains(rel) {
                let d = try h5.describeDataset(rel)
                model.dropped.append(DroppedTensor(name: rel, reason: "in \(shard) but not in \(fileName)'s weight_map, so transformers does not load it",
                                                   byteCount: (d.shape.elementCount ?? 0) * d.dtype.byteSize, sourceFile: shardURL.path))
            }
        }
        let shardFiles = Set(byShard.keys)
        let strays = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("tf_model-") && $0.hasSuffix(".h5") && !shardFiles.contains($0) }.sorted()
        if !strays.isEmpty {
            model.notes.append("shard file(s) the index maps nothing to (not read): \(strays.joined(separator: ", "))")
        }
        return model
    }

    /// Where transformers' `tf_shard_checkpoint` stores a variable in its shard.
    static func datasetPath(of variable: String) -> String {
        let parts = variable.split(separator: "/", omittingEmptySubsequences: false)
        if variable.contains("model.") || parts.count == 1 { return variable }
        return parts.dropFirst().joined(separator: "/")
    }
}

extension KerasH5Reader: HazardChecking {
    /// External storage, virtual datasets, external links and filters that are not built in,
    /// found by a reader child (`HDF5Isolation`) when isolation is on.
    public func hazards(of url: URL) throws -> [String] {
        if let exe = HDF5Isolation.executable { return try HDF5Isolation.hazards(url, format: info.id, executable: exe) }
        return try HDF5Hazards.scan(url: url).map(\.description)
    }
}

extension KerasArchiveReader: HazardChecking {
    /// The hazards of the archive's `model.weights.h5`.
    public func hazards(of url: URL) throws -> [String] {
        if let exe = HDF5Isolation.executable { return try HDF5Isolation.hazards(url, format: info.id, executable: exe) }
        return try HDF5Hazards.scan(url: url).map { "model.weights.h5: \($0)" }
    }
}
