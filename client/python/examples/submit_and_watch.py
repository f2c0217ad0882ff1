#!/usr/bin/python3
r"""Submits an experiment, follows WatchExperiment, prints the Pareto front.

With nas-client installed (pip; docs/USER_GUIDE.md, "The Python client"):

    python3 client/python/examples/submit_and_watch.py \
        examples/nb201_tabular_evolution.yaml

or from a build tree without installing:

    PYTHONPATH=build/python-package \
        python3 client/python/examples/submit_and_watch.py SPEC

--json adds one last line: the front as JSON (what the test suite compares
with `nasctl pareto ID --output json`).
"""

import argparse
import json
import sys

from nas_client import Client, ExperimentState, InvalidArgument, NasError


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="experiment spec (YAML)")
    parser.add_argument("--controller", help="HOST:PORT (or NAS_CONTROLLER)")
    parser.add_argument("--json", action="store_true",
                        help="also print the front as one JSON line")
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        spec = f.read()
    with Client(args.controller) as client:
        try:
            experiment = client.submit(spec)
        except NasError as e:
            print(f"submit: {e.details} ({e.code.name})", file=sys.stderr)
            return 2 if isinstance(e, InvalidArgument) else 1
        print(f"experiment {experiment.id} submitted")
        last = experiment
        for event in client.watch(experiment.id):
            last = event.experiment
            n = last.counts
            best = (f"{last.best.metrics.val_accuracy:.4f}"
                    if last.best is not None else "-")
            print(f"  {n.trials_succeeded + n.trials_failed}/"
                  f"{last.spec.budget.max_trials} trials, "
                  f"{n.trials_running} running, best {best}: {event.message}")
        print(f"experiment {experiment.id} ended: {last.state.proto_name}")
        front = client.pareto_front(experiment.id)
        costs = list(front.objectives[1:])
        print(f"Pareto front (maximize val_accuracy, minimize "
              f"{', '.join(costs)}): {len(front.front)} candidates")
        print(f"{'ID':>6} {'VAL_ACC':>8} {'MACS':>12} {'PARAMS':>10} "
              f"{'LATENCY_MS':>10}  GENOTYPE")
        for c in front.front:
            print(f"{c.id:>6} {c.metrics.val_accuracy:>8.4f} "
                  f"{c.metrics.macs:>12} {c.metrics.params:>10} "
                  f"{c.metrics.latency_ms:>10.3f}  {c.genotype.canonical}")
        if args.json:
            print(json.dumps({
                "experiment_id": experiment.id,
                "objectives": list(front.objectives),
                "front": [{"id": c.id,
                           "val_accuracy": c.metrics.val_accuracy,
                           "macs": c.metrics.macs,
                           "genotype": c.genotype.canonical}
                          for c in front.front]}))
        return 1 if last.state is ExperimentState.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
