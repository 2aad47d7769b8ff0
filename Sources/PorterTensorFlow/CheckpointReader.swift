import Foundation
import PorterCore

/// Reads TensorFlow tensor bundles: TF1 `Saver` checkpoints, `tf.train.Checkpoint`
/// files and a SavedModel's `variables/` folder.
///
/// Accepts the prefix (`model.ckpt`), its `.index` file, a folder holding
/// `variables/variables.index`, or a folder with a `checkpoint` state file.
public struct TensorFlowCheckpointReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "tensorflow-checkpoint", name: "TensorFlow checkpoint (tensor bundle)",
                   extensions: [".index", ".data-00000-of-00001"],
                   summary: "TF1 Saver and tf.train.Checkpoint bundles: CRC-checked, sharded, partitioned variables reassembled")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        let path = input.url.path
        if input.isDirectory {
            if input.entries.contains("saved_model.pb") { return .likely }  // the SavedModel reader is certain
            if input.subfolders["variables"]?.contains("variables.index") == true {
                return .certain
            }
            if input.entries.contains("checkpoint"), input.entries.contains(where: { $0.hasSuffix(".index") }) { return .likely }
            return .no
        }
        if path.hasSuffix(".index") {
            if input.size >= SSTable.footerLength, input.size == input.head.count {
                var r = ByteReader(input.head, source: path)
                if (try? r.seek(to: input.size - 8)) != nil, let magic = try? r.readLE(UInt64.self), magic == SSTable.magic {
                    return .certain
                }
                return .no
            }
            let prefix = String(path.dropLast(".index".count))
            let base = (prefix as NSString).lastPathComponent
            return input.siblings.contains(where: { $0.hasPrefix(base + ".data-") }) ? .certain : .likely
        }
        if input.siblings.contains(input.url.lastPathComponent + ".index") { return .certain }
        return .no
    }

    /// The bundle prefix `url` denotes (see the type's documentation).
    public static func prefix(for url: URL) throws -> String {
        let path = url.path
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists && isDir.boolValue {
            let variables = url.appendingPathComponent("variables/variables").path
            if FileManager.default.fileExists(atPath: variables + ".index") { return variables }
            if let named = try stateFilePrefix(in: url) { return named }
            let indexes = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".index") }
            if indexes.count == 1 { return url.appendingPathComponent(String(indexes[0].dropLast(6))).path }
            throw TensorFlowError.notABundle(path: path, reason: "the folder holds \(indexes.count) .index files and no variables/variables.index")
        }
        if path.hasSuffix(".index") { return String(path.dropLast(6)) }
        if let r = path.range(of: #"\.data-\d{5}-of-\d{5}$"#, options: .regularExpression) { return String(path[..<r.lowerBound]) }
        if FileManager.default.fileExists(atPath: path + ".index") { return path }
        throw TensorFlowError.notABundle(path: path, reason: "\(path).index does not exist")
    }

    /// Largest `checkpoint` state file read (TensorFlow's are a few lines).
    static let maxStateFileSize = 1 << 20

    /// The prefix a folder's `checkpoint` state file names (`model_checkpoint_path: "…"`),
    /// when its `.index` exists. The path must stay inside the folder once `..` and links
    /// are resolved: a state file is data from the same untrusted folder, so it may not send
    /// Porter elsewhere (a user who means another checkpoint names its prefix directly).
    static func stateFilePrefix(in folder: URL) throws -> String? {
        let state = folder.appendingPathComponent("checkpoint")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: state.path, isDirectory: &isDir), !isDir.boolValue,
              let file = try? OpenFile(path: state.path), file.size <= maxStateFileSize,
              let bytes = try? file.read(offset: 0, count: file.size) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        let root = folder.standardizedFileURL.resolvingSymlinksInPath().path
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("model_checkpoint_path:") else { continue }
            let value = trimmed.dropFirst("model_checkpoint_path:".count).trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard !value.isEmpty else { continue }
            let named = value.hasPrefix("/") ? URL(fileURLWithPath: value) : folder.appendingPathComponent(value)
            // The prefix's folder, links resolved (the prefix itself names no file).
            let resolvedParent = named.standardizedFileURL.deletingLastPathComponent().resolvingSymlinksInPath().path
            let resolved = resolvedParent + "/" + named.lastPathComponent
            guard resolvedParent == root || resolvedParent.hasPrefix(root + "/") else {
                throw TensorFlowError.stateFileOutsideFolder(stateFile: state.path, path: value)
            }
            // The index and data files must not be links out of the folder either.
            for candidate in [resolved + ".index"] where FileManager.default.fileExists(atPath: candidate) {
                let real = URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path
                guard real.hasPrefix(root + "/") else { throw TensorFlowError.stateFileOutsideFolder(stateFile: state.path, path: value) }
                return resolved
            }
        }
        return nil
    }

    /// Reader option choosing tensor names of object-based checkpoints: `objects` (object
    /// paths, `bert/encoder/layer/0/…/kernel`, the default) or `variables` (TensorFlow
    /// variable names, `tf_bert_model/bert/encoder/layer_._0/…/kernel:0`).
    public static let namesOption = "names"

    public var options: [FormatOption] {
        [FormatOption(Self.namesOption, .choice(["objects", "variables"]), default: "objects",
                      help: "object-based checkpoints: name tensors by object path or by TensorFlow variable name")]
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        let bundle = try TensorBundle(prefix: try Self.prefix(for: url))
        let names = options.extra[Self.namesOption] ?? "objects"
        guard ["objects", "variables"].contains(names) else {
            throw TensorFlowError.badOption(path: bundle.indexPath, option: Self.namesOption, value: names, expected: "objects or variables")
        }
        let naming = try CheckpointNaming(bundle: bundle, useVariableNames: names == "variables")
        var model = try bundle.neutralModel(sourceFormat: info.id, naming: naming, progress: options.progress)
        if naming.isObjectBased, names == "objects", !naming.variableNames.isEmpty {
            model.notes.append("variables are named by object path; --read-option \(Self.namesOption)=variables names them as TensorFlow does (tf_model.h5 / transformers spelling, e.g. for the hf-tf-to-pt mapping)")
        }
        try Self.attachSiblingConfig(to: &model, prefix: bundle.prefix)
        return model
    }

    /// Google's BERT releases ship `bert_config.json` beside the checkpoint: it becomes the
    /// model config (with `model_type: bert`), so a BERT mapping can produce a transformers folder.
    static func attachSiblingConfig(to model: inout NeutralModel, prefix: String) throws {
        let folder = URL(fileURLWithPath: prefix).deletingLastPathComponent()
        let url = folder.appendingPathComponent("bert_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let file = try OpenFile(path: url.path)
        guard file.size <= 1 << 20 else {
            model.notes.append("\(url.path): \(file.size) bytes, too large for a config; ignored")
            return
        }
        guard case var .object(config)? = try? JSONValue.parse(Data(try file.read(offset: 0, count: file.size))) else {
            model.notes.append("\(url.path) is not a JSON object; ignored")
            return
        }
        if config["model_type"] == nil { config["model_type"] = "bert" }
        if config["architectures"] == nil { config["architectures"] = ["BertModel"] }
        model.config = .object(config)
        model.sourceFiles.append(url.path)
        model.notes.append("config read from \(url.lastPathComponent)")
    }
}

extension TensorFlowCheckpointReader: HazardChecking {
    /// Tensor bundles and protobufs hold no code Porter could run; reading the file (its
    /// checksums, and a `checkpoint` state file's path confinement) is the check.
    public func hazards(of url: URL) throws -> [String] {
        _ = try read(url, options: ReadOptions())
        return []
    }
}
