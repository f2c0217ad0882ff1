// Weight-sharing supernets (single-path one-shot, SPOS) for the spaces of
// worker/models/model_builder.h, and weight inheritance from a supernet into
// the standalone network of one architecture.
//   nb201:     every edge of every cell holds all five ops (both convolutions
//              with their own weights); a path picks one op per edge, or
//              ForwardMixed weighs all five (DARTS,
//              worker/models/darts_cell.h).
//   mobilenet: every block is the largest (kernel 7, expansion 6, SE on) and
//              every stage has depth 4; a path uses the first `depth` blocks,
//              the first `hidden` channels and the centred k x k of each
//              depthwise kernel (Once-for-All's elastic kernel, expansion
//              and depth, without OFA's kernel transform matrices).
// Include only from nas_worker_torch sources and worker tests (LibTorch).
// Not thread-safe: one thread trains or runs a supernet at a time.
#ifndef NAS_WORKER_MODELS_SUPERNET_H_
#define NAS_WORKER_MODELS_SUPERNET_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.pb.h"
#include "worker/models/model_builder.h"

namespace nas {

class Supernet : public CandidateNet {
 public:
  // forward() runs one path. With sampling on, each forward in training
  // mode first draws a new path uniformly at random; otherwise it runs the
  // path of SetPath. Sampling is stratified per decision (as FairNAS's
  // strict fairness, without its gradient accumulation): decision d cycles
  // through a fresh random permutation of its k choices every k steps, so
  // each choice is trained equally often while every path stays uniformly
  // likely at every step.
  torch::Tensor forward(const torch::Tensor& x) final;

  // Fixes the path (and turns sampling off). InvalidArgument for a genotype
  // the space refuses.
  absl::Status SetPath(const std::vector<int>& choices);
  // Turns per-step uniform sampling on, drawing from a generator seeded
  // with `seed`; ResumeSampling turns it on again after a SetPath without
  // reseeding.
  void EnableSampling(uint64_t seed);
  void ResumeSampling() { sampling_ = true; }
  const std::vector<int>& path() const { return path_; }

  // DARTS's continuous relaxation (nb201 only; has_mixed_forward()): every
  // edge e of every cell computes sum_k weights[e][k] * op_k(its input),
  // with one edges x ops `weights` (on x's device and dtype) shared by all
  // cells; the path and sampling are ignored. With one-hot weights it
  // computes what the path of the hot ops computes. Throws c10::Error for
  // weights of another shape, or a supernet without a mixed forward.
  virtual bool has_mixed_forward() const { return false; }
  virtual torch::Tensor ForwardMixed(const torch::Tensor& x,
                                     const torch::Tensor& weights);

  // The name of the supernet tensor (parameter or buffer) that tensor
  // `name` of BuildCandidateNet's network for `choices` inherits from.
  virtual std::string SourceName(const std::string& name,
                                 const std::vector<int>& choices) const = 0;

 protected:
  explicit Supernet(const SearchSpace* space) : space_(space) {}
  virtual torch::Tensor ForwardPath(const torch::Tensor& x,
                                    const std::vector<int>& choices) = 0;

 private:
  const SearchSpace* const space_;
  std::vector<int> path_;
  bool sampling_ = false;
  std::mt19937_64 rng_;
  // Per decision: the current permutation of its choices, and the position.
  std::vector<std::vector<int>> cycles_;
  int64_t step_ = 0;
};

// Builds the supernet of `space` ("nb201" or "mobilenet") with the options
// of `spec` for `input`, with LibTorch's default initialisation; its path is
// the space's first genotype (all zeros) until SetPath. InvalidArgument as
// BuildCandidateNet.
absl::StatusOr<std::shared_ptr<Supernet>> BuildSupernet(
    absl::string_view space, const v1::SearchSpaceSpec& spec,
    const InputShape& input);

// Copies into `subnet` (BuildCandidateNet's network for `choices`, same
// options and input) every parameter and buffer from the supernet tensor
// SourceName names: the whole tensor when the shapes match, else its leading
// slice in each dimension except the two kernel dimensions of a 4-D
// convolution weight, which take the centred window. After the copy, the
// subnet computes what the supernet computes on path `choices` (with the
// same batch-norm statistics). InvalidArgument naming the first tensor
// without a source or with a source too small.
absl::Status InheritWeights(Supernet& supernet, const std::vector<int>& choices,
                            CandidateNet& subnet);

// Recomputes the running statistics of every batch-norm layer of `net` as
// the exact average over the batches x[b * batch_size, (b+1) * batch_size)
// for b < batches (fewer when x runs out): train-mode forward passes
// without gradients; leaves `net` in eval mode with the batch norms'
// momentum as it was. `x` must be on the net's device.
void RecalibrateBatchNorm(CandidateNet& net, const torch::Tensor& x,
                          int64_t batches, int64_t batch_size);

// The module's parameters and buffers as bytes (LibTorch's archive
// format), and back into a module of the same structure. Load returns
// InvalidArgument when the bytes do not fit the module (a tensor missing or
// of another shape); the module's weights are unspecified then.
absl::StatusOr<std::string> SaveWeights(torch::nn::Module& module);
absl::Status LoadWeights(torch::nn::Module& module, const std::string& bytes);

}  // namespace nas

#endif  // NAS_WORKER_MODELS_SUPERNET_H_
