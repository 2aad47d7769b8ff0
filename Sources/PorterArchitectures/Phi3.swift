import PorterCore

/// transformers' `Phi3ForCausalLM` on the shared decoder graph (`Llama.swift`): q, k and v
/// come from one fused `qkv_proj` (rows q, then k, then v) and the MLP's gate and up from
/// one `gate_up_proj` (gate rows first); `partial_rotary_factor` rotates only the first part
/// of each head. `longrope` scaling (Phi-3 128k) is not supported: the config is refused
/// with the key named.
public struct Phi3Descriptor: DecoderDescriptor {
    public init() {}
    public var family: String { "phi3" }
    public var displayName: String { "Phi-3" }
    public var modelTypes: [String] { ["phi3"] }
    public var architectureNames: [String] { ["Phi3ForCausalLM", "Phi3Model"] }
    public var style: DecoderStyle { DecoderStyle(ggufArchitecture: "phi3", fused: true, window: .all) }

    /// llama.cpp keeps both fusions (`attn_qkv`, and `ffn_up` holding gate and up).
    public var tensorTemplates: [TensorTemplate] {
        func layer(_ hf: String, _ gguf: String, _ shape: [String], kind: TensorKind = .weight) -> TensorTemplate {
            .init("layers.{bid}.\(hf)", gguf: "blk.{bid}.\(gguf)", shape: shape, blocks: "layers", kind: kind)
        }
        return [
            .init("embed_tokens.weight", gguf: "token_embd.weight", shape: ["vocab", "hidden"], kind: .embedding),
            layer("input_layernorm.weight", "attn_norm.weight", ["hidden"], kind: .normScale),
            layer("self_attn.qkv_proj.weight", "attn_qkv.weight", ["qkv", "hidden"]),
            layer("self_attn.o_proj.weight", "attn_output.weight", ["hidden", "q"]),
            layer("post_attention_layernorm.weight", "ffn_norm.weight", ["hidden"], kind: .normScale),
            layer("mlp.gate_up_proj.weight", "ffn_up.weight", ["gate_up", "hidden"]),
            layer("mlp.down_proj.weight", "ffn_down.weight", ["hidden", "intermediate"]),
            .init("norm.weight", gguf: "output_norm.weight", shape: ["hidden"], kind: .normScale),
            .init("lm_head.weight", gguf: "output.weight", shape: ["vocab", "hidden"], head: true, optional: true, tiedTo: "embed_tokens.weight"),
        ]
    }
}
