import Foundation

/// A shard index as transformers writes it for safetensors, PyTorch and TF h5 weights
/// (`model.safetensors.index.json`, `pytorch_model.bin.index.json`,
/// `tf_model.h5.index.json`): `{"metadata": {"total_size": …}, "weight_map": {name: shard file}}`.
/// Every shard is checked to be a plain file name beside the index.
public struct ShardIndex: Sendable {
    /// Tensor (or variable) name → shard file name.
    public var weightMap: [String: String]
    /// The `metadata` object, when present.
    public var metadata: JSONValue?
    /// `metadata.total_size` when present.
    public var totalSize: Int? { metadata?["total_size"]?.intValue }
    /// Shard file names, sorted.
    public var shards: [String] { Set(weightMap.values).sorted() }

    /// Why an index was refused; readers wrap it in their own error naming the index.
    public enum Invalid: Error, Sendable {
        case malformed(String)
        /// A shard name that would leave the index's folder (`../x`, `a/b`, empty).
        case unsafeShardName(String)

        public var reason: String {
            switch self {
            case let .malformed(reason): return reason
            case let .unsafeShardName(name): return "shard name '\(name)' must be a plain file name"
            }
        }
    }

    public static let maxBytes = 100_000_000

    /// Reads and checks the index at `url`. Throws `Invalid` for a malformed index (too
    /// large, not strict JSON, no `weight_map` object, a value that is not a plain file
    /// name) and `CoreError` when the file cannot be read.
    public static func read(_ url: URL) throws -> ShardIndex {
        let file = try OpenFile(path: url.path)
        guard file.size <= maxBytes else { throw Invalid.malformed("larger than 100 MB") }
        let json: JSONValue
        do { json = try JSONValue.parse(try file.read(offset: 0, count: file.size), rejectDuplicateKeys: true, maxDepth: 64) } catch let e as JSONParseError {
            throw Invalid.malformed("not JSON: \(e.localizedDescription)")
        }
        guard case let .object(top) = json else { throw Invalid.malformed("not a JSON object") }
        guard case let .object(map)? = top["weight_map"] else { throw Invalid.malformed("no weight_map object") }
        var weightMap: [String: String] = [:]
        for (name, shard) in map {
            guard case let .string(s) = shard else { throw Invalid.malformed("weight_map['\(name)'] is not a file name") }
            guard isPlainFileName(s) else { throw Invalid.unsafeShardName(s) }
            weightMap[name] = s
        }
        return ShardIndex(weightMap: weightMap, metadata: top["metadata"])
    }

    /// True for a name that stays inside its folder: not empty, `.` or `..`, and without
    /// `/`, `\` or NUL.
    public static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\\") && !name.contains("\0")
    }
}
