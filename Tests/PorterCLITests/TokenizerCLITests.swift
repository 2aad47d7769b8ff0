import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport

/// `porter tokenize` and the tokenizer level of `porter verify`, through the real binary.
@Suite("porter tokenize and the tokenizer level of verify")
struct TokenizerCLITests {
    /// A copy of the tiny HF BERT folder whose tokenizer.json is `fixtures/tokenizers/<tokenizer>/tokenizer.json`
    /// (nil: no tokenizer.json at all).
    static func bertFolder(tokenizer: String?, in dir: URL, name: String) throws -> URL {
        let fm = FileManager.default
        let out = dir.appendingPathComponent(name)
        try fm.copyItem(at: Fixtures.url("safetensors/hf/bert"), to: out)
        let target = out.appendingPathComponent("tokenizer.json")
        try fm.removeItem(at: target)
        if let t = tokenizer { try fm.copyItem(at: Fixtures.url("tokenizers/\(t)/tokenizer.json"), to: target) }
        return out
    }

    @Test("tokenize prints the ids tokenizers produced, with offsets, as JSON")
    func tokenizeJSON() throws {
        let texts = try JSONDecoder().decode([String].self, from: Data(contentsOf: Fixtures.url("tokenizers/corpus.json")))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("tokenizers/llama3-split/expected.json"))) as? [[String: Any]]
        let k = try #require(texts.firstIndex(of: "Hello, world! How are you?"))
        let run = try CLI.run(["tokenize", Fixtures.url("tokenizers/llama3-split/tokenizer.json").path, "--json", texts[k]])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let enc = try #require((doc["encodings"] as? [[String: Any]])?.first)
        let want = try #require(expected?[k]["with_special"] as? [String: Any])
        #expect(enc["ids"] as? [Int] == want["ids"] as? [Int])
        #expect(enc["tokens"] as? [String] == want["tokens"] as? [String])
        #expect(enc["offsets"] as? [[Int]] == want["offsets"] as? [[Int]])
    }

    @Test("tokenize --no-special-tokens drops [CLS]/[SEP]; --file reads a text; a folder works as MODEL")
    func tokenizeFolderAndFile() throws {
        let dir = try Fixtures.scratchDirectory("porter-tokenize")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Self.bertFolder(tokenizer: "bert-wordpiece", in: dir, name: "bert")
        let text = dir.appendingPathComponent("t.txt")
        try Data("hello world".utf8).write(to: text)
        let with = try CLI.run(["tokenize", model.path, "--json", "--file", text.path])
        let without = try CLI.run(["tokenize", model.path, "--json", "--no-special-tokens", "hello world"])
        #expect(with.status == 0 && without.status == 0, "\(with.stderr) \(without.stderr)")
        func tokens(_ r: CLIRun) -> [String] {
            let doc = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
            return ((doc?["encodings"] as? [[String: Any]])?.first?["tokens"] as? [String]) ?? []
        }
        #expect(tokens(with).first == "[CLS]" && tokens(with).last == "[SEP]")
        #expect(tokens(without) == Array(tokens(with).dropFirst().dropLast()))
        #expect(!tokens(without).isEmpty)
    }

    @Test("tokenize reads a vocabulary-only GGUF file's metadata; --write-tokenizer writes the tokenizer.json --to hf would, with the same ids; a file without a tokenizer exits 1 and writes nothing")
    func tokenizeGGUF() throws {
        let dir = try Fixtures.scratchDirectory("porter-tokenize-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        struct Row: Decodable { let text: String; let without_special: [Int] }
        let rows = try JSONDecoder().decode([Row].self, from: Data(contentsOf: Fixtures.url("tokenizers/gguf-llama-spm-userdef/expected.json")))
        let row = try #require(rows.first { $0.text == "a <|user|> b" })
        let gguf = Fixtures.url("tokenizers/gguf-llama-spm-userdef/tokenizer.gguf").path
        let out = dir.appendingPathComponent("tok")
        let run = try CLI.run(["tokenize", gguf, "--json", "--no-special-tokens", "--write-tokenizer", out.path, "--", row.text])
        #expect(run.status == 0, "\(run.stderr)")
        func ids(_ r: CLIRun) -> [Int]? {
            let doc = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
            return (doc?["encodings"] as? [[String: Any]])?.first?["ids"] as? [Int]
        }
        #expect(ids(run) == row.without_special)
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["tokenizer.json", "tokenizer_config.json"])
        let again = try CLI.run(["tokenize", out.appendingPathComponent("tokenizer.json").path, "--json", "--no-special-tokens", "--", row.text])
        #expect(again.status == 0 && ids(again) == row.without_special, "\(again.stderr)")
        // The folder exists: replaced only with --force.
        let exists = try CLI.run(["tokenize", gguf, "--write-tokenizer", out.path])
        #expect(exists.status == 1 && exists.stderr.contains(out.path), "\(exists.stderr)")
        let none = dir.appendingPathComponent("none")
        let noTokenizer = try CLI.run(["tokenize", Fixtures.url("safetensors/hf/bert/model.safetensors").path, "--write-tokenizer", none.path])
        #expect(noTokenizer.status == 1 && noTokenizer.stderr.contains("holds no tokenizer"), "\(noTokenizer.stderr)")
        #expect(!FileManager.default.fileExists(atPath: none.path))
    }

    @Test("tokenize on a malformed tokenizer.json exits 1 naming the key")
    func tokenizeMalformed() throws {
        let dir = try Fixtures.scratchDirectory("porter-tokenize-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokenizer.json")
        try Data(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#.utf8).write(to: file)
        let run = try CLI.run(["tokenize", file.path, "x"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("model.merges[0]"), "\(run.stderr)")
        let usage = try CLI.run(["tokenize", file.path])
        #expect(usage.status == 2)
    }

    @Test("verify fails at the tokenizer level when two vocabulary entries are swapped, naming the text and position")
    func swappedVocabularyFails() throws {
        let dir = try Fixtures.scratchDirectory("porter-verify-tok")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try Self.bertFolder(tokenizer: "bert-wordpiece", in: dir, name: "src")
        let bad = try Self.bertFolder(tokenizer: "bert-wordpiece-swapped", in: dir, name: "bad")
        let report = dir.appendingPathComponent("report")
        let run = try CLI.run(["verify", src.path, bad.path, "--report", report.path])
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("tokenizer: failed"), "\(run.stdout)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("report.json"))) as? [String: Any])
        let level = try #require(doc["tokenizer"] as? [String: Any])
        #expect(level["status"] as? String == "failed")
        let first = try #require(level["firstDifference"] as? [String: Any])
        // The generator recorded that `tokenizers` first tells the two apart on "Hello world" at token 1.
        #expect(first["text"] as? String == "Hello world")
        #expect(first["position"] as? Int == 1)
        let s = try #require(first["source"] as? [String: Any]), c = try #require(first["converted"] as? [String: Any])
        #expect((s["tokens"] as? [String])?[1] == "hello")
        #expect((s["ids"] as? [Int])?[1] != (c["ids"] as? [Int])?[1])
        #expect((doc["failures"] as? [String])?.contains { $0.hasPrefix("tokenizer:") && $0.contains("Hello world") } == true)
        let md = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("## Tokenizer") && md.contains("First difference: text 1"), "\(md)")
    }

    @Test("verify passes the tokenizer level for an equal tokenizer; a dropped one fails unless allowed")
    func equalAndMissing() throws {
        let dir = try Fixtures.scratchDirectory("porter-verify-tok2")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try Self.bertFolder(tokenizer: "bert-wordpiece", in: dir, name: "src")
        let same = try Self.bertFolder(tokenizer: "bert-wordpiece", in: dir, name: "same")
        let none = try Self.bertFolder(tokenizer: nil, in: dir, name: "none")
        let texts = dir.appendingPathComponent("texts.txt")
        try Data("one more text\nand another\n".utf8).write(to: texts)
        let ok = try CLI.run(["verify", src.path, same.path, "--texts", texts.path])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("tokenizer: passed (22 texts, 0 differ)"), "\(ok.stdout)")
        let missing = try CLI.run(["verify", src.path, none.path])
        #expect(missing.status == 3, "\(missing.stdout)")
        #expect(missing.stdout.contains("has none"), "\(missing.stdout)")
        let allowed = try CLI.run(["verify", src.path, none.path, "--allow-missing-tokenizer"])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
    }
}

@Suite("the tokenizer level across formats")
struct TokenizerCrossFormatCLITests {
    /// The tiny HF BERT folder with its tokenizer.json replaced by `file` (a tokenizer.model or tokenizer.json).
    static func folder(with file: String, in dir: URL, name: String) throws -> URL {
        let fm = FileManager.default
        let out = dir.appendingPathComponent(name)
        try fm.copyItem(at: Fixtures.url("safetensors/hf/bert"), to: out)
        try fm.removeItem(at: out.appendingPathComponent("tokenizer.json"))
        let src = Fixtures.url("tokenizers/\(file)")
        try fm.copyItem(at: src, to: out.appendingPathComponent(src.lastPathComponent))
        return out
    }

    @Test("SentencePiece → tokenizer.json: the faithful port passes, one merge reordered fails at the tokenizer level")
    func sentencePieceToJSON() throws {
        let dir = try Fixtures.scratchDirectory("porter-verify-sp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try Self.folder(with: "sp-bpe-bytefallback/tokenizer.model", in: dir, name: "src")
        let good = try Self.folder(with: "sp-bpe-port/tokenizer.json", in: dir, name: "good")
        let bad = try Self.folder(with: "sp-bpe-port-merge-reordered/tokenizer.json", in: dir, name: "bad")
        let texts = dir.appendingPathComponent("texts.txt")
        try Data("  leading and trailing spaces  \n".utf8).write(to: texts)
        let ok = try CLI.run(["verify", src.path, good.path, "--texts", texts.path])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("tokenizer: passed"), "\(ok.stdout)")
        let report = dir.appendingPathComponent("report")
        let run = try CLI.run(["verify", src.path, bad.path, "--texts", texts.path, "--report", report.path])
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("report.json"))) as? [String: Any])
        let level = try #require(doc["tokenizer"] as? [String: Any])
        #expect(level["status"] as? String == "failed")
        #expect((level["sourceTokenizer"] as? String)?.hasSuffix("(tokenizer.model)") == true)
        let first = try #require(level["firstDifference"] as? [String: Any])
        #expect(!(first["text"] as? String ?? "").isEmpty)
        #expect(first["position"] is Int)
    }
}

/// HF ↔ GGUF with a tokenizer, through the binary: tokenizer.json → tokenizer.ggml.* (as gguf-py writes
/// it), GGUF → tokenizer.json + tokenizer_config.json, the tokenizer level of both ports, and the broken
/// cross-format port (one merge reordered) failing at the tokenizer level with the text and position the
/// generator recorded (fixtures/tokenizers/generator-gguf.json).
@Suite("the tokenizer across HF and GGUF")
struct TokenizerGGUFCLITests {
    /// The tiny Llama of fixtures/llama with the trained Llama 3 tokenizer (llama3-split) and its config.
    /// The fixture's embedding has 64 rows and the tokenizer 700 tokens, which llama.cpp (and Porter's
    /// GGUF writer) refuses, so the copy gets `rows` rows (`vocab_size` and both vocabulary matrices:
    /// the fixture's rows, then rows of the same values repeated).
    static func llamaWithTokenizer(in dir: URL, rows: Int = 700) throws -> URL {
        let fm = FileManager.default
        let out = dir.appendingPathComponent("src")
        try fm.copyItem(at: Fixtures.url("llama/llama"), to: out)
        try fm.copyItem(at: Fixtures.url("tokenizers/llama3-split/tokenizer.json"), to: out.appendingPathComponent("tokenizer.json"))
        try fm.copyItem(at: Fixtures.url("tokenizers/gguf-llama3/tokenizer_config.json"), to: out.appendingPathComponent("tokenizer_config.json"))
        let weights = out.appendingPathComponent("model.safetensors")
        let model = try SafetensorsReader().read(weights, options: ReadOptions())
        var store = TensorStore()
        for var entry in model.tensors {
            if entry.name == "model.embed_tokens.weight" || entry.name == "lm_head.weight" {
                let width = entry.tensor.shape.dims[1]
                let values = try entry.tensor.contiguousBytes()
                var bytes: [UInt8] = []
                bytes.reserveCapacity(rows * width * 4)
                while bytes.count < rows * width * 4 { bytes += values.prefix(rows * width * 4 - bytes.count) }
                entry.tensor = TensorRef(dtype: .f32, shape: Shape([rows, width]), storage: .memory(bytes, label: entry.name))
            }
            try store.add(entry)
        }
        var resized = model
        resized.tensors = store
        let written = dir.appendingPathComponent("resized.safetensors")
        try SafetensorsWriter().write(resized, to: written, options: WriteOptions())
        try fm.removeItem(at: weights)
        try fm.moveItem(at: written, to: weights)
        let configURL = out.appendingPathComponent("config.json")
        var config = try JSONValue.parse(Data(contentsOf: configURL)).objectValue ?? [:]
        config["vocab_size"] = .int(Int64(rows))
        try JSONValue.object(config).encoded().write(to: configURL)
        return out
    }

    static func tokenizerKeys(_ path: URL) throws -> [String: JSONValue] {
        let r = try CLI.run(["inspect", "--json", path.path])
        #expect(r.status == 0, "\(r.stderr)")
        return (try JSONValue.parse(Data(r.stdout.utf8))["config"]?.objectValue ?? [:]).filter { $0.key.hasPrefix("tokenizer.") }
    }

    @Test("HF → GGUF writes gguf-py's tokenizer keys; both ports pass the tokenizer level; one merge reordered fails it")
    func roundTripAndReorderedMerge() throws {
        let dir = try Fixtures.scratchDirectory("porter-tok-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try Self.llamaWithTokenizer(in: dir)
        let gguf = dir.appendingPathComponent("m.gguf")
        let toGGUF = try CLI.run(["convert", src.path, "--to", "gguf", "-o", gguf.path, "--verify"])
        #expect(toGGUF.status == 0, "\(toGGUF.stdout)\(toGGUF.stderr)")
        #expect(toGGUF.stdout.contains("tokenizer: passed"), "\(toGGUF.stdout)")
        // Every tokenizer key is what gguf-py's SpecialVocab + convert_hf_to_gguf's vocabulary code wrote.
        // The fixture was written from tokenizer.json + tokenizer_config.json alone; this folder also has the
        // model's config.json, whose pad_token_id gguf-py's SpecialVocab reads too (its last source).
        let ours = try Self.tokenizerKeys(gguf)
        var theirs = try Self.tokenizerKeys(Fixtures.url("tokenizers/gguf-llama3/tokenizer.gguf"))
        #expect(theirs["tokenizer.ggml.padding_token_id"] == nil)
        theirs["tokenizer.ggml.padding_token_id"] = try JSONValue.parse(Data(contentsOf: src.appendingPathComponent("config.json")))["pad_token_id"]
        #expect(theirs["tokenizer.ggml.padding_token_id"] == .int(0))
        #expect(ours == theirs, "keys \(ours.keys.sorted()) vs \(theirs.keys.sorted())")

        let back = dir.appendingPathComponent("back")
        let toHF = try CLI.run(["convert", gguf.path, "--to", "hf", "-o", back.path, "--verify"])
        #expect(toHF.status == 0, "\(toHF.stdout)\(toHF.stderr)")
        #expect(toHF.stdout.contains("tokenizer: passed"), "\(toHF.stdout)")
        let cfg = try JSONValue.parse(Data(contentsOf: back.appendingPathComponent("tokenizer_config.json")))
        #expect(cfg["chat_template"] == theirs["tokenizer.chat_template"])
        let same = try CLI.run(["verify", src.path, back.path])
        #expect(same.status == 0 && same.stdout.contains("tokenizer: passed"), "\(same.stdout)\(same.stderr)")

        // The broken port: the written tokenizer.json with one merge moved ahead of an earlier one.
        let fm = FileManager.default
        try fm.removeItem(at: back.appendingPathComponent("tokenizer.json"))
        try fm.copyItem(at: Fixtures.url("tokenizers/gguf-llama3-merge-reordered/tokenizer.json"), to: back.appendingPathComponent("tokenizer.json"))
        let report = dir.appendingPathComponent("report")
        let bad = try CLI.run(["verify", gguf.path, back.path, "--mapping", "gguf-to-hf-llama", "--report", report.path])
        #expect(bad.status == 3, "\(bad.stdout)\(bad.stderr)")
        #expect(bad.stdout.contains("tokenizer: failed"), "\(bad.stdout)")
        let doc = try JSONValue.parse(Data(contentsOf: report.appendingPathComponent("report.json")))
        #expect(doc["weights"]?["status"] == .string("passed"), "\(doc["weights"] ?? .null)")
        let level = try #require(doc["tokenizer"])
        #expect(level["status"] == .string("failed"))
        #expect(level["sourceTokenizer"]?.stringValue?.hasSuffix("(GGUF tokenizer.ggml.*)") == true, "\(level)")
        let facts = try JSONValue.parse(Data(contentsOf: Fixtures.url("tokenizers/generator-gguf.json")))["facts"]?["gguf-llama3-merge-reordered"]
        let want = try #require(facts?["first_difference_on_verify_corpus"])
        #expect(level["firstDifference"]?["text"] == want["text"], "\(level["firstDifference"] ?? .null)")
        #expect(level["firstDifference"]?["position"] == want["position"], "\(level["firstDifference"] ?? .null)")
        #expect(level["firstDifference"]?["withSpecialTokens"] == want["with_special_tokens"])
    }

    @Test("the GGUF vocabulary has one token per embedding row: a larger embedding is padded as convert_hf_to_gguf.py pads it, a smaller one refused")
    func vocabularyFollowsTheEmbedding() throws {
        let dir = try Fixtures.scratchDirectory("porter-tok-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 704 rows (a multiple of 64, as models pad embeddings) for the tokenizer's 700 tokens.
        let src = try Self.llamaWithTokenizer(in: dir, rows: 704)
        let gguf = dir.appendingPathComponent("m.gguf")
        let r = try CLI.run(["convert", src.path, "--to", "gguf", "-o", gguf.path, "--verify"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let keys = try Self.tokenizerKeys(gguf)
        let tokens = try #require(keys["tokenizer.ggml.tokens"]?.arrayValue)
        let types = try #require(keys["tokenizer.ggml.token_type"]?.arrayValue)
        #expect(tokens.count == 704 && types.count == 704)
        #expect(Array(tokens.suffix(4)) == ["[PAD700]", "[PAD701]", "[PAD702]", "[PAD703]"])
        #expect(Array(types.suffix(4)) == [.int(5), .int(5), .int(5), .int(5)])  // UNUSED
        #expect(tokens[699] != "[PAD699]")

        // The fixture as it is: 64 rows for 700 tokens. llama.cpp would refuse the file; so does Porter.
        let small = dir.appendingPathComponent("small")
        try FileManager.default.copyItem(at: Fixtures.url("llama/llama"), to: small)
        try FileManager.default.copyItem(at: Fixtures.url("tokenizers/llama3-split/tokenizer.json"), to: small.appendingPathComponent("tokenizer.json"))
        let out = dir.appendingPathComponent("small.gguf")
        let refused = try CLI.run(["convert", small.path, "--to", "gguf", "-o", out.path])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("vocab_size is 64") && refused.stderr.contains("700 tokens"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("a tokenizer.json whose pre-tokenizer has no GGUF name is refused by name (exit 1, nothing written)")
    func unknownPreTokenizerRefused() throws {
        let dir = try Fixtures.scratchDirectory("porter-tok-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try Self.llamaWithTokenizer(in: dir)
        let file = src.appendingPathComponent("tokenizer.json")
        var text = try String(contentsOf: file, encoding: .utf8)
        text = text.replacingOccurrences(of: #"\\p{N}{1,3}"#, with: #"\\p{N}{1,2}"#)
        try Data(text.utf8).write(to: file)
        let out = dir.appendingPathComponent("m.gguf")
        let r = try CLI.run(["convert", src.path, "--to", "gguf", "-o", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("pre_tokenizer") && r.stderr.contains("no tokenizer.ggml.pre name"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

/// fairseq → FSMT through the binary: the tokenizer level compares fairseq's dict.en.txt + bpecodes with
/// the written vocab-src.json + merges.txt, and catches two vocabulary entries swapped in the port.
@Suite("the tokenizer level of an FSMT port")
struct TokenizerFSMTCLITests {
    @Test("fairseq → FSMT passes the tokenizer level; a port with two vocab-src.json entries swapped fails it")
    func fsmtPort() throws {
        let dir = try Fixtures.scratchDirectory("porter-tok-fsmt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("fsmt"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", out.path, "--verify", "--report", rep.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("tokenizer: passed"), "\(r.stdout)")
        let doc = try JSONValue.parse(Data(contentsOf: rep.appendingPathComponent("report.json")))
        #expect(doc["tokenizer"]?["sourceTokenizer"]?.stringValue?.hasSuffix("(dict.en.txt + bpecodes)") == true, "\(doc["tokenizer"] ?? .null)")
        #expect(doc["tokenizer"]?["convertedTokenizer"]?.stringValue?.hasSuffix("(vocab-src.json + merges.txt)") == true)

        // Swap "the</w>" and "e" (both in the dictionary) in the written vocabulary.
        let vocabURL = out.appendingPathComponent("vocab-src.json")
        var vocab = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: vocabURL)) as? [String: Int])
        let a = try #require(vocab["the</w>"]), b = try #require(vocab["e</w>"])
        vocab["the</w>"] = b
        vocab["e</w>"] = a
        try JSONSerialization.data(withJSONObject: vocab, options: [.sortedKeys]).write(to: vocabURL)
        let bad = try CLI.run(["verify", Fixtures.url("fairseq/separate").path, out.path, "--report", dir.appendingPathComponent("r2").path])
        #expect(bad.status == 3, "\(bad.stdout)\(bad.stderr)")
        #expect(bad.stdout.contains("tokenizer: failed"), "\(bad.stdout)")
        let level = try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent("r2/report.json")))["tokenizer"]
        // "The quick brown fox jumps over the lazy dog." is the first built-in text with "the" as a word.
        #expect(level?["firstDifference"]?["text"]?.stringValue == "The quick brown fox jumps over the lazy dog.", "\(level ?? .null)")
    }
}
