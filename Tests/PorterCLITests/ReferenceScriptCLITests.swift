import Foundation
import PorterSafetensors
import PorterTestSupport
import Testing

/// `porter reference-script`: the committed scripts in fixtures/reference-scripts/ were made by
/// this command and run in their frameworks at fixture time (check_reference_scripts.py); these
/// tests hold the command to what was run, and verify to what the scripts wrote.
@Suite("porter reference-script (CLI)")
struct ReferenceScriptCLITests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var model: String
        var framework: String
        /// `--read-option`s the case was run with (the torch case's config).
        var readOptions: [String: String]
        var description: String { name }
        var optionArguments: [String] { readOptions.sorted { $0.key < $1.key }.flatMap { ["--read-option", "\($0.key)=\($0.value)"] } }
    }

    /// The cases fixture generation ran (fixtures/reference-scripts/generator.json).
    static let cases: [Case] = {
        let url = Fixtures.url("reference-scripts/generator.json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let facts = root["facts"] as? [String: [String: Any]] else { return [] }
        return facts.keys.sorted().compactMap { name in
            guard let f = facts[name], let model = f["model"] as? String, let framework = f["framework"] as? String else { return nil }
            return Case(name: name, model: model, framework: framework, readOptions: f["read_options"] as? [String: String] ?? [:])
        }
    }()

    static func withoutVersion(_ script: String) -> String {
        script.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("# Written by `porter reference-script` (Porter ") ? "# Written by (version)" : String($0) }
            .joined(separator: "\n")
    }

    @Test("fixture generation ran scripts for torch, transformers, Keras, TensorFlow, ONNX Runtime and fairseq")
    func casesCoverFrameworks() {
        let frameworks = Set(Self.cases.map(\.framework))
        #expect(frameworks == ["torch", "transformers", "keras", "tf", "onnxruntime", "fairseq"], "\(frameworks)")
        #expect(Self.cases.count >= 12, "\(Self.cases.map(\.name))")
    }

    /// The fairseq script (run at fixture time: cases fsmt-fairseq, fsmt-fairseq-old-layout) feeds the
    /// FSMT graph's inputs, pads with <pad> where the mask pads, and allows torch's weights_only load
    /// exactly the one class fairseq checkpoints pickle; a BERT folder does not load in fairseq.
    @Test("the fairseq script: FSMT inputs, <pad> padding, one allowed global; refused for a BERT folder")
    func fairseqScriptIsWritten() throws {
        let r = try CLI.run(["reference-script", "fixtures/fairseq/separate", "--framework", "fairseq"], in: Fixtures.repositoryRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pip install --no-build-isolation --extra-index-url https://download.pytorch.org/whl/cpu fairseq-fixed==0.12.3.1"))
        #expect(r.stdout.contains(#"CHECKPOINT = os.path.join(folder, "model.pt")"#), "\(r.stdout)")
        #expect(r.stdout.contains("with torch.serialization.safe_globals([argparse.Namespace]):"), "\(r.stdout)")
        #expect(!r.stdout.contains("weights_only=False"), "\(r.stdout)")
        #expect(r.stdout.contains(#"inputs["input_ids"][inputs["attention_mask"] == 0] = PAD"#), "\(r.stdout)")
        #expect(r.stdout.contains(#"for name in ["encoder_last_hidden_state", "logits"]"#), "\(r.stdout)")
        let bert = try CLI.run(["reference-script", "fixtures/architectures/bert", "--framework", "fairseq"], in: Fixtures.repositoryRoot)
        #expect(bert.status == 2)
        #expect(bert.stderr.contains("does not load in fairseq; --framework takes transformers for it"), "\(bert.stderr)")
    }

    /// `--json`: the script and what it feeds and records, as an object; `-o` adds where it was written.
    @Test("--json describes the script: framework, inputs with shapes, outputs, the text")
    func jsonDescribesTheScript() throws {
        let plain = try CLI.run(["reference-script", "fixtures/architectures/bert", "--framework", "transformers"], in: Fixtures.repositoryRoot)
        let r = try CLI.run(["reference-script", "fixtures/architectures/bert", "--framework", "transformers", "--json"], in: Fixtures.repositoryRoot)
        #expect(r.status == 0 && plain.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["framework"] as? String == "transformers")
        #expect(doc["script"] as? String == plain.stdout)
        let inputs = try #require(doc["inputs"] as? [[String: Any]])
        #expect(inputs.compactMap { $0["name"] as? String }.contains("input_ids"), "\(inputs)")
        #expect(inputs.allSatisfy { ($0["shape"] as? [Int])?.isEmpty == false && $0["dtype"] is String }, "\(inputs)")
        #expect((doc["outputs"] as? [String])?.isEmpty == false)
        #expect(doc["written"] == nil)
        let dir = try Fixtures.scratchDirectory("porter-reference-json")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("record.py")
        let w = try CLI.run(["reference-script", Fixtures.url("architectures/bert").path, "--framework", "transformers", "--json", "-o", file.path])
        #expect(w.status == 0, "\(w.stderr)")
        let wdoc = try #require(try JSONSerialization.jsonObject(with: Data(w.stdout.utf8)) as? [String: Any])
        #expect(wdoc["written"] as? String == file.path)
        #expect(try String(contentsOf: file, encoding: .utf8) == wdoc["script"] as? String)
    }

    @Test("the script printed today is the one that was run at fixture time", arguments: cases)
    func scriptIsTheOneRun(_ c: Case) throws {
        let r = try CLI.run(["reference-script", c.model, "--framework", c.framework] + c.optionArguments, in: Fixtures.repositoryRoot)
        #expect(r.status == 0, "\(r.stderr)")
        let committed = try String(contentsOf: Fixtures.url("reference-scripts/\(c.name).py"), encoding: .utf8)
        #expect(Self.withoutVersion(r.stdout) == Self.withoutVersion(committed))
    }

    @Test("verify --reference passes on what the script wrote, and says who recorded it", arguments: cases)
    func verifyTakesTheReference(_ c: Case) throws {
        let reference = Fixtures.url("reference-scripts/\(c.name).safetensors")
        let r = try CLI.run(["verify", c.model, c.model, "--reference", reference.path] + c.optionArguments, in: Fixtures.repositoryRoot)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("  reference: passed (Porter runtime on the converted model against outputs recorded by "), "\(r.stdout)")
        #expect(!r.stdout.contains("not compared"), "\(r.stdout)")
    }

    @Test("the reference holds exactly the inputs the script makes and the outputs it names", arguments: cases)
    func namesPair(_ c: Case) throws {
        let script = try String(contentsOf: Fixtures.url("reference-scripts/\(c.name).py"), encoding: .utf8)
        // `inputs["NAME"] = …` lines make the inputs.
        var inputs = Set<String>()
        for line in script.split(separator: "\n") where line.hasPrefix("inputs[\"") {
            if let end = line.dropFirst(8).firstIndex(of: "\"") { inputs.insert(String(line[line.index(line.startIndex, offsetBy: 8)..<end])) }
        }
        #expect(!inputs.isEmpty)
        let reference = try SafetensorsReader().readFile(Fixtures.url("reference-scripts/\(c.name).safetensors"))
        let names = Set(reference.tensors.names)
        #expect(names.isSuperset(of: inputs), "\(names) lacks some of \(inputs)")
        let outputs = names.subtracting(inputs)
        #expect(!outputs.isEmpty, "no outputs in \(names)")
        for output in outputs { #expect(script.contains("\"\(output)\""), "\(output) is not an output the script names") }
        #expect(reference.metadata["porter.recorded_by"] != nil)
    }

    @Test("the script pins its versions, seeds its inputs and writes reference.safetensors")
    func scriptShape() throws {
        let r = try CLI.run(["reference-script", "fixtures/architectures/bert"], in: Fixtures.repositoryRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pip install --extra-index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu transformers==5.24.0 numpy==2.4.6 safetensors==0.8.0"))
        #expect(r.stdout.contains("rng = np.random.default_rng(SEED)"))
        #expect(r.stdout.contains(#"inputs["input_ids"] = rng.integers(0, 64, size=(2, 8), dtype=np.int64)"#))
        #expect(r.stdout.contains(#"inputs["attention_mask"][-1, -2:] = 0"#))
        #expect(r.stdout.contains(#"OUTPUT = sys.argv[1] if len(sys.argv) > 1 else "reference.safetensors""#))
    }

    @Test("-o writes the file; an existing one is kept without --force")
    func writesFile() throws {
        let dir = try Fixtures.scratchDirectory("porter-refscript-o")
        let out = dir.appendingPathComponent("record.py")
        let model = Fixtures.url("architectures/bert").path
        #expect(try CLI.run(["reference-script", model, "-o", out.path]).status == 0)
        let first = try String(contentsOf: out, encoding: .utf8)
        #expect(first.hasPrefix("# Reference outputs of \(model), recorded by transformers 5.24.0"))
        let again = try CLI.run(["reference-script", model, "-o", out.path, "--reference-name", "other.safetensors"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists"), "\(again.stderr)")
        #expect(try String(contentsOf: out, encoding: .utf8) == first)
        #expect(try CLI.run(["reference-script", model, "-o", out.path, "--reference-name", "other.safetensors", "--force"]).status == 0)
        #expect(try String(contentsOf: out, encoding: .utf8).contains(#"else "other.safetensors""#))
    }

    @Test("a framework the format does not load in, or none Porter knows: usage errors (exit 2)")
    func frameworkUsage() throws {
        let model = Fixtures.url("architectures/bert").path
        let keras = try CLI.run(["reference-script", model, "--framework", "keras"])
        #expect(keras.status == 2)
        #expect(keras.stderr.contains("does not load in keras; --framework takes transformers for it"), "\(keras.stderr)")
        let unknown = try CLI.run(["reference-script", model, "--framework", "jax"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("jax"), "\(unknown.stderr)")
    }

    @Test("models no framework script or graph covers: exit 1 with the reason")
    func noScript() throws {
        let path = Fixtures.url("pytorch/tied.pt").path
        let pt = try CLI.run(["reference-script", path])
        #expect(pt.status == 1)
        #expect(pt.stderr == "porter: error: \(path): cannot be run in torch: a state dict carries no code and no config, so neither torch nor "
            + "Porter knows its architecture; give the transformers config.json it was saved with (--read-option config=FILE), or record "
            + "the Hugging Face folder with --framework transformers\n", "\(pt.stderr)")
        let missing = try CLI.run(["reference-script", path, "--read-option", "config=/nonexistent/config.json"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("porter: error: \(path): --read-option config=/nonexistent/config.json: cannot read it"), "\(missing.stderr)")
        // A config naming no architecture Porter knows: no graph, so no inputs to record.
        let dir = try Fixtures.scratchDirectory("porter-refscript-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type": "no-such-model"}"#.utf8).write(to: config)
        let unknown = try CLI.run(["reference-script", path, "--read-option", "config=\(config.path)"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("Porter builds no graph for this model"), "\(unknown.stderr)")
        let array = dir.appendingPathComponent("array.json")
        try Data("[1]".utf8).write(to: array)
        let notObject = try CLI.run(["reference-script", path, "--read-option", "config=\(array.path)"])
        #expect(notObject.status == 1)
        #expect(notObject.stderr.contains("config=\(array.path): not a JSON object"), "\(notObject.stderr)")
        let lambda = try CLI.run(["reference-script", Fixtures.url("hdf5/lambda_model.h5").path])
        #expect(lambda.status == 1)
        #expect(lambda.stderr.contains("Porter builds no graph for this model"), "\(lambda.stderr)")
    }
}
