import Foundation
import PorterCore
import PorterSafetensors
import PorterTestSupport
import Testing

/// The Llama family (fixtures/llama, made by transformers) to GGUF and back through the real
/// binary, with no --mapping: the GGUF writer asks the architecture registry for the family's
/// mapping (llama.cpp's names, q/k permuted for Llama/Mistral) and metadata; the GGUF reader
/// translates the metadata back into config.json and picks the inverse mapping.
@Suite struct LlamaGGUFCLITests {
    /// fixtures/llama/qwen2 (q wider than hidden) is refused (below); Qwen2 as llama.cpp loads it
    /// is fixtures/gguf/families/qwen2 (PorterGGUFTests/FamiliesGGUFTests).
    static let variants = ["llama", "llama-tied", "llama-bias", "mistral", "qwen3", "phi3"]

    /// Each file has the sha256 of the one gguf-py checked at fixture time
    /// (facts.porter_written_llama in fixtures/gguf/generator.json, by
    /// fixtures/generate/check_gguf_llama.py: names, types, permuted bytes, the keys llama.cpp
    /// requires), and --verify passes at the weights and forward levels. The forward level of a
    /// q8_0 file compares quantized logits with the f32 source's, so it runs with the bound
    /// docs/formats/gguf.md documents (atol 0.1, measured up to 0.048 on these models).
    @Test(arguments: variants)
    func toGGUFWithoutMappingVerifiesAndMatchesCheckedFiles(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-llama-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let facts = try JSONValue.parse(Data(contentsOf: Fixtures.url("gguf/generator.json")))["facts"]?["porter_written_llama"]
        #expect(facts?["failures"]?.arrayValue?.isEmpty == true)
        for dtype in ["f32", "f16", "q8_0"] {
            let out = dir.appendingPathComponent("\(variant)-\(dtype).gguf"), rep = dir.appendingPathComponent("report-\(dtype)")
            var args = ["convert", Fixtures.url("llama/\(variant)").path, "--to", "gguf", "-o", out.path, "--verify", "--report", rep.path]
            if dtype != "f32" { args += ["--dtype", dtype] }
            if dtype == "q8_0" { args += ["--atol", "0.1", "--rtol", "0"] }
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(variant) \(dtype): \(r.stdout)\(r.stderr)")
            let json = try JSONValue.parse(Data(contentsOf: rep.appendingPathComponent("report.json")))
            #expect(json["passed"] == .bool(true), "\(variant) \(dtype)")
            #expect(json["weights"]?["status"] == .string("passed"), "\(variant) \(dtype): \(json["weights"] ?? .null)")
            #expect(json["forward"]?["status"] == .string("passed"), "\(variant) \(dtype): \(json["forward"] ?? .null)")
            let digest = SHA256.hex([UInt8](try Data(contentsOf: out)))
            let checked = facts?["files"]?[out.lastPathComponent]
            #expect(checked?["sha256"]?.stringValue == digest,
                    "\(variant) \(dtype): not the bytes gguf-py checked (rerun fixtures/generate/check_gguf_llama.py)")
            #expect(checked?["bytes_equal_to_reference"]?.intValue == checked?["tensors"]?.intValue)
        }
    }

    /// Without the bound, quantized logits are not the f32 source's: the forward level fails closed.
    @Test func q8ForwardAtF32ToleranceFails() throws {
        let dir = try Fixtures.scratchDirectory("porter-llama-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("q8.gguf")
        let r = try CLI.run(["convert", Fixtures.url("llama/llama").path, "--to", "gguf", "--dtype", "q8_0", "-o", out.path, "--verify"])
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("weights:   passed") && r.stdout.contains("forward:   failed"), "\(r.stdout)")
    }

    @Test func ggufMetadataAndNamesAreLlamaCpps() throws {
        let dir = try Fixtures.scratchDirectory("porter-llama-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("qwen2.gguf")
        #expect(try CLI.run(["convert", Fixtures.url("gguf/families/qwen2").path, "--to", "gguf", "-o", out.path]).status == 0)
        let r = try CLI.run(["inspect", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        for key in ["general.architecture: \"qwen2\"", "qwen2.block_count: 2", "qwen2.embedding_length: 16", "qwen2.attention.head_count: 2",
                    "qwen2.attention.head_count_kv: 1", "qwen2.context_length: 64", "qwen2.feed_forward_length: 32"] {
            #expect(r.stdout.contains(key), "\(key): \(r.stdout)")
        }
        #expect(r.stdout.contains("blk.0.attn_q.bias") && !r.stdout.contains("q_proj"))
    }

    /// HF → GGUF → HF gives back the original tensors bit for bit (f32, and f16 as the f16 cast
    /// of the original), and `porter verify` of the round-tripped folder against the original passes.
    @Test(arguments: variants)
    func roundTripBackToHFIsBitExact(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-llama-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("llama/\(variant)")
        let original = try SafetensorsReader().read(source.appendingPathComponent("model.safetensors"), options: ReadOptions())
        for dtype in ["f32", "f16"] {
            let gguf = dir.appendingPathComponent("\(dtype).gguf"), back = dir.appendingPathComponent("back-\(dtype)")
            var args = ["convert", source.path, "--to", "gguf", "-o", gguf.path]
            if dtype != "f32" { args += ["--dtype", dtype] }
            let a = try CLI.run(args)
            #expect(a.status == 0, "\(variant) \(dtype): \(a.stderr)")
            let b = try CLI.run(["convert", gguf.path, "--to", "hf", "-o", back.path, "--verify"])
            #expect(b.status == 0, "\(variant) \(dtype): \(b.stdout)\(b.stderr)")
            let copy = try SafetensorsReader().read(back.appendingPathComponent("model.safetensors"), options: ReadOptions())
            #expect(Set(copy.tensors.names) == Set(original.tensors.names), "\(variant) \(dtype)")
            for entry in original.tensors {
                let other = try #require(copy.tensors[entry.name], "\(variant): \(entry.name)")
                // GGUF keeps vectors (norms, biases) F32 under --dtype f16, as llama.cpp needs them.
                let want = dtype == "f32" || entry.tensor.shape.rank <= 1 ? entry.tensor : try entry.tensor.cast(to: .f16, name: entry.name)
                #expect(other.tensor.dtype == want.dtype && other.tensor.shape == want.shape, "\(variant) \(dtype): \(entry.name)")
                #expect(try other.tensor.contiguousBytes() == want.contiguousBytes(), "\(variant) \(dtype): \(entry.name) differs")
            }
            let config = try JSONValue.parse(Data(contentsOf: back.appendingPathComponent("config.json")))
            let want = try JSONValue.parse(Data(contentsOf: source.appendingPathComponent("config.json")))
            for key in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                        "vocab_size", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings"] {
                #expect(config[key] == want[key], "\(variant): config.json \(key) \(config[key] ?? .null) vs \(want[key] ?? .null)")
            }
            #expect(config["rope_parameters"]?["rope_theta"] == want["rope_parameters"]?["rope_theta"])
            if dtype == "f32" {
                let v = try CLI.run(["verify", source.path, back.path])
                #expect(v.status == 0, "\(variant): verify \(v.stdout)\(v.stderr)")
                #expect(v.stdout.contains("forward:   passed"), "\(variant): \(v.stdout)")
            }
        }
    }

    /// Qwen2 with q wider than the hidden size: llama.cpp's qwen2 would refuse the file, so Porter
    /// refuses to write it, naming the tensor, exit 1, nothing on disk.
    @Test func qwen2WithWideQIsRefusedWithTheReason() throws {
        let dir = try Fixtures.scratchDirectory("porter-llama-gguf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("qwen2.gguf")
        let r = try CLI.run(["convert", Fixtures.url("llama/qwen2").path, "--to", "gguf", "-o", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("blk.0.attn_q.weight") && r.stderr.contains("hidden_size 16"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

}
