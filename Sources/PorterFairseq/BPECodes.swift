import Foundation
import PorterTokenizers

/// BPE merge rules from a fastBPE `bpecodes` file (`left right count`, most frequent
/// first) or a subword-nmt codes file (`left right`, optional `#version:` header).
public struct BPECodes: Sendable, Equatable {
    public struct Merge: Sendable, Equatable {
        public var left: String
        public var right: String
        /// The pair's frequency (fastBPE); nil when the file has none.
        public var count: Int?
    }

    public static let maxFileBytes = 512 << 20
    public private(set) var merges: [Merge]

    public init(merges: [Merge]) { self.merges = merges }

    /// Parses codes text; `file` names the source in errors.
    public init(text: String, file: String) throws {
        merges = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for (i, raw) in lines.enumerated() {
            let line = FairseqDictionary.rstrip(raw)
            if i == 0 && line.hasPrefix("#version") { continue }
            let fields = splitScalars(line, separators: [" "], omittingEmpty: true)
            switch fields.count {
            case 2:
                merges.append(Merge(left: String(fields[0]), right: String(fields[1]), count: nil))
            case 3:
                guard let n = FairseqDictionary.pythonInt(Substring(fields[2])), n >= 0 else {
                    throw FairseqError.malformedBPECodesLine(file: file, line: i + 1, text: String(raw))
                }
                merges.append(Merge(left: String(fields[0]), right: String(fields[1]), count: n))
            default:
                throw FairseqError.malformedBPECodesLine(file: file, line: i + 1, text: String(raw))
            }
        }
    }

    public init(contentsOf url: URL) throws {
        let text = try readUTF8Text(url, limit: Self.maxFileBytes, what: "BPE codes")
        try self.init(text: text, file: url.path)
    }

    /// transformers' `merges.txt` for FSMT: one `left right` per line, counts dropped,
    /// order kept (the order is the merge priority), newline-terminated.
    public func mergesText() -> String {
        merges.map { "\($0.left) \($0.right)\n" }.joined()
    }
}
