import Foundation
import Testing
import PorterArchitectures
import PorterCore
import PorterTestSupport
@testable import PorterGGUF

/// GGUF metadata ↔ transformers config for the decoder families: the descriptor's
/// `ggufKeyValues` and its inverse `hfConfig(fromGGUF:)` agree on every fixture config
/// (fixtures/llama, made by transformers), and the reader's `--to hf` preparation fails
/// with the missing key named.
@Suite struct LlamaGGUFConfigTests {
    static let cases: [(String, String)] = [
        ("llama", "llama"), ("llama-tied", "llama"), ("llama-bias", "llama"), ("llama-rope-linear", "llama"),
        ("llama-rope-yarn", "llama"), ("gguf/families/qwen2", "qwen2"), ("qwen3", "qwen3"), ("phi3", "phi3"),
        ("gemma", "gemma"), ("gguf/families/gemma", "gemma"), ("gguf/families/gemma2", "gemma2"),
    ]

    static func path(_ variant: String) -> String { variant.contains("/") ? variant : "llama/\(variant)" }

    func roundTrip<D: DecoderDescriptor>(_ d: D, variant: String, names: Set<String>) throws -> (DecoderConfig, DecoderConfig) {
        let json = try JSONValue.parse(Data(contentsOf: Fixtures.url(Self.path(variant) + "/config.json")))
        let original = try d.decode(json)
        let keys = try d.ggufKeyValues(original)
        let back = try #require(try d.hfConfig(fromGGUF: keys, tensorNames: names))
        return (original, try d.decode(back))
    }

    @Test(arguments: cases)
    func metadataReadsBackAsTheSameConfig(variant: String, arch: String) throws {
        let d = try #require(ArchitectureRegistry.standard.descriptor(ggufArchitecture: arch) as? any DecoderDescriptor)
        #expect(d.ggufArchitecture == arch)
        let json = try JSONValue.parse(Data(contentsOf: Fixtures.url(Self.path(variant) + "/config.json")))
        let tied = json["tie_word_embeddings"]?.boolValue ?? false
        var names: Set<String> = ["token_embd.weight", "blk.0.attn_norm.weight"]
        if !tied { names.insert("output.weight") }
        if json["attention_bias"]?.boolValue == true { names.insert("blk.0.attn_q.bias") }
        if json["mlp_bias"]?.boolValue == true { names.insert("blk.0.ffn_gate.bias") }
        let (a, b) = try roundTrip(d, variant: variant, names: names)
        #expect(b.vocabSize == a.vocabSize && b.hiddenSize == a.hiddenSize && b.intermediateSize == a.intermediateSize)
        #expect(b.numHiddenLayers == a.numHiddenLayers && b.numAttentionHeads == a.numAttentionHeads && b.numKeyValueHeads == a.numKeyValueHeads)
        #expect(b.headDim == a.headDim && b.rotaryDim == a.rotaryDim)
        #expect(b.rmsNormEps == a.rmsNormEps, "\(b.rmsNormEps) vs \(a.rmsNormEps)")
        #expect(b.maxPositionEmbeddings == a.maxPositionEmbeddings && b.tieWordEmbeddings == a.tieWordEmbeddings)
        #expect(b.rope.theta == a.rope.theta && b.rope.type == a.rope.type && b.rope.factor == a.rope.factor)
        #expect(b.attentionBias == a.attentionBias && b.mlpBias == a.mlpBias && b.hiddenAct == a.hiddenAct)
        // Gemma 2: llama.cpp's attention scale (1/sqrt(key_length)) and soft-capping keys.
        #expect(b.queryPreAttnScalar == a.queryPreAttnScalar && b.attnLogitSoftcapping == a.attnLogitSoftcapping
                && b.finalLogitSoftcapping == a.finalLogitSoftcapping)
        if arch == "gemma2" { #expect(b.slidingWindow == a.slidingWindow) }
    }

    func model(_ metadata: [String: JSONValue]) -> NeutralModel {
        NeutralModel(sourceFormat: "gguf", sourceFiles: ["/x/m.gguf"], config: .object(metadata))
    }

    static let llamaKeys: [String: JSONValue] = [
        "general.architecture": "llama", "llama.vocab_size": 64, "llama.context_length": 64, "llama.embedding_length": 16,
        "llama.block_count": 2, "llama.feed_forward_length": 24, "llama.attention.head_count": 4,
        "llama.attention.layer_norm_rms_epsilon": .double(1e-5),
    ]

    @Test(arguments: ["llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                      "llama.attention.head_count", "llama.attention.layer_norm_rms_epsilon"])
    func missingKeyIsNamed(key: String) throws {
        var keys = Self.llamaKeys
        keys[key] = nil
        do {
            _ = try GGUFReader().prepared(model(keys), forWriter: "hf")
            Issue.record("no error without \(key)")
        } catch let GGUFError.badMetadata(file, k, reason) {
            #expect(file == "/x/m.gguf" && k == key, "\(k): \(reason)")
            #expect(GGUFError.badMetadata(file: file, key: k, reason: reason).localizedDescription.contains(key))
        }
    }

    @Test func preparedForHFHasConfigAndInverseMapping() throws {
        let p = try #require(try GGUFReader().prepared(model(Self.llamaKeys), forWriter: "hf"))
        #expect(p.mapping == "gguf-to-hf-llama")
        #expect(p.model.config["model_type"] == .string("llama"))
        #expect(p.model.config["num_key_value_heads"] == .int(4))
        #expect(p.model.config["rms_norm_eps"] == .double(1e-5))
        #expect(p.model.config["tie_word_embeddings"] == .bool(true))
        // No special ids in the file: null, never the config class's default (Phi3Config's pad 32000
        // past a 64-token vocabulary made transformers refuse a Phi-3 GGUF converted back).
        for k in ["bos_token_id", "eos_token_id", "pad_token_id"] { #expect(p.model.config[k] == .null, "\(k)") }
        var keys = Self.llamaKeys
        keys["tokenizer.ggml.padding_token_id"] = 3
        #expect(try GGUFReader().prepared(model(keys), forWriter: "hf")?.model.config["pad_token_id"] == .int(3))
        // Other writers get the model as read.
        #expect(try GGUFReader().prepared(model(Self.llamaKeys), forWriter: "safetensors") == nil)
    }

    @Test(arguments: ["gpt2", "bert"])
    func architecturesWithoutReadBackAreRefused(arch: String) throws {
        var keys = Self.llamaKeys
        keys["general.architecture"] = .string(arch)
        #expect {
            _ = try GGUFReader().prepared(model(keys), forWriter: "hf")
        } throws: { error in
            guard case let GGUFError.badMetadata(_, key, reason) = error else { return false }
            return key == "general.architecture" && reason.contains(arch)
        }
    }

    @Test func writerPicksMappingThroughTheDescriptor() throws {
        let hf = NeutralModel(sourceFormat: "hf", sourceFiles: [], config: ["model_type": "qwen2"])
        #expect(GGUFWriter().defaultMapping(for: model(Self.llamaKeys)) == nil)
        // No tensors: nothing to rename.
        #expect(GGUFWriter().defaultMapping(for: hf) == nil)
    }
}
