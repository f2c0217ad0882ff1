#!/usr/bin/python3
"""Trains the candidate the worker hands over as TorchScript (nb201 or
mobilenet spaces, mode COMMAND) on Fashion-MNIST with your own recipe.

Allowed on a worker with
  nas-worker --trainer=torchscript=/path/to/examples/trainers/torchscript_fashion_mnist.py
and used by examples/command_nb201.yaml. Parameters (evaluation.command.parameters):
train_samples (default 5000), val_samples (2000), optimizer (sgd|adam).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import nas_trial  # noqa: E402  (stdlib-only helper, client/python)
import torch  # noqa: E402

import idx_data  # noqa: E402


def main():
    trial = nas_trial.load()
    p = trial.parameters
    torch.manual_seed(trial.seed)
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    # The candidate normalizes its input itself when the spec's
    # normalization is explicit (meta.json inside the file says which).
    inside = trial.data.get("normalization") == "explicit"
    train_x, train_y, val_x, val_y, test_x, test_y = idx_data.load(
        trial, int(p.get("train_samples", 5000)), int(p.get("val_samples", 2000)),
        normalize=not inside)
    model = torch.jit.load(trial.model_file)  # untrained, trainable
    lr = float(trial.raw.get("learning_rate") or 0.05)
    if p.get("optimizer", "sgd") == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                              nesterov=True, weight_decay=5e-4)
    batch = int(trial.raw.get("batch_size") or 128)
    g = torch.Generator().manual_seed(trial.seed)
    start = time.time()
    val_acc, loss = 0.0, 0.0
    for epoch in range(1, trial.epochs + 1):
        loss = idx_data.train_epoch(model, opt, train_x, train_y, batch, g)
        val_acc = idx_data.accuracy(model, val_x, val_y)
        print(f"epoch {epoch}: loss {loss:.4f} val_accuracy {val_acc:.4f} "
              f"({time.time() - start:.1f} s)", flush=True)
        if trial.report(epoch, val_accuracy=val_acc, loss=loss):
            return  # stopped early by the controller
    test_acc = idx_data.accuracy(model, test_x, test_y)
    model.save(os.path.join(trial.output_dir, "model.pt"))
    print(f"final: val_accuracy {val_acc:.6f} test_accuracy {test_acc:.6f}",
          flush=True)
    log = os.environ.get("NAS_EXAMPLE_LOG")  # tests read what was printed
    if log:
        with open(log, "a") as f:
            f.write(f"{trial['candidate_id']} {trial.raw['canonical']} "
                    f"{val_acc!r} {test_acc!r}\n")
    trial.finish(val_accuracy=val_acc, test_accuracy=test_acc, loss=loss,
                 epochs=trial.epochs)


if __name__ == "__main__":
    main()
