import Foundation

/// Failures reading a fairseq model: its dictionaries, BPE codes, checkpoint and config.
/// Every message names the file and the line, key path or tensor involved.
public enum FairseqError: Error, Sendable, Equatable {
    /// A dictionary line is not `token count [#fairseq:overwrite]`.
    case malformedDictionaryLine(file: String, line: Int, text: String)
    /// A token appears twice without `#fairseq:overwrite`.
    case duplicateToken(file: String, line: Int, token: String, firstIndex: Int)
    /// A dictionary file is not UTF-8 or larger than Porter accepts.
    case unreadableText(file: String, reason: String)
    /// A BPE codes line is not `left right [count]`.
    case malformedBPECodesLine(file: String, line: Int, text: String)
    /// The model's embedding has fewer rows than the dictionary has symbols.
    case embeddingSmallerThanDictionary(dictionary: String, symbols: Int, embeddingRows: Int, tensor: String)
    /// Two dictionary tokens become the same string in transformers' BPE vocabulary.
    case vocabularyCollision(file: String, token: String, rewritten: String, otherIndex: Int)
    /// The checkpoint lacks a key it needs (`model`, `args`/`cfg`, ...).
    case missingKey(file: String, keyPath: String)
    /// A checkpoint value has the wrong type.
    case unexpectedValue(file: String, keyPath: String, expected: String, found: String)
    /// A config field FSMT cannot represent (pre-norm layers, learned positions, ...).
    case unsupportedConfig(file: String, keyPath: String, value: String, reason: String)
    /// The folder lacks a file the port needs.
    case missingFile(folder: String, wanted: String, found: [String])
    /// Several checkpoints or dictionaries fit and none was named.
    case ambiguous(folder: String, what: String, candidates: [String], option: String)
    /// A reader option has a value Porter does not understand.
    case badOption(name: String, value: String, expected: String)
}

extension FairseqError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .malformedDictionaryLine(file, line, text):
            return "\(file):\(line): incorrect dictionary format, expected '<token> <count> [#fairseq:overwrite]', found \"\(text)\""
        case let .duplicateToken(file, line, token, firstIndex):
            return "\(file):\(line): duplicate token '\(token)' (already index \(firstIndex)); fairseq refuses it too unless the line ends with #fairseq:overwrite"
        case let .unreadableText(file, reason):
            return "\(file): \(reason)"
        case let .malformedBPECodesLine(file, line, text):
            return "\(file):\(line): expected BPE codes as 'left right count' (fastBPE) or 'left right' (subword-nmt), found \"\(text)\""
        case let .embeddingSmallerThanDictionary(dictionary, symbols, rows, tensor):
            return "\(dictionary) has \(symbols) symbols but \(tensor) has only \(rows) rows: the dictionary does not belong to this checkpoint"
        case let .vocabularyCollision(file, token, rewritten, otherIndex):
            return "\(file): token '\(token)' becomes '\(rewritten)' in transformers' vocabulary, which index \(otherIndex) already has"
        case let .missingKey(file, keyPath):
            return "\(file): the checkpoint has no '\(keyPath)'; a fairseq checkpoint is a dict with 'model' (the weights) and 'args' or 'cfg'"
        case let .unexpectedValue(file, keyPath, expected, found):
            return "\(file): '\(keyPath)' should be \(expected), found \(found)"
        case let .unsupportedConfig(file, keyPath, value, reason):
            return "\(file): '\(keyPath)' = \(value): \(reason)"
        case let .missingFile(folder, wanted, found):
            return "\(folder): no \(wanted) (found: \(found.isEmpty ? "nothing" : found.joined(separator: ", ")))"
        case let .ambiguous(folder, what, candidates, option):
            return "\(folder): several \(what): \(candidates.joined(separator: ", ")); choose one with \(option)"
        case let .badOption(name, value, expected):
            return "option \(name)=\(value): expected \(expected)"
        }
    }
}
