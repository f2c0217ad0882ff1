// What a trial asks of its result (controller/store/result_rules.h): the
// one rule behind Trial.export_model and the store's refusal of a model
// nobody asked for.
#include "controller/store/result_rules.h"

#include "gtest/gtest.h"

namespace nas {
namespace {

TrialKind Kind(v1::EvaluationMode mode, int keep_models) {
  TrialKind k;
  k.mode = mode;
  k.keep_models = keep_models;
  return k;
}

TEST(ResultRules, TrainedModesAskOnlyWhenModelsAreKept) {
  for (v1::EvaluationMode m :
       {v1::FULL, v1::EARLY_STOPPED, v1::COMMAND, v1::SUPERNET}) {
    EXPECT_FALSE(AsksForModel(Kind(m, 0))) << m;
    EXPECT_TRUE(AsksForModel(Kind(m, 3))) << m;
  }
  for (v1::EvaluationMode m : {v1::TABULAR, v1::ZERO_COST}) {
    EXPECT_FALSE(AsksForModel(Kind(m, 3))) << m;
  }
}

TEST(ResultRules, FinalRetrainingsAlwaysAskEvenFromProxyOrSupernetSearches) {
  for (v1::EvaluationMode m : {v1::FULL, v1::EARLY_STOPPED, v1::COMMAND,
                               v1::SUPERNET, v1::ZERO_COST}) {
    TrialKind k = Kind(m, 0);
    k.final_training = true;
    EXPECT_TRUE(AsksForModel(k)) << m;
  }
  TrialKind zc = Kind(v1::ZERO_COST, 0);
  zc.final_training = true;
  EXPECT_EQ(EffectiveMode(zc), v1::FULL);
}

TEST(ResultRules, ScreeningSearchesAndSupernetTrainingNeverAskForAModel) {
  TrialKind screen = Kind(v1::FULL, 5);
  screen.screening = true;
  EXPECT_FALSE(AsksForModel(screen));
  EXPECT_EQ(EffectiveMode(screen), v1::ZERO_COST);
  TrialKind search = Kind(v1::FULL, 5);
  search.search = true;
  search.supernet_training = true;  // search rows are supernet rows too
  EXPECT_FALSE(AsksForModel(search));
  EXPECT_FALSE(SupernetWeightsRequired(search));
  TrialKind supernet = Kind(v1::SUPERNET, 5);
  supernet.supernet_training = true;
  EXPECT_FALSE(AsksForModel(supernet));
  EXPECT_TRUE(SupernetWeightsRequired(supernet));
}

}  // namespace
}  // namespace nas
