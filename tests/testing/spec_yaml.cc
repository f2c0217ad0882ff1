#include "tests/testing/spec_yaml.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/spaces/search_space.h"

namespace nas::testing {
namespace {

// "key: value\n" for flow text, "key:<block>\n" for a block.
void Field(std::string* out, const char* key, const std::string& value) {
  if (value.empty()) return;
  absl::StrAppend(out, key, value[0] == '\n' ? ":" : ": ", value, "\n");
}

void Field(std::string* out, const char* key, int value) {
  if (value != 0) absl::StrAppend(out, key, ": ", value, "\n");
}

}  // namespace

std::string SpecYaml::Yaml() const {
  std::string out;
  Field(&out, "name", name);
  Field(&out, "search_space", search_space);
  Field(&out, "strategy", strategy);
  Field(&out, "objective", objective);
  Field(&out, "budget", budget);
  Field(&out, "lease_seconds", lease_seconds);
  Field(&out, "max_attempts", max_attempts);
  Field(&out, "duplicates", duplicates);
  Field(&out, "evaluation", evaluation);
  absl::StrAppend(&out, extra);
  return out;
}

std::string TinyNb201(int channels) {
  return absl::StrCat("\n  name: nb201\n  nb201: {channels: ", channels,
                      ", cells_per_stage: 1}");
}

std::string TrialBudget(int trials, int parallel) {
  return absl::StrCat("{max_trials: ", trials, ", parallel_trials: ", parallel,
                      "}");
}

std::string FullTraining(int epochs, int train_samples, int val_samples,
                         int test_samples) {
  return absl::StrCat("\n  epochs: ", epochs,
                      "\n  batch_size: 32\n  learning_rate: 0.1"
                      "\n  train_samples: ",
                      train_samples, "\n  val_samples: ", val_samples,
                      "\n  test_samples: ", test_samples);
}

std::string TabularLookup(const std::string& table, int cost_scale,
                          const std::string& macs_column) {
  std::string out =
      absl::StrCat("\n  mode: TABULAR\n  tabular:\n    path: ", table,
                   "\n    val_column: val_pct\n    test_column: test_pct"
                   "\n    cost_column: train_s");
  if (cost_scale != 0) absl::StrAppend(&out, "\n    cost_scale: ", cost_scale);
  if (!macs_column.empty()) {
    absl::StrAppend(&out, "\n    macs_column: ", macs_column,
                    "\n    macs_scale: 1e6");
  }
  return out;
}

std::string AliasBombYaml(int n) {
  std::string choices;
  for (int i = 0; i < n; ++i) absl::StrAppend(&choices, i ? "," : "", i);
  std::string yaml = absl::StrCat(
      "name: bomb\nsearch_space:\n  name: custom\n  decisions:\n"
      "  - &d {name: k, choices: [",
      choices, "]}\n");
  for (int i = 1; i < n; ++i) yaml += "  - *d\n";
  return yaml;
}

std::string WriteSimpleNb201Table(const std::string& path,
                                  double cost_seconds) {
  const SearchSpace* space = *GetSearchSpace("nb201");
  std::ofstream out(path);
  out << "arch,val_pct,test_pct,train_s\n";
  for (int i = 0; i < 15625; ++i) {
    std::vector<int> choices;
    for (int e = 0, x = i; e < 6; ++e, x /= 5) choices.push_back(x % 5);
    out << *space->Canonical(choices) << "," << 50 + i % 40 << ","
        << 49 + i % 40 << "," << cost_seconds << "\n";
  }
  return path;
}

}  // namespace nas::testing
