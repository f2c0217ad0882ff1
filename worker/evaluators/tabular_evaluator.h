// TABULAR evaluation: a trial is answered by looking its genotype up in a
// benchmark table (a CSV file keyed by canonical genotype string, e.g.
// NAS-Bench-201's), with the table's cost as simulated seconds; nothing is
// trained. LibTorch-free. Thread-safe: tables are loaded once per path and
// cached (immutable afterwards; a file changed on disk is not re-read).
#ifndef NAS_WORKER_EVALUATORS_TABULAR_EVALUATOR_H_
#define NAS_WORKER_EVALUATORS_TABULAR_EVALUATOR_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "worker/evaluators/evaluator.h"

namespace nas {

// A CSV table in memory: a header row of column names, then one row per
// record with as many fields. Fields may be double-quoted ("" escapes a
// quote); surrounding spaces are kept. Immutable after Load.
class BenchmarkTable {
 public:
  // Reads `path` and indexes it by `key_column`. NotFound when the file
  // cannot be opened; InvalidArgument naming the file (and line) for an
  // empty file, a missing key column, a row with the wrong number of fields
  // or a repeated key.
  static absl::StatusOr<std::unique_ptr<BenchmarkTable>> Load(
      const std::string& path, const std::string& key_column);

  const std::string& path() const { return path_; }
  const std::string& key_column() const { return key_column_; }
  const std::vector<std::string>& columns() const { return columns_; }
  int num_rows() const { return static_cast<int>(rows_.size()); }
  // Keys in file order.
  std::vector<std::string> Keys() const;

  // Index of `column`; InvalidArgument naming the file and listing the
  // columns when there is no such column.
  absl::StatusOr<int> Column(const std::string& column) const;
  // Row of `key`; NotFound naming the key, the file and its key column.
  absl::StatusOr<int> Row(const std::string& key) const;
  // The number in (row, column); InvalidArgument naming file, line and
  // column when the field is not a finite number.
  absl::StatusOr<double> Number(int row, int column) const;

 private:
  BenchmarkTable() = default;
  std::string path_;
  std::string key_column_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
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
  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override;
  std::string device() const override { return "table lookup"; }

  // The cached table of (path, key_column), loading it on first use.
  absl::StatusOr<std::shared_ptr<const BenchmarkTable>> GetTable(
      const std::string& path, const std::string& key_column);

 private:
  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>,
           std::shared_ptr<const BenchmarkTable>>
      tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_TABULAR_EVALUATOR_H_
