/// A non-tensor file that travels with a model: vocabulary, merges, dictionary,
/// tokenizer config. Stored verbatim.
public struct Asset: Sendable, Hashable {
    /// What the asset is (`vocab`, `merges`, `fairseq-dictionary`, `bpecodes`, `tokenizer-config`, ...).
    public var kind: String
    /// File name to write it under: a plain name, or one plain folder and a plain name
    /// (`1_Pooling/config.json`, a sentence-transformers module's file).
    public var fileName: String
    public var bytes: [UInt8]

    public init(kind: String, fileName: String, bytes: [UInt8]) {
        self.kind = kind
        self.fileName = fileName
        self.bytes = bytes
    }

    /// The components of an asset file name that stays inside its folder — a plain name, or
    /// a plain folder name and a plain file name — or nil for any other name.
    public static func pathComponents(of name: String) -> [String]? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy(ShardIndex.isPlainFileName) else { return nil }
        return parts
    }

    /// The folder entries of a set of asset names (files, and one level of folders).
    public static func outputEntries(_ names: [String]) -> [OutputEntry] {
        var files: [String] = []
        var folders: [String: [OutputEntry]] = [:]
        for name in names {
            guard let parts = pathComponents(of: name) else { continue }
            if parts.count == 2 { folders[parts[0], default: []].append(.file(parts[1])) } else { files.append(name) }
        }
        return files.sorted().map(OutputEntry.file) + folders.keys.sorted().map { .folder($0, contents: folders[$0] ?? []) }
    }
}
