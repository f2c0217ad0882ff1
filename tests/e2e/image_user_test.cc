// The images' user (deploy/docker/*.Dockerfile): nas-worker runs as
// `nobody` with HOME=/nonexistent and NAS_CACHE_DIR naming a directory
// nobody owns. A SUPERNET trial (which caches the supernet's weights and
// the decoded dataset) must succeed there with everything cached under
// NAS_CACHE_DIR; without it the candidates fail naming the cache (issue 23:
// every SUPERNET experiment failed on Kubernetes). Needs root to drop to nobody
// (setpriv); skipped, loudly, otherwise. Real PostgreSQL, controller and
// LibTorch training.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::Binary;
using ::nas::testing::ChildProcess;

constexpr uid_t kNobody = 65534;

// Two candidates on a supernet of one short epoch: seconds on one core.
constexpr char kSupernetSpec[] = R"(
name: image-user
search_space:
  name: nb201
  nb201: {channels: 4, cells_per_stage: 1}
strategy: {name: random, seed: 5}
budget: {max_trials: 2, parallel_trials: 1}
max_attempts: 1
evaluation:
  mode: SUPERNET
  batch_size: 32
  train_samples: 512
  val_samples: 256
  test_samples: 256
  supernet: {epochs: 1, calibration_batches: 2, finetune_steps: 1}
)";

class ImageUser : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "NOT RUN: this test runs nas-worker as user nobody "
                      "(setpriv) and needs root; run it as root (CI does)";
    }
    NAS_ASSERT_OK(Start("image-user"));
    ASSERT_TRUE(StartController());
    // As in the image: the binary where nobody can run it, and a cache
    // directory nobody owns (the image's /var/cache/nas volume).
    std::string tmpl = "/tmp/nas-image-user-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
    std::filesystem::copy_file(Binary("worker/nas-worker"),
                               root_ + "/nas-worker");
    ASSERT_EQ(chmod((root_ + "/nas-worker").c_str(), 0755), 0);
    cache_ = root_ + "/cache";
    ASSERT_EQ(mkdir(cache_.c_str(), 0755), 0);
    ASSERT_EQ(chown(cache_.c_str(), kNobody, kNobody), 0);
  }

  void TearDown() override {
    Finish(HasFailure());
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }

  // nas-worker as the image runs it: user nobody, the image's environment
  // only (HOME=/nonexistent, NAS_CACHE_DIR when `with_cache_dir`), no
  // cache flags.
  std::unique_ptr<ChildProcess> StartNobodyWorker(const std::string& id,
                                                  bool with_cache_dir) {
    std::vector<std::string> argv = {"/usr/bin/setpriv",
                                     "--reuid=nobody",
                                     "--regid=nogroup",
                                     "--clear-groups",
                                     "--",
                                     "/usr/bin/env",
                                     "-i",
                                     "PATH=/usr/local/bin:/usr/bin:/bin",
                                     "HOME=/nonexistent"};
    if (with_cache_dir) argv.push_back("NAS_CACHE_DIR=" + cache_);
    for (const std::string& a :
         {root_ + "/nas-worker", "--controller=" + address(), "--id=" + id,
          std::string("--threads=1"), std::string("--device=cpu")}) {
      argv.push_back(a);
    }
    auto w = ChildProcess::Spawn(argv, absl::StrCat(dir(), "/", id, ".log"));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }

  std::string root_;
  std::string cache_;
};

TEST_F(ImageUser, SupernetTrialSucceedsAsNobodyWithTheImagesEnvironment) {
  auto worker = StartNobodyWorker("nobody-1", /*with_cache_dir=*/true);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(WaitForWorkers(1));
  v1::Experiment e;
  grpc::Status s = Create(kSupernetSpec, &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(4)));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().supernet(), v1::CANDIDATE_EVALUATED);
  EXPECT_EQ(done.counts().trials_succeeded(), 2);
  // The supernet's weights landed in NAS_CACHE_DIR under their hash, and
  // the decoded dataset under data/, both written by nobody.
  const std::string hash = Psql(
      absl::StrCat("SELECT artifact_hash FROM candidates WHERE supernet AND "
                   "experiment_id=",
                   e.id()));
  ASSERT_FALSE(hash.empty());
  struct stat st;
  ASSERT_EQ(stat((cache_ + "/" + hash).c_str(), &st), 0)
      << "no " << cache_ << "/" << hash;
  EXPECT_EQ(st.st_uid, kNobody);
  ASSERT_EQ(stat((cache_ + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(testing::ReadLog(*this, "nobody-1").find("/nonexistent"),
            std::string::npos)
      << testing::ReadLog(*this, "nobody-1");
}

TEST_F(ImageUser, WithoutNasCacheDirTheSupernetTrialFailsNamingTheCache) {
  auto worker = StartNobodyWorker("nobody-2", /*with_cache_dir=*/false);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(WaitForWorkers(1));
  v1::Experiment e;
  grpc::Status s = Create(kSupernetSpec, &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(4)));
  EXPECT_NE(Get(e.id()).state(), v1::EXPERIMENT_SUCCEEDED);
  // The supernet trains (its weights go to the controller, and the data
  // decode falls back to memory), but no candidate can inherit them: each
  // candidate's trial fails saying which directory it could not create
  // (HOME=/nonexistent), so the operator knows what to mount.
  const std::string errors = Psql(absl::StrCat(
      "SELECT string_agg(t.error, ' | ') FROM trials t JOIN candidates c ON "
      "c.id = t.candidate_id WHERE NOT c.supernet AND t.experiment_id=",
      e.id()));
  EXPECT_NE(errors.find(
                "artifact cache: cannot create /nonexistent/.cache/nas-worker"),
            std::string::npos)
      << errors;
  EXPECT_EQ(
      Count(absl::StrCat("SELECT count(*) FROM trials t JOIN candidates c ON "
                         "c.id = t.candidate_id WHERE NOT c.supernet AND "
                         "t.status = 'SUCCEEDED' AND t.experiment_id=",
                         e.id())),
      0);
}

}  // namespace
}  // namespace nas
