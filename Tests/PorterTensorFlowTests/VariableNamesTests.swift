import Foundation
import PorterCore
import PorterMapping
import PorterTensorFlow
import PorterTestSupport
import Testing

/// A transformers TF model saved with `save_weights` (object-based checkpoint): named by
/// TensorFlow variable names (`--read-option names=variables`), it maps to transformers'
/// PyTorch names through `hf-tf-to-pt` exactly as transformers' own converter does.
@Suite struct VariableNamesTests {
    static let url = Fixtures.url("tensorflow/hf_tf_bert/ckpt")

    static func read(names: String?) throws -> NeutralModel {
        try TensorFlowCheckpointReader().read(url, options: ReadOptions(extra: names.map { ["names": $0] } ?? [:]))
    }

    @Test func variableNamesAreKerasWeightNames() throws {
        let keras = Set(Expected.json["hf_tf_bert_weight_names"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(keras.count == 39)
        #expect(Set(try Self.read(names: "variables").tensors.names) == keras)
        // The default stays the object paths, and says how to get the other spelling.
        let objects = try Self.read(names: nil)
        #expect(objects.tensors["bert/embeddings/weight"] != nil)
        #expect(objects.notes.contains { $0.contains("names=variables") })
    }

    @Test func hfTFToPTThroughTheEngineMatchesTransformers() throws {
        let source = try Self.read(names: "variables")
        let mapping = try Mapping.load("hf-tf-to-pt", searchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")])
        let (mapped, accounting) = try MappingEngine(mapping).apply(to: source)
        #expect(accounting.unmapped.isEmpty && accounting.dropped.isEmpty)
        let facts = try #require(Expected.json["hf_tf_to_pt"]?.objectValue)
        #expect(mapped.tensors.count == facts.count)
        for (tfName, f) in facts {
            let pt = try #require(f["pt"]?.stringValue)
            let out = try #require(mapped.tensors[pt], "\(tfName) → \(pt) missing")
            let tfShape = f["shape"]?.arrayValue?.compactMap(\.intValue) ?? []
            let transposed = f["transpose"]?.stringValue == "SIMPLE"
            #expect(out.tensor.shape.dims == (transposed ? tfShape.reversed() : tfShape), "\(pt)")
            let original = try #require(source.tensors[tfName]).tensor
            let expected = transposed ? try original.transposed([1, 0], name: tfName) : original
            #expect(try tensorDigest(out.tensor) == tensorDigest(expected), "\(pt) values")
        }
    }

    @Test func unknownNamingIsATypedError() {
        #expect(throws: TensorFlowError.badOption(path: Self.url.path + ".index", option: "names", value: "keras", expected: "objects or variables")) {
            _ = try Self.read(names: "keras")
        }
    }
}
