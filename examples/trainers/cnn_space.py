#!/usr/bin/python3
"""A declared search space's trainer: builds a small CNN from the trial's
decisions and trains it on Fashion-MNIST (mode COMMAND, space `custom`).

Decisions (examples/custom_cnn.yaml): depth (conv blocks), width (channels
of the first block, doubled per block), kernel, activation (relu|gelu|silu),
dropout. Parameters: train_samples (default 5000), val_samples (2000).
Reports val_accuracy, loss, a named metric (val_top2) and the network's
MACs and parameters every epoch and with the final line.

Allowed on a worker with
  nas-worker --trainer=cnn=/path/to/examples/trainers/cnn_space.py
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import nas_trial  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import idx_data  # noqa: E402

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def build(d, channels, classes, size):
    layers, c_in, c_out, macs = [], channels, int(d["width"]), 0
    k = int(d["kernel"])
    for _ in range(int(d["depth"])):
        layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False),
                   nn.BatchNorm2d(c_out), ACTIVATIONS[d["activation"]](),
                   nn.MaxPool2d(2)]
        macs += c_in * c_out * k * k * size * size
        size //= 2
        c_in, c_out = c_out, c_out * 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Dropout(float(d.get("dropout", 0.0))), nn.Linear(c_in, classes)]
    macs += c_in * classes
    return nn.Sequential(*layers), macs


def top2(model, x, y):
    model.eval()
    with torch.no_grad():
        hit = (model(x).topk(2, dim=1).indices == y[:, None]).any(1)
    model.train()
    return hit.float().mean().item()


def main():
    trial = nas_trial.load()
    p = trial.parameters
    torch.manual_seed(trial.seed)
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    train_x, train_y, val_x, val_y, test_x, test_y = idx_data.load(
        trial, int(p.get("train_samples", 5000)), int(p.get("val_samples", 2000)))
    shape = trial.input
    model, macs = build(trial.decisions, shape.get("channels", 1),
                        shape.get("classes", 10), shape.get("height", 28))
    params = sum(t.numel() for t in model.parameters())
    lr = float(trial.raw.get("learning_rate") or 0.05)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    g = torch.Generator().manual_seed(trial.seed)
    start = time.time()
    val_acc = loss = 0.0
    for epoch in range(1, trial.epochs + 1):
        loss = idx_data.train_epoch(model, opt, train_x, train_y,
                                    int(trial.raw.get("batch_size") or 128), g)
        val_acc = idx_data.accuracy(model, val_x, val_y)
        print(f"epoch {epoch}: {trial.raw['canonical']} loss {loss:.4f} "
              f"val_accuracy {val_acc:.4f} ({time.time() - start:.1f} s)",
              flush=True)
        # Costs on every line: a trial stopped early keeps them.
        if trial.report(epoch, val_accuracy=val_acc, loss=loss,
                        val_top2=top2(model, val_x, val_y), macs=macs,
                        params=params):
            return
    test_acc = idx_data.accuracy(model, test_x, test_y)
    torch.jit.script(model).save(os.path.join(trial.output_dir, "model.pt"))
    trial.finish(val_accuracy=val_acc, test_accuracy=test_acc, loss=loss,
                 val_top2=top2(model, val_x, val_y), macs=macs, params=params,
                 epochs=trial.epochs)


if __name__ == "__main__":
    main()
