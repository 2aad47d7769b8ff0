"""PyTorch baseline for bench/verify_bert_base.sh: the work `porter verify` does on an
f32 → f16 conversion of BERT-base, done with torch (CPU, 2 threads): compare every
converted tensor with the source re-cast, load both models, run both forward on
batch 2 × seq 8 inputs with one padded row, compare the outputs.

Weights are random (BertConfig defaults, made here; nothing downloaded)."""
import json
import time

import torch
from transformers import BertConfig, BertModel

torch.set_num_threads(2)
torch.manual_seed(0)
cfg = BertConfig(attn_implementation="eager")
source = BertModel(cfg, add_pooling_layer=False).eval().state_dict()
converted = {k: v.half() for k, v in source.items()}  # what the conversion wrote

# Module construction (and its random init) is left out of the timing: Porter has no
# equivalent step, so this favours torch.
a = BertModel(cfg, add_pooling_layer=False).eval()
b = BertModel(cfg, add_pooling_layer=False).eval()

start = time.perf_counter()
# Weights level.
ok = all(torch.equal(v.half(), converted[k]) for k, v in source.items()) and set(source) == set(converted)
weights_seconds = time.perf_counter() - start
# Forward level.
a.load_state_dict(source)
b.load_state_dict({k: v.float() for k, v in converted.items()})
g = torch.Generator().manual_seed(1)
ids = torch.randint(1, cfg.vocab_size, (2, 8), generator=g)
mask = torch.ones(2, 8, dtype=torch.int64)
mask[1, 6:] = 0
with torch.no_grad():
    ea = a(input_ids=ids, attention_mask=mask).last_hidden_state
    eb = b(input_ids=ids, attention_mask=mask).last_hidden_state
close = torch.allclose(eb, ea, atol=1e-2, rtol=1e-2)
elapsed = time.perf_counter() - start
print(json.dumps({"engine": "torch", "case": "f32→f16 cast", "weights_equal": ok, "outputs_close": close,
                  "max_abs": float((ea - eb).abs().max()), "weights_seconds": round(weights_seconds, 3), "seconds": round(elapsed, 3)}))
