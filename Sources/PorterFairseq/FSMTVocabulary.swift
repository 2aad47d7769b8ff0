import Foundation
import PorterCore

/// The vocabulary transformers' FSMT tokenizer reads (`vocab-src.json`,
/// `vocab-tgt.json`), made from a fairseq dictionary with the same ids.
///
/// fastBPE marks a word that continues with `@@`; transformers' BPE marks a word's end
/// with `</w>`. So `tok@@` becomes `tok`, any other token `tok</w>`, and the four
/// specials keep their names.
public struct FSMTVocabulary: Sendable, Equatable {
    /// Token → id, ids identical to the fairseq dictionary's.
    public private(set) var ids: [String: Int]

    /// Rewrites `dictionary`. A name that `#fairseq:overwrite` made point at a later
    /// index keeps only that index, as in fairseq's `indices`. `file` names the source
    /// in errors (two tokens that rewrite to the same string).
    public init(dictionary: FairseqDictionary, file: String) throws {
        ids = [:]
        let specials = Set(FairseqDictionary.specialSymbols)
        for (name, index) in dictionary.indices.sorted(by: { $0.value < $1.value }) {
            let rewritten = Self.rewrite(name, specials: specials)
            if let other = ids[rewritten] {
                throw FairseqError.vocabularyCollision(file: file, token: name, rewritten: rewritten, otherIndex: other)
            }
            ids[rewritten] = index
        }
    }

    /// The rewrite of one token.
    public static func rewrite(_ token: String, specials: Set<String> = Set(FairseqDictionary.specialSymbols)) -> String {
        if specials.contains(token) { return token }
        if token.hasSuffix("@@") { return String(token.dropLast(2)) }
        return token + "</w>"
    }

    /// The vocabulary as JSON (sorted keys, pretty, UTF-8 unescaped), as transformers reads it.
    public func jsonBytes() throws -> [UInt8] {
        let value = JSONValue.object(ids.mapValues { .int(Int64($0)) })
        return Array(try value.encoded(pretty: true)) + [0x0A]
    }
}
