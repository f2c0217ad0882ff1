#include "controller/store/migrations.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace nas {
namespace store_internal {
namespace {

// Key of the transaction-level advisory lock that serializes migrations. The
// controller's leadership lock must use a different key.
constexpr int64_t kMigrationLockKey = 0x6E61735F6D6967;  // "nas_mig"

}  // namespace

absl::StatusOr<std::vector<Migration>> ListMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "migrations_dir: cannot read \"", dir, "\": ", ec.message()));
  }
  std::vector<Migration> out;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    // NNNN_name.sql
    if (name.size() < 10 || name[4] != '_' || !absl::EndsWith(name, ".sql") ||
        !std::all_of(name.begin(), name.begin() + 4, absl::ascii_isdigit)) {
      continue;
    }
    Migration m;
    // Cannot fail: the four characters are digits (checked above).
    (void)absl::SimpleAtoi(name.substr(0, 4), &m.version);
    m.name = name.substr(5, name.size() - 9);
    m.path = entry.path().string();
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) {
    return a.version < b.version;
  });
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return absl::InvalidArgumentError(
          absl::StrFormat("migrations_dir: version %04d appears twice (%s, %s)",
                          out[i].version, out[i - 1].path, out[i].path));
    }
  }
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::vector<int>> ApplyMigrations(
    Pool* pool, const std::string& migrations_dir) {
  NAS_ASSIGN_OR_RETURN(std::vector<Migration> migrations,
                       ListMigrations(migrations_dir));
  std::vector<std::string> sql;
  for (const Migration& m : migrations) {
    NAS_ASSIGN_OR_RETURN(std::string text, ReadFile(m.path));
    sql.push_back(std::move(text));
  }
  return pool->Run(
      "Migrate",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<int>> {
        std::vector<int> applied;
        for (size_t i = 0; i < migrations.size(); ++i) {
          const Migration& m = migrations[i];
          pqxx::work txn(conn);
          // Rare and schema-changing: parameterized but not prepared (a
          // prepared statement could outlive the table it names).
          txn.exec_params("SELECT pg_advisory_xact_lock($1)",
                          kMigrationLockKey);
          txn.exec(
              "CREATE TABLE IF NOT EXISTS schema_migrations ("
              "version integer PRIMARY KEY, name text NOT NULL, "
              "applied_at timestamptz NOT NULL DEFAULT now())");
          if (!txn.exec_params(
                      "SELECT 1 FROM schema_migrations WHERE version = $1",
                      m.version)
                   .empty()) {
            txn.commit();
            continue;
          }
          try {
            txn.exec(sql[i]);
          } catch (const pqxx::sql_error& e) {
            return absl::InternalError(absl::StrFormat(
                "migration %04d_%s failed: %s", m.version, m.name, e.what()));
          }
          txn.exec_params(
              "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
              m.version, m.name);
          txn.commit();
          applied.push_back(m.version);
        }
        return applied;
      });
}

}  // namespace store_internal
}  // namespace nas
