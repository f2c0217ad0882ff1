// Store's candidate verbs: inserting proposals (and their trials), finding
// them by hash, listing candidates, proposals and results.
#include <google/protobuf/struct.pb.h>

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "controller/store/pool.h"
#include "controller/store/rows.h"
#include "controller/store/statements.h"
#include "controller/store/store.h"

namespace nas {

using store_internal::Bytes;
using store_internal::CandidateFromRow;
using store_internal::CandidateStateName;
using store_internal::ChoicesArray;
using store_internal::FindOrderBy;
using store_internal::GenotypeFromRow;
using store_internal::JsonParam;
using store_internal::ListCandidatesStatement;
using store_internal::OrderBy;

absl::StatusOr<std::vector<int64_t>> Store::InsertCandidates(
    int64_t experiment_id, const std::vector<NewCandidate>& candidates) {
  for (size_t i = 0; i < candidates.size(); ++i) {
    const v1::CandidateState s = candidates[i].state;
    if (s != v1::CANDIDATE_QUEUED && s != v1::CANDIDATE_REJECTED &&
        s != v1::CANDIDATE_DUPLICATE) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", i,
                       "].state: must be QUEUED, REJECTED or DUPLICATE, "
                       "got ",
                       v1::CandidateState_Name(s)));
    }
  }
  if (candidates.empty()) return std::vector<int64_t>{};
  // One JSON array for the batch; every value a string (exact int64s,
  // escaping done by protobuf's JSON printer).
  google::protobuf::ListValue rows;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const NewCandidate& c = candidates[i];
    auto& f = *rows.add_values()->mutable_struct_value()->mutable_fields();
    f["i"].set_string_value(absl::StrCat(i));
    f["space"].set_string_value(c.genotype.space());
    f["canonical"].set_string_value(c.genotype.canonical());
    f["choices"].set_string_value(ChoicesArray(c.genotype));
    f["arch_hash"].set_string_value(c.genotype.hash());
    f["state"].set_string_value(CandidateStateName(c.state));
    f["parent_id"].set_string_value(absl::StrCat(c.parent_id));
    f["generation"].set_string_value(absl::StrCat(c.generation));
    f["strategy_data"].set_string_value(
        c.strategy_data.empty() ? "{}" : c.strategy_data);
    f["reason"].set_string_value(c.reason);
    f["duplicate_of"].set_string_value(absl::StrCat(c.duplicate_of));
    f["macs"].set_string_value(absl::StrCat(c.macs));
    f["params"].set_string_value(absl::StrCat(c.params));
    f["observed_results"].set_string_value(absl::StrCat(c.observed_results));
    f["final_of"].set_string_value(absl::StrCat(c.final_of));
    f["supernet"].set_string_value(c.supernet ? "true" : "false");
    f["search_seed"].set_string_value(absl::StrCat(c.search_seed));
    f["search_of"].set_string_value(absl::StrCat(c.search_of));
    f["screening"].set_string_value(c.screening ? "true" : "false");
    f["screen_group"].set_string_value(absl::StrCat(c.screen_group));
    f["screen_first"].set_string_value(absl::StrCat(c.screen_first));
  }
  NAS_ASSIGN_OR_RETURN(const std::string rows_json,
                       JsonParam(rows, "candidates"));
  return pool_->Run(
      "InsertCandidates",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<int64_t>> {
        pqxx::work txn(conn);
        const int n = static_cast<int>(candidates.size());
        pqxx::result r = txn.exec_prepared("reserve_seq", experiment_id, n);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("experiment ", experiment_id));
        }
        const std::string state = r[0][1].as<std::string>();
        if (state != "RUNNING") {
          return absl::FailedPreconditionError(
              absl::StrCat("experiment ", experiment_id, " is ", state));
        }
        const int seq = r[0][0].as<int>();
        pqxx::result inserted = txn.exec_prepared(
            "insert_candidates", experiment_id, seq, rows_json);
        std::vector<int64_t> ids;
        ids.reserve(candidates.size());
        for (const pqxx::row& row : inserted) {
          ids.push_back(row[0].as<int64_t>());
        }
        txn.commit();
        return ids;
      });
}

absl::StatusOr<std::optional<int64_t>> Store::FindCandidateByHash(
    int64_t experiment_id, const std::string& hash) {
  return pool_->Run(
      "FindCandidateByHash",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::optional<int64_t>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r =
            txn.exec_prepared("find_candidate_by_hash", experiment_id, hash);
        if (r.empty()) return std::optional<int64_t>();
        return std::optional<int64_t>(r[0][0].as<int64_t>());
      });
}

absl::StatusOr<std::map<std::string, int64_t>> Store::FindCandidatesByHash(
    int64_t experiment_id, const std::vector<std::string>& hashes) {
  std::map<std::string, int64_t> out;
  if (hashes.empty()) return out;
  google::protobuf::ListValue list;
  for (const std::string& h : hashes) list.add_values()->set_string_value(h);
  NAS_ASSIGN_OR_RETURN(const std::string json, JsonParam(list, "hashes"));
  return pool_->Run(
      "FindCandidatesByHash",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::map<std::string, int64_t>> {
        pqxx::nontransaction txn(conn);
        for (const pqxx::row& row : txn.exec_prepared("find_candidates_by_hash",
                                                      experiment_id, json)) {
          if (!row[1].is_null()) {
            out[row[0].as<std::string>()] = row[1].as<int64_t>();
          }
        }
        return out;
      });
}

absl::StatusOr<CandidatePage> Store::ListCandidates(
    const CandidateQuery& query) {
  absl::string_view order = query.order_by;
  const bool desc = absl::ConsumePrefix(&order, "-");
  if (order.empty() && !desc) order = "seq";
  const OrderBy* order_by = FindOrderBy(order);
  if (order_by == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "order_by: unknown field \"", query.order_by,
        "\"; expected seq, val_accuracy, val_balanced_accuracy, val_macro_f1, "
        "objective, macs, params or latency_ms, "
        "optionally prefixed with -"));
  }
  if (query.offset < 0)
    return absl::InvalidArgumentError("offset: must be >= 0");
  if (query.limit <= 0) return absl::InvalidArgumentError("limit: must be > 0");
  if (query.min_val_accuracy < 0 || query.max_macs < 0 ||
      query.max_params < 0 || query.max_latency_ms < 0) {
    return absl::InvalidArgumentError(
        query.min_val_accuracy < 0 ? "min_val_accuracy: must be >= 0"
        : query.max_macs < 0       ? "max_macs: must be >= 0"
        : query.max_params < 0     ? "max_params: must be >= 0"
                                   : "max_latency_ms: must be >= 0");
  }
  const std::string state = query.state == v1::CANDIDATE_STATE_UNSPECIFIED
                                ? ""
                                : CandidateStateName(query.state);
  const std::string statement = ListCandidatesStatement(*order_by, desc);
  return pool_->Run(
      "ListCandidates",
      [&](pqxx::connection& conn) -> absl::StatusOr<CandidatePage> {
        CandidatePage page;
        page.total = -1;
        auto read_page = [&](auto& txn) {
          pqxx::result r = txn.exec_prepared(
              statement, query.experiment_id, state, query.search_only,
              query.min_val_accuracy, query.max_macs, query.max_params,
              query.max_latency_ms, query.limit, query.offset);
          page.candidates.reserve(r.size());
          for (const pqxx::row& row : r) {
            page.candidates.push_back(CandidateFromRow(row));
          }
        };
        if (!query.count_total) {
          // One statement: no snapshot to share, one round trip (a
          // listing reads one best candidate per experiment this way).
          pqxx::nontransaction txn(conn);
          read_page(txn);
          return page;
        }
        pqxx::read_transaction txn(conn);  // count and page from one snapshot
        {
          pqxx::row count = txn.exec_prepared1(
              "count_candidates", query.experiment_id, state, query.search_only,
              query.min_val_accuracy, query.max_macs, query.max_params,
              query.max_latency_ms);
          if (!count[1].as<bool>()) {
            return absl::NotFoundError(
                absl::StrCat("experiment ", query.experiment_id));
          }
          page.total = count[0].as<int32_t>();
        }
        read_page(txn);
        txn.commit();
        return page;
      });
}

absl::StatusOr<std::vector<ProposalRecord>> Store::ListProposals(
    int64_t experiment_id, int32_t after_seq, int limit) {
  return pool_->Run("ListProposals",
                    [&](pqxx::connection& conn)
                        -> absl::StatusOr<std::vector<ProposalRecord>> {
                      pqxx::nontransaction txn(conn);
                      pqxx::result r = txn.exec_prepared(
                          "list_genotypes", experiment_id, after_seq, limit);
                      std::vector<ProposalRecord> out(r.size());
                      for (size_t i = 0; i < r.size(); ++i) {
                        GenotypeFromRow(r[i], 0, &out[i].genotype);
                        out[i].observed_results = r[i][4].as<int32_t>();
                        out[i].seq = r[i][5].as<int32_t>();
                      }
                      return out;
                    });
}

absl::StatusOr<std::vector<ResultRecord>> Store::ListResults(
    int64_t experiment_id, int64_t after_result_id, int limit) {
  return pool_->Run(
      "ListResults",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ResultRecord>> {
        pqxx::nontransaction txn(conn);
        pqxx::result r = txn.exec_prepared("list_results", experiment_id,
                                           after_result_id, limit);
        std::vector<ResultRecord> out(r.size());
        for (size_t i = 0; i < r.size(); ++i) {
          out[i].candidate_id = r[i][0].as<int64_t>();
          out[i].trial_id = r[i][1].as<int64_t>();
          out[i].parent_id = r[i][7].as<int64_t>();
          out[i].generation = r[i][8].as<int32_t>();
          out[i].result_id = r[i][9].as<int64_t>();
          GenotypeFromRow(r[i], 2, &out[i].genotype);
          if (!out[i].metrics.ParseFromString(Bytes(r[i][6]))) {
            return absl::DataLossError(absl::StrCat(
                "trial ", out[i].trial_id, ": stored metrics do not parse"));
          }
        }
        return out;
      });
}

absl::StatusOr<std::vector<ScreenedGroup>> Store::ListScreenedGroups(
    int64_t experiment_id, const std::string& proxy) {
  return pool_->Run("ListScreenedGroups",
                    [&](pqxx::connection& conn)
                        -> absl::StatusOr<std::vector<ScreenedGroup>> {
                      pqxx::nontransaction txn(conn);
                      std::vector<ScreenedGroup> out;
                      for (const pqxx::row& row : txn.exec_prepared(
                               "list_screened_groups", experiment_id, proxy)) {
                        ScreenedGroup g;
                        g.group = row[0].as<int64_t>();
                        g.children = row[10].as<int>();
                        g.scored = row[11].as<int>();
                        if (!row[1].is_null()) {
                          g.best_id = row[1].as<int64_t>();
                          GenotypeFromRow(row, 2, &g.best);
                          g.best_parent_id = row[6].as<int64_t>();
                          g.best_generation = row[7].as<int32_t>();
                          g.best_strategy_data = row[8].as<std::string>("{}");
                          g.best_score = row[9].as<double>(0);
                        }
                        out.push_back(std::move(g));
                      }
                      return out;
                    });
}

}  // namespace nas
