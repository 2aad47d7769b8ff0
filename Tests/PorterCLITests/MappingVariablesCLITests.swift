import Foundation
import Testing
import PorterCore
import PorterTestSupport

/// Mapping steps with config variables through the real `porter` binary: the head counts
/// come from the model folder's config.json; without them the conversion fails naming the
/// rule and the variable, leaving nothing on disk.
@Suite struct MappingVariablesCLITests {
    func llamaFolder(config: String?) throws -> URL {
        let dir = try Fixtures.scratchDirectory("porter-mapvars")
        let folder = dir.appendingPathComponent("llama")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.url("mapping-vars/llama-hf.safetensors"), to: folder.appendingPathComponent("model.safetensors"))
        if let config { try Data(config.utf8).write(to: folder.appendingPathComponent("config.json")) }
        return folder
    }

    @Test("convert an HF Llama folder with hf-llama-to-gguf: q/k permuted by the config's head counts, and --verify replays the steps")
    func llamaFolderConvertsAndVerifies() throws {
        let config = try String(contentsOf: Fixtures.url("mapping-vars/llama-config.json"), encoding: .utf8)
        let folder = try llamaFolder(config: config)
        let out = folder.deletingLastPathComponent().appendingPathComponent("gguf-names.safetensors")
        let rep = folder.deletingLastPathComponent().appendingPathComponent("report")
        let r = try CLI.run(["convert", folder.path, "--to", "safetensors", "--mapping", "hf-llama-to-gguf", "-o", out.path,
                             "--verify", "--report", rep.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let report = try JSONValue.parse(Data(contentsOf: rep.appendingPathComponent("report.json")))
        #expect(report["weights"]?["status"] == "passed")
        #expect(report["weights"]?["bitExact"] == 16)
        let back = try CLI.run(["inspect", out.path, "--json"])
        #expect(back.status == 0)
        #expect(back.stdout.contains("blk.0.attn_q.weight") && !back.stdout.contains("q_proj"))
    }

    @Test("without head counts in config.json the conversion exits 1 naming the rule and the variable, and writes nothing")
    func missingHeadCountFails() throws {
        let folder = try llamaFolder(config: #"{"model_type": "llama", "hidden_size": 16}"#)
        let out = folder.deletingLastPathComponent().appendingPathComponent("out.safetensors")
        let r = try CLI.run(["convert", folder.path, "--to", "safetensors", "--mapping", "hf-llama-to-gguf", "-o", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("hf-llama-to-gguf") && r.stderr.contains("rules["), "\(r.stderr)")
        #expect(r.stderr.contains("variable kv_heads") || r.stderr.contains("variable heads"), "\(r.stderr)")
        #expect(r.stderr.contains("num_attention_heads"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.deletingLastPathComponent().path).filter { $0 != "llama" }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
