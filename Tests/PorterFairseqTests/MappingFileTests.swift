import Foundation
import Testing
import PorterCore
import PorterMapping
import PorterTestSupport
@testable import PorterFairseq

/// The shipped mapping file parses and its rules do what docs/formats/fairseq.md says,
/// on tensors made in memory (the fixture tests run it on fairseq's own checkpoints).
@Suite struct MappingFileTests {
    static func mapping() throws -> Mapping {
        try Mapping.load(Fixtures.repositoryRoot.appendingPathComponent("mappings/fairseq-to-fsmt.json").path, searchPaths: [])
    }

    static func tensor(_ values: [Float], _ dims: [Int], _ label: String) -> TensorRef {
        TensorRef.memory(values.withUnsafeBytes { Array($0) }, dtype: .f32, shape: Shape(dims), label: label)
    }

    @Test func parsesWithItsName() throws {
        let m = try Self.mapping()
        #expect(m.name == "fairseq-to-fsmt")
        #expect(m.require.count >= 5)
    }

    @Test func inProjSplitsIntoQKVRows() throws {
        let d = 2
        let w = (0..<(3 * d * d)).map(Float.init)
        let b = (0..<(3 * d)).map { Float($0) + 100 }
        var model = NeutralModel(sourceFormat: "test", sourceFiles: [], config: ["share_decoder_input_output_embed": false, "stored_output_projection": true])
        func add(_ n: String, _ t: TensorRef) throws { try model.tensors.add(TensorEntry(name: n, tensor: t, provenance: Provenance(sourceFile: "t", sourceName: n))) }
        try add("encoder.layers.0.self_attn.in_proj_weight", Self.tensor(w, [3 * d, d], "w"))
        try add("encoder.layers.0.self_attn.in_proj_bias", Self.tensor(b, [3 * d], "b"))
        try add("encoder.version", Self.tensor([3], [1], "v"))
        var mapping = try Self.mapping()
        mapping.require = []  // a partial model: only the split is under test
        let (out, acc) = try MappingEngine(mapping).apply(to: model)
        for (i, p) in ["q", "k", "v"].enumerated() {
            let wp = try #require(out.tensors["model.encoder.layers.0.self_attn.\(p)_proj.weight"])
            #expect(wp.tensor.shape == Shape([d, d]))
            #expect(try wp.tensor.floatValues() == Array(w[(i * d * d)..<((i + 1) * d * d)]))
            let bp = try #require(out.tensors["model.encoder.layers.0.self_attn.\(p)_proj.bias"])
            #expect(try bp.tensor.floatValues() == Array(b[(i * d)..<((i + 1) * d)]))
        }
        #expect(acc.dropped.map(\.name) == ["encoder.version"])
        #expect(out.tensors.count == 6)
    }

    @Test func unknownTensorIsUnmapped() throws {
        var model = NeutralModel(sourceFormat: "test", sourceFiles: [], config: [:])
        try model.tensors.add(TensorEntry(name: "encoder.layer_norm.weight", tensor: Self.tensor([1, 2], [2], "x"),
                                          provenance: Provenance(sourceFile: "t", sourceName: "x")))
        #expect(throws: MappingError.self) { try MappingEngine(Self.mapping()).apply(to: model) }
    }
}
