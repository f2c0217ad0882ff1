// A local cluster for end-to-end tests: a throw-away PostgreSQL server,
// nas-controller processes (by name: "controller", "standby", ...) and
// nas-worker processes on loopback, a gRPC client of the ExperimentService,
// and psql checks. Everything it started is killed and reaped by its
// destructor (workers, then controllers, then PostgreSQL). Helpers report
// failures through GoogleTest (ADD_FAILURE / EXPECT), so they are meant for
// the test's main thread. Not thread-safe.
#ifndef NAS_TESTS_TESTING_CLUSTER_H_
#define NAS_TESTS_TESTING_CLUSTER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"

namespace nas::testing {

class LocalCluster {
 public:
  LocalCluster() = default;
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;
  // Kills (SIGKILL) and reaps every process still running, stops
  // PostgreSQL. The log directory is removed by Finish(false) only.
  ~LocalCluster();

  // Makes the log directory /tmp/nas-<prefix>-XXXXXX and starts PostgreSQL.
  // kUnavailable when either fails. Call once.
  absl::Status Start(const std::string& prefix);
  // Ends the test's cluster: stops every process; when `failed`, prints the
  // last `tail_lines` lines of every log to stderr and keeps the directory,
  // else deletes it.
  void Finish(bool failed, int tail_lines = 40);

  const std::string& dir() const { return dir_; }
  PostgresServer& postgres() { return *pg_; }
  const std::string& conninfo() const { return pg_->conninfo(); }

  // --- controllers -------------------------------------------------------
  // Flags added to every controller started from now on (after the
  // defaults --listen, --database, --tick_ms=100).
  std::vector<std::string> controller_flags;
  // Starts nas-controller `name` (log <dir>/<name>.log) with
  // controller_flags and `extra`, on the port that name had before or a
  // free one. With `connect_client` (not for a standby: it does not listen
  // until it holds the leadership lock; not for TLS), waits up to 30 s for
  // the port and points the client at it; false (and a test failure) when
  // it does not come up.
  bool StartController(const std::string& name = "controller",
                       const std::vector<std::string>& extra = {},
                       bool connect_client = true);
  // The process (nullptr when `name` was never started).
  ChildProcess* controller(const std::string& name = "controller");
  // The gRPC port of controller `name` (allocated at its first start).
  int port(const std::string& name = "controller");
  std::string address(const std::string& name = "controller");
  // SIGKILL, then waits up to 10 s for the exit; false (and a test
  // failure) when it did not end.
  bool KillController(const std::string& name = "controller");

  // --- workers -----------------------------------------------------------
  // Starts nas-worker `id` (log <dir>/<id>.log) with --controller=
  // `controllers` (default: the address the client uses), --id, and the
  // defaults --threads=1, --unreachable_timeout_seconds=60,
  // --cache_dir=<dir>/cache-<id>, --data_root=/usr/share/datasets,<dir>
  // (Debian's datasets and data a test writes under the cluster's
  // directory), --data_cache_dir=<dir>/data-cache-<id>, each left out when
  // `flags` sets it.
  // nullptr (and a test failure) when it cannot be spawned.
  ChildProcess* StartWorker(const std::string& id,
                            const std::vector<std::string>& flags = {},
                            const std::string& controllers = "");
  ChildProcess* worker(const std::string& id);
  // Waits up to 60 s until exactly `n` workers are registered.
  bool WaitForWorkers(int n);

  // --- client ------------------------------------------------------------
  // A new plaintext channel to controller `name`, with a subchannel pool of
  // its own (no reconnect backoff inherited from an earlier channel).
  std::shared_ptr<grpc::Channel> NewChannel(const std::string& name);
  // Points the client at controller `name`; true once it connected within
  // `timeout`.
  bool UseController(const std::string& name,
                     absl::Duration timeout = absl::Seconds(30));
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  v1::ExperimentService::Stub* stub() { return stub_.get(); }
  // CreateExperiment, retried for up to 5 s while UNAVAILABLE (a controller
  // that has just started).
  grpc::Status Create(const std::string& yaml, v1::Experiment* out);
  grpc::Status TryGet(int64_t id, v1::Experiment* out);
  // GetExperiment; a failed call is a test failure.
  v1::Experiment Get(int64_t id);
  // ListCandidates of experiment `id` (one page of up to 1000); a failed
  // call is a test failure (and an empty list).
  std::vector<v1::Candidate> Candidates(int64_t id);
  // Waits until the experiment is no longer RUNNING; failed RPCs (a
  // controller restarting) count as "not yet".
  bool WaitFinished(int64_t id, absl::Duration timeout);

  // --- database ----------------------------------------------------------
  std::string Psql(const std::string& sql);
  // A one-number query (-1 and a test failure when it is not one).
  int Count(const std::string& sql);
  // Waits until experiment `id` has at least `n` stored results.
  bool WaitForResults(int64_t id, int n,
                      absl::Duration timeout = absl::Minutes(3));
  // For an experiment of `budget` search trials, all of them successful:
  // `budget` results, on as many trials and candidates; `budget` EVALUATED
  // candidates and SUCCEEDED trials; every candidate's metrics are its
  // result's.
  void CheckNoDuplicatesNoLoss(int64_t id, int budget);

  // Polls `cond` every 200 ms; false and a test failure naming `what` when
  // it does not hold within `timeout`.
  static bool WaitFor(const std::string& what,
                      const std::function<bool()>& cond,
                      absl::Duration timeout);

 private:
  void StopProcesses();

  std::string dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::unique_ptr<ChildProcess>> controllers_;
  std::map<std::string, std::unique_ptr<ChildProcess>> workers_;
  std::string client_controller_;  // the controller the client talks to
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ExperimentService::Stub> stub_;
};

// The log of process `name` ("controller", a worker id) in `cluster`.
std::string ReadLog(const LocalCluster& cluster, const std::string& name);

}  // namespace nas::testing

#endif  // NAS_TESTS_TESTING_CLUSTER_H_
