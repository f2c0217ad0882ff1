#include "worker/evaluators/mode_router.h"

#include <string>
#include <utility>

namespace nas {

namespace {

class ModeRouter final : public Evaluator {
 public:
  ModeRouter(std::unique_ptr<Evaluator> trained,
             std::unique_ptr<Evaluator> tabular,
             std::unique_ptr<Evaluator> command)
      : trained_(std::move(trained)),
        tabular_(std::move(tabular)),
        command_(std::move(command)) {}
  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override {
    switch (trial.evaluation().mode()) {
      case v1::TABULAR:
        last_ = tabular_.get();
        break;
      case v1::COMMAND:
        last_ = command_.get();
        if (last_ == nullptr) {
          return absl::FailedPreconditionError(
              "evaluation.mode COMMAND: this worker has no trainers "
              "(nas-worker --trainer=NAME=PATH)");
        }
        break;
      default:
        last_ = trained_.get();
    }
    return last_->Evaluate(trial, on_epoch);
  }
  // The model of the evaluator that ran the last trial.
  std::string TakeModel() override {
    return last_ == nullptr ? "" : last_->TakeModel();
  }
  std::optional<v1::SearchProgress> TakeSearch() override {
    return last_ == nullptr ? std::nullopt : last_->TakeSearch();
  }
  std::string device() const override { return trained_->device(); }
  void SetArtifactFetcher(ArtifactFetcher fetcher) override {
    trained_->SetArtifactFetcher(fetcher);
    if (command_ != nullptr) command_->SetArtifactFetcher(fetcher);
    tabular_->SetArtifactFetcher(std::move(fetcher));
  }
  void SetStopCheck(StopCheck check) override {
    trained_->SetStopCheck(check);
    if (command_ != nullptr) command_->SetStopCheck(check);
    tabular_->SetStopCheck(std::move(check));
  }

 private:
  Evaluator* last_ = nullptr;
  std::unique_ptr<Evaluator> trained_;
  std::unique_ptr<Evaluator> tabular_;
  std::unique_ptr<Evaluator> command_;  // may be null
};

}  // namespace

std::unique_ptr<Evaluator> MakeModeRouter(std::unique_ptr<Evaluator> trained,
                                          std::unique_ptr<Evaluator> tabular,
                                          std::unique_ptr<Evaluator> command) {
  return std::make_unique<ModeRouter>(std::move(trained), std::move(tabular),
                                      std::move(command));
}

}  // namespace nas
