import Foundation
import Testing
import PorterCore
import PorterTestSupport
import PorterSafetensors
@testable import PorterNeutralFormat

@Suite struct PorterModelFormatTests {
    let reader = PorterModelReader()
    let writer = PorterModelWriter()

    /// A model with everything the form carries: file-backed and in-memory tensors, a
    /// strided view, a tie, graph, config, metadata, assets, provenance, dropped, notes.
    func richModel() throws -> NeutralModel {
        let source = try SafetensorsReader().read(Fixtures.url("safetensors/valid/small_model.safetensors"), options: ReadOptions())
        var store = TensorStore()
        for var e in source.tensors {
            e.provenance.transforms = [.rename(from: "bert.\(e.name)", to: e.name)]
            try store.add(e)
        }
        let emb = try #require(store["embeddings.word_embeddings.weight"])
        try store.add(TensorEntry(name: "cls.predictions.decoder.weight", tensor: emb.tensor,
                                  provenance: Provenance(sourceFile: "m.bin", sourceName: "cls.predictions.decoder.weight", transforms: [.tie(name: "cls.predictions.decoder.weight", to: "embeddings.word_embeddings.weight")])))
        let storage = TensorStorage.memory((0..<12).map { UInt8($0 * 3) }, label: "mem")
        try store.add(TensorEntry(name: "transposed", tensor: TensorRef(dtype: .u8, shape: [4, 3], storage: storage, strides: [1, 4]),
                                  provenance: Provenance(sourceFile: "m.bin", sourceName: "t", transforms: [.transpose(perm: [1, 0])])))
        let graph = Graph(inputs: [GraphValue(name: "ids", dtype: .i64, shape: [-1, -1])],
                          outputs: [GraphValue(name: "out", dtype: .f32, shape: [-1, -1, 4])],
                          nodes: [GraphNode(name: "embed", op: "gather", inputs: ["embeddings.word_embeddings.weight", "ids"], outputs: ["h"],
                                            attributes: ["axis": 0]),
                                  GraphNode(name: "norm", op: "layer_norm", inputs: ["h", "encoder.layer.0.output.LayerNorm.weight", ""],
                                            outputs: ["out"], attributes: ["epsilon": 1e-12, "axis": -1])],
                          origin: "builder:test")
        let config: JSONValue = ["model_type": "bert", "hidden_size": 4, "layer_norm_eps": 1e-12, "architectures": ["BertModel"],
                                 "nested": ["flag": true, "none": nil, "ratio": 0.25]]
        return NeutralModel(sourceFormat: "pytorch-zip", sourceFiles: ["/models/m.bin"], tensors: store, graph: graph, config: config,
                            metadata: ["format": "pt", "porter.source": "test"],
                            assets: [Asset(kind: "vocab", fileName: "vocab.txt", bytes: Array("[PAD]\n[UNK]\nhello\n".utf8)),
                                     Asset(kind: "merges", fileName: "merges.txt", bytes: Array("#version: 0.2\nh e\n".utf8))],
                            dropped: [DroppedTensor(name: "encoder.version", reason: "fairseq version marker", byteCount: 4, sourceFile: "/models/m.bin")],
                            notes: ["graph built from config"])
    }

    func expectSame(_ a: NeutralModel, _ b: NeutralModel) throws {
        #expect(a.tensors.names == b.tensors.names)
        for (x, y) in zip(a.tensors, b.tensors) {
            #expect(x.tensor.dtype == y.tensor.dtype, "\(x.name)")
            #expect(x.tensor.shape == y.tensor.shape, "\(x.name)")
            #expect(try tensorDigest(x.tensor) == tensorDigest(y.tensor), "\(x.name)")
            #expect(x.provenance == y.provenance, "\(x.name)")
        }
        #expect(a.tensors.aliases() == b.tensors.aliases())
        #expect(a.sourceFormat == b.sourceFormat)
        #expect(a.sourceFiles == b.sourceFiles)
        #expect(a.graph == b.graph)
        #expect(a.config == b.config)
        #expect(a.metadata == b.metadata)
        #expect(a.assets == b.assets)
        #expect(a.dropped == b.dropped)
        #expect(a.notes == b.notes)
    }

    @Test(arguments: [nil, 150])
    func writeThenReadRoundTripsEverything(maxShardSize: Int?) throws {
        let model = try richModel()
        let dir = try Fixtures.scratchDirectory("porter-form")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("model.porter")
        #expect(writer.producesDirectory(for: model, options: WriteOptions(maxShardSize: maxShardSize)))
        try writer.write(model, to: out, options: WriteOptions(maxShardSize: maxShardSize))
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.contains("model.json"))
        if maxShardSize == nil {
            #expect(files.contains("weights.safetensors"))
        } else {
            #expect(files.contains("weights.safetensors.index.json"))
            #expect(files.contains("weights-00001-of-\(String(format: "%05d", files.filter { $0.hasPrefix("weights-") }.count)).safetensors"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("assets").path).sorted() == ["merges.txt", "vocab.txt"])
        #expect(reader.probe(try ProbeInput.load(out)) == .certain)
        #expect(SafetensorsReader().probe(try ProbeInput.load(out)) == .no, "the safetensors reader must not claim a Porter folder")
        let back = try reader.read(out, options: ReadOptions())
        try expectSame(model, back)
        #expect(back.tensors.aliases() == ["cls.predictions.decoder.weight": "embeddings.word_embeddings.weight"])
        // Written twice, the description is identical (deterministic output).
        let again = dir.appendingPathComponent("again")
        try writer.write(back, to: again, options: WriteOptions(maxShardSize: maxShardSize))
        #expect(try Data(contentsOf: again.appendingPathComponent("model.json")) == Data(contentsOf: out.appendingPathComponent("model.json")))
    }

    @Test(arguments: SafetensorsWriterTestsFiles.byteComparable)
    func safetensorsThroughPorterAndBackIsByteIdentical(file: String) throws {
        let source = Fixtures.url("safetensors/valid/\(file)")
        let dir = try Fixtures.scratchDirectory("porter-st")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writer.write(try SafetensorsReader().read(source, options: ReadOptions()), to: dir.appendingPathComponent("p"), options: WriteOptions())
        let viaPorter = try reader.read(dir.appendingPathComponent("p"), options: ReadOptions())
        #expect(viaPorter.sourceFormat == "safetensors")
        try SafetensorsWriter().write(viaPorter, to: dir.appendingPathComponent("out.safetensors"), options: WriteOptions())
        #expect(try Data(contentsOf: dir.appendingPathComponent("out.safetensors")) == Data(contentsOf: source))
    }

    /// Writes the rich model, lets `edit` change the folder, and returns the read error.
    func readError(_ edit: (URL) throws -> Void) throws -> PorterModelError? {
        let dir = try Fixtures.scratchDirectory("porter-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m")
        try writer.write(try richModel(), to: out, options: WriteOptions())
        try edit(out)
        return #expect(throws: PorterModelError.self) { try reader.read(out, options: ReadOptions()) }
    }

    func editJSON(_ folder: URL, _ change: (inout [String: JSONValue]) -> Void) throws {
        let url = folder.appendingPathComponent("model.json")
        var doc = try #require(try JSONValue.parse(Data(contentsOf: url)).objectValue)
        change(&doc)
        try JSONValue.object(doc).encoded().write(to: url)
    }

    @Test func newerMajorVersionIsRefused() throws {
        let error = try readError { try editJSON($0) { $0["version"] = 3 } }
        guard case .unsupportedVersion(_, 3, 2)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.localizedDescription.contains("model.json") == true)
        #expect(error?.localizedDescription.contains("version 3") == true)
    }

    @Test func otherFormatIsRefused() throws {
        let error = try readError { try editJSON($0) { $0["format"] = "something-else" } }
        #expect(error?.localizedDescription.contains("something-else") == true)
    }

    @Test func aGraphThatDoesNotFitTheOpSpecsIsDroppedWithTheReason() throws {
        var model = try richModel()
        model.graph?.nodes[1].attributes = ["epsilon": 1e-12, "axsi": -1]
        let dir = try Fixtures.scratchDirectory("porter-form-bad-graph")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("model.porter")
        try writer.write(model, to: out, options: WriteOptions())
        // The folder still loads, weights and all; the graph is dropped and the notes say why.
        let back = try reader.read(out, options: ReadOptions())
        #expect(back.graph == nil)
        #expect(back.tensors.names == model.tensors.names)
        #expect(back.notes.first == "graph built from config")
        #expect(back.notes.last == "graph in model.json dropped: node norm (layer_norm): unknown attribute 'axsi' (layer_norm takes: axis, epsilon); the model is verified at the weights level only")
    }

    @Test func tamperedAssetIsDetected() throws {
        let error = try readError { try Data("changed".utf8).write(to: $0.appendingPathComponent("assets/vocab.txt")) }
        guard case .assetDigestMismatch(_, "vocab.txt", _, _)? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func missingAssetIsDetected() throws {
        let error = try readError { try FileManager.default.removeItem(at: $0.appendingPathComponent("assets/merges.txt")) }
        guard case .missingAsset(_, "merges.txt")? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func descriptionAndWeightsMustAgree() throws {
        let renamed = try readError { try editJSON($0) { doc in
            var tensors = doc["tensors"]?.arrayValue ?? []
            if case var .object(first) = tensors[0] { first["name"] = "ghost"; tensors[0] = .object(first) }
            doc["tensors"] = .array(tensors)
        } }
        guard case .tensorMissingFromWeights(_, "ghost")? = renamed else { Issue.record("got \(String(describing: renamed))"); return }
        let retyped = try readError { try editJSON($0) { doc in
            var tensors = doc["tensors"]?.arrayValue ?? []
            if case var .object(first) = tensors[0] { first["dtype"] = "f16"; tensors[0] = .object(first) }
            doc["tensors"] = .array(tensors)
        } }
        guard case .tensorMismatch? = retyped else { Issue.record("got \(String(describing: retyped))"); return }
        let dropped = try readError { try editJSON($0) { doc in doc["tensors"] = .array(Array((doc["tensors"]?.arrayValue ?? []).dropLast())) } }
        guard case .tensorNotListed(_, "transposed")? = dropped else { Issue.record("got \(String(describing: dropped))"); return }
    }

    @Test func missingFieldNamesItsKeyPath() throws {
        let error = try readError { try editJSON($0) { doc in
            var tensors = doc["tensors"]?.arrayValue ?? []
            if case var .object(t) = tensors[1] { t.removeValue(forKey: "shape"); tensors[1] = .object(t) }
            doc["tensors"] = .array(tensors)
        } }
        guard case let .invalidModelJSON(_, keyPath, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(keyPath == "tensors[1].shape")
    }

    @Test func unsafeAssetNamesAreRefusedOnWrite() throws {
        var model = try richModel()
        model.assets.append(Asset(kind: "vocab", fileName: "../escape.txt", bytes: [1]))
        let dir = try Fixtures.scratchDirectory("porter-unsafe")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: PorterModelError.self) { try writer.write(model, to: dir.appendingPathComponent("m"), options: WriteOptions()) }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("escape.txt").path))
    }
}

enum SafetensorsWriterTestsFiles {
    /// Valid safetensors fixtures with at most one metadata key (see the safetensors writer tests).
    static var byteComparable: [String] {
        let json = (try? Fixtures.json("safetensors/expected.json")) ?? .null
        return (json["valid"]?.objectValue ?? [:]).filter { ($0.value["metadata"]?.objectValue?.count ?? 0) <= 1 }.keys.sorted()
    }
}
