"""PyTorch side of bench/runtime_bert_base.sh: BERT-base with random weights (no
download), eval mode, no grad, on CPU with a fixed thread count. Prints one JSON line."""
import argparse
import json
import time

import torch
from transformers import BertConfig, BertModel

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--layers", type=int, default=12)
p.add_argument("--iterations", type=int, default=5)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = BertModel(BertConfig(num_hidden_layers=a.layers), add_pooling_layer=False).eval()
ids = torch.randint(0, 30522, (a.batch, a.seq))
mask = torch.ones_like(ids)
types = torch.zeros_like(ids)
times, cpu = [], []
with torch.inference_mode():
    for _ in range(a.warmup):
        model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    for _ in range(a.iterations):
        start, cpu_start = time.perf_counter(), time.process_time()
        model(input_ids=ids, attention_mask=mask, token_type_ids=types)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
s = sorted(times)
print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "attn": model.config._attn_implementation,
                  "batch": a.batch, "seq": a.seq, "layers": a.layers, "threads": torch.get_num_threads(),
                  "seconds": [round(t, 4) for t in times], "median": round(s[len(s) // 2], 4), "min": round(s[0], 4),
                  "cpu_seconds_median": round(sorted(cpu)[len(cpu) // 2], 4)}))
