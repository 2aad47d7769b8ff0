import Foundation
import PorterSafetensors
import PorterTestSupport
import Testing

@Suite("porter tiny (CLI)")
struct TinyCLITests {
    let source = Fixtures.url("tiny/bert_src")

    @Test("tiny writes an HF folder and exits 0; the folder's weights have the new sizes")
    func writes() throws {
        let out = try Fixtures.scratchDirectory("porter-tiny-cli").appendingPathComponent("t")
        let r = try CLI.run(["tiny", source.path, "-o", out.path, "--layers", "1", "--hidden", "8", "--heads", "2", "--intermediate", "12", "--seed", "9"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("tiny bert"))
        let weights = try SafetensorsReader().readFile(out.appendingPathComponent("model.safetensors"))
        #expect(weights.tensors["bert.encoder.layer.0.intermediate.dense.weight"]?.tensor.shape == [12, 8])
        #expect(weights.tensors["bert.encoder.layer.1.output.dense.weight"] == nil)
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(card.contains("--seed 9"))
        // Existing output: an error (exit 1) unless --force.
        #expect(try CLI.run(["tiny", source.path, "-o", out.path]).status == 1)
        #expect(try CLI.run(["tiny", source.path, "-o", out.path, "--force", "--quiet"]).status == 0)
    }

    @Test("unknown architecture: exit 1, a message naming it, nothing on disk")
    func unknownArchitecture() throws {
        let dir = try Fixtures.scratchDirectory("porter-tiny-cli-t5")
        let src = dir.appendingPathComponent("t5")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"), to: src.appendingPathComponent("model.safetensors"))
        try Data(#"{"model_type": "t5"}"#.utf8).write(to: src.appendingPathComponent("config.json"))
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(["tiny", src.path, "-o", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("model_type 't5' has no architecture descriptor"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["t5"])
    }

    @Test("sizes that cannot make a model are usage errors (exit 2)")
    func usage() throws {
        #expect(try CLI.run(["tiny", source.path, "-o", "/tmp/never", "--hidden", "30", "--heads", "4"]).status == 2)
        #expect(try CLI.run(["tiny", source.path, "-o", "/tmp/never", "--layers", "-1"]).status == 2)
        #expect(try CLI.run(["tiny", source.path]).status == 2)
        #expect(try CLI.run(["tiny", source.path, "-o", "/tmp/never", "--hidden", "9223372036854775807"]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never"))
    }
}
