// What a COMMAND trainer is handed: the trial file (trial.json, built as a
// google::protobuf::Struct and written with protobuf's json_util) and its
// environment. Pure functions, thread-safe.
#ifndef NAS_WORKER_COMMAND_HANDOVER_H_
#define NAS_WORKER_COMMAND_HANDOVER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "google/protobuf/struct.pb.h"
#include "nas/v1/worker.pb.h"

namespace nas {

// The fixed descriptors and paths the trainer is told about.
inline constexpr int kReportFd = 3;
inline constexpr int kControlFd = 4;
inline constexpr char kReportFile[] = "/dev/fd/3";

// A parameter's text as a JSON value: an integer or a finite number
// (JSON's number syntax) as a number, "true"/"false" as a boolean, anything
// else as the string.
google::protobuf::Value TypedParameter(absl::string_view text);

// The trial file's object (keys in docs/SPEC.md and
// worker/command/README.md). `space` and `choices` give "decisions";
// `input` (nullptr = unknown) gives "input"; `model_file` ("" = none)
// gives "model_file". InvalidArgument for a choice out of range.
absl::StatusOr<google::protobuf::Struct> MakeTrialFile(
    const v1::Trial& trial, const SearchSpace& space,
    const std::vector<int>& choices, const InputShape* input,
    const std::string& output_dir, const std::string& model_file);

// `file` as indented JSON text.
std::string TrialFileJson(const google::protobuf::Struct& file);

// Names of the worker's environment variables a trainer always gets when
// they are set.
const std::vector<std::string>& PassedEnvironmentNames();

// The trainer's whole environment ("NAME=value"): the variables of
// PassedEnvironmentNames() and `extra_names` (--trainer_env) that
// `lookup` finds, OMP_NUM_THREADS=`threads` when threads > 0, and `nas`
// (NAS_TRIAL_FILE, ...), sorted by name. Nothing else of the worker's
// environment (never its NAS_TOKEN).
std::vector<std::string> TrainerEnvironment(
    const std::vector<std::string>& extra_names, int threads,
    const std::map<std::string, std::string>& nas,
    const std::function<const char*(const char*)>& lookup);

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_HANDOVER_H_
