"""Porter's runtime against ONNX Runtime on the same weights and inputs (bench/runtime_vs_ort.sh).

  python bench/runtime_vs_ort.py PORTER WORKDIR [--rounds R] [--repeat N] [--threads T]
                                 [--models bert,gpt2] [--shapes 8x128,1x128]

For each model (transformers 5.24 random init, `save_pretrained` into WORKDIR, never committed) it
exports ONNX with `torch.onnx.export`, writes seeded inputs (safetensors for porter, the same arrays for
ORT), then for each shape runs R INTERLEAVED rounds: `PORTER run MODEL --inputs … --repeat N --threads T
--json` (Porter's own per-pass timer, median of N) and an ONNX Runtime session (intra_op_num_threads=T,
inter_op 1, two warm-up runs, then its median of N `run` calls). Each side runs in a process of its own
(this script with --ort-child for ORT), so neither is alive while the other is timed (an ORT session
held by this process, with its thread pool, no longer shares the machine with Porter's runs). The
order within a round alternates so neither side always runs first. Prints per-round figures, the median ratio porter/ORT and its spread (min..max
over rounds), and checks Porter's output against ORT's within 1e-4 × max(1, max|ref|) (exit 1 if not).
A JSON summary goes to WORKDIR/summary.json."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
from safetensors.numpy import load_file, save_file


def make_models(work, models):
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel
    made = {}
    for name in models:
        folder = os.path.join(work, name)
        onnx_path = os.path.join(work, name + ".onnx")
        torch.manual_seed(0)
        if name == "bert":
            model = BertModel(BertConfig()).eval()  # bert-base: 12 layers, hidden 768, 12 heads
            inputs, output = ["input_ids", "attention_mask", "token_type_ids"], "last_hidden_state"
            vocab = model.config.vocab_size

            class Wrap(torch.nn.Module):
                def __init__(self, m):
                    super().__init__()
                    self.m = m

                def forward(self, input_ids, attention_mask, token_type_ids):
                    return self.m(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
        else:
            model = GPT2LMHeadModel(GPT2Config(use_cache=False)).eval()  # gpt2: 12 layers, 768, vocab 50257
            inputs, output = ["input_ids", "attention_mask"], "logits"
            vocab = model.config.vocab_size

            class Wrap(torch.nn.Module):
                def __init__(self, m):
                    super().__init__()
                    self.m = m

                def forward(self, input_ids, attention_mask):
                    return self.m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
        if not os.path.exists(os.path.join(folder, "config.json")):
            model.save_pretrained(folder, safe_serialization=True)
        if not os.path.exists(onnx_path):
            example = sample_inputs(inputs, vocab, 2, 16)
            args = tuple(torch.from_numpy(example[k]) for k in inputs)
            axes = {k: {0: "batch", 1: "sequence"} for k in inputs + [output]}
            with torch.no_grad():
                torch.onnx.export(Wrap(model), args, onnx_path, input_names=inputs, output_names=[output],
                                  opset_version=17, dynamo=False, dynamic_axes=axes)
        made[name] = {"folder": folder, "onnx": onnx_path, "inputs": inputs, "output": output, "vocab": vocab}
    return made


def sample_inputs(names, vocab, batch, seq, seed=1):
    """Seeded ids; right padding on later rows (row i keeps seq - 8·i tokens, at least half), so the
    masks are exercised without fully masked query rows."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for i in range(batch):
        mask[i, max(seq // 2, seq - 8 * i):] = 0
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros((batch, seq), dtype=np.int64)}
    return {k: out[k] for k in names}


def porter_round(porter, model, inputs_path, out_path, repeat, threads):
    cmd = [porter, "run", model["folder"], "--inputs", inputs_path, "--repeat", str(repeat), "--threads", str(threads), "--json"]
    if out_path:  # only the correctness run writes its outputs (GPT-2's 8×128 logits are 206 MB)
        cmd += ["-o", out_path, "--force"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"porter run failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr}")
    return json.loads(res.stdout)["median_ms"]


def ort_session(onnx_path, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])


def ort_child(onnx_path, inputs_path, repeat, threads):
    """--ort-child: one ORT session in this process, two warm-up runs, prints the median of `repeat`."""
    session, feeds = ort_session(onnx_path, threads), load_file(inputs_path)
    session.run(None, feeds)
    session.run(None, feeds)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times)}))


def ort_round(model, inputs_path, repeat, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--ort-child", model["onnx"], inputs_path, str(repeat), str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"onnxruntime child failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr}")
    return json.loads(res.stdout)["median_ms"]


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--ort-child":
        ort_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("porter")
    p.add_argument("work")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="bert,gpt2")
    p.add_argument("--shapes", default="8x128,1x128")
    a = p.parse_args()
    models = make_models(a.work, a.models.split(","))
    shapes = [tuple(int(v) for v in s.split("x")) for s in a.shapes.split(",")]
    summary = {"rounds": a.rounds, "repeat": a.repeat, "threads": a.threads, "onnxruntime": ort.__version__,
               "torch": torch.__version__, "cases": []}
    failed = False
    for name, model in models.items():
        for batch, seq in shapes:
            feeds = sample_inputs(model["inputs"], model["vocab"], batch, seq)
            inputs_path = os.path.join(a.work, f"{name}-{batch}x{seq}.inputs.safetensors")
            out_path = os.path.join(a.work, f"{name}-{batch}x{seq}.porter.safetensors")
            save_file(feeds, inputs_path)
            session = ort_session(model["onnx"], a.threads)
            ref = session.run(None, feeds)[0]
            del session  # its thread pool must not be alive while the rounds are timed
            # Correctness first: Porter's output vs ORT's.
            porter_round(porter=a.porter, model=model, inputs_path=inputs_path, out_path=out_path, repeat=1,
                         threads=a.threads)
            got = load_file(out_path)[model["output"]]
            tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
            diff = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max()) if got.shape == ref.shape else float("inf")
            ok = diff <= tol
            failed |= not ok
            print(f"{name} {batch}x{seq}: max|porter-ort| {diff:.3g} (tolerance {tol:.3g}) {'ok' if ok else 'FAILED'}",
                  file=sys.stderr)
            rows = []
            for r in range(a.rounds):
                load = os.getloadavg()[0]
                if r % 2 == 0:
                    pm = porter_round(a.porter, model, inputs_path, None, a.repeat, a.threads)
                    om = ort_round(model, inputs_path, a.repeat, a.threads)
                else:
                    om = ort_round(model, inputs_path, a.repeat, a.threads)
                    pm = porter_round(a.porter, model, inputs_path, None, a.repeat, a.threads)
                rows.append({"porter_ms": pm, "ort_ms": om, "ratio": pm / om, "load1": load})
                print(f"  round {r + 1}: porter {pm:.1f} ms, ort {om:.1f} ms, ratio {pm / om:.2f} (load {load:.1f})",
                      file=sys.stderr)
            ratios = [x["ratio"] for x in rows]
            case = {"model": name, "batch": batch, "seq": seq, "max_abs_diff": diff, "tolerance": tol, "match": ok,
                    "porter_median_ms": statistics.median(x["porter_ms"] for x in rows),
                    "ort_median_ms": statistics.median(x["ort_ms"] for x in rows),
                    "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
                    "load_min": min(x["load1"] for x in rows), "load_max": max(x["load1"] for x in rows),
                    "rounds": rows}
            summary["cases"].append(case)
            print(f"{name} {batch}x{seq}: porter {case['porter_median_ms']:.1f} ms, ort {case['ort_median_ms']:.1f} ms, "
                  f"ratio median {case['ratio_median']:.2f} (spread {case['ratio_min']:.2f}..{case['ratio_max']:.2f}), "
                  f"load {case['load_min']:.1f}..{case['load_max']:.1f}, outputs {'match' if ok else 'DIFFER'}")
    with open(os.path.join(a.work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
