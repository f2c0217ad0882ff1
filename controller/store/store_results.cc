// Store's verbs that end a trial attempt (results, one or a batch, and
// failures, under the trial's row lock), and the models and
// content-addressed artifacts that results keep.
#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"
#include "controller/store/pool.h"
#include "controller/store/result_rules.h"
#include "controller/store/rows.h"
#include "controller/store/store.h"

namespace nas {

using store_internal::Bytes;
using store_internal::ChoicesArray;
using store_internal::Float8Array;
using store_internal::JsonParam;
using store_internal::NamedMetricsJson;
using store_internal::NamedMetricsStruct;
using store_internal::StoreChunked;

namespace {

// The trial row as locked by "lock_trial".
struct TrialState {
  std::string status;
  int32_t attempt = 0;
  std::string worker_id;
  int64_t candidate_id = 0;
  int64_t experiment_id = 0;
  int32_t max_attempts = 0;
  std::string experiment_state;
  std::optional<int32_t> result_attempt;  // when a result is stored
  std::string result_worker_id;
  bool supernet = false;  // the candidate is a supernet-training row
  bool search = false;    // ... of a differentiable search (strategy darts)
  TrialKind kind;         // what the trial asks of its result
  // The worker of the current attempt when its lease expired and nobody
  // has leased the trial since (empty otherwise).
  std::string expired_worker_id;
};

// A lock_trial(s) row from column `first` on.
TrialState TrialStateFromRow(const pqxx::row& row, int first) {
  TrialState t;
  t.status = row[first].as<std::string>();
  t.attempt = row[first + 1].as<int32_t>();
  t.worker_id = row[first + 2].as<std::string>();
  t.candidate_id = row[first + 3].as<int64_t>();
  t.experiment_id = row[first + 4].as<int64_t>();
  t.max_attempts = row[first + 5].as<int32_t>();
  t.experiment_state = row[first + 6].as<std::string>();
  if (!row[first + 7].is_null()) {
    t.result_attempt = row[first + 7].as<int32_t>();
    t.result_worker_id = row[first + 8].as<std::string>();
  }
  t.supernet = row[first + 9].as<bool>();
  t.search = row[first + 10].as<bool>();
  t.kind.final_training = row[first + 11].as<bool>();
  t.kind.screening = row[first + 12].as<bool>();
  v1::EvaluationMode mode = v1::EVALUATION_MODE_UNSPECIFIED;
  if (v1::EvaluationMode_Parse(row[first + 13].as<std::string>(), &mode)) {
    t.kind.mode = mode;
  }
  t.kind.keep_models = row[first + 14].as<int>();
  t.kind.search = t.search;
  t.kind.supernet_training = t.supernet;
  if (!row[first + 15].is_null()) {
    t.expired_worker_id = row[first + 15].as<std::string>();
  }
  return t;
}

absl::StatusOr<TrialState> LockTrial(pqxx::work& txn, int64_t trial_id) {
  pqxx::result r = txn.exec_prepared("lock_trial", trial_id);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("trial ", trial_id));
  return TrialStateFromRow(r[0], 0);
}

// OK when `t` is RUNNING under this attempt and worker, or when this
// attempt's lease expired and nobody has leased the trial since (a late
// result: the trial is QUEUED and still at this attempt, which was this
// worker's); else kFailedPrecondition saying why the report is stale.
// `late` (may be nullptr) tells which.
absl::Status CheckLease(const TrialState& t, int64_t trial_id, int32_t attempt,
                        const std::string& worker_id, bool* late = nullptr) {
  if (late != nullptr) *late = false;
  if (t.status == "QUEUED" && t.attempt == attempt &&
      !t.expired_worker_id.empty() && t.expired_worker_id == worker_id &&
      t.experiment_state == "RUNNING") {
    if (late != nullptr) *late = true;
    return absl::OkStatus();
  }
  if (t.status != "RUNNING") {
    return absl::FailedPreconditionError(
        absl::StrCat("stale report for trial ", trial_id, " attempt ", attempt,
                     ": trial is ", t.status, " (attempt ", t.attempt, ")"));
  }
  if (t.attempt != attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("stale report for trial ", trial_id, " attempt ", attempt,
                     ": current attempt is ", t.attempt));
  }
  if (t.worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stale report for trial ", trial_id, " attempt ", attempt,
        ": leased by worker \"", t.worker_id, "\", not \"", worker_id, "\""));
  }
  return absl::OkStatus();
}

// OK when the result's model is one the trial asked for (result_rules.h):
// the supernet's weights of a supernet-training trial, or a TorchScript
// model of a trial that keeps models; else kInvalidArgument naming why.
absl::Status CheckModel(const TrialState& t, int64_t trial_id,
                        const std::string& model) {
  if (SupernetWeightsRequired(t.kind)) {
    if (model.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model: trial ", trial_id,
          " trains the experiment's supernet; its result must carry the "
          "trained weights"));
    }
    return absl::OkStatus();
  }
  if (!model.empty() && !AsksForModel(t.kind)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model: trial ", trial_id,
        " did not ask for a model (Trial.export_model is false: spec."
        "keep_models is 0, or the trial is not trained); a result may "
        "carry a model only when asked, nothing was stored"));
  }
  return absl::OkStatus();
}

}  // namespace

namespace store_internal {

void StoreChunked(pqxx::work& txn, const std::string& hash,
                  const std::string& kind, const std::string& bytes,
                  int chunk_bytes) {
  const int64_t size = static_cast<int64_t>(bytes.size());
  const int64_t step = std::max(1, chunk_bytes);
  const int32_t chunks = static_cast<int32_t>((size + step - 1) / step);
  pqxx::result r =
      txn.exec_prepared("insert_chunked_artifact", hash, kind, size, chunks);
  if (r.empty()) return;  // stored before
  for (int32_t i = 0; i < chunks; ++i) {
    const int64_t off = i * step;
    txn.exec_prepared0(
        "insert_artifact_chunk", hash, i,
        pqxx::binarystring(bytes.data() + off,
                           static_cast<size_t>(std::min(step, size - off))));
  }
}

}  // namespace store_internal

absl::StatusOr<ArtifactInfo> Store::GetArtifactInfo(const std::string& hash) {
  return pool_->Run(
      "GetArtifactInfo",
      [&](pqxx::connection& conn) -> absl::StatusOr<ArtifactInfo> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("artifact_info", hash);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("artifact ", hash));
        }
        ArtifactInfo out;
        out.kind = r[0][0].as<std::string>();
        out.size = r[0][1].as<int64_t>();
        out.chunks = std::max(1, r[0][2].as<int32_t>());
        return out;
      });
}

absl::StatusOr<std::string> Store::ReadArtifactChunk(const std::string& hash,
                                                     int32_t seq) {
  return pool_->Run("ReadArtifactChunk",
                    [&](pqxx::connection& conn) -> absl::StatusOr<std::string> {
                      pqxx::nontransaction txn(conn);
                      pqxx::result r =
                          txn.exec_prepared("artifact_chunk", hash, seq);
                      if (r.empty()) {
                        return absl::NotFoundError(
                            absl::StrCat("artifact ", hash, " chunk ", seq));
                      }
                      return Bytes(r[0][0]);
                    });
}

namespace {

// RecordResult's work inside `txn` (not committed). Errors come before any
// write, so an item refused here leaves nothing behind.
absl::StatusOr<ReportOutcome> RecordOneResult(
    pqxx::work& txn, int64_t trial_id, int32_t attempt,
    const std::string& worker_id, const v1::EvaluationMetrics& m,
    const std::string& model, int chunk_bytes, int64_t* experiment_id,
    const v1::SearchProgress* search) {
  NAS_ASSIGN_OR_RETURN(TrialState t, LockTrial(txn, trial_id));
  if (experiment_id != nullptr) *experiment_id = t.experiment_id;
  if (t.result_attempt == attempt && t.result_worker_id == worker_id) {
    return ReportOutcome::kAlreadyStored;
  }
  NAS_RETURN_IF_ERROR(CheckLease(t, trial_id, attempt, worker_id));
  NAS_RETURN_IF_ERROR(CheckModel(t, trial_id, model));
  if (t.search) {
    if (search == nullptr || search->derived().choices().empty() ||
        search->derived().canonical().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "search: trial ", trial_id,
          " runs a differentiable search; its result must carry the final "
          "derived cell (search.derived)"));
    }
  }
  NAS_ASSIGN_OR_RETURN(const std::string named, NamedMetricsJson(m));
  txn.exec_prepared0(
      "store_result", trial_id, attempt, worker_id, t.experiment_id,
      t.candidate_id, m.val_accuracy(), m.test_accuracy(), m.macs(), m.params(),
      m.latency_ms(), m.latency_iqr_ms(), m.train_seconds(), m.train_loss(),
      m.epochs(), m.device(), pqxx::binarystring(m.SerializeAsString()),
      m.throughput_images_per_second(), m.train_images_per_second(),
      m.simulated_seconds(), m.val_balanced_accuracy(), m.val_macro_f1(),
      Float8Array(m.val_class_recall()), m.test_balanced_accuracy(),
      m.test_macro_f1(), named);
  if (t.search) {
    const std::string choices = ChoicesArray(search->derived());
    pqxx::row old = txn.exec_prepared1("search_checkpoint", t.candidate_id);
    txn.exec_prepared0("set_search_result", t.candidate_id,
                       search->derived().canonical(), choices,
                       Nb201ParamFreeShare(std::vector<int>(
                           search->derived().choices().begin(),
                           search->derived().choices().end())));
    if (!old[0].is_null()) {
      txn.exec_prepared0("delete_checkpoint", old[0].as<std::string>());
    }
  } else if (t.supernet) {
    const std::string hash = Sha256Hex(model);
    StoreChunked(txn, hash, "supernet", model, chunk_bytes);
    txn.exec_prepared0("set_candidate_artifact", t.candidate_id, hash);
  } else if (!model.empty()) {
    txn.exec_prepared0("keep_model", t.candidate_id, pqxx::binarystring(model));
    txn.exec_prepared0("prune_models", t.experiment_id);
  }
  return ReportOutcome::kStored;
}

}  // namespace

absl::StatusOr<ReportOutcome> Store::RecordResult(
    int64_t trial_id, int32_t attempt, const std::string& worker_id,
    const v1::EvaluationMetrics& m, const std::string& model,
    int64_t* experiment_id, const v1::SearchProgress* search) {
  return pool_->Run(
      "RecordResult",
      [&](pqxx::connection& conn) -> absl::StatusOr<ReportOutcome> {
        pqxx::work txn(conn);
        NAS_ASSIGN_OR_RETURN(
            ReportOutcome outcome,
            RecordOneResult(txn, trial_id, attempt, worker_id, m, model,
                            pool_->options().artifact_chunk_bytes,
                            experiment_id, search));
        if (outcome == ReportOutcome::kStored) txn.commit();
        return outcome;
      });
}

absl::StatusOr<std::vector<Store::ResultStored>> Store::RecordResults(
    const std::vector<ResultToStore>& items) {
  std::vector<ResultStored> out(items.size());
  if (items.empty()) return out;
  std::vector<std::string> ids;
  for (const ResultToStore& r : items) ids.push_back(absl::StrCat(r.trial_id));
  const std::string id_array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  auto num = [](double v) { return absl::StrFormat("%.17g", v); };
  return pool_->Run(
      "RecordResults",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ResultStored>> {
        pqxx::work txn(conn);
        std::map<int64_t, TrialState> state;
        for (const pqxx::row& row :
             txn.exec_prepared("lock_trials", id_array)) {
          state[row[0].as<int64_t>()] = TrialStateFromRow(row, 1);
        }
        google::protobuf::ListValue rows;
        for (size_t i = 0; i < items.size(); ++i) {
          const ResultToStore& r = items[i];
          auto it = state.find(r.trial_id);
          if (it == state.end()) {
            out[i].status =
                absl::NotFoundError(absl::StrCat("trial ", r.trial_id));
            continue;
          }
          TrialState& t = it->second;
          out[i].experiment_id = t.experiment_id;
          if (t.result_attempt == r.attempt &&
              t.result_worker_id == *r.worker_id) {
            out[i].outcome = ReportOutcome::kAlreadyStored;
            continue;
          }
          if (absl::Status s =
                  CheckLease(t, r.trial_id, r.attempt, *r.worker_id);
              !s.ok()) {
            out[i].status = s;
            continue;
          }
          if (t.supernet || !r.model->empty()) {
            // Weights and models: the single-result path, same transaction.
            absl::StatusOr<ReportOutcome> one = RecordOneResult(
                txn, r.trial_id, r.attempt, *r.worker_id, *r.metrics, *r.model,
                pool_->options().artifact_chunk_bytes, nullptr, r.search);
            if (one.ok()) {
              out[i].outcome = *one;
            } else {
              out[i].status = one.status();
            }
            continue;
          }
          // Stored by this batch: a repeat of it later in the batch is a
          // retry of the same attempt.
          t.result_attempt = r.attempt;
          t.result_worker_id = *r.worker_id;
          const v1::EvaluationMetrics& m = *r.metrics;
          auto& f =
              *rows.add_values()->mutable_struct_value()->mutable_fields();
          f["trial_id"].set_string_value(absl::StrCat(r.trial_id));
          f["attempt"].set_string_value(absl::StrCat(r.attempt));
          f["worker_id"].set_string_value(*r.worker_id);
          f["experiment_id"].set_string_value(absl::StrCat(t.experiment_id));
          f["candidate_id"].set_string_value(absl::StrCat(t.candidate_id));
          f["val_accuracy"].set_string_value(num(m.val_accuracy()));
          f["test_accuracy"].set_string_value(num(m.test_accuracy()));
          f["macs"].set_string_value(absl::StrCat(m.macs()));
          f["params"].set_string_value(absl::StrCat(m.params()));
          f["latency_ms"].set_string_value(num(m.latency_ms()));
          f["latency_iqr_ms"].set_string_value(num(m.latency_iqr_ms()));
          f["train_seconds"].set_string_value(num(m.train_seconds()));
          f["train_loss"].set_string_value(num(m.train_loss()));
          f["epochs"].set_string_value(absl::StrCat(m.epochs()));
          f["device"].set_string_value(m.device());
          f["metrics_proto"].set_string_value(
              absl::Base64Escape(m.SerializeAsString()));
          f["throughput"].set_string_value(
              num(m.throughput_images_per_second()));
          f["train_ips"].set_string_value(num(m.train_images_per_second()));
          f["simulated_seconds"].set_string_value(num(m.simulated_seconds()));
          f["val_balanced_accuracy"].set_string_value(
              num(m.val_balanced_accuracy()));
          f["val_macro_f1"].set_string_value(num(m.val_macro_f1()));
          f["val_class_recall"].set_string_value(
              Float8Array(m.val_class_recall()));
          f["test_balanced_accuracy"].set_string_value(
              num(m.test_balanced_accuracy()));
          f["test_macro_f1"].set_string_value(num(m.test_macro_f1()));
          if (!m.named_metrics().empty()) {
            *f["named_metrics"].mutable_struct_value() = NamedMetricsStruct(m);
          }
        }
        if (rows.values_size() > 0) {
          NAS_ASSIGN_OR_RETURN(const std::string json,
                               JsonParam(rows, "results"));
          txn.exec_prepared0("store_results", json);
        }
        txn.commit();
        return out;
      });
}

absl::StatusOr<StoredModel> Store::GetModel(int64_t experiment_id,
                                            int64_t candidate_id) {
  return pool_->Run(
      "GetModel", [&](pqxx::connection& conn) -> absl::StatusOr<StoredModel> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("get_model", experiment_id, candidate_id);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat(
              "no model kept for candidate ", candidate_id, " of experiment ",
              experiment_id,
              " (models are kept for the spec.keep_models best candidates "
              "and for final re-trainings)"));
        }
        StoredModel out;
        out.bytes = Bytes(r[0][0]);
        out.candidate_id = r[0][1].as<int64_t>();
        out.final_training = r[0][2].as<bool>();
        if (!r[0][3].is_null() &&
            !out.metrics.ParseFromString(Bytes(r[0][3]))) {
          return absl::DataLossError(absl::StrCat(
              "candidate ", out.candidate_id, ": stored metrics do not parse"));
        }
        return out;
      });
}

absl::Status Store::RecordFailure(int64_t trial_id, int32_t attempt,
                                  const std::string& worker_id,
                                  const std::string& error,
                                  int64_t* experiment_id) {
  return pool_->Run(
      "RecordFailure", [&](pqxx::connection& conn) -> absl::Status {
        pqxx::work txn(conn);
        NAS_ASSIGN_OR_RETURN(TrialState t, LockTrial(txn, trial_id));
        if (experiment_id != nullptr) *experiment_id = t.experiment_id;
        NAS_RETURN_IF_ERROR(CheckLease(t, trial_id, attempt, worker_id));
        std::string status = "QUEUED";
        std::string reason = error;
        if (t.experiment_state != "RUNNING") {
          status = "CANCELLED";  // nobody would lease it again
        } else if (t.attempt >= t.max_attempts) {
          status = "FAILED";
          reason = absl::StrCat(error, " (after ", t.attempt, " attempts)");
        }
        // The attempt itself failed, whatever happens to the trial; its
        // history row keeps the worker's own error.
        txn.exec_prepared0("end_attempt", trial_id, status, reason, error);
        txn.commit();
        return absl::OkStatus();
      });
}

}  // namespace nas
