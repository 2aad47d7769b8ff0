import Foundation
import PorterCore
import PorterTensorFlow
import PorterTestSupport
import Testing

/// The wild corpus (docs/wild.md) found musicnn's TF1 Saver checkpoints converted with
/// Adam's slots and beta powers as model weights (86 of 150 tensors). The fixture is a TF1
/// Saver checkpoint after one Adam step (`fixtures/generate/gen_wild_regressions_tf.py`).
@Suite struct WildTF1OptimizerStateTests {
    static let expected = (try? Fixtures.json("wild-regressions-tf/expected.json"))?["model.ckpt"]

    @Test func adamStateIsDroppedWithReasonsAndWeightsKeptBitExact() throws {
        let model = try TensorFlowCheckpointReader().read(Fixtures.url("wild-regressions-tf/model.ckpt"), options: ReadOptions())
        let want = try #require(Self.expected?["tensors"]?.objectValue)
        let optimizer = try #require(Self.expected?["optimizer_state"]?.arrayValue).compactMap(\.stringValue)
        #expect(!optimizer.isEmpty)
        #expect(Set(model.tensors.names) == Set(want.keys))
        for (name, w) in want {
            let t = try #require(model.tensors[name], "\(name) missing").tensor
            #expect(try tensorDigest(t) == w["sha256"]?.stringValue, "\(name)")
        }
        let dropped = Dictionary(model.dropped.map { ($0.name, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(dropped.keys) == Set(optimizer))
        #expect(dropped["dense/kernel/Adam_1"]?.contains("optimizer slot 'Adam_1' of dense/kernel") == true)
        #expect(dropped["beta1_power"]?.contains("optimizer state") == true)
        // Every tensor TensorFlow lists is accounted for: carried or dropped with its reason.
        #expect(model.tensors.names.count + model.dropped.count == want.count + optimizer.count)
    }
}
