"""Run by python_package_test inside a fresh virtual environment where the
nas-client wheel was installed with pip, from a scratch directory with no
PYTHONPATH (python -I): the installed package, not the source tree, against
a real controller. Prints one "ok: ..." line per check; any failure is an
AssertionError (exit 1).

    python -I python_package_check.py --controller HOST:PORT --spec FILE \
        --trials N --version X.Y.Z
"""
import argparse
import importlib.util
import os
import subprocess
import sys

from nas_client import (CandidateState, Client, ExperimentState,
                        InvalidArgument, NasError, NotFound, Unimplemented)
import nas_client


def check(condition, what):
    assert condition, what
    print(f"ok: {what}", flush=True)


def watch_to_end(client, experiment_id):
    events = list(client.watch(experiment_id))
    check(len(events) >= 2 and
          all(isinstance(e.experiment.state, ExperimentState) for e in events),
          f"watch {experiment_id}: {len(events)} events, every state an "
          "ExperimentState member")
    return events[-1].experiment


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--controller", required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--version", required=True)
    args = parser.parse_args()

    # The installed package, with its stubs and type information.
    here = os.path.dirname(nas_client.__file__)
    check(here.startswith(sys.prefix + os.sep) and "site-packages" in here,
          f"nas_client imported from the venv ({here})")
    check(nas_client.__version__ == args.version,
          f"version {nas_client.__version__}")
    import nas.v1.experiment_pb2 as stubs
    check(os.path.dirname(stubs.__file__).startswith(sys.prefix + os.sep),
          "nas.v1 stubs installed with it")
    for f in ("nas_client/py.typed", "nas_client/enums.pyi",
              "nas/v1/experiment_pb2.pyi"):
        check(os.path.exists(os.path.join(os.path.dirname(here), f)),
              f"{f} installed")

    with open(args.spec, encoding="utf-8") as f:
        spec = f.read()
    with Client(args.controller) as client:
        try:
            client.submit(spec.replace(f"max_trials: {args.trials}",
                                       "max_trials: 0"))
            raise AssertionError("a spec with max_trials 0 was accepted")
        except InvalidArgument as e:
            check(e.field == "spec.budget.max_trials" and
                  isinstance(e.line, int),
                  f"InvalidArgument.field {e.field!r}, line {e.line} "
                  f"({e.details})")

        experiment = client.submit(spec)
        check(experiment.state is ExperimentState.RUNNING,
              f"submitted {experiment.id}: {experiment.state}")
        other = client.submit(spec.replace("name: ", "name: other-", 1))
        stopped = client.stop(other.id)
        check(stopped.state is ExperimentState.STOPPED,
              f"stopped {other.id}: {stopped.state}")

        last = watch_to_end(client, experiment.id)
        check(last.state is ExperimentState.SUCCEEDED,
              f"experiment {experiment.id} ended {last.state}")
        done = client.get(experiment.id)
        check(done.state is ExperimentState.SUCCEEDED and done.finished,
              "get: state is ExperimentState.SUCCEEDED")
        check(done.counts.trials_succeeded == args.trials,
              f"{done.counts.trials_succeeded} trials succeeded")

        # Candidates across several pages of 3.
        page = client.candidates_page(experiment.id, page_size=3)
        check(page.total > 3 and page.next_page_token != "",
              f"first page: 3 of {page.total}, with a next page")
        every = list(client.candidates(experiment.id, page_size=3))
        check(len(every) == page.total == done.counts.candidates,
              f"candidates(page_size=3) yields all {len(every)}")
        check([c.seq for c in every] == sorted({c.seq for c in every}),
              "each candidate once, in seq order")
        check(all(isinstance(c.state, CandidateState) for c in every),
              "every candidate state is a CandidateState member")
        evaluated = list(client.candidates(experiment.id, state="EVALUATED",
                                           page_size=2))
        check(len(evaluated) == args.trials and
              all(c.state is CandidateState.EVALUATED for c in evaluated),
              f"{len(evaluated)} EVALUATED candidates")
        check(done.best is not None and
              done.best.id in {c.id for c in evaluated},
              f"best {done.best.id if done.best else None} is evaluated")
        front = client.pareto_front(experiment.id)
        check(len(front) >= 1 and front.objectives[0] == "val_accuracy",
              f"Pareto front of {len(front)}")

        listed = [e.id for e in client.list_experiments(page_size=1)]
        check(sorted(listed) == sorted([experiment.id, other.id]),
              f"list_experiments(page_size=1) yields {listed}")

        try:
            client.get(999999)
            raise AssertionError("get(999999) returned")
        except NotFound as e:
            check(isinstance(e, NasError) and e.code.name == "NOT_FOUND",
                  f"get(999999) raises NotFound: {e}")

        # ExtendExperiment and ListLearningCurves: a controller older than
        # them answers UNIMPLEMENTED.
        try:
            extended = client.extend(experiment.id,
                                     max_trials=args.trials + 2)
        except Unimplemented:
            print("note: ExtendExperiment is UNIMPLEMENTED on this "
                  "controller", flush=True)
        else:
            check(extended.state is ExperimentState.RUNNING,
                  f"extended {experiment.id}: {extended.state}")
            last = watch_to_end(client, experiment.id)
            check(last.state is ExperimentState.SUCCEEDED and
                  last.counts.trials_succeeded == args.trials + 2,
                  f"extended run ended {last.state} with "
                  f"{last.counts.trials_succeeded} trials")
            resumed = client.resume(other.id)
            check(resumed.state is ExperimentState.RUNNING,
                  f"resumed {other.id}: {resumed.state}")
            client.stop(other.id)
        try:
            curves = list(client.learning_curves(experiment.id, page_size=2))
        except Unimplemented:
            print("note: ListLearningCurves is UNIMPLEMENTED on this "
                  "controller", flush=True)
        else:
            check(all(isinstance(c.state, CandidateState) for c in curves),
                  f"{len(curves)} learning curves")

    # Type-check this script against the installed package when Debian's
    # mypy is there (python3-mypy is not a dependency of the project).
    if importlib.util.find_spec("mypy") is None:
        print("note: mypy is not installed; type check skipped", flush=True)
    else:
        r = subprocess.run([sys.executable, "-m", "mypy",
                            "--ignore-missing-imports", __file__],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"mypy: {r.stdout.strip()}")
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
