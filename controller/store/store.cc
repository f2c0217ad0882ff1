// Store's construction, migrations, and the verbs of experiments,
// operations and workers. Candidates: store_candidates.cc; leasing and
// progress: store_trials.cc; results, failures, models and artifacts:
// store_results.cc. The SQL text is in statements.cc.
#include "controller/store/store.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/trainers.h"
#include "controller/store/migrations.h"
#include "controller/store/pool.h"
#include "controller/store/rows.h"
#include "controller/store/statements.h"

namespace nas {

using store_internal::ExperimentFromRow;
using store_internal::ExperimentStateName;
using store_internal::IsFinal;
using store_internal::JsonObject;
using store_internal::ParseCandidateState;
using store_internal::Pool;

namespace {

constexpr int kDefaultLeaseSeconds = 60;
constexpr int kDefaultMaxAttempts = 3;

}  // namespace

Store::Store(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.pool_size <= 0) {
    return absl::InvalidArgumentError("pool_size: must be > 0");
  }
  auto pool = std::make_unique<Pool>(options);
  NAS_RETURN_IF_ERROR(pool->ConnectAll());
  return std::unique_ptr<Store>(new Store(std::move(pool)));
}

absl::StatusOr<std::vector<int>> Store::Migrate(
    const std::string& migrations_dir) {
  return store_internal::ApplyMigrations(pool_.get(), migrations_dir);
}

// --- experiments -------------------------------------------------------------

absl::StatusOr<int64_t> Store::CreateExperiment(const v1::ExperimentSpec& spec,
                                                int64_t seed, int max_running) {
  NAS_ASSIGN_OR_RETURN(const std::string json, store_internal::SpecJson(spec));
  // The labels every trial of the experiment requires of a worker,
  // copied into each trial row: spec.required_labels plus, for mode
  // COMMAND, the trainer's label (common/trainers.h).
  NAS_ASSIGN_OR_RETURN(const std::string labels,
                       JsonObject(EffectiveRequiredLabels(spec)));
  const int lease_seconds =
      spec.lease_seconds() > 0 ? spec.lease_seconds() : kDefaultLeaseSeconds;
  const int max_attempts =
      spec.max_attempts() > 0 ? spec.max_attempts() : kDefaultMaxAttempts;
  return pool_->Run(
      "CreateExperiment",
      [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
        pqxx::work txn(conn);
        if (max_running > 0) {
          txn.exec_prepared("lock_experiment_creation");
          const int64_t running =
              txn.exec_prepared1("count_running_experiments")[0].as<int64_t>();
          if (running >= max_running) {
            return absl::ResourceExhaustedError(
                absl::StrCat(running,
                             " experiments are running and this controller "
                             "allows at most ",
                             max_running,
                             " at once (--max_running_experiments): stop one "
                             "or wait for one to finish"));
          }
        }
        pqxx::row row =
            txn.exec_prepared1("create_experiment", spec.name(), json,
                               pqxx::binarystring(spec.SerializeAsString()),
                               seed, labels, lease_seconds, max_attempts);
        txn.commit();
        return row[0].as<int64_t>();
      });
}

absl::StatusOr<ExperimentRecord> Store::GetExperiment(int64_t id) {
  return pool_->Run(
      "GetExperiment",
      [&](pqxx::connection& conn) -> absl::StatusOr<ExperimentRecord> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("get_experiment", id);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("experiment ", id));
        }
        return ExperimentFromRow(r[0]);
      });
}

absl::StatusOr<std::vector<ExperimentRecord>> Store::ListExperiments(
    int64_t before_id, int limit) {
  if (limit <= 0) return absl::InvalidArgumentError("limit: must be > 0");
  return pool_->Run(
      "ListExperiments",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::vector<ExperimentRecord>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("list_experiments", before_id, limit);
        std::vector<ExperimentRecord> out;
        out.reserve(r.size());
        for (const pqxx::row& row : r) {
          NAS_ASSIGN_OR_RETURN(ExperimentRecord e, ExperimentFromRow(row));
          out.push_back(std::move(e));
        }
        return out;
      });
}

absl::StatusOr<std::vector<int64_t>> Store::ListRunningExperimentIds() {
  return pool_->Run(
      "ListRunningExperimentIds",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<int64_t>> {
        pqxx::nontransaction txn(conn);
        std::vector<int64_t> out;
        for (const pqxx::row& row :
             txn.exec_prepared("list_running_experiments")) {
          out.push_back(row[0].as<int64_t>());
        }
        return out;
      });
}

namespace {

// Under the experiment's row lock: RUNNING -> `state` with `error`.
// kNotFound for an unknown experiment, kFailedPrecondition when it already
// finished.
absl::Status FinishRunning(pqxx::work& txn, int64_t id,
                           v1::ExperimentState state,
                           const std::string& error) {
  pqxx::result r = txn.exec_prepared("lock_experiment", id);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("experiment ", id));
  const std::string current = r[0][0].as<std::string>();
  if (current != "RUNNING") {
    return absl::FailedPreconditionError(
        absl::StrCat("experiment ", id, " already ", current));
  }
  txn.exec_prepared0("finish_experiment", id, ExperimentStateName(state),
                     error);
  return absl::OkStatus();
}

}  // namespace

absl::Status Store::FinishExperiment(int64_t id, v1::ExperimentState state,
                                     const std::string& error) {
  if (state == v1::EXPERIMENT_RUNNING) return absl::OkStatus();  // no change
  if (!IsFinal(state)) {
    return absl::InvalidArgumentError(
        absl::StrCat("state: not a final experiment state: ",
                     v1::ExperimentState_Name(state)));
  }
  return pool_->Run("FinishExperiment",
                    [&](pqxx::connection& conn) -> absl::Status {
                      pqxx::work txn(conn);
                      NAS_RETURN_IF_ERROR(FinishRunning(txn, id, state, error));
                      // No final state leaves work in the queue.
                      txn.exec_prepared("lock_queued_trials", id);
                      txn.exec_prepared0("cancel_queued_trials", id);
                      txn.commit();
                      return absl::OkStatus();
                    });
}

absl::Status Store::FinishOverBudget(int64_t id, v1::ExperimentState state,
                                     const std::string& error,
                                     int32_t first_uncounted_seq,
                                     const std::string& reason) {
  if (!IsFinal(state)) {
    return absl::InvalidArgumentError(
        absl::StrCat("state: not a final experiment state: ",
                     v1::ExperimentState_Name(state)));
  }
  return pool_->Run(
      "FinishOverBudget", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::work txn(conn);
        NAS_RETURN_IF_ERROR(FinishRunning(txn, id, state, error));
        txn.exec_prepared("lock_trials_from_seq", id, first_uncounted_seq);
        txn.exec_prepared0("cancel_from_seq", id, first_uncounted_seq, reason);
        txn.exec_prepared("lock_queued_trials", id);
        txn.exec_prepared0("cancel_queued_trials", id);
        txn.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<TrialCost>> Store::ListTrialCosts(
    int64_t experiment_id, int32_t after_seq) {
  return pool_->Run(
      "ListTrialCosts",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<TrialCost>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("list_trial_costs", experiment_id, after_seq);
        std::vector<TrialCost> out(r.size());
        for (size_t i = 0; i < r.size(); ++i) {
          out[i].candidate_id = r[i][0].as<int64_t>();
          out[i].seq = r[i][1].as<int32_t>();
          const std::string status = r[i][2].as<std::string>();
          out[i].status = status == "QUEUED"      ? TrialStatus::kQueued
                          : status == "RUNNING"   ? TrialStatus::kRunning
                          : status == "SUCCEEDED" ? TrialStatus::kSucceeded
                          : status == "FAILED"    ? TrialStatus::kFailed
                                                  : TrialStatus::kCancelled;
          out[i].simulated_seconds = r[i][3].as<double>();
        }
        return out;
      });
}

absl::Status Store::FoldCounters(int64_t id) {
  return pool_->Run("FoldCounters", [&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);  // one statement: atomic by itself
    txn.exec_prepared0("fold_counters", id);
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::ExperimentCounts> Store::CountExperiment(int64_t id) {
  NAS_ASSIGN_OR_RETURN(ExperimentTotals totals, CountExperimentTotals(id));
  return std::move(totals.counts);
}

absl::StatusOr<Store::ExperimentTotals> Store::CountExperimentTotals(
    int64_t id) {
  NAS_ASSIGN_OR_RETURN(auto totals, CountExperimentsTotals({id}));
  auto it = totals.find(id);
  if (it == totals.end()) {
    return absl::NotFoundError(absl::StrCat("experiment ", id));
  }
  return std::move(it->second);
}

absl::StatusOr<std::map<int64_t, Store::ExperimentTotals>>
Store::CountExperimentsTotals(const std::vector<int64_t>& ids) {
  std::map<int64_t, ExperimentTotals> out;
  if (ids.empty()) return out;
  const std::string id_array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  return pool_->Run("CountExperiment",
                    [&](pqxx::connection& conn)
                        -> absl::StatusOr<std::map<int64_t, ExperimentTotals>> {
                      pqxx::work txn(conn);
                      // The live queued/running counts and the pending deltas
                      // read indexes full of dead entries between vacuums
                      // (every lease and result moves a trial between
                      // statuses). A plain index scan marks the dead entries it
                      // meets so the next count skips them; a bitmap scan (the
                      // planner's choice for an estimate of a few rows) visited
                      // every one each time: 10-50 ms per count after a minute
                      // of results (auto_explain, issue 9).
                      txn.exec0("SET LOCAL enable_bitmapscan = off");
                      pqxx::result r =
                          txn.exec_prepared("count_experiments", id_array);
                      txn.commit();
                      for (const pqxx::row& row : r) {
                        ExperimentTotals t;
                        v1::ExperimentCounts& c = t.counts;
                        c.set_candidates(row[0].as<int32_t>());
                        c.set_rejected(row[1].as<int32_t>());
                        c.set_duplicates(row[2].as<int32_t>());
                        c.set_trials_queued(row[3].as<int32_t>());
                        c.set_trials_running(row[4].as<int32_t>());
                        c.set_trials_succeeded(row[5].as<int32_t>());
                        c.set_trials_failed(row[6].as<int32_t>());
                        c.set_final_trainings(row[7].as<int32_t>());
                        c.set_final_trainings_done(row[8].as<int32_t>());
                        const std::string supernet = row[9].as<std::string>();
                        if (!supernet.empty()) {
                          c.set_supernet(ParseCandidateState(supernet));
                        }
                        c.set_searches(row[10].as<int32_t>());
                        c.set_searches_done(row[11].as<int32_t>());
                        c.set_screened(row[12].as<int32_t>());
                        c.set_screens_pending(row[13].as<int32_t>());
                        t.simulated_seconds = row[14].as<double>();
                        out[row[15].as<int64_t>()] = std::move(t);
                      }
                      return out;
                    });
}

// --- operations ------------------------------------------------------------

absl::Status Store::Ping() {
  return pool_->Run("Ping", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    txn.exec1("SELECT 1");
    return absl::OkStatus();
  });
}

absl::StatusOr<OpsStats> Store::GetOpsStats() {
  return pool_->Run(
      "GetOpsStats", [&](pqxx::connection& conn) -> absl::StatusOr<OpsStats> {
        // Rare (every few seconds) and not on the hot path: not prepared.
        pqxx::read_transaction txn(conn);
        OpsStats out;
        for (const pqxx::row& row :
             txn.exec("SELECT lower(status), count(*) FROM trials "
                      "GROUP BY status")) {
          out.trials_by_status[row[0].as<std::string>()] = row[1].as<int64_t>();
        }
        out.oldest_queued_seconds =
            txn.exec1(
                   "SELECT coalesce(extract(epoch FROM now() - "
                   "min(t.created_at)), 0)::float8 FROM trials t JOIN "
                   "experiments e ON e.id = t.experiment_id WHERE t.status = "
                   "'QUEUED' AND e.state = 'RUNNING'")[0]
                .as<double>();
        for (const pqxx::row& row :
             txn.exec(store_internal::kRunningBestObjective)) {
          out.running_best_val_accuracy[row[0].as<int64_t>()] =
              row[1].as<double>();
        }
        return out;
      });
}

// --- workers -----------------------------------------------------------------

absl::Status Store::UpsertWorker(const v1::RegisterWorkerRequest& worker) {
  if (worker.worker_id().empty()) {
    return absl::InvalidArgumentError("worker_id: must not be empty");
  }
  NAS_ASSIGN_OR_RETURN(const std::string labels, JsonObject(worker.labels()));
  return pool_->Run(
      "UpsertWorker", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::nontransaction txn(conn);
        txn.exec_prepared0("upsert_worker", worker.worker_id(), worker.device(),
                           labels, worker.version());
        return absl::OkStatus();
      });
}

absl::StatusOr<std::map<std::string, std::string>> Store::GetWorkerLabels(
    const std::string& worker_id) {
  return pool_->Run(
      "GetWorkerLabels",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::map<std::string, std::string>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("get_worker_labels", worker_id);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("worker \"", worker_id, "\" is not registered"));
        }
        std::map<std::string, std::string> labels;
        for (const pqxx::row& row : r) {
          if (row[0].is_null()) continue;  // registered without labels
          labels[row[0].as<std::string>()] = row[1].as<std::string>();
        }
        return labels;
      });
}

absl::Status Store::TouchWorker(const std::string& worker_id) {
  return pool_->Run("TouchWorker", [&](pqxx::connection& conn) -> absl::Status {
    pqxx::nontransaction txn(conn);
    if (txn.exec_prepared("touch_worker", worker_id).empty()) {
      return absl::NotFoundError(
          absl::StrCat("worker \"", worker_id, "\" is not registered"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> Store::PruneWorkers(
    const std::vector<std::string>& live, absl::Duration retention) {
  google::protobuf::ListValue ids;
  for (const std::string& id : live) ids.add_values()->set_string_value(id);
  std::string live_json;
  if (!google::protobuf::util::MessageToJsonString(ids, &live_json).ok()) {
    return absl::InvalidArgumentError("worker_id: not valid UTF-8");
  }
  return pool_->Run("PruneWorkers",
                    [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                      pqxx::work txn(conn);
                      if (!live.empty())
                        txn.exec_prepared0("touch_workers", live_json);
                      pqxx::result r = txn.exec_prepared0(
                          "prune_workers", absl::ToDoubleSeconds(retention));
                      txn.commit();
                      return static_cast<int64_t>(r.affected_rows());
                    });
}

}  // namespace nas
