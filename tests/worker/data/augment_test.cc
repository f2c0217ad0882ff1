#include "worker/data/augment.h"

#include <ATen/CPUGeneratorImpl.h>

#include "gtest/gtest.h"

namespace nas {
namespace {

using torch::indexing::Slice;

torch::Tensor Batch(int64_t n = 6, int64_t c = 2, int64_t h = 7,
                    int64_t w = 5) {
  torch::manual_seed(11);
  return torch::randn({n, c, h, w});
}

torch::Tensor Longs(std::vector<int64_t> v) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kInt64));
}

TEST(AugmentTest, CropAtCentreOffsetIsIdentity) {
  const torch::Tensor x = Batch(3);
  for (CropMethod m : {CropMethod::kUnfoldIndex, CropMethod::kPerSampleCopy}) {
    const torch::Tensor out =
        RandomCrop(x, 2, -1.0, Longs({2, 2, 2}), Longs({2, 2, 2}), m);
    EXPECT_EQ(out.sizes(), x.sizes());
    EXPECT_TRUE(torch::equal(out, x));
  }
}

TEST(AugmentTest, CropShiftsContentAndPadsWithPadValue) {
  const torch::Tensor x = Batch(2);
  const int64_t p = 2;
  // Image 0 at offset (0, 0): content moves down/right by p. Image 1 at
  // (2p, 1): content moves up by p and right by p - 1.
  for (CropMethod m : {CropMethod::kUnfoldIndex, CropMethod::kPerSampleCopy}) {
    const torch::Tensor out =
        RandomCrop(x, p, -3.5, Longs({0, 2 * p}), Longs({0, 1}), m);
    ASSERT_EQ(out.sizes(), x.sizes());
    EXPECT_TRUE(
        torch::equal(out[0].index({Slice(), Slice(p), Slice(p)}),
                     x[0].index({Slice(), Slice(0, -p), Slice(0, -p)})));
    EXPECT_TRUE(
        torch::all(out[0].index({Slice(), Slice(0, p)}) == -3.5).item<bool>());
    EXPECT_TRUE(
        torch::all(out[0].index({Slice(), Slice(), Slice(0, p)}) == -3.5)
            .item<bool>());
    EXPECT_TRUE(
        torch::equal(out[1].index({Slice(), Slice(0, -p), Slice(p - 1)}),
                     x[1].index({Slice(), Slice(p), Slice(0, -(p - 1))})));
    EXPECT_TRUE(
        torch::all(out[1].index({Slice(), Slice(-p)}) == -3.5).item<bool>());
  }
}

TEST(AugmentTest, CropMethodsAgreeOnRandomOffsets) {
  const torch::Tensor x = Batch(16, 3, 12, 10);
  torch::manual_seed(5);
  const torch::Tensor oy = torch::randint(9, {16}, torch::kInt64);
  const torch::Tensor ox = torch::randint(9, {16}, torch::kInt64);
  const torch::Tensor a = RandomCrop(x, 4, 0.25, oy, ox);
  const torch::Tensor b =
      RandomCrop(x, 4, 0.25, oy, ox, CropMethod::kPerSampleCopy);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(a.is_contiguous());
  // Not all crops are the identity: the offsets did something.
  EXPECT_FALSE(torch::equal(a, x));
}

TEST(AugmentTest, FlipMirrorsOnlySelectedImages) {
  const torch::Tensor x = Batch(3);
  const torch::Tensor flip = torch::tensor(
      {true, false, true}, torch::TensorOptions().dtype(torch::kBool));
  const torch::Tensor out = HorizontalFlip(x, flip);
  ASSERT_EQ(out.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(out[0], x[0].flip({2})));
  EXPECT_TRUE(torch::equal(out[1], x[1]));
  EXPECT_TRUE(torch::equal(out[2], x[2].flip({2})));
  // Column 0 of a flipped image is the original's last column.
  EXPECT_TRUE(torch::equal(out[0].index({Slice(), Slice(), 0}),
                           x[0].index({Slice(), Slice(), -1})));
  EXPECT_FALSE(torch::equal(out[0], x[0]));
}

TEST(AugmentTest, DisabledReturnsInput) {
  const torch::Tensor x = Batch();
  torch::Generator gen = at::detail::createCPUGenerator(1);
  const torch::Tensor out = AugmentBatch(x, AugmentOptions(), gen);
  EXPECT_TRUE(out.is_same(x));
}

TEST(AugmentTest, SameSeedSameBatchOtherSeedOtherBatch) {
  const torch::Tensor x = Batch(32, 1, 28, 28);
  AugmentOptions o;
  o.crop_padding = 2;
  o.horizontal_flip = true;
  o.pad_value = -0.81;
  torch::Generator g1 = at::detail::createCPUGenerator(7);
  torch::Generator g2 = at::detail::createCPUGenerator(7);
  torch::Generator g3 = at::detail::createCPUGenerator(8);
  const torch::Tensor a = AugmentBatch(x, o, g1);
  const torch::Tensor b = AugmentBatch(x, o, g2);
  const torch::Tensor c = AugmentBatch(x, o, g3);
  EXPECT_EQ(a.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  // The same generator moves on: the next batch differs.
  EXPECT_FALSE(torch::equal(AugmentBatch(x, o, g1), a));
  // x itself is untouched.
  EXPECT_TRUE(torch::equal(x, Batch(32, 1, 28, 28)));
}

TEST(AugmentTest, FlipOnlyKeepsEveryImagesPixels) {
  const torch::Tensor x = Batch(64, 1, 6, 6);
  AugmentOptions o;
  o.horizontal_flip = true;
  torch::Generator gen = at::detail::createCPUGenerator(3);
  const torch::Tensor out = AugmentBatch(x, o, gen);
  int flipped = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const bool same = torch::equal(out[i], x[i]);
    const bool mirrored = torch::equal(out[i], x[i].flip({2}));
    EXPECT_TRUE(same || mirrored) << "image " << i;
    flipped += mirrored ? 1 : 0;
  }
  // About half of 64 (binomial: 13..51 has probability > 1 - 1e-6).
  EXPECT_GT(flipped, 12);
  EXPECT_LT(flipped, 52);
}

}  // namespace
}  // namespace nas
