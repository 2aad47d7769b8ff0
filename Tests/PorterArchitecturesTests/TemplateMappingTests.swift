import Foundation
import PorterArchitectures
import PorterCore
import PorterMapping
import PorterTestSupport
import Testing

func mapping(_ name: String) throws -> Mapping {
    try Mapping.load(name, searchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")])
}

/// A model of `names`, each a distinct [2, 3] float32 tensor (so a transpose shows as [3, 2]).
func namedModel(_ names: [String], config: JSONValue) throws -> NeutralModel {
    var m = NeutralModel(sourceFormat: "test", sourceFiles: [], config: config)
    for (i, n) in names.enumerated() {
        let values = (0..<6).map { Float(i * 6 + $0) }
        let t = TensorRef(dtype: .f32, shape: [2, 3], storage: .memory(values.withUnsafeBytes { Array($0) }, label: n))
        try m.tensors.add(TensorEntry(name: n, tensor: t, provenance: Provenance(sourceFile: "test", sourceName: n)))
    }
    return m
}

@Suite("Mapping templates expanded from descriptors")
struct TemplateMappingTests {
    /// Tests/Goldens/architectures/tf-h5-renames.json was recorded from the regex files these
    /// templates replaced (scripts/record-tf-h5-renames.py, before the change): same renames,
    /// same transposes, same drops, same names left unmapped.
    @Test("the templates rename the fixture names exactly as the old regex mappings did")
    func sameAsRegexGolden() throws {
        let golden = try JSONValue.parse(Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Tests/Goldens/architectures/tf-h5-renames.json")))
        let cases = try #require(golden["cases"]?.arrayValue)
        #expect(cases.count == 7)
        for c in cases {
            let label = c["case"]?.stringValue ?? "?"
            let renames = try #require(c["renames"]?.objectValue)
            let model = try namedModel(renames.keys.sorted(), config: try #require(c["config"]))
            let m = try mapping(try #require(c["mapping"]?.stringValue))
            let mapped = renames.values.contains { !$0.isNull && $0["drop"] == nil }
            guard mapped else {
                // Nothing maps: the mapping refuses the model, as the old one did.
                #expect(throws: MappingError.self, "\(label)") { _ = try MappingEngine(m).apply(to: model) }
                continue
            }
            let (out, acc) = try MappingEngine(m).apply(to: model, allowUnmapped: true)
            for (source, expected) in renames {
                if expected.isNull {
                    #expect(acc.unmapped.contains { $0.name == source }, "\(label): \(source) should stay unmapped")
                } else if expected["drop"] != nil {
                    #expect(out.dropped.contains { $0.name == source }, "\(label): \(source) should be dropped")
                } else {
                    let target = try #require(expected["to"]?.stringValue)
                    let produced = acc.produced.first { $0.sources == [source] }
                    #expect(produced?.target == target, "\(label): \(source)")
                    let shape = out.tensors[target]?.tensor.shape.dims
                    #expect(shape == (expected["transpose"]?.isNull == false ? [3, 2] : [2, 3]), "\(label): \(source) transpose")
                }
            }
        }
    }

    @Test("GPT-2 maps to TF names and back to the same PyTorch names, Conv1D weights untransposed")
    func gpt2RoundTrip() throws {
        let (config, shapes) = try architectureFixture("gpt2")
        let names = shapes.keys.sorted()
        let (tf, acc) = try MappingEngine(try mapping("hf-pt-to-tf-h5")).apply(to: try namedModel(names, config: config))
        #expect(acc.unmapped.isEmpty)
        #expect(tf.tensors["transformer/tfgp_t2_model/transformer/h_._0/attn/c_attn/weight:0"]?.tensor.shape == [2, 3])
        #expect(tf.tensors["transformer/tfgp_t2_model/transformer/wte/weight:0"] != nil)
        #expect(tf.tensors["transformer/tfgp_t2_model/transformer/ln_f/gamma:0"] != nil)
        let (back, acc2) = try MappingEngine(try mapping("hf-tf-h5-to-pt")).apply(to: tf)
        #expect(acc2.unmapped.isEmpty)
        #expect(back.tensors.names.sorted() == names)
        // A GPT2Model state dict (no prefix) maps only when the config says gpt2.
        let bare = names.map { String($0.dropFirst("transformer.".count)) }
        let (bareTF, _) = try MappingEngine(try mapping("hf-pt-to-tf-h5")).apply(to: try namedModel(bare, config: ["model_type": "gpt2"]))
        #expect(Set(bareTF.tensors.names) == Set(tf.tensors.names))
    }

    @Test("a template rule names a known family and schemes, or the file is refused")
    func badTemplates() throws {
        func parse(_ rule: String) throws -> Mapping {
            try Mapping.parse(Data(#"{"format": "porter-mapping/1", "name": "t", "rules": [\#(rule)]}"#.utf8), path: "t.json")
        }
        let ok = try parse(#"{"template": "bert", "from": "hf-pt", "to": "tf-h5"}"#)
        #expect(ok.rules.count == 2 * 2 * 23)  // 2 model types × (prefixed + unprefixed) × 23 templates with TF names
        #expect(ok.rules.allSatisfy { $0.index == 0 })
        #expect(throws: MappingFileError.invalidRule(path: "t.json", rule: 0, reason: "template: no architecture descriptor 't5' (known: bert, fsmt, gemma, gemma2, gpt2, llama, mistral, phi3, qwen2, qwen3)")) {
            _ = try parse(#"{"template": "t5", "from": "hf-pt", "to": "tf-h5"}"#)
        }
        #expect(throws: MappingFileError.self) { _ = try parse(#"{"template": "bert", "from": "hf-pt", "to": "onnx"}"#) }
        #expect(throws: MappingFileError.self) { _ = try parse(#"{"template": "fsmt", "from": "hf-pt", "to": "tf-h5"}"#) }
        #expect(throws: MappingFileError.self) { _ = try parse(#"{"template": "bert", "from": "hf-pt"}"#) }
        #expect(throws: MappingFileError.self) { _ = try parse(#"{"template": "bert", "from": "hf-pt", "to": "tf-h5", "rename": "x"}"#) }
        #expect(throws: MappingFileError.self) { _ = try parse(#"{"template": 3, "from": "hf-pt", "to": "tf-h5"}"#) }
    }
}
