// nas-worker's and nas-simworker's flags made into options
// (worker/worker_flags.h): each check, its message, the order of the
// checks and the conversions.
#include "worker/worker_flags.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/artifact_cache.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

// Unsets NAS_TOKEN for the test, restoring it afterwards.
class WorkerFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("NAS_TOKEN"); v != nullptr) saved_ = v;
    had_ = std::getenv("NAS_TOKEN") != nullptr;
    unsetenv("NAS_TOKEN");
  }
  void TearDown() override {
    if (had_) {
      setenv("NAS_TOKEN", saved_.c_str(), 1);
    } else {
      unsetenv("NAS_TOKEN");
    }
  }
  static std::string WriteFile(const std::string& name,
                               const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  bool had_ = false;
  std::string saved_;
};

WorkerFlags DefaultWorkerFlags() {
  WorkerFlags f;
  f.controller = "127.0.0.1:50051";
  f.unreachable_timeout_seconds = 300;
  return f;
}

TEST_F(WorkerFlagsTest, ConvertsEveryFlag) {
  WorkerFlags f = DefaultWorkerFlags();
  f.controller = "a:1, b:2,,c:3";
  f.id = "w1";
  f.labels = "gpu=h100,zone=eu,,empty=,x=y=z";
  f.max_trials = 4;
  f.idle_exit_seconds = 5;
  f.cache_dir = "/cache";
  f.unreachable_timeout_seconds = 6;
  absl::StatusOr<WorkerOptions> o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->controllers, (std::vector<std::string>{"a:1", " b:2", "c:3"}));
  EXPECT_EQ(o->worker_id, "w1");
  EXPECT_EQ(o->labels,
            (std::map<std::string, std::string>{
                {"gpu", "h100"}, {"zone", "eu"}, {"empty", ""}, {"x", "y=z"}}));
  EXPECT_EQ(o->max_trials, 4);
  EXPECT_EQ(o->idle_exit, absl::Seconds(5));
  EXPECT_EQ(o->cache_dir, "/cache");
  EXPECT_EQ(o->unreachable_timeout, absl::Seconds(6));
  EXPECT_EQ(o->token, "");
  EXPECT_EQ(o->tls_ca_pem, "");
  EXPECT_EQ(o->metrics, nullptr);
}

// The wall-clock limit on each attempt and the grace after a stop (issue
// 22): defaults 24 h and 30 s, each at least 1 s.
TEST_F(WorkerFlagsTest, TrialLimitAndGrace) {
  WorkerFlags f = DefaultWorkerFlags();
  absl::StatusOr<WorkerOptions> o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->max_trial, absl::Hours(24));
  EXPECT_EQ(o->abandon_grace, absl::Seconds(30));
  f.max_trial_seconds = 2;
  f.abandon_grace_seconds = 3;
  o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->max_trial, absl::Seconds(2));
  EXPECT_EQ(o->abandon_grace, absl::Seconds(3));
  f.max_trial_seconds = 0;
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--max_trial_seconds: 0 is not positive"));
  f.max_trial_seconds = 1;
  f.abandon_grace_seconds = -1;
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--abandon_grace_seconds: -1 is not positive"));
}

// --max_table_mib (issue 22): the largest table a trial may name.
TEST_F(WorkerFlagsTest, MaxTableMib) {
  absl::StatusOr<WorkerDataOptions> d = MakeWorkerDataOptions("/data", "");
  NAS_ASSERT_OK(d);
  EXPECT_EQ(d->max_table_bytes, int64_t{1024} * 1024 * 1024);
  d = MakeWorkerDataOptions("/data", "", 2);
  NAS_ASSERT_OK(d);
  EXPECT_EQ(d->max_table_bytes, 2 * 1024 * 1024);
  EXPECT_THAT(MakeWorkerDataOptions("/data", "", 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--max_table_mib: 0 is not in [1, 1048576]"));
}

TEST_F(WorkerFlagsTest, DefaultIdIsHostAndPid) {
  absl::StatusOr<WorkerOptions> o = MakeWorkerOptions(DefaultWorkerFlags());
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->worker_id, HostAndPid());
  EXPECT_NE(HostAndPid().find('-'), std::string::npos);
}

TEST_F(WorkerFlagsTest, ControllerNeedsAnAddress) {
  WorkerFlags f = DefaultWorkerFlags();
  for (const char* bad : {"", ",", " , "}) {
    f.controller = bad;
    EXPECT_THAT(MakeWorkerOptions(f),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "--controller: no address given"))
        << bad;
  }
}

TEST_F(WorkerFlagsTest, LabelsAreKeyValue) {
  WorkerFlags f = DefaultWorkerFlags();
  f.labels = "gpu=h100,=cpu";
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--labels: '=cpu' is not key=value"));
  f.controller = "";  // the controller is checked first
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument, "--controller"));
}

TEST_F(WorkerFlagsTest, TokenFromFileOrEnvironment) {
  WorkerFlags f = DefaultWorkerFlags();
  setenv("NAS_TOKEN", "from-env", 1);
  absl::StatusOr<WorkerOptions> o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->token, "from-env");
  f.token_file = WriteFile("worker_flags.token", "from-file\n");
  o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->token, "from-file");
  f.token_file = ::testing::TempDir() + "/no-such-token";
  o = MakeWorkerOptions(f);
  EXPECT_THAT(o, StatusIs(absl::StatusCode::kNotFound, "no-such-token"));
  EXPECT_EQ(o.status().message().rfind("NOT_FOUND: ", 0), 0u) << o.status();
}

TEST_F(WorkerFlagsTest, TlsFlags) {
  WorkerFlags f = DefaultWorkerFlags();
  f.tls_server_name = "nas-controller";
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "INVALID_ARGUMENT: --tls_cert, --tls_key and "
                       "--tls_server_name need --tls_ca"));
  f.tls_ca = WriteFile("worker_flags_ca.pem", "CA");
  f.tls_cert = WriteFile("worker_flags_cert.pem", "CERT");
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "INVALID_ARGUMENT: --tls_cert and --tls_key must be "
                       "given together"));
  f.tls_key = WriteFile("worker_flags_key.pem", "KEY");
  absl::StatusOr<WorkerOptions> o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->tls_ca_pem, "CA");
  EXPECT_EQ(o->tls_cert_pem, "CERT");
  EXPECT_EQ(o->tls_key_pem, "KEY");
  EXPECT_EQ(o->tls_server_name, "nas-controller");
  f.tls_key = ::testing::TempDir() + "/no-such-key.pem";
  EXPECT_THAT(MakeWorkerOptions(f),
              StatusIs(absl::StatusCode::kNotFound, "NOT_FOUND: cannot read"));
}

SimWorkerFlags DefaultSimFlags() {
  SimWorkerFlags f;
  f.controller = "127.0.0.1:50051";
  f.workers = 8;
  f.idle_exit_seconds = 10;
  f.unreachable_timeout_seconds = 60;
  return f;
}

// An executable script in the test's temp dir.
std::string Executable(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\nexit 0\n";
  chmod(path.c_str(), 0755);
  return path;
}

TEST_F(WorkerFlagsTest, TrainersBecomeLabelsAndSetup) {
  WorkerFlags f = DefaultWorkerFlags();
  const std::string a = Executable("trainer_a.sh");
  const std::string b = Executable("trainer_b.sh");
  f.trainer = absl::StrCat("torchscript=", a, ", cnn.v2=", b);
  f.trainers_config = WriteFile(
      "trainers.yaml", absl::StrCat("trainers:\n  yaml_one: ", a, "\n"));
  f.labels = "gpu=h100";
  f.trainer_env = "HF_HOME,NAS_EXAMPLE_LOG";
  f.cache_dir = "/var/cache/w";
  absl::StatusOr<WorkerOptions> o = MakeWorkerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->labels,
            (std::map<std::string, std::string>{{"gpu", "h100"},
                                                {"trainer/torchscript", "yes"},
                                                {"trainer/cnn.v2", "yes"},
                                                {"trainer/yaml_one", "yes"}}));
  absl::StatusOr<TrainerSetup> t = MakeTrainerSetup(f);
  NAS_ASSERT_OK(t);
  EXPECT_EQ(t->trainers,
            (std::map<std::string, std::string>{
                {"torchscript", a}, {"cnn.v2", b}, {"yaml_one", a}}));
  EXPECT_EQ(t->env, (std::vector<std::string>{"HF_HOME", "NAS_EXAMPLE_LOG"}));
  EXPECT_EQ(t->trial_dir, "/var/cache/w/trials");
  EXPECT_FALSE(t->keep_trial_dirs);
  f.trial_dir = "/scratch/trials";
  f.keep_trial_dirs = true;
  t = MakeTrainerSetup(f);
  NAS_ASSERT_OK(t);
  EXPECT_EQ(t->trial_dir, "/scratch/trials");
  EXPECT_TRUE(t->keep_trial_dirs);
  // No trainers: no labels, an empty set.
  t = MakeTrainerSetup(DefaultWorkerFlags());
  NAS_ASSERT_OK(t);
  EXPECT_TRUE(t->trainers.empty());
}

TEST_F(WorkerFlagsTest, TrainerChecksNameTheFlagAndEntry) {
  const std::string ok = Executable("trainer_ok.sh");
  const std::string not_exec = WriteFile("trainer_not_exec.sh", "#!/bin/sh\n");
  chmod(not_exec.c_str(), 0644);
  struct Case {
    std::string trainer;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"noequals", "--trainer: 'noequals' is not NAME=PATH"},
           {"rel=bin/train",
            "--trainer: 'rel=bin/train': the path must be "
            "absolute"},
           {absl::StrCat(".hidden=", ok), "the name must be"},
           {absl::StrCat("bad name=", ok), "the name must be"},
           {"gone=/no/such/trainer",
            "--trainer: 'gone=/no/such/trainer': "
            "cannot stat the path"},
           {"dir=/tmp", "the path is not a regular file"},
           {absl::StrCat("ne=", not_exec), "the file is not executable"},
           {absl::StrCat("x=", ok, ",x=", ok), "trainer 'x' is given twice"},
       }) {
    WorkerFlags f = DefaultWorkerFlags();
    f.trainer = c.trainer;
    EXPECT_THAT(MakeWorkerOptions(f),
                StatusIs(absl::StatusCode::kInvalidArgument, c.error))
        << c.trainer;
  }
  WorkerFlags f = DefaultWorkerFlags();
  f.trainer = absl::StrCat("x=", ok);
  f.trainers_config = WriteFile("trainers_dup.yaml",
                                absl::StrCat("trainers:\n  x: ", ok, "\n"));
  EXPECT_THAT(MakeTrainerSetup(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "trainers_dup.yaml: 'trainers.x': trainer 'x' is given "
                       "twice"));
  f.trainer = "";
  f.trainers_config =
      WriteFile("trainers_dup2.yaml",
                absl::StrCat("trainers:\n  y: ", ok, "\n  y: ", ok, "\n"));
  EXPECT_THAT(MakeTrainerSetup(f),
              StatusIs(absl::StatusCode::kInvalidArgument, "given twice"));
  f.trainers_config = WriteFile("trainers_list.yaml", "trainers: [a, b]\n");
  EXPECT_THAT(MakeTrainerSetup(f), StatusIs(absl::StatusCode::kInvalidArgument,
                                            "--trainers_config: "));
  f.trainers_config = ::testing::TempDir() + "/no-such-trainers.yaml";
  EXPECT_THAT(MakeTrainerSetup(f),
              StatusIs(absl::StatusCode::kInvalidArgument, "no-such-trainers"));
  f.trainers_config = "";
  f.trainer_env = "HOME,NAS_TOKEN";
  EXPECT_THAT(MakeTrainerSetup(f), StatusIs(absl::StatusCode::kInvalidArgument,
                                            "--trainer_env: 'NAS_TOKEN'"));
  f.trainer_env = "NAS_REPORT_FD";
  EXPECT_THAT(MakeTrainerSetup(f), StatusIs(absl::StatusCode::kInvalidArgument,
                                            "set by the worker"));
  f.trainer_env = "1BAD";
  EXPECT_THAT(MakeTrainerSetup(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "not an environment variable name"));
  f.trainer_env = "";
  f.trial_dir = "relative/trials";
  EXPECT_THAT(MakeTrainerSetup(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--trial_dir: 'relative/trials' is not an absolute"));
}

TEST_F(WorkerFlagsTest, SimWorkersInOneTo4096) {
  SimWorkerFlags f = DefaultSimFlags();
  for (int ok : {1, 4096}) {
    f.workers = ok;
    NAS_EXPECT_OK(MakeSimFleetOptions(f)) << ok;
  }
  for (int bad : {0, -1, 4097}) {
    f.workers = bad;
    EXPECT_THAT(MakeSimFleetOptions(f),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "--workers must be in [1, 4096]"))
        << bad;
  }
  f.token_file = ::testing::TempDir() + "/no-such-token";
  EXPECT_THAT(MakeSimFleetOptions(f),  // the range comes first
              StatusIs(absl::StatusCode::kInvalidArgument, "--workers"));
  f.workers = 1;
  EXPECT_THAT(MakeSimFleetOptions(f),
              StatusIs(absl::StatusCode::kNotFound, "NOT_FOUND: "));
}

TEST_F(WorkerFlagsTest, SimConvertsEveryFlag) {
  SimWorkerFlags f = DefaultSimFlags();
  f.controller = "a:1,,b:2";
  f.eval_ms = 7;
  f.max_trials = 3;
  f.latency_file = "/tmp/lat";
  setenv("NAS_TOKEN", "t", 1);
  absl::StatusOr<SimFleetOptions> o = MakeSimFleetOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->workers, 8);
  EXPECT_EQ(o->id_prefix, "sim-" + HostAndPid());
  EXPECT_EQ(o->eval_time, absl::Milliseconds(7));
  EXPECT_EQ(o->latency_file, "/tmp/lat");
  EXPECT_EQ(o->worker.controllers, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(o->worker.labels,
            (std::map<std::string, std::string>{{"simulated", "true"}}));
  EXPECT_EQ(o->worker.max_trials, 3);
  EXPECT_EQ(o->worker.idle_exit, absl::Seconds(10));
  EXPECT_EQ(o->worker.unreachable_timeout, absl::Seconds(60));
  EXPECT_EQ(o->worker.token, "t");
  EXPECT_FALSE(o->worker.log_trials);
  f.id_prefix = "load";
  o = MakeSimFleetOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->id_prefix, "load");
}

// The images run as `nobody` with HOME=/nonexistent and NAS_CACHE_DIR set
// to a writable volume (deploy/docker): both caches must land there.
TEST(CacheDefaults, NasCacheDirWinsOverXdgAndHome) {
  std::map<std::string, std::string> saved;
  for (const char* name : {"NAS_CACHE_DIR", "XDG_CACHE_HOME", "HOME"}) {
    if (const char* v = std::getenv(name); v != nullptr) saved[name] = v;
  }
  setenv("HOME", "/nonexistent", 1);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("NAS_CACHE_DIR", "/var/cache/nas", 1);
  EXPECT_EQ(DefaultArtifactCacheDir(), "/var/cache/nas");
  EXPECT_EQ(DefaultDataCacheDir(), "/var/cache/nas/data");
  unsetenv("NAS_CACHE_DIR");
  EXPECT_EQ(DefaultArtifactCacheDir(), "/xdg/nas-worker");
  EXPECT_EQ(DefaultDataCacheDir(), "/xdg/nas-worker/data");
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(DefaultArtifactCacheDir(), "/nonexistent/.cache/nas-worker");
  EXPECT_EQ(DefaultDataCacheDir(), "/nonexistent/.cache/nas-worker/data");
  for (const char* name : {"NAS_CACHE_DIR", "XDG_CACHE_HOME", "HOME"}) {
    auto it = saved.find(name);
    if (it == saved.end()) {
      unsetenv(name);
    } else {
      setenv(name, it->second.c_str(), 1);
    }
  }
}

}  // namespace
}  // namespace nas
