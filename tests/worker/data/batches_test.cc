// Split (worker/data/split.cc) and the batch pipeline (batches.h): gathers,
// order, per-channel normalization, errors, and bit-identity with the
// worker's earlier normalize-everything-up-front path on Fashion-MNIST.
#include "worker/data/batches.h"

#include <torch/torch.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/data/augment.h"
#include "worker/data/dataset.h"

namespace nas {
namespace {

// n images of c x 2 x 2 whose pixels all equal (first + i) % 256, label i % k.
std::shared_ptr<const ImageSet> Images(int64_t n, int64_t c, int first, int k) {
  auto s = std::make_shared<ImageSet>();
  s->images = torch::arange(first, first + n, torch::kInt64)
                  .remainder(256)
                  .to(torch::kUInt8)
                  .view({n, 1, 1, 1})
                  .expand({n, c, 2, 2})
                  .contiguous();
  s->labels = torch::arange(n, torch::kInt64).remainder(k);
  return s;
}

torch::Tensor Long(std::vector<int64_t> v) {
  return torch::tensor(v, torch::kInt64);
}

TEST(SplitTest, GathersAcrossParts) {
  Split a{{{Images(10, 1, 0, 3), Long({9, 2, 4})}}};
  Split b{{{Images(5, 1, 100, 3), Long({0, 1})}}};
  const Split s = a.Concat(b);
  EXPECT_EQ(s.size(), 5);
  EXPECT_TRUE(torch::equal(s.Labels(), Long({0, 2, 1, 0, 1})));
  torch::Tensor x, y;
  s.Gather(Long({4, 0, 3, 2}), &x, &y);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{4, 1, 2, 2}));
  EXPECT_EQ(x.dtype(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(x.select(2, 0).select(2, 0).flatten(),
                           torch::tensor({101, 9, 100, 4}).to(torch::kUInt8)));
  EXPECT_TRUE(torch::equal(y, Long({1, 0, 0, 1})));
  EXPECT_THROW(s.Gather(Long({5}), &x, &y), c10::Error);
}

TEST(NormalizerTest, PerChannel) {
  const Normalizer norm({0.5, 0.25, 0}, {0.5, 0.25, 1}, torch::kCPU);
  const torch::Tensor x =
      torch::full({1, 3, 1, 1}, 255, torch::kInt64).to(torch::kUInt8);
  EXPECT_TRUE(
      torch::allclose(norm(x).flatten(), torch::tensor({1.0f, 3.0f, 1.0f})));
  const std::vector<double> bg = norm.Background();
  ASSERT_EQ(bg.size(), 3u);
  EXPECT_DOUBLE_EQ(bg[0], -1);
  EXPECT_DOUBLE_EQ(bg[1], -1);
  EXPECT_DOUBLE_EQ(bg[2], 0);
}

TEST(BatchStreamTest, BatchesInOrderAndLastOneShort) {
  Split s{{{Images(7, 3, 0, 7), InOrder(7)}}};
  const Normalizer norm({0}, {1}, torch::kCPU);
  BatchStream batches(s, Long({6, 5, 4, 3, 2, 1, 0}), 3, norm);
  EXPECT_EQ(batches.batches(), 3);
  std::vector<int64_t> labels;
  torch::Tensor x, y;
  while (batches.Next(&x, &y)) {
    EXPECT_EQ(x.dtype(), torch::kFloat32);
    EXPECT_EQ(x.size(1), 3);
    for (int64_t i = 0; i < y.size(0); ++i) {
      labels.push_back(y[i].item<int64_t>());
      EXPECT_FLOAT_EQ(x[i][2][1][1].item<float>(),
                      static_cast<float>(labels.back()) / 255.0f);
    }
  }
  EXPECT_EQ(labels, (std::vector<int64_t>{6, 5, 4, 3, 2, 1, 0}));
  EXPECT_FALSE(batches.Next(&x, &y));
}

TEST(BatchStreamTest, GatherErrorsReachTheConsumer) {
  Split s{{{Images(4, 1, 0, 2), InOrder(4)}}};
  const Normalizer norm({0}, {1}, torch::kCPU);
  BatchStream batches(s, Long({0, 1, 7, 2}), 2, norm);
  torch::Tensor x, y;
  EXPECT_TRUE(batches.Next(&x, &y));
  EXPECT_THROW(batches.Next(&x, &y), c10::Error);
}

TEST(BatchStreamTest, DestroyedEarlyJoinsItsThread) {
  Split s{{{Images(100, 1, 0, 2), InOrder(100)}}};
  const Normalizer norm({0}, {1}, torch::kCPU);
  for (int i = 0; i < 20; ++i) {
    BatchStream batches(s, InOrder(100), 1, norm, 2);
    torch::Tensor x, y;
    ASSERT_TRUE(batches.Next(&x, &y));
  }
}

TEST(AugmentTest, PerChannelPadValues) {
  const torch::Tensor x = torch::zeros({1, 2, 2, 2});
  const torch::Tensor off = Long({0});
  const torch::Tensor out = RandomCrop(x, 1, std::vector<double>{-1, 3}, off,
                                       off);  // shifted down-right by 1
  EXPECT_EQ(out[0][0][0][0].item<float>(), -1);
  EXPECT_EQ(out[0][1][0][0].item<float>(), 3);
  EXPECT_EQ(out[0][1][1][1].item<float>(), 0);
  // Equal values: the same as the single-value crop.
  EXPECT_TRUE(
      torch::equal(RandomCrop(x, 1, std::vector<double>{0.5, 0.5}, off, off),
                   RandomCrop(x, 1, 0.5, off, off)));
}

// ---------------------------------------------------------------------------
// Bit-identity with the earlier path on the real Fashion-MNIST preset: the
// whole split normalized up front on the CPU,
// x.to(float32).div_(255.0).sub_(0.2860).div_(0.3530), epochs permuted by
// torch::randperm(n) and batches taken with index_select, augmentation
// padding with (0 - 0.2860) / 0.3530.

constexpr char kDir[] = "/usr/share/datasets/fashion-mnist";

v1::EvaluationSpec PresetSpec() {
  v1::EvaluationSpec e;
  e.set_dataset("fashion_mnist");
  v1::DataSpec& d = *e.mutable_data();
  d.set_format("idx");
  const std::string dir = kDir;
  d.mutable_train()->set_images(dir + "/train-images-idx3-ubyte.gz");
  d.mutable_train()->set_labels(dir + "/train-labels-idx1-ubyte.gz");
  d.mutable_test()->set_images(dir + "/t10k-images-idx3-ubyte.gz");
  d.mutable_test()->set_labels(dir + "/t10k-labels-idx1-ubyte.gz");
  d.set_height(28);
  d.set_width(28);
  d.set_channels(1);
  d.set_classes(10);
  d.set_normalization("explicit");
  d.add_mean(0.2860);
  d.add_std(0.3530);
  e.set_val_samples(1000);
  e.set_train_samples(3000);
  e.set_test_samples(1000);
  e.set_data_seed(3);
  return e;
}

// The old path's float split: the source normalized whole, then indexed.
torch::Tensor OldStyle(const Split& split) {
  std::vector<torch::Tensor> parts;
  for (const Split::Part& p : split.parts) {
    const torch::Tensor all = p.source->images.to(torch::kFloat32)
                                  .div_(255.0)
                                  .sub_(0.2860)
                                  .div_(0.3530);
    parts.push_back(all.index_select(0, p.index));
  }
  return torch::cat(parts);
}

TEST(BatchStreamTest, BitIdenticalToNormalizingTheWholeSplit) {
  if (access((std::string(kDir) + "/train-images-idx3-ubyte.gz").c_str(),
             R_OK) != 0) {
    GTEST_SKIP() << "no " << kDir;
  }
  absl::StatusOr<std::shared_ptr<const Dataset>> data =
      LoadDataset(PresetSpec(), DataLoadOptions());
  NAS_ASSERT_OK(data);
  const Dataset& d = **data;
  const Normalizer norm = Normalizer::For(d, torch::kCPU);
  ASSERT_EQ(norm.Background().size(), 1u);
  EXPECT_EQ(norm.Background()[0], (0.0 - 0.2860) / 0.3530);
  const Split final_training = d.train.Concat(d.val);
  for (const Split* split : {&d.train, &d.val, &d.test, &final_training}) {
    const torch::Tensor old_x = OldStyle(*split);
    const torch::Tensor old_y = split->Labels();
    const int64_t n = split->size();
    // Training order: both draw randperm from the global generator.
    torch::manual_seed(11);
    const torch::Tensor old_perm =
        torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64));
    torch::manual_seed(11);
    BatchStream batches(*split, EpochOrder(n, torch::kCPU), 128, norm);
    int64_t b = 0;
    torch::Tensor x, y;
    while (batches.Next(&x, &y)) {
      const torch::Tensor idx =
          old_perm.narrow(0, b, std::min<int64_t>(128, n - b));
      ASSERT_TRUE(torch::equal(x, old_x.index_select(0, idx))) << b;
      ASSERT_TRUE(torch::equal(y, old_y.index_select(0, idx))) << b;
      b += x.size(0);
    }
    EXPECT_EQ(b, n);
    // Evaluation order.
    BatchStream eval(*split, InOrder(n), 1000, norm);
    b = 0;
    while (eval.Next(&x, &y)) {
      ASSERT_TRUE(torch::equal(x, old_x.narrow(0, b, x.size(0))));
      b += x.size(0);
    }
    EXPECT_EQ(b, n);
  }
}

}  // namespace
}  // namespace nas
