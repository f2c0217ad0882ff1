// Store's verbs for strategy darts (migrations/0018_darts.sql): a search's
// per-epoch state and checkpoints, and its derived cells.
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sha256.h"
#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"
#include "controller/store/pool.h"
#include "controller/store/rows.h"
#include "controller/store/store.h"

namespace nas {

using store_internal::ChoicesArray;
using store_internal::ChoicesFromText;
using store_internal::Float8Array;
using store_internal::StoreChunked;

namespace {

std::vector<int> Choices(const v1::Genotype& g) {
  return std::vector<int>(g.choices().begin(), g.choices().end());
}

}  // namespace

absl::StatusOr<bool> Store::RecordSearchProgress(
    const v1::ReportProgressRequest& p) {
  const v1::SearchProgress& s = p.search();
  return pool_->Run(
      "RecordSearchProgress",
      [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::work txn(conn);
        pqxx::result kind = txn.exec_prepared("trial_search", p.trial_id());
        if (kind.empty()) {
          return absl::NotFoundError(absl::StrCat("trial ", p.trial_id()));
        }
        if (!kind[0][1].as<bool>()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "search: trial ", p.trial_id(),
              " is not a differentiable search; only search trials report "
              "search progress"));
        }
        const int64_t candidate = kind[0][0].as<int64_t>();
        // The lease first: a report of an attempt that lost it writes
        // nothing.
        pqxx::row held = txn.exec_prepared1(
            "record_progress", p.trial_id(), p.attempt(), p.worker_id(),
            p.epoch(), p.train_loss(), p.val_accuracy(), p.seconds(),
            pool_->options().max_attempt_seconds);
        if (held[0].as<int64_t>() == 0) return false;
        txn.exec_prepared0("record_search_epoch", p.trial_id(), p.epoch(),
                           Float8Array(s.arch_weights()),
                           s.derived().canonical(), ChoicesArray(s.derived()),
                           Nb201ParamFreeShare(Choices(s.derived())),
                           p.val_accuracy(), p.train_loss());
        if (!s.checkpoint().empty()) {
          const std::string hash = Sha256Hex(s.checkpoint());
          StoreChunked(txn, hash, "checkpoint", s.checkpoint(),
                       pool_->options().artifact_chunk_bytes);
          pqxx::row old = txn.exec_prepared1("search_checkpoint", candidate);
          txn.exec_prepared0("set_search_checkpoint", candidate, hash,
                             p.epoch());
          if (!old[0].is_null() && old[0].as<std::string>() != hash) {
            txn.exec_prepared0("delete_checkpoint", old[0].as<std::string>());
          }
        }
        txn.commit();
        return true;
      });
}

absl::StatusOr<std::vector<SearchOutcome>> Store::ListUnderivedSearches(
    int64_t experiment_id) {
  return pool_->Run("ListUnderivedSearches",
                    [&](pqxx::connection& conn)
                        -> absl::StatusOr<std::vector<SearchOutcome>> {
                      pqxx::nontransaction txn(conn);
                      std::vector<SearchOutcome> out;
                      for (const pqxx::row& row : txn.exec_prepared(
                               "list_underived_searches", experiment_id)) {
                        SearchOutcome o;
                        o.search_id = row[0].as<int64_t>();
                        o.seed = row[1].as<int64_t>();
                        o.derived.set_space(row[2].as<std::string>());
                        o.derived.set_canonical(row[3].as<std::string>());
                        ChoicesFromText(row[4].as<std::string>(""), &o.derived);
                        o.param_free_share = row[5].as<double>();
                        out.push_back(std::move(o));
                      }
                      return out;
                    });
}

absl::StatusOr<std::vector<v1::SearchEpoch>> Store::ListSearchEpochs(
    int64_t experiment_id) {
  return pool_->Run(
      "ListSearchEpochs",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::vector<v1::SearchEpoch>> {
        pqxx::nontransaction txn(conn);
        std::vector<v1::SearchEpoch> out;
        for (const pqxx::row& row :
             txn.exec_prepared("list_search_epochs", experiment_id)) {
          v1::SearchEpoch e;
          e.set_search_id(row[0].as<int64_t>());
          e.set_seed(row[1].as<int64_t>());
          e.set_epoch(row[2].as<int32_t>());
          for (absl::string_view part : absl::StrSplit(
                   row[3].as<std::string>(""), ',', absl::SkipEmpty())) {
            double v = 0;
            if (!absl::SimpleAtod(part, &v)) v = 0;
            e.add_arch_weights(v);
          }
          e.mutable_derived()->set_space(row[4].as<std::string>());
          e.mutable_derived()->set_canonical(row[5].as<std::string>());
          ChoicesFromText(row[6].as<std::string>(""), e.mutable_derived());
          e.set_param_free_share(row[7].as<double>());
          e.set_val_accuracy(row[8].as<double>());
          e.set_train_loss(row[9].as<double>());
          out.push_back(std::move(e));
        }
        return out;
      });
}

}  // namespace nas
