// The duplicates policy (spec.duplicates) applied to a proposal row.
#include "controller/controller.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

TEST(DuplicatePolicy, ReuseLinksAndSkipsTraining) {
  NewCandidate row;
  ApplyDuplicatePolicy("reuse", 41, false, &row);
  EXPECT_EQ(row.state, v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(row.duplicate_of, 41);
  NewCandidate in_batch;
  ApplyDuplicatePolicy("reuse", std::nullopt, true, &in_batch);
  EXPECT_EQ(in_batch.state, v1::CANDIDATE_DUPLICATE);
  EXPECT_EQ(in_batch.duplicate_of, 0);
  NewCandidate fresh;
  ApplyDuplicatePolicy("reuse", std::nullopt, false, &fresh);
  EXPECT_EQ(fresh.state, v1::CANDIDATE_QUEUED);
}

TEST(DuplicatePolicy, RetrainQueuesASecondTrialStillLinked) {
  NewCandidate row;
  ApplyDuplicatePolicy("retrain", 41, false, &row);
  EXPECT_EQ(row.state, v1::CANDIDATE_QUEUED);
  EXPECT_EQ(row.duplicate_of, 41);
  NewCandidate in_batch;
  ApplyDuplicatePolicy("retrain", std::nullopt, true, &in_batch);
  EXPECT_EQ(in_batch.state, v1::CANDIDATE_QUEUED);
  // A repeat of a rejected genotype stays rejected by its own cost.
  NewCandidate rejected;
  rejected.state = v1::CANDIDATE_REJECTED;
  ApplyDuplicatePolicy("retrain", 7, false, &rejected);
  EXPECT_EQ(rejected.state, v1::CANDIDATE_REJECTED);
}

}  // namespace
}  // namespace nas
