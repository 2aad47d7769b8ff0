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
}
