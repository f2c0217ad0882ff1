// Store's verbs for an experiment that runs again (ExtendExperiment) and
// for its per-trial learning curves (trial_progress, migrations 0001/0004).
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/store/pool.h"
#include "controller/store/rows.h"
#include "controller/store/store.h"

namespace nas {

using store_internal::ExperimentStateName;
using store_internal::ParseCandidateState;

absl::Status Store::ReopenExperiment(int64_t id, const v1::ExperimentSpec& spec,
                                     v1::ExperimentState expected_state,
                                     int max_running) {
  NAS_ASSIGN_OR_RETURN(const std::string json, store_internal::SpecJson(spec));
  const std::string expected = ExperimentStateName(expected_state);
  return pool_->Run(
      "ReopenExperiment", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::work txn(conn);
        if (max_running > 0 && expected != "RUNNING") {
          txn.exec_prepared("lock_experiment_creation");
        }
        pqxx::result r = txn.exec_prepared("lock_experiment", id);
        if (r.empty())
          return absl::NotFoundError(absl::StrCat("experiment ", id));
        const std::string current = r[0][0].as<std::string>();
        if (current == "FAILED" || current != expected) {
          return absl::FailedPreconditionError(absl::StrCat(
              "experiment ", id, " is ", current,
              current == "FAILED"
                  ? ": a failed experiment cannot run again"
                  : absl::StrCat(" (it was ", expected, " a moment ago)")));
        }
        if (max_running > 0 && current != "RUNNING") {
          const int64_t running =
              txn.exec_prepared1("count_running_experiments")[0].as<int64_t>();
          if (running >= max_running) {
            return absl::ResourceExhaustedError(absl::StrCat(
                running,
                " experiments are running and this controller allows at most ",
                max_running,
                " at once (--max_running_experiments): stop one or wait for "
                "one to finish"));
          }
        }
        txn.exec_prepared0("reopen_experiment", id, json,
                           pqxx::binarystring(spec.SerializeAsString()));
        txn.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<v1::LearningCurve>> Store::ListLearningCurves(
    int64_t experiment_id, int32_t after_seq, int limit) {
  if (limit <= 0) return absl::InvalidArgumentError("limit: must be > 0");
  return pool_->Run(
      "ListLearningCurves",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::vector<v1::LearningCurve>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("list_learning_curves",
                                           experiment_id, after_seq, limit);
        std::vector<v1::LearningCurve> out;
        for (const pqxx::row& row : r) {
          const int64_t trial_id = row[5].as<int64_t>();
          if (out.empty() || out.back().trial_id() != trial_id) {
            v1::LearningCurve& c = out.emplace_back();
            c.set_candidate_id(row[0].as<int64_t>());
            c.set_seq(row[1].as<int32_t>());
            c.set_state(ParseCandidateState(row[2].as<std::string>()));
            c.set_final_of(row[3].as<int64_t>());
            c.set_early_stopped(row[4].as<std::string>());
            c.set_trial_id(trial_id);
            c.set_attempt(row[6].as<int32_t>());
          }
          v1::LearningCurve& c = out.back();
          v1::CurvePoint* p = c.add_points();
          p->set_epoch(row[7].as<int32_t>());
          p->set_val_accuracy(row[8].as<double>());
          p->set_train_loss(row[9].as<double>());
          p->set_seconds(row[10].as<double>());
          const std::string decision = row[11].as<std::string>();
          if (!decision.empty() && c.stopped_at_epoch() == 0) {
            c.set_stopped_at_epoch(p->epoch());
            if (c.early_stopped().empty()) c.set_early_stopped(decision);
          }
        }
        return out;
      });
}

}  // namespace nas
