// A wall-clock limit on one trial attempt: a thread that watches the
// evaluator of the attempt in progress and, when it has not returned by
// the attempt's deadline, or within a grace period after the attempt was
// asked to end (lease lost, ABANDON, the worker's shutdown), calls
// `on_abandon` once with a message naming the limit. The worker loop's
// on_abandon reports the attempt failed and restarts (or, shutting down,
// ends) the process: an evaluator blocked in a system call cannot be
// interrupted any other way. LibTorch-free; thread-safe.
#ifndef NAS_WORKER_TRIAL_WATCHDOG_H_
#define NAS_WORKER_TRIAL_WATCHDOG_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace nas {

struct TrialWatchdogOptions {
  // The longest an attempt may run (nas-worker --max_trial_seconds,
  // default 86400 s).
  absl::Duration max_trial = absl::Hours(24);
  // How long an attempt may go on after it was asked to end
  // (nas-worker --abandon_grace_seconds, default 30 s).
  absl::Duration grace = absl::Seconds(30);
  // How often `stop_requested` is polled. Default 250 ms.
  absl::Duration poll = absl::Milliseconds(250);
};

// Why an attempt was abandoned.
enum class AbandonReason { kDeadline, kStopIgnored };

class TrialWatchdog {
 public:
  using StopRequested = std::function<bool()>;
  using OnAbandon =
      std::function<void(AbandonReason reason, const std::string& message)>;

  // Starts watching now. `stop_requested` (polled from the watchdog's
  // thread) says the attempt was asked to end; `on_abandon` is called at
  // most once, from the watchdog's thread, unless Disarm returned first.
  // Messages: "the attempt ran past --max_trial_seconds (N s)" /
  // "the attempt did not end within --abandon_grace_seconds (N s) after it
  // was asked to stop".
  TrialWatchdog(const TrialWatchdogOptions& options,
                StopRequested stop_requested, OnAbandon on_abandon);
  // Disarms and joins.
  ~TrialWatchdog();
  TrialWatchdog(const TrialWatchdog&) = delete;
  TrialWatchdog& operator=(const TrialWatchdog&) = delete;

  // The evaluator returned: on_abandon will not be called any more (when
  // it is running, waits for it to return). Idempotent.
  void Disarm();

 private:
  void Watch();

  const TrialWatchdogOptions options_;
  const StopRequested stop_requested_;
  const OnAbandon on_abandon_;
  const absl::Time deadline_;

  absl::Mutex mu_;
  bool disarmed_ ABSL_GUARDED_BY(mu_) = false;
  // Held while on_abandon runs, so that Disarm waits for it.
  absl::Mutex abandon_mu_;

  std::thread thread_;  // last: starts after the fields above are set
};

}  // namespace nas

#endif  // NAS_WORKER_TRIAL_WATCHDOG_H_
