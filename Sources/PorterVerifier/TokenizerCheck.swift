import Foundation
import PorterTokenizers

/// One text encoded by both tokenizers, as the report shows it.
public struct TokenizationSample: Sendable, Codable, Equatable {
    public var ids: [Int]
    public var tokens: [String]

    public init(ids: [Int], tokens: [String]) {
        self.ids = ids
        self.tokens = tokens
    }
}

/// Where the two tokenizers first disagree.
public struct TokenizerDifference: Sendable, Codable, Equatable {
    /// Index of the text in the compared corpus.
    public var textIndex: Int
    public var text: String
    /// Index of the first differing token (the shorter length when one encoding is a prefix of the other).
    public var position: Int
    /// True when the texts were encoded with the post-processor's special tokens.
    public var withSpecialTokens: Bool
    public var source: TokenizationSample
    public var converted: TokenizationSample

    public init(textIndex: Int, text: String, position: Int, withSpecialTokens: Bool, source: TokenizationSample, converted: TokenizationSample) {
        self.textIndex = textIndex
        self.text = text
        self.position = position
        self.withSpecialTokens = withSpecialTokens
        self.source = source
        self.converted = converted
    }
}

/// The tokenizer level: the source's and the converted model's tokenizers encode the same texts to the
/// same ids (with and without special tokens).
public struct TokenizerLevel: Sendable, Codable, Equatable {
    public var status: LevelStatus
    /// Why it was skipped or failed without a comparison.
    public var reason: String?
    /// The tokenizer files compared (`tokenizer.json`, …), nil when absent.
    public var sourceTokenizer: String?
    public var convertedTokenizer: String?
    /// Texts encoded by both (built-in corpus plus `--texts`).
    public var textsCompared: Int
    /// Texts whose encodings differ.
    public var textsDiffering: Int
    public var firstDifference: TokenizerDifference?

    public init(status: LevelStatus, reason: String? = nil, sourceTokenizer: String? = nil, convertedTokenizer: String? = nil,
                textsCompared: Int = 0, textsDiffering: Int = 0, firstDifference: TokenizerDifference? = nil) {
        self.status = status
        self.reason = reason
        self.sourceTokenizer = sourceTokenizer
        self.convertedTokenizer = convertedTokenizer
        self.textsCompared = textsCompared
        self.textsDiffering = textsDiffering
        self.firstDifference = firstDifference
    }
}

/// What each side of a port has as a tokenizer: nothing, one Porter can run, or one it cannot read.
public enum TokenizerSide: Sendable {
    case absent
    case present(Tokenizer, file: String)
    case unreadable(file: String, error: String)
}

public enum TokenizerCheck {
    /// Hard cases every port is checked on: whitespace runs and tabs, newlines, normalisation, combining
    /// marks, CJK, emoji with ZWJ, digits, code, URLs, special-looking strings, empty text, long repeats.
    public static let builtInCorpus: [String] = [
        "",
        "Hello world",
        "The quick brown fox jumps over the lazy dog.",
        "  leading, trailing  and   runs   of spaces  ",
        "tabs\tand\t\ttabs",
        "line one\nline two\n\n\r\nwindows",
        "Café naïve résumé — Cafe\u{301} nai\u{308}ve",
        "ﬁ ligature ① ｆｕｌｌｗｉｄｔｈ İstanbul ΣΊΣΥΦΟΣ straße",
        "日本語のテキストと中文文本 한국어 텍스트",
        "Привет, мир! مرحبا بالعالم",
        "emoji 😀 👨\u{200D}👩\u{200D}👧\u{200D}👦 🇫🇷 👍🏽",
        "digits 0123456789 3.14159 1,000,000 2024-05-17",
        "def foo(x):\n    return x**2 + 1  # square\n",
        "for (int i = 0; i < n; ++i) { a[i] = b[i] * 2; }",
        "https://example.com/path?query=1&b=two#frag someone@example.org",
        "<s> inside </s> [CLS] [SEP] [MASK] [UNK] <unk> <pad> <|endoftext|>",
        "I'm you're he's we've they'll I'd DON'T",
        String(repeating: "a", count: 300),
        String(repeating: "ab ", count: 100),
        "zero\u{200B}width\u{00A0}nbsp\u{3000}ideographic\u{000B}vt\u{0085}nel",
    ]

    /// Compares the tokenizers of a port. `convertedCanHold` is false when the converted model is a single
    /// weights file, which has no place for a tokenizer: then a missing one skips the level instead of failing.
    public static func run(source: TokenizerSide, converted: TokenizerSide, extraTexts: [String] = [],
                           allowMissing: Bool, convertedCanHold: Bool) -> TokenizerLevel {
        let texts = builtInCorpus + extraTexts
        switch (source, converted) {
        case (.absent, .absent):
            return TokenizerLevel(status: .skipped, reason: "neither model has a tokenizer")
        case let (.absent, .present(_, file)), let (.absent, .unreadable(file, _)):
            return TokenizerLevel(status: .skipped, reason: "the source has no tokenizer to compare the converted one (\(file)) with",
                                  convertedTokenizer: file)
        case let (.unreadable(file, error), _):
            return TokenizerLevel(status: .skipped, reason: "Porter cannot run the source's tokenizer: \(error)", sourceTokenizer: file)
        case let (.present(_, file), .absent):
            if allowMissing {
                return TokenizerLevel(status: .skipped, reason: "the converted model has no tokenizer (allowed by --allow-missing-tokenizer)",
                                      sourceTokenizer: file)
            }
            if !convertedCanHold {
                return TokenizerLevel(status: .skipped, reason: "the converted model is a weights file, which holds no tokenizer",
                                      sourceTokenizer: file)
            }
            return TokenizerLevel(status: .failed, reason: "the source has a tokenizer (\(file)) and the converted model has none; "
                                  + "pass --allow-missing-tokenizer if the port drops it on purpose", sourceTokenizer: file)
        case let (.present(_, sf), .unreadable(cf, error)):
            return TokenizerLevel(status: .failed, reason: "the converted model's tokenizer cannot be read: \(error)",
                                  sourceTokenizer: sf, convertedTokenizer: cf)
        case let (.present(a, sf), .present(b, cf)):
            var level = TokenizerLevel(status: .passed, sourceTokenizer: sf, convertedTokenizer: cf, textsCompared: texts.count)
            for (i, text) in texts.enumerated() {
                var differs = false
                for special in [true, false] {
                    let ea: PorterTokenizers.Encoding, eb: PorterTokenizers.Encoding
                    do {
                        ea = try a.encode(text, addSpecialTokens: special)
                    } catch {
                        level.status = .failed
                        level.reason = "the source tokenizer cannot encode text \(i): \(error.localizedDescription)"
                        return level
                    }
                    do {
                        eb = try b.encode(text, addSpecialTokens: special)
                    } catch {
                        level.status = .failed
                        level.reason = "the converted tokenizer cannot encode text \(i): \(error.localizedDescription)"
                        return level
                    }
                    if ea.ids != eb.ids {
                        differs = true
                        if level.firstDifference == nil {
                            let pos = zip(ea.ids, eb.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ea.ids.count, eb.ids.count)
                            level.firstDifference = TokenizerDifference(
                                textIndex: i, text: text, position: pos, withSpecialTokens: special,
                                source: TokenizationSample(ids: ea.ids, tokens: ea.tokens),
                                converted: TokenizationSample(ids: eb.ids, tokens: eb.tokens))
                        }
                        break
                    }
                }
                if differs { level.textsDiffering += 1 }
            }
            if level.textsDiffering > 0 { level.status = .failed }
            return level
        }
    }

    /// The failure sentence for the report, nil when the level did not fail.
    public static func failure(_ level: TokenizerLevel) -> String? {
        guard level.status == .failed else { return nil }
        if let d = level.firstDifference {
            let a = d.source.tokens[safe: d.position].map { "\($0.debugDescription) (\(d.source.ids[d.position]))" } ?? "(end)"
            let b = d.converted.tokens[safe: d.position].map { "\($0.debugDescription) (\(d.converted.ids[d.position]))" } ?? "(end)"
            return "tokenizer: \(level.textsDiffering) of \(level.textsCompared) texts encode differently; first: text \(d.textIndex) "
                + "\(TokenizerCheckText.clip(d.text)) at token \(d.position): source \(a), converted \(b)"
        }
        return "tokenizer: \(level.reason ?? "failed")"
    }
}

enum TokenizerCheckText {
    static func clip(_ s: String) -> String {
        let q = s.debugDescription
        return q.count > 60 ? String(q.prefix(57)) + "…\"" : q
    }
}

extension Array {
    fileprivate subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}
