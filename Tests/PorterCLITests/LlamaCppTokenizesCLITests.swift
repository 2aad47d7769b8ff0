import Foundation
import PorterCore
import PorterTestSupport
import Testing

/// llama.cpp tokenized the corpus with the tokenizer metadata Porter writes from each trained
/// tokenizer.json (and a Llama 2 style SentencePiece port, sp-bpe-llama2) as the Rust `tokenizers` library does (fixtures/generate/check_gguf_llamacpp_tokenize.py,
/// llama-cpp-python at fixture time; facts.llama_cpp_tokenizes in fixtures/gguf/generator.json).
/// Without Python these tests check what was recorded, and that Porter still writes exactly the
/// bytes llama.cpp tokenized with (or still refuses what it refused).
@Suite struct LlamaCppTokenizesCLITests {
    static let facts: JSONValue? = try? JSONValue.parse(Data(contentsOf: Fixtures.url("gguf/generator.json")))["facts"]?["llama_cpp_tokenizes"]
    static let names: [String] = facts?["tokenizers"]?.objectValue?.keys.sorted() ?? []

    /// Every written file loaded; ids equal on every corpus text with and without special tokens,
    /// except that Qwen2's NFC normalizer (no GGUF key; llama.cpp's "qwen2" pre-tokenizer does not
    /// normalize) makes texts that are not already NFC differ — and only those.
    @Test func llamaCppIdsAreRecorded() throws {
        let all = try #require(Self.facts?["tokenizers"]?.objectValue)
        #expect(Self.facts?["failures"]?.arrayValue == [])
        let corpus = try JSONValue.parse(Data(contentsOf: Fixtures.url("tokenizers/corpus.json"))).arrayValue?.compactMap(\.stringValue) ?? []
        #expect(corpus.count == 41)
        var written = 0
        for (name, e) in all where e["written"] == .bool(true) {
            written += 1
            #expect(e["loaded"] == .bool(true), "\(name)")
            for mode in ["without_special", "with_special"] {
                let r = try #require(e[mode], "\(name) \(mode)")
                #expect(r["texts"]?.intValue == corpus.count)
                let differing = r["differing_texts"]?.arrayValue?.compactMap(\.intValue) ?? []
                #expect(r["equal"]?.intValue == corpus.count - differing.count)
                if name == "qwen2-split" {
                    #expect(!differing.isEmpty && differing.count <= 2, "\(name): \(differing)")
                    // Scalars, not Strings: Swift compares Strings by canonical equivalence.
                    for i in differing {
                        #expect(Array(corpus[i].precomposedStringWithCanonicalMapping.unicodeScalars) != Array(corpus[i].unicodeScalars),
                                "\(name): text \(i) is NFC and still differs")
                    }
                } else {
                    #expect(differing.isEmpty, "\(name) \(mode): \(differing)")
                }
            }
        }
        #expect(written == 5)
        // A real vocabulary (llama.cpp's ggml-vocab-llama-spm.gguf, Llama 2's 32,000 pieces) taken
        // GGUF → tokenizer.json → GGUF by Porter: llama.cpp tokenizes every text as with the original.
        let real = try #require(Self.facts?["real_vocabularies"]?["llama-spm"])
        let texts = try #require(real["texts"]?.intValue)
        #expect(texts > corpus.count && real["equal_plain"]?.intValue == texts && real["equal_special"]?.intValue == texts)
        #expect(real["out_equal_porter_gguf"]?.intValue == real["out_texts"]?.intValue && (real["out_texts"]?.intValue ?? 0) > 0)
        #expect(all["sp-bpe-llama2"]?["written"] == .bool(true))
        #expect(all["bert-wordpiece"]?["written"] == .bool(false) && all["sentencepiece-bpe"]?["written"] == .bool(false))
    }

    /// Every real vocabulary-only GGUF llama.cpp ships, read by Porter and by llama.cpp itself on the
    /// corpus and the file's own texts (recorded at fixture time; the files are never committed): the
    /// same ids on every text except the ones the script explains (llama.cpp retyping tokens by name,
    /// Qwen2's NFC, Hangul in WordPiece); GPT-NeoX and Aquila, which name no pre-tokenizer, run
    /// llama.cpp's default regexes. gemma-4's vocabulary type is refused.
    @Test func realVocabulariesReadAsLlamaCppReadsThem() throws {
        let all = try #require(Self.facts?["real_vocabularies_read"]?.objectValue)
        #expect(all.count >= 19)
        for (name, e) in all {
            if e["read"] == .bool(false) {
                #expect(name == "ggml-vocab-gemma-4.gguf" && e["porter"]?.stringValue?.contains("gemma4") == true, "\(name)")
                continue
            }
            let texts = try #require(e["texts"]?.intValue), equal = try #require(e["equal"]?.intValue)
            let explained = e["explained"]?.objectValue?.count ?? 0
            #expect(equal + explained == texts && explained <= 3, "\(name): \(equal) equal, \(explained) explained of \(texts)")
        }
        for name in ["ggml-vocab-gpt-neox.gguf", "ggml-vocab-aquila.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"] {
            #expect(all[name]?["read"] == .bool(true), "\(name)")
        }
        #expect(all["ggml-vocab-gpt-neox.gguf"]?["equal"] == all["ggml-vocab-gpt-neox.gguf"]?["texts"])
    }

    @Test(arguments: names)
    func porterStillWritesWhatLlamaCppTokenized(name: String) throws {
        let entry = try #require(Self.facts?["tokenizers"]?[name])
        let dir = try Fixtures.scratchDirectory("porter-llamacpp-tokenize")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: Fixtures.url("gguf/llamacpp-tokenize/\(name)"), to: folder)
        // A tokenizer made by the check script (sp-bpe-llama2) is committed in the folder.
        let own = folder.appendingPathComponent("tokenizer.json")
        if !FileManager.default.fileExists(atPath: own.path) {
            try FileManager.default.copyItem(at: Fixtures.url("tokenizers/\(name)/tokenizer.json"), to: own)
        }
        let out = dir.appendingPathComponent("\(name).gguf")
        let r = try CLI.run(["convert", folder.path, "--to", "gguf", "-o", out.path])
        if entry["written"] == .bool(true) {
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let digest = SHA256.hex([UInt8](try Data(contentsOf: out)))
            #expect(entry["sha256"]?.stringValue == digest, "\(name): not the bytes llama.cpp tokenized with (rerun check_gguf_llamacpp_tokenize.py)")
            // The one measured divergence is told to the user as a note of the conversion; no other.
            let noted = (r.stdout + r.stderr).contains("note: GGUF tokenizer: tokenizer.json normalizes text to NFC")
            #expect(noted == (name == "qwen2-split"), "\(name): \(r.stdout)")
        } else {
            #expect(r.status != 0 && !FileManager.default.fileExists(atPath: out.path), "\(name)")
            let recorded = try #require(entry["porter"]?.stringValue)
            #expect(r.stderr.contains(recorded.replacingOccurrences(of: "porter: error: ", with: "")), "\(name): \(r.stderr)")
        }
    }
}
