import Foundation
import PorterTokenizers

/// A fairseq `Dictionary` loaded with fairseq's own rules.
///
/// Indices 0–3 are always `<s>`, `<pad>`, `</s>`, `<unk>`; line *i* (0-based) of
/// `dict.txt` gets index *i* + 4. A line is `token count`, optionally followed by
/// `#fairseq:overwrite`, which lets a token repeat: the repeat takes a new index and
/// the name then refers to it (the earlier index keeps its symbol). A repeat without
/// the flag, or a line that is not `token count`, is an error naming the line.
public struct FairseqDictionary: Sendable, Equatable {
    /// fairseq's four special symbols, in index order.
    public static let specialSymbols = ["<s>", "<pad>", "</s>", "<unk>"]
    public static let bosIndex = 0
    public static let padIndex = 1
    public static let eosIndex = 2
    public static let unkIndex = 3
    /// Dictionary files larger than this are refused (fairseq dictionaries are a few MB).
    public static let maxFileBytes = 512 << 20

    /// Symbol at each index.
    public private(set) var symbols: [String]
    /// Count at each index (0 for the specials' defaults and padding symbols).
    public private(set) var counts: [Int]
    /// The index a token name refers to (the last one written with `#fairseq:overwrite`).
    public private(set) var indices: [String: Int]
    /// Number of `madeupwordNNNN` symbols added to reach the model's embedding size.
    public private(set) var paddingSymbolCount = 0

    /// An empty dictionary holding only the four specials (count 1 each, as fairseq).
    public init() {
        symbols = []
        counts = []
        indices = [:]
        for s in Self.specialSymbols { add(s, count: 1) }
    }

    /// Parses `dict.txt` text. `file` names the source in errors.
    public init(text: String, file: String) throws {
        self.init()
        var lineNumber = 0
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }  // the final newline ends the last line
        for raw in lines {
            lineNumber += 1
            let line = Self.rstrip(raw)
            guard let (head, lastField) = Self.splitLast(line) else {
                throw FairseqError.malformedDictionaryLine(file: file, line: lineNumber, text: String(raw))
            }
            var word = head
            var field = lastField
            var overwrite = false
            if field == "#fairseq:overwrite" {
                overwrite = true
                guard let (w, f) = Self.splitLast(head) else {
                    throw FairseqError.malformedDictionaryLine(file: file, line: lineNumber, text: String(raw))
                }
                word = w
                field = f
            }
            guard let count = Self.pythonInt(field) else {
                throw FairseqError.malformedDictionaryLine(file: file, line: lineNumber, text: String(raw))
            }
            if let existing = indices[String(word)], !overwrite {
                throw FairseqError.duplicateToken(file: file, line: lineNumber, token: String(word), firstIndex: existing)
            }
            add(String(word), count: count, overwrite: overwrite)
        }
    }

    /// Loads `dict.txt` from disk.
    public init(contentsOf url: URL) throws {
        let text = try readUTF8Text(url, limit: Self.maxFileBytes, what: "a dictionary")
        try self.init(text: text, file: url.path)
    }

    /// Number of symbols (fairseq's `len(dictionary)`).
    public var count: Int { symbols.count }

    /// The index of `token`, or `<unk>`'s.
    public func index(of token: String) -> Int { indices[token] ?? Self.unkIndex }

    /// fairseq's `add_symbol`: a new name is appended; an existing one adds to its count,
    /// unless `overwrite`, which appends again and points the name at the new index.
    @discardableResult
    public mutating func add(_ word: String, count n: Int = 1, overwrite: Bool = false) -> Int {
        if let idx = indices[word], !overwrite {
            counts[idx] += n
            return idx
        }
        let idx = symbols.count
        indices[word] = idx
        symbols.append(word)
        counts.append(n)
        return idx
    }

    /// fairseq's `pad_to_multiple_` generalised to a target size: appends
    /// `madeupword0000`, `madeupword0001`, ... (count 0) until the dictionary has
    /// `size` symbols, as when a model's embedding is larger than its dictionary file.
    public mutating func padWithMadeUpWords(to size: Int) {
        var i = 0
        while symbols.count < size {
            let before = symbols.count
            add(String(format: "madeupword%04d", i), count: 0)
            if symbols.count > before { paddingSymbolCount += 1 }
            i += 1
        }
    }

    /// fairseq's `encode_line` on text already split into tokens by spaces: token ids
    /// followed by `</s>`.
    public func encode(_ line: String, appendEOS: Bool = true) -> [Int] {
        var ids = splitScalars(line, separators: [" ", "\t", "\n"], omittingEmpty: true).map { index(of: $0) }
        if appendEOS { ids.append(Self.eosIndex) }
        return ids
    }

    // MARK: - Python string semantics

    /// `str.rstrip()`: drops trailing whitespace (including `\r`).
    static func rstrip(_ s: Substring) -> Substring {
        var end = s.endIndex
        while end > s.startIndex, s[s.index(before: end)].isWhitespace { end = s.index(before: end) }
        return s[s.startIndex..<end]
    }

    /// `s.rsplit(" ", 1)` that must yield two parts.
    static func splitLast(_ s: Substring) -> (Substring, Substring)? {
        guard let space = s.lastIndex(of: " ") else { return nil }
        return (s[s.startIndex..<space], s[s.index(after: space)...])
    }

    /// Python's `int(str)` for base 10: surrounding whitespace, an optional sign,
    /// digits with single underscores between them.
    static func pythonInt(_ s: Substring) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces)
        var chars = Substring(t)
        var negative = false
        if let f = chars.first, f == "+" || f == "-" {
            negative = f == "-"
            chars = chars.dropFirst()
        }
        guard let first = chars.first, first.isASCII, first.isNumber, let last = chars.last, last != "_" else { return nil }
        var value = 0
        var previousUnderscore = false
        for c in chars {
            if c == "_" {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard c.isASCII, let d = c.wholeNumberValue else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            value = a
        }
        return negative ? -value : value
    }
}
