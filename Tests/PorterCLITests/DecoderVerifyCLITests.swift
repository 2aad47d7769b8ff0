import Foundation
import PorterCore
import PorterTestSupport
import Testing

/// The Llama-family fixtures (fixtures/llama, made by transformers) through the real
/// binary: a safetensors → safetensors copy verifies at the weights, forward and reference
/// levels, the tolerance coming from the family's descriptor.
@Suite struct DecoderVerifyCLITests {
    @Test(arguments: ["llama", "llama-tied", "llama-bias", "llama-rope-linear", "llama-rope-dynamic", "llama-rope-llama3",
                      "llama-rope-yarn", "mistral", "mistral-window", "qwen2", "qwen3", "gemma", "gemma2", "gemma2-window", "phi3"])
    func safetensorsCopyVerifiesAtEveryLevel(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-decoder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("copy.safetensors"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("llama/\(variant)").path, "--to", "safetensors", "-o", out.path, "--verify",
                             "--reference", Fixtures.url("llama/\(variant)/reference.safetensors").path, "--report", rep.path])
        #expect(r.status == 0, "\(variant): \(r.stderr)")
        let json = try JSONValue.parse(Data(contentsOf: rep.appendingPathComponent("report.json")))
        #expect(json["passed"] == .bool(true))
        #expect(json["weights"]?["status"] == .string("passed"))
        #expect(json["forward"]?["status"] == .string("passed"), "\(variant): forward \(json["forward"] ?? .null)")
        #expect(json["reference"]?["status"] == .string("passed"), "\(variant): reference \(json["reference"] ?? .null)")
        #expect(json["tolerance"]?["from"]?.stringValue?.hasPrefix("descriptor:") == true)
    }

    /// `hf-llama-to-gguf` renames to llama.cpp's names and permutes q/k for its adjacent-pair
    /// rope; the descriptor reads those names and rotates adjacent pairs, so the copy runs and
    /// still gives transformers' logits.
    @Test(arguments: ["llama", "llama-tied", "llama-bias", "llama-rope-yarn", "mistral-window"])
    func ggufNamedCopyRunsWithPermutedHeads(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-decoder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("gguf-names.safetensors"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("llama/\(variant)").path, "--to", "safetensors", "--mapping", "hf-llama-to-gguf",
                             "-o", out.path, "--verify", "--reference", Fixtures.url("llama/\(variant)/reference.safetensors").path,
                             "--report", rep.path])
        #expect(r.status == 0, "\(variant): \(r.stdout)\(r.stderr)")
        let json = try JSONValue.parse(Data(contentsOf: rep.appendingPathComponent("report.json")))
        #expect(json["forward"]?["status"] == .string("passed"), "\(variant): \(json["forward"] ?? .null)")
        #expect(json["reference"]?["status"] == .string("passed"), "\(variant): \(json["reference"] ?? .null)")
        let back = try CLI.run(["inspect", out.path])
        #expect(back.stdout.contains("blk.0.attn_q.weight") && !back.stdout.contains("q_proj"))
    }

    @Test func aCopyWithSwappedProjectionsFailsTheForwardLevel() throws {
        // gate_proj and up_proj of layer 0 swapped (same shape, different role): the copy
        // fails at every level, and the divergence search names the layer's gate.
        let dir = try Fixtures.scratchDirectory("porter-decoder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let mapping = dir.appendingPathComponent("swap.json")
        try Data(#"""
        {"format": "porter-mapping/1", "name": "swap", "rules": [
          {"match": "^(model\\.layers\\.0\\.mlp)\\.gate_proj\\.weight$", "rename": "$1.up_proj.weight"},
          {"match": "^(model\\.layers\\.0\\.mlp)\\.up_proj\\.weight$", "rename": "$1.gate_proj.weight"},
          {"match": "^(.*)$", "rename": "$1"}
        ]}
        """#.utf8).write(to: mapping)
        let out = dir.appendingPathComponent("swapped.safetensors")
        let c = try CLI.run(["convert", Fixtures.url("llama/llama").path, "--to", "safetensors", "-o", out.path, "--mapping", mapping.path])
        #expect(c.status == 0, "\(c.stderr)")
        let v = try CLI.run(["verify", Fixtures.url("llama/llama").path, out.path, "--reference", Fixtures.url("llama/llama/reference.safetensors").path])
        #expect(v.status == 3, "\(v.stdout)\(v.stderr)")
        #expect(v.stdout.contains("first divergence: node layers.0.mlp.gate_proj (linear)"), "\(v.stdout)")
    }
}
