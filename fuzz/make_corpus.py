#!/usr/bin/env python3
"""Rebuilds fuzz/corpus/<harness>/ (the committed seed corpora) from fixtures/.

Seeds are copies of the fixtures (made by the real frameworks, see fixtures/generate/),
pieces cut out of them (data.pkl of torch zips, safetensors JSON headers), and a few
plain pickles written by this Python's own `pickle` module at protocols 0-5. Standard
library only. Run from anywhere: python3 fuzz/make_corpus.py
"""
import glob
import hashlib
import os
import pickle
import struct
import zipfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
FIX = os.path.join(ROOT, "fixtures")
OUT = os.path.join(FUZZ, "corpus")


def put(harness, name, data):
    folder = os.path.join(OUT, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def copy(harness, *patterns, max_bytes=64 * 1024):
    for pattern in patterns:
        paths = sorted(glob.glob(os.path.join(FIX, pattern)))
        assert paths, f"no fixture matches {pattern}"
        for p in paths:
            data = open(p, "rb").read()
            if len(data) > max_bytes:
                continue
            rel = os.path.relpath(p, FIX).replace(os.sep, "__")
            put(harness, rel, data)


def main():
    # Inputs the fuzzers found (found__*: crashes, hangs, library failures) are kept as they are.
    if os.path.isdir(OUT):
        for folder in os.listdir(OUT):
            for name in os.listdir(os.path.join(OUT, folder)):
                if not name.startswith("found__"):
                    os.remove(os.path.join(OUT, folder, name))

    # JSON: configs, tokenizer files, shard indexes, mapping files, safetensors headers.
    copy("fuzz-json", "architectures/*/config.json", "safetensors/hf/bert/*.json",
         "safetensors/sharded/*.json", "pytorch/sharded/*.json", "mapping/*.json",
         "hdf5/tf_bert_tiny/config.json", "tensorflow/bert_tf1/bert_config.json")
    for p in sorted(glob.glob(os.path.join(FIX, "safetensors/valid/*.safetensors"))):
        data = open(p, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        put("fuzz-json", "header__" + os.path.basename(p) + ".json", data[8:8 + n])
    put("fuzz-json", "edge-numbers.json", b'[0,-0,1e308,-1e-308,1.5E+3,18446744073709551615,-9223372036854775808,"\\u00e9\\ud83d\\ude00"]')

    # numpy: every .npy / .npz fixture (object arrays, Fortran order, big-endian, stored and deflated archives).
    copy("fuzz-numpy", "numpy/*.npy", "numpy/*.npz", "wild-regressions/*.npy")

    # onnx: every .onnx fixture (torch exports, typed-field initializers, external-data entries).
    copy("fuzz-onnx", "onnx/*.onnx", "onnx/import_ops/*.onnx")
    # gguf: every GGUF fixture (all tensor types, every metadata value type, v2, a refused type).
    # GGUF files, and the vocabulary-only ones whose tokenizer metadata the harness builds (gpt2, llama, bert).
    copy("fuzz-gguf", "gguf/*.gguf", "tokenizers/gguf-*/tokenizer.gguf")

    copy("fuzz-safetensors", "safetensors/valid/*.safetensors", "safetensors/malformed/*.safetensors",
         "safetensors/hf/bert/model.safetensors", "safetensors/sharded/*.safetensors")

    # Pickles: every torch zip's data.pkl, the raw pickle fixtures, and stdlib pickles.
    for zname in ["proto4", "proto5", "dtypes", "nested", "list", "tied", "views", "bigendian"]:
        with zipfile.ZipFile(os.path.join(FIX, "pytorch", zname + ".pt")) as z:
            for info in z.infolist():
                if info.filename.endswith(".pkl"):
                    put("fuzz-pickle-vm", f"{zname}__{os.path.basename(info.filename)}", z.read(info))
    copy("fuzz-pickle-vm", "pytorch/*.pkl")
    obj = {"a": [1, 2.5, -3, True, None, "text", b"bytes", (1, 2)], "n": {"x": 1 << 70}}
    for proto in range(0, 6):
        put("fuzz-pickle-vm", f"stdlib_protocol{proto}.pkl", pickle.dumps(obj, protocol=proto))

    copy("fuzz-pickle-scan", "pytorch/*.pkl", "pytorch/mal_*.pt", "pytorch/legacy.pt", "pytorch/proto4.pt",
         "pytorch/legacy_tar.pt", "pytorch/script_deflated.pt")
    for proto in (0, 2, 5):
        put("fuzz-pickle-scan", f"stdlib_protocol{proto}.pkl", pickle.dumps(obj, protocol=proto))

    copy("fuzz-torch-zip", "pytorch/proto4.pt", "pytorch/proto5.pt", "pytorch/dtypes.pt", "pytorch/views.pt",
         "pytorch/tied.pt", "pytorch/list.pt", "pytorch/bigendian.pt", "pytorch/script_deflated.pt",
         "pytorch/sharded/*.bin")
    copy("fuzz-torch-tar", "pytorch/legacy_tar.pt", "pytorch/mal_tar.pt")
    copy("fuzz-torch-legacy", "pytorch/legacy.pt", "pytorch/legacy_sysinfo_be.pt", "pytorch/mal_legacy.pt")

    copy("fuzz-mapping", "mapping/*.json")
    for p in sorted(glob.glob(os.path.join(ROOT, "mappings/*.json"))):
        data = open(p, "rb").read()
        if len(data) <= 16 * 1024:
            put("fuzz-mapping", "mappings__" + os.path.basename(p), data)

    copy("fuzz-fairseq-dict", "fairseq/*/dict.*.txt")
    copy("fuzz-bpecodes", "fairseq/*/bpecodes")
    # tokenizer.json: every trained tokenizer fixture (WordPiece, byte-level BPE with split patterns, Unigram, ...).
    copy("fuzz-tokenizer-json", "tokenizers/*/tokenizer.json", "gguf/llamacpp-tokenize/*/tokenizer.json")
    # tokenizer.model: SentencePiece Unigram and BPE models (byte fallback, unk runs, a precompiled charsmap).
    copy("fuzz-sentencepiece", "tokenizers/*/tokenizer.model")

    # The checkpoint harness's data shard is tensorflow/object's; other indexes still drive the SSTable.
    copy("fuzz-tf-checkpoint", "tensorflow/*/*.index", "tensorflow/*/variables/variables.index")
    copy("fuzz-tf-savedmodel", "tensorflow/keras_mlp/saved_model.pb", "tensorflow/beyond_ops/saved_model.pb")

    copy("fuzz-hdf5", "hdf5/dtypes.h5", "hdf5/split_attrs.h5", "hdf5/mlp_f16.h5", "hdf5/weights_only.h5",
         "hdf5/lambda_model.h5", "hdf5/malformed/*.h5", "hdf5/tf_bert_sharded/*.h5")

    # fuzz-hdf5-checks: [sizes, address u32, vlen count] + file. Seeds: small .h5 fixtures with
    # the address of each of their first version-1 object headers (8-byte sizes), and a
    # synthetic file whose first bytes are a vlen reference into a global-heap collection.
    for pattern in ("hdf5/dtypes.h5", "hdf5/split_attrs.h5", "hdf5/weights_only.h5", "hdf5/mlp_sequential.h5"):
        for path in sorted(glob.glob(os.path.join(FIX, pattern))):
            data = open(path, "rb").read()
            if len(data) > 64 * 1024:
                continue
            found = 0
            for i in range(0, len(data) - 16, 8):
                nmsg, ref, hsize = struct.unpack_from("<HII", data, i + 2)
                if data[i] == 1 and data[i + 1] == 0 and 0 < nmsg < 64 and 0 < ref < 8 and 0 < hsize < len(data):
                    put("fuzz-hdf5-checks", f"{os.path.basename(path)}@{i}", bytes([0x0A]) + struct.pack("<I", i) + bytes([0]) + data)
                    found += 1
                    if found == 4:
                        break
    gcol = b"GCOL" + bytes([1, 0, 0, 0]) + struct.pack("<Q", 4096)
    obj = struct.pack("<HHI", 1, 1, 0) + struct.pack("<Q", 5) + b"hello\0\0\0"
    free = struct.pack("<HHI", 0, 0, 0) + struct.pack("<Q", 4096 - len(gcol) - len(obj))
    heap = gcol + obj + free
    heap += bytes(4096 - len(heap))
    ref = struct.pack("<I", 5) + struct.pack("<Q", 16) + struct.pack("<I", 1)
    put("fuzz-hdf5-checks", "vlen_reference.bin", bytes([0x0A]) + struct.pack("<I", 0) + bytes([1]) + ref + heap)

    # Deduplicate within each corpus (identical fixtures under two names).
    total = 0
    for folder in sorted(os.listdir(OUT)):
        seen = set()
        for name in sorted(os.listdir(os.path.join(OUT, folder))):
            p = os.path.join(OUT, folder, name)
            digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
            if digest in seen:
                os.remove(p)
                continue
            seen.add(digest)
            total += os.path.getsize(p)
        print(f"{folder}: {len(seen)} seeds")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
