// The Split members of worker/data/dataset.h.
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "worker/data/dataset.h"

namespace nas {

int64_t Split::size() const {
  int64_t n = 0;
  for (const Part& p : parts) n += p.index.defined() ? p.index.size(0) : 0;
  return n;
}

torch::Tensor Split::Labels() const {
  std::vector<torch::Tensor> labels;
  labels.reserve(parts.size());
  for (const Part& p : parts) {
    if (!p.index.defined() || p.index.size(0) == 0) continue;
    labels.push_back(p.source->labels.index_select(0, p.index));
  }
  if (labels.empty()) return torch::empty({0}, torch::kInt64);
  if (labels.size() == 1) return labels.front();
  return torch::cat(labels);
}

void Split::Gather(const torch::Tensor& positions, torch::Tensor* images,
                   torch::Tensor* labels) const {
  TORCH_CHECK(!parts.empty(), "Split::Gather on an empty split");
  const torch::Tensor pos = positions.to(torch::kInt64).contiguous();
  if (parts.size() == 1) {
    const Part& p = parts.front();
    const torch::Tensor rows = p.index.index_select(0, pos);
    const torch::Tensor& src = p.source->images;
    const std::vector<int64_t> shape = {rows.size(0), src.size(1), src.size(2),
                                        src.size(3)};
    // Reuse the caller's buffer when it has the batch's shape (BatchStream
    // recycles its batches: no allocation per batch, so no heap creep).
    if (!(images->defined() && images->scalar_type() == torch::kUInt8 &&
          images->is_contiguous() && images->sizes() == shape)) {
      *images = torch::empty(shape, torch::kUInt8);
    }
    torch::index_select_out(*images, src, 0, rows);
    *labels = p.source->labels.index_select(0, rows);
    return;
  }
  // Several parts: gather each part's share, then put the rows back in the
  // order of `positions`.
  const int64_t n = pos.size(0);
  const torch::Tensor first = parts.front().source->images;
  torch::Tensor out_x = torch::empty(
      {n, first.size(1), first.size(2), first.size(3)}, torch::kUInt8);
  torch::Tensor out_y = torch::empty({n}, torch::kInt64);
  int64_t begin = 0;
  for (const Part& p : parts) {
    const int64_t len = p.index.defined() ? p.index.size(0) : 0;
    const torch::Tensor mask = pos.ge(begin).logical_and(pos.lt(begin + len));
    const torch::Tensor where = mask.nonzero().squeeze(1);
    if (where.size(0) > 0) {
      const torch::Tensor rows =
          p.index.index_select(0, pos.index_select(0, where).sub(begin));
      out_x.index_copy_(0, where, p.source->images.index_select(0, rows));
      out_y.index_copy_(0, where, p.source->labels.index_select(0, rows));
    }
    begin += len;
  }
  TORCH_CHECK(n == 0 || (pos.min().item<int64_t>() >= 0 &&
                         pos.max().item<int64_t>() < begin),
              "Split::Gather: position out of range [0, ", begin, ")");
  *images = std::move(out_x);
  *labels = std::move(out_y);
}

Split Split::Concat(const Split& other) const {
  Split out = *this;
  out.parts.insert(out.parts.end(), other.parts.begin(), other.parts.end());
  return out;
}

}  // namespace nas
