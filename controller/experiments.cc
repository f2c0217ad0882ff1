#include "controller/experiments.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/objective.h"
#include "common/pareto.h"
#include "common/spaces/nb201_space.h"
#include "common/spec/spec.h"
#include "common/status_macros.h"
#include "common/trainers.h"
#include "controller/service/request_validation.h"

namespace nas {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t us = absl::ToUnixMicros(t);
  ts->set_seconds(us / 1000000);
  ts->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

}  // namespace

Experiments::Experiments(Store* store, Scheduler* scheduler,
                         WorkerRegistry* workers,
                         const ControllerOptions& options)
    : store_(store),
      scheduler_(scheduler),
      workers_(workers),
      max_candidates_per_experiment_(options.max_candidates_per_experiment),
      max_running_experiments_(options.max_running_experiments),
      max_attempt_seconds_(options.max_attempt_seconds),
      max_parallel_trials_(options.max_parallel_trials),
      max_response_bytes_(options.max_response_bytes) {}

std::string Experiments::WaitingReason(const v1::Experiment& e) {
  const int queued = e.counts().trials_queued();
  if (queued == 0 || e.state() != v1::EXPERIMENT_RUNNING) return "";
  // The labels stored with its trials (Store::CreateExperiment).
  const WorkerRegistry::Labels required = EffectiveRequiredLabels(e.spec());
  const WorkerRegistry::Fleet fleet = workers_->CountMatching(required);
  if (fleet.matching > 0) return "";
  if (e.spec().evaluation().mode() == v1::COMMAND) {
    // The trainer first: a worker lacks it because of how its operator
    // started it, which no label of the spec can change.
    const std::string& trainer = e.spec().evaluation().command().trainer();
    const WorkerRegistry::Fleet with_trainer = workers_->CountMatching(
        {{TrainerLabelKey(trainer), std::string(kTrainerLabelValue)}});
    if (with_trainer.matching == 0) {
      return absl::StrCat(queued,
                          " queued trial(s) wait for a worker with "
                          "trainer '",
                          trainer, "' (nas-worker --trainer=", trainer,
                          "=PATH); none of the ", with_trainer.alive,
                          " live worker(s) has it");
    }
  }
  if (required.empty()) {
    return absl::StrCat(queued, " queued trial(s) wait: no live worker");
  }
  std::vector<std::string> labels;
  for (const auto& [k, v] : required) {
    labels.push_back(absl::StrCat(k, "=", v));
  }
  return absl::StrCat(queued, " queued trial(s) wait for a worker with labels ",
                      absl::StrJoin(labels, ","), "; none of the ", fleet.alive,
                      " live worker(s) carries them");
}

absl::StatusOr<v1::Experiment> Experiments::BuildExperiment(
    const ExperimentRecord& rec) {
  // One statement of counters (migrations 0012, 0020): no trial is read.
  NAS_ASSIGN_OR_RETURN(Store::ExperimentTotals totals,
                       store_->CountExperimentTotals(rec.id));
  return BuildExperiment(rec, std::move(totals));
}

absl::StatusOr<v1::Experiment> Experiments::BuildExperiment(
    const ExperimentRecord& rec, Store::ExperimentTotals totals) {
  v1::Experiment e;
  e.set_id(rec.id);
  *e.mutable_spec() = rec.spec;
  e.mutable_spec()->mutable_strategy()->set_seed(rec.seed);
  e.set_state(rec.state);
  SetTime(rec.created_at, e.mutable_created_at());
  if (rec.finished_at.has_value())
    SetTime(*rec.finished_at, e.mutable_finished_at());
  e.set_error(rec.error);
  *e.mutable_counts() = std::move(totals.counts);
  CandidateQuery q;
  q.experiment_id = rec.id;
  q.state = v1::CANDIDATE_EVALUATED;
  // Best by objective.metric; for val_accuracy (the default) the same
  // order through candidates_val_accuracy_idx, one row read. No count.
  const std::string& metric = rec.spec.objective().metric();
  q.order_by = metric.empty() || metric == "val_accuracy" ? "-val_accuracy"
                                                          : "-objective";
  q.limit = 1;
  q.search_only = true;
  q.count_total = false;
  NAS_ASSIGN_OR_RETURN(CandidatePage best, store_->ListCandidates(q));
  if (!best.candidates.empty()) *e.mutable_best() = best.candidates[0];
  e.set_waiting(WaitingReason(e));
  if (rec.state == v1::EXPERIMENT_RUNNING) {
    e.set_phase(e.counts().final_trainings() > 0 ? "final"
                : e.spec().evaluation().mode() == v1::SUPERNET &&
                        e.counts().supernet() != v1::CANDIDATE_EVALUATED
                    ? "supernet"
                    : "search");
  }
  if (rec.spec.evaluation().mode() == v1::TABULAR) {
    e.set_simulated_seconds(totals.simulated_seconds);
  }
  return e;
}

absl::StatusOr<v1::Experiment> Experiments::CreateExperiment(
    const v1::CreateExperimentRequest& request) {
  NAS_ASSIGN_OR_RETURN(v1::ExperimentSpec spec,
                       PrepareSpec(request.spec(), request.spec_yaml()));
  const int64_t max_candidates = max_candidates_per_experiment_;
  if (max_candidates > 0 && spec.budget().max_trials() > max_candidates) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget.max_trials: ", spec.budget().max_trials(),
        " exceeds this controller's limit of ", max_candidates,
        " candidates per experiment (--max_candidates_per_experiment)"));
  }
  if (spec.evaluation().mode() == v1::COMMAND && max_attempt_seconds_ > 0) {
    const v1::CommandOptions& c = spec.evaluation().command();
    const int64_t needed = int64_t{c.timeout_seconds()} + c.grace_seconds();
    if (needed > max_attempt_seconds_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec.evaluation.command.timeout_seconds: ", c.timeout_seconds(),
          " s plus grace_seconds ", c.grace_seconds(),
          " s exceeds this controller's limit of ", max_attempt_seconds_,
          " s per trial attempt (--max_attempt_seconds)"));
    }
  }
  if (max_parallel_trials_ > 0 &&
      spec.budget().parallel_trials() > max_parallel_trials_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget.parallel_trials: ", spec.budget().parallel_trials(),
        " exceeds this controller's limit of ", max_parallel_trials_,
        " trials at once (--max_parallel_trials)"));
  }
  int64_t seed = spec.strategy().seed();
  if (seed == 0) seed = static_cast<int64_t>(std::random_device()() >> 1) + 1;
  NAS_ASSIGN_OR_RETURN(int64_t id, store_->CreateExperiment(
                                       spec, seed, max_running_experiments_));
  NAS_RETURN_IF_ERROR(scheduler_->Load(id));
  scheduler_->Wake();
  return GetExperiment(id);
}

absl::StatusOr<v1::Experiment> Experiments::GetExperiment(int64_t id) {
  NAS_RETURN_IF_ERROR(ValidateId("id", id));
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec, store_->GetExperiment(id));
  return BuildExperiment(rec);
}

absl::StatusOr<v1::ListExperimentsResponse> Experiments::ListExperiments(
    const v1::ListExperimentsRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  const int limit = request.page_size() <= 0
                        ? 50
                        : std::min(request.page_size(), kMaxExperimentsPage);
  int64_t before = 0;
  if (!request.page_token().empty() &&
      !absl::SimpleAtoi(request.page_token(), &before)) {
    return absl::InvalidArgumentError(
        "page_token: not a token from this service");
  }
  NAS_ASSIGN_OR_RETURN(std::vector<ExperimentRecord> recs,
                       store_->ListExperiments(before, limit + 1));
  // The page's counters in one statement, not one per experiment.
  std::vector<int64_t> ids;
  for (int k = 0; k < static_cast<int>(recs.size()) && k < limit; ++k) {
    ids.push_back(recs[k].id);
  }
  NAS_ASSIGN_OR_RETURN(auto totals, store_->CountExperimentsTotals(ids));
  v1::ListExperimentsResponse out;
  size_t bytes = 0;
  int i = 0;
  for (; i < static_cast<int>(recs.size()) && i < limit; ++i) {
    auto t = totals.find(recs[i].id);
    if (t == totals.end()) {
      return absl::NotFoundError(absl::StrCat("experiment ", recs[i].id));
    }
    NAS_ASSIGN_OR_RETURN(v1::Experiment e,
                         BuildExperiment(recs[i], std::move(t->second)));
    const size_t size = e.ByteSizeLong() + 8;  // tag and length
    if (i > 0 && static_cast<int64_t>(bytes + size) > max_response_bytes_) {
      break;
    }
    bytes += size;
    *out.add_experiments() = std::move(e);
  }
  if (i < static_cast<int>(recs.size())) {
    out.set_next_page_token(absl::StrCat(recs[i - 1].id));
  }
  return out;
}

absl::StatusOr<v1::Experiment> Experiments::StopExperiment(int64_t id) {
  NAS_RETURN_IF_ERROR(ValidateId("id", id));
  const absl::Status stopped =
      store_->FinishExperiment(id, v1::EXPERIMENT_STOPPED, "");
  // Already finished: nothing to stop, the experiment as it is.
  if (absl::IsFailedPrecondition(stopped)) return GetExperiment(id);
  NAS_RETURN_IF_ERROR(stopped);
  scheduler_->Drop(id);
  scheduler_->Wake();
  return GetExperiment(id);
}

absl::StatusOr<v1::Experiment> Experiments::ExtendExperiment(
    const v1::ExtendExperimentRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  const int64_t id = request.id();
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec, store_->GetExperiment(id));
  NAS_ASSIGN_OR_RETURN(const v1::Experiment now, BuildExperiment(rec));
  const std::string state = v1::ExperimentState_Name(rec.state);
  if (rec.state == v1::EXPERIMENT_FAILED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment ", id, " FAILED (", rec.error,
        "): a failed experiment cannot run again; submit a new one"));
  }
  if (now.counts().final_trainings() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment ", id,
        ": its final re-trainings (spec.final) already started, so the "
        "search cannot go on; submit a new experiment"));
  }
  const bool more_trials = request.max_trials() > 0;
  const bool more_seconds = request.max_simulated_seconds() > 0;
  if (!more_trials && !more_seconds && rec.state != v1::EXPERIMENT_STOPPED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_trials, max_simulated_seconds: give a new budget (experiment ", id,
        " is ", state,
        "; only a STOPPED experiment resumes with the budget it has)"));
  }
  v1::ExperimentSpec spec = rec.spec;
  const v1::ExperimentCounts& c = now.counts();
  const int ended = c.trials_succeeded() + c.trials_failed();
  if (more_trials) {
    if (request.max_trials() <=
        ended + c.trials_queued() + c.trials_running()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_trials: ", request.max_trials(), " is not above the ",
          ended + c.trials_queued() + c.trials_running(), " trials experiment ",
          id, " already ran or runs"));
    }
    if (max_candidates_per_experiment_ > 0 &&
        request.max_trials() > max_candidates_per_experiment_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_trials: ", request.max_trials(),
          " exceeds this controller's limit of ",
          max_candidates_per_experiment_,
          " candidates per experiment (--max_candidates_per_experiment)"));
    }
    spec.mutable_budget()->set_max_trials(request.max_trials());
  }
  if (more_seconds) {
    if (request.max_simulated_seconds() <= now.simulated_seconds()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_simulated_seconds: ", request.max_simulated_seconds(),
          " is not above the ", now.simulated_seconds(),
          " simulated seconds experiment ", id, " already counted"));
    }
    spec.mutable_budget()->set_max_simulated_seconds(
        request.max_simulated_seconds());
  }
  NAS_RETURN_IF_ERROR(scheduler_->Reload(id, [&] {
    return store_->ReopenExperiment(id, spec, rec.state,
                                    max_running_experiments_);
  }));
  scheduler_->Wake();
  return GetExperiment(id);
}

absl::StatusOr<v1::ListLearningCurvesResponse> Experiments::ListLearningCurves(
    const v1::ListLearningCurvesRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  int32_t after = -1;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &after) || after < 0)) {
    return absl::InvalidArgumentError(
        "page_token: not a token from this service");
  }
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec,
                       store_->GetExperiment(request.experiment_id()));
  const int limit = request.page_size() <= 0
                        ? 100
                        : std::min(request.page_size(), kMaxCandidatesPage);
  NAS_ASSIGN_OR_RETURN(
      std::vector<v1::LearningCurve> curves,
      store_->ListLearningCurves(request.experiment_id(), after, limit));
  v1::ListLearningCurvesResponse out;
  out.set_epochs(rec.spec.evaluation().epochs());
  size_t bytes = 0;
  bool cut = false;
  for (v1::LearningCurve& curve : curves) {
    const size_t size = curve.ByteSizeLong() + 8;  // tag and length
    if (out.curves_size() > 0 &&
        static_cast<int64_t>(bytes + size) > max_response_bytes_) {
      cut = true;
      break;
    }
    bytes += size;
    *out.add_curves() = std::move(curve);
  }
  // A full page (or one cut short) may have more after it. A page ends on
  // a whole candidate: the store's limit counts curves, and a candidate
  // has one trial.
  if (cut || static_cast<int>(curves.size()) == limit) {
    out.set_next_page_token(
        absl::StrCat(out.curves(out.curves_size() - 1).seq()));
  }
  return out;
}

absl::StatusOr<v1::ListCandidatesResponse> Experiments::ListCandidates(
    const v1::ListCandidatesRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  CandidateQuery q;
  q.experiment_id = request.experiment_id();
  q.state = request.state();
  if (!request.order_by().empty()) q.order_by = request.order_by();
  q.min_val_accuracy = request.min_val_accuracy();
  q.max_macs = request.max_macs();
  q.max_params = request.max_params();
  q.max_latency_ms = request.max_latency_ms();
  q.limit = request.page_size() <= 0
                ? 100
                : std::min(request.page_size(), kMaxCandidatesPage);
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &q.offset) || q.offset < 0)) {
    return absl::InvalidArgumentError(
        "page_token: not a token from this service");
  }
  NAS_RETURN_IF_ERROR(store_->GetExperiment(request.experiment_id()).status());
  NAS_ASSIGN_OR_RETURN(CandidatePage page, store_->ListCandidates(q));
  v1::ListCandidatesResponse out;
  size_t bytes = 0;
  for (auto& c : page.candidates) {
    const size_t size = c.ByteSizeLong() + 8;  // tag and length
    if (out.candidates_size() > 0 &&
        static_cast<int64_t>(bytes + size) > max_response_bytes_) {
      break;
    }
    bytes += size;
    *out.add_candidates() = std::move(c);
  }
  out.set_total(page.total);
  if (q.offset + out.candidates_size() < page.total) {
    out.set_next_page_token(absl::StrCat(q.offset + out.candidates_size()));
  }
  return out;
}

absl::StatusOr<v1::GetParetoFrontResponse> Experiments::GetParetoFront(
    const v1::GetParetoFrontRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  std::vector<std::string> minimize(request.minimize().begin(),
                                    request.minimize().end());
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec,
                       store_->GetExperiment(request.experiment_id()));
  // Default objectives: the experiment's own, else accuracy against MACs.
  if (minimize.empty()) {
    minimize.assign(rec.spec.objective().minimize().begin(),
                    rec.spec.objective().minimize().end());
  }
  if (minimize.empty()) minimize = {"macs"};
  // The experiment's objective metric against the costs.
  v1::ObjectiveSpec objective;
  objective.set_metric(rec.spec.objective().metric());
  objective.set_metric_class(rec.spec.objective().metric_class());
  for (const std::string& m : minimize) objective.add_minimize(m);
  CandidateQuery q;
  q.experiment_id = request.experiment_id();
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-objective";
  q.limit = 1000000;
  q.search_only = true;
  NAS_ASSIGN_OR_RETURN(CandidatePage page, store_->ListCandidates(q));
  std::vector<std::vector<double>> points;
  for (const v1::Candidate& c : page.candidates) {
    points.push_back(ObjectiveVector(objective, c.metrics()));
  }
  v1::GetParetoFrontResponse out;
  out.add_objectives(ObjectiveMetricName(objective));
  for (const std::string& m : minimize) out.add_objectives(m);
  for (int i : ParetoFront(points)) *out.add_front() = page.candidates[i];
  return out;
}

absl::StatusOr<v1::ExportCandidateResponse> Experiments::ExportCandidate(
    const v1::ExportCandidateRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  NAS_RETURN_IF_ERROR(store_->GetExperiment(request.experiment_id()).status());
  NAS_ASSIGN_OR_RETURN(
      StoredModel model,
      store_->GetModel(request.experiment_id(), request.candidate_id()));
  v1::ExportCandidateResponse out;
  out.set_torchscript(std::move(model.bytes));
  out.set_filename(absl::StrCat("experiment-", request.experiment_id(),
                                "-candidate-", request.candidate_id(), ".pt"));
  out.set_source(model.final_training ? "final" : "search");
  *out.mutable_metrics() = model.metrics;
  return out;
}

absl::StatusOr<v1::ListSearchEpochsResponse> Experiments::ListSearchEpochs(
    const v1::ListSearchEpochsRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  NAS_RETURN_IF_ERROR(store_->GetExperiment(request.experiment_id()).status());
  NAS_ASSIGN_OR_RETURN(std::vector<v1::SearchEpoch> epochs,
                       store_->ListSearchEpochs(request.experiment_id()));
  v1::ListSearchEpochsResponse out;
  for (v1::SearchEpoch& e : epochs) *out.add_epochs() = std::move(e);
  for (absl::string_view op : kNb201OpNames) out.add_ops(std::string(op));
  for (const auto& [to, from] : kNb201EdgeNodes) {
    out.add_edges(absl::StrCat(to, "<-", from));
  }
  return out;
}

}  // namespace nas
