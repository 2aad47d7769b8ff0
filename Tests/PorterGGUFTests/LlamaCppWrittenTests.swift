import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterTestSupport
@testable import PorterGGUF

/// Files written by llama.cpp's own tools (fixtures/generate/gen_gguf_llamacpp.py):
/// `convert_hf_to_gguf.py --outtype q8_0` and `llama_model_quantize` (Q4_1, and the pure
/// Q2_K, Q3_K_S, Q4_K_S, Q5_K_S, Q6_K mixes whose 32-column matrices llama.cpp falls back to
/// Q4_0, Q5_0, Q5_1 and Q8_0). Each tensor must equal what gguf-py's
/// `gguf.quants.dequantize` made of the same bytes (fixtures/gguf/llamacpp/expected.json).
@Suite struct LlamaCppWrittenTests {
    static let expected = try! Fixtures.json("gguf/llamacpp/expected.json")
    static let files: [String] = expected.objectValue?.keys.sorted() ?? []

    @Test func fixturesArePresent() {
        #expect(Self.files.count == 7)
        for f in Self.files { #expect(FileManager.default.fileExists(atPath: Fixtures.url("gguf/llamacpp/" + f).path), "\(f)") }
    }

    @Test(arguments: files)
    func readsBitEqualToGGUFPy(file: String) throws {
        let model = try GGUFReader().read(Fixtures.url("gguf/llamacpp/" + file))
        let e = try #require(Self.expected[file]?["tensors"]?.objectValue)
        #expect(model.tensors.count == e.count)
        for (name, t) in e.sorted(by: { $0.key < $1.key }) {
            guard let got = model.tensors[name] else { Issue.record("\(file): \(name) missing"); continue }
            let type = t["ggml_type"]?.stringValue ?? ""
            #expect(got.tensor.dtype.rawValue == t["dtype"]?.stringValue, "\(file): \(name) (\(type))")
            #expect(got.tensor.shape.dims == t["shape"]?.arrayValue?.compactMap(\.intValue), "\(file): \(name)")
            #expect(try tensorDigest(got.tensor) == t["sha256"]?.stringValue, "\(file): \(name) (\(type)) differs from gguf-py's dequantize")
        }
    }

    /// Every block type Porter reads has llama.cpp-made bytes among the committed files.
    @Test func everyBlockTypeIsCovered() throws {
        var seen: Set<String> = []
        for f in Self.files {
            let parsed = try GGUFFile.parse(OpenFile(path: Fixtures.url("gguf/llamacpp/" + f).path))
            for t in parsed.tensors { seen.insert(t.type.description) }
        }
        for want in ["F32", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"] {
            #expect(seen.contains(want), "no llama.cpp-written \(want) tensor")
        }
    }

    /// `inspect` reports the histogram gguf-py counted, and the file type llama.cpp wrote.
    @Test(arguments: files)
    func inspectCountsTypes(file: String) throws {
        let report = try Pipeline().inspect(Fixtures.url("gguf/llamacpp/" + file))
        let histogram = try #require(Self.expected[file]?["tensor_types"]?.objectValue)
        let text = report.text()
        for (type, count) in histogram { #expect(text.contains("\(type)×\(count.intValue ?? -1)"), "\(file): \(type)") }
        #expect(text.contains("general.architecture: \"llama\""))
        #expect(report.format == "gguf")
    }
}
