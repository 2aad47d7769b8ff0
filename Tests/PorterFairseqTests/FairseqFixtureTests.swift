import Foundation
import Testing
import PorterCore
import PorterHuggingFace
import PorterTestSupport
@testable import PorterFairseq

/// Porter's port of checkpoints that fairseq itself trained (fixtures/fairseq, made by
/// fixtures/generate/gen_fairseq.py), compared with what torch and fairseq recorded.
@Suite struct FairseqFixtureTests {
    static let variants = ["separate", "joined", "old-layout"]

    static func reader() -> FairseqReader {
        FairseqReader(mappingSearchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")], porterVersion: "test")
    }

    static func port(_ variant: String, extra: [String: String] = [:]) throws -> FSMTPort {
        try reader().port(Fixtures.url("fairseq/\(variant)"), options: ReadOptions(extra: extra))
    }

    @Test(arguments: variants)
    func everyConvertedTensorMatchesFairseqAfterTheDocumentedMapping(variant: String) throws {
        let expected = try #require(Fixtures.json("fairseq/\(variant)/expected.json")["fsmt_tensors"]?.objectValue)
        let port = try Self.port(variant)
        #expect(Set(port.model.tensors.names) == Set(expected.keys))
        for entry in port.model.tensors {
            let want = try #require(expected[entry.name], "unexpected tensor \(entry.name)")
            #expect(entry.tensor.dtype.rawValue == want["dtype"]?.stringValue, "\(entry.name)")
            #expect(entry.tensor.shape.dims == want["shape"]?.arrayValue?.compactMap(\.intValue), "\(entry.name)")
            #expect(try tensorDigest(entry.tensor) == want["sha256"]?.stringValue, "\(entry.name)")
        }
    }

    @Test(arguments: variants)
    func rawLayoutListsTheCheckpointAsTorchSawIt(variant: String) throws {
        let expected = try Fixtures.json("fairseq/\(variant)/expected.json")
        let source = try #require(expected["source_tensors"]?.objectValue)
        let model = try Self.reader().read(Fixtures.url("fairseq/\(variant)/model.pt"), options: ReadOptions(extra: ["layout": "fairseq"]))
        #expect(model.tensors.names.count == source.count)
        for entry in model.tensors {
            let want = try #require(source[entry.name])
            #expect(try tensorDigest(entry.tensor) == want["sha256"]?.stringValue, "\(entry.name)")
        }
        // Shared storages stay shared.
        let aliases = model.tensors.aliases()
        for group in expected["shared_source_tensors"]?.arrayValue ?? [] {
            let names = group.arrayValue?.compactMap(\.stringValue) ?? []
            let roots = Set(names.map { aliases[$0] ?? $0 })
            #expect(roots.count == 1, "\(names) should share one storage")
        }
        // Training state: every other top-level entry, with the tensor bytes torch counted.
        let training = try #require(expected["training_state_bytes"]?.objectValue)
        #expect(Set(model.dropped.map(\.name)) == Set(training.keys))
        for d in model.dropped { #expect(d.byteCount == training[d.name]?.intValue, "\(d.name)") }
        #expect(model.config[expected["config_origin"]?.stringValue == "args" ? "args" : "cfg"] != nil)
    }

    @Test(arguments: variants)
    func configCarriesFairseqSettings(variant: String) throws {
        let expected = try Fixtures.json("fairseq/\(variant)/expected.json")
        let args = try #require(expected["model_args"]?.objectValue)
        let facts = try #require(Fixtures.json("fairseq/generator.json")["facts"]?[variant])
        let c = try Self.port(variant).model.config
        #expect(c["model_type"] == "fsmt")
        #expect(c["architectures"] == ["FSMTForConditionalGeneration"])
        #expect(c["langs"] == ["en", "ru"])
        #expect(c["src_vocab_size"]?.intValue == facts["src_dict_len"]?.intValue)
        #expect(c["tgt_vocab_size"]?.intValue == facts["tgt_dict_len"]?.intValue)
        #expect(c["d_model"] == args["encoder_embed_dim"])
        for (fsmt, fairseq) in [("encoder_layers", "encoder_layers"), ("decoder_layers", "decoder_layers"),
                                ("encoder_attention_heads", "encoder_attention_heads"), ("decoder_attention_heads", "decoder_attention_heads"),
                                ("encoder_ffn_dim", "encoder_ffn_embed_dim"), ("decoder_ffn_dim", "decoder_ffn_embed_dim"),
                                ("max_position_embeddings", "max_source_positions"), ("activation_function", "activation_fn")] {
            #expect(c[fsmt] == args[fairseq], "\(fsmt)")
        }
        for key in ["dropout", "attention_dropout", "activation_dropout"] {
            #expect(c[key]?.doubleValue == args[key]?.doubleValue, "\(key)")
        }
        #expect(c["scale_embedding"]?.boolValue == !(args["no_scale_embedding"]?.boolValue ?? true))
        #expect(c["tie_word_embeddings"]?.boolValue == args["share_all_embeddings"]?.boolValue)
        #expect(c["bos_token_id"] == 0 && c["pad_token_id"] == 1 && c["eos_token_id"] == 2 && c["decoder_start_token_id"] == 2)
        #expect(c["num_beams"] == 5 && c["early_stopping"] == true && c["length_penalty"]?.doubleValue == 1.0)
    }

    /// Beam settings come from the checkpoint (`cfg.generation` or `args`), options win.
    @Test func generationSettingsComeFromTheCheckpoint() throws {
        let model: [String: JSONValue] = ["encoder_embed_dim": 8, "decoder_embed_dim": 8]
        let newer = try FairseqModelArgs(checkpoint: ["cfg": ["model": .object(model), "generation": ["beam": 4, "lenpen": 0.6, "max_len_a": 0, "max_len_b": 50]]], file: "x.pt")
        let settings = try FSMTConfigBuilder.generationSettings(newer, file: "x.pt")
        #expect(settings == ["num_beams": 4, "length_penalty": .double(0.6), "max_length": 50])
        // Older checkpoints keep them in args; None means "not set"; a proportional limit has no FSMT key.
        var fields = model
        fields["beam"] = 2; fields["lenpen"] = .null; fields["max_len_a"] = 1.2; fields["max_len_b"] = 10
        let older = try FairseqModelArgs(checkpoint: ["args": .object(fields)], file: "x.pt")
        #expect(try FSMTConfigBuilder.generationSettings(older, file: "x.pt") == ["num_beams": 2])
        fields["beam"] = 0.5
        #expect(throws: FairseqError.self) { try FSMTConfigBuilder.generationSettings(FairseqModelArgs(checkpoint: ["args": .object(fields)], file: "x.pt"), file: "x.pt") }
        // The fixtures trained with fairseq's defaults record them in cfg.generation.
        let c = try Self.port("separate").model.config
        #expect(c["num_beams"] == 5 && c["max_length"] == 200 && c["length_penalty"]?.doubleValue == 1)
    }

    @Test func optionsOverrideConfigAndLanguages() throws {
        let c = try Self.port("separate", extra: ["config.num_beams": "2", "config.length_penalty": "0.6", "src-lang": "en", "tgt-lang": "ru"]).model.config
        #expect(c["num_beams"] == 2)
        #expect(c["length_penalty"]?.doubleValue == 0.6)
        // A language with no dictionary in the folder names the file it wanted.
        #expect(throws: FairseqError.self) { try Self.port("separate", extra: ["tgt-lang": "de"]) }
        do {
            _ = try Self.port("separate", extra: ["tgt-lang": "de"])
        } catch let FairseqError.missingFile(_, wanted, _) {
            #expect(wanted == "dict.de.txt")
        }
    }

    @Test(arguments: variants)
    func dictionariesEncodeAsFairseqDid(variant: String) throws {
        let refs = try #require(Fixtures.json("fairseq/\(variant)/reference.json")["encode"]?.arrayValue)
        let en = try FairseqDictionary(contentsOf: Fixtures.url("fairseq/\(variant)/dict.en.txt"))
        let ru = try FairseqDictionary(contentsOf: Fixtures.url("fairseq/\(variant)/dict.ru.txt"))
        #expect(refs.count == 5)
        for r in refs {
            let d = r["lang"]?.stringValue == "en" ? en : ru
            let bpe = try #require(r["bpe"]?.stringValue)
            #expect(d.encode(bpe) == r["ids"]?.arrayValue?.compactMap(\.intValue), "\(bpe)")
        }
    }

    @Test(arguments: variants)
    func vocabularyKeepsFairseqIds(variant: String) throws {
        let port = try Self.port(variant)
        for (fileName, dict) in [("vocab-src.json", port.sourceDictionary), ("vocab-tgt.json", port.targetDictionary)] {
            let asset = try #require(port.model.assets.first { $0.fileName == fileName })
            let vocab = try #require(JSONValue.parse(Data(asset.bytes)).objectValue)
            #expect(vocab.count == dict.count)
            for (i, symbol) in dict.symbols.enumerated() {
                let key = FairseqDictionary.specialSymbols.contains(symbol) ? symbol
                    : symbol.hasSuffix("@@") ? String(symbol.dropLast(2)) : symbol + "</w>"
                #expect(vocab[key]?.intValue == i, "\(symbol)")
            }
        }
    }

    @Test func mergesAreBPECodesWithoutCounts() throws {
        let port = try Self.port("separate")
        let merges = String(decoding: try #require(port.model.assets.first { $0.fileName == "merges.txt" }).bytes, as: UTF8.self)
        let codes = try String(contentsOf: Fixtures.url("fairseq/separate/bpecodes"), encoding: .utf8)
        let want = codes.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") + "\n" }.joined()
        #expect(merges == want)
        #expect(merges.split(separator: "\n").count == 20)
    }

    @Test(arguments: variants)
    func trainingStateIsDroppedAndCounted(variant: String) throws {
        let facts = try #require(Fixtures.json("fairseq/generator.json")["facts"]?[variant])
        let training = try #require(facts["training_state_bytes"]?.objectValue)
        let port = try Self.port(variant)
        let total = training.values.compactMap(\.intValue).reduce(0, +)
        #expect(port.trainingStateBytes == total)
        #expect(total > 100_000)  // Adam's two moments of every weight
        #expect(port.checkpointFileBytes == facts["model_pt_bytes"]?.intValue)
        let dropped = Set(port.model.dropped.map(\.name))
        #expect(dropped.isSuperset(of: ["last_optimizer_state", "encoder.version", "decoder.version"]))
        // fairseq 0.12 no longer saves embed_positions._float_tensor; when a file has it, the mapping drops it.
        let source = try Fixtures.json("fairseq/\(variant)/expected.json")["source_tensors"]?.objectValue ?? [:]
        for name in source.keys where name.hasSuffix("_float_tensor") { #expect(dropped.contains(name)) }
        let card = String(decoding: try #require(port.model.assets.first { $0.fileName == "README.md" }).bytes, as: UTF8.self)
        #expect(card.contains("Training state dropped: \(total) bytes"))
        #expect(card.contains("last_optimizer_state"))
    }

    @Test func sharedEmbeddingsFollowFSMTTying() throws {
        // Separate dictionaries: FSMT ties nothing, so the output projection is stored on its own.
        let separate = try Self.port("separate").model.tensors
        #expect(separate.aliases().isEmpty)
        // Joined + share_all_embeddings: one stored tensor, decoder.embed_tokens first (the one FSMT ties to).
        let joined = try Self.port("joined").model.tensors
        #expect(joined.names.first == "model.decoder.embed_tokens.weight")
        let aliases = joined.aliases()
        #expect(aliases["model.encoder.embed_tokens.weight"] == "model.decoder.embed_tokens.weight")
        #expect(aliases["model.decoder.output_projection.weight"] == "model.decoder.embed_tokens.weight")
        // Old layout: no stored output projection; the mapping's tie supplies it.
        let old = try Self.port("old-layout")
        #expect(old.accounting.produced.contains { $0.target == "model.decoder.output_projection.weight" && $0.sources == ["model.decoder.embed_tokens.weight"] })
    }

    @Test func dictionaryShorterThanEmbeddingIsPaddedWithMadeUpWords() throws {
        // fairseq-preprocess wrote madeupword0000… to pad the dictionary to a multiple of 8; remove them and
        // the port must add them back at the same ids.
        let folder = try Fixtures.scratchDirectory("fairseq-padding")
        defer { try? FileManager.default.removeItem(at: folder) }
        for f in ["model.pt", "bpecodes", "dict.en.txt"] {
            try FileManager.default.copyItem(at: Fixtures.url("fairseq/separate/\(f)"), to: folder.appendingPathComponent(f))
        }
        let ru = try String(contentsOf: Fixtures.url("fairseq/separate/dict.ru.txt"), encoding: .utf8)
        let trimmed = ru.split(separator: "\n").filter { !$0.hasPrefix("madeupword") }
        #expect(trimmed.count < ru.split(separator: "\n").count)
        try (trimmed.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("dict.ru.txt"), atomically: true, encoding: .utf8)
        let padded = try Self.reader().port(folder)
        let original = try Self.port("separate")
        #expect(padded.targetDictionary.symbols == original.targetDictionary.symbols)
        #expect(padded.targetDictionary.paddingSymbolCount == ru.split(separator: "\n").count - trimmed.count)
        #expect(padded.model.notes.contains { $0.contains("madeupword") })
        #expect(padded.model.assets.first { $0.fileName == "vocab-tgt.json" }?.bytes == original.model.assets.first { $0.fileName == "vocab-tgt.json" }?.bytes)
    }

    @Test func malformedDictionaryInAFolderNamesTheLine() throws {
        let folder = try Fixtures.scratchDirectory("fairseq-bad-dict")
        defer { try? FileManager.default.removeItem(at: folder) }
        for f in ["model.pt", "bpecodes", "dict.ru.txt"] {
            try FileManager.default.copyItem(at: Fixtures.url("fairseq/separate/\(f)"), to: folder.appendingPathComponent(f))
        }
        var lines = try String(contentsOf: Fixtures.url("fairseq/separate/dict.en.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        lines.insert(lines[2], at: 9)  // a duplicate at line 10
        try (lines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("dict.en.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try Self.reader().port(folder)
            Issue.record("a duplicate token must fail")
        } catch let FairseqError.duplicateToken(file, line, token, firstIndex) {
            #expect(file.hasSuffix("dict.en.txt"))
            #expect(line == 10)
            #expect(token == lines[2].split(separator: " ").first.map(String.init))
            #expect(firstIndex == 6)
        }
    }

    @Test func checkpointWithoutModelIsATypedError() throws {
        let url = Fixtures.url("fairseq/malformed/no-model.pt")
        #expect(throws: FairseqError.missingKey(file: url.path, keyPath: "model")) { try FairseqCheckpoint.load(url) }
        let message = FairseqError.missingKey(file: url.path, keyPath: "model").localizedDescription
        #expect(message.contains("no-model.pt") && message.contains("'model'"))
    }

    /// check_fairseq_port.py loaded Porter's folders with transformers at generation time; its facts must be
    /// about the checkpoints committed now and must say the port matched fairseq.
    @Test(arguments: variants)
    func transformersMatchedFairseqAtGenerationTime(variant: String) throws {
        let check = try #require(Fixtures.json("fairseq/generator.json")["facts"]?["transformers_check"]?[variant],
                                 "run fixtures/generate/check_fairseq_port.py")
        let data = try Data(contentsOf: Fixtures.url("fairseq/\(variant)/model.pt"))
        let digest = data.withUnsafeBytes { SHA256.hex($0) }
        #expect(check["model_pt_sha256"]?.stringValue == digest, "facts are about another checkpoint: rerun the check")
        #expect(try #require(check["logits_max_abs_diff"]?.doubleValue) <= 1e-5)
        #expect(try #require(check["encoder_out_max_abs_diff"]?.doubleValue) <= 1e-5)
        #expect(check["tokenizer_ids_equal_fairseq"] == true)
        #expect(check["sentences"] == 5)
    }

    @Test func probeRecognisesTheFolder() throws {
        let reader = Self.reader()
        #expect(reader.probe(try ProbeInput.load(Fixtures.url("fairseq/separate"))) == .certain)
        #expect(reader.probe(try ProbeInput.load(Fixtures.url("fairseq/separate/model.pt"))) == .likely)
        #expect(reader.probe(try ProbeInput.load(Fixtures.url("fairseq/separate/bpecodes"))) == .no)
        #expect(reader.probe(try ProbeInput.load(Fixtures.url("fairseq"))) == .no)
    }

    /// Writes the Hugging Face folders Porter makes from each fixture to
    /// `$PORTER_WRITE_CHECK_DIR/<variant>`, for fixtures/generate/check_fairseq_port.py.
    @Test(arguments: variants)
    func writesFSMTFolder(variant: String) throws {
        let port = try Self.port(variant)
        let folder = try Fixtures.scratchDirectory("fairseq-hf")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent(variant)
        try HuggingFaceWriter().write(port.model, to: out, options: WriteOptions())
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        #expect(names == ["config.json", "model.safetensors", "vocab-src.json", "vocab-tgt.json", "merges.txt", "tokenizer_config.json", "README.md"])
        let config = try #require(JSONValue.parse(Data(contentsOf: out.appendingPathComponent("config.json"))).objectValue)
        let want = try #require(port.model.config.objectValue)
        #expect(Set(config.keys) == Set(want.keys))
        for (k, v) in want {
            if let d = v.doubleValue { #expect(config[k]?.doubleValue == d, "\(k)") } else { #expect(config[k] == v, "\(k)") }
        }
        // Floats stay floats in the file (transformers' strict config rejects 1 for a float field).
        let text = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(text.contains("\"length_penalty\" : 1.0"))
        if let dir = ProcessInfo.processInfo.environment["PORTER_WRITE_CHECK_DIR"], !dir.isEmpty {
            let dest = URL(fileURLWithPath: dir).appendingPathComponent(variant)
            try? FileManager.default.removeItem(at: dest)
            try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: out, to: dest)
        }
    }
}

@Suite struct ModelCardTests {
    @Test func refreshedCardRecordsCommandVerificationAndSavings() throws {
        let port = try FairseqFixtureTests.port("separate")
        let model = FSMTModelCard.refreshing(port.model, command: "porter convert fixtures/fairseq/separate --to hf -o out",
                                             verification: ["weights: 87/87 bit-exact", "reference: logits max abs 7e-7"])
        let card = String(decoding: try #require(model.assets.first { $0.fileName == "README.md" }).bytes, as: UTF8.self)
        #expect(model.assets.filter { $0.fileName == "README.md" }.count == 1)
        #expect(card.contains("porter convert fixtures/fairseq/separate --to hf -o out"))
        #expect(card.contains("- reference: logits max abs 7e-7"))
        // The same figures as the card made at read time.
        #expect(card.contains("Training state dropped: \(port.trainingStateBytes) bytes."))
        let saved = try #require(port.checkpointFileBytes) - port.weightBytes
        #expect(card.contains("(\(saved) bytes smaller)"))
        #expect(card.contains("| `last_optimizer_state` | 101376 |"))
    }
}
