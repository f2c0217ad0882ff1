#include "worker/data/augment.h"

#include <algorithm>
#include <vector>

namespace nas {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

namespace {

// x padded by `padding` pixels on each side, channel c with pad_values[c]
// (or pad_values[0] for every channel).
torch::Tensor Pad(const torch::Tensor& x, int64_t padding,
                  const std::vector<double>& pad_values) {
  TORCH_CHECK(!pad_values.empty() &&
                  (pad_values.size() == 1 ||
                   static_cast<int64_t>(pad_values.size()) == x.size(1)),
              "RandomCrop: ", pad_values.size(), " pad values for ", x.size(1),
              " channels");
  if (std::all_of(pad_values.begin(), pad_values.end(),
                  [&](double v) { return v == pad_values[0]; })) {
    return F::pad(x, F::PadFuncOptions({padding, padding, padding, padding})
                         .mode(torch::kConstant)
                         .value(pad_values[0]));
  }
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor padded = torch::tensor(pad_values, torch::kFloat64)
                             .to(x.options())
                             .view({1, c, 1, 1})
                             .expand({n, c, h + 2 * padding, w + 2 * padding})
                             .contiguous();
  padded.narrow(2, padding, h).narrow(3, padding, w).copy_(x);
  return padded;
}

}  // namespace

torch::Tensor RandomCrop(const torch::Tensor& x, int64_t padding,
                         double pad_value, const torch::Tensor& offset_y,
                         const torch::Tensor& offset_x, CropMethod method) {
  return RandomCrop(x, padding, std::vector<double>{pad_value}, offset_y,
                    offset_x, method);
}

torch::Tensor RandomCrop(const torch::Tensor& x, int64_t padding,
                         const std::vector<double>& pad_values,
                         const torch::Tensor& offset_y,
                         const torch::Tensor& offset_x, CropMethod method) {
  TORCH_CHECK(x.dim() == 4, "RandomCrop expects N x C x H x W, got ",
              x.sizes());
  if (padding == 0) return x;
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const torch::Tensor padded = Pad(x, padding, pad_values);
  if (method == CropMethod::kPerSampleCopy) {
    torch::Tensor out = torch::empty_like(x);
    const auto oy = offset_y.accessor<int64_t, 1>();
    const auto ox = offset_x.accessor<int64_t, 1>();
    for (int64_t i = 0; i < n; ++i) {
      out[i].copy_(padded[i].narrow(1, oy[i], h).narrow(2, ox[i], w));
    }
    return out;
  }
  // windows[n][c][dy][dx] is the H x W window at offset (dy, dx): a view.
  const torch::Tensor windows = padded.unfold(2, h, 1).unfold(3, w, 1);
  const torch::TensorOptions idx =
      torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  // Advanced indices on dims 0, 2, 3 around a slice: result N x C x H x W.
  return windows.index(
      {torch::arange(n, idx), Slice(), offset_y.to(idx), offset_x.to(idx)});
}

torch::Tensor HorizontalFlip(const torch::Tensor& x,
                             const torch::Tensor& flip) {
  TORCH_CHECK(x.dim() == 4, "HorizontalFlip expects N x C x H x W, got ",
              x.sizes());
  const torch::Tensor mask = flip.to(x.device()).view({x.size(0), 1, 1, 1});
  return torch::where(mask, x.flip({3}), x);
}

torch::Tensor AugmentBatch(const torch::Tensor& x,
                           const AugmentOptions& options,
                           torch::Generator& gen) {
  if (!options.enabled()) return x;
  const int64_t n = x.size(0);
  const torch::TensorOptions cpu_long =
      torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor out = x;
  if (options.crop_padding > 0) {
    const int64_t span = 2 * options.crop_padding + 1;
    const torch::Tensor oy = torch::randint(span, {n}, gen, cpu_long);
    const torch::Tensor ox = torch::randint(span, {n}, gen, cpu_long);
    out = RandomCrop(out, options.crop_padding,
                     options.channel_pad_values.empty()
                         ? std::vector<double>{options.pad_value}
                         : options.channel_pad_values,
                     oy, ox);
  }
  if (options.horizontal_flip) {
    const torch::Tensor flip =
        torch::randint(2, {n}, gen, cpu_long).to(torch::kBool);
    out = HorizontalFlip(out, flip);
  }
  return out;
}

}  // namespace nas
