// Spec fields of declared ("custom") search spaces and of mode COMMAND:
// defaults, and each refusal with its field path.
#include <string>
#include <vector>

#include "common/spaces/search_space.h"
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kCustom[] = R"(name: mine
search_space:
  name: custom
  decisions:
    - {name: kernel, choices: [3, 5, 7]}
    - {name: act, choices: [relu, gelu]}
    - {name: dropout, choices: [0.1, 0.25]}
strategy: {name: evolution, seed: 3}
budget: {max_trials: 20}
)";

constexpr char kCommand[] = R"(evaluation:
  mode: COMMAND
  command:
    trainer: cnn
    parameters: {lr: "0.01", optimizer: adam}
)";

// Every error of the YAML spec (defaults applied), as strings with lines.
std::vector<std::string> Errors(const std::string& yaml) {
  absl::StatusOr<ParsedSpec> p = ParseSpecYaml(yaml);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return {};
  ApplySpecDefaults(&p->spec, &p->lines);
  std::vector<std::string> out;
  for (const FieldError& e : ValidateSpec(p->spec, &p->lines)) {
    out.push_back(e.ToString());
  }
  return out;
}

// Expects exactly one error, starting with `prefix` and containing `text`.
void ExpectOneError(const std::string& yaml, const std::string& prefix,
                    const std::string& text = "") {
  std::vector<std::string> errors = Errors(yaml);
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0].rfind(prefix, 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find(text), std::string::npos) << errors[0];
}

TEST(CustomSpec, ValidCustomCommandSpecGetsTypesAndCommandDefaults) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, std::string(kCustom) + kCommand);
  NAS_ASSERT_OK(spec);
  const v1::SearchSpaceSpec& ss = spec->search_space();
  ASSERT_EQ(ss.decisions_size(), 3);
  EXPECT_EQ(ss.decisions(0).type(), "int");
  EXPECT_EQ(ss.decisions(1).type(), "string");
  EXPECT_EQ(ss.decisions(2).type(), "float");
  EXPECT_EQ(ss.decisions(2).choices(1), "0.25");
  const v1::CommandOptions& c = spec->evaluation().command();
  EXPECT_EQ(spec->evaluation().mode(), v1::COMMAND);
  EXPECT_EQ(c.trainer(), "cnn");
  EXPECT_EQ(c.timeout_seconds(), 3600);
  EXPECT_EQ(c.grace_seconds(), 10);
  EXPECT_EQ(c.parameters().at("lr"), "0.01");
  // The space builds from the validated spec.
  absl::StatusOr<std::shared_ptr<const SearchSpace>> space =
      MakeSearchSpace(ss);
  NAS_ASSERT_OK(space);
  EXPECT_EQ(*(*space)->Canonical({2, 1, 0}), "kernel=7|act=gelu|dropout=0.1");
}

TEST(CustomSpec, ExplicitValuesKeptAndCommandWorksWithBuiltinSpaces) {
  for (const char* space : {"nb201", "mobilenet"}) {
    absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
        {}, absl::StrCat("name: b\nsearch_space: {name: ", space,
                         "}\nbudget: {max_trials: 3}\nevaluation:\n"
                         "  mode: COMMAND\n  command: {trainer: t.v-1, "
                         "timeout_seconds: 60, grace_seconds: 2}\n"
                         "early_stopping: {rule: asha}\nfinal: {top_k: 2}\n"));
    NAS_ASSERT_OK(spec) << space;
    EXPECT_EQ(spec->evaluation().command().timeout_seconds(), 60);
    EXPECT_EQ(spec->evaluation().command().grace_seconds(), 2);
    EXPECT_EQ(spec->early_stopping().rule(), "asha");
    EXPECT_EQ(spec->final().top_k(), 2);
  }
}

TEST(CustomSpec, DecisionErrorsNameTheDecisionWithLine) {
  const std::string yaml = R"(name: mine
search_space:
  name: custom
  decisions:
    - {name: kernel, choices: [3, 5, 7]}
    - {name: kernel, choices: [a]}
    - name: width
      choices: [1, 2, "02"]
    - {name: act, choices: [relu, "a|b"], type: string}
    - {name: x, choices: [1, 2.5], type: int}
budget: {max_trials: 20}
)" + std::string(kCommand);
  std::vector<std::string> errors = Errors(yaml);
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "spec.search_space.decisions[1].name (line 6): 'kernel' repeats "
            "the name of decisions[0]");
  EXPECT_EQ(errors[1],
            "spec.search_space.decisions[2] (width).choices[2] (line 8): "
            "'02' is the same int as choices[1] ('2')");
  EXPECT_EQ(errors[2].rfind(
                "spec.search_space.decisions[3] (act).choices[1] (line 9): "
                "'a|b' contains '|'",
                0),
            0u)
      << errors[2];
  EXPECT_EQ(errors[3],
            "spec.search_space.decisions[4] (x).choices[1] (line 10): '2.5' "
            "does not read as an int (the decision's type is int)");
}

TEST(CustomSpec, CustomNeedsDecisionsAndBuiltinsRefuseThem) {
  ExpectOneError(
      "name: m\nsearch_space: {name: custom}\nbudget: {max_trials: 2}\n" +
          std::string(kCommand),
      "spec.search_space.decisions (line 2): a custom space needs 1 to 64 "
      "decisions, got 0");
  ExpectOneError(
      "name: m\nsearch_space:\n  name: nb201\n  decisions: [{name: a, "
      "choices: [1]}]\nbudget: {max_trials: 2}\n",
      "spec.search_space.decisions (line 4): only for name: custom");
}

TEST(CustomSpec, CustomSpaceRefusesTrainingModesOfTheBuiltinTrainer) {
  for (const char* mode : {"FULL", "EARLY_STOPPED", "SUPERNET"}) {
    std::vector<std::string> errors =
        Errors(std::string(kCustom) + "evaluation: {mode: " + mode + "}\n" +
               (std::string(mode) == "EARLY_STOPPED"
                    ? "early_stopping: {rule: median}\n"
                    : ""));
    ASSERT_FALSE(errors.empty()) << mode;
    EXPECT_EQ(errors[0].rfind("spec.evaluation.mode", 0), 0u) << errors[0];
    EXPECT_NE(errors[0].find("trained by your trainer (evaluation.mode: "
                             "COMMAND)"),
              std::string::npos)
        << errors[0];
  }
  // The default mode (FULL) too.
  ExpectOneError(kCustom, "spec.evaluation.mode", "not by mode FULL");
  // TABULAR is fine: a table keyed by the canonical string.
  std::vector<std::string> errors = Errors(
      std::string(kCustom) +
      "evaluation:\n  mode: TABULAR\n  tabular: {path: /t.csv, val_column: "
      "v, test_column: t, cost_column: c, macs_column: m, params_column: "
      "p}\n");
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

TEST(CustomSpec, HardConstraintsRefusedButCostObjectivesAllowed) {
  std::vector<std::string> errors =
      Errors(std::string(kCustom) + kCommand +
             "objective: {constraints: {max_macs: 1000, max_params: 10}}\n");
  ASSERT_EQ(errors.size(), 2u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0].rfind("spec.objective.constraints.max_macs", 0), 0u);
  EXPECT_NE(errors[0].find("no analytic cost before training"),
            std::string::npos);
  EXPECT_EQ(errors[1].rfind("spec.objective.constraints.max_params", 0), 0u);
  NAS_EXPECT_OK(
      PrepareSpec({},
                  std::string(kCustom) + kCommand +
                      "objective: {ranking: pareto, minimize: [macs, params, "
                      "latency_ms]}\n")
          .status());
}

TEST(CommandSpec, CommandOptionsRefusedWithPaths) {
  const std::string head = std::string(kCustom) +
                           "evaluation:\n  mode: "
                           "COMMAND\n  command:\n";
  ExpectOneError(head + "    timeout_seconds: 5\n",
                 "spec.evaluation.command.trainer", "required");
  ExpectOneError(head + "    trainer: -bad\n",
                 "spec.evaluation.command.trainer (line 13): '-bad' must be");
  ExpectOneError(head + "    trainer: t\n    timeout_seconds: 0\n",
                 "spec.evaluation.command.timeout_seconds (line 14): must be "
                 "in [1, 604800], got 0");
  ExpectOneError(head + "    trainer: t\n    timeout_seconds: 604801\n",
                 "spec.evaluation.command.timeout_seconds", "got 604801");
  ExpectOneError(head + "    trainer: t\n    grace_seconds: 601\n",
                 "spec.evaluation.command.grace_seconds (line 14): must be in "
                 "[1, 600], got 601");
  ExpectOneError(head + "    trainer: t\n    parameters: {9lives: x}\n",
                 "spec.evaluation.command.parameters.9lives (line 14): "
                 "parameter names are");
  ExpectOneError(head + "    trainer: t\n    parameters: {a: \"x\\ty\"}\n",
                 "spec.evaluation.command.parameters.a (line 14): control "
                 "character (byte 9)");
  ExpectOneError(
      head + "    trainer: t\n    parameters: {a: " + std::string(1025, 'x') +
          "}\n",
      "spec.evaluation.command.parameters.a", "at most 1024 bytes, got 1025");
  std::string many = head + "    trainer: t\n    parameters:\n";
  for (int i = 0; i < 65; ++i) {
    many += "      p" + std::to_string(i) + ": v\n";
  }
  ExpectOneError(many, "spec.evaluation.command.parameters (line 14)",
                 "at most 64 parameters, got 65");
  // No command section at all.
  ExpectOneError(std::string(kCustom) + "evaluation: {mode: COMMAND}\n",
                 "spec.evaluation.command.trainer", "required");
}

TEST(CommandSpec, CommandOnlyWithModeCommand) {
  ExpectOneError(
      "name: b\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
      "evaluation:\n  mode: FULL\n  command: {trainer: t}\n",
      "spec.evaluation.command (line 6): set evaluation.mode to COMMAND");
  // Early stopping needs EARLY_STOPPED or COMMAND; COMMAND does not need it.
  ExpectOneError(
      "name: b\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
      "early_stopping: {rule: median}\n",
      "spec.early_stopping.rule",
      "set evaluation.mode to EARLY_STOPPED (or COMMAND)");
  // SUPERNET's options stay SUPERNET's.
  ExpectOneError(std::string(kCustom) + kCommand + "  supernet: {epochs: 3}\n",
                 "spec.evaluation.supernet", "set evaluation.mode to SUPERNET");
}

TEST(CommandSpec, NamedObjectiveMetricOnlyWithCommand) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, std::string(kCustom) + kCommand +
                          "objective: {metric: val_top5.acc}\n"
                          "early_stopping: {rule: median}\n");
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->objective().metric(), "val_top5.acc");
  // Copied through for the early-stopping rule and the workers.
  EXPECT_EQ(spec->evaluation().progress_metric(), "val_top5.acc");
  // Built-in ones still work with COMMAND.
  NAS_EXPECT_OK(PrepareSpec({}, std::string(kCustom) + kCommand +
                                    "objective: {metric: val_macro_f1}\n")
                    .status());
  NAS_EXPECT_OK(PrepareSpec({}, std::string(kCustom) + kCommand +
                                    "objective: {metric: \"val_recall:3\"}\n")
                    .status());
  ExpectOneError(
      std::string(kCustom) + kCommand + "objective: {metric: test_accuracy}\n",
      "spec.objective.metric (line 15): 'test_accuracy' is a test "
      "metric; the search never uses test metrics");
  ExpectOneError(
      std::string(kCustom) + kCommand + "objective: {metric: test_bleu}\n",
      "spec.objective.metric", "is a test metric");
  ExpectOneError(
      std::string(kCustom) + kCommand + "objective: {metric: latency_ms}\n",
      "spec.objective.metric", "'latency_ms' is a cost");
  ExpectOneError(
      std::string(kCustom) + kCommand + "objective: {metric: \"bleu score\"}\n",
      "spec.objective.metric", "unknown metric 'bleu score'");
  ExpectOneError(std::string(kCustom) + kCommand +
                     "objective: {metric: " + std::string(65, 'a') + "}\n",
                 "spec.objective.metric", "at most 64 characters");
  // Other modes keep the built-in names only.
  ExpectOneError(
      "name: b\nsearch_space: {name: nb201}\nbudget: {max_trials: 3}\n"
      "objective: {metric: val_top5}\n",
      "spec.objective.metric (line 4): unknown metric 'val_top5'",
      "needs evaluation.mode COMMAND");
}

TEST(CommandSpec, FinalTrainingAllowedWithCommandNotTabular) {
  NAS_EXPECT_OK(PrepareSpec({}, std::string(kCustom) + kCommand +
                                    "final: {top_k: 3, epochs: 5}\n")
                    .status());
  std::vector<std::string> errors = Errors(
      std::string(kCustom) +
      "evaluation:\n  mode: TABULAR\n  tabular: {path: /t.csv, val_column: "
      "v, test_column: t, cost_column: c}\nfinal: {top_k: 2}\n");
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("spec.final.top_k"), std::string::npos);
  EXPECT_NE(errors[0].find("FULL, EARLY_STOPPED, SUPERNET or COMMAND"),
            std::string::npos);
}

}  // namespace
}  // namespace nas
