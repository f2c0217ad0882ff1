// The COMMAND evaluator (worker/evaluators/command_evaluator.h) with real
// trainer programs: shell scripts and a /usr/bin/python3 script written by
// each test, run under the supervisor. Covers the report protocol, STOP,
// failures (crash, timeout, garbage, no final line), the environment, the
// kept model, and a SIGKILLed worker leaving no process behind.
#include "worker/evaluators/command_evaluator.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/spaces/search_space.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/evaluators/mode_router.h"
#include "worker/evaluators/tabular_evaluator.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Alive and not a zombie.
bool Alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  const std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ||
         stat[close + 2] != 'Z';
}

// Waits until `pid` is gone; false when it is still alive after `limit`.
bool GoneWithin(pid_t pid, absl::Duration limit) {
  const absl::Time until = absl::Now() + limit;
  while (Alive(pid)) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// Pids written by a script, one per line, once the file has `n` lines.
std::vector<pid_t> WaitForPids(const std::string& path, size_t n) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    std::vector<pid_t> pids;
    for (absl::string_view line :
         absl::StrSplit(ReadAll(path), '\n', absl::SkipEmpty())) {
      int pid = 0;
      if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
    }
    if (pids.size() >= n) return pids;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return {};
}

class CommandEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/command_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    char* real = realpath(tmpl.c_str(), nullptr);
    ASSERT_NE(real, nullptr);
    dir_ = real;
    free(real);
  }
  void TearDown() override {
    (void)system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  // Writes an executable script `name` with `text`; returns its path.
  std::string Script(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), 0755);
    return path;
  }

  std::unique_ptr<Evaluator> MakeEvaluator(
      const std::map<std::string, std::string>& trainers,
      std::vector<std::string> env = {}) {
    CommandEvaluatorOptions o;
    o.setup.trainers = trainers;
    o.setup.env = std::move(env);
    o.setup.trial_dir = dir_ + "/trials";
    o.verbose = true;
    o.device = "cpu (test)";
    o.on_run_end = [this](const std::string&, const std::string& outcome) {
      outcomes_.push_back(outcome);
    };
    return MakeCommandEvaluator(std::move(o), nullptr);
  }

  // An nb201 COMMAND trial for `trainer`.
  static v1::Trial MakeTrial(const std::string& trainer, int timeout = 30,
                             int grace = 2) {
    v1::Trial t;
    t.set_trial_id(7);
    t.set_attempt(1);
    t.set_experiment_id(3);
    t.set_candidate_id(11);
    const SearchSpace* space = *GetSearchSpace("nb201");
    *t.mutable_genotype() = *space->ToProto({3, 1, 0, 2, 4, 3});
    t.mutable_search_space()->set_name("nb201");
    v1::EvaluationSpec& e = *t.mutable_evaluation();
    e.set_mode(v1::COMMAND);
    e.set_epochs(3);
    e.set_batch_size(64);
    e.set_data_seed(5);
    e.mutable_command()->set_trainer(trainer);
    e.mutable_command()->set_timeout_seconds(timeout);
    e.mutable_command()->set_grace_seconds(grace);
    (*e.mutable_command()->mutable_parameters())["lr"] = "0.05";
    (*e.mutable_command()->mutable_parameters())["layers"] = "3";
    (*e.mutable_command()->mutable_parameters())["aug"] = "true";
    (*e.mutable_command()->mutable_parameters())["opt"] = "adam";
    return t;
  }

  std::string dir_;
  std::vector<std::string> outcomes_;
};

TEST_F(CommandEvaluatorTest, GoodTrainerRelaysEpochsAndNamedMetrics) {
  const std::string replies = dir_ + "/replies";
  const std::string path = Script("good.sh", absl::StrCat(R"(#!/bin/sh
for e in 1 2 3; do
  echo "{\"epoch\": $e, \"loss\": 0.$((4 - e)), \"val_accuracy\": 0.$((e + 4)), \"val_top5\": 0.$((e + 6))}" >&3
  read reply <&4
  echo "$reply" >> )",
                                                          replies, R"(
done
echo "training done"
echo '{"final": true, "val_accuracy": 0.7, "test_accuracy": 0.69, "val_top5": 0.95, "latency_ms": 1.5}' >&3
)"));
  auto evaluator = MakeEvaluator({{"good", path}});
  v1::Trial trial = MakeTrial("good");
  trial.mutable_evaluation()->set_progress_metric("val_top5");
  std::vector<EpochProgress> seen;
  absl::StatusOr<v1::EvaluationMetrics> m =
      evaluator->Evaluate(trial, [&](const EpochProgress& p) {
        seen.push_back(p);
        return true;
      });
  NAS_ASSERT_OK(m);
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(seen[i].epoch, i + 1);
    EXPECT_DOUBLE_EQ(seen[i].val_accuracy, 0.7 + 0.1 * i);  // val_top5
    EXPECT_DOUBLE_EQ(seen[i].train_loss, 0.3 - 0.1 * i);
  }
  EXPECT_DOUBLE_EQ(m->val_accuracy(), 0.7);
  EXPECT_DOUBLE_EQ(m->test_accuracy(), 0.69);
  EXPECT_DOUBLE_EQ(m->named_metrics().at("val_top5"), 0.95);
  EXPECT_EQ(m->named_metrics().count("final"), 0u);
  EXPECT_EQ(m->epochs(), 3);
  EXPECT_DOUBLE_EQ(m->latency_ms(), 1.5);  // the program's own
  EXPECT_EQ(m->device(), "cpu (test)");
  EXPECT_GT(m->train_seconds(), 0);
  // Missing macs and params: nb201's analytic cost for Fashion-MNIST.
  const SearchSpace* space = *GetSearchSpace("nb201");
  v1::SearchSpaceSpec spec;
  spec.set_name("nb201");
  const Cost cost = *space->ComputeCost({3, 1, 0, 2, 4, 3}, spec, InputShape{});
  EXPECT_EQ(m->macs(), cost.macs);
  EXPECT_EQ(m->params(), cost.params);
  EXPECT_EQ(ReadAll(replies), "continue\ncontinue\ncontinue\n");
  EXPECT_EQ(outcomes_, std::vector<std::string>{"ok"});
  // The output directory is gone (no --keep_trial_dirs).
  struct stat st;
  EXPECT_NE(stat((dir_ + "/trials/trial-7-1").c_str(), &st), 0);
}

TEST_F(CommandEvaluatorTest, StopAfterEpochTwoEndsTheGroupAndKeepsEpochTwo) {
  const std::string pids = dir_ + "/pids";
  const std::string path = Script("long.sh", absl::StrCat(R"(#!/bin/sh
sleep 1000 &
echo $! >> )",
                                                          pids, R"(
echo $$ >> )",
                                                          pids, R"(
e=1
while true; do
  echo "{\"epoch\": $e, \"loss\": 1, \"val_accuracy\": 0.$e}" >&3
  e=$((e + 1))
  sleep 0.1
done
)"));
  auto evaluator = MakeEvaluator({{"long", path}});
  int calls = 0;
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::EvaluationMetrics> m =
      evaluator->Evaluate(MakeTrial("long", 30, 2),
                          [&](const EpochProgress& p) { return ++calls < 2; });
  NAS_ASSERT_OK(m);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(m->epochs(), 2);
  EXPECT_DOUBLE_EQ(m->val_accuracy(), 0.2);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  const std::vector<pid_t> p = WaitForPids(pids, 2);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(GoneWithin(p[0], absl::Seconds(3))) << "grandchild " << p[0];
  EXPECT_TRUE(GoneWithin(p[1], absl::Seconds(3))) << "program " << p[1];
  EXPECT_EQ(outcomes_, std::vector<std::string>{"stopped"});
}

TEST_F(CommandEvaluatorTest, CrashQuotesStderr) {
  const std::string path = Script("crash.sh", R"(#!/bin/sh
echo "loading data" >&2
echo "boom" >&2
exit 3
)");
  auto evaluator = MakeEvaluator({{"crash", path}});
  absl::StatusOr<v1::EvaluationMetrics> m =
      evaluator->Evaluate(MakeTrial("crash"), nullptr);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kAborted,
                          "trainer 'crash' exited with status 3"));
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kAborted, "loading data\nboom"));
  EXPECT_EQ(outcomes_, std::vector<std::string>{"failed"});
}

TEST_F(CommandEvaluatorTest, KilledBySignalIsNamed) {
  const std::string path = Script("segv.sh", "#!/bin/sh\nkill -SEGV $$\n");
  auto evaluator = MakeEvaluator({{"segv", path}});
  EXPECT_THAT(evaluator->Evaluate(MakeTrial("segv"), nullptr),
              StatusIs(absl::StatusCode::kAborted,
                       "trainer 'segv' was killed by signal 11"));
}

TEST_F(CommandEvaluatorTest, HangPastTimeoutIsStoppedEvenIgnoringSigterm) {
  const std::string pids = dir_ + "/pids";
  const std::string path = Script("hang.sh", absl::StrCat(R"(#!/bin/sh
trap '' TERM
echo $$ >> )",
                                                          pids, R"(
echo "still thinking" >&2
while true; do sleep 1; done
)"));
  auto evaluator = MakeEvaluator({{"hang", path}});
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::EvaluationMetrics> m = evaluator->Evaluate(
      MakeTrial("hang", /*timeout=*/2, /*grace=*/1), nullptr);
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kDeadlineExceeded,
                          "trainer 'hang' ran past timeout_seconds=2 and was "
                          "stopped"));
  EXPECT_THAT(m,
              StatusIs(absl::StatusCode::kDeadlineExceeded, "still thinking"));
  EXPECT_GE(took, absl::Seconds(2));
  EXPECT_LT(took, absl::Seconds(6));  // timeout + grace (SIGKILL) + slack
  const std::vector<pid_t> p = WaitForPids(pids, 1);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_FALSE(Alive(p[0]));
  EXPECT_EQ(outcomes_, std::vector<std::string>{"timeout"});
}

TEST_F(CommandEvaluatorTest, GarbageLineIsQuotedWithItsNumber) {
  const std::string path = Script("garbage.sh", R"(#!/bin/sh
echo '{"epoch": 1, "val_accuracy": 0.5}' >&3
echo 'this is not json' >&3
echo "after garbage" >&2
sleep 30
)");
  auto evaluator = MakeEvaluator({{"garbage", path}});
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::EvaluationMetrics> m = evaluator->Evaluate(
      MakeTrial("garbage"), [](const EpochProgress&) { return true; });
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument,
                          "report line 2 is malformed"));
  EXPECT_THAT(
      m, StatusIs(absl::StatusCode::kInvalidArgument, "'this is not json'"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // stopped, not waited
  EXPECT_EQ(outcomes_, std::vector<std::string>{"malformed"});
}

TEST_F(CommandEvaluatorTest, MalformedEpochLines) {
  struct Case {
    std::string line;
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"epoch": 1, "loss": 0.5})", "no 'val_accuracy'"},
           {R"({"epoch": 1, "val_accuracy": "high"})",
            "'val_accuracy' is not a number"},
           {R"([1, 2])", "not a JSON object"},
           {R"({"epoch": 0, "val_accuracy": 0.1})", "'epoch' must be in"},
           {R"({"epoch": 1, "val_accuracy": 0.1, "note": "x"})",
            "'note' is not a number"},
       }) {
    const std::string path =
        Script("bad.sh",
               absl::StrCat("#!/bin/sh\necho '", c.line, "' >&3\nsleep 30\n"));
    auto evaluator = MakeEvaluator({{"bad", path}});
    EXPECT_THAT(evaluator->Evaluate(MakeTrial("bad"), nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument, c.why))
        << c.line;
  }
  // A decreasing epoch.
  const std::string path = Script("back.sh", R"(#!/bin/sh
echo '{"epoch": 2, "val_accuracy": 0.1}' >&3
echo '{"epoch": 1, "val_accuracy": 0.1}' >&3
sleep 30
)");
  auto evaluator = MakeEvaluator({{"back", path}});
  EXPECT_THAT(evaluator->Evaluate(MakeTrial("back"), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "epoch 1 does not follow epoch 2"));
}

TEST_F(CommandEvaluatorTest, LineOver64KiBIsMalformed) {
  const std::string path = Script("long_line.sh", R"(#!/bin/sh
head -c 70000 /dev/zero | tr '\0' 'x' >&3
echo >&3
sleep 30
)");
  auto evaluator = MakeEvaluator({{"long_line", path}});
  EXPECT_THAT(evaluator->Evaluate(MakeTrial("long_line"), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "report line 1 is malformed (longer than 65536 bytes)"));
}

TEST_F(CommandEvaluatorTest, ExitWithoutFinalLineFails) {
  const std::string path = Script("nofinal.sh", R"(#!/bin/sh
echo '{"epoch": 1, "val_accuracy": 0.5}' >&3
echo "forgot the final line" >&2
)");
  auto evaluator = MakeEvaluator({{"nofinal", path}});
  absl::StatusOr<v1::EvaluationMetrics> m = evaluator->Evaluate(
      MakeTrial("nofinal"), [](const EpochProgress&) { return true; });
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument,
                          "trainer 'nofinal' exited without a final line"));
  EXPECT_THAT(
      m, StatusIs(absl::StatusCode::kInvalidArgument, "forgot the final line"));
}

TEST_F(CommandEvaluatorTest, UnknownTrainerIsFailedPrecondition) {
  auto evaluator = MakeEvaluator({{"good", "/bin/true"}});
  EXPECT_THAT(evaluator->Evaluate(MakeTrial("other"), nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "trainer 'other' is not configured on this worker"));
}

TEST_F(CommandEvaluatorTest, CleanEnvironmentAndTrialFile) {
  const std::string env_out = dir_ + "/env";
  const std::string trial_copy = dir_ + "/trial.json";
  const std::string path = Script("env.sh", absl::StrCat(R"(#!/bin/sh
env > )",
                                                         env_out, R"(
echo PWD=$(pwd) >> )",
                                                         env_out, R"(
cp "$NAS_TRIAL_FILE" )",
                                                         trial_copy, R"(
echo '{"final": true, "val_accuracy": 0.25}' > "$NAS_REPORT_FILE"
)"));
  setenv("NAS_TOKEN", "secret-token", 1);
  setenv("NAS_TEST_NOT_PASSED", "x", 1);
  setenv("NAS_TEST_PASSED", "yes", 1);
  auto evaluator = MakeEvaluator({{"env", path}}, {"NAS_TEST_PASSED"});
  absl::StatusOr<v1::EvaluationMetrics> m =
      evaluator->Evaluate(MakeTrial("env"), nullptr);
  unsetenv("NAS_TOKEN");
  unsetenv("NAS_TEST_NOT_PASSED");
  unsetenv("NAS_TEST_PASSED");
  NAS_ASSERT_OK(m);
  EXPECT_DOUBLE_EQ(m->val_accuracy(), 0.25);
  std::map<std::string, std::string> env;
  for (absl::string_view line :
       absl::StrSplit(ReadAll(env_out), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    env[kv.first] = kv.second;
  }
  const std::string out_dir = dir_ + "/trials/trial-7-1";
  EXPECT_EQ(env["NAS_TRIAL_FILE"], out_dir + "/trial.json");
  EXPECT_EQ(env["NAS_OUTPUT_DIR"], out_dir);
  EXPECT_EQ(env["NAS_REPORT_FILE"], "/dev/fd/3");
  EXPECT_EQ(env["NAS_REPORT_FD"], "3");
  EXPECT_EQ(env["NAS_CONTROL_FD"], "4");
  EXPECT_EQ(env["PWD"], out_dir);
  EXPECT_EQ(env["NAS_TEST_PASSED"], "yes");
  EXPECT_EQ(env.count("NAS_TOKEN"), 0u);
  EXPECT_EQ(env.count("NAS_TEST_NOT_PASSED"), 0u);
  if (getenv("PATH") != nullptr) EXPECT_EQ(env["PATH"], getenv("PATH"));

  google::protobuf::Struct file;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(ReadAll(trial_copy), &file)
          .ok());
  const auto& f = file.fields();
  EXPECT_EQ(f.at("trial_id").number_value(), 7);
  EXPECT_EQ(f.at("attempt").number_value(), 1);
  EXPECT_EQ(f.at("experiment_id").number_value(), 3);
  EXPECT_EQ(f.at("candidate_id").number_value(), 11);
  EXPECT_EQ(f.at("space").string_value(), "nb201");
  EXPECT_EQ(f.at("seed").number_value(), 5);
  EXPECT_EQ(f.at("epochs").number_value(), 3);
  EXPECT_EQ(f.at("batch_size").number_value(), 64);
  EXPECT_EQ(f.at("output_dir").string_value(), out_dir);
  EXPECT_EQ(f.at("progress_metric").string_value(), "val_accuracy");
  EXPECT_EQ(f.at("report_file").string_value(), "/dev/fd/3");
  EXPECT_FALSE(f.at("final_training").bool_value());
  // Decisions by edge name, ops by name.
  const auto& d = f.at("decisions").struct_value().fields();
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d.at("edge_1_0").string_value(), "nor_conv_3x3");
  EXPECT_EQ(d.at("edge_2_0").string_value(), "skip_connect");
  EXPECT_EQ(d.at("edge_3_2").string_value(), "nor_conv_3x3");
  // Parameters typed.
  const auto& p = f.at("parameters").struct_value().fields();
  EXPECT_EQ(p.at("lr").number_value(), 0.05);
  EXPECT_EQ(p.at("layers").number_value(), 3);
  EXPECT_TRUE(p.at("aug").bool_value());
  EXPECT_EQ(p.at("opt").string_value(), "adam");
  // Fashion-MNIST's shape (no `data` in the trial: the preset).
  const auto& in = f.at("input").struct_value().fields();
  EXPECT_EQ(in.at("channels").number_value(), 1);
  EXPECT_EQ(in.at("height").number_value(), 28);
  EXPECT_EQ(in.at("classes").number_value(), 10);
  // No CandidateTools here: no model file.
  EXPECT_EQ(f.count("model_file"), 0u);
}

TEST_F(CommandEvaluatorTest, PythonTrainerReadsRepliesAndStops) {
  const std::string path = Script("train.py", R"(#!/usr/bin/python3
import json, os
trial = json.load(open(os.environ["NAS_TRIAL_FILE"]))
report = open(os.environ["NAS_REPORT_FILE"], "w", buffering=1)
control = os.fdopen(int(os.environ["NAS_CONTROL_FD"]), "r")
assert trial["decisions"]["edge_1_0"] == "nor_conv_3x3"
for epoch in range(1, 100):
    report.write(json.dumps({"epoch": epoch, "loss": 1.0 / epoch,
                             "val_accuracy": 0.1 * epoch}) + "\n")
    if control.readline().strip() == "stop":
        # Stopped: a last word, then a clean exit.
        report.write(json.dumps({"final": True, "val_accuracy": 0.1 * epoch,
                                 "epochs": epoch, "val_extra": 42}) + "\n")
        break
)");
  auto evaluator = MakeEvaluator({{"py", path}});
  int calls = 0;
  absl::StatusOr<v1::EvaluationMetrics> m = evaluator->Evaluate(
      MakeTrial("py"), [&](const EpochProgress&) { return ++calls < 4; });
  NAS_ASSERT_OK(m);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(m->epochs(), 4);
  EXPECT_NEAR(m->val_accuracy(), 0.4, 1e-12);
  // A final line written after "stop" (if it made it before SIGTERM) says
  // the same and adds val_extra.
  if (m->named_metrics().count("val_extra") > 0) {
    EXPECT_DOUBLE_EQ(m->named_metrics().at("val_extra"), 42);
  } else {
    EXPECT_DOUBLE_EQ(m->train_loss(), 0.25);
  }
}

TEST_F(CommandEvaluatorTest, KeptModelIsTaken) {
  const std::string path = Script("model.sh", R"(#!/bin/sh
printf 'MODELBYTES' > model.pt
echo '{"final": true, "val_accuracy": 0.5}' >&3
)");
  auto evaluator = MakeEvaluator({{"model", path}});
  v1::Trial trial = MakeTrial("model");
  trial.set_export_model(true);
  NAS_ASSERT_OK(evaluator->Evaluate(trial, nullptr));
  EXPECT_EQ(evaluator->TakeModel(), "MODELBYTES");
  EXPECT_EQ(evaluator->TakeModel(), "");
  // Not asked for: not taken.
  trial.set_export_model(false);
  NAS_ASSERT_OK(evaluator->Evaluate(trial, nullptr));
  EXPECT_EQ(evaluator->TakeModel(), "");
}

TEST_F(CommandEvaluatorTest, StopCheckCancelsALongQuietRun) {
  const std::string path = Script("quiet.sh", R"(#!/bin/sh
echo '{"epoch": 1, "val_accuracy": 0.3}' >&3
sleep 1000
)");
  auto evaluator = MakeEvaluator({{"quiet", path}});
  std::atomic<bool> lease_lost{false};
  evaluator->SetStopCheck([&] { return lease_lost.load(); });
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::EvaluationMetrics> m =
      evaluator->Evaluate(MakeTrial("quiet"), [&](const EpochProgress&) {
        lease_lost = true;  // e.g. the heartbeat lost the lease meanwhile
        return true;
      });
  NAS_ASSERT_OK(m);
  EXPECT_EQ(m->epochs(), 1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(outcomes_, std::vector<std::string>{"cancelled"});
  // Cancelled before any epoch line: Unavailable.
  const std::string path2 = Script("silent.sh", "#!/bin/sh\nsleep 1000\n");
  auto evaluator2 = MakeEvaluator({{"silent", path2}});
  evaluator2->SetStopCheck(
      [&] { return absl::Now() - start > absl::Seconds(1); });
  EXPECT_THAT(evaluator2->Evaluate(MakeTrial("silent"), nullptr),
              StatusIs(absl::StatusCode::kUnavailable,
                       "stopped before its first epoch line"));
}

TEST_F(CommandEvaluatorTest, ProgramThatCannotStartIsFailedPrecondition) {
  const std::string path = Script("noexec.sh", "#!/nonexistent/interpreter\n");
  auto evaluator = MakeEvaluator({{"noexec", path}});
  EXPECT_THAT(evaluator->Evaluate(MakeTrial("noexec"), nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "trainer 'noexec' could not be started: cannot "
                       "execute"));
}

TEST_F(CommandEvaluatorTest, ModeRouterSendsCommandTrialsHere) {
  const std::string path = Script("quiet.sh", R"(#!/bin/sh
echo '{"epoch": 1, "val_accuracy": 0.3}' >&3
sleep 1000
)");
  std::unique_ptr<Evaluator> router = MakeModeRouter(
      std::make_unique<TabularEvaluator>(),
      std::make_unique<TabularEvaluator>(), MakeEvaluator({{"quiet", path}}));
  // The stop check reaches the command evaluator through the router.
  router->SetStopCheck([] { return true; });
  absl::StatusOr<v1::EvaluationMetrics> m = router->Evaluate(
      MakeTrial("quiet"), [](const EpochProgress&) { return true; });
  NAS_ASSERT_OK(m);
  EXPECT_EQ(m->device(), "cpu (test)");
  EXPECT_EQ(outcomes_, std::vector<std::string>{"cancelled"});
  std::unique_ptr<Evaluator> no_trainers =
      MakeModeRouter(std::make_unique<TabularEvaluator>(),
                     std::make_unique<TabularEvaluator>());
  EXPECT_THAT(no_trainers->Evaluate(MakeTrial("quiet"), nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "this worker has no trainers"));
}

// A throw-away "worker" process runs a trainer that starts a grandchild,
// and is SIGKILLed mid-trial: the supervisor ends the program's group
// within the grace period (1 s), by SIGTERM, or by SIGKILL when the
// program and its grandchild ignore SIGTERM.
TEST_F(CommandEvaluatorTest, SigkilledWorkerLeavesNoProcessBehind) {
  for (const bool ignore_term : {false, true}) {
    SCOPED_TRACE(ignore_term ? "ignoring SIGTERM" : "default SIGTERM");
    const std::string pids = absl::StrCat(dir_, "/pids", ignore_term);
    const std::string path =
        Script("orphan.sh",
               absl::StrCat("#!/bin/sh\n", ignore_term ? "trap '' TERM\n" : "",
                            "sleep 1000 &\necho $! >> ", pids, "\necho $$ >> ",
                            pids, "\nwhile true; do sleep 1; done\n"));
    fflush(nullptr);
    const pid_t worker = fork();
    ASSERT_GE(worker, 0);
    if (worker == 0) {
      auto evaluator = MakeEvaluator({{"orphan", path}});
      (void)evaluator->Evaluate(MakeTrial("orphan", 600, 1), nullptr);
      _exit(0);
    }
    const std::vector<pid_t> p = WaitForPids(pids, 2);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_TRUE(Alive(p[0]));
    EXPECT_TRUE(Alive(p[1]));
    ASSERT_EQ(kill(worker, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(worker, &status, 0), worker);
    const absl::Time killed = absl::Now();
    EXPECT_TRUE(GoneWithin(p[0], absl::Seconds(2))) << "grandchild " << p[0];
    EXPECT_TRUE(GoneWithin(p[1], absl::Seconds(2))) << "program " << p[1];
    if (ignore_term) {
      // Only SIGKILL, after the grace period, ends them.
      EXPECT_GE(absl::Now() - killed, absl::Milliseconds(900));
    }
  }
}

}  // namespace
}  // namespace nas
