import Foundation
import Testing
import PorterCore
import PorterHuggingFace
import PorterPipeline
import PorterPyTorch
import PorterTestSupport
@testable import PorterFairseq

/// How the CLI reaches the fairseq port: a registry that holds `FairseqReader` detects the
/// folder, and `Pipeline.convert` writes the FSMT folder with the Hugging Face writer.
@Suite struct FairseqPipelineTests {
    static let registry = FormatRegistry(readers: [FairseqReader(mappingSearchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")]),
                                                   PyTorchReader(), HuggingFaceReader()],
                                         writers: [HuggingFaceWriter()])

    @Test func folderIsDetectedAndConvertedToHF() throws {
        let pipeline = Pipeline(registry: Self.registry)
        let out = try Fixtures.scratchDirectory("fairseq-pipeline").appendingPathComponent("fsmt")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let result = try pipeline.convert(ConvertRequest(source: Fixtures.url("fairseq/joined"), output: out, to: "hf",
                                                         readOptions: ["src-lang": "en", "tgt-lang": "ru"]))
        #expect(result.reader.id == "fairseq")
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        #expect(names.isSuperset(of: ["config.json", "model.safetensors", "vocab-src.json", "vocab-tgt.json", "merges.txt", "tokenizer_config.json", "README.md"]))
        #expect(result.summary().contains("last_optimizer_state") || result.summary().contains("optimizer state"))
        // Read back through the HF reader: the same tensors, the shared embedding restored under all three names.
        let back = try HuggingFaceReader().read(out, options: ReadOptions())
        let expected = try #require(Fixtures.json("fairseq/joined/expected.json")["fsmt_tensors"]?.objectValue)
        #expect(Set(back.tensors.names).isSubset(of: Set(expected.keys)))
        for e in back.tensors { #expect(try tensorDigest(e.tensor) == expected[e.name]?["sha256"]?.stringValue, "\(e.name)") }
        // The .pt alone goes to the plain PyTorch reader unless fairseq is named.
        #expect(try Self.registry.reader(for: Fixtures.url("fairseq/joined/model.pt")).info.id != "fairseq")
        #expect(try Self.registry.reader(for: Fixtures.url("fairseq/joined/model.pt"), format: "fairseq").info.id == "fairseq")
    }

    @Test func severalCheckpointsNeedACheckpointOption() throws {
        let folder = try Fixtures.scratchDirectory("fairseq-two")
        defer { try? FileManager.default.removeItem(at: folder) }
        for f in ["dict.en.txt", "dict.ru.txt", "bpecodes"] {
            try FileManager.default.copyItem(at: Fixtures.url("fairseq/separate/\(f)"), to: folder.appendingPathComponent(f))
        }
        try FileManager.default.copyItem(at: Fixtures.url("fairseq/separate/model.pt"), to: folder.appendingPathComponent("model1.pt"))
        try FileManager.default.copyItem(at: Fixtures.url("fairseq/old-layout/model.pt"), to: folder.appendingPathComponent("model4.pt"))
        let reader = FairseqReader(mappingSearchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")])
        #expect(throws: FairseqError.ambiguous(folder: folder.path, what: "checkpoints", candidates: ["model1.pt", "model4.pt"], option: "--checkpoint NAME")) {
            try reader.read(folder, options: ReadOptions())
        }
        let model = try reader.read(folder, options: ReadOptions(extra: ["checkpoint": "model4.pt"]))
        #expect(model.sourceFiles.first?.hasSuffix("model4.pt") == true)
        // Without bpecodes there is no merges.txt to make.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("bpecodes"))
        #expect(throws: FairseqError.self) { try reader.read(folder, options: ReadOptions(extra: ["checkpoint": "model4.pt"])) }
    }
}
