import Foundation
import Testing
import PorterCore
import PorterGGUF
import PorterTestSupport
@testable import PorterTokenizers

/// GGUF tokenizer metadata ↔ tokenizer.json. The fixtures (fixtures/tokenizers/gguf-*, made by
/// fixtures/generate/gen_tokenizers_gguf.py) are vocabulary-only GGUF files written by gguf-py the way
/// llama.cpp's convert_hf_to_gguf.py writes them, from the trained tokenizers of fixtures/tokenizers;
/// the ids to equal are the ones `tokenizers` (or sentencepiece) recorded for those on the corpus.
@Suite("GGUF tokenizer metadata")
struct GGUFTokenizerTests {
    /// GGUF fixture → the tokenizer.json fixture it was written from.
    static let bpe: [String: String] = ["gguf-gpt2": "gpt2-bytelevel", "gguf-llama3": "llama3-split",
                                        "gguf-qwen2": "qwen2-split", "gguf-smollm": "smollm-digits"]

    static func metadata(_ name: String) throws -> [String: JSONValue] {
        let model = try GGUFReader().read(Fixtures.url("tokenizers/\(name)/tokenizer.gguf"))
        return try #require(model.config.objectValue)
    }

    static func tokenizerKeys(_ m: [String: JSONValue]) -> [String: JSONValue] { m.filter { $0.key.hasPrefix("tokenizer.") } }

    static func bytes(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Fixtures.url(relative))) }

    @Test("GGUF → tokenizer: every id of the corpus equals the tokenizers library's, with and without special tokens",
          arguments: bpe.keys.sorted())
    func bpeFromGGUF(name: String) throws {
        let m = try Self.metadata(name)
        let tok = try GGUFVocab(metadata: m, file: name).tokenizer(file: name)
        let texts = try Corpus.texts(), rows = try Corpus.expected(Self.bpe[name]!)
        var bad: [String] = []
        for (text, row) in zip(texts, rows) {
            let with = try tok.encode(text, addSpecialTokens: true).ids, without = try tok.encode(text, addSpecialTokens: false).ids
            if with != row.with_special.ids { bad.append("\(text.debugDescription) with special: \(with) vs \(row.with_special.ids)") }
            if without != row.without_special.ids { bad.append("\(text.debugDescription): \(without) vs \(row.without_special.ids)") }
        }
        #expect(texts.count == 41 && rows.count == texts.count)
        #expect(bad.isEmpty, "\(name): \(bad.count) differences\n\(bad.prefix(5).joined(separator: "\n"))")
    }

    @Test("tokenizer.json + tokenizer_config.json → GGUF: every tokenizer key equals what gguf-py wrote", arguments: bpe.keys.sorted())
    func bpeToGGUF(name: String) throws {
        let want = Self.tokenizerKeys(try Self.metadata(name))
        let v = try GGUFVocab.fromTokenizerJSON(try Self.bytes("tokenizers/\(Self.bpe[name]!)/tokenizer.json"),
                                                config: try Self.bytes("tokenizers/\(name)/tokenizer_config.json"), file: "tokenizer.json")
        let got = v.keyValues
        #expect(Set(got.keys) == Set(want.keys), "\(name): Porter \(got.keys.sorted()) vs gguf-py \(want.keys.sorted())")
        for (k, w) in want {
            if let g = got[k], g != w {
                let (ga, wa) = (g.arrayValue ?? [g], w.arrayValue ?? [w])
                let first = zip(ga, wa).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ga.count, wa.count)
                Issue.record("\(name): \(k) differs (counts \(ga.count) vs \(wa.count)) first at \(first): \(ga[safe: first].map { "\($0)" } ?? "-") vs \(wa[safe: first].map { "\($0)" } ?? "-")")
            }
        }
        // And back: the metadata read again is the same vocabulary (the notes are not stored).
        var stored = v
        stored.notes = []
        #expect(try GGUFVocab(metadata: got, file: name) == stored)
        // Only Qwen2's NFC normalizer, which llama.cpp does not apply, is a note.
        #expect(v.notes.contains { $0.contains("NFC") } == (name == "gguf-qwen2") && v.notes.count <= 1, "\(name): \(v.notes)")
    }

    @Test("GGUF → tokenizer.json: Porter's file parses to the same ids; the chat template goes to tokenizer_config.json byte for byte")
    func writtenFolderFiles() throws {
        let m = try Self.metadata("gguf-llama3")
        let v = try GGUFVocab(metadata: m, file: "gguf-llama3")
        let json = try v.tokenizerJSON(file: "t")
        let tok = try TokenizerJSON.parse(Data(json), file: "tokenizer.json")
        let texts = try Corpus.texts(), rows = try Corpus.expected("llama3-split")
        for (text, row) in zip(texts, rows) { #expect(try tok.encode(text).ids == row.with_special.ids, "\(text.debugDescription)") }
        let cfg = try #require(try JSONSerialization.jsonObject(with: Data(v.tokenizerConfigJSON())) as? [String: Any])
        #expect(cfg["chat_template"] as? String == m["tokenizer.chat_template"]?.stringValue)
        #expect((cfg["chat_template"] as? String)?.hasPrefix("{{- bos_token }}") == true)
        #expect(cfg["bos_token"] as? String == "<|begin_of_text|>" && cfg["add_bos_token"] as? Bool == true)
        // The pre-tokenizer written is the table's for llama-bpe, and reading it back finds the same name.
        let doc = try #require(try JSONText.parse(Data(json)) as? JSONObject)
        #expect(GGUFPreTokenizerTable.entry(normalizer: doc["normalizer"], preTokenizer: doc["pre_tokenizer"], ignoreMerges: true)?.name == "llama-bpe")
        // Vocabulary order is id order (as tokenizers writes it).
        let text = String(decoding: json, as: UTF8.self)
        let a = try #require(text.range(of: "\"<|end_of_text|>\": 0")), b = try #require(text.range(of: "\"<|begin_of_text|>\": 1"))
        #expect(a.lowerBound < b.lowerBound)
    }

    @Test("SentencePiece GGUF (llama) → tokenizer: sentencepiece's ids on the corpus, <s> first with special tokens")
    func sentencePieceFromGGUF() throws {
        let m = try Self.metadata("gguf-llama-spm")
        let tok = try GGUFVocab(metadata: m, file: "gguf-llama-spm").tokenizer(file: "gguf-llama-spm")
        struct Row: Decodable { let ids: [Int] }
        let rows = try JSONDecoder().decode([Row].self, from: Data(contentsOf: Fixtures.url("tokenizers/sp-bpe-bytefallback/expected.json")))
        let texts = try Corpus.texts()
        var bad: [String] = []
        for (text, row) in zip(texts, rows) {
            let without = try tok.encode(text, addSpecialTokens: false).ids, with = try tok.encode(text).ids
            if without != row.ids { bad.append("\(text.debugDescription): \(without) vs \(row.ids)") }
            if with != [1] + row.ids { bad.append("\(text.debugDescription) with <s>: \(with)") }
        }
        #expect(rows.count == texts.count)
        #expect(bad.isEmpty, "\(bad.count) differences\n\(bad.prefix(5).joined(separator: "\n"))")
    }

    /// Found by scripts/wild/run.py: llama.cpp's `ggml-vocab-phi-3.gguf` (a SentencePiece vocabulary whose
    /// `</s>` is USER_DEFINED) was refused. The fixture
    /// (`gen_tok_gguf_userdef.py`) appends two USER_DEFINED tokens to the trained SentencePiece model; the
    /// ids are the tokenizers library's with them as added tokens (normalized false), as llama.cpp matches them.
    @Test("SentencePiece GGUF with USER_DEFINED tokens: matched in the text as added tokens (▁ prepended to the text after one); every id equals the reference")
    func sentencePieceUserDefinedTokens() throws {
        let m = try Self.metadata("gguf-llama-spm-userdef")
        let tok = try GGUFVocab(metadata: m, file: "gguf-llama-spm-userdef").tokenizer(file: "gguf-llama-spm-userdef")
        struct Row: Decodable { let text: String; let without_special: [Int]; let with_special: [Int] }
        let rows = try JSONDecoder().decode([Row].self, from: Data(contentsOf: Fixtures.url("tokenizers/gguf-llama-spm-userdef/expected.json")))
        var bad: [String] = []
        for row in rows {
            let without = try tok.encode(row.text, addSpecialTokens: false).ids, with = try tok.encode(row.text).ids
            if without != row.without_special { bad.append("\(row.text.debugDescription): \(without) vs \(row.without_special)") }
            if with != row.with_special { bad.append("\(row.text.debugDescription) with <s>: \(with) vs \(row.with_special)") }
        }
        // The fixture's point: some texts do produce the user-defined ids (500, 501).
        #expect(rows.filter { $0.without_special.contains { $0 >= 500 } }.count == 6)
        #expect(rows.count == 48)
        #expect(bad.isEmpty, "\(bad.count) differences\n\(bad.prefix(5).joined(separator: "\n"))")
        // The tokenizer.json Porter writes for --to hf carries them as added tokens, not special ones.
        let json = try JSONNode.parse(Data(try GGUFVocab(metadata: m, file: "x").tokenizerJSON(file: "x")), file: "tokenizer.json")
        let added = try json.required("added_tokens").array(max: 10)
        #expect(try added.map { try $0.required("content").string() } == ["<|user|>", "<|end|>"])
        #expect(try added.allSatisfy { try !$0.bool("special", default: true) && !$0.bool("normalized", default: true) })
    }

    @Test("bert GGUF (WordPiece in llama.cpp's phantom-space spelling) → tokenizer: the tokenizers library's ids on the corpus, [CLS] … [SEP] with special tokens")
    func wordPieceFromGGUF() throws {
        let m = try Self.metadata("gguf-bert")
        let v = try GGUFVocab(metadata: m, file: "gguf-bert")
        let tok = try v.tokenizer(file: "gguf-bert")
        let texts = try Corpus.texts(), rows = try Corpus.expected("bert-wordpiece")
        var bad: [String] = []
        for (text, row) in zip(texts, rows) {
            let with = try tok.encode(text, addSpecialTokens: true).ids, without = try tok.encode(text, addSpecialTokens: false).ids
            if with != row.with_special.ids { bad.append("\(text.debugDescription) with special: \(with) vs \(row.with_special.ids)") }
            if without != row.without_special.ids { bad.append("\(text.debugDescription): \(without) vs \(row.without_special.ids)") }
        }
        #expect(rows.count == texts.count)
        #expect(bad.isEmpty, "\(bad.count) differences\n\(bad.prefix(5).joined(separator: "\n"))")
        // The vocabulary written is the original's, piece for piece.
        let written = try JSONNode.parse(Data(try v.tokenizerJSON(file: "x")), file: "tokenizer.json")
        let original = try JSONNode.parse(Data(contentsOf: Fixtures.url("tokenizers/bert-wordpiece/tokenizer.json")), file: "tokenizer.json")
        func vocab(_ n: JSONNode) throws -> [String: Int] {
            try #require(try n.required("model").required("vocab").value as? JSONObject).members.reduce(into: [:]) { $0[$1.key] = ($1.value as? JSONNumber).flatMap { Int($0.text) } }
        }
        let (w, o) = (try vocab(written), try vocab(original))
        #expect(w.count == 600 && w == o, "\(w.filter { o[$0.key] != $0.value }.prefix(5)) vs \(o.filter { w[$0.key] != $0.value }.prefix(5))")
        let cfg = try #require(try JSONSerialization.jsonObject(with: Data(v.tokenizerConfigJSON())) as? [String: Any])
        #expect(cfg["cls_token"] as? String == "[CLS]" && cfg["sep_token"] as? String == "[SEP]" && cfg["add_bos_token"] == nil)
    }

    @Test("bert GGUF spelling: older files' [unused] tokens kept, the normalizer flags honoured, user-defined tokens and ambiguous pieces refused by key")
    func wordPieceSpelling() throws {
        var m: [String: JSONValue] = ["tokenizer.ggml.model": .string("bert"),
                                      "tokenizer.ggml.tokens": .array(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[unused0]", "▁un", "aff", "▁Café"].map { .string($0) }),
                                      "tokenizer.ggml.token_type": .array([3, 3, 3, 3, 1, 1, 1, 1].map { .int($0) }),
                                      "tokenizer.ggml.unknown_token_id": .int(1), "tokenizer.ggml.cls_token_id": .int(2),
                                      "tokenizer.ggml.seperator_token_id": .int(3), "tokenizer.ggml.normalizer.lowercase": .bool(false)]
        let v = try GGUFVocab(metadata: m, file: "f.gguf")
        #expect(try v.wordPieceTokens(file: "f") == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[unused0]", "un", "##aff", "Café"])
        let tok = try v.tokenizer(file: "f.gguf")
        #expect(try tok.encode("unaff Café", addSpecialTokens: true).ids == [2, 5, 6, 7, 3])
        #expect(try tok.encode("cafe", addSpecialTokens: false).ids == [1])  // cased: no lowercasing, no accent stripping
        func error(_ change: (inout [String: JSONValue]) -> Void) -> String? {
            var c = m
            change(&c)
            do { _ = try GGUFVocab(metadata: c, file: "f.gguf").tokenizer(file: "f.gguf"); return nil } catch {
                return (error as? TokenizerError)?.errorDescription
            }
        }
        #expect(error { $0["tokenizer.ggml.token_type"] = .array([3, 3, 3, 3, 1, 4, 1, 1].map { .int($0) }) }?.contains("tokenizer.ggml.token_type[5]") == true)
        #expect(error { $0["tokenizer.ggml.tokens"] = .array(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[unused0]", "▁un", "aff", "▁##aff"].map { .string($0) }) }?
            .contains("tokenizer.ggml.tokens[7]") == true)
        #expect(error { $0.removeValue(forKey: "tokenizer.ggml.unknown_token_id") }?.contains("tokenizer.ggml.unknown_token_id") == true)
        #expect(error { $0.removeValue(forKey: "tokenizer.ggml.seperator_token_id") }?.contains("tokenizer.ggml.seperator_token_id") == true)
        #expect(error { $0.removeValue(forKey: "tokenizer.ggml.cls_token_id") }?.contains("tokenizer.ggml.bos_token_id") == true)
        m["tokenizer.ggml.normalizer.lowercase"] = nil
        #expect(try GGUFVocab(metadata: m, file: "f.gguf").tokenizer(file: "f.gguf").encode("UNAFF", addSpecialTokens: false).ids == [5, 6])
    }

    @Test("tokenizer.model → GGUF: tokens, scores, types and special keys equal gguf-py's")
    func sentencePieceToGGUF() throws {
        let want = Self.tokenizerKeys(try Self.metadata("gguf-llama-spm"))
        let modelConfig = try JSONValue.parse(Data(contentsOf: Fixtures.url("tokenizers/gguf-llama-spm/config.json"))).objectValue ?? [:]
        let v = try GGUFVocab.fromSentencePiece(try Self.bytes("tokenizers/sp-bpe-bytefallback/tokenizer.model"),
                                                config: try Self.bytes("tokenizers/gguf-llama-spm/tokenizer_config.json"),
                                                modelConfig: modelConfig, file: "tokenizer.model")
        let got = v.keyValues
        #expect(Set(got.keys) == Set(want.keys), "Porter \(got.keys.sorted()) vs gguf-py \(want.keys.sorted())")
        for (k, w) in want where got[k] != w { Issue.record("\(k) differs") }
        #expect(try GGUFVocab(metadata: got, file: "x") == v)
    }

    /// Llama 2 / Mistral folders without `tokenizer.model`: the SentencePiece BPE as transformers'
    /// LlamaConverter ports it to tokenizer.json (`sp-bpe-port`, the port of `sp-bpe-bytefallback`).
    @Test("tokenizer.json (SentencePiece port) → GGUF llama: the tokenizer.model's pieces and merge order, sentencepiece's ids on the corpus")
    func sentencePiecePortToGGUF() throws {
        let v = try GGUFVocab.fromTokenizerJSON(try Self.bytes("tokenizers/sp-bpe-port/tokenizer.json"), config: nil, file: "tokenizer.json")
        let fromModel = try GGUFVocab.fromSentencePiece(try Self.bytes("tokenizers/sp-bpe-bytefallback/tokenizer.model"), config: nil, file: "tokenizer.model")
        #expect(v.model == "llama" && v.pre == "default" && v.merges == nil)
        #expect(v.tokens == fromModel.tokens)
        let types = try #require(v.tokenTypes).compactMap(GGUFTokenType.init(rawValue:))
        #expect(types.filter { $0 == .byte }.count == 256 && types[0] == .unknown)
        // The scores made from the merges rank the pieces as the model's own scores do.
        let mine = GGUFVocab.sentencePieceMergePairs(tokens: v.tokens, scores: try #require(v.scores), types: types)
        let theirs = GGUFVocab.sentencePieceMergePairs(tokens: fromModel.tokens, scores: try #require(fromModel.scores),
                                                       types: try #require(fromModel.tokenTypes).compactMap(GGUFTokenType.init(rawValue:)))
        #expect(mine.map { $0.0 + " " + $0.1 } == theirs.map { $0.0 + " " + $0.1 })
        let tok = try GGUFVocab(metadata: v.keyValues, file: "port.gguf").tokenizer(file: "port.gguf")
        struct Row: Decodable { let ids: [Int] }
        let rows = try JSONDecoder().decode([Row].self, from: Data(contentsOf: Fixtures.url("tokenizers/sp-bpe-bytefallback/expected.json")))
        let texts = try Corpus.texts()
        #expect(rows.count == texts.count)
        for (text, row) in zip(texts, rows) { #expect(try tok.encode(text, addSpecialTokens: false).ids == row.ids, "\(text.debugDescription)") }
        // Without the Prepend normalizer: no space prefix.
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("tokenizers/sp-bpe-port/tokenizer.json"))) as? [String: Any])
        doc["normalizer"] = ["type": "Sequence", "normalizers": [["type": "Replace", "pattern": ["String": " "], "content": "▁"]]]
        let noPrefix = try GGUFVocab.fromTokenizerJSON([UInt8](try JSONSerialization.data(withJSONObject: doc)), config: nil, file: "tokenizer.json")
        #expect(noPrefix.addSpacePrefix == false && v.addSpacePrefix != false)
    }

    /// A piece that only looks like a byte piece (`<0x0a>`, lower-case hex) is not one: `tokenizers`'
    /// byte fallback looks bytes up as `<0x%02X>`, and so does llama.cpp.
    @Test("tokenizer.json SentencePiece port → GGUF: a lower-case <0x0a> piece stays NORMAL, not BYTE; the GGUF tokenizer still encodes as the file does")
    func lowerCaseByteLookalikeIsNormal() throws {
        let text = String(decoding: try Self.bytes("tokenizers/sp-bpe-port/tokenizer.json"), as: UTF8.self)
        #expect(text.contains("\"<0x0A>\""))
        let edited = Array(text.replacingOccurrences(of: "\"<0x0A>\"", with: "\"<0x0a>\"").utf8)
        let v = try GGUFVocab.fromTokenizerJSON(edited, config: nil, file: "tokenizer.json")
        let types = try #require(v.tokenTypes).compactMap(GGUFTokenType.init(rawValue:))
        let id = try #require(v.tokens.firstIndex(of: "<0x0a>"))
        #expect(types[id] == .normal && types.filter { $0 == .byte }.count == 255)
        let fromGGUF = try GGUFVocab(metadata: v.keyValues, file: "edited.gguf").tokenizer(file: "edited.gguf")
        let file = try TokenizerJSON.parse(Data(edited), file: "tokenizer.json")
        for text in try Corpus.texts() {
            #expect(try fromGGUF.encode(text, addSpecialTokens: false).ids == file.encode(text, addSpecialTokens: false).ids, "\(text.debugDescription)")
        }
    }

    /// A SentencePiece-style BPE trained by `tokenizers` (`sentencepiece-bpe`): some merged pieces have
    /// splits the merges do not list, which llama.cpp's merge-by-score would take.
    @Test("tokenizer.json SentencePiece-style BPE trained by tokenizers → GGUF refused, naming the first merge a port would differ at")
    func sentencePieceStyleBPERefused() throws {
        #expect { try GGUFVocab.fromTokenizerJSON(try Self.bytes("tokenizers/sentencepiece-bpe/tokenizer.json"), config: nil, file: "tokenizer.json") } throws: {
            let m = $0.localizedDescription
            return m.contains("model.merges[30]") && m.contains("not a SentencePiece model's port") && m.contains("tokenizer.model")
        }
    }

    /// The port with one merge moved ahead (`sp-bpe-port-merge-reordered`) is another valid port: the
    /// GGUF vocabulary keeps it, tokenizing as that file does, not as sentencepiece — the tokenizer level
    /// of `verify` is what tells it from its source.
    @Test("tokenizer.json SentencePiece port with one merge moved → GGUF keeps the moved merge: the file's ids, not sentencepiece's")
    func sentencePiecePortReorderedIsKept() throws {
        let facts = try JSONValue.parse(Data(contentsOf: Fixtures.url("tokenizers/generator.json")))
        let k = try #require(facts["facts"]?["sp-bpe-port-merge-reordered"]?["first_difference_on_corpus"]?["text_index"]?.intValue)
        let v = try GGUFVocab.fromTokenizerJSON(try Self.bytes("tokenizers/sp-bpe-port-merge-reordered/tokenizer.json"), config: nil, file: "tokenizer.json")
        let fromGGUF = try GGUFVocab(metadata: v.keyValues, file: "moved.gguf").tokenizer(file: "moved.gguf")
        let file = try TokenizerLoader.load(Fixtures.url("tokenizers/sp-bpe-port-merge-reordered/tokenizer.json"))
        let good = try TokenizerLoader.load(Fixtures.url("tokenizers/sp-bpe-port/tokenizer.json"))
        let texts = try Corpus.texts()
        for text in texts { #expect(try fromGGUF.encode(text, addSpecialTokens: false).ids == file.encode(text, addSpecialTokens: false).ids, "\(text.debugDescription)") }
        #expect(try fromGGUF.encode(texts[k], addSpecialTokens: false).ids != good.encode(texts[k], addSpecialTokens: false).ids)
    }

    @Test("tokenizer.model → GGUF pads to config.json's vocab_size as convert_hf_to_gguf.py does ([PAD1]…, score -1000, UNUSED); the padded vocabulary still encodes as before")
    func sentencePiecePadsToTheEmbedding() throws {
        var modelConfig = try JSONValue.parse(Data(contentsOf: Fixtures.url("tokenizers/gguf-llama-spm/config.json"))).objectValue ?? [:]
        let model = try Self.bytes("tokenizers/sp-bpe-bytefallback/tokenizer.model")
        modelConfig["vocab_size"] = nil
        let plain = try GGUFVocab.fromSentencePiece(model, config: nil, modelConfig: modelConfig, file: "tokenizer.model")
        let n = plain.tokens.count
        modelConfig["vocab_size"] = .int(Int64(n + 3))
        let padded = try GGUFVocab.fromSentencePiece(model, config: nil, modelConfig: modelConfig, file: "tokenizer.model")
        #expect(padded.tokens.count == n + 3)
        #expect(Array(padded.tokens.suffix(3)) == ["[PAD1]", "[PAD2]", "[PAD3]"])
        #expect(Array((padded.scores ?? []).suffix(3)) == [-1000, -1000, -1000])
        #expect(Array((padded.tokenTypes ?? []).suffix(3)) == [5, 5, 5])
        let a = try GGUFVocab(metadata: plain.keyValues, file: "plain").tokenizer(file: "plain")
        let b = try GGUFVocab(metadata: padded.keyValues, file: "padded").tokenizer(file: "padded")
        for text in try Corpus.texts() { #expect(try a.encode(text).ids == b.encode(text).ids, "\(text.debugDescription)") }
        // Fewer rows than pieces: refused, naming both counts.
        modelConfig["vocab_size"] = .int(Int64(n - 1))
        #expect { try GGUFVocab.fromSentencePiece(model, config: nil, modelConfig: modelConfig, file: "tokenizer.model") } throws: {
            "\($0.localizedDescription)".contains("vocab_size is \(n - 1)")
        }
    }

    /// A `t5` (Unigram) vocabulary as llama.cpp stores one — tokens, scores, token types and the
    /// SentencePiece charsmap as bytes — here the pieces of `sp-unigram-rules-port` (made by
    /// transformers' XLMRobertaConverter from a sentencepiece model with a 42-rule charsmap): Porter's
    /// tokenizer.json for it gives the converter's ids on the corpus, with and without special tokens.
    /// Texts holding `<unk>` / `<pad>` are left out: Porter makes them special added tokens, as a real
    /// XLM-R tokenizer.json lists them, which this converter's stub did not.
    @Test("GGUF t5 (Unigram + precompiled charsmap) → tokenizer: transformers' converter's ids on the corpus")
    func unigramFromGGUF() throws {
        let port = try JSONValue.parse(Data(contentsOf: Fixtures.url("tokenizers/sp-unigram-rules-port/tokenizer.json")))
        let pieces = try #require(port["model"]?["vocab"]?.arrayValue)
        let charsmap = try #require(port["normalizer"]?["normalizers"]?.arrayValue?.first?["precompiled_charsmap"]?.stringValue)
        let bytes = try #require(Data(base64Encoded: charsmap))
        var m: [String: JSONValue] = [
            "tokenizer.ggml.model": "t5", "tokenizer.ggml.pre": "default",
            "tokenizer.ggml.tokens": .array(pieces.map { $0.arrayValue?.first ?? .null }),
            "tokenizer.ggml.scores": .array(pieces.map { $0.arrayValue?.last ?? .null }),
            "tokenizer.ggml.token_type": .array(pieces.indices.map { i in .int(i == 3 ? 2 : (i < 3 ? 3 : 1)) }),
            "tokenizer.ggml.precompiled_charsmap": .array(bytes.map { .int(Int64($0)) }),
            "tokenizer.ggml.unknown_token_id": 3, "tokenizer.ggml.bos_token_id": 0, "tokenizer.ggml.eos_token_id": 2,
            "tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.add_eos_token": true, "tokenizer.ggml.add_space_prefix": true,
            "tokenizer.ggml.remove_extra_whitespaces": true,
        ]
        let tok = try GGUFVocab(metadata: m, file: "t5.gguf").tokenizer(file: "t5.gguf")
        let texts = try Corpus.texts(for: "sp-unigram-rules-port"), rows = try Corpus.expected("sp-unigram-rules-port")
        var compared = 0, problems: [String] = []
        for (text, row) in zip(texts, rows) where !text.contains("<unk>") && !text.contains("<pad>") {
            compared += 1
            for (special, want) in [(true, row.with_special), (false, row.without_special)] {
                let got = try tok.encode(text, addSpecialTokens: special)
                if got.ids != want.ids { problems.append("\(text.debugDescription) special \(special): \(got.ids) vs \(want.ids)") }
            }
        }
        #expect(compared >= 40)
        #expect(problems.isEmpty, "\(problems.count) differences\n\(problems.prefix(4).joined(separator: "\n"))")
        // Without the charsmap the rules are gone: the ligature and full-width texts change.
        m["tokenizer.ggml.precompiled_charsmap"] = nil
        let plain = try GGUFVocab(metadata: m, file: "t5.gguf").tokenizer(file: "t5.gguf")
        let changed = zip(texts, rows).filter { (try? plain.encode($0.0, addSpecialTokens: false).ids) != $0.1.without_special.ids }.count
        #expect(changed > 0)
        // A charsmap that is not one is refused naming the key.
        m["tokenizer.ggml.precompiled_charsmap"] = .array([1, 2, 3].map { .int($0) })
        #expect { _ = try GGUFVocab(metadata: m, file: "t5.gguf").tokenizer(file: "t5.gguf") } throws: {
            "\($0.localizedDescription)".contains("tokenizer.ggml.precompiled_charsmap")
        }
    }

    @Test("every table entry compiles, and each of its spellings finds its own name (an alias: its base's, never another)")
    func tableIsConsistent() throws {
        for e in GGUFPreTokenizerTable.entries {
            let owner = GGUFPreTokenizerTable.canonicalEntries.first {
                $0.normalizer == e.normalizer && $0.preTokenizers == e.preTokenizers && $0.ignoreMerges == e.ignoreMerges
            }
            #expect(owner != nil, "\(e.name) has no canonical entry of its configuration")
            if GGUFPreTokenizerTable.canonicalEntries.contains(where: { $0.name == e.name }) { #expect(owner?.name == e.name) }
            for pre in e.preTokenizers {
                let doc = #"{"normalizer":\#(e.normalizer),"pre_tokenizer":\#(pre),"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#
                _ = try TokenizerJSON.parse(Data(doc.utf8), file: e.name)
                let found = GGUFPreTokenizerTable.entry(normalizer: GGUFPreTokenizerTable.parsed(e.normalizer),
                                                        preTokenizer: GGUFPreTokenizerTable.parsed(pre), ignoreMerges: e.ignoreMerges)
                #expect(found?.name == owner?.name)
            }
        }
        #expect(Set(GGUFPreTokenizerTable.names).count == GGUFPreTokenizerTable.entries.count)
    }

    /// llama.cpp (src/llama-vocab.cpp) splits these names with the very regexes of another entry.
    @Test("aliases: starcoder, refact and command-r run as smollm, mpt as gpt-2")
    func aliases() throws {
        let pairs = Dictionary(uniqueKeysWithValues: GGUFPreTokenizerTable.aliases.map { a in
            (a.name, GGUFPreTokenizerTable.canonicalEntries.first { $0.preTokenizers == a.preTokenizers && $0.normalizer == a.normalizer }?.name ?? "?")
        })
        #expect(pairs == ["starcoder": "smollm", "refact": "smollm", "command-r": "smollm", "mpt": "gpt-2"])
    }

    /// Older gpt2 GGUF files (GPT-NeoX, Aquila) name no pre-tokenizer: llama.cpp runs its "default"
    /// regexes then, and so does Porter, saying so in a note. llama.cpp's own ids on its real such
    /// files are compared in fixtures/generate/check_gguf_llamacpp_tokenize.py.
    @Test("gpt2 GGUF without tokenizer.ggml.pre: llama.cpp's default regexes (digits in threes, punctuation runs apart), with a note")
    func missingPreIsLlamaCppsDefault() throws {
        var m = try Self.metadata("gguf-gpt2")
        m["tokenizer.ggml.pre"] = nil
        let v = try GGUFVocab(metadata: m, file: "old.gguf")
        #expect(v.notes.count == 1 && v.notes[0].contains("names no tokenizer.ggml.pre"))
        let tok = try v.tokenizer(file: "old.gguf")
        let text = "a 1234567, (x) b!"
        let e = try tok.encode(text, addSpecialTokens: false)
        // Byte-level: "Ġ" is the space. Pieces never join a space to digits, four digits, or punctuation to letters.
        #expect(e.tokens.joined().replacingOccurrences(of: "Ġ", with: " ") == text)
        for t in e.tokens {
            #expect(!(t.contains("Ġ") && t.contains { $0.isNumber }), "\(e.tokens)")
            #expect(t.filter(\.isNumber).count <= 3, "\(e.tokens)")
            #expect(!(t.contains { "(),!".contains($0) } && t.contains { $0.isLetter && $0 != "Ġ" }), "\(e.tokens)")
        }
        // With the name: the same vocabulary under gpt-2's single regex joins " 1234567" differently.
        let named = try GGUFVocab(metadata: try Self.metadata("gguf-gpt2"), file: "new.gguf").tokenizer(file: "new.gguf")
        #expect(try named.encode(text, addSpecialTokens: false).tokens != e.tokens)
        #expect(try GGUFVocab(metadata: try Self.metadata("gguf-gpt2"), file: "new.gguf").notes.isEmpty)
    }

    @Test("an unknown tokenizer.ggml.pre is refused by name; so is a tokenizer.json pre-tokenizer one character off the table's")
    func unknownRefused() throws {
        var m = try Self.metadata("gguf-llama3")
        m["tokenizer.ggml.pre"] = .string("llama-bpe2")
        #expect {
            try GGUFVocab(metadata: m, file: "f.gguf").tokenizer(file: "f.gguf")
        } throws: { e in
            guard case let TokenizerError.unsupported(_, path, what)? = e as? TokenizerError else { return false }
            return path == "tokenizer.ggml.pre" && what.contains("\"llama-bpe2\"") && what.contains("llama-bpe")
        }
        // Llama 3's pattern with {1,3} digits made {1,2}: close to llama-bpe, but not it.
        var doc = String(decoding: try Self.bytes("tokenizers/llama3-split/tokenizer.json"), as: UTF8.self)
        doc = doc.replacingOccurrences(of: #"\\p{N}{1,3}"#, with: #"\\p{N}{1,2}"#)
        #expect(doc.contains(#"\\p{N}{1,2}"#))
        #expect {
            try GGUFVocab.fromTokenizerJSON(Array(doc.utf8), config: nil, file: "tokenizer.json")
        } throws: { e in
            guard case let TokenizerError.unsupported(_, path, what)? = e as? TokenizerError else { return false }
            return path == "pre_tokenizer" && what.contains("refused")
        }
        // The same pattern with ignore_merges off is not llama-bpe either (llama.cpp runs llama-bpe with it on).
        var off = String(decoding: try Self.bytes("tokenizers/llama3-split/tokenizer.json"), as: UTF8.self)
        off = off.replacingOccurrences(of: #""ignore_merges": true"#, with: #""ignore_merges": false"#)
        #expect(throws: TokenizerError.self) { try GGUFVocab.fromTokenizerJSON(Array(off.utf8), config: nil, file: "tokenizer.json") }
        // WordPiece has no GGUF vocabulary Porter writes.
        #expect(throws: TokenizerError.self) {
            try GGUFVocab.fromTokenizerJSON(try Self.bytes("tokenizers/bert-wordpiece/tokenizer.json"), config: nil, file: "tokenizer.json")
        }
    }

    @Test("malformed tokenizer metadata gives typed errors naming the key")
    func malformed() throws {
        let good = try Self.metadata("gguf-gpt2")
        func error(_ change: (inout [String: JSONValue]) -> Void) -> String? {
            var m = good
            change(&m)
            do { _ = try GGUFVocab(metadata: m, file: "f.gguf").tokenizer(file: "f.gguf"); return nil } catch {
                return (error as? TokenizerError)?.errorDescription
            }
        }
        #expect(error { $0["tokenizer.ggml.token_type"] = .array([.int(9)]) }?.contains("tokenizer.ggml.token_type") == true)
        #expect(error { $0["tokenizer.ggml.bos_token_id"] = .int(70000) }?.contains("tokenizer.ggml.bos_token_id") == true)
        #expect(error { $0.removeValue(forKey: "tokenizer.ggml.merges") }?.contains("tokenizer.ggml.merges") == true)
        #expect(error { $0.removeValue(forKey: "tokenizer.ggml.tokens") }?.contains("tokenizer.ggml.tokens") == true)
        #expect(error { $0["tokenizer.ggml.model"] = .string("rwkv") }?.contains("tokenizer.ggml.model") == true)
        #expect(error { $0["tokenizer.ggml.tokens"] = .array([.string("a"), .string("a")]); $0.removeValue(forKey: "tokenizer.ggml.token_type") }?
            .contains("tokenizer.ggml.tokens[1]") == true)
        #expect(error { $0["tokenizer.ggml.merges"] = .array([.string("zz qq")]) }?.contains("merges[0]") == true)
        #expect(error { _ in } == nil)
    }
}
