// REINFORCE with an LSTM policy (Zoph & Le, ICLR 2017), the only controller
// translation unit that includes LibTorch. One LSTM step per decision of the
// genotype; the step's output goes through the decision's own linear head
// and a softmax over its choices; the chosen choice's embedding is the next
// step's input (the first step reads a start token). Every observed result
// is one Adam step on
//   loss = -(reward - baseline) * log p(genotype) - entropy_weight * H
// where log p and the entropy H (summed over decisions) are recomputed for
// the observed genotype by teacher forcing, so an observation does not
// depend on how (or whether) the strategy sampled it, and the baseline is an
// exponential moving average of the previous rewards (the first reward
// initializes it). The weights start uniform in [-0.1, 0.1]. Every random
// draw uses this strategy's own CPU generator, seeded once; the state is a
// pure function of the seed and the interleaved calls, as replay requires.
// With dedupe, a sample already proposed is drawn again (up to 100 draws),
// then replaced by a uniformly random unproposed genotype.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <exception>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/objective.h"
#include "controller/strategies/strategy.h"

namespace nas {
namespace {

// Logits are c * tanh(linear output / c), c = 2.5, as ENAS's tanh constant
// (Pham et al. 2018): with 5 choices every choice keeps at least ~0.6%
// probability and gradients do not vanish in a collapsed policy. Without
// it the policy locked into one wrong decision of a separable synthetic
// reward within 300 steps (tests/controller/strategies/reinforce_test.cc).
constexpr double kTanhConstant = 2.5;

struct Policy : torch::nn::Module {
  Policy(const SearchSpace& space, int hidden) {
    int tokens = 1;  // start token
    for (int d = 0; d < space.num_decisions(); ++d) {
      offset.push_back(tokens);
      tokens += space.num_choices(d);
    }
    embedding =
        register_module("embedding", torch::nn::Embedding(tokens, hidden));
    lstm = register_module("lstm", torch::nn::LSTMCell(hidden, hidden));
    for (int d = 0; d < space.num_decisions(); ++d) {
      heads.push_back(
          register_module(absl::StrCat("head", d),
                          torch::nn::Linear(hidden, space.num_choices(d))));
    }
    hidden_size = hidden;
  }

  // Runs the policy over all decisions. With `sample` the choices are
  // drawn (written to *choices); otherwise *choices is followed. Returns
  // {sum of log-probabilities of the choices, summed entropy}.
  std::pair<torch::Tensor, torch::Tensor> Run(std::vector<int>* choices,
                                              bool sample, at::Generator& gen) {
    torch::Tensor h = torch::zeros({1, hidden_size});
    torch::Tensor c = torch::zeros({1, hidden_size});
    torch::Tensor input = embedding(torch::zeros({1}, torch::kLong));
    torch::Tensor log_prob = torch::zeros({});
    torch::Tensor entropy = torch::zeros({});
    if (sample) choices->assign(heads.size(), 0);
    for (size_t d = 0; d < heads.size(); ++d) {
      std::tie(h, c) = lstm(input, std::make_tuple(h, c));
      // ENAS's bounded logits: the policy never becomes deterministic, so
      // a wrong early commitment can still be undone.
      torch::Tensor logits =
          kTanhConstant * torch::tanh(heads[d](h) / kTanhConstant);
      torch::Tensor logp = torch::log_softmax(logits, /*dim=*/1);
      if (sample) {
        (*choices)[d] = static_cast<int>(
            torch::multinomial(logp.exp(), 1, false, gen).item<int64_t>());
      }
      const int64_t k = (*choices)[d];
      log_prob = log_prob + logp[0][k];
      entropy = entropy - (logp.exp() * logp).sum();
      input = embedding(torch::full({1}, offset[d] + k, torch::kLong));
    }
    return {log_prob, entropy};
  }

  std::vector<int64_t> offset;  // first token of each decision's choices
  int hidden_size = 0;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::LSTMCell lstm{nullptr};
  std::vector<torch::nn::Linear> heads;
};

constexpr int kMaxDraws = 100;

class ReinforceStrategy final : public Strategy {
 public:
  ReinforceStrategy(const SearchSpace* space, int64_t seed,
                    const v1::ReinforceOptions& options,
                    const v1::ObjectiveSpec& objective)
      : space_(space),
        options_(options),
        objective_(objective),
        gen_(at::detail::createCPUGenerator(static_cast<uint64_t>(seed))),
        uniform_(static_cast<uint64_t>(seed) ^ 0x9e3779b97f4a7c15ULL),
        policy_(std::make_shared<Policy>(*space, options.hidden_size())) {
    // The policy's tensors are tiny: one intra-op thread keeps LibTorch from
    // starting a thread pool in the controller and the float order fixed.
    at::set_num_threads(1);
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : policy_->parameters()) p.uniform_(-0.1, 0.1, gen_);
    optimizer_ = std::make_unique<torch::optim::Adam>(
        policy_->parameters(),
        torch::optim::AdamOptions(options.learning_rate()));
  }

  absl::StatusOr<std::vector<Proposal>> Propose(int n) override {
    if (!broken_.ok()) return broken_;
    std::vector<Proposal> out(n);
    try {
      torch::NoGradGuard no_grad;
      for (Proposal& p : out) {
        int draws = 0;
        torch::Tensor log_prob;
        do {
          log_prob = policy_->Run(&p.choices, true, gen_).first;
          ++draws;
        } while (options_.dedupe() && draws < kMaxDraws &&
                 proposed_.count(p.choices) > 0);
        if (options_.dedupe() && proposed_.count(p.choices) > 0) {
          // The policy keeps repeating itself: a uniformly random genotype
          // not proposed yet (re-drawn up to kMaxDraws times).
          for (int t = 0; t < kMaxDraws && proposed_.count(p.choices) > 0;
               ++t) {
            p.choices = space_->Sample(uniform_);
          }
          p.strategy_data = R"({"op":"uniform"})";
        } else {
          p.strategy_data =
              absl::StrFormat(R"({"op":"sample","log_prob":%.6g,"draws":%d})",
                              log_prob.item<double>(), draws);
        }
        proposed_.insert(p.choices);
      }
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("reinforce: sampling failed: ", e.what()));
    }
    return out;
  }

  void Observe(const Observation& o) override {
    if (!broken_.ok()) return;
    const double reward = ScalarFitness(objective_, o.metrics);
    if (!has_baseline_) {
      baseline_ = reward;
      has_baseline_ = true;
    }
    const double advantage = reward - baseline_;
    baseline_ = options_.baseline_decay() * baseline_ +
                (1 - options_.baseline_decay()) * reward;
    try {
      std::vector<int> choices = o.choices;
      if (static_cast<int>(choices.size()) != space_->num_decisions()) {
        broken_ = absl::InvalidArgumentError(
            absl::StrCat("reinforce: observed genotype has ", choices.size(),
                         " choices, the space ", space_->num_decisions()));
        return;
      }
      auto [log_prob, entropy] = policy_->Run(&choices, false, gen_);
      torch::Tensor loss =
          -advantage * log_prob - options_.entropy_weight() * entropy;
      optimizer_->zero_grad();
      loss.backward();
      optimizer_->step();
    } catch (const std::exception& e) {
      broken_ = absl::InternalError(
          absl::StrCat("reinforce: policy update failed: ", e.what()));
    }
  }

 private:
  const SearchSpace* space_;
  const v1::ReinforceOptions options_;
  const v1::ObjectiveSpec objective_;
  at::Generator gen_;
  std::mt19937_64 uniform_;  // dedupe's fallback draws
  std::shared_ptr<Policy> policy_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  double baseline_ = 0;
  bool has_baseline_ = false;
  absl::Status broken_;  // first LibTorch failure; returned by Propose
  std::set<std::vector<int>> proposed_;  // for options.dedupe
};

}  // namespace

absl::StatusOr<std::unique_ptr<Strategy>> MakeReinforceStrategy(
    const SearchSpace* space, int64_t seed, const v1::ReinforceOptions& options,
    const v1::ObjectiveSpec& objective) {
  try {
    return std::unique_ptr<Strategy>(
        new ReinforceStrategy(space, seed, options, objective));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("reinforce: building the policy failed: ", e.what()));
  }
}

}  // namespace nas
