// The IDX reader (worker/data/idx.h) and LoadDataset on the Fashion-MNIST
// preset (dataset: fashion_mnist, its files in data_dir): splits, counts,
// errors.
#include "worker/data/idx.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/data/dataset.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

// A fresh directory under the test's temp dir.
std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") +
                    "/nas_idx_test_" + std::to_string(getpid()) + "_" + name;
  mkdir(dir.c_str(), 0755);
  return dir;
}

void PutBigEndian32(std::vector<uint8_t>* out, uint32_t v) {
  out->push_back(v >> 24);
  out->push_back((v >> 16) & 0xff);
  out->push_back((v >> 8) & 0xff);
  out->push_back(v & 0xff);
}

std::vector<uint8_t> ImageBytes(uint32_t count, uint32_t rows, uint32_t cols,
                                const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> b;
  PutBigEndian32(&b, 0x803);
  PutBigEndian32(&b, count);
  PutBigEndian32(&b, rows);
  PutBigEndian32(&b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

std::vector<uint8_t> LabelBytes(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> b;
  PutBigEndian32(&b, 0x801);
  PutBigEndian32(&b, labels.size());
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void WriteGz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), bytes.size()),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::vector<uint8_t> ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void WriteRaw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

TEST(IdxTest, ReadsTinyGzipFiles) {
  const std::string dir = TempDir("tiny");
  std::vector<uint8_t> pixels(3 * 2 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = i * 10;
  WriteGz(dir + "/img.gz", ImageBytes(3, 2, 4, pixels));
  WriteGz(dir + "/lbl.gz", LabelBytes({0, 9, 3}));

  absl::StatusOr<IdxImages> images = ReadIdxImages(dir + "/img.gz");
  NAS_ASSERT_OK(images);
  EXPECT_EQ(images->count, 3);
  EXPECT_EQ(images->rows, 2);
  EXPECT_EQ(images->cols, 4);
  EXPECT_EQ(images->pixels, pixels);

  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(dir + "/lbl.gz");
  NAS_ASSERT_OK(labels);
  EXPECT_THAT(*labels, ::testing::ElementsAre(0, 9, 3));
}

TEST(IdxTest, ReadsUncompressedFiles) {
  const std::string dir = TempDir("plain");
  WriteRaw(dir + "/lbl", LabelBytes({1, 2}));
  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(dir + "/lbl");
  NAS_ASSERT_OK(labels);
  EXPECT_THAT(*labels, ::testing::ElementsAre(1, 2));
}

TEST(IdxTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadIdxImages("/nonexistent/dir/img.gz"),
              StatusIs(absl::StatusCode::kNotFound, "/nonexistent/dir/img.gz"));
  EXPECT_THAT(ReadIdxLabels("/nonexistent/dir/lbl.gz"),
              StatusIs(absl::StatusCode::kNotFound, "/nonexistent/dir/lbl.gz"));
}

TEST(IdxTest, WrongMagicIsInvalidArgument) {
  const std::string dir = TempDir("magic");
  WriteGz(dir + "/lbl.gz", LabelBytes({1, 2, 3}));
  EXPECT_THAT(ReadIdxImages(dir + "/lbl.gz"),
              StatusIs(absl::StatusCode::kInvalidArgument, "magic"));
  WriteGz(dir + "/img.gz", ImageBytes(1, 1, 1, {7}));
  EXPECT_THAT(ReadIdxLabels(dir + "/img.gz"),
              StatusIs(absl::StatusCode::kInvalidArgument, dir + "/img.gz"));
}

TEST(IdxTest, ImplausibleDimensionIsInvalidArgument) {
  const std::string dir = TempDir("dims");
  WriteGz(dir + "/img.gz", ImageBytes(1, 0, 28, {}));
  EXPECT_THAT(ReadIdxImages(dir + "/img.gz"),
              StatusIs(absl::StatusCode::kInvalidArgument, "row count"));
}

TEST(IdxTest, TruncatedFileIsDataLoss) {
  const std::string dir = TempDir("trunc");
  // Header promises 3 images of 2x2, payload holds 2.
  WriteGz(dir + "/img.gz", ImageBytes(3, 2, 2, std::vector<uint8_t>(8, 1)));
  EXPECT_THAT(ReadIdxImages(dir + "/img.gz"),
              StatusIs(absl::StatusCode::kDataLoss, "truncated"));
  // Cut inside the header.
  WriteGz(dir + "/short.gz", {0, 0, 8});
  EXPECT_THAT(ReadIdxLabels(dir + "/short.gz"),
              StatusIs(absl::StatusCode::kDataLoss, dir + "/short.gz"));
}

TEST(IdxTest, TrailingDataIsDataLoss) {
  const std::string dir = TempDir("trail");
  std::vector<uint8_t> bytes = LabelBytes({1, 2});
  bytes.push_back(5);
  WriteGz(dir + "/lbl.gz", bytes);
  EXPECT_THAT(ReadIdxLabels(dir + "/lbl.gz"),
              StatusIs(absl::StatusCode::kDataLoss, "trailing"));
}

TEST(IdxTest, CorruptGzipStreamIsDataLoss) {
  const std::string dir = TempDir("corrupt");
  std::vector<uint8_t> pixels(200 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = (i * 7919) % 251;
  WriteGz(dir + "/img.gz", ImageBytes(200, 28, 28, pixels));
  std::vector<uint8_t> raw = ReadRaw(dir + "/img.gz");
  ASSERT_GT(raw.size(), 100u);
  for (size_t i = raw.size() / 3; i < raw.size() / 3 + 40; ++i) raw[i] ^= 0x5a;
  WriteRaw(dir + "/img.gz", raw);
  EXPECT_THAT(ReadIdxImages(dir + "/img.gz"),
              StatusIs(absl::StatusCode::kDataLoss, dir + "/img.gz"));
}

TEST(SeededPermutationTest, IsAPermutationAndDependsOnTheSeed) {
  const std::vector<int64_t> a = SeededPermutation(1000, 1);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_EQ(SeededPermutation(1000, 1), a);
  EXPECT_NE(SeededPermutation(1000, 2), a);
}

// A miniature dataset in Fashion-MNIST's file layout: 4x4 images whose first
// pixel encodes the index, labels = index % 10.
std::string WriteMiniDataset(int train, int test) {
  const std::string dir = TempDir("mini");
  auto write = [&dir](const std::string& prefix, int n) {
    std::vector<uint8_t> pixels(n * 16, 0), labels(n);
    for (int i = 0; i < n; ++i) {
      pixels[i * 16] = static_cast<uint8_t>(i);
      labels[i] = static_cast<uint8_t>(i % 10);
    }
    WriteGz(dir + "/" + prefix + "-images-idx3-ubyte.gz",
            ImageBytes(n, 4, 4, pixels));
    WriteGz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", LabelBytes(labels));
  };
  write("train", train);
  write("t10k", test);
  return dir;
}

// The spec of the Fashion-MNIST preset on the files in `dir` ("" = the
// default directory) with these counts; the mini dataset's 4x4 images are
// described as such (the preset says 28x28).
v1::EvaluationSpec PresetSpec(const std::string& dir, int train, int val,
                              int test, int seed = 0) {
  v1::EvaluationSpec spec;
  spec.set_dataset("fashion_mnist");
  spec.set_data_dir(dir);
  spec.set_train_samples(train);
  spec.set_val_samples(val);
  spec.set_test_samples(test);
  spec.set_data_seed(seed);
  return spec;
}

v1::EvaluationSpec MiniSpec(const std::string& dir, int train, int val,
                            int test) {
  v1::EvaluationSpec spec = PresetSpec(dir, train, val, test);
  spec.clear_dataset();
  v1::DataSpec* d = spec.mutable_data();
  d->set_format("idx");
  d->mutable_train()->set_images(dir + "/train-images-idx3-ubyte.gz");
  d->mutable_train()->set_labels(dir + "/train-labels-idx1-ubyte.gz");
  d->mutable_test()->set_images(dir + "/t10k-images-idx3-ubyte.gz");
  d->mutable_test()->set_labels(dir + "/t10k-labels-idx1-ubyte.gz");
  d->set_height(4);
  d->set_width(4);
  d->set_channels(1);
  d->set_classes(10);
  d->set_normalization("explicit");
  d->add_mean(0.2860);
  d->add_std(0.3530);
  return spec;
}

// Positions, labels and the first pixel of each image of a split (one part).
torch::Tensor Index(const Split& s) { return s.parts.at(0).index; }
torch::Tensor Labels(const Split& s) {
  return s.parts.at(0).source->labels.index_select(0, Index(s));
}
torch::Tensor FirstPixels(const Split& s) {
  return s.parts.at(0)
      .source->images.index_select(0, Index(s))
      .select(1, 0)
      .select(1, 0)
      .select(1, 0)
      .to(torch::kInt64);
}

TEST(FashionMnistPresetTest, SplitsAMiniDataset) {
  const std::string dir = WriteMiniDataset(100, 30);
  absl::StatusOr<std::shared_ptr<const Dataset>> d =
      LoadDataset(MiniSpec(dir, 50, 20, 10), DataLoadOptions());
  NAS_ASSERT_OK(d);
  const Dataset& s = **d;
  EXPECT_EQ(s.shape.height, 4);
  EXPECT_EQ(s.shape.width, 4);
  EXPECT_EQ(s.shape.classes, 10);
  EXPECT_EQ(s.train.size(), 50);
  EXPECT_EQ(s.val.size(), 20);
  EXPECT_EQ(s.test.size(), 10);
  EXPECT_EQ(s.mean, std::vector<double>{0.2860});
  EXPECT_EQ(s.std, std::vector<double>{0.3530});
  // Images, labels and indices stay aligned (pixel 0 = index, label =
  // index % 10).
  EXPECT_TRUE(torch::equal(FirstPixels(s.train), Index(s.train)));
  EXPECT_TRUE(torch::equal(Labels(s.train), Index(s.train).remainder(10)));
  // The test subset is the first test_samples images.
  EXPECT_TRUE(torch::equal(Index(s.test), torch::arange(10)));
  // Disjoint train/val, both from the seeded permutation.
  const torch::Tensor all = torch::cat({Index(s.train), Index(s.val)});
  EXPECT_EQ(std::get<0>(torch::_unique(all)).numel(), 70);
  const std::vector<int64_t> perm = SeededPermutation(100, 1);
  EXPECT_EQ(Index(s.val)[0].item<int64_t>(), perm[0]);
  EXPECT_EQ(Index(s.train)[0].item<int64_t>(), perm[20]);
}

TEST(FashionMnistPresetTest, CountsThatDoNotFitAreInvalidArgument) {
  const std::string dir = WriteMiniDataset(100, 30);
  EXPECT_THAT(LoadDataset(MiniSpec(dir, 0, 100, 0), DataLoadOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, "val_samples"));
  EXPECT_THAT(LoadDataset(MiniSpec(dir, 81, 20, 0), DataLoadOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, "train_samples"));
  EXPECT_THAT(LoadDataset(MiniSpec(dir, 0, 20, 31), DataLoadOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, "test_samples"));
}

TEST(FashionMnistPresetTest, MissingDirIsNotFound) {
  EXPECT_THAT(LoadDataset(PresetSpec("/nonexistent/fashion", 0, 0, 0),
                          DataLoadOptions()),
              StatusIs(absl::StatusCode::kNotFound, "/nonexistent/fashion"));
}

bool HaveRealData() {
  return access((std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")
                    .c_str(),
                R_OK) == 0;
}

TEST(FashionMnistPresetTest, LoadsTheRealDataset) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDir;
  absl::StatusOr<std::shared_ptr<const Dataset>> d =
      LoadDataset(PresetSpec("", 0, 0, 0), DataLoadOptions());
  NAS_ASSERT_OK(d);
  const Dataset& s = **d;
  EXPECT_EQ(s.train.size(), 50000);
  EXPECT_EQ(s.val.size(), 10000);
  EXPECT_EQ(s.test.size(), 10000);
  EXPECT_EQ(s.train.parts.at(0).source->images.sizes(),
            (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(s.shape.classes, 10);
  EXPECT_EQ(s.class_names.back(), "Ankle boot");
  EXPECT_EQ(Labels(s.train).min().item<int64_t>(), 0);
  EXPECT_EQ(Labels(s.train).max().item<int64_t>(), 9);
  // Every class in the validation split, roughly balanced.
  const torch::Tensor counts = torch::bincount(Labels(s.val));
  EXPECT_EQ(counts.numel(), 10);
  EXPECT_GT(counts.min().item<int64_t>(), 800);
  // Train and validation partition the 60k training images.
  const torch::Tensor all = torch::cat({Index(s.train), Index(s.val)});
  EXPECT_EQ(std::get<0>(torch::_unique(all)).numel(), 60000);
}

TEST(FashionMnistPresetTest, RealSubsetsAreSeededAndDisjoint) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDir;
  auto a = LoadDataset(PresetSpec("", 2000, 1000, 500, 7), DataLoadOptions());
  NAS_ASSERT_OK(a);
  EXPECT_EQ((*a)->train.size(), 2000);
  EXPECT_EQ((*a)->val.size(), 1000);
  EXPECT_EQ((*a)->test.size(), 500);
  const torch::Tensor both = torch::cat({Index((*a)->train), Index((*a)->val)});
  EXPECT_EQ(std::get<0>(torch::_unique(both)).numel(), 3000);
  auto again =
      LoadDataset(PresetSpec("", 2000, 1000, 500, 7), DataLoadOptions());
  NAS_ASSERT_OK(again);
  EXPECT_TRUE(torch::equal(Index((*a)->val), Index((*again)->val)));
  auto other =
      LoadDataset(PresetSpec("", 2000, 1000, 500, 8), DataLoadOptions());
  NAS_ASSERT_OK(other);
  EXPECT_FALSE(torch::equal(Index((*a)->val), Index((*other)->val)));
}

}  // namespace
}  // namespace nas
