// OpenTrialFile / ReadTrialFile: what a trial's spec may make the worker
// open (issue 22). Real files, FIFOs, symlinks and /dev/zero.
#include "worker/data/trial_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kField[] = "evaluation.tabular.path";

class TrialFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nas-trial-file-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "root");
    root_ = (dir_ / "root").string();
    limits_.roots = {root_};
    limits_.max_bytes = 1 << 20;
    limits_.max_bytes_flag = "--max_table_mib";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
    return p.string();
  }

  // OpenTrialFile on another thread, failing the test (instead of hanging
  // it) when it has not returned within 5 s.
  absl::Status OpenWithTimeout(const std::string& path) {
    auto result = std::async(std::launch::async, [=] {
      return OpenTrialFile(path, kField, limits_).status();
    });
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << "OpenTrialFile(" << path << ") blocked";
      // Unblock the open so that the future's destructor can return.
      ScopedFd writer(::open(path.c_str(), O_WRONLY | O_NONBLOCK));
      return absl::DeadlineExceededError("blocked");
    }
    return result.get();
  }

  std::filesystem::path dir_;
  std::string root_;
  TrialFileLimits limits_;
};

TEST_F(TrialFileTest, RegularFileUnderTheRootIsReadWhole) {
  const std::string p = Write(dir_ / "root" / "t.csv", "a,b\n1,2\n");
  absl::StatusOr<OpenedTrialFile> f = OpenTrialFile(p, kField, limits_);
  NAS_ASSERT_OK(f);
  EXPECT_EQ(f->size, 8);
  EXPECT_EQ(::fcntl(f->fd.get(), F_GETFL) & O_NONBLOCK, 0);
  absl::StatusOr<std::string> text = ReadTrialFile(p, kField, limits_);
  NAS_ASSERT_OK(text);
  EXPECT_EQ(*text, "a,b\n1,2\n");
  // ".." that stays under the root is fine.
  NAS_ASSERT_OK(ReadTrialFile(root_ + "/../root/t.csv", kField, limits_));
}

TEST_F(TrialFileTest, FifoIsRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "root" / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(OpenWithTimeout(fifo),
              StatusIs(StatusCode::kInvalidArgument,
                       std::string(kField) + ": '" + fifo +
                           "' is not a regular file (a FIFO)"));
}

// Data files (evaluation.data) are mapped by MappedFile::Open after
// ResolveUnderRoots: a FIFO among them must not block either.
TEST_F(TrialFileTest, MappedDataFifoIsRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "root" / "train.idx").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::async(std::launch::async,
                           [=] { return MappedFile::Open(fifo).status(); });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ScopedFd writer(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK));
    FAIL() << "MappedFile::Open(" << fifo << ") blocked";
  }
  EXPECT_THAT(result.get(), StatusIs(StatusCode::kInvalidArgument,
                                     "' is not a regular file"));
}

TEST_F(TrialFileTest, DevZeroIsRefused) {
  // Outside the roots...
  EXPECT_THAT(OpenWithTimeout("/dev/zero"),
              StatusIs(StatusCode::kPermissionDenied,
                       std::string(kField) +
                           ": /dev/zero is outside the worker's data roots"));
  // ...and not a regular file even when /dev is a root (no allocation: it
  // is refused before anything is read).
  limits_.roots = {"/dev"};
  EXPECT_THAT(ReadTrialFile("/dev/zero", kField, limits_),
              StatusIs(StatusCode::kInvalidArgument,
                       "is not a regular file (a character device)"));
  limits_.roots.clear();
  EXPECT_THAT(ReadTrialFile("/dev/zero", kField, limits_),
              StatusIs(StatusCode::kInvalidArgument, "a character device"));
}

TEST_F(TrialFileTest, SymlinkOutOfTheRootIsRefused) {
  const std::string secret = Write(dir_ / "token", "s3cr3t\n");
  const std::filesystem::path link = dir_ / "root" / "table.csv";
  std::filesystem::create_symlink(secret, link);
  EXPECT_THAT(
      OpenTrialFile(link.string(), kField, limits_),
      StatusIs(StatusCode::kPermissionDenied,
               std::string(kField) + ": " + link.string() +
                   " is outside the worker's data roots (" + root_ + ")"));
  // A symlink that stays inside is followed.
  const std::string inside = Write(dir_ / "root" / "real.csv", "a\n");
  std::filesystem::create_symlink(inside, dir_ / "root" / "alias.csv");
  NAS_ASSERT_OK(
      OpenTrialFile((dir_ / "root" / "alias.csv").string(), kField, limits_));
}

TEST_F(TrialFileTest, DotDotOutOfTheRootIsRefused) {
  Write(dir_ / "token", "s3cr3t\n");
  const std::string up = root_ + "/../token";
  EXPECT_THAT(OpenTrialFile(up, kField, limits_),
              StatusIs(StatusCode::kPermissionDenied,
                       std::string(kField) + ": " + up + " is outside"));
  // Not there either: still PermissionDenied (no probing outside).
  EXPECT_THAT(OpenTrialFile(root_ + "/../nope", kField, limits_),
              StatusIs(StatusCode::kPermissionDenied, "is outside"));
  EXPECT_THAT(OpenTrialFile(root_ + "/nope", kField, limits_),
              StatusIs(StatusCode::kNotFound, "does not exist"));
}

TEST_F(TrialFileTest, SizeLimitIsRefusedBeforeReading) {
  const std::string p =
      Write(dir_ / "root" / "big.csv", std::string(2 * 1024 * 1024, 'x'));
  EXPECT_THAT(ReadTrialFile(p, kField, limits_),
              StatusIs(StatusCode::kResourceExhausted,
                       std::string(kField) + ": '" + p + "' is " +
                           std::to_string(2 * 1024 * 1024) +
                           " bytes, over --max_table_mib (1 MiB)"));
  limits_.max_bytes = 0;  // no limit
  NAS_ASSERT_OK(ReadTrialFile(p, kField, limits_));
}

TEST_F(TrialFileTest, DirectoryIsRefused) {
  EXPECT_THAT(OpenTrialFile(root_, kField, limits_),
              StatusIs(StatusCode::kInvalidArgument,
                       "' is not a regular file (a directory)"));
}

TEST_F(TrialFileTest, EmptyPathIsRefused) {
  EXPECT_THAT(OpenTrialFile("", kField, limits_),
              StatusIs(StatusCode::kInvalidArgument,
                       std::string(kField) + " is empty"));
}

}  // namespace
}  // namespace nas
