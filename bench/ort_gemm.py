"""ONNX Runtime's GEMM (MLAS) alone on the runtime's GPT-2 / BERT-base shapes: a one-node Gemm model
(y = x·W + b, random weights), intra_op_num_threads=2, best of ROUNDS runs (at most 10 for the LM
head's shapes), GFLOP/s. The peer of bench/packed_gemm.sh (Porter's packed GEMM and oneDNN on the
same shapes).

  fixtures/generate/.venv-onnx/bin/python bench/ort_gemm.py [ROUNDS]      (default 20)
"""
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SHAPES = [(1024, 768, 768), (1024, 3072, 768), (1024, 768, 3072), (1024, 2304, 768), (1024, 50257, 768),
          (128, 50257, 768)]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rng = np.random.default_rng(0)
    for m, n, k in SHAPES:
        w = rng.random((k, n), dtype=np.float32) - 0.5
        b = rng.random(n, dtype=np.float32)
        graph = helper.make_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"])], "gemm",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
                                  [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = 2, 1
        session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        x = rng.random((m, k), dtype=np.float32)
        session.run(None, {"x": x})
        best = float("inf")
        for _ in range(rounds if m * n < 10_000_000 else min(rounds, 10)):
            start = time.perf_counter()
            session.run(None, {"x": x})
            best = min(best, time.perf_counter() - start)
        print(f"{m:4d} x {n:5d} x {k:4d}  ORT {2 * m * n * k / best / 1e9:5.0f} GFLOP/s ({best * 1e3:.3f} ms)", flush=True)


if __name__ == "__main__":
    main()
