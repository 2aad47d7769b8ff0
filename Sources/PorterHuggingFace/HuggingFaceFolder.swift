import Foundation
import PorterCore
import PorterSafetensors

/// Every way reading or writing a Hugging Face model folder can fail.
public enum HuggingFaceError: Error, Sendable, Equatable {
    /// The folder has no `config.json`.
    case missingConfig(folder: String)
    /// `config.json` is not a JSON object (or is over the size cap).
    case invalidConfig(file: String, reason: String)
    /// The folder has none of the weights files the reader knows (`model.safetensors`,
    /// its index, or a plugged-in one such as `pytorch_model.bin`).
    case missingWeights(folder: String)
    /// An asset would overwrite the config or weights, leave the folder, or repeats a name.
    case unsafeAssetName(folder: String, fileName: String)
}

extension HuggingFaceError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .missingConfig(folder): return "\(folder): no config.json; not a Hugging Face model folder"
        case let .invalidConfig(file, reason): return "\(file): \(reason)"
        case let .missingWeights(folder): return "\(folder): no weights file: neither model.safetensors nor model.safetensors.index.json (nor, in a classic folder, pytorch_model.bin or its index) is present"
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
    ]
    /// Largest asset read into memory.
    public static let maxAssetSize = 512 << 20
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

    /// `model.safetensors` with `{"format": "pt"}` merged into the metadata.
    public static let safetensors = HuggingFaceWeights(fileName: "model.safetensors", options: [.maxShardSize]) { model, folder, options in
        try SafetensorsWriter.writeWeights(of: model, into: folder, baseName: "model", extraMetadata: ["format": "pt"],
                                           maxShardSize: options.maxShardSize, progress: options.progress)
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
                   summary: "config.json + \(weights.fileName) (sharded with an index when large) + tokenizer files")
    }

    public var options: [FormatOption] { weights.options }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { true }

    /// `config.json`, the weights (single, or shards and their index), the tokenizer and
    /// other asset files a Hugging Face folder carries, `README.md`, and this model's assets.
    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        let ext = (weights.fileName as NSString).pathExtension
        let base = (weights.fileName as NSString).deletingPathExtension
        var names = Set(["config.json", weights.fileName, "\(weights.fileName).index.json", "README.md"])
        names.formUnion(HuggingFaceAssets.kinds.keys)
        names.formUnion(model.assets.map(\.fileName))
        let entries = names.sorted().map(OutputEntry.file) + [.shards(base: base, suffix: ext.isEmpty ? "" : "." + ext)]
        return .folder(entries, producer: "the \(info.name) writer")
    }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let base = (weights.fileName as NSString).deletingPathExtension
        let reserved = ["config.json", weights.fileName, "\(weights.fileName).index.json"]
        var names = Set<String>()
        for asset in model.assets {
            let n = asset.fileName
            guard ShardIndex.isPlainFileName(n), !reserved.contains(n),
                  !(n.hasPrefix("\(base)-") && n.contains("-of-")), names.insert(n).inserted else {
                throw HuggingFaceError.unsafeAssetName(folder: url.path, fileName: n)
            }
        }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var config = try model.config.encoded(pretty: true)
        config.append(0x0A)
        let configFile = try OutputFile(path: url.appendingPathComponent("config.json").path)
        try configFile.write(config)
        try configFile.close()
        for asset in model.assets {
            let out = try OutputFile(path: url.appendingPathComponent(asset.fileName).path)
            try out.write(asset.bytes)
            try out.close()
        }
        try weights.write(model, url, options)
    }
}

/// A weights file other than safetensors that a Hugging Face folder may hold (the classic
/// `pytorch_model.bin` and its sharded index), with the reader that reads it. This target
/// knows no PyTorch; the pipeline plugs the PyTorch reader in.
public struct HuggingFaceWeightsSource: Sendable {
    public let fileName: String
    public let reader: any ModelReader
    public init(fileName: String, reader: any ModelReader) {
        self.fileName = fileName
        self.reader = reader
    }
}

/// Reads a Hugging Face model folder (format id `hf`): `config.json` becomes the config,
/// tokenizer files become assets, and the weights are read (zero-copy) through
/// `SafetensorsReader`, or, in a classic folder without safetensors, through the first
/// `otherWeights` source present (`pytorch_model.bin.index.json`, `pytorch_model.bin`).
public struct HuggingFaceReader: ModelReader {
    public let otherWeights: [HuggingFaceWeightsSource]
    public init(otherWeights: [HuggingFaceWeightsSource] = []) {
        self.otherWeights = otherWeights
    }

    private var weightFileNames: [String] {
        [SafetensorsReader.indexFileName, "model.safetensors"] + otherWeights.map(\.fileName)
    }

    public var info: FormatInfo {
        FormatInfo(id: "hf", name: "Hugging Face model folder", extensions: ["config.json", "model.safetensors"],
                   summary: "config.json + model.safetensors (or its sharded index) + tokenizer files")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        guard input.isDirectory, input.entries.contains("config.json") else { return .no }
        return weightFileNames.contains(where: input.entries.contains) ? .certain : .no
    }

    public func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> NeutralModel {
        let fm = FileManager.default
        let configURL = url.appendingPathComponent("config.json")
        guard fm.fileExists(atPath: configURL.path) else { throw HuggingFaceError.missingConfig(folder: url.path) }
        let configFile = try OpenFile(path: configURL.path)
        guard configFile.size <= 64 << 20 else { throw HuggingFaceError.invalidConfig(file: configURL.path, reason: "larger than 64 MB") }
        let config: JSONValue
        do { config = try JSONValue.parse(Data(try configFile.read(offset: 0, count: configFile.size))) } catch {
            throw HuggingFaceError.invalidConfig(file: configURL.path, reason: "not valid JSON")
        }
        guard case .object = config else { throw HuggingFaceError.invalidConfig(file: configURL.path, reason: "not a JSON object") }

        let st = SafetensorsReader()
        let index = url.appendingPathComponent(SafetensorsReader.indexFileName)
        let single = url.appendingPathComponent("model.safetensors")
        var model: NeutralModel
        if fm.fileExists(atPath: index.path) {
            model = try st.readSharded(index: index)
        } else if fm.fileExists(atPath: single.path) {
            model = try st.readFile(single)
        } else if let source = otherWeights.first(where: { fm.fileExists(atPath: url.appendingPathComponent($0.fileName).path) }) {
            model = try source.reader.read(url.appendingPathComponent(source.fileName), options: ReadOptions())
            model.notes.append("weights read from \(source.fileName) (\(source.reader.info.name))")
        } else {
            throw HuggingFaceError.missingWeights(folder: url.path)
        }
        if fm.fileExists(atPath: single.path) || fm.fileExists(atPath: index.path) {
            let ignored = otherWeights.map(\.fileName).filter { fm.fileExists(atPath: url.appendingPathComponent($0).path) }
            if !ignored.isEmpty {
                model.notes.append("\(ignored.joined(separator: ", ")) also present, not read: safetensors weights are preferred, as transformers does")
            }
        }

        var assets: [Asset] = []
        for name in ((try? fm.contentsOfDirectory(atPath: url.path)) ?? []).sorted() {
            guard let kind = HuggingFaceAssets.kinds[name] else { continue }
            let file = try OpenFile(path: url.appendingPathComponent(name).path)
            guard file.size <= HuggingFaceAssets.maxAssetSize else {
                model.notes.append("\(name) not carried: larger than \(HuggingFaceAssets.maxAssetSize) bytes")
                continue
            }
            assets.append(Asset(kind: kind, fileName: name, bytes: try file.read(offset: 0, count: file.size)))
        }
        model.sourceFormat = info.id
        model.sourceFiles = [configURL.path] + model.sourceFiles
        model.config = config
        model.assets = assets
        return model
    }
}
