import Foundation
import Testing
@testable import PorterTokenizers

/// Malformed tokenizer.json files: a typed error naming the key path, never a crash.
@Suite("malformed tokenizer.json")
struct MalformedTokenizerTests {
    static func parse(_ json: String) throws -> Tokenizer {
        try TokenizerJSON.parse(Data(json.utf8), file: "t.json")
    }

    static let wordPiece = #"{"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}}"#

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let json: String
        let key: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "not JSON", json: "{nope", key: "not a JSON tokenizer file"),
        Case(name: "top level array", json: "[]", key: "(top level)"),
        Case(name: "no model", json: "{}", key: "model"),
        Case(name: "unknown model type", json: #"{"model": {"type": "WordLevel", "vocab": {}}}"#, key: "model.type"),
        Case(name: "vocab id not an integer", json: #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": "zero"}}}"#,
             key: #"model.vocab["[UNK]"]"#),
        Case(name: "negative id", json: #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": -1}}}"#,
             key: #"model.vocab["[UNK]"]"#),
        Case(name: "two tokens one id", json: #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "b": 0}}}"#,
             key: "id 0"),
        Case(name: "unk token not in vocab", json: #"{"model": {"type": "WordPiece", "unk_token": "<unk>", "vocab": {"a": 0}}}"#,
             key: "model.unk_token"),
        Case(name: "merge token missing", json: #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#,
             key: "model.merges[0]"),
        Case(name: "merge not a pair", json: #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}"#,
             key: "model.merges[0]"),
        Case(name: "merge string with three parts", json: #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a a"]}}"#,
             key: "model.merges[0]"),
        Case(name: "BPE dropout", json: #"{"model": {"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}}"#, key: "model.dropout"),
        Case(name: "unigram entry", json: #"{"model": {"type": "Unigram", "vocab": [["a"]]}}"#, key: "model.vocab[0]"),
        Case(name: "unigram score not a number", json: #"{"model": {"type": "Unigram", "vocab": [["a", "x"]]}}"#, key: "model.vocab[0][1]"),
        Case(name: "unigram unk_id out of range", json: #"{"model": {"type": "Unigram", "unk_id": 5, "vocab": [["a", -1.0]]}}"#,
             key: "model.unk_id"),
        Case(name: "unknown normalizer", json: #"{"normalizer": {"type": "ByteLevel"}, "model": \#(wordPiece)}"#,
             key: "normalizer.type"),
        Case(name: "precompiled charsmap not base64", json: #"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "@@@"}, "model": \#(wordPiece)}"#,
             key: "normalizer.precompiled_charsmap"),
        Case(name: "precompiled charsmap too short", json: #"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAA="}, "model": \#(wordPiece)}"#,
             key: "normalizer.precompiled_charsmap"),
        Case(name: "normalizer without type", json: #"{"normalizer": {}, "model": \#(wordPiece)}"#, key: "normalizer.type"),
        Case(name: "bad regex", json: #"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, "model": \#(wordPiece)}"#,
             key: "pre_tokenizer.pattern.Regex"),
        Case(name: "unknown split behaviour", json: #"{"pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}, "model": \#(wordPiece)}"#,
             key: "pre_tokenizer.behavior"),
        Case(name: "nested sequence entry", json: #"{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Nope"}]}, "model": \#(wordPiece)}"#,
             key: "pre_tokenizer.pretokenizers[1].type"),
        Case(name: "metaspace replacement of two characters", json: #"{"pre_tokenizer": {"type": "Metaspace", "replacement": "ab"}, "model": \#(wordPiece)}"#,
             key: "pre_tokenizer.replacement"),
        Case(name: "template names an undefined special token", json: #"{"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}, "model": \#(wordPiece)}"#,
             key: "post_processor.special_tokens.[CLS]"),
        Case(name: "added token without content", json: #"{"added_tokens": [{"id": 3}], "model": \#(wordPiece)}"#, key: "added_tokens[0].content"),
        Case(name: "added token empty", json: #"{"added_tokens": [{"id": 3, "content": ""}], "model": \#(wordPiece)}"#, key: "added_tokens[0].content"),
        Case(name: "boolean that is a string", json: #"{"normalizer": {"type": "BertNormalizer", "lowercase": "yes"}, "model": \#(wordPiece)}"#,
             key: "normalizer.lowercase"),
    ]

    @Test("a typed error naming where in the file", arguments: cases)
    func malformed(_ c: Case) throws {
        do {
            _ = try Self.parse(c.json)
            Issue.record("\(c.name): accepted")
        } catch let e as TokenizerError {
            let message = e.errorDescription ?? ""
            #expect(message.hasPrefix("t.json"), "\(message)")
            #expect(message.contains(c.key), "\(c.name): \(message)")
        }
    }

    @Test("nesting and pattern length are bounded")
    func bounds() throws {
        var nested = #"{"type": "Lowercase"}"#
        for _ in 0..<40 { nested = #"{"type": "Sequence", "normalizers": [\#(nested)]}"# }
        #expect(throws: TokenizerError.self) { try Self.parse(#"{"normalizer": \#(nested), "model": \#(Self.wordPiece)}"#) }
        let long = String(repeating: "a", count: TokenizerLimits.maxPatternLength + 1)
        do {
            _ = try Self.parse(#"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\#(long)"}}, "model": \#(Self.wordPiece)}"#)
            Issue.record("a pattern longer than the bound was accepted")
        } catch let TokenizerError.tooLarge(_, path, _, _) {
            #expect(path == "pre_tokenizer.pattern.Regex")
        }
    }

    @Test("a BPE without unk token drops a scalar it cannot represent, as tokenizers does")
    func bpeNoUnk() throws {
        let t = try Self.parse(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}"#)
        let e = try t.encode("abxab")
        #expect(e.ids == [2, 2])
        #expect(e.offsets == [TokenOffset(0, 2), TokenOffset(3, 5)])
    }

    @Test("split patterns: Oniguruma's \\s includes U+000B and U+0085; unknown patterns run as written")
    func regexTranslation() throws {
        let re = try SplitRegex(#"\s+"#)
        #expect(try re.matches(in: Array("a\u{0B}\u{85}b".unicodeScalars)) == [1..<3])
        let custom = try SplitRegex(#"[a-c]{2}|\p{Lu}"#)
        #expect(try custom.matches(in: Array("abcXc".unicodeScalars)) == [0..<2, 3..<4])
    }
}

@Suite("split pattern time limit")
struct RegexTimeLimitTests {
    @Test("a pattern that backtracks catastrophically is stopped with a typed error, not a hang")
    func catastrophic() throws {
        let t = try TokenizerJSON.parse(Data(#"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated"}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}}}"#.utf8), file: "t.json")
        let started = Date()
        do {
            _ = try t.encode(String(repeating: "a", count: 40) + "b")
            Issue.record("a catastrophic pattern finished")
        } catch let TokenizerError.regexTimeLimit(pattern, _) {
            #expect(pattern == "(a+)+$")
        }
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
