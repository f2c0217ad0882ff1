// Schema migrations: listing and reading migrations_dir/NNNN_name.sql and
// applying those not yet recorded in schema_migrations (Store::Migrate).
// Private to controller/store/ (nothing outside the store includes this).
// Thread-safe as far as the pool is; concurrent controllers apply each
// migration once (a transaction-level advisory lock serializes them).
#ifndef NAS_CONTROLLER_STORE_MIGRATIONS_H_
#define NAS_CONTROLLER_STORE_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/store/pool.h"

namespace nas {
namespace store_internal {

struct Migration {
  int version = 0;
  std::string name;  // "init" for 0001_init.sql
  std::string path;
};

// The NNNN_name.sql files of `dir` by version (other files are ignored).
// kInvalidArgument naming migrations_dir when the directory cannot be read
// or a version appears twice.
absl::StatusOr<std::vector<Migration>> ListMigrations(const std::string& dir);

// A whole file's bytes; kNotFound when it cannot be opened.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Store::Migrate: applies the migrations of `migrations_dir` not yet
// applied, in order, each in its own transaction, on a connection of
// `pool`. Returns the versions applied now.
absl::StatusOr<std::vector<int>> ApplyMigrations(
    Pool* pool, const std::string& migrations_dir);

}  // namespace store_internal
}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_MIGRATIONS_H_
