// nas-controller's flags made into ServerOptions (controller/server_options.h):
// each range check at its edges, the order of the checks, the conversions,
// the database and token sources.
#include "controller/server_options.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

// The flags' defaults, with a database.
ControllerFlags DefaultFlags() {
  ControllerFlags f;
  f.listen = "127.0.0.1:50051";
  f.database = "host=db dbname=nas";
  f.migrations_dir = "/m";
  f.tick_ms = 250;
  f.min_tick_ms = 10;
  f.artifact_chunk_kib = 1024;
  f.database_outage_seconds = 60;
  f.max_message_mib = 256;
  f.max_running_experiments = 100;
  f.max_candidates_per_experiment = 10000000;
  f.replay_page = 10000;
  f.max_leases_per_worker = 1;
  f.max_parallel_trials = 256;
  f.worker_retention = absl::Hours(1);
  return f;
}

// Unsets the environment variables MakeServerOptions reads, restoring them
// at the end of the test.
class ServerOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVars) {
      if (const char* v = std::getenv(name); v != nullptr) saved_[name] = v;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kVars) {
      auto it = saved_.find(name);
      if (it != saved_.end()) {
        setenv(name, it->second.c_str(), 1);
      } else {
        unsetenv(name);
      }
    }
  }
  static constexpr const char* kVars[] = {"NAS_DATABASE", "NAS_CLIENT_TOKEN",
                                          "NAS_WORKER_TOKEN"};
  std::map<std::string, std::string> saved_;  // the variables that were set
};

TEST(ValidateControllerFlags, DefaultsAreValid) {
  NAS_EXPECT_OK(ValidateControllerFlags(DefaultFlags()));
}

TEST(ValidateControllerFlags, ArtifactChunkKibInOneTo65536) {
  ControllerFlags f = DefaultFlags();
  for (int ok : {1, 65536}) {
    f.artifact_chunk_kib = ok;
    NAS_EXPECT_OK(ValidateControllerFlags(f)) << ok;
  }
  for (int bad : {0, -1, 65537}) {
    f.artifact_chunk_kib = bad;
    EXPECT_THAT(ValidateControllerFlags(f),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "--artifact_chunk_kib must be in [1, 65536]"))
        << bad;
  }
}

TEST(ValidateControllerFlags, MinTickMsInZeroToTickMs) {
  ControllerFlags f = DefaultFlags();
  for (int ok : {0, 250}) {
    f.min_tick_ms = ok;
    NAS_EXPECT_OK(ValidateControllerFlags(f)) << ok;
  }
  for (int bad : {-1, 251}) {
    f.min_tick_ms = bad;
    EXPECT_THAT(ValidateControllerFlags(f),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "--min_tick_ms must be in [0, --tick_ms]"))
        << bad;
  }
  f.tick_ms = 0;
  f.min_tick_ms = 0;
  NAS_EXPECT_OK(ValidateControllerFlags(f));
}

TEST(ValidateControllerFlags, MaxMessageMibInOneTo2047) {
  ControllerFlags f = DefaultFlags();
  for (int ok : {1, 2047}) {
    f.max_message_mib = ok;
    NAS_EXPECT_OK(ValidateControllerFlags(f)) << ok;
  }
  for (int bad : {0, 2048}) {
    f.max_message_mib = bad;
    EXPECT_THAT(ValidateControllerFlags(f),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "--max_message_mib must be in [1, 2047]"))
        << bad;
  }
}

TEST(ValidateControllerFlags, LimitsAtLeastZero) {
  const std::string message =
      "--max_running_experiments, --max_candidates_per_experiment, "
      "--max_leases_per_worker and --max_attempt_seconds must be >= 0 "
      "(0 = no limit)";
  ControllerFlags zero = DefaultFlags();
  zero.max_running_experiments = 0;
  zero.max_candidates_per_experiment = 0;
  zero.max_leases_per_worker = 0;
  NAS_EXPECT_OK(ValidateControllerFlags(zero));
  ControllerFlags f = DefaultFlags();
  f.max_running_experiments = -1;
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument, message));
  f = DefaultFlags();
  f.max_candidates_per_experiment = -1;
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument, message));
  f = DefaultFlags();
  f.max_leases_per_worker = -1;
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument, message));
  f = DefaultFlags();
  f.max_attempt_seconds = -1;
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument, message));
}

// Issue 22's flags: --max_parallel_trials >= 0 (0 = the spec's own
// limit), --worker_retention positive; both reach ControllerOptions, with
// the listing byte cap derived from --max_message_mib.
TEST_F(ServerOptionsTest, ParallelTrialsAndWorkerRetention) {
  ControllerFlags f = DefaultFlags();
  f.max_parallel_trials = 0;
  NAS_EXPECT_OK(ValidateControllerFlags(f));
  f.max_parallel_trials = -1;
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--max_parallel_trials must be >= 0"));
  f = DefaultFlags();
  f.worker_retention = absl::ZeroDuration();
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--worker_retention must be positive"));
  f = DefaultFlags();
  f.max_parallel_trials = 8;
  f.worker_retention = absl::Milliseconds(300);
  f.max_message_mib = 1;
  auto options = MakeServerOptions(f);
  NAS_ASSERT_OK(options);
  EXPECT_EQ(options->controller.max_parallel_trials, 8);
  EXPECT_EQ(options->controller.worker_retention, absl::Milliseconds(300));
  EXPECT_EQ(options->controller.max_response_bytes, 256 * 1024);
  f.max_message_mib = 256;
  options = MakeServerOptions(f);
  NAS_ASSERT_OK(options);
  EXPECT_EQ(options->controller.max_response_bytes, 4 << 20);
}

TEST(ValidateControllerFlags, FirstFailureWins) {
  ControllerFlags f = DefaultFlags();
  f.artifact_chunk_kib = 0;
  f.min_tick_ms = -1;
  f.max_message_mib = 0;
  EXPECT_THAT(
      ValidateControllerFlags(f),
      StatusIs(absl::StatusCode::kInvalidArgument, "--artifact_chunk_kib"));
  f.artifact_chunk_kib = 1;
  EXPECT_THAT(ValidateControllerFlags(f),
              StatusIs(absl::StatusCode::kInvalidArgument, "--min_tick_ms"));
  f.min_tick_ms = 0;
  EXPECT_THAT(
      ValidateControllerFlags(f),
      StatusIs(absl::StatusCode::kInvalidArgument, "--max_message_mib"));
}

TEST_F(ServerOptionsTest, ConvertsEveryFlag) {
  ControllerFlags f = DefaultFlags();
  f.listen = "0.0.0.0:0";
  f.artifact_chunk_kib = 16;
  f.max_message_mib = 2047;
  f.tick_ms = 300;
  f.min_tick_ms = 20;
  f.metrics_address = "0.0.0.0:9100";
  f.database_outage_seconds = 7;
  f.max_running_experiments = 3;
  f.max_candidates_per_experiment = 4;
  f.max_leases_per_worker = 5;
  f.replay_page = 6;
  f.tls_cert = "c.pem";
  f.tls_key = "k.pem";
  f.tls_client_ca = "ca.pem";
  absl::StatusOr<ServerOptions> o = MakeServerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->listen, "0.0.0.0:0");
  EXPECT_EQ(o->store.conninfo, "host=db dbname=nas");
  EXPECT_EQ(o->store.artifact_chunk_bytes, 16 * 1024);
  EXPECT_EQ(o->migrations_dir, "/m");
  EXPECT_EQ(o->max_message_bytes, 2047 << 20);
  EXPECT_EQ(o->controller.tick, absl::Milliseconds(300));
  EXPECT_EQ(o->controller.min_tick, absl::Milliseconds(20));
  EXPECT_EQ(o->metrics_address, "0.0.0.0:9100");
  EXPECT_EQ(o->database_outage, absl::Seconds(7));
  EXPECT_EQ(o->controller.max_running_experiments, 3);
  EXPECT_EQ(o->controller.max_candidates_per_experiment, 4);
  EXPECT_EQ(o->controller.max_leases_per_worker, 5);
  EXPECT_EQ(o->controller.replay_page, 6);
  EXPECT_EQ(o->tls.cert_file, "c.pem");
  EXPECT_EQ(o->tls.key_file, "k.pem");
  EXPECT_EQ(o->tls.client_ca_file, "ca.pem");
  EXPECT_EQ(o->client_token, "");
  EXPECT_EQ(o->worker_token, "");
}

TEST_F(ServerOptionsTest, DatabaseFromFlagElseEnvironmentElseRequired) {
  ControllerFlags f = DefaultFlags();
  f.database = "";
  EXPECT_THAT(MakeServerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--database (or NAS_DATABASE) is required"));
  setenv("NAS_DATABASE", "host=env", 1);
  absl::StatusOr<ServerOptions> o = MakeServerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->store.conninfo, "host=env");
  f.database = "host=flag";
  o = MakeServerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->store.conninfo, "host=flag");
}

TEST_F(ServerOptionsTest, RangeChecksComeBeforeTheDatabase) {
  ControllerFlags f = DefaultFlags();
  f.database = "";
  f.max_message_mib = 0;
  EXPECT_THAT(MakeServerOptions(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--max_message_mib must be in [1, 2047]"));
}

TEST_F(ServerOptionsTest, TokensFromFilesOrEnvironment) {
  const std::string path = ::testing::TempDir() + "/server_options_client.tok";
  std::ofstream(path) << "client-secret\n";
  ControllerFlags f = DefaultFlags();
  f.client_token_file = path;
  setenv("NAS_WORKER_TOKEN", "worker-secret", 1);
  absl::StatusOr<ServerOptions> o = MakeServerOptions(f);
  NAS_ASSERT_OK(o);
  EXPECT_EQ(o->client_token, "client-secret");
  EXPECT_EQ(o->worker_token, "worker-secret");
  std::remove(path.c_str());
}

TEST_F(ServerOptionsTest, TokenErrorsKeepTheirCodeNameInTheMessage) {
  ControllerFlags f = DefaultFlags();
  f.database = "";  // the token's error comes first
  f.worker_token_file = ::testing::TempDir() + "/no-such-token-file";
  absl::StatusOr<ServerOptions> o = MakeServerOptions(f);
  EXPECT_THAT(o, StatusIs(absl::StatusCode::kNotFound, "no-such-token-file"));
  EXPECT_EQ(o.status().message().rfind("NOT_FOUND: ", 0), 0u) << o.status();
  setenv("NAS_CLIENT_TOKEN", "  ", 1);
  o = MakeServerOptions(f);  // the client's token is read first
  EXPECT_THAT(
      o, StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_ARGUMENT: "));
}

}  // namespace
}  // namespace nas
