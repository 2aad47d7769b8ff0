import Foundation
import PorterCore
import Testing
import PorterTestSupport
@testable import PorterTokenizers

/// Malformed precompiled charsmaps (SentencePiece's normalization rules): typed errors at load, and a
/// corrupt trie never reads outside itself while text is normalized.
@Suite("precompiled charsmaps: malformed input")
struct PrecompiledCharsmapTests {
    static func fixtureCharsmap() throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: Fixtures.url("tokenizers/sp-unigram-rules/tokenizer.model")))
        return Array(try SentencePieceModel.parse(bytes, file: "tokenizer.model").precompiledCharsmap)
    }

    @Test("a charsmap whose trie size does not fit its bytes is refused, naming the key")
    func badSizes() throws {
        let good = try Self.fixtureCharsmap()
        #expect(good.count > 100)
        var tooBig = good
        tooBig[3] = 0x7F
        var unaligned = good
        unaligned[0] |= 1
        for bytes in [Array(good.prefix(3)), [0, 0, 0, 0], tooBig, unaligned] {
            #expect(throws: TokenizerError.self) { _ = try PrecompiledCharsmap(bytes[...], file: "m", path: "normalizer_spec.precompiled_charsmap") }
        }
        do {
            _ = try PrecompiledCharsmap(tooBig[...], file: "m", path: "normalizer_spec.precompiled_charsmap")
        } catch {
            #expect(error.localizedDescription.contains("normalizer_spec.precompiled_charsmap"), "\(error.localizedDescription)")
            #expect(error.localizedDescription.contains("trie size"), "\(error.localizedDescription)")
        }
    }

    @Test("tokenizer.json: a Precompiled normalizer whose charsmap is not base64 is a typed error naming the key path")
    func notBase64() throws {
        let url = Fixtures.url("tokenizers/sp-unigram-rules-port/tokenizer.json")
        var text = try String(contentsOf: url, encoding: .utf8)
        let key = "\"precompiled_charsmap\": \""
        let at = try #require(text.range(of: key))
        text.insert(contentsOf: "!!", at: at.upperBound)
        let dir = try Fixtures.scratchDirectory("porter-charsmap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("tokenizer.json")
        try Data(text.utf8).write(to: bad)
        #expect {
            _ = try TokenizerJSON.load(bad)
        } throws: { error in
            (error as? TokenizerError).map { "\($0.localizedDescription)".contains("normalizer.normalizers[0].precompiled_charsmap") } ?? false
        }
    }

    @Test("mutated trie units and replacement offsets: normalizing the corpus stays inside the charsmap")
    func mutatedTrieNeverEscapes() throws {
        let good = try Self.fixtureCharsmap()
        let texts = try Corpus.texts(for: "sp-unigram-rules")
        var rng = SeededGenerator(seed: 17)
        var loaded = 0
        for _ in 0..<200 {
            var bytes = good
            for _ in 0..<8 {
                let at = 4 + Int(rng.next() % UInt64(bytes.count - 4))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            guard let map = try? PrecompiledCharsmap(bytes[...], file: "m", path: "p") else { continue }
            loaded += 1
            for t in texts {
                var a = NormalizedText(Substring(t).unicodeScalars)
                map.graphemes(&a)
                var b = NormalizedText(Substring(t).unicodeScalars)
                map.sentencePiece(&b)
                #expect(a.starts.count == a.scalars.count && b.ends.count == b.scalars.count)
            }
        }
        #expect(loaded > 100, "\(loaded) of 200 mutated charsmaps loaded")
    }
}
