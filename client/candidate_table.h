// The candidates table of `nasctl candidates` and `nasctl pareto`: one row
// per candidate with its metrics, a column for an objective metric other
// than val_accuracy, one column per zero-cost proxy any listed row was
// scored with, and a note before the genotype for rows that are not plain
// search results (final re-trainings, supernet and darts search rows,
// derived cells, screening candidates and the children that won their
// screen). Pure function, thread-safe.
#ifndef NAS_CLIENT_CANDIDATE_TABLE_H_
#define NAS_CLIENT_CANDIDATE_TABLE_H_

#include <string>

#include "google/protobuf/repeated_ptr_field.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

struct CandidateTableOptions {
  // The experiment's objective, for a column of its metric when that is
  // not val_accuracy and not a zero-cost proxy (proxies have their own
  // columns). nullptr (default): no such column.
  const v1::ObjectiveSpec* objective = nullptr;
  // The experiment evaluates in mode ZERO_COST: its rows' val_accuracy and
  // test_accuracy read 0 and are shown as "-" (final re-trainings excepted).
  // Default false.
  bool zero_cost = false;
  // Terminal columns: the reason line under a REJECTED or FAILED row is cut
  // to this width. 0 (default): not cut.
  int width = 0;
};

// The table, a header line then one line per candidate in the given order.
// Proxy columns (SYNFLOW, JACOB_COV, SNIP, GRAD_NORM; %.3g, "-" where a row
// has none) appear only when some row has that named metric. Screening
// rows are noted "(screen gN)", the trained child of a group "(won screen
// gN)". Under a REJECTED or FAILED row with a reason, a line
// "           reason: TEXT".
std::string CandidateTable(
    const google::protobuf::RepeatedPtrField<v1::Candidate>& candidates,
    const CandidateTableOptions& options);

}  // namespace nas

#endif  // NAS_CLIENT_CANDIDATE_TABLE_H_
