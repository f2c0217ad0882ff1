#!/usr/bin/python3
"""Loads an exported candidate with plain PyTorch and measures it.

Usage: check_torchscript.py MODEL.pt DATA_DIR TEST_SAMPLES

Reads meta.json from the archive's extra files, checks it, evaluates the
module on the first TEST_SAMPLES images of Fashion-MNIST's test file (raw
pixels scaled to [0, 1]; the module normalizes) and prints one JSON line:
{"accuracy": ..., "meta": {...}}. Uses Debian's python3-torch (1.13).
"""
import gzip
import json
import struct
import sys

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def main():
    model_path, data_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    extra = {"meta.json": ""}
    module = torch.jit.load(model_path, map_location="cpu", _extra_files=extra)
    meta = json.loads(extra["meta.json"])
    for key in ("input_shape", "class_names", "genotype", "metrics"):
        if key not in meta:
            raise SystemExit(f"meta.json lacks {key}")
    module.eval()
    images = read_idx(f"{data_dir}/t10k-images-idx3-ubyte.gz")[:n]
    labels = read_idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz")[:n]
    c, h, w = meta["input_shape"][1:]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(-1, c, h, w)
    y = torch.from_numpy(labels.astype(np.int64))
    correct = 0
    with torch.no_grad():
        for b in range(0, len(x), 250):
            logits = module(x[b:b + 250])
            if logits.shape[1] != len(meta["class_names"]):
                raise SystemExit("logits do not match class_names")
            correct += int((logits.argmax(1) == y[b:b + 250]).sum())
    print(json.dumps({"accuracy": correct / len(x), "meta": meta}))


if __name__ == "__main__":
    main()
