import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterSafetensors
import PorterTestSupport
@testable import PorterGGUF

/// Gemma, Gemma 2, Qwen2 and Llama with Llama 3 rope scaling against the GGUF files llama.cpp's own `convert_hf_to_gguf.py` wrote
/// for the same tiny checkpoints (fixtures/gguf/families, fixtures/generate/gen_gguf_families.py):
/// Porter's HF → GGUF has llama.cpp's tensors byte for byte (Gemma's norm weights stored as
/// `1 + w`) and its hyperparameter keys; llama.cpp's file reads back to the original
/// safetensors bit for bit; and what llama.cpp could not hold is refused, naming why.
@Suite struct FamiliesGGUFTests {
    static let variants = ["gemma", "gemma2", "qwen2", "llama3-rope"]

    func bytes(_ file: GGUFFile, _ t: GGUFFile.TensorInfo) throws -> [UInt8] {
        try OpenFile(path: file.path).read(offset: t.start, count: t.byteCount)
    }

    @Test(arguments: variants)
    func toGGUFHasLlamaCppsTensorsAndKeys(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-families")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("\(variant).gguf")
        let result = try Pipeline().convert(ConvertRequest(source: Fixtures.url("gguf/families/\(variant)"), output: out, to: "gguf"))
        let ours = try GGUFFile.parse(OpenFile(path: out.path))
        let theirs = try GGUFFile.parse(OpenFile(path: Fixtures.url("gguf/families/\(variant)-llamacpp.gguf").path))
        #expect(ours.tensors.map(\.name).sorted() == theirs.tensors.map(\.name).sorted())
        for t in theirs.tensors {
            let o = try #require(ours.tensors.first { $0.name == t.name }, "\(variant): no \(t.name)")
            #expect(o.type == t.type && o.dims == t.dims, "\(variant) \(t.name): \(o.type) \(o.dims) vs llama.cpp's \(t.type) \(t.dims)")
            #expect(try bytes(ours, o) == bytes(theirs, t), "\(variant) \(t.name): bytes differ from llama.cpp's")
        }
        let arch = try #require(theirs.value("general.architecture"))
        #expect(ours.value("general.architecture") == arch)
        guard case let .string(a) = arch else { Issue.record("architecture is not a string"); return }
        let hyper = theirs.metadata.filter { $0.key.hasPrefix(a + ".") }
        #expect(hyper.count >= 8)
        // Left out only where llama.cpp's loader defaults to llama.cpp's value: key/value length
        // default to embedding_length / head_count (Porter writes them when they differ).
        func uint(_ v: GGUFValue?) -> UInt32? { if case let .uint32(x)? = v { return x }; return nil }
        let defaultLength = uint(theirs.value("\(a).embedding_length")).flatMap { e in uint(theirs.value("\(a).attention.head_count")).map { e / $0 } }
        for (key, value) in hyper {
            if ours.value(key) == nil, [".attention.key_length", ".attention.value_length"].contains(where: key.hasSuffix),
               uint(value) == defaultLength { continue }
            #expect(ours.value(key) == value, "\(variant) \(key): \(String(describing: ours.value(key))) vs llama.cpp's \(value)")
        }
        let report = try Pipeline().verify(result, request: VerifyRequest(timestamped: false))
        #expect(report.weights.status == .passed, "\(report.weights.mismatches.map(\.problem))")
        #expect(report.forward.status == .passed, "\(variant): forward \(report.forward.reason ?? "")")
        if variant.hasPrefix("gemma") {
            let norm = try #require(result.convertedModel.tensors["output_norm.weight"])
            #expect(norm.provenance.transforms.contains(.add(value: 1)), "\(norm.provenance.transforms)")
        }
    }

    @Test(arguments: variants)
    func llamaCppsFileReadsBackToTheOriginalBitForBit(variant: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-families")
        defer { try? FileManager.default.removeItem(at: dir) }
        let back = dir.appendingPathComponent("back")
        _ = try Pipeline().convert(ConvertRequest(source: Fixtures.url("gguf/families/\(variant)-llamacpp.gguf"), output: back, to: "hf"))
        let got = try SafetensorsReader().read(back.appendingPathComponent("model.safetensors"), options: ReadOptions())
        let want = try SafetensorsReader().read(Fixtures.url("gguf/families/\(variant)/model.safetensors"), options: ReadOptions())
        #expect(got.tensors.names.sorted() == want.tensors.names.sorted())
        for name in want.tensors.names {
            let w = try #require(want.tensors[name]), g = try #require(got.tensors[name], "\(variant): no \(name)")
            #expect(g.tensor.dtype == w.tensor.dtype && g.tensor.shape == w.tensor.shape, "\(variant) \(name)")
            #expect(try g.tensor.contiguousBytes() == w.tensor.contiguousBytes(), "\(variant) \(name): not bit-equal")
        }
        let config = try JSONValue.parse(Data(contentsOf: back.appendingPathComponent("config.json")))
        let original = try JSONValue.parse(Data(contentsOf: Fixtures.url("gguf/families/\(variant)/config.json")))
        for key in ["model_type", "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "tie_word_embeddings",
                    "query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping", "sliding_window"] where original[key] != nil {
            if key == "head_dim", ["qwen2", "llama3-rope"].contains(variant) { continue }  // hidden / heads: not written back
            #expect(config[key]?.doubleValue == original[key]?.doubleValue && config[key]?.stringValue == original[key]?.stringValue,
                    "\(variant) \(key): \(config[key] ?? .null) vs \(original[key] ?? .null)")
        }
    }

    /// fixtures/llama/gemma has random f32 norm weights: `w + 1` rounds in f32, so the round trip
    /// gives each norm weight back within 2^-24 (half an ulp of 1; the subtraction is exact), and
    /// every other tensor bit for bit.
    @Test func f32GemmaNormsComeBackWithinHalfAnUlpOfOne() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-families")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gguf = dir.appendingPathComponent("gemma.gguf"), back = dir.appendingPathComponent("back")
        let source = Fixtures.url("llama/gemma")
        _ = try Pipeline().convert(ConvertRequest(source: source, output: gguf, to: "gguf"))
        _ = try Pipeline().convert(ConvertRequest(source: gguf, output: back, to: "hf"))
        let got = try SafetensorsReader().read(back.appendingPathComponent("model.safetensors"), options: ReadOptions())
        let want = try SafetensorsReader().read(source.appendingPathComponent("model.safetensors"), options: ReadOptions())
        var inexact = 0
        for name in want.tensors.names {
            let w = try #require(want.tensors[name]).tensor.floatValues(), g = try #require(got.tensors[name], "no \(name)").tensor.floatValues()
            #expect(w.count == g.count)
            if name.hasSuffix("norm.weight") {
                let worst = zip(w, g).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 0x1p-24, "\(name): \(worst)")
                inexact += zip(w, g).filter { $0 != $1 }.count
            } else {
                #expect(w == g, "\(name)")
            }
        }
        #expect(inexact > 0, "random f32 norms should show the rounding of w + 1")
    }

    /// Models llama.cpp would load and compute differently, or refuse: refused before anything
    /// is written, naming the tensor or key.
    @Test(arguments: [("llama/qwen2", "blk.0.attn_q.weight"), ("llama/gemma2", "query_pre_attn_scalar")])
    func whatLlamaCppCannotHoldIsRefused(fixture: String, named: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-families")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("refused.gguf")
        #expect {
            _ = try Pipeline().convert(ConvertRequest(source: Fixtures.url(fixture), output: out, to: "gguf"))
        } throws: { e in
            (e as? GGUFError)?.caseName == "unwritable" && e.localizedDescription.contains(named)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// Llama 3 rope scaling: llama.cpp's file holds only `rope_freqs.weight` (bit-equal to
    /// Porter's, in `toGGUFHasLlamaCppsTensorsAndKeys`); read back, the factors become transformers'
    /// rope parameters again, and the folder gives transformers' own logits (the reference).
    @Test func llama3RopeFactorsBecomeTheConfigAgain() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-families")
        defer { try? FileManager.default.removeItem(at: dir) }
        let back = dir.appendingPathComponent("back")
        let result = try Pipeline().convert(ConvertRequest(source: Fixtures.url("gguf/families/llama3-rope-llamacpp.gguf"), output: back, to: "hf"))
        #expect(result.convertedModel.tensors["rope_freqs.weight"] == nil)
        let config = try JSONValue.parse(Data(contentsOf: back.appendingPathComponent("config.json")))
        let rope = try #require(config["rope_parameters"])
        #expect(rope["rope_type"]?.stringValue == "llama3")
        #expect(rope["factor"]?.doubleValue == 8 && rope["low_freq_factor"]?.doubleValue == 1 && rope["high_freq_factor"]?.doubleValue == 4)
        #expect(rope["original_max_position_embeddings"]?.intValue == 64)
        let report = try Pipeline().verify(source: back, converted: back,
                                           request: VerifyRequest(reference: Fixtures.url("gguf/families/llama3-rope/reference.safetensors")))
        #expect(report.reference?.status == .passed, "\(report.reference?.reason ?? "")")
    }

    /// Factors that no llama3 rope_scaling gives are refused (not dropped, which would rotate with
    /// unscaled frequencies), naming the tensor; nothing is written.
    @Test func unexplainedRopeFactorsAreRefused() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-families")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("gguf/families/llama3-rope-llamacpp.gguf")
        let file = try GGUFFile.parse(OpenFile(path: source.path))
        let t = try #require(file.tensors.first { $0.name == "rope_freqs.weight" })
        var bytes = [UInt8](try Data(contentsOf: source))
        // The second factor (the smoothed one) nudged by one ulp.
        let at = Int(t.start) + 4
        var v = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        v &+= 1
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
        let tampered = dir.appendingPathComponent("tampered.gguf")
        try Data(bytes).write(to: tampered)
        let out = dir.appendingPathComponent("out")
        #expect {
            _ = try Pipeline().convert(ConvertRequest(source: tampered, output: out, to: "hf"))
        } throws: { e in
            e.localizedDescription.contains("rope_freqs.weight") && e.localizedDescription.contains("match no llama3 rope_scaling")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
