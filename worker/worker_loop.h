// The worker's life: register with the controller, then repeatedly acquire a
// trial (long poll), evaluate it while heartbeating its lease and reporting
// each epoch, and report the result (retried while the controller is
// unreachable). Single-threaded apart from the heartbeat thread of the
// trial in progress.
//
// Several controllers (an active one and standbys, docs/OPERATIONS.md): the
// worker talks to one address at a time and, after a call fails with
// UNAVAILABLE, moves to the next one of the list (round robin) with a fresh
// channel. A standby does not listen until it holds the leadership lock, so
// the worker ends up on the active controller.
//
// Authentication (docs/SECURITY.md): every call, including heartbeats and
// the FetchArtifact stream, carries `authorization: Bearer <token>` when a
// token is set; an UNAUTHENTICATED or PERMISSION_DENIED answer is never
// retried: RunWorker returns it (main exits non-zero).
#ifndef NAS_WORKER_WORKER_LOOP_H_
#define NAS_WORKER_WORKER_LOOP_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "worker/evaluators/evaluator.h"
#include "worker/metrics.h"

namespace nas {

struct WorkerOptions {
  // Controller addresses, e.g. {"127.0.0.1:50051"}, or an active
  // controller and its standbys; tried in order, moving on after
  // UNAVAILABLE. Must not be empty.
  std::vector<std::string> controllers;
  // Unique id; default hostname-pid (set by main).
  std::string worker_id;
  // Free-form labels, e.g. {"gpu": "h100"}.
  std::map<std::string, std::string> labels;
  // Exit after this many trials (0 = run until stopped).
  int max_trials = 0;
  // Exit with kUnavailable when the controller stays unreachable this long.
  absl::Duration unreachable_timeout = absl::Minutes(5);
  // Exit OK after this long with no work offered (0 = never).
  absl::Duration idle_exit = absl::ZeroDuration();
  // The wall-clock limit on each trial attempt (--max_trial_seconds) and
  // how long an attempt may go on after its lease was lost, the controller
  // said ABANDON or `stop` became true (--abandon_grace_seconds). Past
  // either, the watchdog (trial_watchdog.h) abandons the attempt: it
  // reports it failed (DEADLINE_EXCEEDED naming the flag; one try, 5 s
  // deadline), logs, and calls on_abandoned. Defaults 24 h and 30 s.
  absl::Duration max_trial = absl::Hours(24);
  absl::Duration abandon_grace = absl::Seconds(30);
  // Called from the watchdog's thread after an abandoned attempt was
  // reported, with whether `stop` was set; must not return (the evaluator
  // is still blocked): nas-worker re-executes itself, or exits non-zero
  // when shutting down. Default (unset): the process exits with status 3.
  std::function<void(bool shutting_down)> on_abandoned;
  // Where fetched artifacts (supernet weights) are cached by content hash;
  // "" = DefaultArtifactCacheDir() (worker/artifact_cache.h).
  std::string cache_dir;
  // Where to count evaluations, epochs and controller errors (not owned;
  // must outlive RunWorker). Default nullptr: no metrics.
  WorkerMetrics* metrics = nullptr;
  // Log a line when each trial starts and ends (errors are always logged).
  // Default true; simulated fleets (nas-simworker) turn it off.
  bool log_trials = true;
  // When set, counts the evaluations whose ReportResult the controller
  // accepted (results, not failures). Not owned. Default nullptr.
  std::atomic<int64_t>* results_accepted = nullptr;
  // When set, counts the trials that came with the answer to the previous
  // report (acquire_next) instead of from AcquireTrial. Not owned.
  std::atomic<int64_t>* trials_from_report = nullptr;
  // When set, called after every AcquireTrial and ReportResult (retries
  // included) with the method name, the call's wall time and `useful`:
  // AcquireTrial returned a trial / ReportResult was accepted. Called from
  // the worker's thread; must be thread-safe when shared between workers.
  // For latency measurements (nas-simworker --latency_file). Default: none.
  std::function<void(const char* method, absl::Duration latency, bool useful)>
      on_rpc;
  // Bearer token of the worker role; "" = send none. Default "".
  std::string token;
  // TLS to the controller, PEM contents (not paths). tls_ca_pem non-empty
  // turns TLS on and is the CA that must have signed the server's
  // certificate; tls_cert_pem/tls_key_pem are an optional client
  // certificate; tls_server_name overrides the name checked against the
  // server certificate (default: the host of `controller`). Default: all
  // empty, plaintext.
  std::string tls_ca_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_server_name;
};

// Gives the evaluator an ArtifactFetcher (FetchArtifact into the cache
// directory), then runs until `stop` becomes true, max_trials are done,
// idle_exit passes, or the controller is unreachable for unreachable_timeout
// (kUnavailable).
absl::Status RunWorker(const WorkerOptions& options, Evaluator* evaluator,
                       const std::atomic<bool>* stop);

}  // namespace nas

#endif  // NAS_WORKER_WORKER_LOOP_H_
