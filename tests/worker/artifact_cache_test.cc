#include "worker/artifact_cache.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

class ArtifactCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        ::testing::TempDir(), "/artifact_cache_", getpid(), "_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A fetch that serves `bytes_` in pieces of 3 and counts its calls.
  ArtifactCache::Fetch Serve() {
    return [this](const std::string&, const ArtifactCache::Sink& sink) {
      ++calls_;
      for (size_t i = 0; i < bytes_.size(); i += 3) {
        absl::Status s = sink(absl::string_view(bytes_).substr(i, 3),
                              static_cast<int64_t>(bytes_.size()));
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    };
  }

  std::string dir_;
  std::string bytes_ = "supernet weights, 34 bytes of them";
  int calls_ = 0;
};

TEST_F(ArtifactCacheTest, FetchesOnceThenServesTheVerifiedFile) {
  const std::string hash = Sha256Hex(bytes_);
  ArtifactCache cache(dir_, Serve());
  auto path = cache.Get(hash);
  NAS_ASSERT_OK(path);
  std::ifstream in(*path, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  EXPECT_EQ(got, bytes_);
  NAS_ASSERT_OK(cache.Get(hash));
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(cache.fetches(), 1);
  // A second cache on the same directory (another process) reuses the file.
  ArtifactCache again(dir_, Serve());
  NAS_ASSERT_OK(again.Get(hash));
  EXPECT_EQ(calls_, 1);
}

TEST_F(ArtifactCacheTest, CorruptFileIsFetchedAgain) {
  const std::string hash = Sha256Hex(bytes_);
  {
    ArtifactCache cache(dir_, Serve());
    NAS_ASSERT_OK(cache.Get(hash));
  }
  std::ofstream(absl::StrCat(dir_, "/", hash), std::ios::trunc) << "trunc";
  ArtifactCache cache(dir_, Serve());
  NAS_ASSERT_OK(cache.Get(hash));
  EXPECT_EQ(calls_, 2);
}

TEST_F(ArtifactCacheTest, WrongBytesAndBadHashesAreRefused) {
  ArtifactCache cache(dir_, Serve());
  EXPECT_THAT(cache.Get(Sha256Hex("other bytes")),
              StatusIs(absl::StatusCode::kDataLoss, "sha256"));
  EXPECT_FALSE(std::filesystem::exists(
      absl::StrCat(dir_, "/", Sha256Hex("other bytes"))));
  EXPECT_THAT(cache.Get("../../etc/passwd"),
              StatusIs(absl::StatusCode::kInvalidArgument, "64"));
  ArtifactCache failing(dir_,
                        [](const std::string&, const ArtifactCache::Sink&) {
                          return absl::NotFoundError("artifact unknown");
                        });
  EXPECT_THAT(failing.Get(Sha256Hex("x")),
              StatusIs(absl::StatusCode::kNotFound, "unknown"));
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("abc")));
  EXPECT_FALSE(IsSha256Hex("ABC"));
}

}  // namespace
}  // namespace nas
