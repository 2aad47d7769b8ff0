import Foundation
import PorterCore
import PorterTokenizers

/// What `porter tokenize` prints: each text's ids, tokens and character offsets.
public struct TokenizeResult: Sendable {
    public struct Item: Sendable {
        public var text: String
        public var ids: [Int]
        public var tokens: [String]
        public var offsets: [(start: Int, end: Int)]
    }
    /// Where the tokenizer came from (the file Porter read).
    public var origin: String
    public var items: [Item]

    /// Machine-readable form (`--json`).
    public func json() throws -> String {
        let encodings: [JSONValue] = items.map { e in
            .object([
                "text": .string(e.text),
                "ids": .array(e.ids.map { .int(Int64($0)) }),
                "tokens": .array(e.tokens.map { .string($0) }),
                "offsets": .array(e.offsets.map { .array([.int(Int64($0.start)), .int(Int64($0.end))]) }),
            ])
        }
        let doc: JSONValue = .object(["tokenizer": .string(origin), "encodings": .array(encodings)])
        return String(decoding: try doc.encoded(pretty: true), as: UTF8.self) + "\n"
    }

    /// Human-readable form: one block per text, one line per token.
    public func text() -> String {
        var lines = ""
        for (i, e) in items.enumerated() {
            lines += "text \(i + 1): \(e.text.debugDescription) → \(e.ids.count) tokens\n"
            lines += "  ids: \(e.ids.map(String.init).joined(separator: " "))\n"
            for k in e.ids.indices {
                let o = e.offsets[k]
                lines += "  \(String(e.ids[k]).padding(toLength: 8, withPad: " ", startingAt: 0)) \(e.tokens[k].debugDescription.padding(toLength: 24, withPad: " ", startingAt: 0)) \(o.start)..<\(o.end)\n"
            }
        }
        return lines
    }
}

extension Pipeline {
    /// Encodes `texts` with the tokenizer of `model` (a model folder, a `tokenizer.json` or
    /// a SentencePiece `.model`), with or without the post-processor's special tokens.
    public func tokenize(_ model: URL, texts: [String], addSpecialTokens: Bool) throws -> TokenizeResult {
        let tokenizer = try TokenizerLoader.load(model)
        let items = try texts.map { text -> TokenizeResult.Item in
            let e = try tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
            return .init(text: text, ids: e.ids.map { Int($0) }, tokens: e.tokens, offsets: e.offsets.map { (Int($0.start), Int($0.end)) })
        }
        return TokenizeResult(origin: tokenizer.origin, items: items)
    }
}
