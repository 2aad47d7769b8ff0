/// A non-tensor file that travels with a model: vocabulary, merges, dictionary,
/// tokenizer config. Stored verbatim.
public struct Asset: Sendable, Hashable {
    /// What the asset is (`vocab`, `merges`, `fairseq-dictionary`, `bpecodes`, `tokenizer-config`, ...).
    public var kind: String
    /// File name to write it under (relative, no folders).
    public var fileName: String
    public var bytes: [UInt8]

    public init(kind: String, fileName: String, bytes: [UInt8]) {
        self.kind = kind
        self.fileName = fileName
        self.bytes = bytes
    }
}
