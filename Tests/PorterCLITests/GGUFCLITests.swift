import Foundation
import Testing
import PorterTestSupport

/// GGUF through the real `porter` binary: inspect, scan, convert --to gguf with block
/// quantization and --verify, and a damaged file's typed error.
@Suite struct GGUFCLITests {
    @Test func inspectShowsArchitectureTokenizerTemplateAndTypes() throws {
        let r = try CLI.run(["inspect", Fixtures.url("gguf/metadata.gguf").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("format:     GGUF (gguf)"))
        #expect(r.stdout.contains("general.architecture: \"gpt2\""))
        #expect(r.stdout.contains("gpt2.context_length: 64"))
        #expect(r.stdout.contains("tokenizer.ggml.model: gpt2") && r.stdout.contains("tokenizer.ggml.pre: gpt-2"))
        #expect(r.stdout.contains("tokenizer.chat_template"))
        #expect(r.stdout.contains("tensor types: F32×1"))
        let q = try CLI.run(["inspect", Fixtures.url("gguf/types.gguf").path])
        #expect(q.stdout.contains("Q4_K×1") && q.stdout.contains("Q6_K×1") && q.stdout.contains("dequantized to f32"))
    }

    @Test func scanReviewsChatTemplateAndPassesPlainFiles() throws {
        let r = try CLI.run(["scan", Fixtures.url("gguf/metadata.gguf").path])
        #expect(r.status == 4, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("verdict: review") && r.stdout.contains("Jinja chat template"))
        let safe = try CLI.run(["scan", Fixtures.url("gguf/types.gguf").path])
        #expect(safe.status == 0)
        #expect(safe.stdout.contains("safe — holds no pickle"))
    }

    @Test func convertToQ8AndVerify() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("gpt2-q8_0.gguf")
        let r = try CLI.run(["convert", Fixtures.url("architectures/gpt2").path, "--to", "gguf", "--mapping", "hf-gpt2-to-gguf",
                             "--dtype", "q8_0", "-o", out.path, "--verify"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("weights:   passed"), "\(r.stdout)")
        // The same bytes gguf-py checked at fixture time (fixtures/gguf/generator.json, porter_written).
        #expect(try Data(contentsOf: out) == Data(contentsOf: Fixtures.url("gguf/porter-written/gpt2-q8_0.gguf")))
        let again = try CLI.run(["verify", Fixtures.url("architectures/gpt2").path, out.path, "--mapping", "hf-gpt2-to-gguf", "--dtype", "q8_0"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        // Verifying against the wrong quantization fails closed.
        let wrong = try CLI.run(["verify", Fixtures.url("architectures/gpt2").path, out.path, "--mapping", "hf-gpt2-to-gguf", "--dtype", "q4_0"])
        #expect(wrong.status == 3, "\(wrong.stdout)\(wrong.stderr)")
    }

    @Test func blockDTypeForOtherWritersFails() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.safetensors")
        let r = try CLI.run(["convert", Fixtures.url("architectures/gpt2").path, "--to", "safetensors", "--dtype", "q4_0", "-o", out.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--dtype q4_0") && r.stderr.contains("--to gguf"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func damagedFileGivesTypedErrorAndNoOutput() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("cut.gguf")
        let bytes = try Data(contentsOf: Fixtures.url("gguf/types.gguf"))
        try bytes.prefix(bytes.count - 100).write(to: bad)
        let out = dir.appendingPathComponent("out.safetensors")
        let r = try CLI.run(["convert", bad.path, "--to", "safetensors", "-o", out.path])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("cut.gguf") && r.stderr.contains("past the end"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func refusedTypeNamed() throws {
        let r = try CLI.run(["inspect", Fixtures.url("gguf/refused.gguf").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("IQ4_NL"))
    }
}
