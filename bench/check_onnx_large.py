"""ONNX Runtime loads a (> 2 GB, external data) model.onnx written by Porter and runs it on a
tiny input; onnx.checker checks it by path (the only way for > 2 GB). Prints one JSON line.

Usage: python bench/check_onnx_large.py OUT_DIR/model.onnx"""
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

path = sys.argv[1]
onnx.checker.check_model(path, full_check=False)
m = onnx.load(path, load_external_data=False)
ext = [i for i in m.graph.initializer if i.data_location == onnx.TensorProto.EXTERNAL]
offsets = [int(next(e.value for e in i.external_data if e.key == "offset")) for i in ext]
t = time.time()
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
load = time.time() - t
names = {i.name for i in sess.get_inputs()}
feeds = {"input_ids": np.arange(1, 9, dtype=np.int64).reshape(1, 8), "attention_mask": np.ones((1, 8), np.int64),
         "token_type_ids": np.zeros((1, 8), np.int64)}
out = sess.run(None, {k: v for k, v in feeds.items() if k in names})[0]
print(json.dumps({"model_onnx_bytes": os.path.getsize(path),
                  "data_bytes": os.path.getsize(os.path.join(os.path.dirname(path), "model.onnx.data")),
                  "initializers": len(m.graph.initializer), "external": len(ext),
                  "offsets_4096_aligned": all(o % 4096 == 0 for o in offsets), "checker": "passed",
                  "ort_load_seconds": round(load, 1), "output_shape": list(out.shape), "output_finite": bool(np.isfinite(out).all())}))
