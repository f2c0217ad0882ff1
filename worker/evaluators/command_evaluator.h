// Mode COMMAND: each trial runs a trainer program the worker's operator
// allowed (--trainer=NAME=PATH), by the name in evaluation.command.trainer.
// The program gets the trial file (trial.json; for the built-in spaces an
// untrained TorchScript candidate.pt too) in an output directory of its
// own, reports JSON lines on fd 3, and is stopped (SIGTERM to its process
// group, SIGKILL after grace_seconds) on STOP, a lost lease, the worker's
// shutdown or its timeout; it never outlives the worker
// (worker/command/supervised_process.h). File formats and environment:
// worker/command/README.md. LibTorch-free: the network export and latency
// come from an injected CandidateTools. Used by one thread at a time.
#ifndef NAS_WORKER_EVALUATORS_COMMAND_EVALUATOR_H_
#define NAS_WORKER_EVALUATORS_COMMAND_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "worker/command/candidate_tools.h"
#include "worker/command/trainer_setup.h"
#include "worker/evaluators/evaluator.h"

namespace nas {

struct CommandEvaluatorOptions {
  TrainerSetup setup;
  // OMP_NUM_THREADS for the program when > 0 (nas-worker's --threads).
  int threads = 0;
  // Echo the program's stdout and stderr to ours, each line prefixed
  // "[trial <id>] ". Default true.
  bool verbose = true;
  // EvaluationMetrics.device of the results (the worker's device).
  std::string device = "cpu";
  // Largest model.pt taken as the kept model (the controller's default
  // --max_message_mib); a larger one fails the attempt. Default 256 MiB.
  int64_t max_model_bytes = int64_t{256} << 20;
  // Called when a run ends with the trainer's name and the outcome: "ok",
  // "stopped", "cancelled", "failed", "timeout" or "malformed" (worker
  // metrics). Optional.
  std::function<void(const std::string& trainer, const std::string& outcome)>
      on_run_end;
  // The worker's environment, for the variables passed on (tests replace
  // it). Default std::getenv.
  std::function<const char*(const char*)> getenv;
};

// `tools` (may be null: then no candidate.pt, and missing latencies stay 0)
// is owned by the evaluator.
//
// Evaluate: FailedPrecondition when the trainer is not configured here or
// cannot be started; InvalidArgument for a bad genotype, a malformed report
// line (quoted with its number) or an exit without a final line;
// DeadlineExceeded past evaluation.command.timeout_seconds (default 3600);
// Aborted for a non-zero exit or a death by signal; Unavailable when the
// run was cancelled (StopCheck) before its first epoch line. Every failure
// of the program's run quotes the end of its stderr (20 lines, 2000 bytes).
// A run stopped by on_epoch or the StopCheck after an epoch line is a
// success with the last epoch line's metrics (or a final line the program
// still wrote).
std::unique_ptr<Evaluator> MakeCommandEvaluator(
    CommandEvaluatorOptions options, std::unique_ptr<CandidateTools> tools);

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_COMMAND_EVALUATOR_H_
