#include "tests/testing/cluster.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace nas::testing {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return std::chrono::system_clock::now() +
         std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// `defaults` ("--name=value") that `flags` does not set, then `flags`.
std::vector<std::string> MergeFlags(const std::vector<std::string>& defaults,
                                    const std::vector<std::string>& flags) {
  std::vector<std::string> out;
  for (const std::string& d : defaults) {
    const std::string name = d.substr(0, d.find('=') + 1);
    bool given = false;
    for (const std::string& f : flags) given = given || f.rfind(name, 0) == 0;
    if (!given) out.push_back(d);
  }
  out.insert(out.end(), flags.begin(), flags.end());
  return out;
}

}  // namespace

LocalCluster::~LocalCluster() { StopProcesses(); }

absl::Status LocalCluster::Start(const std::string& prefix) {
  std::string tmpl = absl::StrCat("/tmp/nas-", prefix, "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::UnavailableError("mkdtemp under /tmp failed");
  }
  dir_ = tmpl;
  absl::StatusOr<std::unique_ptr<PostgresServer>> pg = PostgresServer::Start();
  if (!pg.ok()) return pg.status();
  pg_ = *std::move(pg);
  return absl::OkStatus();
}

void LocalCluster::StopProcesses() {
  stub_.reset();
  channel_.reset();
  workers_.clear();
  controllers_.clear();
}

void LocalCluster::Finish(bool failed, int tail_lines) {
  StopProcesses();
  if (dir_.empty()) return;
  std::string out;
  if (failed) {
    RunCommand(absl::StrCat("tail -n ", tail_lines, " ", dir_, "/*.log"), &out);
    std::cerr << "---- process logs (" << dir_ << ") ----\n" << out;
  } else {
    RunCommand("rm -rf " + dir_, &out);
  }
}

// --- controllers -------------------------------------------------------------

int LocalCluster::port(const std::string& name) {
  auto it = ports_.find(name);
  if (it == ports_.end()) it = ports_.emplace(name, FreePort()).first;
  return it->second;
}

std::string LocalCluster::address(const std::string& name) {
  return absl::StrCat("127.0.0.1:", port(name));
}

bool LocalCluster::StartController(const std::string& name,
                                   const std::vector<std::string>& extra,
                                   bool connect_client) {
  std::vector<std::string> argv = {Binary("controller/nas-controller"),
                                   "--listen=" + address(name),
                                   "--database=" + conninfo(), "--tick_ms=100"};
  argv.insert(argv.end(), controller_flags.begin(), controller_flags.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> c =
      ChildProcess::Spawn(argv, absl::StrCat(dir_, "/", name, ".log"));
  if (!c.ok()) {
    ADD_FAILURE() << "spawning controller " << name << ": " << c.status();
    return false;
  }
  controllers_[name] = *std::move(c);
  if (!connect_client) return true;
  if (!UseController(name)) {
    ADD_FAILURE() << "controller " << name << " did not come up:\n"
                  << ReadLog(*this, name);
    return false;
  }
  return true;
}

ChildProcess* LocalCluster::controller(const std::string& name) {
  auto it = controllers_.find(name);
  return it == controllers_.end() ? nullptr : it->second.get();
}

bool LocalCluster::KillController(const std::string& name) {
  ChildProcess* c = controller(name);
  if (c == nullptr) {
    ADD_FAILURE() << "no controller " << name;
    return false;
  }
  c->Signal(SIGKILL);
  const bool ended = c->WaitFor(absl::Seconds(10)).has_value();
  if (!ended) ADD_FAILURE() << "controller " << name << " survived SIGKILL";
  return ended;
}

// --- workers -----------------------------------------------------------------

ChildProcess* LocalCluster::StartWorker(const std::string& id,
                                        const std::vector<std::string>& flags,
                                        const std::string& controllers) {
  std::vector<std::string> argv = {
      Binary("worker/nas-worker"),
      "--controller=" +
          (controllers.empty()
               ? address(client_controller_.empty() ? "controller"
                                                    : client_controller_)
               : controllers),
      "--id=" + id};
  for (std::string& f :
       MergeFlags({"--threads=1", "--unreachable_timeout_seconds=60",
                   absl::StrCat("--cache_dir=", dir_, "/cache-", id),
                   absl::StrCat("--data_root=/usr/share/datasets,", dir_),
                   absl::StrCat("--data_cache_dir=", dir_, "/data-cache-", id)},
                  flags)) {
    argv.push_back(std::move(f));
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> w =
      ChildProcess::Spawn(argv, absl::StrCat(dir_, "/", id, ".log"));
  if (!w.ok()) {
    ADD_FAILURE() << "spawning worker " << id << ": " << w.status();
    return nullptr;
  }
  workers_[id] = *std::move(w);
  return workers_[id].get();
}

ChildProcess* LocalCluster::worker(const std::string& id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

bool LocalCluster::WaitForWorkers(int n) {
  return WaitFor(
      absl::StrCat(n, " worker(s) registered"),
      [&] { return Count("SELECT count(*) FROM workers") == n; },
      absl::Seconds(60));
}

// --- client ------------------------------------------------------------------

std::shared_ptr<grpc::Channel> LocalCluster::NewChannel(
    const std::string& name) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(address(name),
                                   grpc::InsecureChannelCredentials(), args);
}

bool LocalCluster::UseController(const std::string& name,
                                 absl::Duration timeout) {
  client_controller_ = name;
  channel_ = NewChannel(name);
  stub_ = v1::ExperimentService::NewStub(channel_);
  return channel_->WaitForConnected(Deadline(timeout));
}

grpc::Status LocalCluster::Create(const std::string& yaml,
                                  v1::Experiment* out) {
  v1::CreateExperimentRequest req;
  req.set_spec_yaml(yaml);
  const absl::Time end = absl::Now() + absl::Seconds(5);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(absl::Seconds(30)));
    grpc::Status s = stub_->CreateExperiment(&ctx, req, out);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() > end) {
      return s;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
}

grpc::Status LocalCluster::TryGet(int64_t id, v1::Experiment* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(absl::Seconds(10)));
  v1::GetExperimentRequest req;
  req.set_id(id);
  return stub_->GetExperiment(&ctx, req, out);
}

v1::Experiment LocalCluster::Get(int64_t id) {
  v1::Experiment e;
  grpc::Status s = TryGet(id, &e);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return e;
}

std::vector<v1::Candidate> LocalCluster::Candidates(int64_t id) {
  grpc::ClientContext ctx;
  v1::ListCandidatesRequest req;
  req.set_experiment_id(id);
  req.set_page_size(1000);
  v1::ListCandidatesResponse resp;
  const grpc::Status s = stub_->ListCandidates(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.candidates().begin(), resp.candidates().end()};
}

bool LocalCluster::WaitFinished(int64_t id, absl::Duration timeout) {
  return WaitFor(
      "experiment to finish",
      [&] {
        v1::Experiment e;
        return TryGet(id, &e).ok() && e.state() != v1::EXPERIMENT_RUNNING;
      },
      timeout);
}

// --- database ----------------------------------------------------------------

std::string LocalCluster::Psql(const std::string& sql) {
  return ::nas::testing::Psql(conninfo(), sql);
}

int LocalCluster::Count(const std::string& sql) {
  int n = -1;
  EXPECT_TRUE(absl::SimpleAtoi(Psql(sql), &n)) << sql;
  return n;
}

bool LocalCluster::WaitForResults(int64_t id, int n, absl::Duration timeout) {
  return WaitFor(
      absl::StrCat(n, " results of experiment ", id),
      [&] {
        return Count(absl::StrCat(
                   "SELECT count(*) FROM results WHERE experiment_id=", id)) >=
               n;
      },
      timeout);
}

void LocalCluster::CheckNoDuplicatesNoLoss(int64_t id, int budget) {
  const std::string e = absl::StrCat(id);
  EXPECT_EQ(Count("SELECT count(*) FROM results WHERE experiment_id=" + e),
            budget);
  EXPECT_EQ(Count("SELECT count(DISTINCT trial_id) FROM results WHERE "
                  "experiment_id=" +
                  e),
            budget);
  EXPECT_EQ(Count("SELECT count(DISTINCT candidate_id) FROM results WHERE "
                  "experiment_id=" +
                  e),
            budget);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates WHERE state='EVALUATED' AND "
                  "experiment_id=" +
                  e),
            budget);
  EXPECT_EQ(Count("SELECT count(*) FROM trials WHERE status='SUCCEEDED' AND "
                  "experiment_id=" +
                  e),
            budget);
  EXPECT_EQ(Count("SELECT count(*) FROM candidates c JOIN results r ON "
                  "r.candidate_id=c.id "
                  "WHERE c.val_accuracy IS DISTINCT FROM r.val_accuracy AND "
                  "c.experiment_id=" +
                  e),
            0);
}

bool LocalCluster::WaitFor(const std::string& what,
                           const std::function<bool()>& cond,
                           absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!cond()) {
    if (absl::Now() >= end) {
      ADD_FAILURE() << "timed out (" << timeout << ") waiting for " << what;
      return false;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return true;
}

std::string ReadLog(const LocalCluster& cluster, const std::string& name) {
  return ReadFile(absl::StrCat(cluster.dir(), "/", name, ".log"));
}

}  // namespace nas::testing
