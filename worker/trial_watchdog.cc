#include "worker/trial_watchdog.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace nas {

TrialWatchdog::TrialWatchdog(const TrialWatchdogOptions& options,
                             StopRequested stop_requested, OnAbandon on_abandon)
    : options_(options),
      stop_requested_(std::move(stop_requested)),
      on_abandon_(std::move(on_abandon)),
      deadline_(absl::Now() + options.max_trial),
      thread_([this] { Watch(); }) {}

TrialWatchdog::~TrialWatchdog() {
  Disarm();
  thread_.join();
}

void TrialWatchdog::Disarm() {
  {
    absl::MutexLock lock(&mu_);
    disarmed_ = true;
  }
  // Wait for an on_abandon in progress.
  absl::MutexLock abandon(&abandon_mu_);
}

void TrialWatchdog::Watch() {
  absl::Time stop_seen = absl::InfiniteFuture();
  while (true) {
    absl::Time now = absl::Now();
    absl::Time wake = std::min(deadline_, now + options_.poll);
    if (stop_seen != absl::InfiniteFuture()) {
      wake = std::min(wake, stop_seen + options_.grace);
    }
    {
      absl::MutexLock lock(&mu_);
      const bool* disarmed = &disarmed_;
      mu_.AwaitWithDeadline(absl::Condition(disarmed), wake);
      if (disarmed_) return;
    }
    now = absl::Now();
    if (stop_seen == absl::InfiniteFuture() && stop_requested_ &&
        stop_requested_()) {
      stop_seen = now;
    }
    AbandonReason reason;
    std::string message;
    if (now >= deadline_) {
      reason = AbandonReason::kDeadline;
      message = absl::StrCat("the attempt ran past --max_trial_seconds (",
                             absl::ToInt64Seconds(options_.max_trial), " s)");
    } else if (stop_seen != absl::InfiniteFuture() &&
               now >= stop_seen + options_.grace) {
      reason = AbandonReason::kStopIgnored;
      message = absl::StrCat(
          "the attempt did not end within --abandon_grace_seconds (",
          absl::ToInt64Seconds(options_.grace),
          " s) after it was asked to stop");
    } else {
      continue;
    }
    absl::MutexLock abandon(&abandon_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (disarmed_) return;
    }
    on_abandon_(reason, message);
    return;
  }
}

}  // namespace nas
