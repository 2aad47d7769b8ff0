import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterSafetensors

@Suite struct SafetensorsWriterTests {
    let reader = SafetensorsReader()
    let writer = SafetensorsWriter()

    /// Files whose metadata has at most one key: the reference writer's header is then
    /// deterministic (it keeps metadata in a hash map, so several keys come out in any order).
    static var byteComparable: [String] {
        Expected.validFiles.filter { (Expected.json["valid"]?[$0]?["metadata"]?.objectValue?.count ?? 0) <= 1 }
    }

    @Test(arguments: Expected.validFiles)
    func roundTripKeepsTensorsAndMetadata(file: String) throws {
        let expected = try #require(Expected.json["valid"]?[file])
        let source = Fixtures.url("safetensors/valid/\(file)")
        let dir = try Fixtures.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(file)
        let model = try reader.read(source, options: ReadOptions())
        #expect(!writer.producesDirectory(for: model, options: WriteOptions()))
        try writer.write(model, to: out, options: WriteOptions())
        let back = try reader.read(out, options: ReadOptions())
        try Expected.check(back, against: expected)
        #expect(back.metadata == Expected.metadata(expected))
        // Header padded to a multiple of 8 with spaces.
        let bytes = try Data(contentsOf: out)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
    }

    @Test(arguments: byteComparable)
    func rewritingAFileOfTheReferenceWriterIsByteIdentical(file: String) throws {
        let source = Fixtures.url("safetensors/valid/\(file)")
        let dir = try Fixtures.scratchDirectory("st-bytes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(file)
        try writer.write(try reader.read(source, options: ReadOptions()), to: out, options: WriteOptions())
        #expect(try Data(contentsOf: out) == Data(contentsOf: source))
    }

    @Test func multiKeyMetadataSurvivesEvenWhenHeaderOrderDiffers() throws {
        let source = Fixtures.url("safetensors/valid/metadata_multi.safetensors")
        let dir = try Fixtures.scratchDirectory("st-meta")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m.safetensors")
        let model = try reader.read(source, options: ReadOptions())
        #expect(model.metadata["note"] == "quote \" and backslash \\ and é")
        try writer.write(model, to: out, options: WriteOptions())
        #expect(try reader.read(out, options: ReadOptions()).metadata == model.metadata)
        // Same size: only the order of metadata keys may differ from the reference writer.
        #expect(try Data(contentsOf: out).count == Data(contentsOf: source).count)
    }

    func aliasedModel() throws -> NeutralModel {
        let shared = TensorRef.memory((0..<24).map { UInt8($0) }, dtype: .f32, shape: [2, 3], label: "emb")
        let other = TensorRef.memory([1, 2, 3, 4], dtype: .f16, shape: [2], label: "b")
        let p = Provenance(sourceFile: "mem", sourceName: "x")
        let store = try TensorStore([
            TensorEntry(name: "embed.weight", tensor: shared, provenance: p),
            TensorEntry(name: "bias", tensor: other, provenance: p),
            TensorEntry(name: "lm_head.weight", tensor: shared, provenance: p),
        ])
        return NeutralModel(sourceFormat: "test", sourceFiles: [], tensors: store, metadata: ["format": "pt"])
    }

    @Test func aliasesAreWrittenOnceAndComeBackAsSharedViews() throws {
        let model = try aliasedModel()
        let dir = try Fixtures.scratchDirectory("st-alias")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("tied.safetensors")
        try writer.write(model, to: out, options: WriteOptions())
        let header = try SafetensorsHeader.read(from: OpenFile(path: out.path))
        #expect(header.entries.map(\.name) == ["embed.weight", "bias"], "the alias is stored once")
        #expect(header.metadata["porter.aliases"] == #"{"lm_head.weight":"embed.weight"}"#)
        let back = try reader.read(out, options: ReadOptions())
        #expect(back.tensors.names == ["embed.weight", "lm_head.weight", "bias"])
        #expect(back.tensors.aliases() == ["lm_head.weight": "embed.weight"])
        #expect(back.metadata == ["format": "pt"], "the alias map is consumed, not left in metadata")
        #expect(try tensorDigest(try #require(back.tensors["lm_head.weight"]).tensor) == tensorDigest(try #require(model.tensors["embed.weight"]).tensor))
    }

    @Test func shardingByMaxSizeWritesIndexAndShardsThatReadBackIdentical() throws {
        let source = Fixtures.url("safetensors/valid/small_model.safetensors")
        let expected = try #require(Expected.json["valid"]?["small_model.safetensors"])
        let model = try reader.read(source, options: ReadOptions())
        let options = WriteOptions(maxShardSize: 100)
        #expect(writer.producesDirectory(for: model, options: options))
        #expect(!writer.producesDirectory(for: model, options: WriteOptions(maxShardSize: 1 << 20)))
        let dir = try Fixtures.scratchDirectory("st-shard")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("sharded")
        try writer.write(model, to: out, options: options)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files.contains("model.safetensors.index.json"))
        let shards = files.filter { $0.hasSuffix(".safetensors") }
        #expect(shards.count >= 3)
        #expect(shards.first == "model-00001-of-\(String(format: "%05d", shards.count)).safetensors")
        let index = try ShardIndex.read(out.appendingPathComponent("model.safetensors.index.json"))
        #expect(index.totalSize == model.tensors.uniqueByteCount)
        #expect(Set(index.weightMap.keys) == Set(model.tensors.names))
        // Every shard but a lone oversized tensor respects the limit.
        for shard in shards {
            let header = try SafetensorsHeader.read(from: OpenFile(path: out.appendingPathComponent(shard).path))
            let data = header.entries.reduce(0) { $0 + $1.dataRange.count }
            #expect(data <= 100 || header.entries.count == 1)
            #expect(header.metadata == ["format": "pt"])
        }
        let back = try reader.read(out, options: ReadOptions())
        try Expected.check(back, against: expected)
        #expect(back.metadata == ["format": "pt"])
    }

    @Test func shardedAliasesSurvive() throws {
        let model = try aliasedModel()
        let dir = try Fixtures.scratchDirectory("st-shard-alias")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m")
        try writer.write(model, to: out, options: WriteOptions(maxShardSize: 8))
        let back = try reader.read(out, options: ReadOptions())
        #expect(Set(back.tensors.names) == Set(model.tensors.names))
        #expect(back.tensors.aliases() == ["lm_head.weight": "embed.weight"])
    }

    @Test func writerMaterialisesNonContiguousViews() throws {
        // A transposed view of a 2×3 u8 matrix: the writer must store the contiguous transpose.
        let storage = TensorStorage.memory([1, 2, 3, 4, 5, 6], label: "m")
        let transposed = TensorRef(dtype: .u8, shape: [3, 2], storage: storage, offset: 0, strides: [1, 3])
        let model = NeutralModel(sourceFormat: "test", sourceFiles: [],
                                 tensors: try TensorStore([TensorEntry(name: "t", tensor: transposed, provenance: Provenance(sourceFile: "", sourceName: "t"))]))
        let dir = try Fixtures.scratchDirectory("st-strided")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("t.safetensors")
        try writer.write(model, to: out, options: WriteOptions())
        let back = try reader.read(out, options: ReadOptions())
        #expect(try #require(back.tensors["t"]).tensor.contiguousBytes() == [1, 4, 2, 5, 3, 6])
    }

    @Test func jsonEscapingMatchesTheReferenceWriter() {
        #expect(SafetensorsWriter.jsonString("a\"b\\c\n\u{01}é/") == #""a\"b\\c\n\u0001é/""#)
    }
}
