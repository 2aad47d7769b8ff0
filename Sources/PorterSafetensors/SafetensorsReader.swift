import Foundation
import PorterCore

/// Reads safetensors files and sharded safetensors folders (through
/// `model.safetensors.index.json`) into a `NeutralModel`.
///
/// Tensors stay in the file: each is a lazy range of one shared `OpenFile`, and no
/// tensor data is read at open. Aliases recorded by Porter's writer in the
/// `porter.aliases` metadata entry come back as views of the same storage.
public struct SafetensorsReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "safetensors", name: "safetensors", extensions: [".safetensors", "model.safetensors.index.json"],
                   summary: "Hugging Face safetensors: JSON header + raw little-endian tensors; sharded folders via their index")
    }

    /// File name of the standard shard index.
    public static let indexFileName = "model.safetensors.index.json"
    /// Metadata key under which Porter records aliases (JSON object alias → target, as a string).
    public static let aliasesMetadataKey = "porter.aliases"

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory {
            guard input.entries.contains(Self.indexFileName) else { return .no }
            // A folder with config.json is a Hugging Face model folder: that reader takes it.
            return input.entries.contains("config.json") ? .likely : .certain
        }
        let name = input.url.lastPathComponent
        if name.hasSuffix(".safetensors.index.json") { return .certain }
        if input.head.count >= 9 {
            var length: UInt64 = 0
            for i in 0..<8 { length |= UInt64(input.head[i]) << (8 * UInt64(i)) }
            if length >= 2, length <= UInt64(SafetensorsHeader.maxHeaderLength), length <= UInt64(input.size - 8),
               input.head[8] == UInt8(ascii: "{") {
                return .certain
            }
        }
        return name.hasSuffix(".safetensors") ? .likely : .no
    }

    public func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> NeutralModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CoreError.cannotOpen(path: url.path, reason: "no such file or folder")
        }
        if isDir.boolValue {
            let index = url.appendingPathComponent(Self.indexFileName)
            guard FileManager.default.fileExists(atPath: index.path) else {
                let single = url.appendingPathComponent("model.safetensors")
                if FileManager.default.fileExists(atPath: single.path) { return try readFile(single) }
                throw CoreError.notAFile(path: url.path)
            }
            return try readSharded(index: index)
        }
        if url.lastPathComponent.hasSuffix(".safetensors.index.json") { return try readSharded(index: url) }
        return try readFile(url)
    }

    /// Reads one safetensors file.
    public func readFile(_ url: URL) throws -> NeutralModel {
        let file = try OpenFile(path: url.path)
        let header = try SafetensorsHeader.read(from: file)
        var store = TensorStore()
        for e in header.entries {
            try store.add(try Self.entry(e, file: file, header: header))
        }
        var metadata = header.metadata
        let aliases = try Self.takeAliases(from: &metadata, file: url.path)
        try Self.restore(aliases: aliases, in: &store, file: url.path)
        return NeutralModel(sourceFormat: info.id, sourceFiles: [url.path], tensors: store, metadata: metadata)
    }

    /// Reads every shard named by a `*.safetensors.index.json`, checking the index against the shards.
    public func readSharded(index indexURL: URL) throws -> NeutralModel {
        let indexPath = indexURL.path
        let map: ShardIndex
        do { map = try ShardIndex.read(indexURL) } catch let e as ShardIndex.Invalid {
            if case let .unsafeShardName(shard) = e { throw SafetensorsError.unsafeShardName(index: indexPath, shard: shard) }
            throw SafetensorsError.invalidIndex(index: indexPath, reason: e.reason)
        }
        let folder = indexURL.deletingLastPathComponent()
        var expected: [String: Set<String>] = [:]
        for (tensor, shard) in map.weightMap { expected[shard, default: []].insert(tensor) }
        let shardNames = map.shards
        for shard in shardNames {
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(shard).path) else {
                throw SafetensorsError.missingShard(index: indexPath, shard: shard)
            }
        }
        var store = TensorStore()
        var metadata: [String: String] = [:]
        var aliases: [(String, String)] = []
        var files: [String] = []
        for shard in shardNames {
            let url = folder.appendingPathComponent(shard)
            files.append(url.path)
            let file = try OpenFile(path: url.path)
            let header = try SafetensorsHeader.read(from: file)
            var wanted = expected[shard] ?? []
            for e in header.entries {
                guard wanted.remove(e.name) != nil else {
                    throw SafetensorsError.tensorNotInIndex(index: indexPath, shard: shard, tensor: e.name)
                }
                do { try store.add(try Self.entry(e, file: file, header: header)) } catch is TensorStore.StoreError {
                    throw SafetensorsError.duplicateTensor(file: url.path, tensor: e.name)
                }
            }
            if let missing = wanted.sorted().first {
                throw SafetensorsError.tensorMissingFromShard(index: indexPath, shard: shard, tensor: missing)
            }
            var shardMeta = header.metadata
            for pair in try Self.takeAliases(from: &shardMeta, file: url.path) where !aliases.contains(where: { $0.0 == pair.0 }) {
                aliases.append(pair)
            }
            metadata.merge(shardMeta) { first, _ in first }
        }
        try Self.restore(aliases: aliases, in: &store, file: indexPath)
        return NeutralModel(sourceFormat: info.id, sourceFiles: [indexPath] + files, tensors: store, metadata: metadata)
    }

    static func entry(_ e: SafetensorsHeader.Entry, file: OpenFile, header: SafetensorsHeader) throws -> TensorEntry {
        let storage = try TensorStorage.file(file, offset: header.dataStart + e.dataRange.lowerBound, count: e.dataRange.count,
                                             label: "\(file.path):\(e.name)")
        let ref = TensorRef(dtype: e.dtype, shape: e.shape, storage: storage)
        return TensorEntry(name: e.name, tensor: ref, provenance: Provenance(sourceFile: file.path, sourceName: e.name))
    }

    /// Removes and decodes `porter.aliases` from `metadata` (alias → target, in alias-name order).
    static func takeAliases(from metadata: inout [String: String], file: String) throws -> [(String, String)] {
        guard let text = metadata.removeValue(forKey: aliasesMetadataKey) else { return [] }
        guard let json = try? JSONValue.parse(Data(text.utf8)), case let .object(pairs) = json else {
            throw SafetensorsError.invalidAliases(file: file, reason: "not a JSON object")
        }
        var out: [(String, String)] = []
        for (alias, target) in pairs.sorted(by: { $0.key < $1.key }) {
            guard case let .string(t) = target else {
                throw SafetensorsError.invalidAliases(file: file, reason: "alias '\(alias)' does not name a target")
            }
            out.append((alias, t))
        }
        return out
    }

    /// Adds each alias as a view of its target's storage, placed right after the target.
    static func restore(aliases: [(String, String)], in store: inout TensorStore, file: String) throws {
        guard !aliases.isEmpty else { return }
        var entries = store.entries
        for (alias, target) in aliases {
            guard !entries.contains(where: { $0.name == alias }) else {
                throw SafetensorsError.invalidAliases(file: file, reason: "alias '\(alias)' is also stored as a tensor")
            }
            guard let at = entries.firstIndex(where: { $0.name == target }) else {
                throw SafetensorsError.invalidAliases(file: file, reason: "alias '\(alias)' names '\(target)', which is not in the file")
            }
            var insertAt = at + 1
            while insertAt < entries.count, entries[insertAt].tensor.storage === entries[at].tensor.storage { insertAt += 1 }
            let source = entries[at]
            entries.insert(TensorEntry(name: alias, tensor: source.tensor,
                                       provenance: Provenance(sourceFile: source.provenance.sourceFile, sourceName: target,
                                                              transforms: [.alias(of: target)])), at: insertAt)
        }
        store = try TensorStore(entries)
    }
}

extension SafetensorsReader: HazardChecking {
    /// safetensors holds only a JSON header and raw bytes: reading the header (every check of
    /// the reader) is the whole check.
    public func hazards(of url: URL) throws -> [String] {
        _ = try read(url, options: ReadOptions())
        return []
    }
}
