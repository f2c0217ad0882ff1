// Store's trial verbs before a result: leasing queued trials, renewing
// leases, progress reports and early-stopping decisions, and the lease
// sweeps (extension at takeover, expiry).
#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "controller/store/pool.h"
#include "controller/store/rows.h"
#include "controller/store/store.h"

namespace nas {

using store_internal::Bytes;
using store_internal::GenotypeFromRow;
using store_internal::JsonObject;
using store_internal::JsonParam;

absl::StatusOr<std::optional<LeasedTrial>> Store::LeaseTrial(
    const std::string& worker_id,
    const std::map<std::string, std::string>& labels, int max_leases) {
  NAS_ASSIGN_OR_RETURN(std::vector<LeaseAnswer> answers,
                       LeaseTrials({worker_id}, labels, max_leases));
  if (!answers[0].status.ok()) return answers[0].status;
  return std::move(answers[0].trial);
}

absl::StatusOr<std::vector<Store::LeaseAnswer>> Store::LeaseTrials(
    const std::vector<std::string>& worker_ids,
    const std::map<std::string, std::string>& labels, int max_leases) {
  if (worker_ids.empty()) return std::vector<LeaseAnswer>();
  // Each call with its position and its rank among the calls of the same
  // worker (so that one batch cannot take a worker past its limit).
  google::protobuf::ListValue calls;
  std::vector<int> rank(worker_ids.size());
  std::map<std::string, int> seen;
  for (size_t i = 0; i < worker_ids.size(); ++i) {
    if (worker_ids[i].empty()) {
      return absl::InvalidArgumentError("worker_id: must not be empty");
    }
    rank[i] = seen[worker_ids[i]]++;
    auto& fields =
        *calls.add_values()->mutable_struct_value()->mutable_fields();
    fields["worker_id"].set_string_value(worker_ids[i]);
    fields["pos"].set_number_value(i);
    fields["k"].set_number_value(rank[i]);
  }
  NAS_ASSIGN_OR_RETURN(const std::string calls_json,
                       JsonParam(calls, "lease calls"));
  NAS_ASSIGN_OR_RETURN(const std::string labels_json, JsonObject(labels));
  return pool_->Run(
      "LeaseTrials",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<LeaseAnswer>> {
        std::vector<LeaseAnswer> answers(worker_ids.size());
        pqxx::work txn(conn);
        // Its custom planning cost more than its execution (~0.4 ms each,
        // pg_stat_statements): the generic plan (partial indexes on the
        // literal statuses) is as good.
        txn.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
        pqxx::result r = txn.exec_prepared("lease_trials", calls_json,
                                           labels_json, max_leases);
        std::vector<bool> leased(worker_ids.size(), false);
        for (const pqxx::row& row : r) leased[row[18].as<size_t>()] = true;
        if (max_leases > 0 && r.size() < worker_ids.size()) {
          // Calls left without a trial: refused when at their worker's
          // limit (naming the trials held), else the queue had nothing.
          google::protobuf::ListValue empty;
          for (size_t i = 0; i < worker_ids.size(); ++i) {
            if (!leased[i]) empty.add_values()->set_string_value(worker_ids[i]);
          }
          NAS_ASSIGN_OR_RETURN(const std::string empty_json,
                               JsonParam(empty, "worker ids"));
          std::map<std::string, std::vector<std::string>> held;
          for (const pqxx::row& h :
               txn.exec_prepared("workers_leases", empty_json)) {
            held[h[0].c_str()].push_back(h[1].c_str());
          }
          for (size_t i = 0; i < worker_ids.size(); ++i) {
            if (leased[i]) continue;
            auto h = held.find(worker_ids[i]);
            const int holds = h == held.end() ? 0 : h->second.size();
            if (holds + rank[i] < max_leases) continue;
            answers[i].status = absl::ResourceExhaustedError(absl::StrCat(
                "worker '", worker_ids[i], "' already holds ", holds,
                " lease(s)",
                holds > 0 ? absl::StrCat(" (trial ",
                                         absl::StrJoin(h->second, ", "), ")")
                          : std::string(),
                rank[i] > 0
                    ? absl::StrCat(" (and asks for ", rank[i] + 1, " at once)")
                    : std::string(),
                " and this controller allows ", max_leases,
                " per worker (--max_leases_per_worker): report or abandon "
                "them first, or let them expire"));
          }
        }
        txn.commit();
        std::map<int64_t, v1::ExperimentSpec> specs;  // parsed once each
        for (const pqxx::row& row : r) {
          LeaseAnswer& answer = answers[row[18].as<size_t>()];
          LeasedTrial t;
          t.trial_id = row[0].as<int64_t>();
          t.attempt = row[1].as<int32_t>();
          t.experiment_id = row[2].as<int64_t>();
          t.candidate_id = row[3].as<int64_t>();
          t.lease_until = absl::FromUnixMicros(row[4].as<int64_t>());
          GenotypeFromRow(row, 5, &t.genotype);
          auto spec = specs.find(t.experiment_id);
          if (spec == specs.end()) {
            spec = specs.emplace(t.experiment_id, v1::ExperimentSpec()).first;
            if (!spec->second.ParseFromString(Bytes(row[9]))) {
              specs.erase(spec);
              answer.status = absl::DataLossError(
                  absl::StrCat("experiment ", t.experiment_id,
                               ": stored spec does not parse"));
              continue;
            }
          }
          t.spec = spec->second;
          t.final_of = row[10].as<int64_t>();
          t.supernet = row[11].as<bool>();
          t.search = row[12].as<bool>();
          t.search_seed = row[13].as<int64_t>();
          t.checkpoint_hash = row[14].as<std::string>();
          t.checkpoint_epoch = row[15].as<int32_t>();
          t.supernet_hash = row[16].as<std::string>();
          t.queue_wait = absl::Seconds(std::max(0.0, row[17].as<double>()));
          t.screening = row[19].as<bool>();
          answer.trial = std::move(t);
        }
        return answers;
      });
}

absl::StatusOr<bool> Store::RenewLease(int64_t trial_id, int32_t attempt,
                                       const std::string& worker_id) {
  return pool_->Run(
      "RenewLease", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);
        return !txn.exec_prepared("renew_lease", trial_id, attempt, worker_id,
                                  pool_->options().max_attempt_seconds)
                    .empty();
      });
}

absl::StatusOr<bool> Store::RecordProgress(const v1::ReportProgressRequest& p) {
  return pool_->Run(
      "RecordProgress", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction txn(conn);  // one statement: atomic by itself
        pqxx::row row = txn.exec_prepared1(
            "record_progress", p.trial_id(), p.attempt(), p.worker_id(),
            p.epoch(), p.train_loss(), p.val_accuracy(), p.seconds(),
            pool_->options().max_attempt_seconds);
        return row[0].as<int64_t>() > 0;
      });
}

absl::StatusOr<EpochPeers> Store::ProgressAtEpoch(int64_t trial_id,
                                                  int32_t epoch) {
  return pool_->Run(
      "ProgressAtEpoch",
      [&](pqxx::connection& conn) -> absl::StatusOr<EpochPeers> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("progress_at_epoch", trial_id, epoch);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("trial ", trial_id));
        }
        EpochPeers out;
        out.experiment_id = r[0][0].as<int64_t>();
        out.final_training = r[0][2].as<bool>();
        for (const pqxx::row& row : r) {
          if (!row[1].is_null()) out.others.push_back(row[1].as<double>());
        }
        return out;
      });
}

absl::Status Store::RecordStopDecision(int64_t trial_id, int32_t attempt,
                                       int32_t epoch,
                                       const std::string& reason) {
  return pool_
      ->Run("RecordStopDecision",
            [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
              pqxx::nontransaction txn(conn);  // one statement
              return !txn.exec_prepared("record_stop_decision", trial_id,
                                        attempt, epoch, reason)
                          .empty();
            })
      .status();
}

absl::StatusOr<int> Store::ExtendRunningLeases() {
  return pool_->Run(
      "ExtendRunningLeases",
      [&](pqxx::connection& conn) -> absl::StatusOr<int> {
        pqxx::nontransaction txn(conn);  // one statement: atomic by itself
        return txn
            .exec_prepared1("extend_running_leases",
                            pool_->options().max_attempt_seconds)[0]
            .as<int>();
      });
}

absl::StatusOr<ExpiryOutcome> Store::ExpireLeases() {
  return pool_->Run(
      "ExpireLeases",
      [&](pqxx::connection& conn) -> absl::StatusOr<ExpiryOutcome> {
        pqxx::nontransaction txn(conn);  // one statement: atomic by itself
        pqxx::row row = txn.exec_prepared1(
            "expire_leases", pool_->options().max_attempt_seconds);
        ExpiryOutcome out;
        out.requeued = row[0].as<int>();
        out.failed = row[1].as<int>();
        return out;
      });
}

}  // namespace nas
