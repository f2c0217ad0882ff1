// ControllerOptions: the settings of the controller and of each of its
// parts (scheduler, dispatch, result intake, experiments). A plain value,
// copied into each part at construction.
#ifndef NAS_CONTROLLER_CONTROLLER_OPTIONS_H_
#define NAS_CONTROLLER_CONTROLLER_OPTIONS_H_

#include <cstdint>

#include "absl/time/time.h"
#include "controller/metrics.h"

namespace nas {

struct ControllerOptions {
  // Longest time between two ticks. Default 250 ms.
  absl::Duration tick = absl::Milliseconds(250);
  // Shortest time between two ticks woken by new results: results that
  // arrive meanwhile are observed, counted and replaced by one tick (fewer
  // statements per trial with many fast workers). Default 10 ms.
  absl::Duration min_tick = absl::Milliseconds(10);
  // A worker counts as alive this long after its last call. Default 30 s
  // (workers long-poll for 5 s and heartbeat every lease_seconds/3).
  absl::Duration worker_alive = absl::Seconds(30);
  // Proposals that are duplicates count towards this cap of stored
  // candidates per experiment: max_trials * 10 + 100. Past it the experiment
  // fails ("search space exhausted").
  int duplicate_factor = 10;
  // Where to count leases, reports, rejections (not owned; must outlive
  // the controller). Default nullptr: no metrics.
  ControllerMetrics* metrics = nullptr;
  // Limits (docs/SECURITY.md); 0 = none. CreateExperiment answers
  // kResourceExhausted while this many experiments are RUNNING.
  int max_running_experiments = 100;
  // Stored candidates per experiment (duplicates and rejected proposals
  // included): CreateExperiment refuses a larger budget.max_trials, and an
  // experiment without max_trials ends when it has stored this many.
  int64_t max_candidates_per_experiment = 10000000;
  // RUNNING leases one worker id may hold; AcquireTrial answers
  // kResourceExhausted, naming the held trials, past it.
  int max_leases_per_worker = 1;
  // Wall-clock seconds one trial attempt may run: the store renews no
  // lease past it (StoreOptions), and CreateExperiment refuses a COMMAND
  // trainer whose timeout_seconds plus grace_seconds exceeds it.
  int max_attempt_seconds = 86400;
  // Rows per page when a restarted controller replays an experiment's
  // proposals and results (memory stays bounded however large the
  // experiment). Default 10000.
  int replay_page = 10000;
  // Largest budget.parallel_trials CreateExperiment accepts
  // (--max_parallel_trials); 0 = only the spec's own [1, 10000]. Default
  // 256.
  int max_parallel_trials = 256;
  // A worker silent this long leaves the registry's memory and, holding no
  // RUNNING trial, the workers table (--worker_retention). Default 1 h.
  absl::Duration worker_retention = absl::Hours(1);
  // The registry never keeps more workers than this: past it the least
  // recently seen are dropped from memory (they are re-read from the store
  // when they call). Default 100000.
  int max_registry_workers = 100000;
  // Serialized bytes a listing response (ListExperiments, ListCandidates)
  // may reach before it stops and returns a next_page_token. Default 4 MiB
  // (the server sets min(--max_message_mib / 4, 4 MiB)).
  int64_t max_response_bytes = int64_t{4} << 20;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_CONTROLLER_OPTIONS_H_
