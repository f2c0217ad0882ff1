// CandidateTools with LibTorch (library nas_worker_torch): the one
// translation unit of worker/command/ that includes LibTorch.
#include <torch/torch.h>

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "worker/command/candidate_tools.h"
#include "worker/device.h"
#include "worker/models/model_builder.h"
#include "worker/profiler.h"
#include "worker/torchscript_export.h"

namespace nas {
namespace {

class TorchCandidateTools final : public CandidateTools {
 public:
  explicit TorchCandidateTools(DeviceChoice choice)
      : choice_(std::move(choice)) {}

  absl::Status ExportUntrained(const v1::SearchSpaceSpec& space,
                               const std::vector<int>& choices,
                               const InputShape& input, int64_t seed,
                               const v1::DataSpec& data,
                               const std::string& path) override {
    try {
      return ExportOrThrow(space, choices, input, seed, data, path);
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat("libtorch: ", e.what_without_backtrace()));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("candidate export: ", e.what()));
    }
  }

  absl::StatusOr<CandidateLatency> MeasureLatency(int runs) override {
    if (net_ == nullptr) {
      return absl::FailedPreconditionError("no candidate was exported");
    }
    try {
      net_->to(choice_.device);
      const LatencyStats s =
          nas::MeasureLatency(*net_, input_, choice_.device, std::max(1, runs),
                              /*warmup=*/5, Precision::kFp32);
      CandidateLatency out;
      out.median_ms = s.median_ms;
      out.iqr_ms = s.iqr_ms;
      return out;
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat("libtorch: ", e.what_without_backtrace()));
    }
  }

 private:
  absl::Status ExportOrThrow(const v1::SearchSpaceSpec& space,
                             const std::vector<int>& choices,
                             const InputShape& input, int64_t seed,
                             const v1::DataSpec& data,
                             const std::string& path) {
    net_.reset();
    torch::manual_seed(static_cast<uint64_t>(seed));
    NAS_ASSIGN_OR_RETURN(
        std::shared_ptr<CandidateNet> net,
        BuildCandidateNet(space.name(), choices, space, input));
    ExportOptions options;
    options.input = input;
    // Batch norm as in training (batch statistics), so that the program
    // trains the network the built-in trainer would train.
    options.training_mode = true;
    // Only an explicit normalization is known without reading the data.
    const bool explicit_norm = data.normalization() == "explicit" ||
                               (data.normalization().empty() &&
                                (data.mean_size() > 0 || data.std_size() > 0));
    if (explicit_norm) {
      options.mean.assign(data.mean().begin(), data.mean().end());
      options.std.assign(data.std().begin(), data.std().end());
    }
    google::protobuf::Struct meta;
    auto& f = *meta.mutable_fields();
    f["space"].set_string_value(space.name());
    f["trained"].set_bool_value(false);
    f["seed"].set_number_value(static_cast<double>(seed));
    f["input_range"].set_string_value("float32 in [0, 1]");
    f["normalization"].set_string_value(explicit_norm ? "explicit" : "none");
    auto* shape = f["input_shape"].mutable_list_value();
    for (int d : {1, input.channels, input.height, input.width}) {
      shape->add_values()->set_number_value(d);
    }
    f["classes"].set_number_value(input.classes);
    f["batch_norm"].set_string_value(
        "traced in training mode: normalizes with each batch's statistics "
        "in train() and eval() alike");
    std::string meta_json;
    (void)google::protobuf::util::MessageToJsonString(meta, &meta_json);
    options.extra_files["meta.json"] = meta_json;
    NAS_ASSIGN_OR_RETURN(const std::string bytes,
                         ExportTorchScript(*net, options));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
    net->eval();  // latency is measured as for a deployed network
    net_ = std::move(net);
    input_ = input;
    return absl::OkStatus();
  }

  const DeviceChoice choice_;
  std::shared_ptr<CandidateNet> net_;  // the last exported network
  InputShape input_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CandidateTools>> MakeTorchCandidateTools(
    int threads, const std::string& device) {
  NAS_ASSIGN_OR_RETURN(DeviceChoice choice, ChooseDevice(device, threads));
  return std::unique_ptr<CandidateTools>(
      std::make_unique<TorchCandidateTools>(std::move(choice)));
}

}  // namespace nas
