#include "controller/service/request_validation.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/objective.h"
#include "common/spaces/nb201_space.h"
#include "common/spaces/search_space.h"

namespace nas {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Printable ASCII without spaces? Worker ids end up in logs and label
// values in SQL parameters (never in SQL text); refuse control characters
// so that a log line cannot be forged.
bool HasControlCharacter(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

absl::Status ValidateText(absl::string_view field, absl::string_view s,
                          int max_bytes, bool required) {
  if (required && s.empty()) return Invalid(field, "must not be empty");
  if (static_cast<int>(s.size()) > max_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", max_bytes,
                                       " bytes, got ", s.size()));
  }
  if (HasControlCharacter(s)) {
    return Invalid(field, "must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkerId(absl::string_view id) {
  return ValidateText("worker_id", id, kMaxWorkerIdBytes, /*required=*/true);
}

absl::Status ValidateAttempt(int32_t attempt) {
  if (attempt < 1) {
    return Invalid("attempt", absl::StrCat("must be >= 1, got ", attempt));
  }
  return absl::OkStatus();
}

absl::Status ValidatePageSize(int32_t page_size) {
  if (page_size < 0) {
    return Invalid("page_size",
                   absl::StrCat("must be >= 0 (0 = default), got ", page_size));
  }
  return absl::OkStatus();
}

// A filter bound: 0 = no filter, else finite and positive.
absl::Status ValidateBound(absl::string_view field, double v, double hi) {
  if (!std::isfinite(v) || v < 0 || v > hi) {
    return Invalid(field, absl::StrCat("must be a number in [0, ", hi,
                                       "] (0 = no filter), got ", v));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(absl::string_view field, int64_t id) {
  if (id <= 0) return Invalid(field, absl::StrCat("must be > 0, got ", id));
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::ListExperimentsRequest& r) {
  return ValidatePageSize(r.page_size());
}

absl::Status ValidateRequest(const v1::ListCandidatesRequest& r) {
  if (auto s = ValidateId("experiment_id", r.experiment_id()); !s.ok()) {
    return s;
  }
  if (!v1::CandidateState_IsValid(r.state())) {
    return Invalid("state", absl::StrCat("unknown candidate state ",
                                         static_cast<int>(r.state())));
  }
  if (auto s = ValidatePageSize(r.page_size()); !s.ok()) return s;
  if (auto s = ValidateBound("min_val_accuracy", r.min_val_accuracy(), 1);
      !s.ok()) {
    return s;
  }
  if (r.max_macs() < 0) {
    return Invalid("max_macs", absl::StrCat("must be >= 0 (0 = no filter), "
                                            "got ",
                                            r.max_macs()));
  }
  if (r.max_params() < 0) {
    return Invalid("max_params", absl::StrCat("must be >= 0 (0 = no filter), "
                                              "got ",
                                              r.max_params()));
  }
  return ValidateBound("max_latency_ms", r.max_latency_ms(), 1e12);
}

absl::Status ValidateRequest(const v1::GetParetoFrontRequest& r) {
  if (auto s = ValidateId("experiment_id", r.experiment_id()); !s.ok()) {
    return s;
  }
  std::set<std::string> seen;
  for (int i = 0; i < r.minimize_size(); ++i) {
    const std::string field = absl::StrCat("minimize[", i, "]");
    if (!IsCostMetric(r.minimize(i))) {
      return Invalid(field,
                     absl::StrCat("unknown objective '",
                                  r.minimize(i).substr(0, 64), "' (one of: ",
                                  absl::StrJoin(CostMetricNames(), ", "), ")"));
    }
    if (!seen.insert(r.minimize(i)).second) {
      return Invalid(field,
                     absl::StrCat("'", r.minimize(i), "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::ExportCandidateRequest& r) {
  if (auto s = ValidateId("experiment_id", r.experiment_id()); !s.ok()) {
    return s;
  }
  return ValidateId("candidate_id", r.candidate_id());
}

absl::Status ValidateRequest(const v1::ListSearchEpochsRequest& r) {
  return ValidateId("experiment_id", r.experiment_id());
}

absl::Status ValidateRequest(const v1::ListLearningCurvesRequest& r) {
  if (auto s = ValidateId("experiment_id", r.experiment_id()); !s.ok()) {
    return s;
  }
  return ValidatePageSize(r.page_size());
}

absl::Status ValidateRequest(const v1::ExtendExperimentRequest& r) {
  if (auto s = ValidateId("id", r.id()); !s.ok()) return s;
  if (r.max_trials() < 0) {
    return Invalid("max_trials", absl::StrCat("must be >= 0 (0 = unchanged), "
                                              "got ",
                                              r.max_trials()));
  }
  const double seconds = r.max_simulated_seconds();
  if (!std::isfinite(seconds) || seconds < 0) {
    return Invalid("max_simulated_seconds",
                   absl::StrCat("must be a finite number >= 0 (0 = "
                                "unchanged), got ",
                                seconds));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::RegisterWorkerRequest& r) {
  if (auto s = ValidateWorkerId(r.worker_id()); !s.ok()) return s;
  if (auto s = ValidateText("device", r.device(), kMaxWorkerDeviceBytes, false);
      !s.ok()) {
    return s;
  }
  if (auto s =
          ValidateText("version", r.version(), kMaxWorkerDeviceBytes, false);
      !s.ok()) {
    return s;
  }
  if (r.labels_size() > kMaxLabels) {
    return Invalid("labels", absl::StrCat("at most ", kMaxLabels,
                                          " labels, got ", r.labels_size()));
  }
  for (const auto& [key, value] : r.labels()) {
    const std::string field =
        absl::StrCat("labels[\"", key.substr(0, 64), "\"]");
    if (key.empty() || static_cast<int>(key.size()) > kMaxLabelKeyBytes) {
      return Invalid(field, absl::StrCat("key must be 1 to ", kMaxLabelKeyBytes,
                                         " bytes"));
    }
    if (!LabelKeyCharactersValid(key)) {
      return Invalid(field, "key may only contain letters, digits and _ - . /");
    }
    if (auto s = ValidateText(field, value, kMaxLabelValueBytes, false);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::AcquireTrialRequest& r) {
  if (auto s = ValidateWorkerId(r.worker_id()); !s.ok()) return s;
  if (r.wait_ms() < 0 || r.wait_ms() > 600000) {
    return Invalid("wait_ms",
                   absl::StrCat("must be in [0, 600000] (0 = default; longer "
                                "waits are capped at 60000), got ",
                                r.wait_ms()));
  }
  return absl::OkStatus();
}

// The fields every call about a leased trial carries.
template <typename Request>
absl::Status ValidateTrialCall(const Request& r) {
  if (auto s = ValidateWorkerId(r.worker_id()); !s.ok()) return s;
  if (auto s = ValidateId("trial_id", r.trial_id()); !s.ok()) return s;
  return ValidateAttempt(r.attempt());
}

absl::Status ValidateRequest(const v1::RenewLeaseRequest& r) {
  return ValidateTrialCall(r);
}

// A differentiable search's state (strategy darts, nb201): a softmax per
// edge and a derived cell of the space.
absl::Status ValidateSearchProgress(const v1::SearchProgress& s) {
  constexpr int kWeights = kNb201Edges * kNb201Ops;
  if (s.arch_weights_size() != kWeights) {
    return Invalid("search.arch_weights",
                   absl::StrCat("needs ", kNb201Edges, " edges x ", kNb201Ops,
                                " operations = ", kWeights, " values, got ",
                                s.arch_weights_size()));
  }
  for (int i = 0; i < kWeights; ++i) {
    const double w = s.arch_weights(i);
    if (!std::isfinite(w) || w < 0 || w > 1) {
      return Invalid(absl::StrCat("search.arch_weights[", i, "]"),
                     absl::StrCat("must be a probability in [0, 1], got ", w));
    }
  }
  absl::StatusOr<const SearchSpace*> space = GetSearchSpace("nb201");
  if (!space.ok()) return space.status();
  const std::vector<int> choices(s.derived().choices().begin(),
                                 s.derived().choices().end());
  absl::StatusOr<std::string> canonical = (*space)->Canonical(choices);
  if (!canonical.ok() ||
      static_cast<int>(choices.size()) != (*space)->num_decisions()) {
    return Invalid(
        "search.derived.choices",
        absl::StrCat("not a cell of nb201 (", kNb201Edges, " choices in [0, ",
                     kNb201Ops, ")), got ", choices.size(), " choices"));
  }
  if (s.derived().canonical() != *canonical) {
    return Invalid("search.derived.canonical",
                   "does not match search.derived.choices");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::ReportProgressRequest& r) {
  if (auto s = ValidateTrialCall(r); !s.ok()) return s;
  if (r.epoch() < 1 || r.epoch() > 1000000) {
    return Invalid("epoch",
                   absl::StrCat("must be in [1, 1000000], got ", r.epoch()));
  }
  // The epoch's progress score: a fraction for the built-in metrics, but a
  // COMMAND trainer's named metric (evaluation.progress_metric) may be any
  // finite number (a BLEU score, a negated loss).
  if (!std::isfinite(r.val_accuracy())) {
    return Invalid("val_accuracy",
                   absl::StrCat("must be finite, got ", r.val_accuracy()));
  }
  if (!std::isfinite(r.train_loss())) {
    return Invalid("train_loss",
                   absl::StrCat("must be finite, got ", r.train_loss()));
  }
  if (!std::isfinite(r.seconds()) || r.seconds() < 0) {
    return Invalid("seconds", absl::StrCat("must be a finite number >= 0, "
                                           "got ",
                                           r.seconds()));
  }
  if (r.has_search()) return ValidateSearchProgress(r.search());
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::ReportResultRequest& r) {
  if (auto s = ValidateTrialCall(r); !s.ok()) return s;
  if (r.has_search()) return ValidateSearchProgress(r.search());
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::FetchArtifactRequest& r) {
  // An empty worker id is allowed: tools may fetch without registering.
  return ValidateText("worker_id", r.worker_id(), kMaxWorkerIdBytes, false);
}

}  // namespace nas
