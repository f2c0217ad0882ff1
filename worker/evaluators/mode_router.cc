#include "worker/evaluators/mode_router.h"

#include <string>
#include <utility>

namespace nas {

namespace {

class ModeRouter final : public Evaluator {
 public:
  ModeRouter(std::unique_ptr<Evaluator> trained,
             std::unique_ptr<Evaluator> tabular)
      : trained_(std::move(trained)), tabular_(std::move(tabular)) {}
  absl::StatusOr<v1::EvaluationMetrics> Evaluate(
      const v1::Trial& trial, const ProgressCallback& on_epoch) override {
    last_ = trial.evaluation().mode() == v1::TABULAR ? tabular_.get()
                                                     : trained_.get();
    return last_->Evaluate(trial, on_epoch);
  }
  // The model of the evaluator that ran the last trial.
  std::string TakeModel() override {
    return last_ == nullptr ? "" : last_->TakeModel();
  }
  std::string device() const override { return trained_->device(); }
  void SetArtifactFetcher(ArtifactFetcher fetcher) override {
    trained_->SetArtifactFetcher(fetcher);
    tabular_->SetArtifactFetcher(std::move(fetcher));
  }

 private:
  Evaluator* last_ = nullptr;
  std::unique_ptr<Evaluator> trained_;
  std::unique_ptr<Evaluator> tabular_;
};

}  // namespace

std::unique_ptr<Evaluator> MakeModeRouter(std::unique_ptr<Evaluator> trained,
                                          std::unique_ptr<Evaluator> tabular) {
  return std::make_unique<ModeRouter>(std::move(trained), std::move(tabular));
}

}  // namespace nas
