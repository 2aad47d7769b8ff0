import Foundation
import Testing
import PorterCore
import PorterTestSupport
import PorterSafetensors
@testable import PorterHuggingFace

/// `--to hf` shards as transformers' `save_pretrained` does: at a default size (50GB in
/// transformers 5.24) unless told otherwise, with `model.safetensors.index.json`.
@Suite struct HuggingFaceShardingTests {
    let reader = HuggingFaceReader()

    @Test func theDefaultIsTransformersDefault() throws {
        let option = try #require(HuggingFaceWriter().options.first { $0.key == "max-shard-size" })
        #expect(option.defaultValue == "50GB")
        // transformers' convert_file_size_to_int("50GB") == 50 * 10**9.
        #expect(FormatOption.parseSize(try #require(option.defaultValue)) == HuggingFaceWeights.defaultMaxShardSize)
        #expect(HuggingFaceWeights.defaultMaxShardSize == 50_000_000_000)
    }

    /// With no size requested the writer's default applies: a writer whose default is
    /// 3000 bytes splits the fixture (6.5 KB of weights), and the shards read back whole.
    @Test func theDefaultSizeShardsWithoutAnOption() throws {
        let source = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        let dir = try Fixtures.scratchDirectory("hf-shard-default")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bert")
        let writer = HuggingFaceWriter(weights: .safetensorsSharded(at: 3000))
        try writer.write(source, to: out, options: WriteOptions())
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        let shards = files.filter { $0.hasPrefix("model-") && $0.hasSuffix(".safetensors") }
        #expect(shards.count >= 2)
        #expect(!files.contains("model.safetensors"))
        #expect(shards.allSatisfy { $0.hasSuffix("-of-\(String(format: "%05d", shards.count)).safetensors") })
        let index = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("model.safetensors.index.json")))
        let map = try #require(index["weight_map"]?.objectValue)
        #expect(Set(map.keys) == Set(source.tensors.names))
        #expect(Set(map.values.compactMap(\.stringValue)) == Set(shards))
        #expect(index["metadata"]?["total_size"]?.intValue == source.tensors.uniqueByteCount)
        // Each shard holds at most 3000 bytes of tensor data unless one tensor alone is larger.
        for shard in shards {
            let m = try SafetensorsReader().read(out.appendingPathComponent(shard), options: ReadOptions())
            let bytes = m.tensors.uniqueByteCount
            #expect(bytes <= 3000 || m.tensors.count == 1, "\(shard): \(bytes) bytes in \(m.tensors.count) tensors")
            #expect(m.metadata["format"] == "pt")
        }
        let back = try reader.read(out, options: ReadOptions())
        #expect(back.tensors.names.sorted() == source.tensors.names.sorted())
        for e in source.tensors {
            #expect(try back.tensors[e.name]?.tensor.contiguousBytes() == e.tensor.contiguousBytes(), "\(e.name)")
        }
    }

    /// The default writer keeps a small model in one `model.safetensors`, as transformers does.
    @Test func aSmallModelStaysOneFileAtTheDefault() throws {
        let source = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        let dir = try Fixtures.scratchDirectory("hf-shard-small")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bert")
        try HuggingFaceWriter().write(source, to: out, options: WriteOptions())
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.contains("model.safetensors") && !files.contains("model.safetensors.index.json"))
    }

    /// A requested size overrides the default.
    @Test func aRequestedSizeOverridesTheDefault() throws {
        let source = try reader.read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        let dir = try Fixtures.scratchDirectory("hf-shard-override")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bert")
        try HuggingFaceWriter(weights: .safetensorsSharded(at: 3000)).write(source, to: out, options: WriteOptions(maxShardSize: 1 << 20))
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.contains("model.safetensors") && !files.contains("model.safetensors.index.json"))
    }
}
