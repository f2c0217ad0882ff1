#include "worker/evaluators/tabular_evaluator.h"

#include <cmath>
#include <memory>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spaces/search_space.h"
#include "common/spec/spec.h"
#include "common/status_macros.h"
#include "worker/data/trial_file.h"

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

constexpr char kPathField[] = "evaluation.tabular.path";

std::string FileName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

TabularEvaluator::TabularEvaluator()
    : limits_{
          {}, int64_t{kDefaultMaxTableMib} * 1024 * 1024, "--max_table_mib"} {}

absl::StatusOr<std::unique_ptr<BenchmarkTable>> BenchmarkTable::Load(
    const std::string& path, const std::string& key_column,
    const TrialFileLimits& limits) {
  // Refused before anything is read: outside the roots, not a regular
  // file, too large (worker/data/trial_file.h).
  NAS_ASSIGN_OR_RETURN(std::string text,
                       ReadTrialFile(path, kPathField, limits));
  std::istringstream in(std::move(text));
  std::unique_ptr<BenchmarkTable> t(new BenchmarkTable());
  t->path_ = path;
  t->key_column_ = key_column;
  std::string line;
  int line_no = 0;
  auto strip_cr = [&line] {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  };
  // Messages name the file, line numbers and the columns the spec named,
  // never anything read from the file (a spec could name a secret).
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kPathField, ": '", path, "' is empty (expected a header row)"));
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
        kPathField, ": key column '", key_column,
        "' (evaluation.tabular.key_column) is not in the header (line 1) of '",
        path, "' (", t->columns_.size(), " columns)"));
  }
  while (std::getline(in, line)) {
    ++line_no;
    strip_cr();
    if (line.empty()) continue;
    std::vector<std::string> fields = SplitCsvLine(line);
    if (fields.size() != t->columns_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kPathField, ": '", path, "' line ", line_no, ": ", fields.size(),
          " fields, the header has ", t->columns_.size()));
    }
    const int row = static_cast<int>(t->rows_.size());
    if (!t->index_.emplace(fields[key], row).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(kPathField, ": '", path, "' line ", line_no,
                       ": its key repeats an earlier row's"));
    }
    t->rows_.push_back(std::move(fields));
    t->lines_.push_back(line_no);
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
      absl::StrCat("tabular: column '", column, "' is not in the header of '",
                   path_, "' (", columns_.size(), " columns)"));
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
        absl::StrCat("tabular: '", path_, "' line ", lines_[row], ", column '",
                     columns_[column], "': not a finite number"));
  }
  return v;
}

absl::StatusOr<std::shared_ptr<const BenchmarkTable>>
TabularEvaluator::GetTable(const std::string& path,
                           const std::string& key_column) {
  const std::pair<std::string, std::string> key{path, key_column};
  std::shared_ptr<Entry> entry;
  {
    // The map's lock only around the lookup: a slow file never holds up
    // trials of other tables.
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Entry>& slot = tables_[key];
    if (slot == nullptr) slot = std::make_shared<Entry>();
    entry = slot;
  }
  absl::MutexLock lock(&entry->mu);
  if (entry->table != nullptr) return entry->table;
  absl::StatusOr<std::unique_ptr<BenchmarkTable>> loaded =
      BenchmarkTable::Load(path, key_column, limits_);
  if (!loaded.ok()) return loaded.status();  // not cached: read again next time
  entry->table = std::shared_ptr<const BenchmarkTable>(*std::move(loaded));
  return entry->table;
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
          ") gives an accuracy outside [0, 1] after accuracy_scale ", acc_scale,
          "; use accuracy_scale 0.01 for percentages, 1 for "
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
                     "' gives a negative cost"));
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
                       "' gives a negative count"));
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
