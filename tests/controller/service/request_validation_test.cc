#include "controller/service/request_validation.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

TEST(RequestValidation, WorkerRegistrationNamesTheField) {
  v1::RegisterWorkerRequest r;
  r.set_worker_id("w1");
  (*r.mutable_labels())["gpu"] = "h100";
  NAS_EXPECT_OK(ValidateRequest(r));

  v1::RegisterWorkerRequest bad = r;
  bad.set_worker_id("");
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "worker_id: must not"));
  bad.set_worker_id(std::string(201, 'w'));
  EXPECT_THAT(ValidateRequest(bad),
              StatusIs(kInvalid, "worker_id: must be at"));
  bad.set_worker_id("w1\nnas-worker w2: forged log line");
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "control characters"));

  bad = r;
  (*bad.mutable_labels())["bad key"] = "x";
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "labels[\"bad key\"]"));
  bad = r;
  (*bad.mutable_labels())["zone"] = std::string(300, 'z');
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "labels[\"zone\"]"));
  bad = r;
  for (int i = 0; i < 65; ++i)
    (*bad.mutable_labels())[absl::StrCat("k", i)] = "";
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "labels: at most 64"));
}

TEST(RequestValidation, TrialCallsNeedIdsAndAnAttempt) {
  v1::RenewLeaseRequest renew;
  renew.set_worker_id("w");
  renew.set_trial_id(3);
  renew.set_attempt(1);
  NAS_EXPECT_OK(ValidateRequest(renew));
  renew.set_trial_id(0);
  EXPECT_THAT(ValidateRequest(renew),
              StatusIs(kInvalid, "trial_id: must be > 0"));
  renew.set_trial_id(3);
  renew.set_attempt(0);
  EXPECT_THAT(ValidateRequest(renew),
              StatusIs(kInvalid, "attempt: must be >= 1"));

  v1::ReportResultRequest result;
  result.set_worker_id("w");
  result.set_trial_id(-5);
  result.set_attempt(1);
  EXPECT_THAT(ValidateRequest(result), StatusIs(kInvalid, "trial_id"));

  v1::AcquireTrialRequest acquire;
  acquire.set_worker_id("w");
  acquire.set_wait_ms(-1);
  EXPECT_THAT(ValidateRequest(acquire), StatusIs(kInvalid, "wait_ms"));
  acquire.set_wait_ms(5000);
  NAS_EXPECT_OK(ValidateRequest(acquire));
}

TEST(RequestValidation, ProgressNumbersMustBeFiniteAndInRange) {
  v1::ReportProgressRequest p;
  p.set_worker_id("w");
  p.set_trial_id(1);
  p.set_attempt(1);
  p.set_epoch(1);
  p.set_val_accuracy(0.5);
  p.set_train_loss(0.7);
  p.set_seconds(3);
  NAS_EXPECT_OK(ValidateRequest(p));
  auto bad = p;
  bad.set_epoch(0);
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "epoch"));
  bad = p;
  bad.set_val_accuracy(std::nan(""));
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "val_accuracy"));
  bad = p;
  bad.set_val_accuracy(-std::numeric_limits<double>::infinity());
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "val_accuracy"));
  // A COMMAND trainer's named progress metric may be any finite number.
  auto named = p;
  named.set_val_accuracy(27.5);
  NAS_EXPECT_OK(ValidateRequest(named));
  named.set_val_accuracy(-0.25);
  NAS_EXPECT_OK(ValidateRequest(named));
  bad = p;
  bad.set_train_loss(std::numeric_limits<double>::infinity());
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "train_loss"));
  bad = p;
  bad.set_seconds(-1);
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "seconds"));
}

TEST(RequestValidation, SearchProgressIsACellOfNb201WithProbabilities) {
  v1::ReportProgressRequest p;
  p.set_worker_id("w");
  p.set_trial_id(1);
  p.set_attempt(1);
  p.set_epoch(1);
  v1::SearchProgress* s = p.mutable_search();
  for (int i = 0; i < 30; ++i) s->add_arch_weights(0.2);
  for (int op : {3, 3, 1, 2, 0, 4}) s->mutable_derived()->add_choices(op);
  s->mutable_derived()->set_canonical(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|"
      "none~1|avg_pool_3x3~2|");
  NAS_EXPECT_OK(ValidateRequest(p));
  auto bad = p;
  bad.mutable_search()->mutable_arch_weights()->RemoveLast();
  EXPECT_THAT(ValidateRequest(bad),
              StatusIs(kInvalid,
                       "search.arch_weights: needs 6 edges x 5 "
                       "operations = 30 values, got 29"));
  bad = p;
  bad.mutable_search()->set_arch_weights(7, std::nan(""));
  EXPECT_THAT(ValidateRequest(bad),
              StatusIs(kInvalid, "search.arch_weights[7]"));
  bad = p;
  bad.mutable_search()->mutable_derived()->set_choices(2, 5);
  EXPECT_THAT(ValidateRequest(bad),
              StatusIs(kInvalid, "search.derived.choices"));
  bad = p;
  bad.mutable_search()->mutable_derived()->set_canonical("|x|");
  EXPECT_THAT(ValidateRequest(bad),
              StatusIs(kInvalid, "search.derived.canonical"));
  v1::ReportResultRequest r;
  r.set_worker_id("w");
  r.set_trial_id(1);
  r.set_attempt(1);
  *r.mutable_search() = bad.search();
  EXPECT_THAT(ValidateRequest(r),
              StatusIs(kInvalid, "search.derived.canonical"));
}

TEST(RequestValidation, ClientQueriesNameTheField) {
  v1::ListCandidatesRequest list;
  list.set_experiment_id(1);
  NAS_EXPECT_OK(ValidateRequest(list));
  auto bad = list;
  bad.set_experiment_id(0);
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "experiment_id"));
  bad = list;
  bad.set_page_size(-3);
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "page_size"));
  bad = list;
  bad.set_min_val_accuracy(2);
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "min_val_accuracy"));
  bad = list;
  bad.set_max_latency_ms(std::nan(""));
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "max_latency_ms"));
  bad = list;
  bad.set_max_macs(-1);
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "max_macs"));
  bad = list;
  bad.set_state(static_cast<v1::CandidateState>(99));
  EXPECT_THAT(ValidateRequest(bad), StatusIs(kInvalid, "state"));

  v1::GetParetoFrontRequest front;
  front.set_experiment_id(2);
  front.add_minimize("macs");
  NAS_EXPECT_OK(ValidateRequest(front));
  front.add_minimize("macs");
  EXPECT_THAT(ValidateRequest(front),
              StatusIs(kInvalid, "minimize[1]: 'macs' is listed twice"));
  front.set_minimize(1, "flops");
  EXPECT_THAT(ValidateRequest(front),
              StatusIs(kInvalid, "minimize[1]: unknown objective 'flops'"));

  v1::ExportCandidateRequest exp;
  exp.set_experiment_id(1);
  EXPECT_THAT(ValidateRequest(exp), StatusIs(kInvalid, "candidate_id"));
  EXPECT_THAT(ValidateId("id", 0), StatusIs(kInvalid, "id: must be > 0"));
}

}  // namespace
}  // namespace nas
