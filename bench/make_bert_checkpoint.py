"""Writes a BERT-base-sized torch.save zip checkpoint (random weights, ~440 MB) for benchmarks.
Never committed. Usage: python bench/make_bert_checkpoint.py OUT.bin"""
import sys

import torch
from transformers import BertConfig, BertModel

out = sys.argv[1]
torch.manual_seed(0)
model = BertModel(BertConfig())  # bert-base: 12 layers, hidden 768, vocab 30522
torch.save(model.state_dict(), out)
print(out, sum(t.numel() * t.element_size() for t in model.state_dict().values()), "bytes of tensors")
