// WorkerRegistry's memory bound (issue 22): silent workers are forgotten
// after the retention, and no more than max_workers are held. No store:
// only workers that register are looked up.
#include "controller/worker_registry.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

WorkerRegistry::Options Opts(FakeClock* clock, absl::Duration retention,
                             int max_workers = 100000) {
  WorkerRegistry::Options o;
  o.worker_alive = absl::Seconds(30);
  o.retention = retention;
  o.max_workers = max_workers;
  o.now = [clock] { return clock->Now(); };
  return o;
}

// 40,000 fresh ids registering over time: the registry holds only those
// seen within the retention, not all of them.
TEST(WorkerRegistryTest, ForgetsSilentWorkersAfterRetention) {
  FakeClock clock;
  WorkerRegistry reg(nullptr, Opts(&clock, absl::Minutes(10)));
  for (int i = 0; i < 40000; ++i) {
    reg.Register(absl::StrCat("w", i), {{"zone", "a"}});
    clock.Advance(absl::Milliseconds(100));  // 4000 s in all
  }
  // Prunes run every quarter retention: at most 1.25 retentions are held.
  EXPECT_LE(reg.Size(), 7500);
  EXPECT_GE(reg.Size(), 6000);
  clock.Advance(absl::Minutes(11));
  const int held = reg.Size();
  EXPECT_EQ(reg.Prune(), held);
  EXPECT_EQ(reg.Size(), 0);
  EXPECT_EQ(reg.CountAlive(), 0);
}

// A worker that keeps calling stays, with its labels.
TEST(WorkerRegistryTest, KeepsWorkersThatCall) {
  FakeClock clock;
  WorkerRegistry reg(nullptr, Opts(&clock, absl::Minutes(1)));
  reg.Register("busy", {{"gpu", "h100"}});
  reg.Register("gone", {{"gpu", "h100"}});
  for (int i = 0; i < 10; ++i) {
    clock.Advance(absl::Seconds(20));
    reg.Seen("busy");
    reg.Prune();
  }
  EXPECT_EQ(reg.Size(), 1);
  auto labels = reg.GetLabels("busy");
  NAS_ASSERT_OK(labels);
  EXPECT_EQ(labels->at("gpu"), "h100");
  EXPECT_EQ(reg.CountMatching({{"gpu", "h100"}}).matching, 1);
}

// Past max_workers the least recently seen go first, however recent.
TEST(WorkerRegistryTest, HoldsAtMostMaxWorkers) {
  FakeClock clock;
  WorkerRegistry reg(nullptr, Opts(&clock, absl::Hours(1), 100));
  for (int i = 0; i < 1000; ++i) {
    reg.Register(absl::StrCat("w", i), {});
    clock.Advance(absl::Milliseconds(1));
  }
  EXPECT_LE(reg.Size(), 100);
  // The newest is still there (no store is needed to read it).
  NAS_EXPECT_OK(reg.GetLabels("w999"));
}

}  // namespace
}  // namespace nas
