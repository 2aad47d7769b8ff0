"""A Llama 3.2 3B-shaped checkpoint in transformers' sharded layout, random weights.

    python make_llama_3b.py DIR [bf16|f16]

Writes DIR/config.json (LlamaForCausalLM: hidden 3072, intermediate 8192, 28 layers, 24 heads,
8 key/value heads, vocabulary 128256, tied embeddings, llama3 rope scaling), and
model-0000i-of-00002.safetensors + model.safetensors.index.json (254 tensors, 6.4 GB in bf16),
as Meta's Llama-3.2-3B ships them. Values are seeded random normals * 0.02 (one 32 MiB block
of them tiled), so generation is disk-bound. numpy only.
"""
import json
import pathlib
import struct
import sys

import numpy as np

out = pathlib.Path(sys.argv[1])
dtype = sys.argv[2] if len(sys.argv) > 2 else "bf16"
out.mkdir(parents=True, exist_ok=True)
H, I, L, NH, NKV, V, HD = 3072, 8192, 28, 24, 8, 128256, 128
config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": I,
    "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV, "head_dim": HD,
    "vocab_size": V, "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
    "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "bos_token_id": 128000, "eos_token_id": 128001,
    "rope_theta": 500000.0, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                             "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "torch_dtype": "bfloat16" if dtype == "bf16" else "float16",
}
(out / "config.json").write_text(json.dumps(config, indent=2))

shapes = {"model.embed_tokens.weight": (V, H)}
for b in range(L):
    p = f"model.layers.{b}."
    shapes.update({
        p + "input_layernorm.weight": (H,), p + "self_attn.q_proj.weight": (NH * HD, H),
        p + "self_attn.k_proj.weight": (NKV * HD, H), p + "self_attn.v_proj.weight": (NKV * HD, H),
        p + "self_attn.o_proj.weight": (H, NH * HD), p + "post_attention_layernorm.weight": (H,),
        p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H), p + "mlp.down_proj.weight": (H, I),
    })
shapes["model.norm.weight"] = (H,)

rng = np.random.default_rng(0)
block = (rng.standard_normal(16 << 20, dtype=np.float32) * 0.02)
if dtype == "bf16":
    block = (block.view(np.uint32) >> 16).astype(np.uint16).tobytes()
else:
    block = block.astype(np.float16).tobytes()
names = list(shapes)
total = sum(int(np.prod(s)) * 2 for s in shapes.values())
shards, current, size = [[]], 0, 0
for n in names:  # two shards, split near the middle, as HF's 5 GB default does for this model
    nbytes = int(np.prod(shapes[n])) * 2
    if shards[-1] and size + nbytes > total // 2 + 1 and len(shards) == 1:
        shards.append([])
        size = 0
    shards[-1].append(n)
    size += nbytes
weight_map = {}
for i, shard in enumerate(shards):
    fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for n in shard:
        nbytes = int(np.prod(shapes[n])) * 2
        header[n] = {"dtype": "BF16" if dtype == "bf16" else "F16", "shape": list(shapes[n]), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        weight_map[n] = fname
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(out / fname, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for n in shard:
            left = int(np.prod(shapes[n])) * 2
            while left > 0:
                chunk = block[:min(left, len(block))]
                f.write(chunk)
                left -= len(chunk)
(out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
print(f"{len(names)} tensors, {total} bytes, {len(shards)} shards in {out}")
