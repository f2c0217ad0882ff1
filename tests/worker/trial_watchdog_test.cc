// TrialWatchdog: the wall-clock limit on a trial attempt and the grace
// after a stop (issue 22: an evaluator blocked in open() on a FIFO kept
// its lease alive for 10 minutes and ignored SIGTERM).
#include "worker/trial_watchdog.h"

#include <atomic>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

TrialWatchdogOptions Fast(absl::Duration max_trial, absl::Duration grace) {
  TrialWatchdogOptions o;
  o.max_trial = max_trial;
  o.grace = grace;
  o.poll = absl::Milliseconds(10);
  return o;
}

TEST(TrialWatchdogTest, DeadlinePassedAbandonsOnceNamingTheFlag) {
  absl::Notification abandoned;
  std::atomic<int> calls{0};
  AbandonReason reason = AbandonReason::kStopIgnored;
  std::string message;
  const absl::Time start = absl::Now();
  TrialWatchdog w(
      Fast(absl::Milliseconds(200), absl::Seconds(30)), [] { return false; },
      [&](AbandonReason r, const std::string& m) {
        reason = r;
        message = m;
        ++calls;
        abandoned.Notify();
      });
  ASSERT_TRUE(abandoned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_EQ(reason, AbandonReason::kDeadline);
  EXPECT_EQ(message, "the attempt ran past --max_trial_seconds (0 s)");
  w.Disarm();
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(calls.load(), 1);
}

TEST(TrialWatchdogTest, StopIgnoredPastTheGraceAbandons) {
  std::atomic<bool> stop{false};
  absl::Notification abandoned;
  AbandonReason reason = AbandonReason::kDeadline;
  std::string message;
  TrialWatchdog w(
      Fast(absl::Hours(1), absl::Seconds(1)), [&] { return stop.load(); },
      [&](AbandonReason r, const std::string& m) {
        reason = r;
        message = m;
        abandoned.Notify();
      });
  // No stop asked: nothing happens.
  EXPECT_FALSE(abandoned.WaitForNotificationWithTimeout(absl::Seconds(1.5)));
  const absl::Time asked = absl::Now();
  stop = true;
  ASSERT_TRUE(abandoned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(absl::Now() - asked, absl::Milliseconds(900));
  EXPECT_EQ(reason, AbandonReason::kStopIgnored);
  EXPECT_EQ(message,
            "the attempt did not end within --abandon_grace_seconds (1 s) "
            "after it was asked to stop");
}

TEST(TrialWatchdogTest, EvaluatorReturningInTimeDisarms) {
  std::atomic<int> calls{0};
  {
    TrialWatchdog w(
        Fast(absl::Milliseconds(300), absl::Milliseconds(300)),
        [] { return true; },
        [&](AbandonReason, const std::string&) { ++calls; });
    absl::SleepFor(absl::Milliseconds(50));
    w.Disarm();
    absl::SleepFor(absl::Milliseconds(600));
  }
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace nas
