import Foundation
import PorterCore

/// Writes a `NeutralModel` as safetensors: one file, or, when `maxShardSize` is set and
/// the model is larger, a folder of `model-0000i-of-0000N.safetensors` shards plus
/// `model.safetensors.index.json`.
///
/// Tensors stream one at a time (`OutputFile.write(tensor:)`, a kernel copy when the
/// bytes already sit in a file), so memory stays bounded by the largest tensor. The
/// writer never changes bytes: casts happen before it. Aliases are written once and
/// recorded in the `porter.aliases` metadata entry so `SafetensorsReader` restores them.
public struct SafetensorsWriter: ModelWriter {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "safetensors", name: "safetensors", extensions: [".safetensors"],
                   summary: "one .safetensors file, or shards + model.safetensors.index.json with --max-shard-size")
    }

    /// Prefix of `--write-option metadata.<key>=<text>`: an entry of the `__metadata__` header.
    public static let metadataOption = "metadata."

    public var options: [FormatOption] {
        [.maxShardSize, FormatOption(Self.metadataOption, .text("text"), help: "add <key> to the __metadata__ header (in every shard)")]
    }

    /// `metadata.<key>` write options as header entries.
    static func extraMetadata(_ options: WriteOptions) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in options.extra where k.hasPrefix(metadataOption) { out[String(k.dropFirst(metadataOption.count))] = v }
        return out
    }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool {
        Self.needsSharding(model, maxShardSize: options.maxShardSize)
    }

    /// A file, or the sharded folder: `model-0000i-of-0000N.safetensors` and the index.
    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        let producer = "the \(info.name) writer"
        guard producesDirectory(for: model, options: options) else { return .file(producer: producer) }
        return .folder([.shards(base: "model", suffix: ".safetensors"), .file("model.safetensors.index.json")], producer: producer)
    }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        if producesDirectory(for: model, options: options) {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            _ = try Self.writeWeights(of: model, into: url, baseName: "model", extraMetadata: Self.extraMetadata(options),
                                      maxShardSize: options.maxShardSize, progress: options.progress)
        } else {
            let plan = try Self.plan(model)
            options.progress.begin("writing \(url.lastPathComponent)", totalUnits: Int64(plan.totalBytes))
            defer { options.progress.end() }
            let metadata = model.metadata.merging(Self.extraMetadata(options)) { _, new in new }
            try Self.writeFile(plan.stored, metadata: Self.metadata(metadata, aliases: plan.aliases), to: url, progress: options.progress)
        }
    }

    /// True when `model`'s stored bytes (aliases once) exceed `maxShardSize`.
    public static func needsSharding(_ model: NeutralModel, maxShardSize: Int?) -> Bool {
        guard let maxShardSize else { return false }
        return model.tensors.uniqueByteCount > maxShardSize
    }

    /// Writes the weights of `model` into `folder` as `<baseName>.safetensors`, or, when
    /// larger than `maxShardSize`, as `<baseName>-0000i-of-0000N.safetensors` shards and
    /// `<baseName>.safetensors.index.json`. Returns the file names written, index last.
    @discardableResult
    public static func writeWeights(of model: NeutralModel, into folder: URL, baseName: String, extraMetadata: [String: String],
                                    maxShardSize: Int?, progress: any ProgressSink = SilentProgress()) throws -> [String] {
        let plan = try plan(model)
        var meta = model.metadata
        meta.merge(extraMetadata) { _, new in new }
        let metadata = Self.metadata(meta, aliases: plan.aliases)
        progress.begin("writing weights", totalUnits: Int64(plan.totalBytes))
        defer { progress.end() }
        guard let maxShardSize, plan.totalBytes > maxShardSize else {
            let name = "\(baseName).safetensors"
            try writeFile(plan.stored, metadata: metadata, to: folder.appendingPathComponent(name), progress: progress)
            return [name]
        }
        // Greedy, in model order: a new shard starts when the next tensor would overflow this one.
        var shards: [[TensorEntry]] = [[]]
        var current = 0
        for e in plan.stored {
            let size = e.tensor.byteCount
            if !shards[shards.count - 1].isEmpty && current + size > maxShardSize {
                shards.append([])
                current = 0
            }
            shards[shards.count - 1].append(e)
            current += size
        }
        var names: [String] = []
        var weightMap: [String: JSONValue] = [:]
        let total = shards.count
        for (i, shard) in shards.enumerated() {
            let name = "\(baseName)-\(padded(i + 1))-of-\(padded(total)).safetensors"
            try writeFile(shard, metadata: metadata, to: folder.appendingPathComponent(name), progress: progress)
            for e in shard { weightMap[e.name] = .string(name) }
            names.append(name)
        }
        let index: JSONValue = ["metadata": ["total_size": .int(Int64(plan.totalBytes))], "weight_map": .object(weightMap)]
        let indexName = "\(baseName).safetensors.index.json"
        var data = try index.encoded(pretty: true)
        data.append(0x0A)
        try OutputFile.write(data, to: folder.appendingPathComponent(indexName))
        names.append(indexName)
        return names
    }

    /// Five-digit zero-padded shard number, as transformers names shards.
    static func padded(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// What gets stored: tensors that are not aliases (in model order) and the alias map.
    struct Plan {
        var stored: [TensorEntry]
        var aliases: [String: String]
        var totalBytes: Int
    }

    static func plan(_ model: NeutralModel) throws -> Plan {
        let aliases = model.tensors.aliases()
        var stored: [TensorEntry] = []
        var total = 0
        for e in model.tensors where aliases[e.name] == nil {
            try e.tensor.validate(name: e.name)
            guard e.name != "__metadata__" else { throw SafetensorsError.unwritableTensor(tensor: e.name, reason: "the name is reserved") }
            stored.append(e)
            let (sum, o) = total.addingReportingOverflow(e.tensor.byteCount)
            guard !o else { throw SafetensorsError.unwritableTensor(tensor: e.name, reason: "total size overflows") }
            total = sum
        }
        return Plan(stored: stored, aliases: aliases, totalBytes: total)
    }

    static func metadata(_ base: [String: String], aliases: [String: String]) -> [String: String] {
        var meta = base
        if !aliases.isEmpty {
            let object = JSONValue.object(aliases.mapValues { .string($0) })
            meta[SafetensorsReader.aliasesMetadataKey] = (try? object.encoded(pretty: false)).map { String(decoding: $0, as: UTF8.self) }
        } else {
            meta.removeValue(forKey: SafetensorsReader.aliasesMetadataKey)
        }
        return meta
    }

    /// Writes one safetensors file: header (compact JSON, `__metadata__` first, tensors in
    /// data order, padded with spaces to a multiple of 8), then each tensor's bytes.
    public static func writeFile(_ tensors: [TensorEntry], metadata: [String: String], to url: URL,
                                 progress: any ProgressSink = SilentProgress()) throws {
        let header = try headerBytes(tensors, metadata: metadata)
        let out = try OutputFile(path: url.path)
        var length = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { length[i] = UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i))) }
        try out.write(length)
        try out.write(header)
        for e in tensors {
            let before = out.bytesWritten
            try out.write(tensor: e.tensor)
            guard out.bytesWritten - before == e.tensor.byteCount else {
                throw SafetensorsError.unwritableTensor(tensor: e.name, reason: "wrote \(out.bytesWritten - before) bytes, expected \(e.tensor.byteCount)")
            }
            progress.advance(Int64(e.tensor.byteCount))
        }
        try out.close()
    }

    /// The header JSON of a file holding `tensors` in order, padded to a multiple of 8 bytes.
    public static func headerBytes(_ tensors: [TensorEntry], metadata: [String: String]) throws -> [UInt8] {
        var s = "{"
        var first = true
        if !metadata.isEmpty {
            s += "\"__metadata__\":{"
            s += metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            s += "}"
            first = false
        }
        var offset = 0
        for e in tensors {
            guard e.tensor.shape.elementCount != nil else {
                throw SafetensorsError.unwritableTensor(tensor: e.name, reason: "shape \(e.tensor.shape) is invalid")
            }
            let end = offset + e.tensor.byteCount
            if !first { s += "," }
            first = false
            s += "\(jsonString(e.name)):{\"dtype\":\"\(e.tensor.dtype.safetensorsName)\",\"shape\":["
            s += e.tensor.shape.dims.map(String.init).joined(separator: ",")
            s += "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        s += "}"
        var bytes = Array(s.utf8)
        let pad = (8 - bytes.count % 8) % 8
        bytes += [UInt8](repeating: 0x20, count: pad)
        return bytes
    }

    /// JSON string literal with the escapes serde_json (the reference writer) uses.
    static func jsonString(_ text: String) -> String { JSONValue.quoted(text) }
}
