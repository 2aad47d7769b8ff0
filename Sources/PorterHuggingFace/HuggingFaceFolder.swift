import Foundation
import PorterCore
import PorterSafetensors

/// Every way reading or writing a Hugging Face model folder can fail.
public enum HuggingFaceError: Error, Sendable, Equatable {
    /// The folder has no `config.json`.
    case missingConfig(folder: String)
    /// `config.json` is not a JSON object (or is over the size cap).
    case invalidConfig(file: String, reason: String)
    /// The folder holds none of the weight files the reader knows (`expected`, in transformers' order).
    case missingWeights(folder: String, expected: [String])
    /// `--read-option weights=NAME` names a file that is not one of the folder's weight files.
    case unknownWeights(folder: String, name: String, present: [String])
    /// `--to hf` for a model without a config transformers can load (one with a `model_type`).
    case noUsableConfig(reason: String)
    /// An asset would overwrite the config or weights, leave the folder, or repeats a name.
    case unsafeAssetName(folder: String, fileName: String)
}

extension HuggingFaceError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .missingConfig(folder): return "\(folder): no config.json; not a Hugging Face model folder"
        case let .invalidConfig(file, reason): return "\(file): \(reason)"
        case let .missingWeights(folder, expected): return "\(folder): none of \(expected.joined(separator: ", ")) is present"
        case let .unknownWeights(folder, name, present):
            return "\(folder): --read-option weights=\(name) is not one of the folder's weight files (present: \(present.isEmpty ? "none" : present.joined(separator: ", ")))"
        case let .noUsableConfig(reason):
            return "a Hugging Face folder is not written: \(reason), so transformers' from_pretrained could not load the folder; give one with --config FILE (a config.json with a model_type)"
        case let .unsafeAssetName(folder, fileName): return "\(folder): asset file name '\(fileName)' is empty, repeated, reserved or leaves the folder"
        }
    }
}

/// Files of a Hugging Face folder that are carried as assets, and their kinds.
public enum HuggingFaceAssets {
    public static let kinds: [String: String] = [
        "vocab.json": "vocab", "vocab.txt": "vocab", "vocab-src.json": "vocab-src", "vocab-tgt.json": "vocab-tgt",
        "merges.txt": "merges", "tokenizer.json": "tokenizer", "tokenizer_config.json": "tokenizer-config",
        "special_tokens_map.json": "special-tokens", "added_tokens.json": "added-tokens",
        "generation_config.json": "generation-config", "preprocessor_config.json": "preprocessor-config",
        "spiece.model": "sentencepiece", "sentencepiece.bpe.model": "sentencepiece", "tokenizer.model": "sentencepiece",
        "source.spm": "sentencepiece-src", "target.spm": "sentencepiece-tgt",
        // sentence-transformers' files beside the transformer's.
        "modules.json": "st-modules", "config_sentence_transformers.json": "st-config",
        "sentence_bert_config.json": "st-bert-config",
    ]
    /// The module folders `modules.json` names (`1_Pooling`, `2_Normalize`): plain folder
    /// names only, so a module path cannot lead outside the model folder.
    static func sentenceTransformerModules(in folder: URL) -> Set<String> {
        let url = folder.appendingPathComponent("modules.json")
        guard let file = try? OpenFile(path: url.path), file.size <= 1 << 20,
              let bytes = try? file.read(offset: 0, count: file.size),
              let json = try? JSONValue.parse(Data(bytes)), let list = json.arrayValue else { return [] }
        return Set(list.compactMap { $0["path"]?.stringValue }.filter { !$0.isEmpty && ShardIndex.isPlainFileName($0) })
    }

    /// A sentence-transformers module folder's files as assets (`1_Pooling/config.json`),
    /// bytes unchanged; pickled weights and nested folders are noted, not carried (Porter
    /// copies no pickle it has not read).
    static func moduleFolder(_ name: String, in folder: URL) throws -> ([Asset], [String]) {
        let fm = FileManager.default
        let dir = folder.appendingPathComponent(name)
        var assets: [Asset] = []
        var notes: [String] = []
        for entry in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() where !entry.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            let path = dir.appendingPathComponent(entry).path
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue, ShardIndex.isPlainFileName(entry) else {
                notes.append("\(name)/\(entry) not carried: only the module folder's own files are")
                continue
            }
            if [".bin", ".pt", ".pth", ".pkl", ".ckpt"].contains(where: entry.hasSuffix) {
                notes.append("\(name)/\(entry) not carried: a pickle Porter did not read (convert it on its own; `porter scan` covers it)")
                continue
            }
            let file = try OpenFile(path: path)
            guard file.size <= maxAssetSize else {
                notes.append("\(name)/\(entry) not carried: larger than \(maxAssetSize) bytes")
                continue
            }
            assets.append(Asset(kind: "st-module", fileName: "\(name)/\(entry)", bytes: try file.read(offset: 0, count: file.size)))
        }
        notes.append("sentence-transformers module folder \(name)/ carried: \(assets.count) file(s)")
        return (assets, notes)
    }

    /// Largest asset read into memory.
    public static let maxAssetSize = 512 << 20
    /// Largest `config.json` read.
    public static let maxConfigSize = 64 << 20

    /// A `config.json` (the folder's, or one given with `--config`): at most 64 MB of JSON
    /// holding an object, else `invalidConfig` naming the file.
    static func config(_ file: OpenFile) throws -> JSONValue {
        guard file.size <= maxConfigSize else { throw HuggingFaceError.invalidConfig(file: file.path, reason: "larger than 64 MB") }
        let config: JSONValue
        do { config = try JSONValue.parse(Data(try file.read(offset: 0, count: file.size))) } catch {
            throw HuggingFaceError.invalidConfig(file: file.path, reason: "not valid JSON")
        }
        guard case .object = config else { throw HuggingFaceError.invalidConfig(file: file.path, reason: "not a JSON object") }
        return config
    }
}

/// How a Hugging Face folder's weights are written: the main file name (for the probe
/// and the index) and a closure that writes them into the folder. The default writes
/// `model.safetensors` (sharded with `model.safetensors.index.json` when
/// `maxShardSize` says so); a PyTorch writer can plug in as `pytorch_model.bin`.
public struct HuggingFaceWeights: Sendable {
    public var fileName: String
    /// Writes the weights of `model` into `folder` (which exists).
    public var write: @Sendable (_ model: NeutralModel, _ folder: URL, _ options: WriteOptions) throws -> Void
    /// The write options `write` understands (the HF writer declares these as its own).
    public var options: [FormatOption]

    public init(fileName: String, options: [FormatOption] = [],
                write: @escaping @Sendable (_ model: NeutralModel, _ folder: URL, _ options: WriteOptions) throws -> Void) {
        self.fileName = fileName
        self.options = options
        self.write = write
    }

    /// Uses any single-file `ModelWriter` for `folder/fileName` (no sharding).
    public init(fileName: String, writer: any ModelWriter) {
        self.init(fileName: fileName) { model, folder, options in
            var single = options
            single.maxShardSize = nil
            try writer.write(model, to: folder.appendingPathComponent(fileName), options: single)
        }
    }

    /// The shard size when neither `--max-shard-size` nor `--write-option max-shard-size`
    /// says otherwise: transformers 5.24's `PreTrainedModel.save_pretrained(max_shard_size="50GB")`
    /// (modeling_utils.py), 50 × 10⁹ bytes as its `convert_file_size_to_int` reads "50GB".
    public static let defaultMaxShardSize = 50_000_000_000
    /// The text of that default, as `porter formats` lists it.
    public static let defaultMaxShardSizeText = "50GB"

    /// `max-shard-size` as the `hf` writer declares it: with transformers' default.
    public static let maxShardSizeOption = FormatOption(FormatOption.maxShardSize.key, .size, default: defaultMaxShardSizeText,
                                                        help: "split the weights into files of at most this size, as save_pretrained does (same as --max-shard-size)")

    /// `model.safetensors` with `{"format": "pt"}` merged into the metadata, sharded at
    /// `defaultMaxShardSize` like transformers when no size is given.
    public static let safetensors = safetensorsSharded(at: defaultMaxShardSize)

    /// `model.safetensors`, or shards `model-0000i-of-0000N.safetensors` and
    /// `model.safetensors.index.json` when the weights exceed the requested size
    /// (`--max-shard-size`), or `size` when none is requested.
    public static func safetensorsSharded(at size: Int) -> HuggingFaceWeights {
        HuggingFaceWeights(fileName: "model.safetensors", options: [maxShardSizeOption]) { model, folder, options in
            try SafetensorsWriter.writeWeights(of: model, into: folder, baseName: "model", extraMetadata: ["format": "pt"],
                                               maxShardSize: options.maxShardSize ?? size, progress: options.progress)
        }
    }
}

/// Writes a Hugging Face model folder (format id `hf`): `config.json` (the model's
/// config, pretty, keys sorted), every asset under its file name, and the weights.
public struct HuggingFaceWriter: ModelWriter {
    public var weights: HuggingFaceWeights

    public init(weights: HuggingFaceWeights = .safetensors) {
        self.weights = weights
    }

    public var info: FormatInfo {
        FormatInfo(id: "hf", name: "Hugging Face model folder", extensions: ["config.json", weights.fileName],
                   summary: "config.json + \(weights.fileName) (sharded with an index past max-shard-size) + tokenizer files")
    }

    /// `config`: the `config.json` to write instead of the model's own.
    public static let configOption = FormatOption("config", .text("file"), flag: true,
                                                  help: "the config.json to write (needed when the model has none with a model_type)")

    public var options: [FormatOption] { weights.options + [Self.configOption] }

    /// The config written: `--config FILE` when given, else the model's. Either must be a JSON
    /// object with a non-empty `model_type`, which is what transformers' `AutoConfig` dispatches on.
    func usableConfig(_ model: NeutralModel, options: WriteOptions) throws -> JSONValue {
        if let path = options.extra[Self.configOption.key] {
            let file: OpenFile
            do { file = try OpenFile(path: path) } catch {
                throw HuggingFaceError.invalidConfig(file: path, reason: "cannot be read (\(error.localizedDescription))")
            }
            let json = try HuggingFaceAssets.config(file)
            guard json["model_type"]?.stringValue?.isEmpty == false else {
                throw HuggingFaceError.invalidConfig(file: path, reason: "has no model_type, which transformers needs to pick the model class")
            }
            return json
        }
        guard model.config.objectValue != nil else {
            throw HuggingFaceError.noUsableConfig(reason: "the model's config is not a JSON object")
        }
        guard model.config["model_type"]?.stringValue?.isEmpty == false else {
            let keys = model.config.objectValue?.keys.sorted() ?? []
            let what = keys.isEmpty ? "the model has no config" : "the model's config (keys: \(keys.prefix(6).joined(separator: ", "))\(keys.count > 6 ? ", …" : "")) has no model_type"
            throw HuggingFaceError.noUsableConfig(reason: what)
        }
        return model.config
    }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { true }

    /// Refuses a model without a usable config (see `usableConfig`) before anything is staged.
    public func check(_ model: NeutralModel, options: WriteOptions) throws {
        _ = try usableConfig(model, options: options)
    }

    /// `config.json`, the weights (single, or shards and their index), the tokenizer and
    /// other asset files a Hugging Face folder carries, `README.md`, and this model's assets.
    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        let ext = (weights.fileName as NSString).pathExtension
        let base = (weights.fileName as NSString).deletingPathExtension
        var names = Set(["config.json", weights.fileName, "\(weights.fileName).index.json", "README.md"])
        names.formUnion(HuggingFaceAssets.kinds.keys)
        let entries = names.sorted().map(OutputEntry.file) + [.shards(base: base, suffix: ext.isEmpty ? "" : "." + ext)]
            + Asset.outputEntries(model.assets.map(\.fileName))
        return .folder(entries, producer: "the \(info.name) writer")
    }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let base = (weights.fileName as NSString).deletingPathExtension
        let reserved = ["config.json", weights.fileName, "\(weights.fileName).index.json"]
        var names = Set<String>()
        for asset in model.assets {
            let n = asset.fileName
            if let parts = Asset.pathComponents(of: n), parts.count == 2 {
                let dir = parts[0]
                guard !reserved.contains(dir), !HuggingFaceAssets.kinds.keys.contains(dir), names.insert(n).inserted else {
                    throw HuggingFaceError.unsafeAssetName(folder: url.path, fileName: n)
                }
                continue
            }
            guard ShardIndex.isPlainFileName(n), !reserved.contains(n),
                  !(n.hasPrefix("\(base)-") && n.contains("-of-")), names.insert(n).inserted else {
                throw HuggingFaceError.unsafeAssetName(folder: url.path, fileName: n)
            }
        }
        let usable = try usableConfig(model, options: options)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var config = try usable.encoded(pretty: true)
        config.append(0x0A)
        let configFile = try OutputFile(path: url.appendingPathComponent("config.json").path)
        try configFile.write(config)
        try configFile.close()
        for asset in model.assets {
            if let parts = Asset.pathComponents(of: asset.fileName), parts.count == 2 {
                try FileManager.default.createDirectory(at: url.appendingPathComponent(parts[0]), withIntermediateDirectories: true)
            }
            let out = try OutputFile(path: url.appendingPathComponent(asset.fileName).path)
            try out.write(asset.bytes)
            try out.close()
        }
        try weights.write(model, url, options)
    }
}

/// One kind of weights file a Hugging Face folder may hold, and how to read it.
public struct HuggingFaceWeightFile: Sendable {
    /// The file name in the folder (`pytorch_model.bin`, `model.safetensors.index.json`, …).
    public var fileName: String
    /// Whether its presence (with `config.json`) makes a folder certainly `hf`. False for
    /// `tf_model.h5`: a folder with only TF weights is left to the Keras reader, which names
    /// tensors as TensorFlow does (`--from hf` still reads it here).
    public var identifiesFolder: Bool
    /// Reads the file.
    public var read: @Sendable (_ file: URL, _ options: ReadOptions) throws -> NeutralModel

    public init(fileName: String, identifiesFolder: Bool = true,
                read: @escaping @Sendable (_ file: URL, _ options: ReadOptions) throws -> NeutralModel) {
        self.fileName = fileName
        self.identifiesFolder = identifiesFolder
        self.read = read
    }

    /// Reads `fileName` with another format's reader.
    public init(fileName: String, identifiesFolder: Bool = true, reader: any ModelReader) {
        self.init(fileName: fileName, identifiesFolder: identifiesFolder) { file, options in
            try reader.read(file, options: options)
        }
    }

    /// `model.safetensors`, then `model.safetensors.index.json` (as transformers looks for them).
    public static let safetensors: [HuggingFaceWeightFile] = [
        HuggingFaceWeightFile(fileName: "model.safetensors") { file, _ in try SafetensorsReader().readFile(file) },
        HuggingFaceWeightFile(fileName: SafetensorsReader.indexFileName) { file, _ in try SafetensorsReader().readSharded(index: file) },
    ]
}

/// Reads a Hugging Face model folder (format id `hf`) of any era: `config.json` becomes the
/// config, tokenizer (and sentence-transformers) files become assets, and the weights come
/// from the first weight file present in transformers' order — `model.safetensors`, its
/// sharded index, then whatever `weightFiles` adds (the default registry adds
/// `pytorch_model.bin`, its index, `tf_model.h5` and its index). Other weight files present
/// are listed in the notes; `--read-option weights=NAME` picks one.
public struct HuggingFaceReader: ModelReader {
    public let weightFiles: [HuggingFaceWeightFile]

    public init(weightFiles: [HuggingFaceWeightFile] = HuggingFaceWeightFile.safetensors) {
        self.weightFiles = weightFiles
    }

    public var info: FormatInfo {
        FormatInfo(id: "hf", name: "Hugging Face model folder",
                   extensions: ["config.json"] + weightFiles.map(\.fileName).filter { !$0.hasSuffix(".index.json") },
                   summary: "config.json + the weights transformers would load (first of: "
                       + weightFiles.map(\.fileName).joined(separator: ", ") + ") + tokenizer files")
    }

    public var options: [FormatOption] {
        [FormatOption("weights", .choice(weightFiles.map(\.fileName)),
                      help: "the weights file to read when the folder holds several (default: the first in transformers' order)")]
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        guard input.isDirectory, input.entries.contains("config.json") else { return .no }
        return weightFiles.contains { $0.identifiesFolder && input.entries.contains($0.fileName) } ? .certain : .no
    }

    public func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> NeutralModel {
        let fm = FileManager.default
        let configURL = url.appendingPathComponent("config.json")
        guard fm.fileExists(atPath: configURL.path) else { throw HuggingFaceError.missingConfig(folder: url.path) }
        let config = try HuggingFaceAssets.config(try OpenFile(path: configURL.path))

        let present = weightFiles.filter { fm.fileExists(atPath: url.appendingPathComponent($0.fileName).path) }
        let chosen: HuggingFaceWeightFile
        if let name = options.extra["weights"] {
            guard let file = present.first(where: { $0.fileName == name }) else {
                throw HuggingFaceError.unknownWeights(folder: url.path, name: name, present: present.map(\.fileName))
            }
            chosen = file
        } else {
            guard let first = present.first else { throw HuggingFaceError.missingWeights(folder: url.path, expected: weightFiles.map(\.fileName)) }
            chosen = first
        }
        var inner = options
        inner.extra["weights"] = nil
        var model = try chosen.read(url.appendingPathComponent(chosen.fileName), inner)
        let others = present.filter { $0.fileName != chosen.fileName }.map(\.fileName)
        model.notes.append("weights read from \(chosen.fileName)" + (others.isEmpty ? ""
            : "; also present, not read: \(others.joined(separator: ", ")) (--read-option weights=NAME picks another)"))

        var assets: [Asset] = []
        let modules = HuggingFaceAssets.sentenceTransformerModules(in: url)
        for name in ((try? fm.contentsOfDirectory(atPath: url.path)) ?? []).sorted() {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory), isDirectory.boolValue, !name.hasPrefix(".") {
                if modules.contains(name) {
                    let (carried, notes) = try HuggingFaceAssets.moduleFolder(name, in: url)
                    assets += carried
                    model.notes += notes
                } else {
                    model.notes.append("folder \(name)/ not carried (not a sentence-transformers module in modules.json; Porter carries the folder's top-level files and its modules' folders)")
                }
                continue
            }
            guard let kind = HuggingFaceAssets.kinds[name] else { continue }
            let file = try OpenFile(path: url.appendingPathComponent(name).path)
            guard file.size <= HuggingFaceAssets.maxAssetSize else {
                model.notes.append("\(name) not carried: larger than \(HuggingFaceAssets.maxAssetSize) bytes")
                continue
            }
            assets.append(Asset(kind: kind, fileName: name, bytes: try file.read(offset: 0, count: file.size)))
        }
        model.sourceFormat = info.id
        model.sourceFiles = [configURL.path] + model.sourceFiles.filter { $0 != configURL.path }
        model.config = config
        model.assets = assets
        model.notes.removeAll { $0.hasPrefix("config from config.json beside the weights") }
        return model
    }
}

extension HuggingFaceReader: ScanTargeting {
    /// Every weights file present (any of them may be loaded: transformers takes the first,
    /// `weights=` or another tool another), shard indexes replaced by their shards.
    public func scanTargets(of url: URL) throws -> [URL] {
        var out: [URL] = []
        for file in weightFiles {
            let path = url.appendingPathComponent(file.fileName)
            guard FileManager.default.fileExists(atPath: path.path) else { continue }
            if file.fileName.hasSuffix(".index.json") {
                let index: ShardIndex
                do { index = try ShardIndex.read(path) } catch let e as ShardIndex.Invalid {
                    throw HuggingFaceError.invalidConfig(file: path.path, reason: "not a shard index: \(e.reason)")
                }
                out += index.shards.map { url.appendingPathComponent($0) }
            } else {
                out.append(path)
            }
        }
        // sentence-transformers loads its modules' weights too (a Dense module's own file).
        let fm = FileManager.default
        for module in HuggingFaceAssets.sentenceTransformerModules(in: url).sorted() {
            let dir = url.appendingPathComponent(module)
            for entry in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            where [".bin", ".pt", ".pth", ".pkl", ".ckpt", ".safetensors"].contains(where: entry.hasSuffix) {
                out.append(dir.appendingPathComponent(entry))
            }
        }
        return out
    }
}
