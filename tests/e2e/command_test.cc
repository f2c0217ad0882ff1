// End to end with the user's own training code (issue 18, mode COMMAND):
// real controller, real PostgreSQL, real workers over loopback gRPC, and
// trainers that are real programs: the example PyTorch scripts under
// examples/trainers (Debian's python3-torch) and small shell scripts that
// crash, hang, print garbage or outlive their worker. Assertions read the
// database with psql, the scripts' own logs and /proc.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/spaces/nb201_space.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::Binary;

bool Alive(pid_t pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// The pids listed one per line in `path`.
std::vector<pid_t> Pids(const std::string& path) {
  std::vector<pid_t> out;
  for (absl::string_view line :
       absl::StrSplit(testing::ReadFile(path), '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &pid)) {
      out.push_back(pid);
    }
  }
  return out;
}

class CommandCluster : public ::testing::Test, public testing::LocalCluster {
 protected:
  void SetUp() override {
    NAS_ASSERT_OK(Start("command"));
    ASSERT_TRUE(StartController());
    log_ = dir() + "/printed.log";
    // Handed to trainers through --trainer_env (never by default).
    setenv("NAS_EXAMPLE_LOG", log_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("NAS_EXAMPLE_LOG");
    Finish(HasFailure());
  }

  // Writes an executable /bin/sh script and returns its path.
  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = dir() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    return path;
  }

  static std::string Example(const std::string& name) {
    return absl::StrCat(NAS_SOURCE_DIR, "/examples/trainers/", name);
  }

  // A COMMAND evaluation block.
  static std::string Command(const std::string& trainer, int epochs,
                             const std::string& more = "") {
    return absl::StrCat("\n  mode: COMMAND\n  epochs: ", epochs,
                        "\n  batch_size: 64\n  learning_rate: 0.05\n"
                        "  command:\n    trainer: ",
                        trainer, "\n", more);
  }

  std::string log_;
};

TEST_F(CommandCluster, TorchScriptCandidatesTrainedByAPythonScript) {
  StartWorker(
      "w1", {"--trainer=torchscript=" + Example("torchscript_fashion_mnist.py"),
             "--trainer_env=NAS_EXAMPLE_LOG"});
  WaitForWorkers(1);
  testing::SpecYaml spec;
  spec.name = "command-nb201";
  spec.search_space = testing::TinyNb201(4);
  spec.strategy = "{name: random, seed: 9}";
  spec.budget = testing::TrialBudget(3, 1);
  spec.lease_seconds = 60;
  spec.evaluation =
      Command("torchscript", 2,
              "    parameters: {train_samples: 1000, val_samples: 500}\n");
  spec.extra = "keep_models: 1\n";
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << spec.Yaml();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(10)));
  const v1::Experiment done = Get(e.id());
  ASSERT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 3);

  // What the script printed: "<candidate id> <canonical> <val> <test>".
  std::map<int64_t, std::vector<std::string>> printed;
  for (absl::string_view line :
       absl::StrSplit(testing::ReadFile(log_), '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    ASSERT_EQ(f.size(), 4u) << line;
    int64_t id = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[0], &id)) << line;
    printed[id] = f;
  }
  ASSERT_EQ(printed.size(), 3u) << testing::ReadFile(log_);

  const std::vector<v1::Candidate> candidates = Candidates(e.id());
  ASSERT_EQ(candidates.size(), 3u);
  v1::SearchSpaceSpec space;
  space.set_name("nb201");
  space.mutable_nb201()->set_channels(4);
  space.mutable_nb201()->set_cells_per_stage(1);
  const Nb201Space nb201;
  for (const v1::Candidate& c : candidates) {
    ASSERT_EQ(printed.count(c.id()), 1u) << c.id();
    const std::vector<std::string>& p = printed[c.id()];
    EXPECT_EQ(p[1], c.genotype().canonical());
    double val = 0, test = 0;
    ASSERT_TRUE(absl::SimpleAtod(p[2], &val));
    ASSERT_TRUE(absl::SimpleAtod(p[3], &test));
    // Stored exactly as the script computed them.
    EXPECT_EQ(c.metrics().val_accuracy(), val) << c.DebugString();
    EXPECT_EQ(c.metrics().test_accuracy(), test);
    EXPECT_GT(val, 0.3);  // learnt something (chance is 0.1)
    EXPECT_EQ(c.metrics().epochs(), 2);
    // Not reported by the script: the analytic cost of the exact network,
    // and a latency measured by the worker on the handed-over network.
    const std::vector<int> choices(c.genotype().choices().begin(),
                                   c.genotype().choices().end());
    const absl::StatusOr<Cost> cost =
        nb201.ComputeCost(choices, space, InputShape{1, 28, 28, 10});
    NAS_ASSERT_OK(cost.status());
    EXPECT_EQ(c.metrics().macs(), cost->macs);
    EXPECT_EQ(c.metrics().params(), cost->params);
    EXPECT_GT(c.metrics().latency_ms(), 0);
    // Both epochs were relayed as progress.
    EXPECT_EQ(Count(absl::StrCat(
                  "SELECT count(*) FROM trial_progress p JOIN trials t ON "
                  "t.id = p.trial_id WHERE t.candidate_id = ",
                  c.id())),
              2);
  }

  // The model the script saved became the kept model and loads in Python.
  const std::string model = dir() + "/best.pt";
  std::string out;
  ASSERT_EQ(
      testing::RunCommand(
          absl::StrCat(Binary("client/nasctl"),
                       " --controller=127.0.0.1:", port(), " export ", e.id(),
                       " ", done.best().id(), " -f ", model, " 2>&1"),
          &out),
      0)
      << out;
  ASSERT_EQ(testing::RunCommand(
                absl::StrCat("/usr/bin/python3 -c 'import torch,sys; "
                             "m=torch.jit.load(sys.argv[1]); m.eval(); "
                             "print(tuple(m(torch.zeros(1,1,28,28)).shape))' ",
                             model, " 2>&1"),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("(1, 10)"), std::string::npos) << out;
}

TEST_F(CommandCluster, DeclaredSpaceWithEvolutionAndAsha) {
  // The real example trainer, behind a wrapper that records its pid (exec
  // keeps it) so that the test can see the processes of stopped trials.
  const std::string pids = dir() + "/cnn.pids";
  const std::string wrapper = Script(
      "cnn.sh", absl::StrCat("echo $$ >> ", pids, "\nexec /usr/bin/python3 ",
                             Example("cnn_space.py"), "\n"));
  for (const char* w : {"w1", "w2"}) {
    StartWorker(w, {"--trainer=cnn=" + wrapper});
  }
  WaitForWorkers(2);
  testing::SpecYaml spec;
  spec.name = "declared-cnn";
  spec.search_space =
      "\n  name: custom\n  decisions:\n"
      "    - {name: depth, choices: [1, 2]}\n"
      "    - {name: width, choices: [4, 8, 16]}\n"
      "    - {name: kernel, choices: [3, 5]}\n"
      "    - {name: activation, choices: [relu, gelu]}\n";
  spec.strategy =
      "{name: evolution, seed: 4, evolution: {population: 4, sample_size: 2, "
      "dedupe: true}}";
  spec.objective = "{metric: val_top2}";
  spec.budget = testing::TrialBudget(8, 2);
  spec.lease_seconds = 60;
  spec.evaluation =
      Command("cnn", 4,
              "    parameters: {train_samples: 600, val_samples: 300}\n"
              "    grace_seconds: 3\n");
  spec.extra =
      "early_stopping: {rule: asha, min_epochs: 1, reduction_factor: 2}\n";
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << spec.Yaml();
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(15)));
  const v1::Experiment done = Get(e.id());
  ASSERT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.counts().trials_succeeded(), 8);

  // Eight distinct declared genotypes in the space's canonical form, each
  // with the trainer's named metric stored.
  // (The canonical string holds psql's separator: it comes last.)
  const std::string rows = Psql(absl::StrCat(
      "SELECT named_metrics->>'val_top2', canonical FROM candidates WHERE "
      "experiment_id=",
      e.id(), " AND state='EVALUATED' ORDER BY id"));
  std::vector<std::string> lines = absl::StrSplit(rows, '\n');
  ASSERT_EQ(lines.size(), 8u) << rows;
  std::set<std::string> seen;
  for (const std::string& line : lines) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits('|', 1));
    ASSERT_EQ(f.size(), 2u) << line;
    EXPECT_TRUE(absl::StartsWith(f[1], "depth=")) << line;
    EXPECT_TRUE(seen.insert(f[1]).second) << "repeated " << f[1];
    double top2 = -1;
    EXPECT_TRUE(absl::SimpleAtod(f[0], &top2)) << line;
    EXPECT_GE(top2, 0);
    EXPECT_LE(top2, 1);
  }
  // The best candidate is the one with the best val_top2.
  ASSERT_TRUE(done.has_best());
  EXPECT_EQ(Psql(absl::StrCat(
                "SELECT id FROM candidates WHERE experiment_id=", e.id(),
                " AND state='EVALUATED' ORDER BY (named_metrics->>'val_top2')"
                "::float8 DESC, seq LIMIT 1")),
            absl::StrCat(done.best().id()));

  // ASHA stopped some trials; each ended (its process group gone, its
  // result stored) within the grace period of the STOP.
  const int stopped = Count(absl::StrCat(
      "SELECT count(*) FROM trial_progress p JOIN trials t ON t.id = "
      "p.trial_id WHERE t.experiment_id=",
      e.id(), " AND p.decision <> ''"));
  EXPECT_GE(stopped, 1);
  const std::string late = Psql(absl::StrCat(
      "SELECT t.id, extract(epoch FROM t.finished_at - p.reported_at) FROM "
      "trial_progress p JOIN trials t ON t.id = p.trial_id WHERE "
      "t.experiment_id=",
      e.id(),
      " AND p.decision <> '' AND t.finished_at - p.reported_at > "
      "interval '5 seconds'"));
  EXPECT_EQ(late, "") << "stopped trials that ended after the grace period";
  const std::vector<pid_t> started = Pids(pids);
  EXPECT_EQ(started.size(), 8u);
  for (pid_t pid : started) EXPECT_FALSE(Alive(pid)) << pid;
}

TEST_F(CommandCluster, CrashHangAndGarbageFailWithTheirCause) {
  const std::string hang_pids = dir() + "/hang.pids";
  const std::string crash = Script("crash.sh",
                                   "echo 'loading the data' >&2\necho 'boom: "
                                   "CUDA out of memory' >&2\nexit 3\n");
  const std::string hang =
      Script("hang.sh", absl::StrCat("echo $$ >> ", hang_pids,
                                     "\nwhile true; do sleep 1; done\n"));
  const std::string garbage =
      Script("garbage.sh",
             "echo '{\"epoch\": 1, \"loss\": 0.5, \"val_accuracy\": 0.5}' >&3\n"
             "echo 'Epoch 2/3 ---- acc=0.7' >&3\nsleep 30\n");
  StartWorker("w1", {"--trainer=crash=" + crash + ",hang=" + hang +
                     ",garbage=" + garbage});
  WaitForWorkers(1);
  std::map<std::string, int64_t> ids;
  for (const char* trainer : {"crash", "hang", "garbage"}) {
    testing::SpecYaml spec;
    spec.name = std::string("fails-") + trainer;
    spec.search_space = testing::TinyNb201(4);
    spec.strategy = "{name: random, seed: 1}";
    spec.budget = testing::TrialBudget(1, 1);
    spec.lease_seconds = 30;
    spec.max_attempts = 1;
    spec.evaluation =
        Command(trainer, 3, "    timeout_seconds: 3\n    grace_seconds: 1\n");
    v1::Experiment e;
    grpc::Status s = Create(spec.Yaml(), &e);
    ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << spec.Yaml();
    ids[trainer] = e.id();
  }
  std::map<std::string, std::string> reason;
  for (const auto& [trainer, id] : ids) {
    ASSERT_TRUE(WaitFinished(id, absl::Minutes(3))) << trainer;
    EXPECT_EQ(Get(id).state(), v1::EXPERIMENT_FAILED) << trainer;
    reason[trainer] = Psql(
        absl::StrCat("SELECT reason FROM candidates WHERE experiment_id=", id));
  }
  // The exit status and the last lines of stderr.
  EXPECT_NE(reason["crash"].find("status 3"), std::string::npos)
      << reason["crash"];
  EXPECT_NE(reason["crash"].find("boom: CUDA out of memory"), std::string::npos)
      << reason["crash"];
  EXPECT_NE(reason["hang"].find("timeout_seconds=3"), std::string::npos)
      << reason["hang"];
  EXPECT_NE(reason["garbage"].find("Epoch 2/3 ---- acc=0.7"), std::string::npos)
      << reason["garbage"];
  EXPECT_NE(reason["garbage"].find("line 2"), std::string::npos)
      << reason["garbage"];
  // The hung program was killed, not left behind.
  const std::vector<pid_t> hung = Pids(hang_pids);
  ASSERT_EQ(hung.size(), 1u);
  EXPECT_FALSE(Alive(hung[0]));
}

TEST_F(CommandCluster,
       WorkerKilledMidTrialLeavesNoProcessAndTheTrialRunsElsewhere) {
  const std::string pids = dir() + "/slow.pids";
  // Reports an epoch per second for 6 epochs; its own child (a grandchild
  // of the worker) sleeps far longer.
  const std::string slow = Script(
      "slow.sh",
      absl::StrCat("sleep 1000 &\necho $! >> ", pids, "\necho $$ >> ", pids,
                   "\nfor e in 1 2 3 4 5 6; do sleep 1; echo "
                   "\"{\\\"epoch\\\": $e, \\\"loss\\\": 1, "
                   "\\\"val_accuracy\\\": 0.$e}\" >&3; done\n"
                   "kill $! 2>/dev/null\n"
                   "echo '{\"final\": true, \"val_accuracy\": 0.6, "
                   "\"test_accuracy\": 0.5}' >&3\n"));
  StartWorker("w1", {"--trainer=slow=" + slow});
  WaitForWorkers(1);
  testing::SpecYaml spec;
  spec.name = "killed-worker";
  spec.search_space = testing::TinyNb201(4);
  spec.strategy = "{name: random, seed: 2}";
  spec.budget = testing::TrialBudget(1, 1);
  spec.lease_seconds = 4;
  spec.evaluation = Command("slow", 6, "    grace_seconds: 2\n");
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << spec.Yaml();
  ASSERT_TRUE(WaitFor(
      "the trainer to start", [&] { return Pids(pids).size() >= 2; },
      absl::Minutes(2)));
  const std::vector<pid_t> first = Pids(pids);
  ASSERT_TRUE(Alive(first[0]) && Alive(first[1]));
  worker("w1")->Signal(SIGKILL);
  ASSERT_TRUE(worker("w1")->WaitFor(absl::Seconds(10)).has_value());
  // The program and its child are gone within the grace period (+ slack).
  EXPECT_TRUE(WaitFor(
      "the orphaned trainer to be killed",
      [&] { return !Alive(first[0]) && !Alive(first[1]); }, absl::Seconds(5)));
  // The lease expires; another worker runs the trial again.
  StartWorker("w2", {"--trainer=slow=" + slow});
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(3)));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(
      Psql(absl::StrCat("SELECT attempt || ' ' || worker_id FROM trials WHERE "
                        "experiment_id=",
                        e.id())),
      "2 w2");
  EXPECT_DOUBLE_EQ(done.best().metrics().val_accuracy(), 0.6);
}

TEST_F(CommandCluster, ATrainerNoWorkerHasWaitsAndSaysWhy) {
  StartWorker("w1");  // no trainers
  WaitForWorkers(1);
  testing::SpecYaml spec;
  spec.name = "missing-trainer";
  spec.search_space = testing::TinyNb201(4);
  spec.strategy = "{name: random, seed: 3}";
  spec.budget = testing::TrialBudget(1, 1);
  spec.evaluation = Command("bert-finetune", 1);
  v1::Experiment e;
  grpc::Status s = Create(spec.Yaml(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << spec.Yaml();
  ASSERT_TRUE(WaitFor(
      "the waiting reason", [&] { return !Get(e.id()).waiting().empty(); },
      absl::Seconds(30)));
  const std::string waiting = Get(e.id()).waiting();
  EXPECT_NE(waiting.find("trainer 'bert-finetune'"), std::string::npos)
      << waiting;
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM trials WHERE "
                               "experiment_id=",
                               e.id(), " AND status <> 'QUEUED'")),
            0);
  // A worker that has it takes the trial.
  const std::string ok =
      Script("ok.sh",
             "echo '{\"epoch\": 1, \"loss\": 1, \"val_accuracy\": 0.25}' >&3\n"
             "echo '{\"final\": true, \"val_accuracy\": 0.25}' >&3\n");
  StartWorker("w2", {"--trainer=bert-finetune=" + ok});
  ASSERT_TRUE(WaitFinished(e.id(), absl::Minutes(2)));
  const v1::Experiment done = Get(e.id());
  EXPECT_EQ(done.state(), v1::EXPERIMENT_SUCCEEDED) << done.error();
  EXPECT_EQ(done.waiting(), "");
}

}  // namespace
}  // namespace nas
