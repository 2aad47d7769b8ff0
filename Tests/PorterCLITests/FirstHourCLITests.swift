import Foundation
import Testing
import PorterCore
import PorterTestSupport

/// Issue 17, "the first hour": usage errors that suggest, `--to` from the output name,
/// `-o DIR/`, `-q` verdicts, clearer messages for wrong kinds of input, examples in `--help`.
@Suite struct FirstHourCLITests {
    static let source = Fixtures.url("pytorch/tied.pt").path

    /// Every usage error exits 2 with "did you mean" and writes nothing; the messages are a golden.
    @Test func usageErrorsSuggestTheNearestName() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m.safetensors").path
        let cases: [(args: [String], hint: String)] = [
            (["convert", Self.source, "-o", out, "--to", "safetensor"], "did you mean 'safetensors'?"),
            (["convert", Self.source, "-o", out, "--from", "pytorh"], "did you mean 'pytorch'?"),
            (["inspect", Self.source, "--from", "safetensor"], "did you mean 'safetensors'?"),
            (["convert", Self.source, "-o", out, "--dtype", "f61"], "did you mean 'f16'?"),
            (["verify", Self.source, out, "--dtype", "bf61"], "did you mean 'bf16'?"),
            (["convert", Self.source, "-o", out, "--write-option", "metdata.license=mit"], "did you mean 'metadata.license'?"),
            (["conver", Self.source, "-o", out], "did you mean 'convert'?"),
            (["inpsect", Self.source], "did you mean 'inspect'?"),
            (["reference-script", Self.source, "--framework", "torhc"], "did you mean 'torch'?"),
            (["reference-script", Self.source, "--framework", "farseq"], "did you mean 'fairseq'?"),
        ]
        var transcript = ""
        for c in cases {
            let r = try CLI.run(c.args)
            #expect(r.status == 2, "\(c.args): \(r.stderr)")
            #expect(r.stderr.contains(c.hint), "\(c.args): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            transcript += "$ porter \(c.args.joined(separator: " "))\n" + r.stderr.split(separator: "\n").prefix(1).joined() + "\n"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let normalised = CLI.normalised(transcript, replacing: [dir.path: "<tmp>"])
        if let diff = try Golden.compare(normalised, to: "cli/usage-suggestions.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    /// A name far from every id gets no guess, only the list.
    @Test func farNamesGetTheListWithoutAGuess() throws {
        let r = try CLI.run(["convert", Self.source, "-o", "/nonexistent/x", "--to", "zzzzzzzz"])
        #expect(r.status == 2)
        #expect(!r.stderr.contains("did you mean"), "\(r.stderr)")
        #expect(r.stderr.contains("Porter writes: safetensors"), "\(r.stderr)")
    }

    /// `-o x.safetensors` / `.pt` / `.bin` pick the writer; an unknown extension is the usage error naming the candidates.
    @Test(arguments: [("m.safetensors", "safetensors"), ("m.pt", "PyTorch checkpoint"), ("pytorch_model.bin", "PyTorch checkpoint")])
    func toIsInferredFromTheOutputName(name: String, writer: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(name)
        let r = try CLI.run(["convert", Self.source, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("(\(writer))"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: out.path))
    }

    @Test func unknownOutputExtensionStillNeedsTo() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["m.xyz", "plain"] {
            let r = try CLI.run(["convert", Self.source, "-o", dir.appendingPathComponent(name).path])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("--to is required: the output name '\(name)' does not tell the format"), "\(r.stderr)")
            #expect(r.stderr.contains("safetensors (.safetensors)") && r.stderr.contains("gguf (.gguf)"), "\(r.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// `-o DIR/`: a single-file format writes DIR/<default name>, into an existing folder or a new one.
    @Test func outputFolderGetsTheDefaultName() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Self.source, "-o", dir.path, "--to", "safetensors"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path))
        // Again: the file now exists, so without --force it is kept.
        let again = try CLI.run(["convert", Self.source, "-o", dir.path, "--to", "safetensors"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("model.safetensors already exists; pass --force"), "\(again.stderr)")
        #expect(try CLI.run(["convert", Self.source, "-o", dir.path, "--to", "safetensors", "--force"]).status == 0)

        let fresh = dir.appendingPathComponent("new").path + "/"
        let p = try CLI.run(["convert", Self.source, "-o", fresh, "--to", "pytorch"])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("new/model.pt").path))
    }

    /// A file writer given an existing folder of foreign files adds its file, even with --force, and deletes nothing.
    @Test func fileWriterIntoAForeignFolderDeletesNothing() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("keep me".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        let r = try CLI.run(["convert", Self.source, "-o", dir.path, "--to", "safetensors", "--force"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["config.json", "model.safetensors", "notes.txt"])
        #expect(try String(contentsOf: dir.appendingPathComponent("notes.txt"), encoding: .utf8) == "keep me")
    }

    /// A folder format takes DIR as the model folder: an existing one is replaced only with --force.
    @Test func folderFormatTakesTheFolderUnderForceRules() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let r = try CLI.run(["convert", Self.source, "-o", out.path + "/", "--to", "porter"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("already exists; pass --force"), "\(r.stderr)")
        let forced = try CLI.run(["convert", Self.source, "-o", out.path + "/", "--to", "porter", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.json").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("model").path))
    }

    /// `-q` on a failed verify: nothing on stdout, one verdict line on stderr, exit 3.
    @Test func quietFailedVerifyKeepsOneVerdictLine() throws {
        let r = try CLI.run(["verify", Fixtures.url("verifier/original").path, Fixtures.url("verifier/broken").path, "-q"])
        #expect(r.status == 3)
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("porter: verification FAILED: "), "\(r.stderr)")
        // Passing and quiet stays silent.
        let ok = try CLI.run(["verify", Fixtures.url("verifier/original").path, Fixtures.url("verifier/original").path, "-q"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.isEmpty && ok.stderr.isEmpty, "\(ok.stdout)\(ok.stderr)")
    }

    /// `convert --verify -q` that fails verification: the same single verdict line, and the output is kept.
    @Test func quietFailedConvertVerifyKeepsOneVerdictLine() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("fsmt").path,
                             "--verify", "--reference", Fixtures.url("fairseq/joined/reference.safetensors").path, "-q"])
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("porter: verification FAILED: "), "\(r.stderr)")
    }

    /// FSMT's decoder block comes back after its layers (the output projection): each bar of the
    /// per-layer series has its own label, in the JSON and the HTML report.
    @Test func perLayerLabelsAreDistinct() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("fsmt").path,
                             "--verify", "--report", report.path, "-q"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("report.json"))) as? [String: Any])
        let layers = try #require((json["forward"] as? [String: Any])?["layers"] as? [[String: Any]]).compactMap { $0["layer"] as? String }
        #expect(layers.count >= 6, "\(layers)")
        #expect(Set(layers).count == layers.count, "\(layers)")
        #expect(layers.contains("decoder (embeddings)") && layers.contains("decoder (output_projection)"), "\(layers)")
    }

    /// A cut-off torch zip says it may be truncated, not just "not a zip".
    @Test func truncatedZipSaysTruncated() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.source))
        let cut = dir.appendingPathComponent("cut.pt")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        for command in ["inspect", "scan"] {
            let r = try CLI.run([command, cut.path])
            #expect(r.status == 1, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("\(cut.path): truncated or not a zip archive? no end-of-central-directory record"), "\(command): \(r.stderr)")
        }
    }

    /// `scan` of a folder no reader claims says what it is.
    @Test func scanOfAPlainFolderSaysWhatItIs() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("hi".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let r = try CLI.run(["scan", dir.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(dir.path): a folder that is no model folder Porter knows: it holds notes.txt"), "\(r.stderr)")
        #expect(!r.stderr.contains("not a regular file"), "\(r.stderr)")
    }

    /// TorchScript class globals fold into one summary row of the text report; --json keeps each.
    @Test func torchScriptClassesAreOneSummaryLine() throws {
        let path = Fixtures.url("pytorch/script.pt").path
        let r = try CLI.run(["scan", path])
        let globals = r.stdout.components(separatedBy: "\nglobals\n").dropFirst().first?.components(separatedBy: "\n\n").first ?? ""
        let scriptRows = globals.split(separator: "\n").filter { $0.contains("torchscript") }
        #expect(scriptRows.count == 1, "\(r.stdout)")
        #expect(scriptRows.first?.contains("__torch__.… (") == true, "\(r.stdout)")
        let json = try JSONValue.parse(Data(try CLI.run(["scan", path, "--json"]).stdout.utf8))
        let perClass = Set((json["globals"]?.arrayValue ?? []).filter { $0["classification"] == .string("torchscript") }
            .compactMap { $0["global"]?.stringValue }).count
        #expect(perClass > 1, "\(json)")
        let counted = scriptRows.first.flatMap { $0.split(separator: "(").dropFirst().first?.split(separator: " ").first }.flatMap { Int($0) }
        #expect(counted == perClass, "\(scriptRows) vs \(perClass) in --json")
    }

    /// Issue 17's first list of complaints, each message as the binary prints it now, with its
    /// exit code (a golden; the tests above check the behaviour behind each): a cut-off zip, a
    /// folder given to scan, `-q` on a failed verify, `--to` left out where the name does not
    /// tell it, existing output, the `--mapping` hint, TorchScript globals in one row, a state
    /// dict without a config for reference-script.
    @Test func firstHourMessagesGolden() throws {
        let dir = try Fixtures.scratchDirectory("porter-first-hour")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.source))
        let cut = dir.appendingPathComponent("cut.pt")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let plain = dir.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
        try Data("hi".utf8).write(to: plain.appendingPathComponent("notes.txt"))
        let out = dir.appendingPathComponent("m.safetensors").path
        #expect(try CLI.run(["convert", Self.source, "-o", out, "-q"]).status == 0)
        let mlp = Fixtures.url("hdf5/mlp_sequential.h5").path
        let mapped = dir.appendingPathComponent("mlp.safetensors").path
        #expect(try CLI.run(["convert", mlp, "-o", mapped, "--mapping", "keras-to-pytorch", "-q"]).status == 0)
        // (arguments, exit code, which stream's lines to keep: a filter over them)
        let cases: [([String], Int32, (String) -> Bool, Bool)] = [
            (["inspect", cut.path], 1, { _ in true }, false),
            (["scan", cut.path], 1, { _ in true }, false),
            (["scan", plain.path], 1, { _ in true }, false),
            (["verify", Fixtures.url("verifier/original").path, Fixtures.url("verifier/broken").path, "-q"], 3, { _ in true }, false),
            (["convert", Self.source, "-o", dir.appendingPathComponent("m.xyz").path], 2, { _ in true }, false),
            (["convert", Self.source, "-o", out], 1, { _ in true }, false),
            (["verify", mlp, mapped], 3, { $0.contains("rerun with --mapping") }, true),
            (["scan", Fixtures.url("pytorch/script.pt").path], 0, { $0.contains("torchscript") }, true),
            (["reference-script", Self.source], 1, { _ in true }, false),
        ]
        var transcript = ""
        for (args, status, keep, stdout) in cases {
            let r = try CLI.run(args)
            #expect(r.status == status, "\(args): \(r.stdout)\(r.stderr)")
            let lines = (stdout ? r.stdout : r.stderr).split(separator: "\n").map(String.init).filter(keep)
            #expect(!lines.isEmpty, "\(args): \(r.stdout)\(r.stderr)")
            transcript += "$ porter \(args.joined(separator: " "))  # exit \(r.status)\n" + lines.joined(separator: "\n") + "\n"
        }
        let normalised = CLI.normalised(transcript, replacing: [dir.path: "<tmp>"])
        if let diff = try Golden.compare(normalised, to: "cli/first-hour-messages.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    /// Each main command's help has worked examples and the registry's formats.
    @Test(arguments: ["convert", "verify", "inspect", "scan"])
    func helpHasExamplesAndFormats(command: String) throws {
        let r = try CLI.run([command, "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Examples:"), "\(r.stdout)")
        let examples = r.stdout.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("porter \(command) ") }
        #expect((2...4).contains(examples.count), "\(examples)")
        let formats = try CLI.run(["formats", "--json"]).stdout
        for id in ["safetensors", "pytorch", "gguf", "onnx", "keras-h5"] {
            #expect(formats.contains("\"\(id)\""))
            #expect(r.stdout.contains("  \(id) ("), "\(command) --help lacks \(id)")
        }
    }
}
