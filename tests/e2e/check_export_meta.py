#!/usr/bin/python3
"""Loads an exported candidate with plain PyTorch and prints what it says
about its data: Usage: check_export_meta.py MODEL.pt

Prints one JSON line: the meta.json fields input_shape, class_names,
normalization_mean/std, the number of normalization channels, and the
number of logits the module returns for one input of input_shape (in
[0, 1], as meta.json's input_range says). Uses Debian's python3-torch.
"""
import json
import sys

import torch


def main():
    extra = {"meta.json": ""}
    module = torch.jit.load(sys.argv[1], map_location="cpu",
                            _extra_files=extra)
    meta = json.loads(extra["meta.json"])
    module.eval()
    shape = [int(d) for d in meta["input_shape"]]
    with torch.no_grad():
        logits = module(torch.rand(*shape))
    mean = meta["normalization_mean"]
    std = meta["normalization_std"]
    if not isinstance(mean, list):
        mean, std = [mean], [std]
    print(json.dumps({
        "input_shape": shape,
        "class_names": meta["class_names"],
        "normalization_mean": mean,
        "normalization_std": std,
        "normalization_channels": len(mean),
        "logits": int(logits.shape[1]),
    }))
    if logits.shape[1] != len(meta["class_names"]):
        raise SystemExit("logits do not match class_names")


if __name__ == "__main__":
    main()
