import Foundation
import Testing
import PorterTestSupport
@testable import PorterTokenizers

/// The ids, tokens and offsets the Rust `tokenizers` library produced on the corpus
/// (fixtures/tokenizers/<name>/expected.json, written by fixtures/generate/gen_tokenizers.py).
struct ExpectedEncoding: Decodable {
    let ids: [Int]
    let tokens: [String]
    let offsets: [[Int]]
}

struct ExpectedRow: Decodable {
    let with_special: ExpectedEncoding
    let without_special: ExpectedEncoding
}

enum Corpus {
    static func texts() throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(contentsOf: Fixtures.url("tokenizers/corpus.json")))
    }

    /// The corpus, then the fixture's own texts (`<name>/texts.json`, where it has some).
    static func texts(for name: String) throws -> [String] {
        let own = Fixtures.url("tokenizers/\(name)/texts.json")
        guard FileManager.default.fileExists(atPath: own.path) else { return try texts() }
        return try texts() + JSONDecoder().decode([String].self, from: Data(contentsOf: own))
    }

    static func expected(_ name: String) throws -> [ExpectedRow] {
        try JSONDecoder().decode([ExpectedRow].self, from: Data(contentsOf: Fixtures.url("tokenizers/\(name)/expected.json")))
    }

    /// Every difference between Porter's encoding and the library's, as readable lines (empty when equal).
    static func differences(_ got: Encoding, _ want: ExpectedEncoding, text: String) -> [String] {
        var out: [String] = []
        if got.ids != want.ids {
            let k = zip(got.ids, want.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.ids.count, want.ids.count)
            out.append("ids differ at \(k) on \(text.debugDescription):\n  porter \(got.ids)\n  tokenizers \(want.ids)\n  porter tokens \(got.tokens)\n  tokenizers tokens \(want.tokens)")
        }
        if got.tokens != want.tokens && got.ids == want.ids {
            out.append("tokens differ on \(text.debugDescription): porter \(got.tokens) vs \(want.tokens)")
        }
        let offs = got.offsets.map { [$0.start, $0.end] }
        if offs != want.offsets && got.ids == want.ids {
            let k = zip(offs, want.offsets).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
            out.append("offsets differ at \(k) (token \(got.tokens[safe: k] ?? "?")) on \(text.debugDescription): porter \(offs) vs \(want.offsets)")
        }
        return out
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}

@Suite("tokenizer.json against the tokenizers library")
struct TokenizerJSONCorpusTests {
    static let names = [
        "bert-wordpiece", "wordpiece-bertprocessing", "gpt2-bytelevel", "roberta-bytelevel", "llama3-split",
        "qwen2-split", "smollm-digits", "sentencepiece-bpe", "unigram-metaspace", "unigram-bytefallback",
        "bpe-whitespace-added", "sp-unigram-rules-port",
    ]

    @Test("every id, token and offset equals the library's", arguments: names)
    func corpus(name: String) throws {
        let tok = try TokenizerJSON.load(Fixtures.url("tokenizers/\(name)/tokenizer.json"))
        let texts = try Corpus.texts(for: name)
        let rows = try Corpus.expected(name)
        #expect(texts.count == rows.count)
        var problems: [String] = []
        for (text, row) in zip(texts, rows) {
            problems += Corpus.differences(try tok.encode(text, addSpecialTokens: true), row.with_special, text: text)
            problems += Corpus.differences(try tok.encode(text, addSpecialTokens: false), row.without_special, text: text)
        }
        #expect(problems.isEmpty, "\(name): \(problems.count) differences\n\(problems.prefix(6).joined(separator: "\n"))")
    }
}

@Suite("slow tokenizer files against transformers")
struct SlowFilesCorpusTests {
    @Test("every id, token and offset equals transformers' (from_pretrained on the slow files)", arguments: ["slow-bert", "slow-gpt2"])
    func corpus(name: String) throws {
        let tok = try TokenizerLoader.load(Fixtures.url("tokenizers/\(name)"))
        let texts = try Corpus.texts()
        let rows = try Corpus.expected(name)
        var problems: [String] = []
        for (text, row) in zip(texts, rows) {
            problems += Corpus.differences(try tok.encode(text, addSpecialTokens: true), row.with_special, text: text)
            problems += Corpus.differences(try tok.encode(text, addSpecialTokens: false), row.without_special, text: text)
        }
        #expect(problems.isEmpty, "\(name): \(problems.count) differences\n\(problems.prefix(6).joined(separator: "\n"))")
    }
}

@Suite("SentencePiece tokenizer.model against sentencepiece")
struct SentencePieceCorpusTests {
    struct Row: Decodable { let ids: [Int]; let pieces: [String] }

    @Test("every id and piece equals sentencepiece's", arguments: ["sp-bpe-bytefallback", "sp-unigram", "sp-unigram-rules", "sp-bpe-unk"])
    func corpus(name: String) throws {
        let tok = try TokenizerLoader.load(Fixtures.url("tokenizers/\(name)/tokenizer.model"))
        let texts = try Corpus.texts(for: name)
        let rows = try JSONDecoder().decode([Row].self, from: Data(contentsOf: Fixtures.url("tokenizers/\(name)/expected.json")))
        var problems: [String] = []
        for (text, row) in zip(texts, rows) {
            let e = try tok.encode(text)
            if e.ids != row.ids {
                problems.append("\(text.debugDescription):\n  porter \(e.ids) \(e.tokens)\n  sentencepiece \(row.ids) \(row.pieces)")
            }
        }
        #expect(problems.isEmpty, "\(name): \(problems.count) differences\n\(problems.prefix(5).joined(separator: "\n"))")
    }

    @Test("a truncated or corrupted tokenizer.model is a typed error")
    func malformed() throws {
        let bytes = [UInt8](try Data(contentsOf: Fixtures.url("tokenizers/sp-unigram/tokenizer.model")))
        for cut in [1, 7, bytes.count / 2, bytes.count - 1] {
            #expect(throws: TokenizerError.self) {
                _ = try SentencePieceModel.tokenizer(try SentencePieceModel.parse(Array(bytes.prefix(cut)), file: "m"), file: "m")
            }
        }
        #expect(throws: TokenizerError.self) { _ = try SentencePieceModel.parse([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], file: "m") }
    }
}

@Suite("a SentencePiece model ported to tokenizer.json")
struct SentencePiecePortTests {
    @Test("the port encodes the corpus as the SentencePiece model does; the port with one merge reordered does not")
    func port() throws {
        let sp = try TokenizerLoader.load(Fixtures.url("tokenizers/sp-bpe-bytefallback/tokenizer.model"))
        let port = try TokenizerLoader.load(Fixtures.url("tokenizers/sp-bpe-port/tokenizer.json"))
        let bad = try TokenizerLoader.load(Fixtures.url("tokenizers/sp-bpe-port-merge-reordered/tokenizer.json"))
        let texts = try Corpus.texts()
        for t in texts { #expect(try sp.encode(t).ids == port.encode(t).ids, "\(t.debugDescription)") }
        // Where `tokenizers` first told the broken port apart from sentencepiece (generator.json).
        let facts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("tokenizers/generator.json"))) as? [String: Any])
        let first = try #require(((facts["facts"] as? [String: Any])?["sp-bpe-port-merge-reordered"] as? [String: Any])?["first_difference_on_corpus"] as? [String: Any])
        let text = try #require(first["text"] as? String)
        let a = try sp.encode(text).ids, b = try bad.encode(text).ids
        let pos = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        #expect(a != b)
        #expect(pos == first["position"] as? Int)
    }
}
