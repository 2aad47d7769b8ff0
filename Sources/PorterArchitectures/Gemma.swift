import PorterCore

/// transformers' `GemmaForCausalLM` and `Gemma2ForCausalLM` on the shared decoder graph
/// (`Llama.swift`), with Gemma's differences: RMSNorm scales by `1 + weight`, the
/// embeddings are multiplied by sqrt(hidden_size), the MLP gate is tanh-GELU
/// (`hidden_activation`), the head is tied. Gemma 2 adds RMSNorm after attention and
/// around the MLP, the attention scale `query_pre_attn_scalar^-0.5`, soft-capping
/// `cap · tanh(x / cap)` of the attention scores (`attn_logit_softcapping`) and the logits
/// (`final_logit_softcapping`), and a sliding window on every other layer (`layer_types`).
///
/// GGUF: llama.cpp stores Gemma's norm weights with the 1 already added
/// (`convert_hf_to_gguf.py`); that is a value change a GGUF mapping makes, not a name.
public struct GemmaDescriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "gemma" }
    public var displayName: String { "Gemma" }
    public var modelTypes: [String] { ["gemma"] }
    public var architectureNames: [String] { ["GemmaForCausalLM", "GemmaModel"] }
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "gemma", gemmaNorms: true) }
    public var tensorTemplates: [TensorTemplate] { llamaLayoutTemplates(biases: false, mlpBias: false) }
}

public struct Gemma2Descriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "gemma2" }
    public var displayName: String { "Gemma 2" }
    public var modelTypes: [String] { ["gemma2"] }
    public var architectureNames: [String] { ["Gemma2ForCausalLM", "Gemma2Model"] }
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "gemma2", gemmaNorms: true, sandwichNorms: true, window: .alternating) }
    public var tensorTemplates: [TensorTemplate] { llamaLayoutTemplates(biases: false, mlpBias: false, sandwich: true) }
}
