import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterPipeline

/// `porter convert --to hf`: `--write-option max-shard-size=…` (and `--max-shard-size`)
/// override the writer's default (transformers' 50GB), and a tiny size splits a fixture into
/// shards with `model.safetensors.index.json` that read back as the same model.
@Suite struct HFShardOptionTests {
    @Test(arguments: [true, false])
    func aTinyMaxShardSizeSplitsTheFixture(asWriteOption: Bool) throws {
        let dir = try Fixtures.scratchDirectory("hf-shard-option")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("safetensors/hf/bert")
        let out = dir.appendingPathComponent("out")
        let request = asWriteOption
            ? ConvertRequest(source: source, output: out, to: "hf", writeOptions: ["max-shard-size": "3KB"])
            : ConvertRequest(source: source, output: out, to: "hf", maxShardSize: 3000)
        _ = try Pipeline().convert(request)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files.contains("model.safetensors.index.json"))
        #expect(!files.contains("model.safetensors"))
        #expect(files.filter { $0.hasPrefix("model-") && $0.hasSuffix(".safetensors") }.count >= 2)
        let original = try Pipeline().read(source).1
        let back = try Pipeline().read(out).1
        #expect(back.tensors.names.sorted() == original.tensors.names.sorted())
        for e in original.tensors {
            #expect(try back.tensors[e.name]?.tensor.contiguousBytes() == e.tensor.contiguousBytes(), "\(e.name)")
        }
    }

    @Test func theDefaultKeepsASmallModelInOneFile() throws {
        let dir = try Fixtures.scratchDirectory("hf-shard-default")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        _ = try Pipeline().convert(ConvertRequest(source: Fixtures.url("safetensors/hf/bert"), output: out, to: "hf"))
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.contains("model.safetensors") && !files.contains("model.safetensors.index.json"))
    }

    @Test func aBadSizeIsAUsageError() throws {
        let dir = try Fixtures.scratchDirectory("hf-shard-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let request = ConvertRequest(source: Fixtures.url("safetensors/hf/bert"), output: dir.appendingPathComponent("out"), to: "hf",
                                     writeOptions: ["max-shard-size": "zz"])
        #expect(throws: FormatOptionError.self) { try Pipeline().convert(request) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
