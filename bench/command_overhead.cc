// bench/command_overhead: what mode COMMAND costs against the built-in
// trainer, for the same nb201 network, epochs and Fashion-MNIST images,
// through the worker's own evaluators (the ones nas-worker routes to).
//
// Five runs, alternating, each repeated --repeats times (medians):
//   builtin    the built-in LibTorch trainer (mode FULL)
//   python     mode COMMAND with examples/trainers/torchscript_fashion_mnist.py
//              (Debian's python3-torch) training the handed-over TorchScript
//              candidate with the same epochs, batch size and image counts
//   null_sh    mode COMMAND with a /bin/sh trainer that reports the epochs
//              and a final line at once: the path's fixed cost (hand-over
//              including the TorchScript export, supervisor and program
//              start, report relay, latency measurement)
//   null_py    the same from Python after `import torch` and
//              torch.jit.load(model_file): what a PyTorch program pays
//              before its first step
//   relay      a /bin/sh trainer writing --relay_lines epoch lines: the cost
//              of relaying one report line into the evaluator's callback
//              (the worker then sends it as a ReportProgress RPC, measured
//              by bench/dispatch_throughput)
//
//   NAS_BUILD_DIR=/tmp/b bash scripts/build.sh command_overhead
//   /tmp/b/bench/command_overhead --out=docs/bench/issue18
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/spaces/search_space.h"
#include "common/spec/spec.h"
#include "common/status_macros.h"
#include "worker/command/candidate_tools.h"
#include "worker/command/trainer_setup.h"
#include "worker/evaluators/command_evaluator.h"
#include "worker/evaluators/evaluator.h"

ABSL_FLAG(int, epochs, 2, "training epochs of every run");
ABSL_FLAG(int, train_samples, 5000, "training images");
ABSL_FLAG(int, val_samples, 2000, "validation images");
ABSL_FLAG(int, repeats, 3, "runs of each kind (medians reported)");
ABSL_FLAG(int, threads, 1, "intra-op threads (built-in) / OMP_NUM_THREADS");
ABSL_FLAG(int, relay_lines, 100000, "epoch lines of the relay run");
ABSL_FLAG(std::string, work, "/tmp/nas-command-overhead", "scratch directory");
ABSL_FLAG(std::string, out, "", "directory for command_overhead.csv");

namespace nas {
namespace {

constexpr char kCell[] =
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
    "nor_conv_3x3~1|skip_connect~2|";

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Script(const std::string& dir, const std::string& name,
                   const std::string& body) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << body;
  chmod(path.c_str(), 0755);
  return path;
}

// A validated spec of `mode` for the bench's network and images.
absl::StatusOr<v1::ExperimentSpec> Spec(const std::string& mode,
                                        const std::string& trainer,
                                        bool custom = false) {
  const int epochs = absl::GetFlag(FLAGS_epochs);
  const int train = absl::GetFlag(FLAGS_train_samples);
  const int val = absl::GetFlag(FLAGS_val_samples);
  std::string yaml = absl::StrCat(
      "name: bench\nsearch_space: ",
      custom ? "{name: custom, decisions: [{name: cell, choices: [a, b]}]}"
             : "{name: nb201, nb201: {channels: 8, cells_per_stage: 1}}",
      "\nbudget: {max_trials: 1}\nevaluation:\n  mode: ", mode,
      "\n  epochs: ", epochs, "\n  batch_size: 64\n  learning_rate: 0.05\n");
  if (mode == "COMMAND") {
    absl::StrAppend(&yaml, "  command: {trainer: ", trainer,
                    ", parameters: {train_samples: ", train,
                    ", val_samples: ", val, "}}\n");
  } else {
    absl::StrAppend(&yaml, "  train_samples: ", train, "\n  val_samples: ", val,
                    "\n");
  }
  return PrepareSpec(v1::ExperimentSpec(), yaml);
}

absl::StatusOr<v1::Trial> MakeTrial(const v1::ExperimentSpec& spec, int id) {
  NAS_ASSIGN_OR_RETURN(std::shared_ptr<const SearchSpace> space,
                       MakeSearchSpace(spec.search_space()));
  NAS_ASSIGN_OR_RETURN(
      std::vector<int> choices,
      space->Parse(space->name() == "custom" ? "cell=a" : kCell));
  v1::Trial t;
  t.set_trial_id(id);
  t.set_attempt(1);
  t.set_candidate_id(id);
  NAS_ASSIGN_OR_RETURN(*t.mutable_genotype(), space->ToProto(choices));
  *t.mutable_search_space() = spec.search_space();
  *t.mutable_nb201() = spec.search_space().nb201();
  *t.mutable_evaluation() = spec.evaluation();
  return t;
}

struct Run {
  std::string name;
  std::string what;
  Evaluator* evaluator;
  v1::Trial trial;
  std::vector<double> seconds;
  std::vector<double> lines;  // relayed epoch lines per run
  double val_accuracy = 0;
};

int Main() {
  const std::string work = absl::GetFlag(FLAGS_work);
  std::filesystem::create_directories(work);
  const int epochs = absl::GetFlag(FLAGS_epochs);
  const int threads = absl::GetFlag(FLAGS_threads);
  std::string null_lines;
  for (int e = 1; e <= epochs; ++e) {
    absl::StrAppend(&null_lines, "echo '{\"epoch\": ", e,
                    ", \"loss\": 1, \"val_accuracy\": 0.5}' >&3\n");
  }
  const std::string final_line =
      "echo '{\"final\": true, \"val_accuracy\": 0.5}' >&3\n";
  TrainerSetup setup;
  setup.trainers["python"] = absl::StrCat(
      NAS_SOURCE_DIR, "/examples/trainers/torchscript_fashion_mnist.py");
  setup.trainers["null_sh"] =
      Script(work, "null.sh", "#!/bin/sh\n" + null_lines + final_line);
  setup.trainers["null_py"] = Script(
      work, "null.py",
      absl::StrCat("#!/usr/bin/python3\nimport json, os, torch\n"
                   "t = json.load(open(os.environ['NAS_TRIAL_FILE']))\n"
                   "m = torch.jit.load(t['model_file'])\n"
                   "with open(os.environ['NAS_REPORT_FILE'], 'a') as f:\n"
                   "    for e in range(1, t['epochs'] + 1):\n"
                   "        f.write(json.dumps({'epoch': e, 'loss': 1.0, "
                   "'val_accuracy': 0.5}) + '\\n')\n"
                   "    f.write(json.dumps({'final': True, "
                   "'val_accuracy': 0.5}) + '\\n')\n"));
  setup.trainers["null_py_data"] = Script(
      work, "null_data.py",
      absl::StrCat("#!/usr/bin/python3\nimport json, os, sys, torch\n"
                   "sys.path[:0] = ['",
                   NAS_SOURCE_DIR, "/examples/trainers', '", NAS_SOURCE_DIR,
                   "/client/python']\n"
                   "import idx_data, nas_trial\n"
                   "t = nas_trial.load()\n"
                   "m = torch.jit.load(t.model_file)\n"
                   "p = t.parameters\n"
                   "idx_data.load(t, int(p['train_samples']), "
                   "int(p['val_samples']), normalize=False)\n"
                   "for e in range(1, t.epochs + 1):\n"
                   "    t.report(e, val_accuracy=0.5, loss=1.0)\n"
                   "t.finish(val_accuracy=0.5)\n"));
  setup.trainers["relay"] =
      Script(work, "relay.sh",
             absl::StrCat("#!/bin/sh\nseq 1 ", absl::GetFlag(FLAGS_relay_lines),
                          " | sed 's/.*/{\"epoch\": &, \"loss\": 1, "
                          "\"val_accuracy\": 0.5}/' >&3\n",
                          final_line));
  setup.trial_dir = work + "/trials";

  EvaluatorOptions eo;
  eo.threads = threads;
  eo.verbose = false;
  std::unique_ptr<Evaluator> builtin = MakeTorchEvaluator(eo).value();
  CommandEvaluatorOptions co;
  co.setup = setup;
  co.threads = threads;
  co.verbose = false;
  co.device = builtin->device();
  std::unique_ptr<Evaluator> command =
      MakeCommandEvaluator(co, MakeTorchCandidateTools(threads).value());

  std::vector<Run> runs = {
      {"builtin", "built-in LibTorch trainer (FULL)", builtin.get()},
      {"python", "COMMAND: examples/trainers/torchscript_fashion_mnist.py",
       command.get()},
      {"null_sh", "COMMAND: /bin/sh trainer, no training", command.get()},
      {"null_py", "COMMAND: python, import torch + jit.load, no training",
       command.get()},
      {"null_py_data",
       "COMMAND: python, import torch + jit.load + read and split the IDX "
       "files, no training",
       command.get()},
      {"null_sh_custom",
       "COMMAND: /bin/sh trainer, declared space (no TorchScript export, no "
       "latency)",
       command.get()},
      {"relay", "COMMAND: /bin/sh trainer writing the relay lines",
       command.get()},
  };
  int id = 1;
  for (Run& r : runs) {
    const bool custom = r.name == "null_sh_custom";
    absl::StatusOr<v1::ExperimentSpec> spec =
        Spec(r.name == "builtin" ? "FULL" : "COMMAND",
             custom ? "null_sh" : r.name, custom);
    if (!spec.ok()) {
      std::fprintf(stderr, "command_overhead: %s\n",
                   spec.status().ToString().c_str());
      return 1;
    }
    absl::StatusOr<v1::Trial> t = MakeTrial(*spec, id++);
    if (!t.ok()) {
      std::fprintf(stderr, "command_overhead: %s\n",
                   t.status().ToString().c_str());
      return 1;
    }
    r.trial = *t;
  }
  // Warm-up: the dataset cache of the built-in trainer and the page cache
  // of Python's modules are warm in every timed run.
  for (Run& r : runs) {
    if (r.name != "builtin" && r.name != "null_py_data") continue;
    absl::StatusOr<v1::EvaluationMetrics> m =
        r.evaluator->Evaluate(r.trial, nullptr);
    if (!m.ok()) {
      std::fprintf(stderr, "command_overhead: %s: %s\n", r.name.c_str(),
                   m.status().ToString().c_str());
      return 1;
    }
  }
  const int repeats = absl::GetFlag(FLAGS_repeats);
  for (int rep = 0; rep < repeats; ++rep) {
    for (Run& r : runs) {
      int lines = 0;
      const ProgressCallback count = [&lines](const EpochProgress&) {
        ++lines;
        return true;
      };
      const auto t0 = std::chrono::steady_clock::now();
      absl::StatusOr<v1::EvaluationMetrics> m =
          r.evaluator->Evaluate(r.trial, count);
      const double s = Seconds(t0);
      if (!m.ok()) {
        std::fprintf(stderr, "command_overhead: %s: %s\n", r.name.c_str(),
                     m.status().ToString().c_str());
        return 1;
      }
      r.seconds.push_back(s);
      r.lines.push_back(lines);
      r.val_accuracy = m->val_accuracy();
      std::fprintf(stderr, "  %s run %d: %.3f s, %d epoch lines, val %.4f\n",
                   r.name.c_str(), rep + 1, s, lines, m->val_accuracy());
    }
  }
  const double base = Median(runs[0].seconds);
  std::printf(
      "%d epochs, %d training + %d validation images, nb201 channels 8, "
      "%d thread(s), device %s, medians of %d\n\n",
      epochs, absl::GetFlag(FLAGS_train_samples),
      absl::GetFlag(FLAGS_val_samples), threads, builtin->device().c_str(),
      repeats);
  std::printf(
      "| run | what | seconds (median) | / built-in | val_accuracy |\n");
  std::printf("| --- | --- | ---: | ---: | ---: |\n");
  std::string csv =
      "run,seconds_median,seconds_min,seconds_max,ratio_to_builtin,"
      "epoch_lines,val_accuracy\n";
  for (const Run& r : runs) {
    const double med = Median(r.seconds);
    std::printf("| %s | %s | %.3f | %.2f | %.4f |\n", r.name.c_str(),
                r.what.c_str(), med, med / base, r.val_accuracy);
    absl::StrAppendFormat(&csv, "%s,%.4f,%.4f,%.4f,%.4f,%.0f,%.6f\n", r.name,
                          med,
                          *std::min_element(r.seconds.begin(), r.seconds.end()),
                          *std::max_element(r.seconds.begin(), r.seconds.end()),
                          med / base, Median(r.lines), r.val_accuracy);
  }
  const Run& null_sh = runs[2];
  const Run& relay = runs.back();
  const double per_line =
      (Median(relay.seconds) - Median(null_sh.seconds)) /
      std::max(1.0, Median(relay.lines) - Median(null_sh.lines));
  std::printf(
      "\nrelay: %.1f us per report line (relay run minus null_sh run)\n",
      per_line * 1e6);
  absl::StrAppendFormat(&csv, "relay_per_line_us,%.3f,,,,,\n", per_line * 1e6);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty()) {
    std::filesystem::create_directories(out);
    std::ofstream(out + "/command_overhead.csv") << csv;
  }
  return 0;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return nas::Main();
}
