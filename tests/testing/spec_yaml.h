// Experiment-spec YAML for tests, written in one place: SpecYaml holds each
// top-level field's value as YAML text and Yaml() prints them, set fields
// only, in one fixed order. A value is flow text ("{name: nb201}") or a
// block: lines that each start with "\n  " (see the helpers below).
// A plain value type.
#ifndef NAS_TESTS_TESTING_SPEC_YAML_H_
#define NAS_TESTS_TESTING_SPEC_YAML_H_

#include <string>

namespace nas::testing {

struct SpecYaml {
  // Printed in this order; an empty string or a 0 is left out.
  std::string name;
  std::string search_space = "{name: nb201}";
  std::string strategy;
  std::string objective;
  std::string budget;
  int lease_seconds = 0;
  int max_attempts = 0;
  std::string duplicates;
  std::string evaluation;
  // Further top-level lines, printed last as they are ("final: {...}\n").
  std::string extra;

  // The spec as YAML text, one "key: value" per field, ending in "\n".
  std::string Yaml() const;
};

// search_space: NAS-Bench-201 cells with `channels` channels and one cell
// per stage (a few seconds of real training per candidate), as a block.
std::string TinyNb201(int channels = 4);
// budget: {max_trials: <trials>, parallel_trials: <parallel>}.
std::string TrialBudget(int trials, int parallel);
// evaluation: real (FULL) training, as a block: `epochs`, batch_size 32,
// learning_rate 0.1, and the three sample counts.
std::string FullTraining(int epochs, int train_samples, int val_samples,
                         int test_samples);
// Writes a NAS-Bench-201-shaped CSV table of all 15,625 cells to `path`
// (columns arch, val_pct = 50 + i % 40, test_pct = 49 + i % 40, and
// train_s = `cost_seconds` for every cell); returns `path`.
std::string WriteSimpleNb201Table(const std::string& path, double cost_seconds);
// evaluation: a TABULAR search over the CSV file `table`, as a block, with
// the columns the test tables write: val_pct, test_pct, train_s (scaled by
// `cost_scale`; left out when 0) and, when `macs_column` is not empty, that
// column in millions (macs_scale: 1e6).
std::string TabularLookup(const std::string& table, int cost_scale,
                          const std::string& macs_column);

// A YAML alias fan-out in known fields (issue 22): `decisions` lists, `n`
// times, an alias of one custom-space decision of `n` choices: about 11n
// bytes of text that expand to n * n nodes (a million for n = 1000).
std::string AliasBombYaml(int n = 1000);

}  // namespace nas::testing

#endif  // NAS_TESTS_TESTING_SPEC_YAML_H_
