import Foundation

/// Every way a tokenizer file can be refused or a tokenizer can fail to encode. Messages name the file and
/// the key path inside it (`model.merges[12]`), and say what was expected.
public enum TokenizerError: Error, LocalizedError, Equatable, Sendable {
    /// The file could not be read (missing, unreadable, a folder).
    case unreadable(file: String, reason: String)
    /// The file is larger than `TokenizerLimits.maxFileBytes`.
    case fileTooLarge(file: String, bytes: Int, limit: Int)
    /// The bytes are not JSON (or not UTF-8).
    case notJSON(file: String, reason: String)
    /// A required key is absent.
    case missingKey(file: String, path: String)
    /// A key holds the wrong kind of value.
    case wrongType(file: String, path: String, expected: String)
    /// A value is of the right kind but not allowed (negative id, empty token, unknown behaviour name).
    case invalidValue(file: String, path: String, reason: String)
    /// A component `type` Porter does not implement; it is refused rather than approximated.
    case unsupported(file: String, path: String, what: String)
    /// A list or string is longer than Porter's bound for it.
    case tooLarge(file: String, path: String, count: Int, limit: Int)
    /// A regex pattern the engine refuses.
    case badRegex(file: String, path: String, pattern: String, reason: String)
    /// A merge names a token the vocabulary lacks, or produces one it lacks.
    case mergeOutOfVocabulary(file: String, path: String, token: String)
    /// Two tokens claim one id, or an id is beyond the vocabulary.
    case idConflict(file: String, path: String, id: Int, reason: String)
    /// A token the model needs (its unk token) is not in its vocabulary.
    case unknownToken(file: String, path: String, token: String)
    /// Nothing recognisable as a tokenizer in a folder.
    case noTokenizer(path: String)
    /// Encoding met a character the model cannot represent and it has neither an unk token nor byte fallback.
    case unencodable(text: String, reason: String)
    /// A regex match ran past Porter's time budget (a pattern that backtracks catastrophically).
    case regexTimeLimit(pattern: String, seconds: Double)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the tokenizer file: \(reason)"
        case let .fileTooLarge(file, bytes, limit):
            return "\(file): \(bytes) bytes is more than Porter reads for a tokenizer file (\(limit) bytes)"
        case let .notJSON(file, reason):
            return "\(file): not a JSON tokenizer file: \(reason)"
        case let .missingKey(file, path):
            return "\(file): key \(path) is missing"
        case let .wrongType(file, path, expected):
            return "\(file): key \(path) should be \(expected)"
        case let .invalidValue(file, path, reason):
            return "\(file): key \(path): \(reason)"
        case let .unsupported(file, path, what):
            return "\(file): key \(path): \(what) is not supported by Porter's tokenizer (refused, not approximated)"
        case let .tooLarge(file, path, count, limit):
            return "\(file): key \(path) has \(count) entries; Porter's bound is \(limit)"
        case let .badRegex(file, path, pattern, reason):
            return "\(file): key \(path): the regex \(Self.clip(pattern)) is refused: \(reason)"
        case let .mergeOutOfVocabulary(file, path, token):
            return "\(file): key \(path): the merge needs the token \(Self.clip(token)), which is not in model.vocab"
        case let .idConflict(file, path, id, reason):
            return "\(file): key \(path): id \(id) \(reason)"
        case let .unknownToken(file, path, token):
            return "\(file): key \(path): the token \(Self.clip(token)) is not in the vocabulary"
        case let .noTokenizer(path):
            return "\(path): no tokenizer found (looked for tokenizer.json, tokenizer.model, vocab.json + merges.txt, vocab.txt)"
        case let .unencodable(text, reason):
            return "cannot encode \(Self.clip(text)): \(reason)"
        case let .regexTimeLimit(pattern, seconds):
            return "the split pattern \(Self.clip(pattern)) ran longer than \(String(format: "%.0f", seconds)) s on one piece of text (catastrophic backtracking?); refused"
        }
    }

    static func clip(_ s: String) -> String {
        let q = s.debugDescription
        return q.count > 80 ? String(q.prefix(77)) + "…\"" : q
    }
}

/// Porter's bounds for tokenizer files. Real vocabularies are at most a few hundred thousand entries; these
/// limits keep a hostile file from costing unbounded memory or time.
public enum TokenizerLimits {
    public static let maxFileBytes = 512 << 20
    public static let maxVocab = 4_000_000
    public static let maxMerges = 4_000_000
    public static let maxAddedTokens = 1_000_000
    public static let maxTokenScalars = 4096
    public static let maxPatternLength = 4096
    public static let maxNesting = 16
    public static let maxTemplateItems = 64
    /// Time budget for one regex over one piece of text: 5 s, or 5 s per million scalars for longer pieces.
    public static func regexSeconds(forScalars n: Int) -> Double { max(5.0, Double(n) / 1_000_000 * 5.0) }
}
