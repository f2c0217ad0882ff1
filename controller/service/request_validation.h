// Field checks of every RPC request, before anything is read or written.
// Each function returns OK or kInvalidArgument whose message starts with
// the offending field's path (e.g. "labels[\"gpu\"]: ..."), so clients see
// what to fix. Checks are about form (ids positive, sizes bounded, numbers
// finite and in range); whether an id exists is the store's business
// (kNotFound). Reported metrics are checked by ValidateMetrics
// (controller.h), because a bad result fails the trial instead of being
// refused.
#ifndef NAS_CONTROLLER_SERVICE_REQUEST_VALIDATION_H_
#define NAS_CONTROLLER_SERVICE_REQUEST_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/spec/limits.h"
#include "nas/v1/experiment.pb.h"
#include "nas/v1/worker.pb.h"

namespace nas {

// Longest worker id, label key / value, device and version strings.
inline constexpr int kMaxWorkerIdBytes = 200;
// Worker labels follow the rules of a spec's required_labels
// (common/spec/limits.h): one set of numbers for both sides. A key has
// room for a trainer's label, "trainer/" and a 64-byte trainer name
// (common/trainers.h).
inline constexpr int kMaxLabels = kMaxRequiredLabels;
inline constexpr int kMaxLabelKeyBytes =
    static_cast<int>(kMaxRequiredLabelKeyBytes);
inline constexpr int kMaxLabelValueBytes =
    static_cast<int>(kMaxRequiredLabelValueBytes);
inline constexpr int kMaxWorkerDeviceBytes = 256;
// A trial's error text is stored truncated to this many bytes.
inline constexpr int kMaxErrorBytes = 16 * 1024;

// `field` must be > 0.
absl::Status ValidateId(absl::string_view field, int64_t id);

absl::Status ValidateRequest(const v1::ListExperimentsRequest& r);
absl::Status ValidateRequest(const v1::ListCandidatesRequest& r);
absl::Status ValidateRequest(const v1::GetParetoFrontRequest& r);
absl::Status ValidateRequest(const v1::ExportCandidateRequest& r);
absl::Status ValidateRequest(const v1::ListSearchEpochsRequest& r);
absl::Status ValidateRequest(const v1::ListLearningCurvesRequest& r);
// id > 0; max_trials >= 0; max_simulated_seconds finite and >= 0 (0 keeps
// the stored value). Whether the new budget is above what was spent is
// the controller's check.
absl::Status ValidateRequest(const v1::ExtendExperimentRequest& r);

absl::Status ValidateRequest(const v1::RegisterWorkerRequest& r);
absl::Status ValidateRequest(const v1::AcquireTrialRequest& r);
absl::Status ValidateRequest(const v1::RenewLeaseRequest& r);
absl::Status ValidateRequest(const v1::ReportProgressRequest& r);
// The envelope only (ids, error); the metrics go to ValidateMetrics.
absl::Status ValidateRequest(const v1::ReportResultRequest& r);
absl::Status ValidateRequest(const v1::FetchArtifactRequest& r);

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVICE_REQUEST_VALIDATION_H_
