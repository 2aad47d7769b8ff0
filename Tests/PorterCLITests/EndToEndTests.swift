import Foundation
import Testing
import PorterCore
import PorterTestSupport

/// Whole conversions through the real binary, each verified by Porter and checked
/// against the report it wrote.
@Suite struct EndToEndTests {
    func report(_ dir: URL) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent("report.json")))
    }

    @Test func fairseqToFSMTVerifies() throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        let out = dir.appendingPathComponent("fsmt"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", out.path, "--verify", "--report", rep.path])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["README.md", "config.json", "merges.txt", "model.safetensors", "tokenizer_config.json", "vocab-src.json", "vocab-tgt.json"])
        let json = try report(rep)
        #expect(json["passed"] == .bool(true))
        #expect(json["forward"]?["status"] == .string("passed"))
        #expect(r.stdout.contains("optimizer state"))
        // The model card records the command and the verification outcome.
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(card.contains("porter convert \(Fixtures.url("fairseq/separate").path) --to hf"))
        #expect(card.contains("- overall: passed"))
    }

    /// The port is compared with fairseq itself: reference.safetensors holds the encoder
    /// output and logits fairseq computed (fixtures/generate/fairseq_reference.py).
    @Test(arguments: ["separate", "joined", "old-layout"])
    func fairseqPortMatchesFairseqsOwnOutputs(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("fsmt"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("fairseq/\(variant)").path, "--to", "hf", "-o", out.path, "--verify",
                             "--reference", Fixtures.url("fairseq/\(variant)/reference.safetensors").path, "--report", rep.path])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try report(rep)
        #expect(json["reference"]?["status"] == .string("passed"))
        let compared = json["reference"]?["outputs"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(compared) == ["encoder_last_hidden_state", "logits"])
        for output in json["reference"]?["outputs"]?.arrayValue ?? [] {
            #expect((output["metrics"]?["maxAbs"]?.doubleValue ?? 1) < 1e-5, "\(variant) \(output["name"]?.stringValue ?? "")")
        }
    }

    /// Another model's fairseq outputs do not pass for this one (the vocabularies differ).
    @Test func fairseqReferenceOfAnotherModelFails() throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("fsmt").path,
                             "--verify", "--reference", Fixtures.url("fairseq/joined/reference.safetensors").path])
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("reference: failed"), "\(r.stdout)")
    }

    @Test func tf1BertToTransformersMatchesTensorFlow() throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        let out = dir.appendingPathComponent("bert"), rep = dir.appendingPathComponent("report")
        // A TF1 checkpoint is named by its prefix, as TensorFlow names it.
        let r = try CLI.run(["convert", Fixtures.url("tensorflow/bert_tf1/bert_model.ckpt").path, "--to", "hf", "--mapping", "tf1-bert-to-hf-bert",
                             "-o", out.path, "--verify", "--reference", Fixtures.url("tensorflow/bert_tf1/reference.safetensors").path,
                             "--report", rep.path])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try report(rep)
        #expect(json["reference"]?["status"] == .string("passed"))
        #expect(json["weights"]?["status"] == .string("passed"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.json").path))
    }

    @Test func brokenConversionExitsThreeNamingTheNode() throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        let rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["verify", Fixtures.url("verifier/original").path, Fixtures.url("verifier/broken").path, "--report", rep.path])
        #expect(r.status == 3)
        #expect(r.stdout.contains("first divergence: node encoder.layer.1.attention.self.query"))
        let json = try report(rep)
        #expect(json["passed"] == .bool(false))
        #expect(json["forward"]?["firstDivergence"]?["node"] == .string("encoder.layer.1.attention.self.query"))
        for name in ["report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: rep.appendingPathComponent(name).path))
        }
    }

    @Test func kerasCNNMatchesKerasOutputs() throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        let r = try CLI.run(["convert", Fixtures.url("hdf5/cnn_functional.h5").path, "--to", "keras-h5", "-o", dir.appendingPathComponent("cnn.h5").path,
                             "--verify", "--reference", Fixtures.url("hdf5/cnn_functional.io.safetensors").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("reference: passed"))
    }

    /// A `.pt` stores no graph; the mapped graph (its references renamed, layouts relaid)
    /// runs over the converted weights.
    @Test func kerasToPyTorchRunsTheMappedGraph() throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        let r = try CLI.run(["convert", Fixtures.url("hdf5/mlp_sequential.h5").path, "--to", "pytorch", "--mapping", "keras-to-pytorch",
                             "-o", dir.appendingPathComponent("mlp.pt").path, "--verify"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("weights:   passed (4 checked, 4 bit-exact"))
        #expect(r.stdout.contains("forward:   passed"))
    }

    @Test(arguments: ["mal_os_system.pt", "mal_eval.pt", "mal_stack_global.pt", "mal_legacy.pt", "mal_tar.pt"])
    func hostilePicklesAreRefusedAndNothingIsWritten(file: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-e2e")
        let r = try CLI.run(["convert", Fixtures.url("pytorch/\(file)").path, "--to", "safetensors", "-o", dir.appendingPathComponent("x.safetensors").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains(file) && r.stderr.contains("byte"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let scan = try CLI.run(["scan", Fixtures.url("pytorch/\(file)").path])
        #expect(scan.status == 5)
        let payloads = try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("porter-pwned") }
        #expect(payloads.isEmpty)
    }
}
