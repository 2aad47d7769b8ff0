import Foundation
import PorterCore
import PorterPipeline
import PorterTestSupport
import Testing

/// Every registered reader (through `Pipeline`) must answer damaged input with success or a typed,
/// described error, never a crash. `PORTER_MUTATIONS=5000 swift test --filter PorterRobustnessTests`
/// runs a longer campaign; see docs/robustness.md.
@Suite struct MutationTests {
    static let pytorch: [MutationTarget] = [
        MutationTarget(family: "pytorch", source: "pytorch/dtypes.pt", files: [""]),
        MutationTarget(family: "pytorch", source: "pytorch/legacy.pt", files: [""]),
        MutationTarget(family: "pytorch", source: "pytorch/legacy_sysinfo_be.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/legacy_tar.pt", files: [""]),
        MutationTarget(family: "pytorch", source: "pytorch/script.pt", files: [""]),
        MutationTarget(family: "pytorch", source: "pytorch/script_deflated.pt", files: [""]),
        MutationTarget(family: "pytorch", source: "pytorch/views.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/tied.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/bigendian.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/proto4.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/nested.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/list.pt", files: [""], weight: 0.5),
        MutationTarget(family: "pytorch", source: "pytorch/sharded",
                       files: ["pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"],
                       open: "pytorch_model.bin.index.json", weight: 0.5),
        MutationTarget(family: "pickle", source: "pytorch/embedded_pickle_bytes.pkl", files: [""]),
        MutationTarget(family: "pickle", source: "pytorch/mal_nested.pkl", files: [""]),
    ]
    static let safetensors: [MutationTarget] = [
        MutationTarget(family: "safetensors", source: "safetensors/valid/small_model.safetensors", files: [""], weight: 2),
        MutationTarget(family: "safetensors", source: "safetensors/valid/metadata_multi.safetensors", files: [""]),
        MutationTarget(family: "safetensors", source: "safetensors/valid/scalar.safetensors", files: [""], weight: 0.5),
        MutationTarget(family: "safetensors", source: "safetensors/valid/empty_tensor.safetensors", files: [""], weight: 0.5),
        MutationTarget(family: "safetensors", source: "safetensors/sharded",
                       files: ["model.safetensors.index.json", "model-00001-of-00002.safetensors"]),
        MutationTarget(family: "hf", source: "safetensors/hf/bert",
                       files: ["config.json", "tokenizer_config.json", "tokenizer.json", "model.safetensors"], weight: 0.5),
        MutationTarget(family: "hf", source: "safetensors/hf/bert_sharded", files: ["model.safetensors.index.json"], weight: 0.5),
    ]
    static let tensorflow: [MutationTarget] = [
        // Opened by .index: the committed `checkpoint` state files hold absolute paths to where the fixtures were
        // generated, so opening the copied folder would read those instead of the damaged copy.
        MutationTarget(family: "tensorflow", source: "tensorflow/saver",
                       files: ["model.ckpt.index", "model.ckpt.data-00001-of-00002"], open: "model.ckpt.index"),
        MutationTarget(family: "tensorflow", source: "tensorflow/object", files: ["ckpt-1.index", "ckpt-1.data-00000-of-00001"]),
        MutationTarget(family: "tensorflow", source: "tensorflow/bert_tf1", files: ["bert_model.ckpt.index"],
                       open: "bert_model.ckpt.index", weight: 0.5),
        MutationTarget(family: "tensorflow", source: "tensorflow/keras_mlp",
                       files: ["saved_model.pb", "variables/variables.index", "fingerprint.pb"], weight: 0.25),
    ]
    static let fairseq: [MutationTarget] = [
        MutationTarget(family: "fairseq", source: "fairseq/joined", files: ["dict.en.txt", "bpecodes"], weight: 0.2),
        MutationTarget(family: "fairseq", source: "fairseq/separate", files: ["model.pt"], weight: 0.15),
    ]
    static let mapping: [MutationTarget] = [
        MutationTarget(family: "mapping", source: "mapping/every-rule.json", files: [""], isMapping: true),
    ]

    static func check(_ target: MutationTarget, budget: Int = mutationBudget) throws {
        let (runs, findings, outcomes) = try MutationRunner().run(target, budget: budget)
        let tally = outcomes.sorted { $0.value > $1.value }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        print("mutations \(target): \(runs) runs, \(findings.count) findings; outcomes: \(tally)")
        #expect(runs > 0)
        #expect(findings.isEmpty, "\(findings.count) of \(runs) mutations misbehaved:\n\(findings.prefix(10).map(\.description).joined(separator: "\n"))")
    }

    @Test(arguments: pytorch) func pytorchSurvivesMutations(_ target: MutationTarget) throws { try Self.check(target) }
    @Test(arguments: safetensors) func safetensorsSurvivesMutations(_ target: MutationTarget) throws { try Self.check(target) }
    @Test(arguments: tensorflow) func tensorflowSurvivesMutations(_ target: MutationTarget) throws { try Self.check(target) }
    @Test(arguments: fairseq) func fairseqSurvivesMutations(_ target: MutationTarget) throws { try Self.check(target) }
    @Test(arguments: mapping) func mappingSurvivesMutations(_ target: MutationTarget) throws { try Self.check(target) }

    /// Porter's own form, written by Porter from a safetensors fixture, then damaged.
    @Test func porterFormSurvivesMutations() throws {
        let dir = try Fixtures.scratchDirectory("porter-form-source")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("small.porter")
        _ = try Pipeline().convert(ConvertRequest(source: Fixtures.url("safetensors/valid/small_model.safetensors"), output: out, to: "porter"))
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files.contains("model.json"))
        let target = MutationTarget(family: "porter", source: out.path, files: files.filter { !$0.hasPrefix(".") && $0 != "assets" })
        try Self.check(target)
    }
}

/// The mutation machinery itself: damage must be deterministic and the TF checksum repair must find blocks.
@Suite struct MutationMachineryTests {
    @Test func plansAreDeterministicAndCoverSmallFilesCompletely() {
        let a = Mutation.plan(size: 100, budget: 300, seed: 1).map(\.description)
        let b = Mutation.plan(size: 100, budget: 300, seed: 1).map(\.description)
        #expect(a == b)
        #expect(Set(a.filter { $0.hasPrefix("truncate") }).count == 100)
    }

    @Test func levelDBBlocksAreFoundAndRepairedInTensorFlowIndexes() throws {
        let original = try Data(contentsOf: Fixtures.url("tensorflow/saver/model.ckpt.index"))
        let blocks = LevelDBChecksums.blocks(of: [UInt8](original))
        #expect(blocks.count >= 2)  // data, meta-index and index blocks
        let damaged = Mutation.flip(offset: blocks[0].lowerBound + 3, mask: 1).apply(to: original)
        let repaired = LevelDBChecksums.repair(damaged, original: original, blocks: blocks)
        #expect(repaired != damaged)
        #expect(LevelDBChecksums.blocks(of: [UInt8](repaired)) == blocks)
    }
}
