#include "worker/evaluators/tabular_evaluator.h"

#include <cmath>
#include <fstream>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spaces/search_space.h"
#include "common/spec/spec.h"
#include "common/status_macros.h"

namespace nas {
namespace {

// Splits one CSV line into fields (RFC 4180 quoting, no embedded newlines).
std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

std::string FileName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BenchmarkTable>> BenchmarkTable::Load(
    const std::string& path, const std::string& key_column) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "tabular: cannot open benchmark table '", path,
        "' (evaluation.tabular.path is read on the worker's machine)"));
  }
  std::unique_ptr<BenchmarkTable> t(new BenchmarkTable());
  t->path_ = path;
  t->key_column_ = key_column;
  std::string line;
  int line_no = 0;
  auto strip_cr = [&line] {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  };
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tabular: '", path, "' is empty (expected a header row)"));
  }
  ++line_no;
  strip_cr();
  t->columns_ = SplitCsvLine(line);
  int key = -1;
  for (size_t i = 0; i < t->columns_.size(); ++i) {
    if (t->columns_[i] == key_column) key = static_cast<int>(i);
  }
  if (key < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tabular: key column '", key_column,
        "' (evaluation.tabular.key_column)"
        " not in '",
        path, "' (columns: ", absl::StrJoin(t->columns_, ", "), ")"));
  }
  while (std::getline(in, line)) {
    ++line_no;
    strip_cr();
    if (line.empty()) continue;
    std::vector<std::string> fields = SplitCsvLine(line);
    if (fields.size() != t->columns_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tabular: '", path, "' line ", line_no, ": ", fields.size(),
          " fields, the header has ", t->columns_.size()));
    }
    const int row = static_cast<int>(t->rows_.size());
    if (!t->index_.emplace(fields[key], row).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tabular: '", path, "' line ", line_no, ": key '",
                       fields[key], "' repeats an earlier row"));
    }
    t->rows_.push_back(std::move(fields));
  }
  return t;
}

std::vector<std::string> BenchmarkTable::Keys() const {
  const int key = *Column(key_column_);
  std::vector<std::string> out;
  out.reserve(rows_.size());
  for (const auto& r : rows_) out.push_back(r[key]);
  return out;
}

absl::StatusOr<int> BenchmarkTable::Column(const std::string& column) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == column) return static_cast<int>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("tabular: column '", column, "' not in '", path_,
                   "' (columns: ", absl::StrJoin(columns_, ", "), ")"));
}

absl::StatusOr<int> BenchmarkTable::Row(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "tabular: genotype '", key, "' not in '", path_, "' (key column '",
        key_column_, "', ", rows_.size(), " rows)"));
  }
  return it->second;
}

absl::StatusOr<double> BenchmarkTable::Number(int row, int column) const {
  const std::string& s = rows_[row][column];
  double v = 0;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tabular: '", path_, "' row of '",
                     rows_[row][*Column(key_column_)], "', column '",
                     columns_[column], "': '", s, "' is not a finite number"));
  }
  return v;
}

absl::StatusOr<std::shared_ptr<const BenchmarkTable>>
TabularEvaluator::GetTable(const std::string& path,
                           const std::string& key_column) {
  absl::MutexLock lock(&mu_);
  auto it = tables_.find({path, key_column});
  if (it != tables_.end()) return it->second;
  // Loading under the lock: one trial at a time per worker anyway.
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<BenchmarkTable> t,
                       BenchmarkTable::Load(path, key_column));
  std::shared_ptr<const BenchmarkTable> shared(std::move(t));
  tables_[{path, key_column}] = shared;
  return shared;
}

absl::StatusOr<v1::EvaluationMetrics> TabularEvaluator::Evaluate(
    const v1::Trial& trial, const ProgressCallback& /*on_epoch*/) {
  const v1::TabularOptions& o = trial.evaluation().tabular();
  if (o.path().empty() || o.val_column().empty() || o.test_column().empty() ||
      o.cost_column().empty()) {
    return absl::InvalidArgumentError(
        "tabular: evaluation.tabular needs path, val_column, test_column and "
        "cost_column");
  }
  const std::string key_column =
      o.key_column().empty() ? "arch" : o.key_column();
  NAS_ASSIGN_OR_RETURN(std::shared_ptr<const BenchmarkTable> table,
                       GetTable(o.path(), key_column));
  NAS_ASSIGN_OR_RETURN(int row, table->Row(trial.genotype().canonical()));
  // The row's value in `column`, times `scale`.
  auto value = [&](const std::string& column,
                   double scale) -> absl::StatusOr<double> {
    NAS_ASSIGN_OR_RETURN(int c, table->Column(column));
    NAS_ASSIGN_OR_RETURN(double v, table->Number(row, c));
    return v * scale;
  };
  auto scale_or = [](double scale) { return scale > 0 ? scale : 1.0; };
  const double acc_scale = o.accuracy_scale() > 0 ? o.accuracy_scale() : 0.01;
  v1::EvaluationMetrics m;
  NAS_ASSIGN_OR_RETURN(double val, value(o.val_column(), acc_scale));
  NAS_ASSIGN_OR_RETURN(double test, value(o.test_column(), acc_scale));
  for (const auto& [name, column, v] :
       {std::tuple<const char*, std::string, double>{"val_column",
                                                     o.val_column(), val},
        {"test_column", o.test_column(), test}}) {
    if (v < 0 || v > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tabular: '", table->path(), "' column '", column, "' (", name,
          ") gives accuracy ", v, " after accuracy_scale ", acc_scale,
          ", outside [0, 1]; use accuracy_scale 0.01 for percentages, 1 for "
          "fractions"));
    }
  }
  m.set_val_accuracy(val);
  m.set_test_accuracy(test);
  NAS_ASSIGN_OR_RETURN(double cost,
                       value(o.cost_column(), scale_or(o.cost_scale())));
  if (cost < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tabular: '", table->path(), "' column '", o.cost_column(),
                     "' gives a negative cost ", cost));
  }
  m.set_simulated_seconds(cost);
  m.set_train_seconds(cost);
  // Analytic costs unless the table names its own.
  Cost analytic;
  if (o.macs_column().empty() || o.params_column().empty()) {
    // The trial's space as the spec declares it (a custom one is built
    // from its decisions; it has no analytic cost: 0 MACs and params).
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<const SearchSpace> space,
                         MakeSearchSpace(trial.search_space()));
    NAS_ASSIGN_OR_RETURN(InputShape input, DatasetShape(trial.evaluation()));
    std::vector<int> choices(trial.genotype().choices().begin(),
                             trial.genotype().choices().end());
    NAS_ASSIGN_OR_RETURN(
        analytic, space->ComputeCost(choices, trial.search_space(), input));
  }
  auto count = [&](const std::string& column, double scale,
                   int64_t fallback) -> absl::StatusOr<int64_t> {
    if (column.empty()) return fallback;
    NAS_ASSIGN_OR_RETURN(double v, value(column, scale_or(scale)));
    if (v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tabular: '", table->path(), "' column '", column,
                       "' gives a negative count ", v));
    }
    return static_cast<int64_t>(std::llround(v));
  };
  NAS_ASSIGN_OR_RETURN(int64_t macs,
                       count(o.macs_column(), o.macs_scale(), analytic.macs));
  NAS_ASSIGN_OR_RETURN(
      int64_t params,
      count(o.params_column(), o.params_scale(), analytic.params));
  m.set_macs(macs);
  m.set_params(params);
  if (!o.latency_column().empty()) {
    NAS_ASSIGN_OR_RETURN(double latency, value(o.latency_column(), 1.0));
    if (latency < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tabular: '", table->path(), "' column '",
                       o.latency_column(), "' gives a negative latency"));
    }
    m.set_latency_ms(latency);
  }
  m.set_epochs(0);
  m.set_device(absl::StrCat("table ", FileName(table->path())));
  return m;
}

}  // namespace nas
