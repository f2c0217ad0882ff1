// worker/data's readers, the decode cache and its errors, on real files
// (Fashion-MNIST written in each format by the image_datasets fixture).
// LibTorch-free.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/image_datasets.h"
#include "tests/testing/status_matchers.h"
#include "worker/data/decode_cache.h"
#include "worker/data/idx.h"
#include "worker/data/npy.h"
#include "worker/data/sources.h"

namespace nas {
namespace {

namespace fs = std::filesystem;
using ::nas::testing::StatusIs;

Preprocess Pre(const std::string& format, int channels = 1, int side = 28,
               int classes = 10) {
  Preprocess p;
  p.format = format;
  p.height = side;
  p.width = side;
  p.channels = channels;
  p.classes = classes;
  return p;
}

// Lists and decodes `source` (into memory, or via the cache).
absl::StatusOr<DecodedSource> Load(const Preprocess& pre,
                                   const v1::DataSource& source,
                                   const DecodeOptions& options = {}) {
  auto l = ListSource(pre, source, "evaluation.data.train", {});
  if (!l.ok()) return l.status();
  return LoadSource(pre, *l, options);
}

std::string Bytes(const DecodedSource& d) {
  return std::string(reinterpret_cast<const char*>(d.images),
                     d.count * d.pre.image_bytes());
}
std::vector<int64_t> Labels(const DecodedSource& d) {
  return std::vector<int64_t>(d.labels, d.labels + d.count);
}

class DataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(nas::testing::FreshTempDir("data_test"));
    auto f = nas::testing::WriteFashionMnistFormats(*dir_ + "/files", 400, 50);
    ASSERT_TRUE(f.ok()) << f.status();
    formats_ = new nas::testing::FashionMnistFormats(std::move(*f));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
  }
  static v1::DataSource Train(const std::string& format) {
    return nas::testing::FashionMnistFormatSpec(*formats_, format).train();
  }
  static std::string* dir_;
  static nas::testing::FashionMnistFormats* formats_;
};
std::string* DataTest::dir_ = nullptr;
nas::testing::FashionMnistFormats* DataTest::formats_ = nullptr;

TEST_F(DataTest, IdxMatchesTheFixture) {
  auto d = Load(Pre("idx"), Train("idx"));
  NAS_ASSERT_OK(d);
  EXPECT_EQ(d->count, 400);
  EXPECT_EQ(Bytes(*d), std::string(formats_->train.pixels.begin(),
                                   formats_->train.pixels.end()));
  EXPECT_EQ(Labels(*d), formats_->train.labels);
}

TEST_F(DataTest, PngCifarNpyAreBitIdenticalToIdxAndJpegIsClose) {
  auto idx = Load(Pre("idx"), Train("idx"));
  NAS_ASSERT_OK(idx);
  for (const std::string format : {"png", "cifar10", "npy"}) {
    const std::string f = format == "png" ? "image_folder" : format;
    auto d = Load(Pre(f), Train(format));
    NAS_ASSERT_OK(d);
    EXPECT_EQ(Bytes(*d), Bytes(*idx)) << format;
    EXPECT_EQ(Labels(*d), Labels(*idx)) << format;
  }
  auto jpeg = Load(Pre("image_folder"), Train("jpeg"));
  NAS_ASSERT_OK(jpeg);
  EXPECT_EQ(Labels(*jpeg), Labels(*idx));
  const std::string a = Bytes(*jpeg), b = Bytes(*idx);
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sum += std::abs(int{static_cast<uint8_t>(a[i])} -
                    int{static_cast<uint8_t>(b[i])});
  }
  const double mad = sum / a.size();
  std::printf("JPEG q95 vs IDX: mean abs diff %.4f (of 255)\n", mad);
  EXPECT_LT(mad, 1.5);
}

TEST_F(DataTest, Idx4AndRgbNpyDecodeToPlanarRgb) {
  nas::testing::RawImages r;
  r.count = 2;
  r.height = 2;
  r.width = 3;
  r.channels = 3;
  for (int i = 0; i < 2 * 2 * 3 * 3; ++i) r.pixels.push_back(i);
  r.labels = {1, 0};
  const std::string dir = *dir_ + "/idx4";
  fs::create_directories(dir);
  NAS_ASSERT_OK(nas::testing::WriteIdxImages(dir + "/i", r));
  NAS_ASSERT_OK(nas::testing::WriteIdxLabels(dir + "/l", r.labels));
  auto images = ReadIdxImages(dir + "/i");
  NAS_ASSERT_OK(images);
  EXPECT_EQ(images->channels, 3);
  Preprocess pre = Pre("idx", 3);
  pre.height = 2;
  pre.width = 3;
  v1::DataSource s;
  s.set_images(dir + "/i");
  s.set_labels(dir + "/l");
  auto d = Load(pre, s);
  NAS_ASSERT_OK(d);
  // Pixel (y, x, c) of image 0 is (y * 3 + x) * 3 + c; planar: c, y, x.
  EXPECT_EQ(d->images[0], 0);
  EXPECT_EQ(d->images[1], 3);
  EXPECT_EQ(d->images[6], 1);   // channel 1, (0, 0)
  EXPECT_EQ(d->images[12], 2);  // channel 2, (0, 0)
  EXPECT_EQ(d->labels[0], 1);
}

// 56 x 56 copies (each pixel a 2 x 2 block) shrink back to the originals
// exactly with INTER_AREA; and a 3-channel folder of grey PNGs reads RGB.
TEST_F(DataTest, LargerImagesAreResized) {
  const std::string dir = *dir_ + "/big";
  const auto& r = formats_->train;
  for (int c = 0; c < 10; ++c)
    fs::create_directories(dir + "/" + std::to_string(c));
  for (int64_t i = 0; i < 40; ++i) {
    cv::Mat m(28, 28, CV_8UC1,
              const_cast<uint8_t*>(r.pixels.data() + i * 28 * 28)),
        big;
    cv::resize(m, big, cv::Size(56, 56), 0, 0, cv::INTER_NEAREST);
    char name[64];
    std::snprintf(name, sizeof(name), "/%d/%06ld.PNG", int(r.labels[i]), i);
    ASSERT_TRUE(cv::imwrite(dir + name, big));
  }
  // Keep every class folder non-empty.
  for (int c = 0; c < 10; ++c) {
    ASSERT_TRUE(cv::imwrite(dir + "/" + std::to_string(c) + "/zz.png",
                            cv::Mat(56, 56, CV_8UC1, cv::Scalar(c))));
  }
  std::ofstream(dir + "/0/notes.txt") << "ignored";
  v1::DataSource s;
  s.set_dir(dir);
  auto d = Load(Pre("image_folder"), s);
  NAS_ASSERT_OK(d);
  // Image i of the folder listing that came from position p of the fixture.
  auto l = ListSource(Pre("image_folder"), s, "f", {});
  NAS_ASSERT_OK(l);
  ASSERT_EQ(l->files.size(), 50u);
  int checked = 0;
  for (size_t k = 0; k < l->files.size(); ++k) {
    const std::string name = fs::path(l->files[k]).filename().string();
    if (name == "zz.png") continue;
    const int64_t p = std::stol(name);
    EXPECT_EQ(0,
              std::memcmp(d->images + k * 784, r.pixels.data() + p * 784, 784))
        << name;
    EXPECT_EQ(d->labels[k], r.labels[p]);
    ++checked;
  }
  EXPECT_EQ(checked, 40);
  auto rgb = Load(Pre("image_folder", 3, 14), s);
  NAS_ASSERT_OK(rgb);
  EXPECT_EQ(rgb->pre.image_bytes(), 3 * 14 * 14);
  // Grey input: the three planes are equal.
  EXPECT_EQ(0, std::memcmp(rgb->images, rgb->images + 196, 196));
}

TEST_F(DataTest, NpyHeaders) {
  const std::string dir = *dir_ + "/npy";
  fs::create_directories(dir);
  std::string header = "\x93NUMPY";
  header += std::string("\x01\x00", 2);
  std::string dict =
      "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  header.push_back(static_cast<char>(dict.size()));
  header.push_back(0);
  auto h = ParseNpyHeader(header + dict, "x.npy");
  NAS_ASSERT_OK(h);
  EXPECT_EQ(h->descr, "<i8");
  EXPECT_EQ(h->shape, (std::vector<int64_t>{3}));
  EXPECT_THAT(ParseNpyHeader("garbage garbage", "x.npy"),
              StatusIs(absl::StatusCode::kDataLoss, "'x.npy' is not a valid"));
  std::string fortran = dict;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THAT(ParseNpyHeader(header + fortran, "x.npy"),
              StatusIs(absl::StatusCode::kInvalidArgument, "Fortran order"));
  std::string f8 = dict;
  f8.replace(f8.find("<i8"), 3, "<f8");
  EXPECT_THAT(ParseNpyHeader(header + f8, "x.npy"),
              StatusIs(absl::StatusCode::kInvalidArgument, "dtype '<f8'"));
  // Labels in several dtypes.
  const int16_t l16[3] = {1, 2, 9};
  NAS_ASSERT_OK(nas::testing::WriteNpy(
      dir + "/l16.npy", "<i2", {3},
      absl::string_view(reinterpret_cast<const char*>(l16), sizeof(l16))));
  auto labels = ReadNpyLabels(dir + "/l16.npy");
  NAS_ASSERT_OK(labels);
  EXPECT_EQ(*labels, (std::vector<int64_t>{1, 2, 9}));
  // A bad header in a dataset file names the file.
  NAS_ASSERT_OK(nas::testing::WriteFile(dir + "/bad.npy", "\x93NUMPY\x01"));
  v1::DataSource s;
  s.set_images(dir + "/bad.npy");
  s.set_labels(formats_->train_paths.npy_labels);
  EXPECT_THAT(Load(Pre("npy"), s),
              StatusIs(absl::StatusCode::kDataLoss, dir + "/bad.npy"));
}

TEST_F(DataTest, Errors) {
  const std::string dir = *dir_ + "/errors";
  fs::create_directories(dir);
  // A corrupt image.
  fs::copy(formats_->train_paths.png_dir, dir + "/corrupt",
           fs::copy_options::recursive);
  const std::string bad = dir + "/corrupt/3/000123.png";
  NAS_ASSERT_OK(nas::testing::WriteFile(bad, "not a png at all"));
  v1::DataSource s;
  s.set_dir(dir + "/corrupt");
  EXPECT_THAT(Load(Pre("image_folder"), s),
              StatusIs(absl::StatusCode::kDataLoss, bad));
  // An empty class folder.
  fs::copy(formats_->train_paths.png_dir, dir + "/empty",
           fs::copy_options::recursive);
  for (const auto& e : fs::directory_iterator(dir + "/empty/4")) {
    fs::remove(e.path());
  }
  s.set_dir(dir + "/empty");
  EXPECT_THAT(Load(Pre("image_folder"), s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "class folder '" + dir + "/empty/4' has no"));
  // A class count other than the spec's.
  s.set_dir(formats_->train_paths.png_dir);
  EXPECT_THAT(
      Load(Pre("image_folder", 1, 28, 7), s),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "has 10 class folders but evaluation.data.classes is 7"));
  // A label out of range (classes 5: label 5 first at the first 5).
  int64_t first5 = 0;
  while (formats_->train.labels[first5] < 5) ++first5;
  EXPECT_THAT(Load(Pre("idx", 1, 28, 5), Train("idx")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "'" + formats_->train_paths.idx_labels +
                           "': label 5 at index " + std::to_string(first5)));
  // A missing file.
  v1::DataSource missing = Train("idx");
  missing.set_labels(dir + "/nope");
  EXPECT_THAT(Load(Pre("idx"), missing),
              StatusIs(absl::StatusCode::kNotFound,
                       "evaluation.data.train.labels: '" + dir + "/nope'"));
  // A truncated CIFAR batch.
  std::ifstream in(formats_->train_paths.cifar_files[0], std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  NAS_ASSERT_OK(nas::testing::WriteFile(dir + "/short.bin",
                                        bytes.substr(0, bytes.size() - 7)));
  v1::DataSource cifar;
  cifar.add_files(dir + "/short.bin");
  EXPECT_THAT(
      Load(Pre("cifar10"), cifar),
      StatusIs(absl::StatusCode::kDataLoss, "'" + dir + "/short.bin' holds"));
  // Channels that disagree with the spec.
  EXPECT_THAT(
      Load(Pre("npy", 3), Train("npy")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "has 1 channels per image but evaluation.data.channels is 3"));
  // A path outside the allowed roots, and one that does not exist there.
  v1::DataSource etc;
  etc.set_dir("/etc");
  EXPECT_THAT(
      ListSource(Pre("image_folder"), etc, "evaluation.data.test", {*dir_}),
      StatusIs(absl::StatusCode::kPermissionDenied,
               "evaluation.data.test.dir: /etc is outside the "
               "worker's data roots (" +
                   *dir_ + ")"));
  etc.set_dir("/etc/no-such-thing");
  EXPECT_THAT(
      ListSource(Pre("image_folder"), etc, "evaluation.data.test", {*dir_}),
      StatusIs(absl::StatusCode::kPermissionDenied, "outside"));
  etc.set_dir(*dir_ + "/../../etc");
  EXPECT_THAT(
      ListSource(Pre("image_folder"), etc, "evaluation.data.test", {*dir_}),
      StatusIs(absl::StatusCode::kPermissionDenied, "outside"));
  // A symlinked class folder leading out of the roots.
  fs::create_directories(dir + "/escape");
  fs::create_directory_symlink("/etc", dir + "/escape/x");
  s.set_dir(dir + "/escape");
  EXPECT_THAT(ListSource(Pre("image_folder", 1, 28, 1), s,
                         "evaluation.data.train", {*dir_}),
              StatusIs(absl::StatusCode::kPermissionDenied, "outside"));
}

std::vector<std::string> CacheFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".nasdata") != std::string::npos) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(DataTest, CacheIsReusedRebuiltWhenGarbledAndNeverPartial) {
  const std::string cache = *dir_ + "/cache1";
  DecodeOptions o;
  o.cache_dir = cache;
  int calls = 0;
  o.on_progress = [&](int64_t done, int64_t total) {
    ++calls;
    EXPECT_LE(done, total);
  };
  auto first = Load(Pre("image_folder"), Train("png"), o);
  NAS_ASSERT_OK(first);
  EXPECT_TRUE(first->decoded);
  EXPECT_GE(calls, 1);
  const std::string bytes = Bytes(*first);
  calls = 0;
  auto second = Load(Pre("image_folder"), Train("png"), o);
  NAS_ASSERT_OK(second);
  EXPECT_FALSE(second->decoded);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(second->cache_file, first->cache_file);
  EXPECT_EQ(Bytes(*second), bytes);
  EXPECT_EQ(CacheFiles(cache).size(), 1u);
  // Another resolution is another cache file.
  auto small = Load(Pre("image_folder", 1, 14), Train("png"), o);
  NAS_ASSERT_OK(small);
  EXPECT_NE(small->cache_file, first->cache_file);
  // A garbled file is rebuilt.
  const std::string path = first->cache_file;
  first = absl::InternalError("unmapped");
  second = absl::InternalError("unmapped");
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(130);
    const char junk[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    f.write(junk, sizeof(junk));
  }
  calls = 0;
  auto rebuilt = Load(Pre("image_folder"), Train("png"), o);
  NAS_ASSERT_OK(rebuilt);
  EXPECT_TRUE(rebuilt->decoded);
  EXPECT_GE(calls, 1);
  EXPECT_EQ(Bytes(*rebuilt), bytes);
  // A truncated one too.
  fs::resize_file(path, 1000);
  rebuilt = Load(Pre("image_folder"), Train("png"), o);
  NAS_ASSERT_OK(rebuilt);
  EXPECT_TRUE(rebuilt->decoded);
  // A failed decode leaves neither a cache file nor a temporary one.
  const std::string fail_cache = *dir_ + "/cache_fail";
  o.cache_dir = fail_cache;
  EXPECT_THAT(Load(Pre("idx", 1, 28, 5), Train("idx"), o),
              StatusIs(absl::StatusCode::kInvalidArgument, "label 5"));
  EXPECT_THAT(CacheFiles(fail_cache), ::testing::IsEmpty());
}

// A cache directory that cannot be created (a container without a
// writable volume) is not an error: the source is decoded into memory.
TEST_F(DataTest, UnusableCacheDirDecodesIntoMemory) {
  DecodeOptions o;
  o.cache_dir = "/proc/nas-data-cache";
  auto d = Load(Pre("idx"), Train("idx"), o);
  NAS_ASSERT_OK(d);
  EXPECT_TRUE(d->decoded);
  EXPECT_EQ(d->cache_file, "");
  auto idx = Load(Pre("idx"), Train("idx"));
  NAS_ASSERT_OK(idx);
  EXPECT_EQ(Bytes(*d), Bytes(*idx));
}

TEST_F(DataTest, DigestsAreMemoized) {
  const std::string cache = *dir_ + "/cache_digests";
  const std::vector<std::string> files = {formats_->train_paths.npy_images,
                                          formats_->train_paths.npy_labels};
  auto a = FileDigests(files, cache, 2);
  NAS_ASSERT_OK(a);
  ASSERT_TRUE(fs::exists(cache + "/digests"));
  auto b = FileDigests(files, cache, 2);
  NAS_ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
  auto uncached = FileDigests(files, "", 1);
  NAS_ASSERT_OK(uncached);
  EXPECT_EQ(*a, *uncached);
}

// Two loaders at once (own file descriptors, so flock excludes them) decode
// once; the other maps the same file. Threads, then processes.
TEST_F(DataTest, ConcurrentLoadsDecodeOnce) {
  const std::string cache = *dir_ + "/cache_concurrent";
  std::atomic<int> decoded{0};
  std::vector<std::string> files(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      DecodeOptions o;
      o.cache_dir = cache;
      o.threads = 1;
      auto d = Load(Pre("image_folder"), Train("jpeg"), o);
      ASSERT_TRUE(d.ok()) << d.status();
      if (d->decoded) ++decoded;
      files[t] = d->cache_file;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(decoded.load(), 1);
  for (const std::string& f : files) EXPECT_EQ(f, files[0]);

  const std::string cache2 = *dir_ + "/cache_processes";
  std::vector<pid_t> pids;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      DecodeOptions o;
      o.cache_dir = cache2;
      o.threads = 1;
      // No resize in the children: OpenCV's thread pool (started by the
      // earlier tests) does not survive fork().
      auto d = Load(Pre("image_folder"), Train("png"), o);
      _exit(!d.ok() ? 2 : d->decoded ? 1 : 0);
    }
    pids.push_back(pid);
  }
  int decoders = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 2);
    decoders += WEXITSTATUS(status);
  }
  EXPECT_EQ(decoders, 1);
  EXPECT_EQ(CacheFiles(cache2).size(), 1u);
}

}  // namespace
}  // namespace nas
