import Foundation
import Testing
import PorterCore
import PorterMapping
import PorterSafetensors
import PorterTestSupport
@testable import PorterVerifier

/// Steps computed from config variables are recorded as concrete transpose/reshape steps,
/// so the weights level replays them exactly (fixtures/mapping-vars).
@Suite struct MappedVariablesVerifyTests {
    func read(_ file: String, config: JSONValue) throws -> NeutralModel {
        var m = try SafetensorsReader().read(Fixtures.url("mapping-vars/\(file)"))
        m.config = config
        return m
    }

    /// The mapped model as if written and re-read: the bytes in memory, no provenance.
    func reread(_ mapped: NeutralModel) throws -> NeutralModel {
        var store = TensorStore()
        for e in mapped.tensors {
            let t = TensorRef.memory(try e.tensor.contiguousBytes(), dtype: e.tensor.dtype, shape: e.tensor.shape, label: e.name)
            try store.add(TensorEntry(name: e.name, tensor: t, provenance: Provenance(sourceFile: "out.safetensors", sourceName: e.name)))
        }
        return NeutralModel(sourceFormat: "safetensors", sourceFiles: ["out.safetensors"], tensors: store)
    }

    @Test(arguments: [("hf-llama-to-gguf", "llama-hf.safetensors", 16), ("keras-to-pytorch", "keras-depthwise.safetensors", 2)])
    func mappedTensorsVerifyBitExact(mapping: String, file: String, count: Int) throws {
        let source = try read(file, config: try Fixtures.json("mapping-vars/llama-config.json"))
        let (mapped, accounting) = try MappingEngine(try Mapping.resolve(mapping, searchPaths: [])).apply(to: source)
        let summary = ConversionSummary(convertedInMemory: mapped, source: source, mapping: accounting.mapping, dropped: accounting.dropped)
        let level = WeightsCheck.run(source: source, converted: try reread(mapped), summary: summary)
        #expect(level.status == .passed, "\(level.mismatches)")
        #expect(level.checked == count && level.bitExact == count)
    }

    @Test("a q projection left unpermuted (or permuted with the wrong head count) fails the weights level, naming it")
    func aWrongPermutationIsCaught() throws {
        let config = try Fixtures.json("mapping-vars/llama-config.json")
        let source = try read("llama-hf.safetensors", config: config)
        let toGGUF = try Mapping.resolve("hf-llama-to-gguf", searchPaths: [])
        let (mapped, accounting) = try MappingEngine(toGGUF).apply(to: source)
        let summary = ConversionSummary(convertedInMemory: mapped, source: source, mapping: accounting.mapping, dropped: accounting.dropped)
        var broken = try reread(mapped)
        var q = try #require(broken.tensors["blk.0.attn_q.weight"])
        q.tensor = try #require(source.tensors["model.layers.0.self_attn.q_proj.weight"]).tensor
        broken.tensors.set(q)
        // k permuted as if there were 4 kv heads: a shape-preserving but wrong result.
        var mha = config
        if case var .object(o) = mha { o["num_key_value_heads"] = 4; mha = .object(o) }
        let (wrongK, _) = try MappingEngine(toGGUF).apply(to: try read("llama-hf.safetensors", config: mha))
        var k = try #require(broken.tensors["blk.0.attn_k.weight"])
        k.tensor = .memory(try wrongK.tensors["blk.0.attn_k.weight"]!.tensor.contiguousBytes(), dtype: .f32, shape: k.tensor.shape, label: "k")
        broken.tensors.set(k)
        let level = WeightsCheck.run(source: source, converted: broken, summary: summary)
        #expect(level.status == .failed)
        #expect(level.mismatches.map(\.name).sorted() == ["blk.0.attn_k.weight", "blk.0.attn_q.weight"])
        #expect(level.bitExact == 14)
    }
}
