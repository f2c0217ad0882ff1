// Field errors of an experiment spec: one problem with its field path
// ("spec.budget.max_trials") and YAML line, a list that collects them, and
// their conversion to one InvalidArgument status. Not thread-safe (a list
// belongs to one validation); the free functions are pure.
#ifndef NAS_COMMON_SPEC_FIELD_ERRORS_H_
#define NAS_COMMON_SPEC_FIELD_ERRORS_H_

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace nas {

// One problem in a spec.
struct FieldError {
  std::string path;  // e.g. "spec.budget.max_trials"
  std::string message;
  int line = 0;  // 1-based YAML line, 0 when unknown
  std::string ToString() const;
};

// Errors listed in one status; the rest are counted ("... and N more").
inline constexpr size_t kMaxListedErrors = 20;

// Collects the errors of one validation, in the order they are added.
class FieldErrorList {
 public:
  // `lines` (field path -> 1-based YAML line; not owned, may be null) gives
  // each error the line of its field, else of its nearest parent. A path may
  // annotate a list item, "spec.search_space.decisions[2] (kernel).type";
  // the annotation is ignored for the line.
  explicit FieldErrorList(const std::map<std::string, int>* lines = nullptr)
      : lines_(lines) {}

  void Add(const std::string& path, std::string message);

  const std::vector<FieldError>& errors() const { return errors_; }
  std::vector<FieldError> Take() && { return std::move(errors_); }

 private:
  int LineOf(const std::string& path) const;

  const std::map<std::string, int>* lines_;
  std::vector<FieldError> errors_;
};

// InvalidArgument with the errors joined by "; " (OK when none): the first
// kMaxListedErrors, then "... and N more errors".
absl::Status ErrorsToStatus(const std::vector<FieldError>& errors);

}  // namespace nas

#endif  // NAS_COMMON_SPEC_FIELD_ERRORS_H_
