#include "common/spec/spec.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kGood[] = R"(
name: fmnist-random
search_space:
  name: nb201
  nb201:
    channels: 8
    cells_per_stage: 1
strategy:
  name: random
  seed: 7
budget:
  max_trials: 8
  parallel_trials: 2
evaluation:
  mode: full
  epochs: 2
  train_samples: 5000
  learning_rate: 0.1
required_labels:
  gpu: h100
)";

TEST(Spec, ParsesGoodSpecAndAppliesDefaults) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, kGood);
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->name(), "fmnist-random");
  EXPECT_EQ(spec->search_space().nb201().channels(), 8);
  EXPECT_EQ(spec->strategy().seed(), 7);
  EXPECT_EQ(spec->evaluation().mode(), v1::FULL);
  EXPECT_DOUBLE_EQ(spec->evaluation().learning_rate(), 0.1);
  EXPECT_EQ(spec->evaluation().batch_size(), 128);  // default
  EXPECT_EQ(spec->evaluation().val_samples(), 10000);
  EXPECT_EQ(spec->lease_seconds(), 60);
  EXPECT_EQ(spec->required_labels().at("gpu"), "h100");
}

TEST(Spec, MalformedYamlNamesLine) {
  EXPECT_THAT(PrepareSpec({}, "name: x\nbudget: [1, 2\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec_yaml: malformed YAML at line"));
  EXPECT_THAT(PrepareSpec({}, "just a string"),
              StatusIs(StatusCode::kInvalidArgument, "spec_yaml"));
}

TEST(Spec, UnknownFieldNamesPathAndLine) {
  EXPECT_THAT(PrepareSpec({}, "name: x\nbudget:\n  max_trails: 3\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.budget.max_trails (line 3): unknown field"));
}

TEST(Spec, WrongTypesNamePath) {
  EXPECT_THAT(
      PrepareSpec({}, "name: x\nbudget:\n  max_trials: many\n"),
      StatusIs(
          StatusCode::kInvalidArgument,
          "spec.budget.max_trials (line 3): expected an integer, got 'many'"));
  EXPECT_THAT(PrepareSpec({}, "evaluation:\n  mode: fastest\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.mode (line 2): unknown value"));
  EXPECT_THAT(
      PrepareSpec({}, "evaluation:\n  learning_rate: .nan\n"),
      StatusIs(StatusCode::kInvalidArgument, "spec.evaluation.learning_rate"));
  EXPECT_THAT(PrepareSpec({}, "search_space: nb201\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.search_space (line 1): expected a mapping"));
}

// Found by a hand-made input run through spec_fuzz: a 3 MB spec of distinct
// unknown keys took 50 s and 1.6 GB (each error listed every known field,
// all joined into one message). Now the size is capped before parsing and
// only the first kMaxListedErrors errors are listed.
TEST(Spec, OversizedSpecRefusedBeforeParsing) {
  const std::string yaml(kMaxSpecYamlBytes + 1, '#');
  EXPECT_THAT(ParseSpecYaml(yaml),
              StatusIs(StatusCode::kInvalidArgument, "bytes, more than"));
  EXPECT_THAT(PrepareSpec(v1::ExperimentSpec(), yaml),
              StatusIs(StatusCode::kInvalidArgument, "spec_yaml"));
}

TEST(Spec, ManyErrorsAreCountedNotListed) {
  std::string yaml;
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&yaml, "k", i, ": 1\n");
  absl::StatusOr<ParsedSpec> p = ParseSpecYaml(yaml);
  EXPECT_THAT(p, StatusIs(StatusCode::kInvalidArgument, "spec.k0 (line 1)"));
  EXPECT_THAT(
      p, StatusIs(StatusCode::kInvalidArgument, "... and 4980 more errors"));
  EXPECT_LT(p.status().message().size(), 20000u);
  std::vector<FieldError> many(25, FieldError{"spec.x", "bad", 0});
  EXPECT_THAT(ErrorsToStatus(many),
              StatusIs(StatusCode::kInvalidArgument, "... and 5 more errors"));
}

TEST(Spec, LongValuesAreCutInErrors) {
  const std::string value(10000, 'x');
  absl::StatusOr<ParsedSpec> p =
      ParseSpecYaml(absl::StrCat("budget: {max_trials: ", value, "}\n"));
  EXPECT_THAT(p, StatusIs(StatusCode::kInvalidArgument,
                          "got '" + std::string(64, 'x') + "...'"));
  EXPECT_LT(p.status().message().size(), 300u);
}

TEST(Spec, DeeplyNestedYamlIsAnErrorNotACrash) {
  const std::string deep =
      "name: " + std::string(20000, '[') + std::string(20000, ']') + "\n";
  EXPECT_THAT(ParseSpecYaml(deep), StatusIs(StatusCode::kInvalidArgument, ""));
}

TEST(Spec, UnknownSearchSpace) {
  EXPECT_THAT(
      PrepareSpec(
          {},
          "name: x\nsearch_space:\n  name: darts\nbudget:\n  max_trials: 3\n"),
      StatusIs(
          StatusCode::kInvalidArgument,
          "spec.search_space.name (line 3): unknown search space 'darts'"));
}

TEST(Spec, ZeroBudget) {
  EXPECT_THAT(
      PrepareSpec(
          {},
          "name: x\nsearch_space:\n  name: nb201\nbudget:\n  max_trials: 0\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.budget.max_trials (line 5): must be > 0"));
  // Missing budget entirely: no line to point at.
  EXPECT_THAT(PrepareSpec({}, "name: x\nsearch_space:\n  name: nb201\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.budget.max_trials: must be > 0"));
}

TEST(Spec, ListsEveryError) {
  absl::StatusOr<ParsedSpec> p = ParseSpecYaml(
      "name: ''\nsearch_space:\n  name: nb201\nbudget:\n  max_trials: -1\n"
      "evaluation:\n  epochs: 0\n  momentum: 1.5\n");
  NAS_ASSERT_OK(p);
  ApplySpecDefaults(&p->spec, &p->lines);
  std::vector<FieldError> errors = ValidateSpec(p->spec, &p->lines);
  std::vector<std::string> paths;
  for (const auto& e : errors) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "spec.name", "spec.budget.max_trials",
                       "spec.evaluation.epochs", "spec.evaluation.momentum"}));
  EXPECT_EQ(errors[3].line, 8);
}

TEST(Spec, TrainingOptionDefaults) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, kGood);
  NAS_ASSERT_OK(spec);
  const v1::EvaluationSpec& e = spec->evaluation();
  EXPECT_DOUBLE_EQ(e.label_smoothing(), 0);
  EXPECT_EQ(e.random_crop_padding(), 0);
  EXPECT_FALSE(e.horizontal_flip());
  ASSERT_TRUE(e.has_nesterov());
  EXPECT_TRUE(e.nesterov());
}

TEST(Spec, TrainingOptionsParsed) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {},
      "name: x\nsearch_space:\n  name: nb201\nbudget:\n  max_trials: 2\n"
      "evaluation:\n  label_smoothing: 0.1\n  random_crop_padding: 2\n"
      "  horizontal_flip: true\n  nesterov: false\n");
  NAS_ASSERT_OK(spec);
  const v1::EvaluationSpec& e = spec->evaluation();
  EXPECT_DOUBLE_EQ(e.label_smoothing(), 0.1);
  EXPECT_EQ(e.random_crop_padding(), 2);
  EXPECT_TRUE(e.horizontal_flip());
  ASSERT_TRUE(e.has_nesterov());
  EXPECT_FALSE(e.nesterov());  // written explicitly: kept
}

TEST(Spec, TrainingOptionsValidated) {
  const std::string head =
      "name: x\nsearch_space:\n  name: nb201\nbudget:\n  max_trials: 2\n"
      "evaluation:\n";
  EXPECT_THAT(PrepareSpec({}, head + "  label_smoothing: 1.0\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.label_smoothing (line 7): must be in "
                       "[0, 1)"));
  EXPECT_THAT(PrepareSpec({}, head + "  label_smoothing: -0.1\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.label_smoothing"));
  EXPECT_THAT(PrepareSpec({}, head + "  label_smoothing: .nan\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.label_smoothing"));
  EXPECT_THAT(PrepareSpec({}, head + "  random_crop_padding: 9\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.random_crop_padding (line 7): must "
                       "be in [0, 8]"));
  EXPECT_THAT(PrepareSpec({}, head + "  random_crop_padding: -1\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.random_crop_padding"));
  EXPECT_THAT(PrepareSpec({}, head + "  horizontal_flip: sometimes\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.horizontal_flip (line 7): expected "
                       "true or false"));
  NAS_EXPECT_OK(PrepareSpec(
      {}, head + "  label_smoothing: 0.99\n  random_crop_padding: 8\n"));
}

TEST(Spec, MessageSpecValidatedToo) {
  v1::ExperimentSpec spec;
  spec.set_name("x");
  spec.mutable_search_space()->set_name("nb201");
  spec.mutable_budget()->set_max_trials(2);
  spec.mutable_evaluation()->set_train_samples(59000);
  EXPECT_THAT(PrepareSpec(spec, ""), StatusIs(StatusCode::kInvalidArgument,
                                              "spec.evaluation.train_samples"));
  spec.mutable_evaluation()->set_train_samples(1000);
  NAS_EXPECT_OK(PrepareSpec(spec, ""));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

TEST(Spec, EvolutionDefaultsAndErrors) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {},
      "name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
      "strategy: {name: evolution}\n");
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->strategy().evolution().population(), 20);
  EXPECT_EQ(spec->strategy().evolution().sample_size(), 5);
  EXPECT_THAT(
      PrepareSpec(
          {},
          "name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
          "strategy:\n  name: evolution\n  evolution: {population: 4, "
          "sample_size: 9}\n"),
      testing::StatusIs(absl::StatusCode::kInvalidArgument,
                        "spec.strategy.evolution.sample_size (line 6)"));
  EXPECT_THAT(
      PrepareSpec(
          {},
          "name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
          "strategy: {name: bayes}\n"),
      testing::StatusIs(
          absl::StatusCode::kInvalidArgument,
          "unknown strategy 'bayes' (implemented: random, evolution, "
          "reinforce, darts)"));
}

constexpr char kBase[] =
    "name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n";

TEST(Spec, SearchSettingDefaults) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
      {}, std::string(kBase) +
              "strategy: {name: reinforce}\n"
              "objective: {reward: {metric: latency_ms, target: 5}}\n");
  NAS_ASSERT_OK(spec);
  const v1::ReinforceOptions& rl = spec->strategy().reinforce();
  EXPECT_DOUBLE_EQ(rl.learning_rate(), 0.01);
  EXPECT_DOUBLE_EQ(rl.entropy_weight(), 1e-4);
  EXPECT_DOUBLE_EQ(rl.baseline_decay(), 0.9);
  EXPECT_EQ(rl.hidden_size(), 64);
  EXPECT_FALSE(rl.dedupe());
  EXPECT_EQ(spec->objective().ranking(), "scalar");
  EXPECT_DOUBLE_EQ(spec->objective().reward().below_weight(), -0.07);
  EXPECT_DOUBLE_EQ(spec->objective().reward().above_weight(), -0.07);
  EXPECT_EQ(spec->duplicates(), "reuse");
  // Explicit zeros are kept where zero is valid (the hard MnasNet variant,
  // no entropy bonus, no baseline memory).
  spec = PrepareSpec(
      {}, std::string(kBase) +
              "strategy: {name: reinforce, reinforce: {entropy_weight: 0, "
              "baseline_decay: 0}}\n"
              "objective: {reward: {metric: macs, target: 1000000, "
              "below_weight: 0, above_weight: -1}}\nduplicates: retrain\n");
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->strategy().reinforce().entropy_weight(), 0);
  EXPECT_EQ(spec->strategy().reinforce().baseline_decay(), 0);
  EXPECT_EQ(spec->objective().reward().below_weight(), 0);
  EXPECT_EQ(spec->objective().reward().above_weight(), -1);
  EXPECT_EQ(spec->duplicates(), "retrain");
}

TEST(Spec, EverySearchSettingIsValidated) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"strategy: {name: evolution, evolution: {local_search: 1.5}}",
       "spec.strategy.evolution.local_search (line 4): must be a probability"},
      {"strategy: {name: evolution, evolution: {predictor: true}}",
       "spec.strategy.evolution.predictor (line 4): only guides local-search"},
      {"strategy: {name: reinforce, reinforce: {learning_rate: 0}}",
       "spec.strategy.reinforce.learning_rate (line 4)"},
      {"strategy: {name: reinforce, reinforce: {learning_rate: 2}}",
       "spec.strategy.reinforce.learning_rate"},
      {"strategy: {name: reinforce, reinforce: {entropy_weight: -1}}",
       "spec.strategy.reinforce.entropy_weight"},
      {"strategy: {name: reinforce, reinforce: {baseline_decay: 1}}",
       "spec.strategy.reinforce.baseline_decay"},
      {"strategy: {name: reinforce, reinforce: {hidden_size: 0}}",
       "spec.strategy.reinforce.hidden_size"},
      {"objective: {minimize: [macs, flops]}",
       "spec.objective.minimize[1] (line 4): unknown objective 'flops'"},
      {"objective: {minimize: [macs, macs]}",
       "spec.objective.minimize[1] (line 4): 'macs' repeated"},
      {"objective: {ranking: lexicographic}",
       "spec.objective.ranking (line 4): unknown ranking"},
      {"objective: {ranking: pareto}",
       "spec.objective.minimize (line 4): ranking: pareto needs"},
      {"objective: {ranking: pareto, minimize: [macs], reward: {metric: "
       "macs, target: 5}}",
       "spec.objective.ranking (line 4): pareto ranking and a scalar reward"},
      {"strategy: {name: reinforce}\nobjective: {ranking: pareto, minimize: "
       "[params]}",
       "spec.objective.ranking (line 5): pareto ranking needs a population"},
      {"objective: {reward: {metric: energy, target: 5}}",
       "spec.objective.reward.metric (line 4): unknown cost 'energy'"},
      {"objective: {reward: {metric: latency_ms}}",
       "spec.objective.reward.target (line 4): must be > 0"},
      {"objective: {reward: {target: 5}}",
       "spec.objective.reward.metric (line 4): required"},
      {"objective: {reward: {metric: macs, target: 5, below_weight: 0.5}}",
       "spec.objective.reward.below_weight (line 4): must be in [-10, 0]"},
      {"objective: {reward: {metric: macs, target: 5, above_weight: -11}}",
       "spec.objective.reward.above_weight"},
      {"duplicates: skip", "spec.duplicates (line 4): unknown policy 'skip'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(PrepareSpec({}, std::string(kBase) + c.yaml + "\n"),
                testing::StatusIs(absl::StatusCode::kInvalidArgument, c.error))
        << c.yaml;
  }
}

TEST(Spec, FinalTrainingAndKeptModels) {
  const std::string base =
      "name: x\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
      "evaluation: {epochs: 4}\n";
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, base + "final: {top_k: 2}\n");
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->final().top_k(), 2);
  EXPECT_EQ(spec->final().epochs(), 4);  // evaluation.epochs
  EXPECT_EQ(spec->keep_models(), 3);     // default
  spec = PrepareSpec({}, base + "keep_models: 0\n");
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->keep_models(), 0);  // written: kept as 0
  EXPECT_EQ(spec->final().top_k(), 0);
  EXPECT_THAT(PrepareSpec({}, base + "final: {top_k: 21}\n"),
              StatusIs(StatusCode::kInvalidArgument, "spec.final.top_k"));
  EXPECT_THAT(PrepareSpec({}, base + "final: {top_k: 1, epochs: -1}\n"),
              StatusIs(StatusCode::kInvalidArgument, "spec.final.epochs"));
  EXPECT_THAT(PrepareSpec({}, base + "keep_models: -2\n"),
              StatusIs(StatusCode::kInvalidArgument, "spec.keep_models"));
}

}  // namespace
}  // namespace nas

namespace nas {
namespace {

// Every shipped example is a valid spec, and an example with hard
// constraints leaves a reasonable share of its space feasible.
TEST(Examples, AllValidateAndConstraintsAreSatisfiable) {
  namespace fs = std::filesystem;
  int seen = 0;
  for (const auto& entry :
       fs::directory_iterator(fs::path(NAS_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    std::ifstream in(entry.path());
    std::stringstream yaml;
    yaml << in.rdbuf();
    absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, yaml.str());
    ASSERT_TRUE(spec.ok()) << entry.path() << ": " << spec.status();
    const auto& c = spec->objective().constraints();
    if (c.max_macs() == 0 && c.max_params() == 0) continue;
    absl::StatusOr<const SearchSpace*> space =
        GetSearchSpace(spec->search_space().name());
    NAS_ASSERT_OK(space);
    absl::StatusOr<InputShape> input = DatasetShape(spec->evaluation());
    NAS_ASSERT_OK(input);
    std::mt19937_64 rng(1);
    int feasible = 0;
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<Cost> cost = (*space)->ComputeCost(
          (*space)->Sample(rng), spec->search_space(), *input);
      NAS_ASSERT_OK(cost);
      feasible += (c.max_macs() == 0 || cost->macs <= c.max_macs()) &&
                  (c.max_params() == 0 || cost->params <= c.max_params());
    }
    EXPECT_GE(feasible, 100) << entry.path() << ": only " << feasible
                             << " of 1000 random genotypes are feasible";
    EXPECT_LE(feasible, 950) << entry.path() << ": the constraint hardly binds";
  }
  EXPECT_GE(seen, 4);
}

}  // namespace
}  // namespace nas
