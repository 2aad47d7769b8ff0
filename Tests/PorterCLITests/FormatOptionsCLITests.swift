import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport

/// Declared reader and writer options through the real binary: unknown keys and bad values
/// are usage errors (exit 2) that name the key and list the known ones, and known ones reach
/// the reader or writer.
@Suite struct FormatOptionsCLITests {
    static let safetensorsSource = Fixtures.url("safetensors/valid/dtype_f32.safetensors")

    func entries(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    @Test func unknownReadOptionExitsTwoListingTheReadersOptions() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", out.path, "--read-option", "src-language=en"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("the fairseq reader has no option 'src-language'"))
        for known in ["checkpoint=<file>", "src-lang=<lang>", "tgt-lang=<lang>", "layout=fsmt|fairseq", "config.<key>=<json>"] {
            #expect(r.stderr.contains(known), "\(known) missing from: \(r.stderr)")
        }
        #expect(try entries(dir).isEmpty)
    }

    @Test func readOptionOfAReaderWithoutOptionsExitsTwo() throws {
        let r = try CLI.run(["inspect", Self.safetensorsSource.path, "--read-option", "names=variables"])
        #expect(r.status == 2)
        #expect(r.stderr == "porter: error: the safetensors reader has no option 'names' (--read-option); it takes no read options; see `porter formats`\n")
        #expect(r.stdout.isEmpty)
    }

    @Test func badReadOptionValueExitsTwo() throws {
        let r = try CLI.run(["inspect", Fixtures.url("tensorflow/hf_tf_bert/ckpt").path, "--read-option", "names=paths"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("names='paths' is not valid: expected one of objects, variables"))
    }

    @Test func knownReadOptionReachesTheReader() throws {
        let ckpt = Fixtures.url("tensorflow/hf_tf_bert/ckpt").path
        let objects = try CLI.run(["inspect", ckpt, "--json"])
        let variables = try CLI.run(["inspect", ckpt, "--json", "--read-option", "names=variables"])
        #expect(objects.status == 0 && variables.status == 0, "\(variables.stderr)")
        // TensorFlow variable names end in ':0'; object paths do not.
        #expect(!objects.stdout.contains(":0\""))
        #expect(variables.stdout.contains("tf_bert_model/bert/encoder/layer_._0/"))
    }

    @Test func unknownWriteOptionExitsTwoAndWritesNothing() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        let out = dir.appendingPathComponent("m.safetensors")
        let r = try CLI.run(["convert", Self.safetensorsSource.path, "--to", "safetensors", "-o", out.path, "--write-option", "compression=zstd"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the safetensors writer has no option 'compression' (--write-option); it takes: max-shard-size=<size>, metadata.<key>=<text>"))
        #expect(try entries(dir).isEmpty)
        let pt = try CLI.run(["convert", Self.safetensorsSource.path, "--to", "pytorch", "-o", dir.appendingPathComponent("m.pt").path,
                              "--write-option", "metadata.license=mit"])
        #expect(pt.status == 2)
        #expect(pt.stderr.contains("the pytorch writer has no option 'metadata.license' (--write-option); it takes no write options"))
        #expect(try entries(dir).isEmpty)
    }

    @Test func writeOptionWithoutEqualsIsAUsageError() throws {
        let r = try CLI.run(["convert", Self.safetensorsSource.path, "--to", "safetensors", "-o", "/tmp/never", "--write-option", "license"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--write-option takes KEY=VALUE, got 'license'"))
    }

    @Test func maxShardSizeIsRefusedByWritersThatCannotShard() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        let r = try CLI.run(["convert", Self.safetensorsSource.path, "--to", "keras-h5", "-o", dir.appendingPathComponent("m.h5").path,
                             "--max-shard-size", "1KB"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the keras-h5 writer has no option 'max-shard-size' (--max-shard-size)"))
        #expect(try entries(dir).isEmpty)
    }

    @Test func knownWriteOptionReachesTheWriter() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        let out = dir.appendingPathComponent("m.safetensors")
        let r = try CLI.run(["convert", Self.safetensorsSource.path, "--to", "safetensors", "-o", out.path,
                             "--write-option", "metadata.license=mit", "--write-option", "metadata.note=a=b"])
        #expect(r.status == 0, "\(r.stderr)")
        let model = try SafetensorsReader().read(out)
        #expect(model.metadata["license"] == "mit")
        #expect(model.metadata["note"] == "a=b")  // only the first '=' splits
    }

    @Test func maxShardSizeAsWriteOptionShards() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        let out = dir.appendingPathComponent("sharded")
        let source = Fixtures.url("safetensors/hf/bert/model.safetensors")
        let r = try CLI.run(["convert", source.path, "--to", "safetensors", "-o", out.path, "--write-option", "max-shard-size=64B"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try entries(out).contains("model.safetensors.index.json"))
        let bad = try CLI.run(["convert", source.path, "--to", "safetensors", "-o", dir.appendingPathComponent("x").path,
                               "--write-option", "max-shard-size=big"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("max-shard-size='big' is not valid: expected a size like 500MB"))
    }

    @Test func formatsJSONListsEveryFormatsOptions() throws {
        let r = try CLI.run(["formats", "--json"])
        #expect(r.status == 0)
        let json = try JSONValue.parse(Data(r.stdout.utf8))
        func format(_ group: String, _ id: String) -> JSONValue? {
            json[group]?.arrayValue?.first { $0["id"]?.stringValue == id }
        }
        let fairseq = try #require(format("readers", "fairseq"))
        let keys = fairseq["options"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []
        #expect(keys == ["checkpoint", "src-lang", "tgt-lang", "bpecodes", "do-lower-case", "config.", "layout", "mapping"])
        let names = try #require(format("readers", "tensorflow-checkpoint")?["options"]?.arrayValue?.first)
        #expect(names["choices"] == .array(["objects", "variables"]))
        #expect(names["default"] == .string("objects"))
        #expect(format("writers", "pytorch")?["options"] == .array([]))
        let st = format("writers", "safetensors")?["options"]?.arrayValue?.compactMap { $0["key"]?.stringValue }
        #expect(st == ["max-shard-size", "metadata."])
    }

    @Test func fairseqFlagsAreAliasesOfItsReadOptions() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        // Both spellings reach the reader: a language with no dictionary fails the same way.
        let flag = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("a").path, "--tgt-lang", "de"])
        let option = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("b").path, "--read-option", "tgt-lang=de"])
        #expect(flag.status == 1 && option.status == 1)
        #expect(flag.stderr.contains("dict.de.txt"), "\(flag.stderr)")
        #expect(flag.stderr == option.stderr)
        let joined = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("c").path, "--tgt-lang=de"])
        #expect(joined.status == 1 && joined.stderr == option.stderr.replacingOccurrences(of: "/b", with: "/c"), "\(joined.stderr)")
    }

    @Test("format-declared flags come from the formats: listed, and only on commands that read")
    func declaredFlags() throws {
        let listing = try CLI.run(["formats", "--json"])
        let json = try JSONValue.parse(Data(listing.stdout.utf8))
        let fairseq = json["readers"]?.arrayValue?.first { $0["id"]?.stringValue == "fairseq" }
        let flags = fairseq?["options"]?.arrayValue?.filter { $0["flag"]?.boolValue == true }.compactMap { $0["key"]?.stringValue }
        #expect(flags == ["checkpoint", "src-lang", "tgt-lang"])
        let text = try CLI.run(["formats"])
        #expect(text.stdout.contains("(also --checkpoint)"))
        // `scan` takes no reader settings: the flag is unknown there, a usage error.
        let scan = try CLI.run(["scan", Fixtures.url("pytorch/tied.pt").path, "--tgt-lang", "de"])
        #expect(scan.status == 2, "\(scan.stderr)")
    }
}

/// An installed `porter` (the binary alone, copied elsewhere) still has its mappings:
/// they are compiled in, so a fairseq folder converts with the source tree out of reach.
@Suite struct InstalledBinaryTests {
    func run(_ binary: URL, _ arguments: [String], cwd: URL, environment: [String: String]) throws -> CLIRun {
        try CLI.run(arguments, in: cwd, binary: binary, environment: environment)
    }

    @Test func copiedBinaryConvertsAFairseqFolderFromElsewhere() throws {
        let fm = FileManager.default
        let dir = try Fixtures.scratchDirectory("porter-installed")
        defer { try? fm.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin/porter")
        try fm.createDirectory(at: bin.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(at: CLI.executable, to: bin)
        let model = dir.appendingPathComponent("wmt-en-ru")
        try fm.copyItem(at: Fixtures.url("fairseq/separate"), to: model)
        // No PORTER_MAPPINGS, cwd outside the repository: only compiled-in mappings can serve.
        var env = ProcessInfo.processInfo.environment
        env["PORTER_MAPPINGS"] = nil
        let tmp = URL(fileURLWithPath: "/tmp")
        #expect(!fm.fileExists(atPath: "/tmp/mappings"))
        let out = dir.appendingPathComponent("fsmt")
        let r = try run(bin, ["convert", model.path, "--to", "hf", "-o", out.path], cwd: tmp, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try fm.contentsOfDirectory(atPath: out.path).sorted()
                == ["README.md", "config.json", "merges.txt", "model.safetensors", "tokenizer_config.json", "vocab-src.json", "vocab-tgt.json"])
        // Every shipped mapping is listed from the binary alone.
        let listing = try run(bin, ["mappings"], cwd: tmp, environment: env)
        #expect(listing.status == 0)
        for name in ["fairseq-to-fsmt", "hf-tf-to-pt", "tf1-bert-to-hf-bert"] { #expect(listing.stdout.contains("  \(name) ")) }
    }

    @Test func userMappingFolderWinsOverTheBuiltInOne() throws {
        let fm = FileManager.default
        let dir = try Fixtures.scratchDirectory("porter-installed")
        defer { try? fm.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("my-mappings")
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        // A broken fairseq-to-fsmt.json in $PORTER_MAPPINGS is the one used, and its error names it.
        try Data("{\"format\": \"porter-mapping/1\"}".utf8).write(to: folder.appendingPathComponent("fairseq-to-fsmt.json"))
        var env = ProcessInfo.processInfo.environment
        env["PORTER_MAPPINGS"] = folder.path
        let r = try run(CLI.executable, ["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", dir.appendingPathComponent("o").path],
                        cwd: URL(fileURLWithPath: "/tmp"), environment: env)
        #expect(r.status == 1)
        #expect(r.stderr.contains(folder.appendingPathComponent("fairseq-to-fsmt.json").path), "\(r.stderr)")
    }
}
