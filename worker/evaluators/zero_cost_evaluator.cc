#include "worker/evaluators/zero_cost_evaluator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "worker/data/batches.h"
#include "worker/models/model_builder.h"
#include "worker/models/nb201_model.h"  // CountParameters
#include "worker/models/zero_cost.h"

namespace nas {

absl::StatusOr<ZeroCostSettings> ResolveZeroCostSettings(
    const v1::ZeroCostOptions& options) {
  if (options.batches() < 0 || options.batch_size() < 0) {
    return absl::InvalidArgumentError(
        "zero_cost.batches and zero_cost.batch_size must not be negative");
  }
  ZeroCostSettings s;
  if (options.batches() > 0) s.batches = options.batches();
  if (options.batch_size() > 0) s.batch_size = options.batch_size();
  for (const std::string& p : options.proxies()) {
    if (!IsZeroCostProxy(p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("zero_cost.proxies: unknown proxy '", p,
                       "' (synflow, jacob_cov, snip, grad_norm)"));
    }
    if (std::find(s.proxies.begin(), s.proxies.end(), p) == s.proxies.end()) {
      s.proxies.push_back(p);
    }
  }
  if (s.proxies.empty()) s.proxies = ZeroCostProxyNames();
  return s;
}

absl::StatusOr<v1::EvaluationMetrics> EvaluateZeroCost(
    const v1::Trial& trial, const std::string& space,
    const SearchSpace& search_space, const std::vector<int>& choices,
    const v1::SearchSpaceSpec& space_spec, const Dataset& data,
    const ZeroCostContext& context) {
  NAS_ASSIGN_OR_RETURN(const ZeroCostSettings settings,
                       ResolveZeroCostSettings(trial.evaluation().zero_cost()));
  const int64_t n = data.train.size();
  if (n < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "zero-cost proxies need at least 2 training images, the split has ",
        n));
  }
  torch::manual_seed(static_cast<uint64_t>(context.seed));
  NAS_ASSIGN_OR_RETURN(
      std::shared_ptr<CandidateNet> net,
      BuildCandidateNet(space, choices, space_spec, data.shape));
  NAS_ASSIGN_OR_RETURN(const Cost cost, search_space.ComputeCost(
                                            choices, space_spec, data.shape));
  net->to(context.device);

  const auto t0 = std::chrono::steady_clock::now();
  const int64_t batch_size = std::min(settings.batch_size, n);
  const int64_t batches =
      std::max<int64_t>(1, std::min<int64_t>(settings.batches, n / batch_size));
  const torch::Tensor positions =
      EpochOrder(n, context.device).narrow(0, 0, batches * batch_size);
  const Normalizer normalizer = Normalizer::For(data, context.device);
  std::vector<ProxyBatch> proxy_batches;
  {
    BatchStream stream(data.train, positions, batch_size, normalizer);
    ProxyBatch b;
    while (stream.Next(&b.x, &b.y)) proxy_batches.push_back(b);
  }
  NAS_ASSIGN_OR_RETURN(
      const auto scores,
      ComputeZeroCostProxies(
          *net, [&net](const torch::Tensor& x) { return net->forward(x); },
          settings.proxies, proxy_batches));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();

  v1::EvaluationMetrics m;
  m.set_macs(cost.macs);
  m.set_params(CountParameters(*net));
  m.set_train_seconds(seconds);
  m.set_epochs(0);
  m.set_device(context.device_used);
  for (const auto& [name, value] : scores) {
    (*m.mutable_named_metrics())[name] = value;
  }
  if (context.verbose) {
    std::string line;
    for (const auto& [name, value] : scores) {
      absl::StrAppend(&line, " ", name, " ", value);
    }
    std::fprintf(stderr, "[trial %lld attempt %d] zero-cost:%s (%.2fs)\n",
                 static_cast<long long>(trial.trial_id()), trial.attempt(),
                 line.c_str(), seconds);
  }
  return m;
}

}  // namespace nas
