import Foundation
import PorterCore
import PorterOps
import PorterSafetensors

/// Porter's own on-disk form: a folder with `model.json`, `weights.safetensors` (or
/// `weights-0000i-of-0000N.safetensors` + `weights.safetensors.index.json`) and
/// `assets/`. Write then read gives back the same model: names, order, dtypes,
/// shapes, bytes, aliases, metadata, config, graph, provenance and assets.
public enum PorterModelFormat {
    public static let info = FormatInfo(id: "porter", name: "Porter model folder", extensions: ["model.json"],
                                        summary: "Porter's own form: model.json (graph, config, provenance, assets) + weights.safetensors + assets/")
    public static let modelFileName = "model.json"
    public static let weightsBaseName = "weights"
    public static let assetsFolder = "assets"
    /// Cap on model.json's size.
    public static let maxModelJSONSize = 256 << 20
}

/// Reads a Porter model folder (format id `porter`).
public struct PorterModelReader: ModelReader {
    public init() {}

    public var info: FormatInfo { PorterModelFormat.info }

    /// Certain for a folder whose `model.json` says `"format": "porter-model"`.
    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        var folder = input.url
        if !input.isDirectory {
            guard input.url.lastPathComponent == PorterModelFormat.modelFileName else { return .no }
            folder = input.url.deletingLastPathComponent()
        } else if !input.entries.contains(PorterModelFormat.modelFileName) {
            return .no
        }
        guard let format = try? Self.formatAndVersion(folder.appendingPathComponent(PorterModelFormat.modelFileName)) else { return .no }
        return format.0 == PorterModelDocument.formatName ? .certain : .no
    }

    public func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> NeutralModel {
        var folder = url
        if url.lastPathComponent == PorterModelFormat.modelFileName { folder = url.deletingLastPathComponent() }
        let modelURL = folder.appendingPathComponent(PorterModelFormat.modelFileName)
        let path = modelURL.path
        guard FileManager.default.fileExists(atPath: path) else { throw PorterModelError.missingModelJSON(folder: folder.path) }
        let (format, version) = try Self.formatAndVersion(modelURL)
        guard format == PorterModelDocument.formatName else { throw PorterModelError.notPorterModel(file: path, format: format) }
        guard version <= PorterModelDocument.currentVersion else {
            throw PorterModelError.unsupportedVersion(file: path, found: version, supported: PorterModelDocument.currentVersion)
        }
        guard version >= PorterModelDocument.oldestReadableVersion else {
            throw PorterModelError.invalidModelJSON(file: path, keyPath: "version",
                                                    reason: "\(version) is not a format version (versions start at \(PorterModelDocument.oldestReadableVersion))")
        }
        var data = try Self.load(modelURL)
        if version == 1 { data = try LegacyProvenance.upgrade(data, file: path) }
        var doc: PorterModelDocument
        do { doc = try JSONDecoder().decode(PorterModelDocument.self, from: data) } catch let e as DecodingError {
            throw Self.describe(e, file: path)
        }
        doc.version = PorterModelDocument.currentVersion

        // Weights, through the safetensors reader (which restores aliases).
        let st = SafetensorsReader()
        let weights: NeutralModel
        if let index = doc.weights.index {
            guard ShardIndex.isPlainFileName(index) else { throw PorterModelError.unsafeFileName(file: path, keyPath: "weights.index", name: index) }
            weights = try st.readSharded(index: folder.appendingPathComponent(index))
        } else {
            let file = doc.weights.file ?? "\(PorterModelFormat.weightsBaseName).safetensors"
            guard ShardIndex.isPlainFileName(file) else { throw PorterModelError.unsafeFileName(file: path, keyPath: "weights.file", name: file) }
            weights = try st.readFile(folder.appendingPathComponent(file))
        }

        var store = TensorStore()
        var listed = Set<String>()
        for (i, record) in doc.tensors.enumerated() {
            guard let entry = weights.tensors[record.name] else {
                throw PorterModelError.tensorMissingFromWeights(file: path, tensor: record.name)
            }
            guard listed.insert(record.name).inserted else {
                throw PorterModelError.invalidModelJSON(file: path, keyPath: "tensors[\(i)]", reason: "'\(record.name)' is listed twice")
            }
            guard entry.tensor.dtype == record.dtype, entry.tensor.shape == record.shape else {
                throw PorterModelError.tensorMismatch(file: path, tensor: record.name,
                                                      reason: "model.json says \(record.dtype.rawValue) \(record.shape), the weights hold \(entry.tensor.dtype.rawValue) \(entry.tensor.shape)")
            }
            if let target = record.aliasOf {
                guard let t = weights.tensors[target], t.tensor.isSameView(as: entry.tensor) else {
                    throw PorterModelError.aliasMismatch(file: path, tensor: record.name, reason: "model.json says it aliases '\(target)', the weights do not share them")
                }
            }
            try store.add(TensorEntry(name: record.name, tensor: entry.tensor, provenance: record.provenance))
        }
        if let extra = weights.tensors.names.first(where: { !listed.contains($0) }) {
            throw PorterModelError.tensorNotListed(file: path, tensor: extra)
        }
        let recordedAliases = Dictionary(uniqueKeysWithValues: doc.tensors.compactMap { r in r.aliasOf.map { (r.name, $0) } })
        if let (alias, _) = store.aliases().first(where: { recordedAliases[$0.key] == nil }) {
            throw PorterModelError.aliasMismatch(file: path, tensor: alias, reason: "the weights share it with another tensor, model.json does not say so")
        }

        var assets: [Asset] = []
        var assetNames = Set<String>()
        let assetDir = folder.appendingPathComponent(PorterModelFormat.assetsFolder)
        for (i, record) in doc.assets.enumerated() {
            guard Asset.pathComponents(of: record.fileName) != nil, assetNames.insert(record.fileName).inserted else {
                throw PorterModelError.unsafeFileName(file: path, keyPath: "assets[\(i)].fileName", name: record.fileName)
            }
            let assetURL = assetDir.appendingPathComponent(record.fileName)
            guard FileManager.default.fileExists(atPath: assetURL.path) else {
                throw PorterModelError.missingAsset(folder: folder.path, fileName: record.fileName)
            }
            let assetFile = try OpenFile(path: assetURL.path)
            let bytes = try assetFile.read(offset: 0, count: assetFile.size)
            let digest = SHA256.hex(bytes)
            guard digest == record.sha256 else {
                throw PorterModelError.assetDigestMismatch(folder: folder.path, fileName: record.fileName, expected: record.sha256, actual: digest)
            }
            assets.append(Asset(kind: record.kind, fileName: record.fileName, bytes: bytes))
        }

        // A graph that does not fit the op specs (PorterOps) is dropped with the reason; the
        // weights still load and verify.
        var graph = doc.graph
        var notes = doc.notes
        var graphUnavailable = doc.graphUnavailable
        if let g = graph {
            do {
                _ = try GraphValidator.validate(g, tensors: store)
            } catch {
                graph = nil
                graphUnavailable = "the graph in \(PorterModelFormat.modelFileName) does not fit the op specs: \(error.localizedDescription)"
                notes.append("graph in \(PorterModelFormat.modelFileName) dropped: \(error.localizedDescription); the model is verified at the weights level only")
            }
        }
        var model = NeutralModel(sourceFormat: doc.sourceFormat, sourceFiles: doc.sourceFiles, tensors: store, graph: graph,
                                 config: doc.config, metadata: doc.metadata, assets: assets, dropped: doc.dropped, notes: notes)
        model.graphUnavailable = graphUnavailable
        return model
    }

    static func load(_ url: URL) throws -> Data {
        let file = try OpenFile(path: url.path)
        guard file.size <= PorterModelFormat.maxModelJSONSize else {
            throw PorterModelError.invalidModelJSON(file: url.path, keyPath: "", reason: "larger than \(PorterModelFormat.maxModelJSONSize) bytes")
        }
        return Data(try file.read(offset: 0, count: file.size))
    }

    /// Reads just `format` and `version`, so a newer layout is refused before anything else.
    static func formatAndVersion(_ url: URL) throws -> (String, Int) {
        struct Head: Decodable {
            var format: String
            var version: Int
        }
        do {
            let head = try JSONDecoder().decode(Head.self, from: try load(url))
            return (head.format, head.version)
        } catch let e as DecodingError {
            throw describe(e, file: url.path)
        }
    }

    static func describe(_ error: DecodingError, file: String) -> PorterModelError {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case let .keyNotFound(key, ctx): return .invalidModelJSON(file: file, keyPath: path(ctx.codingPath + [key]), reason: "missing")
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
            return .invalidModelJSON(file: file, keyPath: path(ctx.codingPath), reason: ctx.debugDescription)
        case let .dataCorrupted(ctx):
            return .invalidModelJSON(file: file, keyPath: path(ctx.codingPath), reason: ctx.underlyingError.map { "\($0.localizedDescription)" } ?? ctx.debugDescription)
        @unknown default: return .invalidModelJSON(file: file, keyPath: "", reason: "\(error)")
        }
    }
}

/// Writes a model as a Porter model folder (format id `porter`). Weights go through
/// `SafetensorsWriter` (sharded when `maxShardSize` says so).
public struct PorterModelWriter: ModelWriter {
    public init() {}

    public var info: FormatInfo { PorterModelFormat.info }

    public var options: [FormatOption] { [.maxShardSize] }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { true }

    /// `model.json`, `weights.safetensors` (or its shards and index) and `assets/` with
    /// this model's asset files.
    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        let base = PorterModelFormat.weightsBaseName
        return .folder([
            .file(PorterModelFormat.modelFileName), .file("\(base).safetensors"), .file("\(base).safetensors.index.json"),
            .shards(base: base, suffix: ".safetensors"),
            .folder(PorterModelFormat.assetsFolder, contents: Asset.outputEntries(model.assets.map(\.fileName))),
        ], producer: "the \(info.name) writer")
    }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let modelPath = url.appendingPathComponent(PorterModelFormat.modelFileName).path
        var assetRecords: [PorterModelDocument.AssetRecord] = []
        var names = Set<String>()
        for (i, asset) in model.assets.enumerated() {
            guard Asset.pathComponents(of: asset.fileName) != nil, names.insert(asset.fileName).inserted else {
                throw PorterModelError.unsafeFileName(file: modelPath, keyPath: "assets[\(i)].fileName", name: asset.fileName)
            }
            assetRecords.append(.init(kind: asset.kind, fileName: asset.fileName, sha256: SHA256.hex(asset.bytes), bytes: asset.bytes.count))
        }
        let fm = FileManager.default
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        let written = try SafetensorsWriter.writeWeights(of: model, into: url, baseName: PorterModelFormat.weightsBaseName, extraMetadata: [:],
                                                         maxShardSize: options.maxShardSize, progress: options.progress)
        let sharded = written.count > 1
        if !model.assets.isEmpty {
            let dir = url.appendingPathComponent(PorterModelFormat.assetsFolder)
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            for asset in model.assets {
                if let parts = Asset.pathComponents(of: asset.fileName), parts.count == 2 {
                    try fm.createDirectory(at: dir.appendingPathComponent(parts[0]), withIntermediateDirectories: true)
                }
                let out = try OutputFile(path: dir.appendingPathComponent(asset.fileName).path)
                try out.write(asset.bytes)
                try out.close()
            }
        }
        let aliases = model.tensors.aliases()
        let doc = PorterModelDocument(
            format: PorterModelDocument.formatName, version: PorterModelDocument.currentVersion,
            sourceFormat: model.sourceFormat, sourceFiles: model.sourceFiles, config: model.config, metadata: model.metadata,
            graph: model.graph, graphUnavailable: model.graphUnavailable,
            weights: .init(file: sharded ? nil : written.first, index: sharded ? written.last : nil, totalSize: model.tensors.uniqueByteCount),
            tensors: model.tensors.map {
                .init(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape, aliasOf: aliases[$0.name], provenance: $0.provenance)
            },
            dropped: model.dropped, notes: model.notes, assets: assetRecords)
        var data = try JSONValue.encoder(pretty: true).encode(doc)
        data.append(0x0A)
        let out = try OutputFile(path: modelPath)
        try out.write(data)
        try out.close()
    }
}
