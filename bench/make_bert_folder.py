"""Writes a BERT-base-shaped Hugging Face folder (random weights, config.json +
model.safetensors, ~440 MB) and an inputs file for `porter run`. Never committed.

Usage: python bench/make_bert_folder.py OUT_DIR INPUTS.safetensors BATCH SEQ"""
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

out, inputs, batch, seq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
model = BertModel(BertConfig())  # bert-base: 12 layers, hidden 768, 12 heads, vocab 30522
model.save_pretrained(out, safe_serialization=True)
g = torch.Generator().manual_seed(1)
save_file({
    "input_ids": torch.randint(0, 30522, (batch, seq), generator=g, dtype=torch.int64),
    "attention_mask": torch.ones(batch, seq, dtype=torch.int64),
    "token_type_ids": torch.zeros(batch, seq, dtype=torch.int64),
}, inputs)
print(out, inputs, file=sys.stderr)
