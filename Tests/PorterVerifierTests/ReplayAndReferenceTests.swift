import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterTestSupport
@testable import PorterVerifier

@Suite struct TransformReplayTests {
    // a = [[1], [2]] (2×1), b = [[3, 4], [5, 6]] (2×2).
    let a = floats([1, 2], [2, 1], label: "a")
    let b = floats([3, 4, 5, 6], [2, 2], label: "b")

    @Test func concatAlongAxisOne() throws {
        let out = try TransformReplay.apply([.concat(axis: 1, sources: ["a", "b"], into: "ab")], to: a, tensor: "ab") { $0 == "b" ? b : nil }
        #expect(out.shape == [2, 3])
        #expect(try out.floatValues() == [1, 3, 4, 2, 5, 6])
    }

    @Test func splitWithSizesTakesTheNamedPart() throws {
        let ab = floats([1, 3, 4, 2, 5, 6], [2, 3], label: "ab")
        let second = try TransformReplay.apply([.split(axis: 1, sizes: [1, 2], index: 1, count: 2, into: "b")], to: ab, tensor: "b") { _ in nil }
        #expect(second.shape == [2, 2])
        #expect(try second.floatValues() == [3, 4, 5, 6])
        let equal = try TransformReplay.apply([.split(axis: 0, sizes: nil, index: 0, count: 2, into: nil)], to: ab, tensor: "top") { _ in nil }
        #expect(try equal.floatValues() == [1, 3, 4])
    }

    @Test func transposeReshapeCastInOrder() throws {
        let out = try TransformReplay.apply([.rename(from: "b", to: "c"), .transpose(perm: [1, 0]), .reshape(shape: [4]), .cast(from: .f32, to: .f16)], to: b, tensor: "c") { _ in nil }
        #expect(out.dtype == .f16)
        #expect(try out.floatValues() == [3, 5, 4, 6])
    }

    @Test func failuresNameTheStep() {
        #expect(throws: ReplayError.missingSource(tensor: "ab", source: "zz")) {
            _ = try TransformReplay.apply([.concat(axis: 1, sources: ["a", "zz"], into: "ab")], to: a, tensor: "ab") { _ in nil }
        }
        do {
            _ = try TransformReplay.apply([.cast(from: .f16, to: .f32)], to: a, tensor: "a") { _ in nil }
            Issue.record("a cast from the wrong dtype must fail")
        } catch let ReplayError.transformFailed(tensor, step, _) {
            #expect(tensor == "a" && step == .cast(from: .f16, to: .f32))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: ReplayError.self) {
            _ = try TransformReplay.apply([.reshape(shape: [3])], to: a, tensor: "a") { _ in nil }
        }
    }
}

@Suite struct ReferenceLevelTests {
    let model: NeutralModel
    let recorded: TensorStore

    init() throws {
        model = try loadHFFolder("verifier/original")
        recorded = try loadSafetensors(Fixtures.url("verifier/reference.safetensors"))
    }

    func reference(dropping: [String] = [], replacing: [(String, TensorRef)] = []) throws -> ReferenceOutputs {
        var store = recorded
        for name in dropping { store.remove(name) }
        for (name, t) in replacing { store.set(TensorEntry(name: name, tensor: t, provenance: .init(sourceFile: "ref", sourceName: name))) }
        return ReferenceOutputs(path: "ref.safetensors", tensors: store)
    }

    @Test func aMissingMaskMeansOnesAsInTransformers() throws {
        // Row 2 of the recorded inputs is padded, so without the mask its outputs must differ.
        let level = Verifier().verify(source: model, converted: model, reference: try reference(dropping: ["attention_mask"])).reference
        #expect(level?.inputs.first { $0.name == "attention_mask" }?.origin == "ones (not in the reference)")
        #expect(level?.status == .failed)
    }

    @Test func aReferenceWithoutComparableOutputsFails() throws {
        let report = Verifier().verify(source: model, converted: model, reference: try reference(dropping: ["last_hidden_state"]))
        #expect(!report.passed)
        #expect(report.reference?.status == .failed)
        #expect(report.failures.contains { $0.contains("none of the reference's outputs") })
    }

    @Test func aMisshapenReferenceOutputFails() throws {
        let wrong = floats([Float](repeating: 0, count: 16), [1, 16], label: "x")
        let report = Verifier().verify(source: model, converted: model, reference: try reference(replacing: [("last_hidden_state", wrong)]))
        #expect(report.reference?.status == .failed)
        #expect(report.failures.contains { $0.contains("has shape [2, 6, 16] but [1, 16] was expected") })
    }

    @Test func extraReferenceOutputsAreListedNotCompared() throws {
        let report = Verifier().verify(source: model, converted: model,
                                       reference: try reference(replacing: [("pooler_output", floats([0, 0], [1, 2]))]))
        #expect(report.passed)
        #expect(report.reference?.notCompared == ["pooler_output"])
        #expect(report.reference?.outputs.map(\.name) == ["last_hidden_state"])
        // The terminal says so too, not only report.md.
        let summary = report.terminalSummary()
        #expect(summary.contains("pooler_output: not compared (the converted graph does not produce it)"), "\(summary)")
        #expect(summary.contains("last_hidden_state: max abs"), "\(summary)")
    }
}
