#include "worker/torchscript_export.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/torch.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace nas {
namespace {

std::string AttributeName(const std::string& dotted) {
  return absl::StrReplaceAll(dotted, {{".", "_"}});
}

// `values` (one per channel, one for all, or none = `fallback`) as a float
// 1 x channels x 1 x 1 tensor.
torch::Tensor ChannelBuffer(const std::vector<double>& values, double fallback,
                            int channels) {
  std::vector<double> v(static_cast<size_t>(std::max(1, channels)), fallback);
  for (size_t c = 0; c < v.size() && !values.empty(); ++c) {
    v[c] = values[values.size() == 1 ? 0 : c];
  }
  return torch::tensor(v, torch::kFloat64)
      .to(torch::kFloat32)
      .view({1, static_cast<int64_t>(v.size()), 1, 1});
}

absl::StatusOr<std::string> ExportOrThrow(CandidateNet& net,
                                          const ExportOptions& options) {
  if (options.training_mode) {
    net.train();
  } else {
    net.eval();
  }
  torch::NoGradGuard no_grad;
  // Trace on the CPU: the archive must load anywhere. The caller's network
  // may live on a GPU; a CPU copy is traced instead.
  const torch::Device device = net.parameters().empty()
                                   ? torch::Device(torch::kCPU)
                                   : net.parameters().front().device();
  if (!device.is_cpu()) net.to(torch::kCPU);
  torch::jit::Module module(c10::QualifiedName("__torch__.nas.Candidate"));
  for (const auto& p : net.named_parameters(/*recurse=*/true)) {
    module.register_parameter(AttributeName(p.key()), p.value(),
                              /*is_buffer=*/false);
  }
  for (const auto& b : net.named_buffers(/*recurse=*/true)) {
    module.register_buffer(AttributeName(b.key()), b.value());
  }
  // The tracer maps every tensor registered on `module` to an attribute
  // read, so the graph refers to the module's own (named) weights and
  // normalization buffers.
  const torch::Tensor mean =
      ChannelBuffer(options.mean, 0.0, options.input.channels);
  const torch::Tensor std =
      ChannelBuffer(options.std, 1.0, options.input.channels);
  module.register_buffer("input_mean", mean);
  module.register_buffer("input_std", std);
  auto fn = [&net, &mean, &std](torch::jit::Stack inputs) -> torch::jit::Stack {
    const torch::Tensor x = inputs.at(0).toTensor();
    return {net.forward(x.sub(mean).div(std))};
  };
  const torch::Tensor example = torch::rand(
      {2, options.input.channels, options.input.height, options.input.width});
  auto traced = torch::jit::tracer::trace(
      {example}, fn, [](const torch::autograd::Variable&) { return ""; },
      /*strict=*/true, /*force_outplace=*/false, &module, {"images"});
  std::shared_ptr<torch::jit::Graph> graph = traced.first->graph;
  torch::jit::Inline(*graph);
  auto method = module._ivalue()->compilation_unit()->create_function(
      c10::QualifiedName(*module.type()->name(), "forward"), graph);
  module.type()->addMethod(method);
  if (!device.is_cpu()) net.to(device);

  // Sanity check: the scripted module computes what the network computes.
  const torch::Tensor want =
      net.forward(example.sub(mean).div(std).to(device)).to(torch::kCPU);
  const torch::Tensor got = module.forward({example}).toTensor();
  if (!torch::allclose(want, got, 1e-4, 1e-4)) {
    return absl::InternalError(
        "torchscript export: traced module disagrees with the network");
  }
  std::ostringstream out;
  torch::jit::ExtraFilesMap extra(options.extra_files.begin(),
                                  options.extra_files.end());
  module.save(out, extra);
  return out.str();
}

}  // namespace

absl::StatusOr<std::string> ExportTorchScript(CandidateNet& net,
                                              const ExportOptions& options) {
  try {
    return ExportOrThrow(net, options);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("torchscript export: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("torchscript export: ", e.what()));
  }
}

}  // namespace nas
