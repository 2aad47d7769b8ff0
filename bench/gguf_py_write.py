"""gguf-py writing the same tensors Porter writes for bench/gguf_3b.sh: llama.cpp's names, the
q/k rows permuted as convert_hf_to_gguf.py's LlamaModel.permute does (a strided view, written
row by row by numpy), BF16/F16 as they are, the same llama.* keys. Tensors are numpy memmaps of
the safetensors shards, so nothing is read before GGUFWriter writes it.

    python gguf_py_write.py HF_DIR OUT.gguf
"""
import json
import pathlib
import re
import struct
import sys

import numpy as np
import gguf

src, out = pathlib.Path(sys.argv[1]), sys.argv[2]
config = json.loads((src / "config.json").read_text())
index = json.loads((src / "model.safetensors.index.json").read_text())
w = gguf.GGUFWriter(out, "llama")
w.add_vocab_size(config["vocab_size"]); w.add_context_length(config["max_position_embeddings"])
w.add_embedding_length(config["hidden_size"]); w.add_block_count(config["num_hidden_layers"])
w.add_feed_forward_length(config["intermediate_size"]); w.add_head_count(config["num_attention_heads"])
w.add_head_count_kv(config["num_key_value_heads"]); w.add_layer_norm_rms_eps(config["rms_norm_eps"])
w.add_rope_freq_base(config["rope_theta"]); w.add_rope_dimension_count(config["head_dim"])
w.add_file_type(32 if "bf16" in config.get("torch_dtype", "bfloat16") else 1)

NAMES = [(r"model\.embed_tokens\.weight", "token_embd.weight"), (r"model\.norm\.weight", "output_norm.weight"),
         (r"lm_head\.weight", "output.weight")]
LAYER = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
         "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
         "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def gguf_name(n):
    for pat, rep in NAMES:
        if re.fullmatch(pat, n):
            return rep
    m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)\.weight", n)
    return f"blk.{m.group(1)}.{LAYER[m.group(2)]}.weight"


def permute(a, n_head):
    return a.reshape(n_head, 2, a.shape[0] // n_head // 2, *a.shape[1:]).swapaxes(1, 2)


shard_names = sorted(set(index["weight_map"].values()))
order = []
for fname in shard_names:
    path = src / fname
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        t = mm[8 + n + a:8 + n + b].view(np.uint16).reshape(e["shape"])
        raw = gguf.GGMLQuantizationType.BF16 if e["dtype"] == "BF16" else gguf.GGMLQuantizationType.F16
        if e["dtype"] == "F16":
            t = t.view(np.float16)
        if name.endswith("q_proj.weight"):
            t = permute(t, config["num_attention_heads"])
        elif name.endswith("k_proj.weight"):
            t = permute(t, config["num_key_value_heads"])
        order.append((gguf_name(name), t, tuple(e["shape"]), raw))
for name, t, shape, raw in order:
    w.add_tensor(name, t, raw_shape=shape, raw_dtype=raw if raw == gguf.GGMLQuantizationType.BF16 else None)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
