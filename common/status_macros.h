// Small status helpers missing from Abseil 20220623 (Debian 12).
#ifndef NAS_COMMON_STATUS_MACROS_H_
#define NAS_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define NAS_STATUS_CONCAT_INNER_(a, b) a##b
#define NAS_STATUS_CONCAT_(a, b) NAS_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define NAS_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status nas_status_ = (expr);       \
    if (!nas_status_.ok()) return nas_status_; \
  } while (0)

// `NAS_ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares/assigns x or returns
// the error.
#define NAS_ASSIGN_OR_RETURN(lhs, expr)                                        \
  NAS_ASSIGN_OR_RETURN_IMPL_(NAS_STATUS_CONCAT_(nas_statusor_, __LINE__), lhs, \
                             expr)
#define NAS_ASSIGN_OR_RETURN_IMPL_(var, lhs, expr) \
  auto var = (expr);                               \
  if (!var.ok()) return var.status();              \
  lhs = std::move(var).value()

namespace nas {

// `s` with its code's name at the head of its message, as
// absl::Status::ToString() shows it ("NOT_FOUND: ..."): for a caller that
// prints only messages but must show one error's code too. OK stays OK.
inline absl::Status StatusWithCodeInMessage(const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(absl::StatusCodeToString(s.code()),
                                             ": ", s.message()));
}

}  // namespace nas

#endif  // NAS_COMMON_STATUS_MACROS_H_
