import Foundation
import Testing
import PorterCore
import PorterTestSupport
import PorterSafetensors
@testable import PorterHuggingFace

@Suite struct HuggingFaceFolderTests {
    static let expected: JSONValue = (try? Fixtures.json("safetensors/expected.json"))?["hf"] ?? .null
    let reader = HuggingFaceReader()
    let writer = HuggingFaceWriter()

    /// Checks `model` against what transformers wrote and Python's safetensors read.
    func check(_ model: NeutralModel, folder: String, checkAssets: Bool = true) throws {
        let exp = try #require(Self.expected[folder])
        let tensors = try #require(exp["tensors"]?.arrayValue)
        #expect(Set(model.tensors.names) == Set(tensors.compactMap { $0["name"]?.stringValue }))
        for t in tensors {
            let name = try #require(t["name"]?.stringValue)
            let e = try #require(model.tensors[name])
            #expect(e.tensor.dtype == DType(safetensorsName: t["dtype"]?.stringValue ?? ""))
            #expect(e.tensor.shape.dims == (t["shape"]?.arrayValue ?? []).compactMap(\.intValue))
            #expect(try tensorDigest(e.tensor) == t["sha256"]?.stringValue, "\(name)")
        }
        #expect(model.config == exp["config"])
        #expect(model.metadata == (exp["metadata"]?.objectValue ?? [:]).compactMapValues(\.stringValue))
        if checkAssets {
            let assets = (exp["assets"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
            #expect(Dictionary(uniqueKeysWithValues: model.assets.map { ($0.fileName, SHA256.hex($0.bytes)) }) == assets)
        }
    }

    @Test(arguments: ["bert", "bert_sharded"])
    func readsWhatTransformersSaved(folder: String) throws {
        let url = Fixtures.url("safetensors/hf/\(folder)")
        #expect(reader.probe(try ProbeInput.load(url)) == .certain)
        #expect(SafetensorsReader().probe(try ProbeInput.load(url)) < .certain, "the plain safetensors reader defers to hf")
        let model = try reader.read(url, options: ReadOptions())
        #expect(model.sourceFormat == "hf")
        try check(model, folder: folder)
        if folder == "bert" {
            #expect(model.assets.first { $0.fileName == "tokenizer_config.json" }?.kind == "tokenizer-config")
        }
    }

    @Test(arguments: [nil, 3000])
    func writeThenReadKeepsWeightsConfigAndAssets(maxShardSize: Int?) throws {
        let source = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        let dir = try Fixtures.scratchDirectory("hf-write")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bert")
        try writer.write(source, to: out, options: WriteOptions(maxShardSize: maxShardSize))
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        if maxShardSize == nil {
            #expect(files == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"])
        } else {
            #expect(files.contains("model.safetensors.index.json"))
            #expect(files.filter { $0.hasPrefix("model-0000") }.count >= 2)
        }
        // config.json: pretty, keys sorted, same JSON as transformers wrote.
        let configText = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        let keys = configText.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { String($0.dropFirst(3).prefix { $0 != "\"" }) }
        #expect(keys == keys.sorted() && keys.count > 5)
        let back = try reader.read(out, options: ReadOptions())
        try check(back, folder: "bert")
        #expect(back.tensors.names == source.tensors.names)
    }

    @Test func formatPtIsMergedIntoMetadata() throws {
        let source = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        var model = source
        model.metadata = ["origin": "test"]
        let dir = try Fixtures.scratchDirectory("hf-meta")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writer.write(model, to: dir.appendingPathComponent("m"), options: WriteOptions())
        let header = try SafetensorsHeader.read(from: OpenFile(path: dir.appendingPathComponent("m/model.safetensors").path))
        #expect(header.metadata == ["format": "pt", "origin": "test"])
    }

    @Test func weightsWriterIsPluggable() throws {
        let source = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        let custom = HuggingFaceWeights(fileName: "pytorch_model.bin") { model, folder, _ in
            try Data("\(model.tensors.count) tensors".utf8).write(to: folder.appendingPathComponent("pytorch_model.bin"))
        }
        let dir = try Fixtures.scratchDirectory("hf-plug")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m")
        let w = HuggingFaceWriter(weights: custom)
        #expect(w.info.extensions.contains("pytorch_model.bin"))
        try w.write(source, to: out, options: WriteOptions())
        #expect(try String(contentsOf: out.appendingPathComponent("pytorch_model.bin"), encoding: .utf8) == "\(source.tensors.count) tensors")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))

        // Any single-file ModelWriter plugs in too.
        let viaWriter = HuggingFaceWriter(weights: HuggingFaceWeights(fileName: "weights.safetensors", writer: SafetensorsWriter()))
        let out2 = dir.appendingPathComponent("m2")
        try viaWriter.write(source, to: out2, options: WriteOptions(maxShardSize: 10))
        let st = try SafetensorsReader().read(out2.appendingPathComponent("weights.safetensors"), options: ReadOptions())
        #expect(st.tensors.names == source.tensors.names)
    }

    @Test func assetThatWouldOverwriteWeightsIsRefused() throws {
        var model = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        model.assets.append(Asset(kind: "x", fileName: "model.safetensors", bytes: [0]))
        let dir = try Fixtures.scratchDirectory("hf-unsafe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: HuggingFaceError.self) { try writer.write(model, to: dir.appendingPathComponent("m"), options: WriteOptions()) }
        #expect(error == .unsafeAssetName(folder: dir.appendingPathComponent("m").path, fileName: "model.safetensors"))
    }

    @Test func brokenFoldersGiveTypedErrors() throws {
        let dir = try Fixtures.scratchDirectory("hf-broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: HuggingFaceError.missingConfig(folder: dir.path)) { try reader.read(dir, options: ReadOptions()) }
        try Data("{\"a\": ".utf8).write(to: dir.appendingPathComponent("config.json"))
        let bad = #expect(throws: HuggingFaceError.self) { try reader.read(dir, options: ReadOptions()) }
        #expect(bad?.localizedDescription.contains("config.json") == true)
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: HuggingFaceError.missingWeights(folder: dir.path, expected: ["model.safetensors", "model.safetensors.index.json"])) { try reader.read(dir, options: ReadOptions()) }
        #expect(reader.probe(try ProbeInput.load(dir)) == .no)
    }
}
