import Foundation
import Testing
import PorterFairseq
import PorterTestSupport
@testable import PorterTokenizers

/// fairseq's dictionary + bpecodes and the FSMT files made from them, run on pre-tokenized text, against
/// the ids transformers' FSMTTokenizer gave on the corpus (fixtures/tokenizers/fsmt-<name>/expected.json,
/// gen_tokenizers_fsmt.py) and fairseq's own recorded encodings (fixtures/fairseq/<name>/reference.json).
@Suite("fairseq dictionary + bpecodes and FSMT files")
struct FairseqTokenizerTests {
    static let folders = ["joined", "separate"]

    struct Row: Decodable { let ids: [Int]; let subwords: [String] }

    static func expected(_ name: String) throws -> [String: [Row]] {
        try JSONDecoder().decode([String: [Row]].self, from: Data(contentsOf: Fixtures.url("tokenizers/fsmt-\(name)/expected.json")))
    }

    static func fairseq(_ name: String, _ lang: String) throws -> Tokenizer {
        let dir = Fixtures.url("fairseq/\(name)")
        return try FairseqTokenizer.tokenizer(dictionary: try FairseqDictionary(contentsOf: dir.appendingPathComponent("dict.\(lang).txt")),
                                              codes: try BPECodes(contentsOf: dir.appendingPathComponent("bpecodes")), file: name)
    }

    /// The FSMT folder files Porter's port writes (vocab-src.json from the dictionary, merges.txt from the codes).
    static func fsmt(_ name: String, _ lang: String, in dir: URL) throws -> Tokenizer {
        let src = Fixtures.url("fairseq/\(name)")
        let d = try FairseqDictionary(contentsOf: src.appendingPathComponent("dict.\(lang).txt"))
        let vocab = dir.appendingPathComponent("vocab-src.json"), merges = dir.appendingPathComponent("merges.txt")
        try Data(try FSMTVocabulary(dictionary: d, file: "d").jsonBytes()).write(to: vocab)
        try Data(try BPECodes(contentsOf: src.appendingPathComponent("bpecodes")).mergesText().utf8).write(to: merges)
        return try TokenizerLoader.load(dir)
    }

    @Test("dict + bpecodes and the FSMT files give FSMTTokenizer's ids on every corpus text", arguments: folders)
    func corpus(name: String) throws {
        let want = try Self.expected(name)
        let texts = try Corpus.texts()
        let dir = try Fixtures.scratchDirectory("porter-fsmt-tok")
        defer { try? FileManager.default.removeItem(at: dir) }
        for lang in ["en", "ru"] {
            let rows = try #require(want[lang])
            #expect(rows.count == texts.count)
            let a = try Self.fairseq(name, lang), b = try Self.fsmt(name, lang, in: dir)
            #expect(b.origin == "vocab-src.json + merges.txt")
            var bad: [String] = []
            for (text, row) in zip(texts, rows) {
                let ea = try a.encode(text), eb = try b.encode(text)
                if ea.ids != row.ids { bad.append("fairseq \(lang) \(text.debugDescription): \(ea.ids) vs \(row.ids)") }
                if eb.ids != row.ids { bad.append("fsmt \(lang) \(text.debugDescription): \(eb.ids) vs \(row.ids) (\(eb.tokens) vs \(row.subwords))") }
            }
            #expect(bad.isEmpty, "\(name): \(bad.count)\n\(bad.prefix(4).joined(separator: "\n"))")
            if lang == "en" { #expect(rows.contains { $0.ids.count > 3 && !$0.ids.contains(3) }, "some text is covered without <unk>") }
        }
    }

    @Test("fairseq's own recorded encodings (Moses-tokenized, fastBPE) come out the same", arguments: folders)
    func fairseqReference(name: String) throws {
        struct Ref: Decodable { let encode: [E]; struct E: Decodable { let bpe: String; let ids: [Int]; let lang: String } }
        let ref = try JSONDecoder().decode(Ref.self, from: Data(contentsOf: Fixtures.url("fairseq/\(name)/reference.json")))
        #expect(!ref.encode.isEmpty)
        for e in ref.encode {
            let text = e.bpe.replacingOccurrences(of: "@@ ", with: "")
            let got = try Self.fairseq(name, e.lang).encode(text)
            #expect(got.ids == e.ids, "\(name) \(e.lang) \(text.debugDescription)")
            #expect(got.tokens.dropLast().joined(separator: " ") == e.bpe || got.ids.contains(3), "\(got.tokens) vs \(e.bpe)")
        }
    }
}
