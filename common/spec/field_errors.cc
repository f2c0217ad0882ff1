#include "common/spec/field_errors.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nas {

std::string FieldError::ToString() const {
  if (line > 0) return absl::StrCat(path, " (line ", line, "): ", message);
  return absl::StrCat(path, ": ", message);
}

void FieldErrorList::Add(const std::string& path, std::string message) {
  errors_.push_back({path, std::move(message), LineOf(path)});
}

int FieldErrorList::LineOf(const std::string& path) const {
  if (lines_ == nullptr) return 0;
  // A list item's annotation ("decisions[2] (kernel).choices") is not part
  // of the YAML path.
  std::string bare = path;
  for (size_t open; (open = bare.find(" (")) != std::string::npos;) {
    const size_t close = bare.find(')', open);
    if (close == std::string::npos) break;
    bare.erase(open, close - open + 1);
  }
  // The field's own line, else its nearest parent's.
  for (std::string p = bare; !p.empty();) {
    auto it = lines_->find(p);
    if (it != lines_->end()) return it->second;
    if (p.back() == ']') {  // "x[3]": the line of the list x
      p.resize(p.rfind('['));
      continue;
    }
    size_t dot = p.rfind('.');
    if (dot == std::string::npos) break;
    p.resize(dot);
  }
  return 0;
}

absl::Status ErrorsToStatus(const std::vector<FieldError>& errors) {
  if (errors.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  for (size_t i = 0; i < errors.size() && i < kMaxListedErrors; ++i) {
    parts.push_back(errors[i].ToString());
  }
  if (errors.size() > kMaxListedErrors) {
    parts.push_back(absl::StrCat("... and ", errors.size() - kMaxListedErrors,
                                 " more errors"));
  }
  return absl::InvalidArgumentError(absl::StrJoin(parts, "; "));
}

}  // namespace nas
