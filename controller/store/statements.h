// The store's SQL vocabulary: every named prepared statement, kept in one
// file (statements.cc) next to the tables it reads and writes, which
// migrations/*.sql define (read a statement with its migration open). Pool
// prepares all of them on every connection it opens; the verbs run them by
// name. Private to controller/store/: nothing outside it includes this.
// Thread-safe: the table is built once (on first use) and constant after.
#ifndef NAS_CONTROLLER_STORE_STATEMENTS_H_
#define NAS_CONTROLLER_STORE_STATEMENTS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace nas {
namespace store_internal {

// (name, SQL text) of every prepared statement, list_candidates_* included.
const std::vector<std::pair<std::string, std::string>>& Statements();

// Each running experiment's id and best value of its objective metric
// among its evaluated search candidates (0 before the first), for
// Store::Stats.
extern const char kRunningBestObjective[];

// ListCandidates' order_by whitelist: user text only selects an entry.
struct OrderBy {
  const char* key;   // CandidateQuery::order_by without the "-" prefix
  const char* asc;   // ORDER BY clause, ascending
  const char* desc;  // ORDER BY clause, descending
};

// The whitelist entry for `key` ("seq", "val_accuracy",
// "val_balanced_accuracy", "val_macro_f1", "macs", "params", "latency_ms",
// "objective": the experiment's objective.metric), or nullptr for anything
// else.
const OrderBy* FindOrderBy(absl::string_view key);

// Name of the prepared list_candidates statement for `o` in that direction.
std::string ListCandidatesStatement(const OrderBy& o, bool desc);

}  // namespace store_internal
}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_STATEMENTS_H_
