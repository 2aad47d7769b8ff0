import Foundation

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
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            switch fields.count {
            case 2:
                merges.append(Merge(left: String(fields[0]), right: String(fields[1]), count: nil))
            case 3:
                guard let n = FairseqDictionary.pythonInt(fields[2]), n >= 0 else {
                    throw FairseqError.malformedBPECodesLine(file: file, line: i + 1, text: String(raw))
                }
                merges.append(Merge(left: String(fields[0]), right: String(fields[1]), count: n))
            default:
                throw FairseqError.malformedBPECodesLine(file: file, line: i + 1, text: String(raw))
            }
        }
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
            if let size = attrs[.size] as? Int, size > Self.maxFileBytes {
                throw FairseqError.unreadableText(file: url.path, reason: "\(size) bytes is larger than BPE codes can be (limit \(Self.maxFileBytes))")
            }
            data = try Data(contentsOf: url)
        } catch let error as FairseqError {
            throw error
        } catch {
            throw FairseqError.unreadableText(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FairseqError.unreadableText(file: url.path, reason: "not UTF-8 text")
        }
        try self.init(text: text, file: url.path)
    }

    /// transformers' `merges.txt` for FSMT: one `left right` per line, counts dropped,
    /// order kept (the order is the merge priority), newline-terminated.
    public func mergesText() -> String {
        merges.map { "\($0.left) \($0.right)\n" }.joined()
    }
}
