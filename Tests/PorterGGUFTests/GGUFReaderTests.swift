import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterTestSupport
@testable import PorterGGUF

/// Files written by gguf-py (fixtures/generate/gen_gguf.py), compared with what gguf-py's
/// own reader and `gguf.quants.dequantize` produced (fixtures/gguf/expected.json).
@Suite struct GGUFReaderTests {
    static let expected = try! Fixtures.json("gguf/expected.json")

    @Test(arguments: ["types.gguf", "v2.gguf"])
    func everyTypeMatchesGGUFPy(file: String) throws {
        let model = try GGUFReader().read(Fixtures.url("gguf/" + file))
        guard case let .object(types)? = Self.expected["types.gguf"] else { Issue.record("no expectations"); return }
        #expect(model.tensors.count == types.count)
        for (name, e) in types.sorted(by: { $0.key < $1.key }) {
            guard let t = model.tensors[name] else { Issue.record("\(name) missing"); continue }
            #expect(t.tensor.dtype.rawValue == e["dtype"]?.stringValue, "\(name)")
            #expect(t.tensor.shape.dims == e["shape"]?.arrayValue?.compactMap(\.intValue), "\(name)")
            #expect(try tensorDigest(t.tensor) == e["sha256"]?.stringValue, "\(name) (\(e["ggml_type"]?.stringValue ?? "")) differs from gguf-py")
        }
    }

    @Test func plainTypesAreZeroCopyAndQuantizedAreDeferred() throws {
        let model = try GGUFReader().read(Fixtures.url("gguf/types.gguf"))
        for name in ["f32", "f16", "bf16", "i64"] {
            guard case .file = model.tensors[name]?.tensor.storage.backing else { Issue.record("\(name) not a file range"); continue }
        }
        guard case .deferred = model.tensors["q4_k"]?.tensor.storage.backing else { Issue.record("q4_k not deferred"); return }
    }

    @Test func dimensionOrderIsReversed() throws {
        let model = try GGUFReader().read(Fixtures.url("gguf/types.gguf"))
        let cube = try #require(model.tensors["cube"])
        #expect(cube.tensor.shape.dims == [2, 3, 4])
        #expect(try cube.tensor.floatValues() == (0..<24).map(Float.init))
    }

    @Test func metadataEveryValueType() throws {
        let model = try GGUFReader().read(Fixtures.url("gguf/metadata.gguf"))
        guard case let .object(keys)? = Self.expected["metadata.gguf"]?["keys"] else { Issue.record("no expectations"); return }
        let config = try #require(model.config.objectValue)
        for (key, e) in keys {
            let value = try #require(config[key], "\(key) missing")
            let types = e["types"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if types.first == "ARRAY", types.count > 2 { continue }  // gguf-py flattens nested arrays; checked below
            if key == "test.u64" {
                #expect(value == .string("18446744073709551615"))
            } else if case let .double(d)? = e["value"] {
                #expect(value.doubleValue == d, "\(key)")
            } else {
                #expect(value == e["value"], "\(key)")
            }
        }
        let nested = try #require(Self.expected["metadata.gguf"]?["written_nested"]?.objectValue)
        for (key, v) in nested { #expect(config[key] == v, "\(key)") }
        let parsed = try GGUFFile.parse(OpenFile(path: Fixtures.url("gguf/metadata.gguf").path))
        #expect(parsed.alignment == Self.expected["metadata.gguf"]?["alignment"]?.intValue)
        #expect(parsed.dataStart == Self.expected["metadata.gguf"]?["data_offset"]?.intValue)
        #expect(parsed.value("test.i8") == .int8(-100))
        #expect(parsed.value("test.f32") == .float32(0.1))
        if case let .array(type, items)? = parsed.value("test.array_nested") {
            #expect(type == .array)
            #expect(items.first == .array(.int32, [.int32(1), .int32(2)]))
        } else { Issue.record("test.array_nested is not an array") }
    }

    @Test func refusedTypeNamed() throws {
        #expect {
            _ = try GGUFReader().read(Fixtures.url("gguf/refused.gguf"))
        } throws: { e in
            (e as? GGUFError)?.caseName == "unsupportedTensorType" && e.localizedDescription.contains("IQ4_NL")
        }
    }

    @Test func pipelineDetectsAndInspects() throws {
        let report = try Pipeline().inspect(Fixtures.url("gguf/metadata.gguf"))
        let text = report.text()
        #expect(report.format == "gguf")
        #expect(text.contains("general.architecture: \"gpt2\""))
        #expect(text.contains("tokenizer.ggml.model: gpt2"))
        #expect(text.contains("tokenizer.ggml.pre: gpt-2"))
        #expect(text.contains("tensor types: F32×1"))
        #expect(text.contains("tokenizer.chat_template"))
    }

    @Test func scanFlagsChatTemplateForReview() throws {
        let withTemplate = try Pipeline().scan(Fixtures.url("gguf/metadata.gguf"))
        #expect(withTemplate.verdict.rawValue == "review")
        #expect(withTemplate.findings.contains { $0.reason.contains("Jinja chat template") && $0.reason.contains("tokenizer.chat_template") })
        let plain = try Pipeline().scan(Fixtures.url("gguf/types.gguf"))
        #expect(plain.verdict.rawValue == "safe")
        #expect(plain.notes.contains { $0.contains("safe — holds no pickle") })
    }
}
