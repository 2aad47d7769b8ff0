import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterGGUF

/// `GGUFTokenizer.keyValues(for:)` keeps the last vocabulary it made; it must follow each model's
/// own tokenizer files.
@Suite struct GGUFTokenizerKeysTests {
    static func model(_ fixture: String) throws -> NeutralModel {
        let json = [UInt8](try Data(contentsOf: Fixtures.url("tokenizers/\(fixture)/tokenizer.json")))
        return NeutralModel(sourceFormat: "test", sourceFiles: [], assets: [Asset(kind: "tokenizer", fileName: "tokenizer.json", bytes: json)])
    }

    @Test("tokenizer keys follow the model's files: asked in turn for two tokenizers, each model gets its own pre-tokenizer and tokens")
    func keysFollowTheFiles() throws {
        let gpt2 = try Self.model("gpt2-bytelevel"), llama3 = try Self.model("llama3-split")
        let a = try GGUFTokenizer.keyValues(for: gpt2)
        let b = try GGUFTokenizer.keyValues(for: llama3)
        #expect(a["tokenizer.ggml.pre"] == .string("gpt-2") && b["tokenizer.ggml.pre"] == .string("llama-bpe"))
        #expect(a["tokenizer.ggml.tokens"] != b["tokenizer.ggml.tokens"])
        #expect(try GGUFTokenizer.keyValues(for: gpt2) == a)
        #expect(try GGUFTokenizer.keyValues(for: llama3) == b)
        // Same tokenizer.json, another config: the config's vocab_size pads, so the keys differ.
        var padded = llama3
        let n = try #require(b["tokenizer.ggml.tokens"]?.arrayValue?.count)
        padded.config = .object(["vocab_size": .int(Int64(n + 2))])
        let c = try GGUFTokenizer.keyValues(for: padded)
        #expect(c["tokenizer.ggml.tokens"]?.arrayValue?.count == n + 2)
        #expect(try GGUFTokenizer.keyValues(for: llama3) == b)
    }
}
