#include "controller/store/pool.h"

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/store/statements.h"

namespace nas {
namespace store_internal {

Pool::Pool(StoreOptions options)
    : options_(std::move(options)),
      conns_(static_cast<size_t>(options_.pool_size)),
      slot_epochs_(static_cast<size_t>(options_.pool_size), 0) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < options_.pool_size; ++i) free_.push_back(i);
}

absl::Status Pool::ConnectAll() {
  for (int slot = 0; slot < options_.pool_size; ++slot) {
    NAS_RETURN_IF_ERROR(Connect(slot));
  }
  return absl::OkStatus();
}

absl::Status Pool::StatusOfException(absl::string_view op,
                                     pqxx::connection& conn, Lease* lease) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    lease->MarkBroken();
    return absl::UnavailableError(
        absl::StrCat(op, ": database connection lost: ", e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    lease->MarkBroken();
    return absl::UnknownError(
        absl::StrCat(op, ": commit outcome unknown: ", e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    // serialization_failure, deadlock_detected, ...: retry the call.
    return absl::AbortedError(absl::StrCat(op, ": ", e.what()));
  } catch (const pqxx::data_exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", e.what()));
  } catch (const pqxx::integrity_constraint_violation& e) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", e.what()));
  } catch (const std::exception& e) {
    if (!conn.is_open()) {
      lease->MarkBroken();
      return absl::UnavailableError(
          absl::StrCat(op, ": database connection lost: ", e.what()));
    }
    return absl::InternalError(absl::StrCat(op, ": ", e.what()));
  } catch (...) {
    lease->MarkBroken();
    return absl::InternalError(absl::StrCat(op, ": unknown exception"));
  }
}

absl::Status Pool::Connect(int slot) {
  conns_[slot].reset();
  slot_epochs_[slot] = epoch_.load();
  try {
    auto c = std::make_unique<pqxx::connection>(options_.conninfo);
    // Plan every execution with its parameters. Statements are prepared
    // when a connection opens, often on near-empty tables; a generic plan
    // chosen then (after five executions) kept scanning whole tables once
    // they held tens of thousands of rows: per-experiment counts went
    // from under 1 ms to several ms and capped the controller at ~50
    // results/s (docs/BENCHMARKS.md, search_quality). Planning costs well
    // under a millisecond per statement here.
    {
      pqxx::nontransaction setup(*c);
      setup.exec0("SET plan_cache_mode = force_custom_plan");
    }
    for (const auto& [name, sql] : Statements()) c->prepare(name, sql);
    conns_[slot] = std::move(c);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", e.what()));
  }
}

int Pool::Acquire() {
  absl::MutexLock lock(&mu_);
  while (free_.empty()) free_cv_.Wait(&mu_);
  int slot = free_.back();
  free_.pop_back();
  return slot;
}

void Pool::Release(int slot, bool broken) {
  if (broken) {
    // The server probably went away for every connection: reconnect each
    // slot on its next use rather than failing once per slot.
    conns_[slot].reset();
    ++epoch_;
  }
  absl::MutexLock lock(&mu_);
  free_.push_back(slot);
  free_cv_.Signal();
}

}  // namespace store_internal
}  // namespace nas
