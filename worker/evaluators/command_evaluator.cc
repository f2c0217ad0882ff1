#include "worker/evaluators/command_evaluator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/spaces/search_space.h"
#include "common/spec/validate.h"
#include "common/status_macros.h"
#include "worker/command/handover.h"
#include "worker/command/reports.h"
#include "worker/command/supervised_process.h"
#include "worker/command/trainer_run.h"

namespace nas {
namespace {

namespace fs = std::filesystem;

constexpr int kDefaultTimeoutSeconds = 3600;
constexpr int kDefaultGraceSeconds = 10;
constexpr int kDefaultLatencyRuns = 30;

// Makes `dir` (and parents) and restricts it to its owner.
absl::Status MakePrivateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot chmod ", dir, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
           0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  UniqueFd owned(fd);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write ", path, ": ", strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// The kept model: `path` when it is a regular file (not a link) of at most
// `limit` bytes; "" when there is none.
absl::StatusOr<std::string> ReadModel(const std::string& path, int64_t limit) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read the trainer's model file ", path, ": ", strerror(errno)));
  }
  UniqueFd owned(fd);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the trainer's model file ", path, " is not a regular file"));
  }
  if (st.st_size > limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the trainer's model file model.pt has ", st.st_size,
        " bytes, more than the ", limit, " bytes a result may carry"));
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

std::string SignalName(int sig) {
  const char* name = strsignal(sig);
  return name == nullptr ? absl::StrCat(sig)
                         : absl::StrCat(sig, " (", name, ")");
}

class CommandEvaluator final : public Evaluator {
 public:
  CommandEvaluator(CommandEvaluatorOptions options,
                   std::unique_ptr<CandidateTools> tools)
      : options_(std::move(options)), tools_(std::move(tools)) {
    if (!options_.getenv)
      options_.getenv = [](const char* n) { return std::getenv(n); };
  }

  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override {
    model_.clear();
    const std::string& name = trial.evaluation().command().trainer();
    const auto trainer = options_.setup.trainers.find(name);
    if (trainer == options_.setup.trainers.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "evaluation.command.trainer: trainer '", name,
          "' is not configured on this worker (nas-worker --trainer)"));
    }
    NAS_ASSIGN_OR_RETURN(const std::string base, TrialBase());
    const std::string dir =
        absl::StrCat(base, "/trial-", trial.trial_id(), "-", trial.attempt());
    std::error_code ec;
    fs::remove_all(dir, ec);
    NAS_RETURN_IF_ERROR(MakePrivateDir(dir));
    absl::StatusOr<v1::EvaluationMetrics> result =
        EvaluateIn(trial, name, trainer->second, dir, on_epoch);
    if (!options_.setup.keep_trial_dirs) fs::remove_all(dir, ec);
    return result;
  }

  std::string TakeModel() override { return std::move(model_); }

  void SetStopCheck(StopCheck check) override {
    stop_check_ = std::move(check);
  }

  std::string device() const override { return options_.device; }

 private:
  // The parent of the trials' directories, made on first use.
  absl::StatusOr<std::string> TrialBase() {
    if (!base_.empty()) return base_;
    std::string wanted =
        options_.setup.trial_dir.empty()
            ? std::string()
            : fs::path(options_.setup.trial_dir).lexically_normal().string();
    while (wanted.size() > 1 && wanted.back() == '/') wanted.pop_back();
    if (!wanted.empty()) {
      absl::Status s = MakePrivateDir(wanted);
      if (s.ok()) return base_ = wanted;
      std::fprintf(stderr,
                   "nas-worker: trial directory %s is unusable (%s); using "
                   "one under $TMPDIR\n",
                   wanted.c_str(), std::string(s.message()).c_str());
    }
    const char* tmp = options_.getenv("TMPDIR");
    const std::string fallback =
        absl::StrCat(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp",
                     "/nas-worker-", getuid(), "/trials");
    NAS_RETURN_IF_ERROR(MakePrivateDir(fallback));
    return base_ = fallback;
  }

  absl::StatusOr<v1::EvaluationMetrics> EvaluateIn(
      const v1::Trial& trial, const std::string& name,
      const std::string& program, const std::string& dir,
      const ProgressCallback& on_epoch) {
    const v1::EvaluationSpec& e = trial.evaluation();
    // The space: the trial's (defaults applied by the controller), or the
    // genotype's built-in one for older controllers.
    v1::SearchSpaceSpec space_spec;
    if (trial.has_search_space()) {
      space_spec = trial.search_space();
    } else {
      *space_spec.mutable_nb201() = trial.nb201();
    }
    if (space_spec.name().empty()) {
      space_spec.set_name(trial.genotype().space().empty()
                              ? "nb201"
                              : trial.genotype().space());
    }
    NAS_ASSIGN_OR_RETURN(std::shared_ptr<const SearchSpace> space,
                         MakeSearchSpace(space_spec));
    std::vector<int> choices(trial.genotype().choices().begin(),
                             trial.genotype().choices().end());
    if (choices.empty() && !trial.genotype().canonical().empty()) {
      NAS_ASSIGN_OR_RETURN(choices, space->Parse(trial.genotype().canonical()));
    }
    const bool built_in = space->has_analytic_cost();
    std::optional<InputShape> input;
    if (absl::StatusOr<InputShape> shape = DatasetShape(e); shape.ok()) {
      input = *shape;
    } else if (built_in) {
      return shape.status();
    }
    const int64_t seed = e.data_seed() != 0 ? e.data_seed() : 1;
    std::string model_file;
    if (built_in && tools_ != nullptr) {
      model_file = dir + "/candidate.pt";
      NAS_RETURN_IF_ERROR(tools_->ExportUntrained(space_spec, choices, *input,
                                                  seed, e.data(), model_file));
    }
    NAS_ASSIGN_OR_RETURN(
        const google::protobuf::Struct file,
        MakeTrialFile(trial, *space, choices, input ? &*input : nullptr, dir,
                      model_file));
    const std::string trial_file = dir + "/trial.json";
    NAS_RETURN_IF_ERROR(WriteFile(trial_file, TrialFileJson(file)));

    SpawnRequest request;
    request.program = program;
    request.cwd = dir;
    request.env =
        TrainerEnvironment(options_.setup.env, options_.threads,
                           {{"NAS_TRIAL_FILE", trial_file},
                            {"NAS_OUTPUT_DIR", dir},
                            {"NAS_REPORT_FILE", kReportFile},
                            {"NAS_REPORT_FD", absl::StrCat(kReportFd)},
                            {"NAS_CONTROL_FD", absl::StrCat(kControlFd)}},
                           options_.getenv);
    const int grace = e.command().grace_seconds() > 0
                          ? e.command().grace_seconds()
                          : kDefaultGraceSeconds;
    const int timeout = e.command().timeout_seconds() > 0
                            ? e.command().timeout_seconds()
                            : kDefaultTimeoutSeconds;
    request.grace = absl::Seconds(grace);
    NAS_ASSIGN_OR_RETURN(std::unique_ptr<SupervisedProcess> process,
                         SupervisedProcess::Start(request));

    ReportReader reader(e.progress_metric(), trial.final_training());
    const absl::Time start = absl::Now();
    RunHooks hooks;
    hooks.timeout = absl::Seconds(timeout);
    hooks.max_line_bytes = kMaxReportLineBytes;
    hooks.cancelled = stop_check_;
    hooks.on_report_line =
        [&](absl::string_view line) -> absl::StatusOr<std::optional<bool>> {
      NAS_ASSIGN_OR_RETURN(
          std::optional<EpochProgress> progress,
          reader.Line(line, absl::ToDoubleSeconds(absl::Now() - start)));
      if (!progress.has_value()) return std::optional<bool>();
      if (options_.verbose) {
        std::fprintf(stderr,
                     "[trial %lld] epoch %d loss %.4f %s %.4f (%.1fs)\n",
                     static_cast<long long>(trial.trial_id()), progress->epoch,
                     progress->train_loss, reader.progress_metric().c_str(),
                     progress->val_accuracy, progress->seconds);
      }
      return std::optional<bool>(!on_epoch || on_epoch(*progress));
    };
    if (options_.verbose) {
      const std::string prefix =
          absl::StrCat("[trial ", trial.trial_id(), "] ");
      hooks.echo = [prefix](absl::string_view line) {
        std::fprintf(stderr, "%s%.*s\n", prefix.c_str(),
                     static_cast<int>(line.size()), line.data());
      };
      std::fprintf(stderr, "[trial %lld] running trainer '%s' (%s) in %s\n",
                   static_cast<long long>(trial.trial_id()), name.c_str(),
                   program.c_str(), dir.c_str());
    }
    const RunOutcome run = RunTrainerProcess(*process, hooks);
    process.reset();  // reaped (the group is gone)

    absl::StatusOr<v1::EvaluationMetrics> m =
        Interpret(name, timeout, run, reader);
    if (options_.on_run_end) options_.on_run_end(name, Outcome(run, m.ok()));
    if (!m.ok()) return m.status();
    m->set_device(options_.device);
    m->set_train_seconds(absl::ToDoubleSeconds(run.wall_time));
    NAS_RETURN_IF_ERROR(
        FillMissingCosts(*space, space_spec, choices, input, e, built_in, &*m));
    if (trial.export_model()) {
      NAS_ASSIGN_OR_RETURN(
          model_, ReadModel(dir + "/model.pt", options_.max_model_bytes));
    }
    return m;
  }

  static std::string Outcome(const RunOutcome& run, bool ok) {
    switch (run.stop) {
      case RunStop::kRequested:
        return "stopped";
      case RunStop::kCancelled:
        return "cancelled";
      case RunStop::kTimeout:
        return "timeout";
      case RunStop::kMalformed:
        return "malformed";
      case RunStop::kNone:
        break;
    }
    return ok ? "ok" : "failed";
  }

  // The run's result, or why it failed (quoting the end of stderr).
  static absl::StatusOr<v1::EvaluationMetrics> Interpret(
      const std::string& name, int timeout, const RunOutcome& run,
      const ReportReader& reader) {
    const std::string tail =
        run.stderr_tail.empty()
            ? std::string("; its stderr was empty")
            : absl::StrCat("; its stderr ends with:\n", run.stderr_tail);
    if (!run.end.start_error.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trainer '", name, "' could not be started: ", run.end.start_error));
    }
    switch (run.stop) {
      case RunStop::kMalformed:
        return absl::InvalidArgumentError(absl::StrCat(
            "trainer '", name, "': ", run.malformed.message(), tail));
      case RunStop::kTimeout:
        return absl::DeadlineExceededError(absl::StrCat(
            "trainer '", name, "' ran past timeout_seconds=", timeout,
            " and was stopped", tail));
      case RunStop::kRequested:
        return reader.Result(/*stopped=*/true);
      case RunStop::kCancelled: {
        absl::StatusOr<v1::EvaluationMetrics> m = reader.Result(true);
        if (m.ok()) return m;
        return absl::UnavailableError(absl::StrCat(
            "trainer '", name,
            "' was stopped before its first epoch line (the lease was lost or "
            "the worker is shutting down)"));
      }
      case RunStop::kNone:
        break;
    }
    if (run.end.signaled) {
      return absl::AbortedError(absl::StrCat("trainer '", name,
                                             "' was killed by signal ",
                                             SignalName(run.end.signal), tail));
    }
    if (run.end.code != 0) {
      return absl::AbortedError(absl::StrCat(
          "trainer '", name, "' exited with status ", run.end.code, tail));
    }
    absl::StatusOr<v1::EvaluationMetrics> m = reader.Result(false);
    if (!m.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trainer '", name, "' exited without a final line", tail));
    }
    return m;
  }

  // MACs and params from the space's cost model, latency measured on the
  // exported network, when the program reported none (built-in spaces).
  absl::Status FillMissingCosts(const SearchSpace& space,
                                const v1::SearchSpaceSpec& space_spec,
                                const std::vector<int>& choices,
                                const std::optional<InputShape>& input,
                                const v1::EvaluationSpec& e, bool built_in,
                                v1::EvaluationMetrics* m) {
    if (!built_in || !input.has_value()) return absl::OkStatus();
    if (m->macs() == 0 || m->params() == 0) {
      NAS_ASSIGN_OR_RETURN(const Cost cost,
                           space.ComputeCost(choices, space_spec, *input));
      if (m->macs() == 0) m->set_macs(cost.macs);
      if (m->params() == 0) m->set_params(cost.params);
    }
    if (m->latency_ms() == 0 && tools_ != nullptr) {
      NAS_ASSIGN_OR_RETURN(
          const CandidateLatency latency,
          tools_->MeasureLatency(e.latency_runs() > 0 ? e.latency_runs()
                                                      : kDefaultLatencyRuns));
      m->set_latency_ms(latency.median_ms);
      m->set_latency_iqr_ms(latency.iqr_ms);
    }
    return absl::OkStatus();
  }

  CommandEvaluatorOptions options_;
  std::unique_ptr<CandidateTools> tools_;
  StopCheck stop_check_;
  std::string base_;   // TrialBase(), once made
  std::string model_;  // for TakeModel
};

}  // namespace

std::unique_ptr<Evaluator> MakeCommandEvaluator(
    CommandEvaluatorOptions options, std::unique_ptr<CandidateTools> tools) {
  return std::make_unique<CommandEvaluator>(std::move(options),
                                            std::move(tools));
}

}  // namespace nas
