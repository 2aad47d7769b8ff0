"""A 2.3 GB bf16 safetensors checkpoint for bench/cast_stream.sh: a 128256 x 3072 embedding
(394 M elements, Llama 3's) and layers of 3072 x 8192 and 3072 x 3072 matrices, random
normal values scaled so some exceed float16's range, plus NaN, infinities and subnormals
in the embedding.

    python bench/make_cast_checkpoint.py OUT.safetensors
"""
import sys

import torch
from safetensors.torch import save_file

torch.manual_seed(14)
tensors = {}
emb = torch.randn(128256, 3072, dtype=torch.float32).mul_(0.02).to(torch.bfloat16)
flat = emb.view(-1)
flat[:8] = torch.tensor([float("nan"), float("inf"), -float("inf"), 1e5, -7e4, 65520.0, 1e-7, -6e-8]).to(torch.bfloat16)
tensors["model.embed_tokens.weight"] = emb
for i in range(24):
    tensors[f"model.layers.{i}.mlp.up_proj.weight"] = torch.randn(8192, 3072, dtype=torch.float32).mul_(3e4).to(torch.bfloat16)
for i in range(16):
    tensors[f"model.layers.{i}.self_attn.q_proj.weight"] = torch.randn(3072, 3072, dtype=torch.float32).mul_(0.05).to(torch.bfloat16)
    tensors[f"model.layers.{i}.input_layernorm.weight"] = torch.ones(3072, dtype=torch.bfloat16)
save_file(tensors, sys.argv[1], metadata={"format": "pt"})
print(sum(t.numel() for t in tensors.values()), "elements")
