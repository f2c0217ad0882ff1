"""Fashion-MNIST (or any IDX data) for the example trainers, as tensors.

Reads the files the trial's `data` section names (format idx: train and
test images/labels, gzip or plain), holds out a seeded validation split of
the training set, and normalizes as the spec says. The worker's own split
is not reproduced: a COMMAND trainer owns its split, and never reports an
accuracy measured on the test set as a validation metric.
"""

import gzip
import struct

import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8)
    return data.reshape(dims)


def normalizer(data, train_images):
    mean, std = data.get("mean"), data.get("std")
    if data.get("normalization") == "none":
        return 0.0, 1.0
    if mean and std:
        return float(mean[0]), float(std[0])
    x = train_images.float() / 255.0
    return float(x.mean()), float(x.std())


def load(trial, train_samples, val_samples, normalize=True):
    """(train_x, train_y, val_x, val_y, test_x, test_y) as float/long tensors.

    Images are N x 1 x H x W floats, normalized as the spec says, or left
    in [0, 1] with normalize=False (for a handed-over TorchScript candidate
    that normalizes inside, i.e. when the normalization is explicit).
    """
    data = trial.data
    if data.get("format") != "idx":
        raise ValueError(f"this example reads idx data, not {data.get('format')}")
    images = read_idx(data["train"]["images"])
    labels = read_idx(data["train"]["labels"]).long()
    test_x = read_idx(data["test"]["images"])
    test_y = read_idx(data["test"]["labels"]).long()
    g = torch.Generator().manual_seed(trial.seed)
    order = torch.randperm(images.shape[0], generator=g)
    val_idx = order[:val_samples]
    train_idx = order[val_samples:val_samples + train_samples]
    if trial.final_training:  # train on train + validation
        train_idx = order[:val_samples + train_samples]
    mean, std = normalizer(data, images[train_idx]) if normalize else (0.0, 1.0)

    def prep(x):
        return ((x.float() / 255.0 - mean) / std).unsqueeze(1)

    return (prep(images[train_idx]), labels[train_idx], prep(images[val_idx]),
            labels[val_idx], prep(test_x), test_y)


def accuracy(model, x, y, batch=256):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / max(1, x.shape[0])


def train_epoch(model, opt, x, y, batch_size, generator):
    model.train()
    order = torch.randperm(x.shape[0], generator=generator)
    total, steps = 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        idx = order[i:i + batch_size]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item()
        steps += 1
    return total / max(1, steps)
