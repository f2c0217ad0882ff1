#include "worker/data/batches.h"

#include <algorithm>
#include <utility>

namespace nas {
namespace {

// `v` as float32 1 x C x 1 x 1 on `device` (C = v.size()).
torch::Tensor ChannelTensor(const std::vector<double>& v,
                            torch::Device device) {
  return torch::tensor(v, torch::kFloat64)
      .to(torch::kFloat32)
      .view({1, static_cast<int64_t>(v.size()), 1, 1})
      .to(device);
}

}  // namespace

Normalizer::Normalizer(const std::vector<double>& mean,
                       const std::vector<double>& std, torch::Device device)
    : mean_(mean.empty() ? std::vector<double>{0} : mean),
      std_(std.empty() ? std::vector<double>{1} : std),
      device_(device),
      t255_(torch::full(
          {}, 255.0,
          torch::TensorOptions().dtype(torch::kFloat32).device(device))),
      tmean_(ChannelTensor(mean_, device)),
      tstd_(ChannelTensor(std_, device)) {}

Normalizer Normalizer::For(const Dataset& data, torch::Device device) {
  return Normalizer(data.mean, data.std, device);
}

torch::Tensor Normalizer::operator()(const torch::Tensor& images) const {
  // A 0-dim device tensor, not a Scalar: CUDA divides by a CPU scalar as a
  // multiplication by its reciprocal, which rounds differently.
  return images.to(device_, torch::kFloat32)
      .div_(t255_)
      .sub_(tmean_)
      .div_(tstd_);
}

std::vector<double> Normalizer::Background() const {
  const size_t c = std::max(mean_.size(), std_.size());
  std::vector<double> out(c);
  for (size_t i = 0; i < c; ++i) {
    const double m = mean_[mean_.size() == 1 ? 0 : i];
    const double s = std_[std_.size() == 1 ? 0 : i];
    out[i] = (0.0 - m) / s;
  }
  return out;
}

torch::Tensor EpochOrder(int64_t n, torch::Device device) {
  return torch::randperm(
             n, torch::TensorOptions().dtype(torch::kInt64).device(device))
      .to(torch::kCPU);
}

torch::Tensor InOrder(int64_t n) {
  return torch::arange(n, torch::TensorOptions().dtype(torch::kInt64));
}

BatchStream::BatchStream(const Split& split, torch::Tensor positions,
                         int64_t batch_size, const Normalizer& normalizer,
                         int prefetch)
    : split_(split),
      positions_(positions.to(torch::kCPU, torch::kInt64).contiguous()),
      batch_size_(std::max<int64_t>(1, batch_size)),
      normalizer_(normalizer),
      prefetch_(static_cast<size_t>(std::max(1, prefetch))),
      pin_(normalizer.device().is_cuda()),
      batches_((positions_.size(0) + batch_size_ - 1) / batch_size_) {
  if (batches_ > 0) thread_ = std::thread([this] { Produce(); });
}

BatchStream::~BatchStream() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BatchStream::Produce() {
  try {
    for (int64_t b = 0; b < batches_; ++b) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](BatchStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->stop_ || s->ready_.size() < s->prefetch_;
            },
            this));
        if (stop_) return;
      }
      const int64_t begin = b * batch_size_;
      const int64_t len = std::min(batch_size_, positions_.size(0) - begin);
      Gathered g;
      {
        absl::MutexLock lock(&mu_);
        if (!spare_.empty()) {
          g.images = std::move(spare_.back());
          spare_.pop_back();
        }
      }
      split_.Gather(positions_.narrow(0, begin, len), &g.images, &g.labels);
      if (pin_) {
        g.images = g.images.pin_memory();
        g.labels = g.labels.pin_memory();
      }
      absl::MutexLock lock(&mu_);
      ready_.push_back(std::move(g));
    }
  } catch (...) {
    absl::MutexLock lock(&mu_);
    error_ = std::current_exception();
  }
}

bool BatchStream::NextRaw(torch::Tensor* images, torch::Tensor* labels) {
  if (taken_ >= batches_) return false;
  Gathered g;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](BatchStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return !s->ready_.empty() || s->error_ != nullptr;
        },
        this));
    if (ready_.empty()) std::rethrow_exception(error_);
    g = std::move(ready_.front());
    ready_.pop_front();
  }
  ++taken_;
  *images = std::move(g.images);
  *labels = std::move(g.labels);
  return true;
}

bool BatchStream::Next(torch::Tensor* x, torch::Tensor* y) {
  torch::Tensor images, labels;
  if (!NextRaw(&images, &labels)) return false;
  const bool non_blocking = pin_;
  *x = normalizer_(
      images.to(normalizer_.device(), /*non_blocking=*/non_blocking));
  *y = labels.to(normalizer_.device(), /*non_blocking=*/non_blocking);
  // On the CPU the normalized batch is a new float tensor: the uint8 one
  // can be gathered into again. (Not after an asynchronous copy to CUDA,
  // which may still be reading it.)
  if (normalizer_.device().is_cpu() && !pin_ && images.use_count() == 1) {
    absl::MutexLock lock(&mu_);
    if (spare_.size() <= prefetch_) spare_.push_back(std::move(images));
  }
  return true;
}

}  // namespace nas
