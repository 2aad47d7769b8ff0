import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport

/// Issue 13: Hugging Face folders of every era (fixtures/hf-eras, made by transformers /
/// torch) read as `hf` through the `porter` binary, the weights file chosen as transformers
/// chooses it, every tensor bit-exact under the state-dict names transformers loads.
@Suite struct HuggingFaceErasCLITests {
    static let facts: JSONValue = (try? Fixtures.json("hf-eras/generator.json"))?["facts"] ?? .null

    /// Converts `folder` to safetensors and checks every tensor against `expected` (name → digest).
    func convertAndCompare(_ folder: String, extra: [String] = [], expected: JSONValue?) throws -> CLIRun {
        let dir = try Fixtures.scratchDirectory("porter-hf-eras")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors")
        let run = try CLI.run(["convert", Fixtures.url("hf-eras/" + folder).path, "--to", "safetensors", "-o", out.path] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        let model = try SafetensorsReader().readFile(out)
        let tensors = try #require(expected?.objectValue)
        #expect(Set(model.tensors.names) == Set(tensors.keys), "\(folder)")
        for (name, fact) in tensors {
            let entry = try #require(model.tensors[name], "\(folder): \(name)")
            #expect(try tensorDigest(entry.tensor) == fact["sha256"]?.stringValue, "\(folder): \(name)")
        }
        return run
    }

    @Test("every era converts bit-exact from the file transformers loads", arguments: ["bin", "bin_sharded", "both", "sentence"])
    func eras(_ folder: String) throws {
        let inspect = try CLI.run(["inspect", Fixtures.url("hf-eras/" + folder).path, "--json"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let json = try JSONValue.parse(Data(inspect.stdout.utf8))
        #expect(json["format"]?.stringValue == "hf", "\(inspect.stdout.prefix(300))")
        let weightsFile = try #require(Self.facts[folder]?["weights_file"]?.stringValue)
        let notes = json["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(notes.contains { $0.hasPrefix("weights read from \(weightsFile)") }, "\(notes)")
        _ = try convertAndCompare(folder, expected: Self.facts[folder]?["tensors"])
    }

    @Test("both safetensors and .bin: the safetensors by default, noted; weights= picks the .bin")
    func choice() throws {
        let inspect = try CLI.run(["inspect", Fixtures.url("hf-eras/both").path])
        #expect(inspect.stdout.contains("also present, not read: pytorch_model.bin"), "\(inspect.stdout)")
        _ = try convertAndCompare("both", extra: ["--read-option", "weights=pytorch_model.bin"], expected: Self.facts["both"]?["bin_tensors"])
        // A weights file the folder does not hold is an error naming what is there.
        let missing = try CLI.run(["inspect", Fixtures.url("hf-eras/both").path, "--read-option", "weights=tf_model.h5"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("present: model.safetensors, pytorch_model.bin"), "\(missing.stderr)")
        // One that is no weights file at all is a usage error.
        let bad = try CLI.run(["inspect", Fixtures.url("hf-eras/both").path, "--read-option", "weights=vocab.txt"])
        #expect(bad.status == 2, "\(bad.stderr)")
    }

    @Test("sentence-transformers extras and module folders are carried, through the porter format too")
    func sentenceTransformers() throws {
        let dir = try Fixtures.scratchDirectory("porter-hf-eras")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let run = try CLI.run(["convert", Fixtures.url("hf-eras/sentence").path, "--to", "hf", "-o", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        for name in ["modules.json", "config_sentence_transformers.json", "sentence_bert_config.json", "vocab.txt", "config.json", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
        }
        let source = Fixtures.url("hf-eras/sentence/modules.json")
        #expect(try Data(contentsOf: out.appendingPathComponent("modules.json")) == Data(contentsOf: source))
        // The module folder modules.json names, bytes unchanged.
        let pooling = Fixtures.url("hf-eras/sentence/1_Pooling/config.json")
        #expect(try Data(contentsOf: out.appendingPathComponent("1_Pooling/config.json")) == Data(contentsOf: pooling))
        let inspect = try CLI.run(["inspect", Fixtures.url("hf-eras/sentence").path])
        #expect(inspect.stdout.contains("1_Pooling/config.json (st-module"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("module folder 1_Pooling/ carried: 1 file(s)"), "\(inspect.stdout)")
        // hf → porter → hf keeps it, and --force replaces a folder holding it.
        let porter = dir.appendingPathComponent("p")
        #expect(try CLI.run(["convert", out.path, "--to", "porter", "-o", porter.path]).status == 0)
        let back = dir.appendingPathComponent("back")
        let again = try CLI.run(["convert", porter.path, "--to", "hf", "-o", back.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Data(contentsOf: back.appendingPathComponent("1_Pooling/config.json")) == Data(contentsOf: pooling))
        let forced = try CLI.run(["convert", Fixtures.url("hf-eras/sentence").path, "--to", "hf", "-o", back.path, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        // A scan covers the folder's weights.
        let scan = try CLI.run(["scan", Fixtures.url("hf-eras/sentence").path])
        #expect(scan.status == 0, "\(scan.stdout)")
    }

    @Test("a module folder's pickled weights are noted, not copied unread")
    func sentenceTransformerPickledModuleWeights() throws {
        let dir = try Fixtures.scratchDirectory("porter-hf-eras")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("st")
        try FileManager.default.copyItem(at: Fixtures.url("hf-eras/sentence"), to: src)
        // A Dense-like module whose weights are a pickle (here: the base model's own .bin).
        var modules = try JSONValue.parse(Data(contentsOf: src.appendingPathComponent("modules.json"))).arrayValue ?? []
        modules.append(.object(["idx": .int(2), "name": .string("2"), "path": .string("2_Dense"), "type": .string("sentence_transformers.models.Dense")]))
        try JSONValue.array(modules).encoded(pretty: true).write(to: src.appendingPathComponent("modules.json"))
        try FileManager.default.createDirectory(at: src.appendingPathComponent("2_Dense"), withIntermediateDirectories: true)
        try Data("{\"in_features\": 8}".utf8).write(to: src.appendingPathComponent("2_Dense/config.json"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("pytorch_model.bin"), to: src.appendingPathComponent("2_Dense/pytorch_model.bin"))
        let out = dir.appendingPathComponent("out")
        let run = try CLI.run(["convert", src.path, "--to", "hf", "-o", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2_Dense/pytorch_model.bin not carried"), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("2_Dense/config.json").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("2_Dense/pytorch_model.bin").path))
        let scan = try CLI.run(["scan", src.path])
        #expect(scan.stdout.contains("2_Dense/pytorch_model.bin") || scan.stdout.contains("pytorch_model.bin"), "\(scan.stdout)")
        #expect(scan.stdout.contains("scanned 2 file(s)"), "\(scan.stdout)")
    }

    @Test("--to hf refuses a model with no usable config, writes nothing; --config gives one")
    func configRequired() throws {
        let dir = try Fixtures.scratchDirectory("porter-hf-eras")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let bin = Fixtures.url("hf-eras/bin/pytorch_model.bin").path
        let refused = try CLI.run(["convert", bin, "--to", "hf", "-o", out.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--config FILE"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let config = Fixtures.url("hf-eras/bin/config.json").path
        let given = try CLI.run(["convert", bin, "--to", "hf", "-o", out.path, "--config", config])
        #expect(given.status == 0, "\(given.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent("config.json")).count > 0)
        let written = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("config.json")))
        #expect(written["model_type"]?.stringValue == "bert")
        // A --config without a model_type is refused too.
        let noType = dir.appendingPathComponent("c.json")
        try Data("{\"hidden_size\": 8}".utf8).write(to: noType)
        let bad = try CLI.run(["convert", bin, "--to", "hf", "-o", dir.appendingPathComponent("o2").path, "--config", noType.path])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("has no model_type"), "\(bad.stderr)")
    }
}

/// `porter scan` on a Hugging Face folder scans every weights file it holds (the scanner is
/// the loader: transformers would unpickle `pytorch_model.bin`).
@Suite struct HuggingFaceScanCLITests {
    @Test func foldersAreScannedFileByFile() throws {
        let safe = try CLI.run(["scan", Fixtures.url("hf-eras/bin").path])
        #expect(safe.status == 0, "\(safe.stdout)\(safe.stderr)")
        #expect(safe.stdout.contains("scanned 1 file(s): pytorch_model.bin"), "\(safe.stdout)")
        let sharded = try CLI.run(["scan", Fixtures.url("hf-eras/bin_sharded").path])
        #expect(sharded.status == 0)
        #expect(sharded.stdout.contains("scanned 3 file(s): pytorch_model-00001-of-00003.bin"), "\(sharded.stdout)")
        let both = try CLI.run(["scan", Fixtures.url("hf-eras/both").path])
        #expect(both.status == 0)
        #expect(both.stdout.contains("model.safetensors, pytorch_model.bin"), "\(both.stdout)")

        // A hostile pytorch_model.bin beside a config: dangerous, named by file.
        let dir = try Fixtures.scratchDirectory("porter-hf-scan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gadget = try #require(Fixtures.files(in: "security/gadgets", suffix: ".pt").first)
        try FileManager.default.copyItem(at: Fixtures.url("hf-eras/bin/config.json"), to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: Fixtures.url("security/gadgets/" + gadget), to: dir.appendingPathComponent("pytorch_model.bin"))
        let hostile = try CLI.run(["scan", dir.path])
        #expect(hostile.status == 5, "\(gadget): \(hostile.stdout)")
        #expect(hostile.stdout.contains("dangerous") && hostile.stdout.contains("pytorch_model.bin"), "\(hostile.stdout)")
    }
}
