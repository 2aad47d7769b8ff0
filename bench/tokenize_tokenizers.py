"""The Rust `tokenizers` library's side of bench/tokenize.sh: encode_batch over every line of a text file
(without special tokens), one JSON line per round with the same checksum as porter-bench-tokenize.
Set RAYON_NUM_THREADS=1 for one thread."""
import json
import sys
import time

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[1])
data = open(sys.argv[2], "rb").read()
lines = data.decode("utf-8").split("\n")
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
for r in range(rounds):
    t0, c0 = time.perf_counter(), time.process_time()
    encs = tok.encode_batch(lines, add_special_tokens=False)
    s, cpu = time.perf_counter() - t0, time.process_time() - c0
    count, total = 0, 0
    for e in encs:
        count += len(e.ids)
        for i in e.ids:
            total = (total * 1_000_003 + i) % (1 << 64)
    print(json.dumps({"engine": "tokenizers", "round": r, "seconds": round(s, 3), "cpu_seconds": round(cpu, 3), "mb_per_s": round(len(data) / 1e6 / s, 2),
                      "tokens": count, "checksum": total}))
