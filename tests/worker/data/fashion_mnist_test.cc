#include "worker/data/fashion_mnist.h"

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

namespace nas {
namespace {

using ::nas::testing::StatusIs;

// A fresh directory under the test's temp dir.
std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") +
                    "/nas_fashion_mnist_test_" + std::to_string(getpid()) +
                    "_" + name;
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

TEST(FashionMnistLoaderTest, SplitsAMiniDataset) {
  const std::string dir = WriteMiniDataset(100, 30);
  DataOptions opts;
  opts.dir = dir;
  opts.val_samples = 20;
  opts.train_samples = 50;
  opts.test_samples = 10;
  absl::StatusOr<DataSplits> s = FashionMnistLoader().Load(opts);
  NAS_ASSERT_OK(s);
  EXPECT_EQ(s->shape.channels, 1);
  EXPECT_EQ(s->shape.height, 4);
  EXPECT_EQ(s->shape.width, 4);
  EXPECT_EQ(s->shape.classes, 10);
  EXPECT_EQ(s->train_x.sizes(), (std::vector<int64_t>{50, 1, 4, 4}));
  EXPECT_EQ(s->val_x.sizes(), (std::vector<int64_t>{20, 1, 4, 4}));
  EXPECT_EQ(s->test_x.sizes(), (std::vector<int64_t>{10, 1, 4, 4}));
  EXPECT_EQ(s->train_y.scalar_type(), torch::kInt64);
  // Images, labels and indices stay aligned; normalization as documented.
  for (int64_t i = 0; i < 50; ++i) {
    const int64_t idx = s->train_index[i].item<int64_t>();
    EXPECT_EQ(s->train_y[i].item<int64_t>(), idx % 10);
    EXPECT_NEAR(s->train_x[i][0][0][0].item<float>(),
                (idx / 255.0 - kFashionMnistMean) / kFashionMnistStd, 1e-5);
  }
  // The test subset is the first test_samples images.
  EXPECT_EQ(s->test_y[3].item<int64_t>(), 3);
  // Disjoint train/val.
  const torch::Tensor all = torch::cat({s->train_index, s->val_index});
  EXPECT_EQ(std::get<0>(torch::_unique(all)).numel(), 70);
}

TEST(FashionMnistLoaderTest, CountsThatDoNotFitAreInvalidArgument) {
  const std::string dir = WriteMiniDataset(100, 30);
  DataOptions opts;
  opts.dir = dir;
  opts.val_samples = 100;
  EXPECT_THAT(FashionMnistLoader().Load(opts),
              StatusIs(absl::StatusCode::kInvalidArgument, "val_samples"));
  opts.val_samples = 20;
  opts.train_samples = 81;
  EXPECT_THAT(FashionMnistLoader().Load(opts),
              StatusIs(absl::StatusCode::kInvalidArgument, "train_samples"));
  opts.train_samples = 0;
  opts.test_samples = 31;
  EXPECT_THAT(FashionMnistLoader().Load(opts),
              StatusIs(absl::StatusCode::kInvalidArgument, "test_samples"));
}

TEST(FashionMnistLoaderTest, MissingDirIsNotFound) {
  DataOptions opts;
  opts.dir = "/nonexistent/fashion";
  EXPECT_THAT(FashionMnistLoader().Load(opts),
              StatusIs(absl::StatusCode::kNotFound,
                       "/nonexistent/fashion/train-images-idx3-ubyte.gz"));
}

TEST(FashionMnistLoaderTest, RegistryKnowsFashionMnistOnly) {
  absl::StatusOr<const DatasetLoader*> l = GetDatasetLoader("fashion_mnist");
  NAS_ASSERT_OK(l);
  EXPECT_EQ((*l)->name(), "fashion_mnist");
  NAS_EXPECT_OK(GetDatasetLoader(""));
  EXPECT_THAT(GetDatasetLoader("cifar10"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cifar10"));
}

bool HaveRealData() {
  return access((std::string(kFashionMnistDefaultDir) +
                 "/train-images-idx3-ubyte.gz")
                    .c_str(),
                R_OK) == 0;
}

TEST(FashionMnistLoaderTest, LoadsTheRealDataset) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  absl::StatusOr<DataSplits> s = FashionMnistLoader().Load(DataOptions());
  NAS_ASSERT_OK(s);
  EXPECT_EQ(s->train_x.size(0), 50000);
  EXPECT_EQ(s->val_x.size(0), 10000);
  EXPECT_EQ(s->test_x.size(0), 10000);
  EXPECT_EQ(s->train_x.sizes(), (std::vector<int64_t>{50000, 1, 28, 28}));
  EXPECT_EQ(s->train_y.size(0), 50000);
  EXPECT_EQ(s->val_y.size(0), 10000);
  EXPECT_EQ(s->test_y.size(0), 10000);
  EXPECT_EQ(s->shape.height, 28);
  EXPECT_EQ(s->shape.classes, 10);
  // Normalized to roughly zero mean, unit variance.
  EXPECT_NEAR(s->train_x.mean().item<double>(), 0.0, 0.05);
  EXPECT_NEAR(s->train_x.std().item<double>(), 1.0, 0.05);
  EXPECT_EQ(s->train_y.min().item<int64_t>(), 0);
  EXPECT_EQ(s->train_y.max().item<int64_t>(), 9);
  // Every class in the validation split, roughly balanced.
  const torch::Tensor counts = torch::bincount(s->val_y);
  EXPECT_EQ(counts.numel(), 10);
  EXPECT_GT(counts.min().item<int64_t>(), 800);
  // Train and validation partition the 60k training images.
  const torch::Tensor all = torch::cat({s->train_index, s->val_index});
  EXPECT_EQ(std::get<0>(torch::_unique(all)).numel(), 60000);
}

TEST(FashionMnistLoaderTest, RealSubsetsAreSeededAndDisjoint) {
  if (!HaveRealData()) GTEST_SKIP() << "no " << kFashionMnistDefaultDir;
  DataOptions opts;
  opts.train_samples = 2000;
  opts.val_samples = 1000;
  opts.test_samples = 500;
  opts.seed = 7;
  absl::StatusOr<DataSplits> a = FashionMnistLoader().Load(opts);
  NAS_ASSERT_OK(a);
  EXPECT_EQ(a->train_x.size(0), 2000);
  EXPECT_EQ(a->val_x.size(0), 1000);
  EXPECT_EQ(a->test_x.size(0), 500);
  const torch::Tensor both = torch::cat({a->train_index, a->val_index});
  EXPECT_EQ(std::get<0>(torch::_unique(both)).numel(), 3000);

  absl::StatusOr<DataSplits> again = FashionMnistLoader().Load(opts);
  NAS_ASSERT_OK(again);
  EXPECT_TRUE(torch::equal(a->val_index, again->val_index));
  EXPECT_TRUE(torch::equal(a->train_x, again->train_x));

  opts.seed = 8;
  absl::StatusOr<DataSplits> other = FashionMnistLoader().Load(opts);
  NAS_ASSERT_OK(other);
  EXPECT_FALSE(torch::equal(a->val_index, other->val_index));
}

}  // namespace
}  // namespace nas
