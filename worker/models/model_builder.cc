#include "worker/models/model_builder.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "common/status_macros.h"
#include "worker/models/mobilenet_model.h"
#include "worker/models/nb201_model.h"

namespace nas {
namespace {

// Adapts a space's TORCH_MODULE holder to CandidateNet.
template <typename Holder>
class CandidateNetOf final : public CandidateNet {
 public:
  explicit CandidateNetOf(Holder net)
      : net_(register_module("net", std::move(net))) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return net_->forward(x);
  }

 private:
  Holder net_;
};

template <typename Holder>
std::shared_ptr<CandidateNet> Wrap(Holder net) {
  return std::make_shared<CandidateNetOf<Holder>>(std::move(net));
}

}  // namespace

absl::StatusOr<std::shared_ptr<CandidateNet>> BuildCandidateNet(
    absl::string_view space, const std::vector<int>& choices,
    const v1::SearchSpaceSpec& spec, const InputShape& input) {
  if (space == "nb201") {
    NAS_ASSIGN_OR_RETURN(Nb201Network net,
                         BuildNb201Network(choices, ResolveNb201(spec), input));
    return Wrap(std::move(net));
  }
  if (space == "mobilenet") {
    NAS_ASSIGN_OR_RETURN(const MobileNetShape shape, ResolveMobileNet(spec));
    NAS_ASSIGN_OR_RETURN(MobileNetNetwork net,
                         BuildMobileNetNetwork(choices, shape, input));
    return Wrap(std::move(net));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported search space '", space,
                   "' (this worker builds nb201 and mobilenet)"));
}

}  // namespace nas
