// bench/dispatch_throughput (issue 9): how many trials per second one
// controller dispatches and durably stores when evaluations cost nothing,
// against PostgreSQL's own single-row insert rate (pgbench) and Optuna 3.1's
// RDB storage on the same server, in the same run.
//
//   NAS_BUILD_DIR=/tmp/b bash scripts/build.sh dispatch_throughput \
//     nas-controller nas-simworker && /tmp/b/bench/dispatch_throughput \
//     --out_dir=/tmp/dt            # full matrix; --quick for a smoke run
//
// For each preload P (--preload, default 0,100000,1000000): a fresh
// throw-away PostgreSQL (scripts/pg-temp.sh), `nas-controller migrate`, the
// real controller creates one experiment (nb201, random strategy,
// `duplicates: retrain`, FULL mode answered by nas-simworker's
// SimulatedEvaluator, parallel_trials --parallel_trials), the controller is
// stopped and P evaluated candidates are generated with SQL (candidates
// EVALUATED with metrics, trials SUCCEEDED, trial_attempts, results with a
// valid metrics proto; genotypes and metrics are those nas-simworker would
// produce), then VACUUM ANALYZE. That database is the template of one fresh
// copy per worker count N (--workers, default 8,64,256): CREATE DATABASE
// ... TEMPLATE (file copy), the controller starts on the copy (start-up
// time = spawn until its gRPC port answers: migrations, strategy replay of
// every stored result), N simulated workers run as nas-simworker processes
// (min(N, --max_procs) processes, N / processes threads each, every thread
// the real worker loop over its own channel), then after --warmup_seconds
// the stored results are counted twice, --window_seconds apart (durable:
// committed rows). Latencies of AcquireTrial (calls that returned a trial)
// and ReportResult are measured by the workers (nas-simworker
// --latency_file) within the window; the controller's peak RSS (VmHWM) is
// read at the end. Workers ask each report for their next trial
// (acquire_next), so most trials come with a ReportResult answer and
// AcquireTrial is called only when none was queued then: the table gives
// the share of trials leased that way.
//
// On the P = 0 server, before the runs: pgbench (`-n -f` a script inserting
// one results-shaped row per transaction, --pgbench_clients, the best
// count is the reference) and Optuna (bench/dispatch_throughput_optuna.py
// with /usr/bin/python3: min(N, --optuna_max_procs) processes for each N,
// RandomSampler, six categorical parameters with five choices; the ratio for
// N uses Optuna's best rate with at most that many processes). Then, on
// a copy of the prepared P = 0 database: pgbench of one whole trial per
// transaction in our real schema (the nine row writes of a trial, with
// the schema's indexes, foreign keys and triggers; RunPgbenchTrial), the
// database's own rate for trials, unbatched.
//
// Writes <out_dir>/dispatch_throughput.{csv,md,svg} (+ pgbench script,
// logs, and with --pg_stat_statements the top statements per run).
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/spaces/search_space.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "worker/evaluators/simulated_evaluator.h"

ABSL_FLAG(std::string, workers, "8,64,256", "simulated worker counts N");
ABSL_FLAG(std::string, preload, "0,100000,1000000",
          "evaluated candidates P stored in the experiment before each run");
ABSL_FLAG(int, max_procs, 256,
          "at most this many nas-simworker processes per run (N workers are "
          "spread over min(N, max_procs) processes)");
ABSL_FLAG(int, warmup_seconds, 5, "after the first stored result");
ABSL_FLAG(int, window_seconds, 20, "measurement window per run");
ABSL_FLAG(int, parallel_trials, 512,
          "experiment's parallel_trials (>= the largest N, so the queue is "
          "never what limits a worker)");
ABSL_FLAG(bool, pgbench, true, "run pgbench on the P = 0 server");
ABSL_FLAG(std::string, pgbench_clients, "1,8,16", "pgbench -c values");
ABSL_FLAG(int, pgbench_seconds, 15, "pgbench -T");
ABSL_FLAG(bool, optuna, true, "run Optuna on the P = 0 server");
ABSL_FLAG(int, optuna_max_procs, 16, "at most this many Optuna processes");
ABSL_FLAG(std::string, optuna_sampler, "random", "random or tpe");
ABSL_FLAG(
    bool, durable, false,
    "run PostgreSQL with its durable defaults (fsync, synchronous_commit, "
    "full_page_writes on; NAS_PG_DURABLE=1 for scripts/pg-temp.sh) "
    "instead of the test servers' fsync=off");
ABSL_FLAG(bool, pg_stat_statements, false,
          "load pg_stat_statements and write the top statements of each "
          "run's window to <out_dir>/statements_N<N>_P<P>.txt (adds a "
          "little overhead to every statement)");
ABSL_FLAG(bool, quick, false,
          "smoke run: N 8,64; P 0,20000; 2 s warm-up, 5 s windows; pgbench "
          "c=8 for 5 s; Optuna 8 processes");
ABSL_FLAG(std::string, out_dir, "dispatch_throughput_out",
          "where dispatch_throughput.{csv,md,svg} and logs are written");

namespace nas {
namespace {

using testing::ChildProcess;
using Clock = std::chrono::steady_clock;

// The experiment's trial budget, written into the stored spec (validation
// caps max_trials at 1,000,000, which a 1M preload would exhaust).
constexpr int64_t kMaxTrials = 9000000;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<int64_t> ParseList(const std::string& s) {
  std::vector<int64_t> out;
  for (absl::string_view p : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int64_t v = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(p), &v)) out.push_back(v);
  }
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Runs `psql -tA` with `sql` (-c) or a file (-f when sql starts with "@");
// returns trimmed stdout, kUnavailable with the output on failure.
absl::StatusOr<std::string> Psql(const std::string& conninfo,
                                 const std::string& sql) {
  std::string cmd = absl::StrCat("psql ", ShellQuote(conninfo),
                                 " -X -q -v ON_ERROR_STOP=1 -tA ");
  if (!sql.empty() && sql[0] == '@') {
    absl::StrAppend(&cmd, "-f ", ShellQuote(sql.substr(1)));
  } else {
    absl::StrAppend(&cmd, "-c ", ShellQuote(sql));
  }
  std::string out;
  const int rc = testing::RunCommand(cmd + " 2>&1", &out);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("psql failed (", rc, ") for ",
                                               sql.substr(0, 200), ": ", out));
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

absl::StatusOr<int64_t> PsqlInt(const std::string& conninfo,
                                const std::string& sql) {
  absl::StatusOr<std::string> out = Psql(conninfo, sql);
  if (!out.ok()) return out.status();
  int64_t v = 0;
  if (!absl::SimpleAtoi(*out, &v)) {
    return absl::InternalError(absl::StrCat("not a number: ", *out));
  }
  return v;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t i = std::min(
      v.size() - 1, static_cast<size_t>(std::ceil(q * v.size())) - (q > 0));
  return v[i];
}

// "p50 / p99", or "none" when no call was measured (NaN).
std::string P50P99(double p50, double p99) {
  if (std::isnan(p50)) return "none";
  return absl::StrFormat("%.1f / %.1f", p50, p99);
}

// True when something accepts TCP connections on 127.0.0.1:port.
bool PortOpen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string Conninfo(int port, const std::string& db) {
  return absl::StrCat("host=127.0.0.1 port=", port, " dbname=", db,
                      " user=nas");
}

struct RunRow {
  int workers = 0;
  int procs = 0;
  int64_t preload = 0;
  double startup_s = 0;
  double trials_per_s = 0;
  int64_t completed = 0;
  double window_s = 0;
  double acquire_p50_ms = 0, acquire_p99_ms = 0;
  double report_p50_ms = 0, report_p99_ms = 0;
  int64_t acquire_n = 0, report_n = 0;
  int64_t rss_start_kb = 0, hwm_kb = 0;
  double controller_cpu_s = 0;  // user+sys during the window
  double postgres_cpu_s = 0;    // the whole server, same window
  std::string note;
};

struct PgbenchRow {
  int clients = 0;
  double tps = 0;
};

struct OptunaRow {
  int procs = 0;
  double trials_per_s = 0;
  int64_t completed = 0;
  double window_s = 0;
};

// user+system CPU seconds of a process, from /proc/<pid>/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string s((std::istreambuf_iterator<char>(in)),
                std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f =
      absl::StrSplit(s.substr(close + 2), ' ', absl::SkipEmpty());
  // Fields after the command: state is f[0]; utime f[11], stime f[12].
  double ut = 0, st = 0;
  if (f.size() < 13 || !absl::SimpleAtod(f[11], &ut) ||
      !absl::SimpleAtod(f[12], &st)) {
    return 0;
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// user+system CPU seconds of the PostgreSQL server whose data directory is
// `data_dir`: the postmaster and all its children (backends, autovacuum...).
double ServerCpuSeconds(const std::string& data_dir) {
  std::ifstream pidfile(data_dir + "/postmaster.pid");
  pid_t postmaster = 0;
  if (!(pidfile >> postmaster)) return 0;
  double total = CpuSeconds(postmaster);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
    std::string s((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
    const size_t close = s.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> f =
        absl::StrSplit(s.substr(close + 2), ' ', absl::SkipEmpty());
    pid_t ppid = 0;
    if (f.size() > 1 && absl::SimpleAtoi(f[1], &ppid) && ppid == postmaster) {
      total += CpuSeconds(pid);
    }
  }
  return total;
}

class Bench {
 public:
  int Main() {
    out_dir_ = std::filesystem::absolute(absl::GetFlag(FLAGS_out_dir));
    std::filesystem::create_directories(out_dir_ + "/logs");
    quick_ = absl::GetFlag(FLAGS_quick);
    std::vector<int64_t> workers =
        ParseList(quick_ ? std::string("8,64") : absl::GetFlag(FLAGS_workers));
    std::vector<int64_t> preloads = ParseList(
        quick_ ? std::string("0,20000") : absl::GetFlag(FLAGS_preload));
    warmup_ = quick_ ? 2 : absl::GetFlag(FLAGS_warmup_seconds);
    window_ = quick_ ? 5 : absl::GetFlag(FLAGS_window_seconds);
    const int64_t max_n = *std::max_element(workers.begin(), workers.end());
    if (absl::GetFlag(FLAGS_parallel_trials) < max_n) {
      fprintf(stderr, "dispatch_throughput: --parallel_trials < max N\n");
      return 2;
    }
    if (!WriteGenotypes()) return 1;
    const auto t0 = Clock::now();
    std::vector<RunRow> rows;
    bool baselines_done = false;
    bool trial_pgbench_done = false;
    for (int64_t p : preloads) {
      absl::StatusOr<std::unique_ptr<testing::PostgresServer>> pg =
          testing::PostgresServer::Start();
      if (!pg.ok()) {
        fprintf(stderr, "dispatch_throughput: %s\n",
                pg.status().ToString().c_str());
        return 1;
      }
      port_ = (*pg)->port();
      pg_data_dir_ = (*pg)->dir() + "/data";
      if (absl::GetFlag(FLAGS_pg_stat_statements)) {
        absl::StatusOr<std::string> s = Psql(
            (*pg)->conninfo(),
            "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
        absl::Status r = s.ok() ? (*pg)->Stop() : s.status();
        if (r.ok()) r = (*pg)->Restart();
        if (r.ok()) {
          s = Psql((*pg)->conninfo(),
                   "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        }
        if (!r.ok() || !s.ok()) {
          fprintf(stderr, "dispatch_throughput: pg_stat_statements: %s %s\n",
                  r.ToString().c_str(), s.status().ToString().c_str());
          return 1;
        }
      }
      if (!baselines_done) {
        // Baselines on a server without preloaded data.
        if (absl::GetFlag(FLAGS_pgbench) && !RunPgbench()) return 1;
        if (absl::GetFlag(FLAGS_optuna) && !RunOptuna(workers)) return 1;
        baselines_done = true;
      }
      const auto tp = Clock::now();
      if (!Prepare(p)) return 1;
      fprintf(stderr, "dispatch_throughput: P=%lld prepared in %.0f s\n",
              static_cast<long long>(p), Since(tp));
      if (!trial_pgbench_done && absl::GetFlag(FLAGS_pgbench)) {
        if (!RunPgbenchTrial()) return 1;
        trial_pgbench_done = true;
      }
      for (int64_t n : workers) {
        absl::StatusOr<RunRow> row = RunOne(static_cast<int>(n), p);
        if (!row.ok()) {
          fprintf(stderr, "dispatch_throughput: N=%lld P=%lld: %s\n",
                  static_cast<long long>(n), static_cast<long long>(p),
                  row.status().ToString().c_str());
          return 1;
        }
        rows.push_back(*row);
        fprintf(stderr,
                "dispatch_throughput: N=%d P=%lld: %.0f trials/s (start-up "
                "%.1f s, acquire p50/p99 %.1f/%.1f ms, report %.1f/%.1f ms, "
                "peak RSS %.0f MiB) [%.0f s elapsed]\n",
                row->workers, static_cast<long long>(p), row->trials_per_s,
                row->startup_s, row->acquire_p50_ms, row->acquire_p99_ms,
                row->report_p50_ms, row->report_p99_ms, row->hwm_kb / 1024.0,
                Since(t0));
      }
    }
    Report(rows, Since(t0));
    return 0;
  }

 private:
  // Every nb201 cell with the analytic cost and the metrics nas-simworker's
  // SimulatedEvaluator reports for it, as CSV for \copy.
  bool WriteGenotypes() {
    const SearchSpace* space = *GetSearchSpace("nb201");
    v1::SearchSpaceSpec spec;
    spec.set_name("nb201");
    SimulatedEvaluator eval(absl::ZeroDuration(), nullptr);
    std::ofstream out(out_dir_ + "/genotypes.csv");
    int n = 0;
    for (int idx = 0; idx < 15625; ++idx) {
      std::vector<int> choices(6);
      for (int d = 0, x = idx; d < 6; ++d, x /= 5) choices[d] = x % 5;
      absl::StatusOr<v1::Genotype> g = space->ToProto(choices);
      if (!g.ok()) {
        fprintf(stderr, "dispatch_throughput: %s\n",
                g.status().ToString().c_str());
        return false;
      }
      absl::StatusOr<Cost> cost = space->ComputeCost(choices, spec, {});
      v1::Trial trial;
      *trial.mutable_genotype() = *g;
      trial.mutable_evaluation()->set_epochs(1);
      absl::StatusOr<v1::EvaluationMetrics> m = eval.Evaluate(trial, nullptr);
      if (!m.ok()) return false;
      std::string bytes = m->SerializeAsString();
      std::string hex;
      for (unsigned char c : bytes) absl::StrAppendFormat(&hex, "%02x", c);
      if (idx == 0) proto_hex_ = hex;
      out << idx << "," << g->canonical() << ",\"{"
          << absl::StrJoin(choices, ",") << "}\"," << g->hash() << ","
          << (cost.ok() ? cost->macs : 0) << ","
          << (cost.ok() ? cost->params : 0) << ","
          << absl::StrFormat("%.17g,%.17g,%.17g,%.17g", m->val_accuracy(),
                             m->test_accuracy(), m->latency_ms(),
                             m->train_loss())
          << "," << m->macs() << "," << m->params() << ",\\x" << hex << "\n";
      ++n;
    }
    out.close();
    return n == 15625 && static_cast<bool>(out);
  }

  std::string Logs(const std::string& name) const {
    return absl::StrCat(out_dir_, "/logs/", name);
  }

  // Spawns the controller on database `db`; waits until its port answers.
  absl::StatusOr<std::unique_ptr<ChildProcess>> StartController(
      const std::string& db, const std::string& log, int* port,
      double* startup_s) {
    *port = testing::FreePort();
    const auto t = Clock::now();
    absl::StatusOr<std::unique_ptr<ChildProcess>> c =
        ChildProcess::Spawn({testing::Binary("controller/nas-controller"),
                             absl::StrCat("--listen=127.0.0.1:", *port),
                             "--database=" + Conninfo(port_, db),
                             // parallel_trials above the default cap.
                             "--max_parallel_trials=0"},
                            log);
    if (!c.ok()) return c.status();
    // The controller listens only once every running experiment is loaded
    // (strategy replay): poll the port every 20 ms (gRPC's own reconnect
    // backoff would round start-up times up to seconds).
    while (!PortOpen(*port)) {
      if (!(*c)->Running()) {
        return absl::UnavailableError(
            absl::StrCat("controller exited at start-up; see ", log));
      }
      if (Since(t) > 900) {
        return absl::DeadlineExceededError(
            absl::StrCat("controller did not listen within 900 s; see ", log));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port),
                                       grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(900))) {
      return absl::UnavailableError(
          absl::StrCat("controller did not start; see ", log));
    }
    *startup_s = Since(t);
    return c;
  }

  // Template database `nas`: migrated, one experiment, P evaluated
  // candidates, vacuumed.
  bool Prepare(int64_t p) {
    const std::string conn = Conninfo(port_, "nas");
    std::string out;
    const std::string migrate =
        absl::StrCat(testing::Binary("controller/nas-controller"),
                     " migrate --database=", ShellQuote(conn), " 2>&1");
    if (testing::RunCommand(migrate, &out) != 0) {
      fprintf(stderr, "dispatch_throughput: migrate: %s\n", out.c_str());
      return false;
    }
    int cport = 0;
    double startup = 0;
    absl::StatusOr<std::unique_ptr<ChildProcess>> controller = StartController(
        "nas", Logs(absl::StrCat("controller_create_P", p, ".log")), &cport,
        &startup);
    if (!controller.ok()) {
      fprintf(stderr, "dispatch_throughput: %s\n",
              controller.status().ToString().c_str());
      return false;
    }
    auto stub = v1::ExperimentService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", cport), grpc::InsecureChannelCredentials()));
    v1::CreateExperimentRequest req;
    req.set_spec_yaml(absl::StrCat(
        "name: dispatch-throughput\nsearch_space: {name: nb201}\n"
        "strategy: {name: random, seed: 9}\n"
        "budget: {max_trials: 1000000, parallel_trials: ",
        absl::GetFlag(FLAGS_parallel_trials),
        "}\nduplicates: retrain\nevaluation: {mode: FULL, epochs: 1}\n"));
    v1::Experiment exp;
    grpc::ClientContext ctx;
    grpc::Status st = stub->CreateExperiment(&ctx, req, &exp);
    if (!st.ok()) {
      fprintf(stderr, "dispatch_throughput: CreateExperiment: %s\n",
              st.error_message().c_str());
      return false;
    }
    experiment_id_ = exp.id();
    // Let the first tick queue its trials, then stop: the preload below
    // writes behind the controller's back.
    absl::SleepFor(absl::Seconds(1));
    (*controller)->Signal(SIGTERM);
    if (!(*controller)->WaitFor(absl::Seconds(60)).has_value()) {
      fprintf(stderr, "dispatch_throughput: controller did not stop\n");
      return false;
    }
    const std::string e = absl::StrCat(experiment_id_);
    // The spec's budget (max_trials <= 1,000,000 by validation) would end
    // the experiment at 1M stored trials: raise it in the stored spec, the
    // source of truth the controller reads back (binary proto).
    absl::StatusOr<std::string> hex = Psql(
        conn,
        "SELECT encode(spec_proto, 'hex') FROM experiments WHERE id = " + e);
    v1::ExperimentSpec spec;
    std::string bytes;
    if (hex.ok()) {
      for (size_t i = 0; i + 1 < hex->size(); i += 2) {
        bytes.push_back(
            static_cast<char>(std::stoi(hex->substr(i, 2), nullptr, 16)));
      }
    }
    if (!hex.ok() || !spec.ParseFromString(bytes)) {
      fprintf(stderr, "dispatch_throughput: cannot read the stored spec\n");
      return false;
    }
    spec.mutable_budget()->set_max_trials(kMaxTrials);
    std::string patched_hex;
    for (unsigned char c : spec.SerializeAsString()) {
      absl::StrAppendFormat(&patched_hex, "%02x", c);
    }
    absl::StatusOr<std::string> patched = Psql(
        conn,
        absl::StrCat(
            "UPDATE experiments SET spec_proto = decode('", patched_hex,
            "', 'hex'), spec = CASE WHEN spec->'budget' ? 'maxTrials' "
            "THEN jsonb_set(spec, '{budget,maxTrials}', '",
            kMaxTrials, "') ELSE jsonb_set(spec, '{budget,max_trials}', '",
            kMaxTrials, "') END WHERE id = ", e, " RETURNING spec->'budget'"));
    if (!patched.ok()) {
      fprintf(stderr, "dispatch_throughput: %s\n",
              patched.status().ToString().c_str());
      return false;
    }
    fprintf(stderr, "dispatch_throughput: stored budget now %s\n",
            patched->c_str());
    std::string sql = absl::StrCat(
        "CREATE TEMP TABLE g (idx int PRIMARY KEY, canonical text, choices "
        "int[], arch_hash text, macs bigint, params bigint, val float8, test "
        "float8, lat float8, loss float8, mmacs bigint, mparams bigint, proto "
        "bytea);\n"
        "\\copy g FROM ",
        ShellQuote(out_dir_ + "/genotypes.csv"), " WITH (FORMAT csv)\n");
    if (p > 0) {
      // seq s0 + i holds cell (i * 7919) mod 15625 (7919 is prime to
      // 15625: every cell, evenly); results are stored in seq order.
      absl::StrAppend(
          &sql, "SET maintenance_work_mem = '256MB';\nBEGIN;\n",
          "CREATE TEMP TABLE s0 AS SELECT next_seq AS v FROM experiments "
          "WHERE id = ",
          e, ";\n",
          "INSERT INTO candidates (experiment_id, seq, space, canonical, "
          "choices, arch_hash, state, macs, params, attempts, worker_id, "
          "val_accuracy, test_accuracy, latency_ms, latency_iqr_ms, "
          "train_seconds, train_loss, epochs, device, metric_macs, "
          "metric_params, observed_results, simulated_seconds) "
          "SELECT ",
          e,
          ", s0.v + i, 'nb201', g.canonical, g.choices, g.arch_hash, "
          "'EVALUATED', g.macs, g.params, 1, 'preload', g.val, g.test, g.lat, "
          "0, 0, g.loss, 1, 'simulated', g.mmacs, g.mparams, i, 0 "
          "FROM s0, generate_series(0, ",
          p - 1,
          ") i JOIN g ON g.idx = (i::bigint * 7919) % 15625 ORDER BY i;\n",
          "INSERT INTO trials (experiment_id, candidate_id, status, attempt, "
          "max_attempts, lease_seconds, required_labels, worker_id, "
          "started_at, finished_at) SELECT c.experiment_id, c.id, "
          "'SUCCEEDED', 1, x.max_attempts, x.lease_seconds, "
          "x.required_labels, 'preload', now(), now() FROM candidates c "
          "JOIN experiments x ON x.id = c.experiment_id, s0 WHERE "
          "c.experiment_id = ",
          e, " AND c.seq >= s0.v ORDER BY c.seq;\n",
          "INSERT INTO trial_attempts (trial_id, attempt, worker_id, "
          "ended_at, outcome) SELECT t.id, 1, 'preload', now(), 'SUCCEEDED' "
          "FROM trials t JOIN candidates c ON c.id = t.candidate_id, s0 "
          "WHERE c.experiment_id = ",
          e, " AND c.seq >= s0.v;\n",
          "INSERT INTO results (trial_id, attempt, worker_id, experiment_id, "
          "candidate_id, val_accuracy, test_accuracy, macs, params, "
          "latency_ms, train_seconds, epochs, device, metrics_proto, "
          "simulated_seconds) SELECT t.id, 1, 'preload', c.experiment_id, "
          "c.id, g.val, g.test, g.mmacs, g.mparams, g.lat, 0, 1, "
          "'simulated', g.proto, 0 FROM candidates c JOIN trials t ON "
          "t.candidate_id = c.id JOIN s0 ON true JOIN g ON g.idx = "
          "((c.seq - s0.v)::bigint * 7919) % 15625 WHERE c.experiment_id = ",
          e, " AND c.seq >= s0.v ORDER BY c.seq;\n",
          "UPDATE experiments SET next_seq = next_seq + ", p, " WHERE id = ", e,
          ";\nCOMMIT;\n");
    }
    absl::StrAppend(&sql,
                    "VACUUM ANALYZE candidates;\nVACUUM ANALYZE trials;\n"
                    "VACUUM ANALYZE trial_attempts;\nVACUUM ANALYZE results;\n"
                    "VACUUM ANALYZE experiments;\nCHECKPOINT;\n");
    const std::string file = out_dir_ + "/preload.sql";
    std::ofstream(file) << sql;
    absl::StatusOr<std::string> r = Psql(conn, "@" + file);
    if (!r.ok()) {
      fprintf(stderr, "dispatch_throughput: preload: %s\n",
              r.status().ToString().c_str());
      return false;
    }
    absl::StatusOr<int64_t> evaluated = PsqlInt(
        conn,
        absl::StrCat("SELECT count(*) FROM results WHERE experiment_id = ", e));
    if (!evaluated.ok() || *evaluated != p) {
      fprintf(stderr, "dispatch_throughput: preload stored %s results\n",
              evaluated.ok() ? absl::StrCat(*evaluated).c_str()
                             : evaluated.status().ToString().c_str());
      return false;
    }
    absl::StatusOr<std::string> size = Psql(
        conn, "SELECT pg_size_pretty(pg_database_size(current_database()))");
    fprintf(stderr, "dispatch_throughput: P=%lld: database %s\n",
            static_cast<long long>(p), size.ok() ? size->c_str() : "?");
    return true;
  }

  absl::StatusOr<RunRow> RunOne(int n, int64_t p) {
    RunRow row;
    row.workers = n;
    row.preload = p;
    const std::string db = absl::StrCat("run_n", n, "_p", p);
    const std::string admin = Conninfo(port_, "postgres");
    absl::StatusOr<std::string> s =
        Psql(admin, absl::StrCat("CREATE DATABASE ", db,
                                 " TEMPLATE nas STRATEGY FILE_COPY"));
    if (!s.ok()) return s.status();
    const std::string conn = Conninfo(port_, db);
    // Results stored before the run (the preload and the trials of the
    // experiment's creation): the window counts only newer ones.
    absl::StatusOr<int64_t> base =
        PsqlInt(conn, "SELECT coalesce(max(id), 0) FROM results");
    if (!base.ok()) return base.status();
    int cport = 0;
    const std::string tag = absl::StrCat("N", n, "_P", p);
    absl::StatusOr<std::unique_ptr<ChildProcess>> controller = StartController(
        db, Logs("controller_" + tag + ".log"), &cport, &row.startup_s);
    if (!controller.ok()) return controller.status();
    const pid_t cpid = (*controller)->pid();
    row.rss_start_kb = testing::ProcStatusKib(cpid, "VmRSS");
    const int procs = std::max(1, std::min(n, absl::GetFlag(FLAGS_max_procs)));
    row.procs = procs;
    std::vector<std::unique_ptr<ChildProcess>> sims;
    std::vector<std::string> latency_files;
    for (int i = 0; i < procs; ++i) {
      const int threads = n / procs + (i < n % procs ? 1 : 0);
      const std::string lf = Logs(absl::StrCat("lat_", tag, "_", i, ".txt"));
      std::filesystem::remove(lf);
      latency_files.push_back(lf);
      absl::StatusOr<std::unique_ptr<ChildProcess>> sim =
          ChildProcess::Spawn({testing::Binary("worker/nas-simworker"),
                               absl::StrCat("--controller=127.0.0.1:", cport),
                               absl::StrCat("--workers=", threads),
                               absl::StrCat("--id_prefix=s", i),
                               "--idle_exit_seconds=0", "--latency_file=" + lf},
                              Logs(absl::StrCat("sim_", tag, "_", i, ".log")));
      if (!sim.ok()) return sim.status();
      sims.push_back(*std::move(sim));
    }
    const std::string count_sql =
        absl::StrCat("SELECT count(*) FROM results WHERE id > ", *base);
    // Warm-up from the first new result on.
    const auto started = Clock::now();
    while (true) {
      absl::StatusOr<int64_t> c = PsqlInt(conn, count_sql);
      if (!c.ok()) return c.status();
      if (*c > 0) break;
      if (Since(started) > 120) {
        return absl::DeadlineExceededError(
            "no result stored within 120 s of starting the workers");
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    absl::SleepFor(absl::Seconds(warmup_));
    if (absl::GetFlag(FLAGS_pg_stat_statements)) {
      s = Psql(conn, "SELECT pg_stat_statements_reset()");
      if (!s.ok()) return s.status();
    }
    absl::StatusOr<int64_t> c0 = PsqlInt(conn, count_sql);
    if (!c0.ok()) return c0.status();
    const int64_t w0_us = absl::ToUnixMicros(absl::Now());
    const auto w0 = Clock::now();
    const double cpu0 = CpuSeconds(cpid);
    const double pg_cpu0 = ServerCpuSeconds(pg_data_dir_);
    absl::SleepFor(absl::Seconds(window_));
    absl::StatusOr<int64_t> c1 = PsqlInt(conn, count_sql);
    if (!c1.ok()) return c1.status();
    row.window_s = Since(w0);
    const int64_t w1_us = absl::ToUnixMicros(absl::Now());
    row.controller_cpu_s = CpuSeconds(cpid) - cpu0;
    row.postgres_cpu_s = ServerCpuSeconds(pg_data_dir_) - pg_cpu0;
    row.completed = *c1 - *c0;
    row.trials_per_s = static_cast<double>(row.completed) / row.window_s;
    if (absl::GetFlag(FLAGS_pg_stat_statements)) {
      s = Psql(conn, absl::StrCat(
                         "SELECT round(total_exec_time::numeric, 1) AS "
                         "total_ms, calls, round((total_exec_time / ",
                         std::max<int64_t>(1, row.completed),
                         ")::numeric, 4) AS ms_per_trial, "
                         "round(mean_exec_time::numeric, 3) AS mean_ms, "
                         "left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
                         "FROM pg_stat_statements ORDER BY total_exec_time "
                         "DESC LIMIT 15"));
      std::ofstream(absl::StrCat(out_dir_, "/statements_", tag, ".txt"))
          << "total_ms|calls|ms_per_trial|mean_ms|query (" << row.completed
          << " trials in " << row.window_s << " s)\n"
          << (s.ok() ? *s : s.status().ToString()) << "\n";
    }
    row.hwm_kb = testing::ProcStatusKib(cpid, "VmHWM");
    // The controller accepted the preloaded experiment: still RUNNING, and
    // it proposed new candidates after the preloaded ones (seq >= P).
    absl::StatusOr<std::string> state = Psql(
        conn,
        absl::StrCat("SELECT state || ' ' || (SELECT count(*) FROM "
                     "candidates WHERE experiment_id = e.id AND seq >= ",
                     p, ") FROM experiments e WHERE id = ", experiment_id_));
    if (!state.ok() || !absl::StartsWith(*state, "RUNNING ") ||
        absl::EndsWith(*state, " 0")) {
      absl::StrAppend(&row.note, "experiment not continued (",
                      state.ok() ? *state : state.status().ToString(), "); ");
    }
    for (auto& sim : sims) sim->Signal(SIGTERM);
    std::vector<double> acquire, report;
    for (size_t i = 0; i < sims.size(); ++i) {
      std::optional<int> rc = sims[i]->WaitFor(absl::Seconds(60));
      if (!rc.has_value() || *rc != 0) {
        row.note = absl::StrCat("nas-simworker ", i, " exit ",
                                rc.has_value() ? *rc : -1, "; ");
      }
      std::ifstream in(latency_files[i]);
      std::string method;
      int64_t end_us = 0, lat_us = 0;
      int useful = 0;
      while (in >> method >> end_us >> lat_us >> useful) {
        if (end_us < w0_us || end_us > w1_us || useful != 1) continue;
        (method == "AcquireTrial" ? acquire : report)
            .push_back(static_cast<double>(lat_us) / 1000.0);
      }
    }
    sims.clear();
    row.acquire_n = static_cast<int64_t>(acquire.size());
    row.report_n = static_cast<int64_t>(report.size());
    row.acquire_p50_ms = Percentile(acquire, 0.5);
    row.acquire_p99_ms = Percentile(acquire, 0.99);
    row.report_p50_ms = Percentile(report, 0.5);
    row.report_p99_ms = Percentile(report, 0.99);
    if (!(*controller)->Running()) row.note += "controller died; ";
    (*controller)->Signal(SIGTERM);
    (*controller)->WaitFor(absl::Seconds(30));
    controller->reset();
    s = Psql(admin, absl::StrCat("DROP DATABASE ", db));
    if (!s.ok()) return s.status();
    return row;
  }

  bool RunPgbench() {
    const std::string conn = Conninfo(port_, "pgb");
    absl::StatusOr<std::string> s =
        Psql(Conninfo(port_, "postgres"), "CREATE DATABASE pgb");
    // The shape of a `results` row and its indexes (no foreign keys: the
    // referenced rows do not exist here).
    if (s.ok()) {
      s = Psql(conn,
               "CREATE TABLE results (id bigserial PRIMARY KEY, trial_id "
               "bigserial NOT NULL UNIQUE, attempt integer NOT NULL, "
               "worker_id text NOT NULL, experiment_id bigint NOT NULL, "
               "candidate_id bigint NOT NULL, val_accuracy double precision "
               "NOT NULL, test_accuracy double precision NOT NULL, macs bigint "
               "NOT NULL, params bigint NOT NULL, latency_ms double precision "
               "NOT NULL, train_seconds double precision NOT NULL, epochs "
               "integer NOT NULL, device text NOT NULL, metrics_proto bytea "
               "NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
               "simulated_seconds double precision NOT NULL DEFAULT 0); "
               "CREATE INDEX results_experiment_idx ON results "
               "(experiment_id, id); CREATE INDEX results_candidate_idx ON "
               "results (candidate_id, id)");
    }
    if (!s.ok()) {
      fprintf(stderr, "dispatch_throughput: pgbench set-up: %s\n",
              s.status().ToString().c_str());
      return false;
    }
    const std::string script = out_dir_ + "/pgbench_insert.sql";
    std::ofstream(script)
        << "\\set c random(1, 1000000000)\n"
           "INSERT INTO results (attempt, worker_id, experiment_id, "
           "candidate_id, val_accuracy, test_accuracy, macs, params, "
           "latency_ms, train_seconds, epochs, device, metrics_proto) VALUES "
           "(1, 'sim-bench-0', 1, :c, 0.9, 0.89, 1000000, 10000, 1.5, 0, 1, "
           "'simulated', '\\x"
        << proto_hex_ << "'::bytea);\n";
    return RunPgbenchScript(script, "pgb", "pgbench", "tps", &pgbench_);
  }

  // Runs `script` on database `db` with each --pgbench_clients count
  // (prepared statements), appending {clients, transactions/s} to *rows;
  // logs as <label>_c<C>.log. False (with the output printed) on failure.
  bool RunPgbenchScript(const std::string& script, const std::string& db,
                        const std::string& label, const std::string& unit,
                        std::vector<PgbenchRow>* rows) {
    const std::vector<int64_t> clients = ParseList(
        quick_ ? std::string("8") : absl::GetFlag(FLAGS_pgbench_clients));
    const int seconds = quick_ ? 5 : absl::GetFlag(FLAGS_pgbench_seconds);
    for (int64_t c : clients) {
      std::string out;
      const std::string cmd =
          absl::StrCat("pgbench -n -M prepared -f ", ShellQuote(script), " -c ",
                       c, " -j ", std::min<int64_t>(c, 2), " -T ", seconds,
                       " -h 127.0.0.1 -p ", port_, " -U nas ", db, " 2>&1");
      const int rc = testing::RunCommand(cmd, &out);
      std::ofstream(Logs(absl::StrCat(label, "_c", c, ".log"))) << cmd << "\n"
                                                                << out;
      const size_t at = out.find("tps = ");
      double tps = 0;
      if (rc != 0 || at == std::string::npos ||
          !absl::SimpleAtod(out.substr(at + 6, out.find(' ', at + 6) - at - 6),
                            &tps)) {
        fprintf(stderr, "dispatch_throughput: %s failed: %s\n", label.c_str(),
                out.c_str());
        return false;
      }
      rows->push_back({static_cast<int>(c), tps});
      fprintf(stderr, "dispatch_throughput: %s -c %lld: %.0f %s\n",
              label.c_str(), static_cast<long long>(c), tps, unit.c_str());
    }
    return true;
  }

  // pgbench of one whole trial per transaction in our real schema (a copy
  // of the prepared experiment's database, its triggers, indexes and
  // foreign keys): the rows the controller writes for one trial (candidate
  // and trial, lease update of both and the attempt row, result row and
  // the three updates of a stored result), unbatched. The database's own
  // rate for trials with this schema; the controller batches across trials
  // (fewer statements and commits), so it is a reference, not a ceiling.
  bool RunPgbenchTrial() {
    const std::string db = "pgt";
    const std::string admin = Conninfo(port_, "postgres");
    absl::StatusOr<std::string> s =
        Psql(admin, absl::StrCat("CREATE DATABASE ", db,
                                 " TEMPLATE nas STRATEGY FILE_COPY"));
    if (s.ok()) {
      s = Psql(Conninfo(port_, db),
               "CREATE SEQUENCE pgbench_trial_seq START 100000000");
    }
    if (!s.ok()) {
      fprintf(stderr, "dispatch_throughput: trial pgbench set-up: %s\n",
              s.status().ToString().c_str());
      return false;
    }
    const std::string e = absl::StrCat(experiment_id_);
    const std::string script = out_dir_ + "/pgbench_trial.sql";
    std::ofstream(script)
        << "BEGIN;\n"
           "INSERT INTO candidates (experiment_id, seq, space, canonical, "
           "choices, arch_hash, state, macs, params) VALUES ("
        << e
        << ", nextval('pgbench_trial_seq'), 'nb201', "
           "'|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
           "nor_conv_3x3~1|nor_conv_3x3~2|', '{3,3,3,1,3,3}', "
           "md5(random()::text), 'QUEUED', 1000000, 10000) RETURNING id AS "
           "cand \\gset\n"
           "INSERT INTO trials (experiment_id, candidate_id, max_attempts, "
           "lease_seconds) VALUES ("
        << e
        << ", :cand, 3, 60) RETURNING id AS trial \\gset\n"
           "UPDATE trials SET status = 'RUNNING', attempt = 1, worker_id = "
           "'sim-0', started_at = now(), lease_until = now() + interval '60 "
           "s' WHERE id = :trial;\n"
           "UPDATE candidates SET state = 'RUNNING', attempts = 1, updated_at "
           "= now() WHERE id = :cand;\n"
           "INSERT INTO trial_attempts (trial_id, attempt, worker_id, "
           "lease_until) VALUES (:trial, 1, 'sim-0', now() + interval '60 "
           "s');\n"
           "INSERT INTO results (trial_id, attempt, worker_id, experiment_id, "
           "candidate_id, val_accuracy, test_accuracy, macs, params, "
           "latency_ms, train_seconds, epochs, device, metrics_proto) VALUES "
           "(:trial, 1, 'sim-0', "
        << e << ", :cand, 0.9, 0.89, 1000000, 10000, 1.5, 0, 1, 'simulated', "
        << "'\\x" << proto_hex_
        << "'::bytea);\n"
           "UPDATE trials SET status = 'SUCCEEDED', finished_at = now(), "
           "lease_until = NULL WHERE id = :trial;\n"
           "UPDATE trial_attempts SET outcome = 'SUCCEEDED', ended_at = now() "
           "WHERE trial_id = :trial AND attempt = 1;\n"
           "UPDATE candidates SET state = 'EVALUATED', worker_id = 'sim-0', "
           "val_accuracy = 0.9, test_accuracy = 0.89, metric_macs = 1000000, "
           "metric_params = 10000, latency_ms = 1.5, train_seconds = 0, "
           "epochs = 1, device = 'simulated', updated_at = now() WHERE id = "
           ":cand;\n"
           "COMMIT;\n";
    if (!RunPgbenchScript(script, db, "pgbench_trial", "trials/s",
                          &pgbench_trial_)) {
      return false;
    }
    s = Psql(admin, absl::StrCat("DROP DATABASE ", db));
    return s.ok();
  }

  int OptunaProcs(int64_t n) const {
    return static_cast<int>(std::min<int64_t>(
        n, quick_ ? 8 : absl::GetFlag(FLAGS_optuna_max_procs)));
  }

  // Optuna's reference for N workers: its best rate with at most
  // min(N, --optuna_max_procs) processes (more processes can be slower on a
  // small machine); 0 when not measured.
  double OptunaRate(int64_t n) const {
    double best = 0;
    for (const auto& [k, o] : optuna_) {
      if (k <= OptunaProcs(n)) best = std::max(best, o.trials_per_s);
    }
    return best;
  }

  bool RunOptuna(const std::vector<int64_t>& workers) {
    std::set<int> procs;
    for (int64_t n : workers) procs.insert(OptunaProcs(n));
    for (int k : procs) {
      const std::string db = absl::StrCat("optuna_", k);
      absl::StatusOr<std::string> s =
          Psql(Conninfo(port_, "postgres"), "CREATE DATABASE " + db);
      if (!s.ok()) {
        fprintf(stderr, "dispatch_throughput: %s\n",
                s.status().ToString().c_str());
        return false;
      }
      const std::string cmd = absl::StrCat(
          "/usr/bin/python3 ", NAS_SOURCE_DIR,
          "/bench/dispatch_throughput_optuna.py --url=",
          ShellQuote(
              absl::StrCat("postgresql://nas@127.0.0.1:", port_, "/", db)),
          " --dsn=", ShellQuote(Conninfo(port_, db)), " --procs=", k,
          " --warmup=", warmup_, " --window=", window_,
          " --sampler=", absl::GetFlag(FLAGS_optuna_sampler), " 2>",
          ShellQuote(Logs(absl::StrCat("optuna_", k, ".log"))));
      std::string out;
      const int rc = testing::RunCommand(cmd, &out);
      OptunaRow row;
      row.procs = k;
      const size_t at = out.find("\"trials_per_second\": ");
      if (rc != 0 || at == std::string::npos ||
          !absl::SimpleAtod(
              out.substr(at + 21, out.find_first_of(",}", at + 21) - at - 21),
              &row.trials_per_s)) {
        fprintf(stderr, "dispatch_throughput: optuna failed (%d): %s\n", rc,
                out.c_str());
        return false;
      }
      std::ofstream(Logs(absl::StrCat("optuna_", k, ".json"))) << out;
      optuna_[k] = row;
      fprintf(stderr,
              "dispatch_throughput: Optuna %d processes: %.1f trials/s\n", k,
              row.trials_per_s);
    }
    return true;
  }

  std::string Svg(const std::vector<RunRow>& rows, double pgbench) const {
    std::vector<int> ns;
    std::vector<int64_t> ps;
    for (const RunRow& r : rows) {
      if (std::find(ns.begin(), ns.end(), r.workers) == ns.end())
        ns.push_back(r.workers);
      if (std::find(ps.begin(), ps.end(), r.preload) == ps.end())
        ps.push_back(r.preload);
    }
    double hi = std::max(1.0, pgbench);
    for (const RunRow& r : rows) hi = std::max(hi, r.trials_per_s);
    const double lo = 1;
    hi = std::pow(10, std::ceil(std::log10(hi * 1.2)));
    const double w = 860, h = 460, l = 70, rr = 290, t = 40, b = 50;
    auto Y = [&](double v) {
      v = std::max(v, lo);
      return h - b - (h - t - b) * std::log10(v / lo) / std::log10(hi / lo);
    };
    std::string s = absl::StrFormat(
        "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
        "width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
        "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
        "fill=\"white\"/>\n<text x=\"%g\" y=\"24\" font-size=\"15\">"
        "Completed, durably stored trials per second (log scale)</text>\n",
        w, h, l);
    for (double v = lo; v <= hi * 1.001; v *= 10) {
      absl::StrAppendFormat(&s,
                            "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
                            "stroke=\"#ddd\"/><text x=\"%g\" y=\"%g\" "
                            "text-anchor=\"end\">%g</text>\n",
                            l, Y(v), w - rr, Y(v), l - 6, Y(v) + 4, v);
    }
    const char* colors[] = {"#1f77b4", "#6baed6", "#c6dbef", "#2ca02c"};
    const double group = (w - l - rr) / std::max<size_t>(1, ns.size());
    const size_t bars = ps.size() + 1;  // + Optuna
    const double bw = group * 0.8 / static_cast<double>(bars);
    for (size_t i = 0; i < ns.size(); ++i) {
      const double x0 = l + group * i + group * 0.1;
      absl::StrAppendFormat(&s,
                            "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">N "
                            "= %d</text>\n",
                            l + group * (i + 0.5), h - b + 18, ns[i]);
      for (size_t j = 0; j < bars; ++j) {
        double v = 0;
        if (j < ps.size()) {
          for (const RunRow& r : rows) {
            if (r.workers == ns[i] && r.preload == ps[j]) v = r.trials_per_s;
          }
        } else {
          v = OptunaRate(ns[i]);
        }
        if (v <= 0) continue;
        const double x = x0 + bw * j;
        absl::StrAppendFormat(
            &s,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\" stroke=\"#333\" stroke-width=\"0.5\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"9\">%s</text>\n",
            x, Y(v), bw, h - b - Y(v),
            j < ps.size() ? colors[j % 3] : colors[3], x + bw / 2, Y(v) - 3,
            // Whole numbers from 100 on (a label per narrow bar).
            v >= 100 ? absl::StrFormat("%.0f", v) : absl::StrFormat("%.3g", v));
      }
    }
    if (pgbench > 0) {
      absl::StrAppendFormat(&s,
                            "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" "
                            "stroke=\"#d62728\" stroke-width=\"2\" "
                            "stroke-dasharray=\"6,4\"/>\n",
                            l, Y(pgbench), w - rr, Y(pgbench));
    }
    int k = 0;
    auto legend = [&](const std::string& color, const std::string& text) {
      absl::StrAppendFormat(&s,
                            "<rect x=\"%g\" y=\"%g\" width=\"12\" "
                            "height=\"12\" fill=\"%s\"/><text x=\"%g\" "
                            "y=\"%g\">%s</text>\n",
                            w - rr + 12, t + 18 * k, color, w - rr + 30,
                            t + 18 * k + 11, text);
      ++k;
    };
    for (size_t j = 0; j < ps.size(); ++j) {
      legend(colors[j % 3], absl::StrCat("nas, ", ps[j], " stored"));
    }
    legend(colors[3],
           absl::StrCat("Optuna 3.1 RDB (max ",
                        quick_ ? 8 : absl::GetFlag(FLAGS_optuna_max_procs),
                        " processes)"));
    legend("#d62728",
           absl::StrFormat("pgbench 1-row insert (%.0f tps)", pgbench));
    absl::StrAppendFormat(&s,
                          "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
                          "fill=\"none\" stroke=\"#333\"/>\n</svg>\n",
                          l, t, w - l - rr, h - t - b);
    return s;
  }

  static double MinRate(const std::vector<RunRow>& rows) {
    double v = rows.empty() ? 0 : rows[0].trials_per_s;
    for (const RunRow& r : rows) v = std::min(v, r.trials_per_s);
    return v;
  }
  static double MaxRate(const std::vector<RunRow>& rows) {
    double v = 0;
    for (const RunRow& r : rows) v = std::max(v, r.trials_per_s);
    return v;
  }

  void Report(const std::vector<RunRow>& rows, double wall) {
    double best_pgbench = 0;
    int best_c = 0;
    for (const PgbenchRow& p : pgbench_) {
      if (p.tps > best_pgbench) {
        best_pgbench = p.tps;
        best_c = p.clients;
      }
    }
    std::ofstream csv(out_dir_ + "/dispatch_throughput.csv");
    csv << "kind,workers,processes,preload,trials_per_s,completed,window_s,"
           "ratio_pgbench,ratio_optuna,acquire_p50_ms,acquire_p99_ms,"
           "report_p50_ms,report_p99_ms,acquire_n,report_n,startup_s,"
           "rss_start_mib,peak_rss_mib,controller_cores,postgres_cores,note\n";
    for (const PgbenchRow& p : pgbench_) {
      csv << "pgbench," << p.clients << ",," << 0 << "," << p.tps
          << ",,,,,,,,,,,,,,,,\n";
    }
    double best_trial = 0;
    for (const PgbenchRow& p : pgbench_trial_) {
      best_trial = std::max(best_trial, p.tps);
      csv << "pgbench_trial," << p.clients << ",," << 0 << "," << p.tps
          << ",,,,,,,,,,,,,,,,\n";
    }
    for (const auto& [k, o] : optuna_) {
      csv << "optuna," << k << "," << k << ",0," << o.trials_per_s
          << ",,,,,,,,,,,,,,,,\n";
    }
    std::string md = absl::StrFormat(
        "| N workers (processes) | stored before | trials/s | / pgbench | / "
        "Optuna | AcquireTrial p50 / p99 (ms) | ReportResult p50 / p99 (ms) | "
        "trials leased by the report | "
        "controller start-up (s) | controller peak RSS (MiB) | CPU cores: "
        "controller / PostgreSQL "
        "|\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const RunRow& r : rows) {
      const double opt = OptunaRate(r.workers);
      const double rp = best_pgbench > 0 ? r.trials_per_s / best_pgbench : 0;
      const double ro = opt > 0 ? r.trials_per_s / opt : 0;
      csv << "nas," << r.workers << "," << r.procs << "," << r.preload << ","
          << r.trials_per_s << "," << r.completed << "," << r.window_s << ","
          << rp << "," << ro << "," << r.acquire_p50_ms << ","
          << r.acquire_p99_ms << "," << r.report_p50_ms << ","
          << r.report_p99_ms << "," << r.acquire_n << "," << r.report_n << ","
          << r.startup_s << "," << r.rss_start_kb / 1024.0 << ","
          << r.hwm_kb / 1024.0 << "," << r.controller_cpu_s / r.window_s << ","
          << r.postgres_cpu_s / r.window_s << "," << r.note << "\n";
      absl::StrAppendFormat(
          &md,
          "| %d (%d) | %d | %.1f | %.4fx | %.2fx | %s | %s | "
          "%.0f %% | %.1f | %.0f | %.2f / %.2f |%s\n",
          r.workers, r.procs, r.preload, r.trials_per_s, rp, ro,
          P50P99(r.acquire_p50_ms, r.acquire_p99_ms),
          P50P99(r.report_p50_ms, r.report_p99_ms),
          r.report_n > 0
              ? 100.0 * std::max<int64_t>(0, r.report_n - r.acquire_n) /
                    r.report_n
              : 0.0,
          r.startup_s, r.hwm_kb / 1024.0, r.controller_cpu_s / r.window_s,
          r.postgres_cpu_s / r.window_s,
          r.note.empty() ? "" : (" " + r.note).c_str());
    }
    absl::StrAppend(&md, "\n");
    for (const PgbenchRow& p : pgbench_trial_) {
      absl::StrAppendFormat(
          &md,
          "- pgbench, one whole trial's rows in our schema per transaction "
          "(unbatched), -c %d: %.0f trials/s%s\n",
          p.clients, p.tps,
          p.tps == best_trial
              ? absl::StrFormat(" (best; the controller reaches %.0f%%..%.0f%% "
                                "of it)",
                                100 * MinRate(rows) / best_trial,
                                100 * MaxRate(rows) / best_trial)
                    .c_str()
              : "");
    }
    for (const PgbenchRow& p : pgbench_) {
      absl::StrAppendFormat(&md,
                            "- pgbench, one results-shaped row per "
                            "transaction, -c %d: %.0f tps%s\n",
                            p.clients, p.tps,
                            p.clients == best_c ? " (the reference)" : "");
    }
    for (const auto& [k, o] : optuna_) {
      absl::StrAppendFormat(
          &md,
          "- Optuna %s, RDB storage, %d processes, %s sampler: %.1f "
          "trials/s\n",
          "3.1", k, absl::GetFlag(FLAGS_optuna_sampler), o.trials_per_s);
    }
    absl::StrAppendFormat(&md,
                          "- warm-up %d s, window %d s per run; wall time of "
                          "the whole bench %.0f s\n",
                          warmup_, window_, wall);
    std::ofstream(out_dir_ + "/dispatch_throughput.md") << md;
    std::ofstream(out_dir_ + "/dispatch_throughput.svg")
        << Svg(rows, best_pgbench);
    printf("%s", md.c_str());
    printf("wrote %s/dispatch_throughput.{csv,md,svg}\n", out_dir_.c_str());
  }

  std::string out_dir_;
  bool quick_ = false;
  int warmup_ = 5;
  int window_ = 20;
  int port_ = 0;  // PostgreSQL
  std::string pg_data_dir_;
  int64_t experiment_id_ = 0;
  // A real serialized EvaluationMetrics (genotype 0), for pgbench's rows.
  std::string proto_hex_;
  std::vector<PgbenchRow> pgbench_;
  std::vector<PgbenchRow> pgbench_trial_;  // whole trials per transaction
  std::map<int, OptunaRow> optuna_;
};

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // pg-temp.sh (through PostgresServer) reads it; every server of the run
  // (ours, pgbench's, Optuna's) is the same kind.
  if (absl::GetFlag(FLAGS_durable)) setenv("NAS_PG_DURABLE", "1", 1);
  return nas::Bench().Main();
}
