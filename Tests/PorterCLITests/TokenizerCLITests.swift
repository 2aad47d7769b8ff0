import Foundation
import Testing
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
