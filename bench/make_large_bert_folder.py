"""Writes a BERT-shaped Hugging Face folder whose f32 weights pass 2 GiB (random weights,
42 layers, hidden 1024: ~2.2 GB), for bench/onnx_large_export.sh. Never committed.

Usage: python bench/make_large_bert_folder.py OUT_DIR"""
import sys

import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(hidden_size=1024, num_hidden_layers=42, num_attention_heads=16, intermediate_size=4096)
model = BertModel(config, add_pooling_layer=True)
model.save_pretrained(sys.argv[1], safe_serialization=True, max_shard_size="10GB")
print(sys.argv[1], sum(p.numel() for p in model.parameters()) * 4, "bytes", file=sys.stderr)
