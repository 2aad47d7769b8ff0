import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterVerifier

/// The runtime's architecture fixtures (tiny BERT, RoBERTa, GPT-2, FSMT with outputs
/// recorded by torch/transformers) verified against their references, and a
/// one-weight corruption caught on each.
@Suite struct ArchitectureVerificationTests {
    static let names = ["bert", "roberta", "gpt2", "fsmt"]

    func reference(_ name: String) throws -> ReferenceOutputs {
        ReferenceOutputs(path: "fixtures/architectures/\(name)/reference.safetensors",
                         tensors: try loadSafetensors(Fixtures.url("architectures/\(name)/reference.safetensors")))
    }

    @Test(arguments: names)
    func aModelVerifiesAgainstItselfAndItsTorchReference(name: String) throws {
        let model = try loadHFFolder("architectures/\(name)")
        let report = Verifier().verify(source: model, converted: model, reference: try reference(name))
        #expect(report.passed, "\(report.failures)")
        #expect(report.forward.status == .passed)
        #expect(!report.forward.outputs.isEmpty)
        let ref = try #require(report.reference)
        #expect(ref.status == .passed)
        #expect(!ref.outputs.isEmpty)
        for o in ref.outputs {
            #expect(o.metrics.maxAbs < 1e-4, "\(name) \(o.name)")
            if o.name == "logits" { #expect(o.metrics.argmaxAgreement == 1) }
        }
    }

    @Test(arguments: names)
    func aScaledWeightIsCaughtAtEveryLevel(name: String) throws {
        let model = try loadHFFolder("architectures/\(name)")
        // Scale the first 2-D weight read by a linear node that is not an embedding.
        let victim = try #require(model.tensors.entries.first {
            $0.tensor.shape.rank == 2 && $0.name.hasSuffix("weight") && !$0.name.contains("emb") && !$0.name.contains("wte") && !$0.name.contains("wpe")
        })
        let values = try victim.tensor.floatValues().map { $0 * 1.5 }
        var broken = model
        broken.tensors.set(TensorEntry(name: victim.name, tensor: floats(values, victim.tensor.shape.dims, label: victim.name), provenance: victim.provenance))
        let report = Verifier().verify(source: model, converted: broken, reference: try reference(name))
        #expect(!report.passed)
        #expect(report.weights.mismatches.map(\.name) == [victim.name])
        #expect(report.forward.status == .failed)
        let first = try #require(report.forward.firstDivergence)
        #expect(first.weights.contains(victim.name), "\(name): first divergence at \(first.node) reading \(first.weights)")
        #expect(report.reference?.status == .failed)
    }

    /// The first batch row of every tensor of `store` (batch-major tensors), except `drop`.
    func firstRow(_ store: TensorStore, dropping drop: Set<String>) throws -> TensorStore {
        var out = TensorStore()
        for entry in store.entries where !drop.contains(entry.name) {
            let dims = entry.tensor.shape.dims
            let bytes = try entry.tensor.contiguousBytes()
            let row = Array(bytes.prefix(bytes.count / dims[0]))
            try out.add(TensorEntry(name: entry.name, tensor: .memory(row, dtype: entry.tensor.dtype, shape: Shape([1] + dims.dropFirst()), label: entry.name),
                                    provenance: entry.provenance))
        }
        return out
    }

    @Test("an encoder-decoder reference without attention_mask gets ones shaped like input_ids, not decoder_input_ids")
    func defaultMaskFollowsItsTokenIds() throws {
        let model = try loadHFFolder("architectures/fsmt")
        let full = try loadSafetensors(Fixtures.url("architectures/fsmt/reference.safetensors"))
        // Row 0 has no padding (its recorded mask is all ones), so ones is the right default.
        let tensors = try firstRow(full, dropping: ["attention_mask"])
        #expect(tensors["input_ids"]?.tensor.shape.dims != tensors["decoder_input_ids"]?.tensor.shape.dims)
        let report = Verifier().verify(source: model, converted: model, reference: ReferenceOutputs(path: "row0.safetensors", tensors: tensors))
        let ref = try #require(report.reference)
        #expect(ref.status == .passed, "\(report.failures)")
        let mask = try #require(ref.inputs.first { $0.name == "attention_mask" })
        #expect(mask.shape == [1, 7] && mask.origin.hasPrefix("ones"))
        for o in ref.outputs { #expect(o.metrics.maxAbs < 1e-4, "\(o.name)") }
    }
}
