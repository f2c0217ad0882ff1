// TABULAR evaluation: a trial is answered by looking its genotype up in a
// benchmark table (a CSV file keyed by canonical genotype string, e.g.
// NAS-Bench-201's), with the table's cost as simulated seconds; nothing is
// trained. LibTorch-free. Thread-safe: tables are loaded once per path and
// cached (immutable afterwards; a file changed on disk is not re-read); a
// table being loaded holds up only the trials of that table.
//
// The table's path comes from the client's spec: it is opened by
// OpenTrialFile (worker/data/trial_file.h: under the worker's --data_root,
// a regular file, at most --max_table_mib) and no error message carries
// anything read from the file (line numbers and the spec's column names
// only).
#ifndef NAS_WORKER_EVALUATORS_TABULAR_EVALUATOR_H_
#define NAS_WORKER_EVALUATORS_TABULAR_EVALUATOR_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "worker/data/trial_file.h"
#include "worker/evaluators/evaluator.h"

namespace nas {

// The default of nas-worker --max_table_mib: the largest benchmark table
// a trial may name.
inline constexpr int kDefaultMaxTableMib = 1024;

// A CSV table in memory: a header row of column names, then one row per
// record with as many fields. Fields may be double-quoted ("" escapes a
// quote); surrounding spaces are kept. Immutable after Load.
class BenchmarkTable {
 public:
  // Reads `path` (ReadTrialFile under `limits`: its refusals name
  // evaluation.tabular.path) and indexes it by `key_column`.
  // InvalidArgument naming evaluation.tabular.path, the file and the line
  // number for an empty file, a missing key column, a row with the wrong
  // number of fields or a repeated key; no message quotes the file.
  static absl::StatusOr<std::unique_ptr<BenchmarkTable>> Load(
      const std::string& path, const std::string& key_column,
      const TrialFileLimits& limits = {});

  const std::string& path() const { return path_; }
  const std::string& key_column() const { return key_column_; }
  const std::vector<std::string>& columns() const { return columns_; }
  int num_rows() const { return static_cast<int>(rows_.size()); }
  // Keys in file order.
  std::vector<std::string> Keys() const;

  // Index of `column`; InvalidArgument naming the file, the column and
  // how many the header has when there is no such column.
  absl::StatusOr<int> Column(const std::string& column) const;
  // Row of `key`; NotFound naming the key, the file and its key column.
  absl::StatusOr<int> Row(const std::string& key) const;
  // The number in (row, column); InvalidArgument naming file, line and
  // column (not the field's text) when the field is not a finite number.
  absl::StatusOr<double> Number(int row, int column) const;

 private:
  BenchmarkTable() = default;
  std::string path_;
  std::string key_column_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int> lines_;  // the file's line number of each row
  absl::flat_hash_map<std::string, int> index_;
};

// Looks up trial.genotype.canonical in trial.evaluation.tabular's table
// and reports (EvaluationMetrics):
//   val_accuracy, test_accuracy = column * accuracy_scale (must land in
//     [0, 1]: a percent table with accuracy_scale 1 is an error);
//   simulated_seconds = train_seconds = cost_column * cost_scale (>= 0);
//   macs, params = column * scale (rounded) when the column is named, else
//     the search space's analytic cost for evaluation.dataset's input;
//   latency_ms = latency_column, or 0; epochs 0; device "table <file>".
// The progress callback is never called. Errors name the file and the
// column: NotFound for a missing file or a genotype not in the table,
// InvalidArgument for a missing column or a bad value.
class TabularEvaluator final : public Evaluator {
 public:
  // Tables anywhere, up to kDefaultMaxTableMib (tests, nas-simworker).
  TabularEvaluator();
  // Tables opened under `limits` (nas-worker: --data_root, --max_table_mib).
  explicit TabularEvaluator(TrialFileLimits limits)
      : limits_(std::move(limits)) {}

  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override;
  std::string device() const override { return "table lookup"; }

  // The cached table of (path, key_column), loading it on first use
  // (concurrent first uses of one table load it once; a failed load is not
  // cached).
  absl::StatusOr<std::shared_ptr<const BenchmarkTable>> GetTable(
      const std::string& path, const std::string& key_column);

 private:
  // One table's slot: its lock is held while the table is read.
  struct Entry {
    absl::Mutex mu;
    std::shared_ptr<const BenchmarkTable> table ABSL_GUARDED_BY(mu);
  };

  const TrialFileLimits limits_;
  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> tables_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_TABULAR_EVALUATOR_H_
