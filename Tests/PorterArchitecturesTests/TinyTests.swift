import Foundation
import PorterArchitectures
import PorterCore
import PorterHuggingFace
import PorterPipeline
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import PorterVerifier
import Testing

@Suite("porter tiny")
struct TinyTests {
    let source = Fixtures.url("tiny/bert_src")

    func tiny(_ sizes: TinySizes = .init(), seed: UInt64 = 0, label: String = "tiny") throws -> (URL, TinyResult) {
        let out = try Fixtures.scratchDirectory("porter-tiny").appendingPathComponent(label)
        return (out, try Pipeline().tiny(TinyJob(source: source, output: out, sizes: sizes, seed: seed)))
    }

    @Test("the committed BERT folder shrinks to a 2-layer model with the descriptor's shapes and the same tokenizer")
    func shrinksBert() throws {
        let (out, result) = try tiny()
        let (_, model) = try Pipeline().read(out)
        let d = BERTDescriptor()
        let config = try d.decode(model.config)
        #expect(config.numHiddenLayers == 2 && config.hiddenSize == 32 && config.numAttentionHeads == 4 && config.intermediateSize == 128)
        #expect(config.vocabSize == 60)  // kept: the tokenizer is the source's
        let expected = try d.expectedTensors(config: model.config, prefix: "bert.")
        let shapes = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0.shape) })
        let source = try Pipeline().read(self.source).1
        // Every source tensor of layers 0–1 and outside the layers is there, none of layer 2.
        let kept = source.tensors.names.filter { !$0.contains(".layer.2.") }
        #expect(model.tensors.names.sorted() == kept.sorted())
        #expect(result.leftOut.count == 16 && result.leftOut.allSatisfy { $0.contains(".layer.2.") })
        for e in model.tensors {
            #expect(e.tensor.shape.dims == shapes[e.name], "\(e.name)")
            #expect(e.tensor.dtype == source.tensors[e.name]?.tensor.dtype)
        }
        for file in ["vocab.txt", "tokenizer.json", "tokenizer_config.json"] {
            #expect(try Data(contentsOf: out.appendingPathComponent(file)) == Data(contentsOf: self.source.appendingPathComponent(file)), "\(file)")
        }
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(card.contains("weights are random") && card.contains("bert_src") && card.contains("seeded with 0"))
        // Untouched config keys are the source's.
        #expect(model.config["architectures"] == source.config["architectures"] && model.config["pad_token_id"] == source.config["pad_token_id"])
    }

    @Test("the tiny model verifies against itself (weights and forward) and runs in Porter's runtime")
    func verifiesAndRuns() throws {
        let (out, _) = try tiny(TinySizes(layers: 2, hidden: 8, heads: 2, intermediate: 16), seed: 3)
        let (_, model) = try Pipeline().read(out)
        let report = Verifier().verify(source: model, converted: model)
        #expect(report.passed, "\(report.failures)")
        #expect(report.weights.checked == model.tensors.names.count)
        #expect(report.forward.status == .passed)
        #expect(report.tolerance.from == "descriptor:bert")
        let graph = try ArchitectureRegistry.standard.buildGraph(config: model.config, tensorNames: Set(model.tensors.names))
        let ids: [Int64] = [2, 6, 8, 10, 3]
        let r = try GraphExecutor(graph: graph, weights: model.tensors).run([
            "input_ids": HostTensor(shape: [1, 5], int64s: ids), "attention_mask": HostTensor(shape: [1, 5], int64s: [1, 1, 1, 1, 1]),
            "token_type_ids": HostTensor(shape: [1, 5], int64s: [0, 0, 0, 0, 0]),
        ])
        let h = try #require(r.outputs["last_hidden_state"])
        #expect(h.shape == [1, 5, 8])
        #expect(try #require(h.floats).allSatisfy(\.isFinite))
    }

    /// check_tiny.py ran `porter tiny --layers 2 --hidden 8 --heads 2 --intermediate 16 --seed 7`
    /// on the same folder and recorded transformers' outputs of the result.
    @Test("Porter's forward of the tiny model equals transformers' on the same tiny model")
    func matchesTransformers() throws {
        let facts = try #require(try Fixtures.json("tiny/generator.json")["facts"]?["porter_tiny_check"])
        #expect(facts["passed"] == true)
        let (out, _) = try tiny(TinySizes(layers: 2, hidden: 8, heads: 2, intermediate: 16), seed: 7)
        let report = try Pipeline().verify(source: out, converted: out,
                                           request: VerifyRequest(reference: Fixtures.url("tiny/bert_tiny_reference.safetensors")))
        #expect(report.passed, "\(report.failures)")
        let reference = try #require(report.reference)
        #expect(reference.status == .passed)
        #expect(reference.outputs.map(\.name) == ["last_hidden_state"])
        #expect(try #require(reference.outputs.first).metrics.maxAbs < 1e-5)
    }

    @Test("the same seed gives the same bytes, another seed other weights")
    func seeded() throws {
        let (a, _) = try tiny(seed: 5, label: "a")
        let (b, _) = try tiny(seed: 5, label: "b")
        let (c, _) = try tiny(seed: 6, label: "c")
        let wa = try Data(contentsOf: a.appendingPathComponent("model.safetensors"))
        #expect(wa == (try Data(contentsOf: b.appendingPathComponent("model.safetensors"))))
        #expect(wa != (try Data(contentsOf: c.appendingPathComponent("model.safetensors"))))
    }

    func folder(config: String?, label: String) throws -> URL {
        let dir = try Fixtures.scratchDirectory("porter-tiny-bad").appendingPathComponent(label)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"), to: dir.appendingPathComponent("model.safetensors"))
        if let config { try Data(config.utf8).write(to: dir.appendingPathComponent("config.json")) }
        return dir
    }

    @Test("unknown or malformed input is a typed error and leaves nothing on disk")
    func badInput() throws {
        let scratch = try Fixtures.scratchDirectory("porter-tiny-out")
        func attempt(_ src: URL, _ sizes: TinySizes = .init()) -> (any Error)? {
            let out = scratch.appendingPathComponent(UUID().uuidString)
            defer { #expect(!FileManager.default.fileExists(atPath: out.path), "output left behind for \(src.lastPathComponent)") }
            do { _ = try Pipeline().tiny(TinyJob(source: src, output: out, sizes: sizes)); return nil } catch { return error }
        }
        let t5 = try folder(config: #"{"model_type": "t5", "d_model": 8}"#, label: "t5")
        let e1 = attempt(t5)
        guard case .unknownArchitecture(_, "t5", _, let known)? = e1 as? TinyError else { Issue.record("got \(String(describing: e1))"); return }
        #expect(known.contains("bert"))
        #expect(e1?.localizedDescription.contains("t5") == true)
        #expect(attempt(try folder(config: nil, label: "noconfig")) is TinyError)
        #expect(attempt(try folder(config: "{not json", label: "garbage")) != nil)
        #expect(attempt(try folder(config: #"{"model_type": "bert", "hidden_size": "big", "num_hidden_layers": 1, "num_attention_heads": 2}"#, label: "mistyped"))
            as? ArchitectureError == .badConfig(model: "bert", key: "hidden_size", detail: "is not an integer"))
        // The config says GPT-2 but the weights are BERT's: no template for them.
        let wrong = try folder(config: #"{"model_type": "gpt2", "n_embd": 16, "n_layer": 3, "n_head": 2, "vocab_size": 60}"#, label: "wrong")
        #expect(attempt(wrong) is TinyError)
        // The config's intermediate size disagrees with the weights: the templates do not describe them.
        var config = try #require(try Fixtures.json("tiny/bert_src/config.json").objectValue)
        config["intermediate_size"] = 40
        let lying = try folder(config: String(decoding: try JSONValue.object(config).encoded(), as: UTF8.self), label: "lying")
        let e = attempt(lying)
        guard case let .shapeMismatch(_, name, found, expected)? = e as? TinyError else { Issue.record("got \(String(describing: e))"); return }
        #expect(name.contains("intermediate.dense") || name.contains("output.dense"), "\(name)")
        #expect(found.contains(37) && expected.contains(40))
        #expect(attempt(source, TinySizes(hidden: 30, heads: 4)) as? ArchitectureError == .badTinyRequest("--heads 4 does not divide --hidden 30"))
        #expect(attempt(source.appendingPathComponent("config.json")) is TinyError)
        guard case .tooLarge? = attempt(source, TinySizes(layers: 1000, hidden: 4096, heads: 32)) as? TinyError else { Issue.record("no size limit"); return }
        guard case .tooLarge? = attempt(source, TinySizes(hidden: 1 << 24, heads: 1)) as? TinyError else { Issue.record("no element limit"); return }
        #expect(attempt(source, TinySizes(hidden: Int.max, heads: 1)) as? ArchitectureError == .badTinyRequest("--hidden \(Int.max) is more than 16777216"))
    }

    @Test("existing output is kept unless force")
    func existingOutput() throws {
        let (out, _) = try tiny(label: "exists")
        #expect(throws: CoreError.self) { _ = try Pipeline().tiny(TinyJob(source: source, output: out)) }
        _ = try Pipeline().tiny(TinyJob(source: source, output: out, sizes: TinySizes(layers: 1), force: true))
        #expect(try BERTDescriptor().decode(try Fixtures.json("tiny/bert_src/config.json")).numHiddenLayers == 3)
        let config = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("config.json")))
        #expect(config["num_hidden_layers"] == 1)
    }
}

@Suite("porter tiny: tied tensors")
struct TinyTieTests {
    /// A BertForMaskedLM folder that stores the tied decoder weight and bias (as transformers 4
    /// checkpoints do), from the committed fixture.
    func folderWithTiedHead(tie: Bool?) throws -> URL {
        var (_, model) = try Pipeline().read(Fixtures.url("tiny/bert_src"))
        let words = try #require(model.tensors["bert.embeddings.word_embeddings.weight"])
        let bias = try #require(model.tensors["cls.predictions.bias"])
        try model.tensors.add(TensorEntry(name: "cls.predictions.decoder.weight", tensor: words.tensor, provenance: words.provenance))
        try model.tensors.add(TensorEntry(name: "cls.predictions.decoder.bias", tensor: bias.tensor, provenance: bias.provenance))
        if let tie, var o = model.config.objectValue { o["tie_word_embeddings"] = .bool(tie); model.config = .object(o) }
        let dir = try Fixtures.scratchDirectory("porter-tiny-tied").appendingPathComponent("src")
        try HuggingFaceWriter().write(model, to: dir, options: WriteOptions())
        return dir
    }

    @Test("tied tensors stay tied (same values) in the tiny copy; an untied config unties the weight only")
    func tiesKept() throws {
        for tie in [nil, false] as [Bool?] {
            let src = try folderWithTiedHead(tie: tie)
            let out = src.deletingLastPathComponent().appendingPathComponent("tiny-\(String(describing: tie))")
            _ = try Pipeline().tiny(TinyJob(source: src, output: out))
            let (_, tiny) = try Pipeline().read(out)
            func values(_ n: String) throws -> [Float] { try #require(tiny.tensors[n]).tensor.floatValues() }
            #expect(try values("cls.predictions.decoder.bias") == values("cls.predictions.bias"))
            let tiedWeight = try values("cls.predictions.decoder.weight") == values("bert.embeddings.word_embeddings.weight")
            #expect(tiedWeight == (tie != false), "tie_word_embeddings \(String(describing: tie))")
        }
    }
}
