// Hostile specs against a real worker (issue 22), over real gRPC with a
// real controller and PostgreSQL: evaluation.tabular.path naming a secret
// outside --data_root, a FIFO inside it, or /dev/zero fails the trial
// within seconds with a reason that names the field and quotes nothing of
// the file; the worker keeps serving (a later valid search completes).
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/cluster.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "s3cr3t-worker-token-0123456789";

class HostileWorker : public ::testing::Test {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(cluster_.Start("hostile"));
    ASSERT_TRUE(cluster_.StartController());
    data_ = cluster_.dir() + "/data";
    ASSERT_EQ(::mkdir(data_.c_str(), 0700), 0);
    // The worker's token file lies outside its only data root.
    token_ = cluster_.dir() + "/worker.token";
    std::ofstream(token_) << kSecret << "\n";
    ASSERT_NE(cluster_.StartWorker("w1", {"--data_root=" + data_}), nullptr);
    ASSERT_TRUE(cluster_.WaitForWorkers(1));
  }
  void TearDown() override { cluster_.Finish(HasFailure()); }

  // A one-trial TABULAR search over `table`; returns its only candidate
  // once the search has ended (within `timeout`).
  v1::Candidate RunOne(const std::string& name, const std::string& table,
                       absl::Duration timeout) {
    testing::SpecYaml spec;
    spec.name = name;
    spec.strategy = "{name: random, seed: 5}";
    spec.budget = testing::TrialBudget(1, 1);
    spec.max_attempts = 1;
    spec.lease_seconds = 5;
    spec.evaluation = testing::TabularLookup(table, 0, "");
    v1::Experiment exp;
    grpc::Status st = cluster_.Create(spec.Yaml(), &exp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(cluster_.WaitFinished(exp.id(), timeout)) << name;
    std::vector<v1::Candidate> c = cluster_.Candidates(exp.id());
    EXPECT_FALSE(c.empty()) << name;  // max_trials 1: one trained
    return c.empty() ? v1::Candidate() : c[0];
  }

  testing::LocalCluster cluster_;
  std::string data_;
  std::string token_;
};

TEST_F(HostileWorker, SpecNamedFilesAreRefusedAndTheWorkerKeepsServing) {
  // (a) The token file: outside --data_root, refused before it is read.
  v1::Candidate c = RunOne("token", token_, absl::Seconds(30));
  EXPECT_EQ(c.state(), v1::CANDIDATE_FAILED) << c.reason();
  EXPECT_THAT(c.reason(),
              HasSubstr("PERMISSION_DENIED: evaluation.tabular.path: " +
                        token_ + " is outside the worker's data roots"));
  EXPECT_THAT(c.reason(), Not(HasSubstr(kSecret)));

  // (b) A FIFO inside the root: refused at once, the worker not blocked.
  const std::string fifo = data_ + "/table.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const absl::Time start = absl::Now();
  c = RunOne("fifo", fifo, absl::Seconds(30));
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  EXPECT_EQ(c.state(), v1::CANDIDATE_FAILED) << c.reason();
  EXPECT_THAT(c.reason(),
              HasSubstr("INVALID_ARGUMENT: evaluation.tabular.path: '" + fifo +
                        "' is not a regular file (a FIFO)"));

  // (c) /dev/zero: refused, nothing allocated.
  c = RunOne("zero", "/dev/zero", absl::Seconds(30));
  EXPECT_EQ(c.state(), v1::CANDIDATE_FAILED) << c.reason();
  EXPECT_THAT(c.reason(),
              HasSubstr("evaluation.tabular.path: /dev/zero is outside"));

  // The same worker still serves: a valid table under the root.
  const std::string table = data_ + "/nb201.csv";
  testing::WriteSimpleNb201Table(table, 1);
  c = RunOne("valid", table, absl::Seconds(30));
  EXPECT_EQ(c.state(), v1::CANDIDATE_EVALUATED) << c.reason();
  EXPECT_NE(cluster_.worker("w1"), nullptr);
  EXPECT_THAT(testing::ReadLog(cluster_, "w1"), Not(HasSubstr(kSecret)));
}

}  // namespace
}  // namespace nas
