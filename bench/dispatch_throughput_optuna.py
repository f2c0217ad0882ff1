#!/usr/bin/python3
"""Optuna's side of bench/dispatch_throughput (run with Debian's /usr/bin/python3:
python3-optuna 3.1, python3-sqlalchemy, python3-psycopg2).

One study in Optuna's RDB storage on the given PostgreSQL database, --procs
worker processes (each `optuna.load_study(...).optimize(objective, ...)`,
the documented way to distribute Optuna), a trivial objective over six
categorical parameters with five choices each (the NAS-Bench-201 cell:
6 edges x 5 operations), RandomSampler (TPE's cost grows with the number of
trials, which would measure the sampler rather than the dispatch) unless
--sampler=tpe. Completed trials are counted in the database (Optuna's
`trials` table, state COMPLETE) at the start and the end of a window after a
warm-up. Prints one JSON line:
  {"procs": P, "sampler": "...", "window_s": W, "completed": C,
   "trials_per_second": C / W, "total_complete": T}
"""
import argparse
import json
import multiprocessing
import sys
import time

import optuna
import psycopg2

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def objective(trial):
    s = 0
    for e in range(6):
        s += OPS.index(trial.suggest_categorical(f"edge{e}", OPS))
    return s / 24.0


def work(url, study_name, sampler, seed, seconds):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler == "tpe":
        smp = optuna.samplers.TPESampler(seed=seed)
    else:
        smp = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.load_study(study_name=study_name, storage=url, sampler=smp)
    study.optimize(objective, n_trials=10**9, timeout=seconds)


def count_complete(dsn):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'")
        return cur.fetchone()[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True,
                   help="SQLAlchemy URL, postgresql://user@host:port/db")
    p.add_argument("--dsn", required=True, help="libpq DSN of the same db")
    p.add_argument("--procs", type=int, default=8)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--window", type=float, default=20)
    p.add_argument("--sampler", choices=["random", "tpe"], default="random")
    p.add_argument("--study", default="dispatch")
    a = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name=a.study, storage=a.url,
                        direction="maximize", load_if_exists=True)
    ctx = multiprocessing.get_context("fork")
    run_for = a.warmup + a.window + 5
    procs = [ctx.Process(target=work,
                         args=(a.url, a.study, a.sampler, 1000 + i, run_for))
             for i in range(a.procs)]
    for pr in procs:
        pr.start()
    # Warm-up: from the first completed trial on (imports and connections
    # of the processes are not counted).
    deadline = time.time() + 120
    while count_complete(a.dsn) == 0 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(a.warmup)
    c0 = count_complete(a.dsn)
    t0 = time.time()
    time.sleep(a.window)
    c1 = count_complete(a.dsn)
    t1 = time.time()
    for pr in procs:
        pr.join(timeout=60)
        if pr.is_alive():
            pr.kill()
    print(json.dumps({
        "procs": a.procs, "sampler": a.sampler, "window_s": t1 - t0,
        "completed": c1 - c0, "trials_per_second": (c1 - c0) / (t1 - t0),
        "total_complete": count_complete(a.dsn),
        "optuna": optuna.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
