"""Talk to the NAS worker from your own training program (mode COMMAND).

Standard library only, one file: put it on PYTHONPATH (or copy it next to
your script). The worker runs your program once per trial and hands it the
trial as a JSON file; your program reports one line per epoch and a final
line. This module reads and writes those files; the formats are documented
in docs/SPEC.md ("Your training code"), so a trainer in another language
needs nothing from here.

    import nas_trial

    trial = nas_trial.load()
    model = build(trial.decisions)          # {"depth": 3, "act": "relu"}
    for epoch in range(1, trial.epochs + 1):
        loss = train_one_epoch(model)
        acc = evaluate(model)
        if trial.report(epoch, val_accuracy=acc, loss=loss):
            break                           # the controller said STOP
    trial.finish(val_accuracy=acc, test_accuracy=test(model))

`report` returns True when the search stopped the trial early (median rule
or ASHA). The worker also sends SIGTERM to the program's process group then
and SIGKILL after the experiment's grace period, so a program that does not
look at the answer is stopped all the same.
"""

import json
import math
import os

__all__ = ["Trial", "load", "TrialError"]


class TrialError(RuntimeError):
    """The trial file is missing or malformed, or a report is invalid."""


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrialError(f"metric {name!r} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise TrialError(f"metric {name!r} must be finite, got {value!r}")
    return value


class Trial:
    """One trial as handed over by the worker (see load())."""

    def __init__(self, data, report_path=None, control_fd=None):
        self._data = data
        self._report_path = report_path
        self._control_fd = control_fd
        self._report = None
        self._last_epoch = 0

    # The hand-over, as attributes.
    @property
    def raw(self):
        """The whole trial file as a dict."""
        return self._data

    @property
    def decisions(self):
        """The architecture: decision name -> chosen value."""
        return self._data.get("decisions", {})

    @property
    def parameters(self):
        """The spec's evaluation.command.parameters (typed)."""
        return self._data.get("parameters", {})

    @property
    def seed(self):
        return int(self._data.get("seed", 1))

    @property
    def epochs(self):
        return int(self._data.get("epochs", 1))

    @property
    def output_dir(self):
        """Write files here; a `model.pt` left here becomes the kept model."""
        return self._data.get("output_dir", ".")

    @property
    def model_file(self):
        """Untrained TorchScript of the candidate (built-in spaces), or None.

        torch.jit.load(trial.model_file) gives a trainable module.
        """
        return self._data.get("model_file")

    @property
    def progress_metric(self):
        """The metric every report must carry (the objective's)."""
        return self._data.get("progress_metric", "val_accuracy")

    @property
    def final_training(self):
        """True for a final re-training (train on train + validation)."""
        return bool(self._data.get("final_training", False))

    @property
    def input(self):
        """{"channels", "height", "width", "classes"} of the spec's data."""
        return self._data.get("input", {})

    @property
    def data(self):
        """The spec's evaluation.data (format and file paths)."""
        return self._data.get("data", {})

    def __getitem__(self, key):
        return self._data[key]

    # Reporting.
    def _write(self, record):
        if self._report_path is None:
            return
        if self._report is None:
            self._report = open(self._report_path, "a", buffering=1)
        self._report.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._report.flush()

    def _answer(self):
        if self._control_fd is None:
            return False
        line = b""
        while not line.endswith(b"\n"):
            try:
                chunk = os.read(self._control_fd, 1)
            except OSError:
                return False
            if not chunk:
                return False
            line += chunk
        return line.strip() == b"stop"

    def report(self, epoch, loss=None, **metrics):
        """Reports one finished epoch; True when the trial should stop.

        `metrics` must include the progress metric (val_accuracy unless the
        experiment's objective names another); any other numbers are
        recorded as named metrics.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
            raise TrialError(f"epoch must be an integer >= 1, got {epoch!r}")
        if epoch <= self._last_epoch:
            raise TrialError(
                f"epoch {epoch} is not after the last one ({self._last_epoch})")
        if self.progress_metric not in metrics:
            raise TrialError(
                f"report(epoch={epoch}) needs {self.progress_metric}=...")
        record = {"epoch": epoch}
        if loss is not None:
            record["loss"] = _number("loss", loss)
        for name, value in metrics.items():
            record[name] = _number(name, value)
        self._last_epoch = epoch
        self._write(record)
        return self._answer()

    def finish(self, **metrics):
        """Reports the final metrics; call once, at the end.

        Must include the progress metric. Known names (val_accuracy,
        test_accuracy, val_balanced_accuracy, val_macro_f1, macs, params,
        latency_ms, epochs, loss, ...) fill the result's fields; other
        numbers become named metrics. `val_class_recall` may be a list.
        """
        if self.progress_metric not in metrics:
            raise TrialError(f"finish() needs {self.progress_metric}=...")
        record = {"final": True}
        for name, value in metrics.items():
            if name == "val_class_recall":
                record[name] = [_number(name, v) for v in value]
            else:
                record[name] = _number(name, value)
        self._write(record)
        if self._report is not None:
            self._report.close()
            self._report = None


def load(path=None):
    """Reads the trial the worker handed over ($NAS_TRIAL_FILE, or `path`).

    Outside a worker (no NAS_REPORT_FILE), reports are not written and
    report() never asks to stop, so a script can be tried by hand with a
    trial file of your own.
    """
    path = path or os.environ.get("NAS_TRIAL_FILE")
    if not path:
        raise TrialError(
            "no trial: NAS_TRIAL_FILE is not set (run under nas-worker "
            "--trainer=NAME=PATH, or pass load(path))")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise TrialError(f"cannot read trial file {path}: {e}") from e
    if not isinstance(data, dict):
        raise TrialError(f"trial file {path} is not a JSON object")
    control = os.environ.get("NAS_CONTROL_FD")
    return Trial(data,
                 report_path=os.environ.get("NAS_REPORT_FILE"),
                 control_fd=int(control) if control else None)
