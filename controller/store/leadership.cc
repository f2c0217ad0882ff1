#include "controller/store/leadership.h"

#include <cstdint>
#include <exception>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace nas {
namespace {

// Key of the session-level advisory lock that makes one controller active
// per database ("nas_lead"); distinct from kMigrationLockKey
// (migrations.cc).
constexpr int64_t kLeadershipLockKey = 0x6E61735F6C656164;

}  // namespace

class LeadershipLock::Impl {
 public:
  std::string conninfo;
  std::unique_ptr<pqxx::connection> conn;
};

absl::StatusOr<std::unique_ptr<LeadershipLock>> LeadershipLock::Acquire(
    const std::string& conninfo, absl::Duration poll,
    const std::function<void()>& on_wait,
    const std::function<bool()>& give_up) {
  auto impl = std::make_unique<Impl>();
  impl->conninfo = conninfo;
  bool waited = false;
  while (true) {
    try {
      if (impl->conn == nullptr || !impl->conn->is_open()) {
        impl->conn = std::make_unique<pqxx::connection>(conninfo);
      }
      pqxx::nontransaction txn(*impl->conn);
      if (txn.exec_params1("SELECT pg_try_advisory_lock($1)",
                           kLeadershipLockKey)[0]
              .as<bool>()) {
        return std::unique_ptr<LeadershipLock>(
            new LeadershipLock(std::move(impl)));
      }
    } catch (const pqxx::broken_connection& e) {
      return absl::UnavailableError(
          absl::StrCat("leadership lock: database unreachable: ", e.what()));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("leadership lock: ", e.what()));
    }
    if (!waited && on_wait) on_wait();
    waited = true;
    if (give_up && give_up()) {
      return absl::CancelledError("leadership lock: gave up waiting");
    }
    absl::SleepFor(poll);
  }
}

LeadershipLock::LeadershipLock(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

LeadershipLock::~LeadershipLock() = default;

bool LeadershipLock::StillHeld() {
  if (impl_->conn == nullptr) return false;
  try {
    pqxx::nontransaction txn(*impl_->conn);
    return txn.exec_params1(
                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                  "AND pid = pg_backend_pid() AND granted AND "
                  "((classid::bigint << 32) | objid::bigint) = $1",
                  kLeadershipLockKey)[0]
               .as<int64_t>() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

absl::Status LeadershipLock::Retake() {
  try {
    impl_->conn = std::make_unique<pqxx::connection>(impl_->conninfo);
    pqxx::nontransaction txn(*impl_->conn);
    if (txn.exec_params1("SELECT pg_try_advisory_lock($1)",
                         kLeadershipLockKey)[0]
            .as<bool>()) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        "leadership lock: another controller holds it now");
  } catch (const pqxx::broken_connection& e) {
    impl_->conn.reset();
    return absl::UnavailableError(
        absl::StrCat("leadership lock: database unreachable: ", e.what()));
  } catch (const std::exception& e) {
    impl_->conn.reset();
    return absl::UnavailableError(absl::StrCat("leadership lock: ", e.what()));
  }
}

}  // namespace nas
