// Mode COMMAND with the LibTorch parts (MakeTorchCandidateTools): an nb201
// trial hands over an untrained TorchScript candidate.pt that Python's
// torch.jit.load (Debian's python3-torch, /usr/bin/python3) loads and trains
// one SGD step on; the worker measures the latency the program did not
// report.
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/spaces/search_space.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/command/candidate_tools.h"
#include "worker/evaluators/command_evaluator.h"

namespace nas {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CommandTorchTest, Nb201CandidateLoadsAndTrainsInPython) {
  std::string dir = ::testing::TempDir() + "/command_torch_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string log = dir + "/log";
  const std::string script = dir + "/train.py";
  std::ofstream(script) << absl::StrCat(R"(#!/usr/bin/python3
import json, os, sys
import torch
trial = json.load(open(os.environ["NAS_TRIAL_FILE"]))
d = trial["decisions"]
assert sorted(d) == ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0",
                     "edge_3_1", "edge_3_2"], d
assert d["edge_1_0"] == "nor_conv_3x3" and d["edge_3_1"] == "avg_pool_3x3", d
assert os.path.dirname(trial["model_file"]) == trial["output_dir"]
model = torch.jit.load(trial["model_file"])
i = trial["input"]
torch.manual_seed(trial["seed"])
x = torch.rand(8, i["channels"], i["height"], i["width"])
y = torch.randint(0, i["classes"], (8,))
params = list(model.parameters())
before = [p.detach().clone() for p in params]
opt = torch.optim.SGD(params, lr=0.1)
model.train()
loss = torch.nn.functional.cross_entropy(model(x), y)
opt.zero_grad()
loss.backward()
opt.step()
changed = sum(int(not torch.equal(a, p.detach())) for a, p in zip(before, params))
n = sum(p.numel() for p in params)
with open(")",
                                        log, R"(", "w") as f:
    f.write(f"{len(params)} {changed} {n} {loss.item()}\n")
report = open(os.environ["NAS_REPORT_FILE"], "w", buffering=1)
report.write(json.dumps({"epoch": 1, "loss": loss.item(), "val_accuracy": 0.1}) + "\n")
report.write(json.dumps({"final": True, "val_accuracy": 0.1, "params_seen": n}) + "\n")
)");
  chmod(script.c_str(), 0755);

  CommandEvaluatorOptions o;
  o.setup.trainers = {{"torchscript", script}};
  o.setup.trial_dir = dir + "/trials";
  o.setup.keep_trial_dirs = true;
  auto evaluator = MakeCommandEvaluator(
      std::move(o), MakeTorchCandidateTools(/*threads=*/1).value());
  v1::Trial t;
  t.set_trial_id(21);
  t.set_attempt(2);
  const std::vector<int> choices = {3, 1, 2, 0, 4, 1};
  const SearchSpace* space = *GetSearchSpace("nb201");
  *t.mutable_genotype() = *space->ToProto(choices);
  t.mutable_search_space()->set_name("nb201");
  t.mutable_search_space()->mutable_nb201()->set_channels(8);
  t.mutable_search_space()->mutable_nb201()->set_cells_per_stage(1);
  v1::EvaluationSpec& e = *t.mutable_evaluation();
  e.set_mode(v1::COMMAND);
  e.set_epochs(1);
  e.set_data_seed(3);
  e.set_latency_runs(5);
  e.mutable_command()->set_trainer("torchscript");
  e.mutable_command()->set_timeout_seconds(120);
  absl::StatusOr<v1::EvaluationMetrics> m = evaluator->Evaluate(t, nullptr);
  NAS_ASSERT_OK(m);
  // Python trained it: every parameter tensor got a step.
  int tensors = 0, changed = 0;
  long long numel = 0;
  double loss = 0;
  ASSERT_EQ(sscanf(ReadAll(log).c_str(), "%d %d %lld %lf", &tensors, &changed,
                   &numel, &loss),
            4)
      << ReadAll(log);
  EXPECT_GT(tensors, 0);
  EXPECT_GT(changed, 0);
  EXPECT_GT(loss, 0);
  // The analytic params are those of the module Python saw; MACs analytic;
  // latency measured by the worker.
  const Cost cost =
      *space->ComputeCost(choices, t.search_space(), InputShape{});
  EXPECT_EQ(m->params(), cost.params);
  EXPECT_EQ(m->macs(), cost.macs);
  EXPECT_DOUBLE_EQ(m->named_metrics().at("params_seen"),
                   static_cast<double>(numel));
  EXPECT_EQ(numel, cost.params);
  EXPECT_GT(m->latency_ms(), 0);
  EXPECT_EQ(m->epochs(), 1);
  // --keep_trial_dirs: the directory and its files stay.
  struct stat st;
  EXPECT_EQ(stat((dir + "/trials/trial-21-2/candidate.pt").c_str(), &st), 0);
  EXPECT_EQ(stat((dir + "/trials/trial-21-2/trial.json").c_str(), &st), 0);
}

}  // namespace
}  // namespace nas
