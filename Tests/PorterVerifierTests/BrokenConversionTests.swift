import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterVerifier

/// The `verifier` fixture family: a tiny BertModel, a byte-identical copy, and a copy
/// with encoder.layer.1.attention.self.query.weight transposed (made by torch).
@Suite struct BrokenConversionTests {
    let original: NeutralModel
    let facts: JSONValue

    init() throws {
        original = try loadHFFolder("verifier/original")
        facts = try #require(try Fixtures.json("verifier/generator.json")["facts"])
    }

    func reference() throws -> ReferenceOutputs {
        ReferenceOutputs(path: "fixtures/verifier/reference.safetensors",
                         tensors: try loadSafetensors(Fixtures.url("verifier/reference.safetensors")))
    }

    @Test func fixtureMatchesWhatTorchRecorded() throws {
        let expected = try Fixtures.json("verifier/expected.json")
        for (folder, key) in [("verifier/original", "original"), ("verifier/broken", "broken")] {
            let m = try loadHFFolder(folder)
            let table = try #require(expected[key]?.objectValue)
            #expect(Set(table.keys) == Set(m.tensors.names))
            for entry in m.tensors {
                #expect(try tensorDigest(entry.tensor) == table[entry.name]?["sha256"]?.stringValue, "\(folder) \(entry.name)")
            }
        }
    }

    @Test func anIdenticalCopyPassesEveryLevel() throws {
        let identical = try loadHFFolder("verifier/identical")
        let report = Verifier().verify(source: original, converted: identical, reference: try reference())
        #expect(report.passed, "\(report.failures)")
        #expect(report.failures.isEmpty)
        #expect(report.weights.bitExact == original.tensors.count)
        #expect(report.forward.status == .passed)
        #expect(report.forward.outputs.map(\.name) == ["last_hidden_state"])
        #expect(report.forward.firstDivergence == nil)
        let out = try #require(report.forward.outputs.first)
        #expect(out.shape == [2, 8, 16])
        #expect(out.metrics.maxAbs <= 1e-6)
        #expect(out.metrics.cosine > 0.999999)
        #expect(report.reference?.status == .passed)
        // Porter's runtime matches torch within 1e-4 on the recorded inputs.
        #expect((report.reference?.outputs.first?.metrics.maxAbs ?? 1) < 1e-4)
        #expect(report.source.graph == "builder:bert")
    }

    @Test func theTransposedWeightFailsAndTheFirstDivergingNodeUsesIt() throws {
        let broken = try loadHFFolder("verifier/broken")
        let brokenTensor = try #require(facts["broken_tensor"]?.stringValue)
        let torchModule = try #require(facts["first_diverging_module_torch"]?.stringValue)
        let report = Verifier().verify(source: original, converted: broken, reference: try reference())
        #expect(!report.passed)
        // Weights level names the one tensor; 16·15 off-diagonal elements moved.
        #expect(report.weights.status == .failed)
        #expect(report.weights.mismatches.map(\.name) == [brokenTensor])
        #expect(report.weights.mismatches.first?.differingElements == 240)
        // Forward level: outputs differ, and the first diverging node is the module torch's hooks named.
        #expect(report.forward.status == .failed)
        let first = try #require(report.forward.firstDivergence)
        #expect(first.node == torchModule)
        #expect(first.op == "linear")
        #expect(first.weights.contains(brokenTensor))
        // Layer 0 is untouched, layer 1 is not.
        let layer0 = try #require(report.forward.layers.first { $0.layer == "encoder.layer.0" })
        let layer1 = try #require(report.forward.layers.first { $0.layer == "encoder.layer.1" })
        #expect(layer0.withinTolerance && layer0.maxAbs <= 1e-6)
        #expect(!layer1.withinTolerance)
        #expect(report.reference?.status == .failed)
        #expect(report.failures.contains { $0.contains("first diverging node \(torchModule)") })
    }

    @Test(arguments: [DType.f16, .bf16])
    func aCastCopyPassesWithinTheDefaultToleranceOfItsDType(dtype: DType) throws {
        var converted = original
        var produced: [ConversionSummary.ProducedTensor] = []
        var store = TensorStore()
        for e in original.tensors {
            let t = try e.tensor.cast(to: dtype, name: e.name)
            let bytes = try t.contiguousBytes()
            try store.add(TensorEntry(name: e.name, tensor: .memory(bytes, dtype: dtype, shape: t.shape, label: e.name),
                                      provenance: .init(sourceFile: "cast.safetensors", sourceName: e.name)))
            produced.append(.init(name: e.name, sources: [e.name], transforms: [.cast(from: .f32, to: dtype)]))
        }
        converted.tensors = store
        let summary = ConversionSummary(dtype: dtype.rawValue, produced: produced)
        let report = Verifier().verify(source: original, converted: converted, reference: try reference(), summary: summary)
        #expect(report.passed, "\(report.failures)")
        #expect(report.tolerance.basis == dtype.rawValue)
        #expect(report.weights.castExact == original.tensors.count)
        let out = try #require(report.forward.outputs.first)
        #expect(out.metrics.maxAbs > 0)  // the cast really changed something
        // The same outputs fail under float32's tolerance: the default matters.
        let strict = Verifier(options: .init(atol: 1e-4, rtol: 1e-3)).verify(source: original, converted: converted, summary: summary)
        #expect(!strict.passed)
        #expect(strict.tolerance.overridden)
    }

    @Test func aModelWithoutAGraphIsVerifiedAtTheWeightsLevelOnly() throws {
        var unknown = original
        unknown.config = ["model_type": "mystery"]
        let report = Verifier().verify(source: unknown, converted: unknown)
        #expect(report.passed)
        #expect(report.forward.status == .skipped)
        #expect(report.forward.reason?.contains("mystery") == true)
        #expect(report.notes.contains { $0.contains("weights level") })
    }

    @Test func aConvertedModelMissingAWeightTheGraphNeedsFails() throws {
        var converted = original
        converted.tensors.remove("encoder.layer.0.output.dense.bias")
        converted.tensors.remove("encoder.layer.0.output.dense.weight")
        let report = Verifier().verify(source: original, converted: converted)
        #expect(!report.passed)
        #expect(report.weights.missing == ["encoder.layer.0.output.dense.bias", "encoder.layer.0.output.dense.weight"])
        #expect(report.forward.status == .failed)
    }

    @Test func seededInputsAreDeterministicAndPadOneRow() throws {
        let graph = try #require({ () -> Graph? in
            if case let .ready(e) = PreparedGraph.prepare(original, registry: .standard) { return e.graph }
            return nil
        }())
        let (a, described) = ForwardInputs.make(graphs: [graph], weights: [original.tensors], config: original.config, batch: 2, sequence: 8, seed: 5)
        let (b, _) = ForwardInputs.make(graphs: [graph], weights: [original.tensors], config: original.config, batch: 2, sequence: 8, seed: 5)
        let (c, _) = ForwardInputs.make(graphs: [graph], weights: [original.tensors], config: original.config, batch: 2, sequence: 8, seed: 6)
        #expect(a == b)
        #expect(a["input_ids"] != c["input_ids"])
        let ids = try #require(a["input_ids"]?.int64s)
        #expect(ids.allSatisfy { $0 >= 0 && $0 < 40 })
        #expect(Array(ids[14...]) == [0, 0])            // pad id 0 where the mask pads
        #expect(!ids[..<14].contains(0))                // and nowhere else
        #expect(a["attention_mask"]?.int64s == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        #expect(try #require(a["token_type_ids"]?.int64s).allSatisfy { $0 == 0 || $0 == 1 })
        #expect(described.map(\.name) == ["input_ids", "attention_mask", "token_type_ids"])
    }

    @Test func splitMix64KnownValues() {
        // Reference values of SplitMix64 seeded with 1234567 (from its published C implementation).
        var g = SeededGenerator(seed: 1234567)
        #expect(g.next() == 6457827717110365317)
        #expect(g.next() == 3203168211198807973)
    }
}
