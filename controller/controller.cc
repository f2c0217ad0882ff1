#include "controller/controller.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/objective.h"
#include "common/pareto.h"
#include "common/result_validation.h"
#include "common/sha256.h"
#include "common/spec/spec.h"
#include "common/status_macros.h"
#include "controller/early_stopping/early_stopping.h"
#include "controller/service/request_validation.h"

namespace nas {
namespace {

std::vector<int> Choices(const v1::Genotype& g) {
  return std::vector<int>(g.choices().begin(), g.choices().end());
}

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t us = absl::ToUnixMicros(t);
  ts->set_seconds(us / 1000000);
  ts->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

}  // namespace

std::string ViolatedConstraint(const v1::ConstraintsSpec& c, const Cost& cost) {
  if (c.max_macs() > 0 && cost.macs > c.max_macs()) {
    return absl::StrCat("macs ", cost.macs,
                        " > objective.constraints.max_macs ", c.max_macs());
  }
  if (c.max_params() > 0 && cost.params > c.max_params()) {
    return absl::StrCat("params ", cost.params,
                        " > objective.constraints.max_params ", c.max_params());
  }
  return "";
}

void ApplyDuplicatePolicy(absl::string_view policy,
                          std::optional<int64_t> first, bool repeat_in_batch,
                          NewCandidate* row) {
  if (policy == "retrain") {
    // Evaluated again as a trial of its own (a REJECTED genotype is
    // rejected again by its own cost); it still names the first candidate.
    if (first.has_value()) row->duplicate_of = *first;
    return;
  }
  if (first.has_value()) {
    row->state = v1::CANDIDATE_DUPLICATE;
    row->duplicate_of = *first;
    row->reason = "same genotype as an earlier candidate";
  } else if (repeat_in_batch) {
    // The first has no id yet, so this one is stored as DUPLICATE without
    // duplicate_of (the equal hash links them).
    row->state = v1::CANDIDATE_DUPLICATE;
    row->reason = "same genotype as an earlier candidate in the same batch";
  }
}

void AdvanceSimulatedBudget(const std::vector<TrialCost>& rows, double limit,
                            SimulatedBudget* b) {
  b->reported = b->used;
  bool pending = false;
  for (const TrialCost& t : rows) {
    if (b->ended || t.seq <= b->cursor) continue;
    if (t.status == TrialStatus::kQueued || t.status == TrialStatus::kRunning) {
      pending = true;
      continue;
    }
    if (t.status != TrialStatus::kSucceeded) {  // failed/cancelled: free
      if (!pending) b->cursor = t.seq;
      continue;
    }
    if (pending) {
      b->reported += t.simulated_seconds;
      continue;
    }
    if (b->used + t.simulated_seconds > limit) {
      b->ended = true;
      b->first_uncounted_seq = t.seq;
      b->reason =
          absl::StrCat("not counted: past budget.max_simulated_seconds ", limit,
                       " (candidate seq ", t.seq, " would have brought ",
                       b->used, " to ", b->used + t.simulated_seconds, ")");
      break;
    }
    b->used += t.simulated_seconds;
    b->reported += t.simulated_seconds;
    ++b->counted;
    b->cursor = t.seq;
    if (b->used >= limit) {
      b->ended = true;
      b->first_uncounted_seq = t.seq + 1;
      b->reason =
          absl::StrCat("not counted: budget.max_simulated_seconds ", limit,
                       " was spent exactly at candidate seq ", t.seq);
      break;
    }
  }
}

Controller::Controller(Store* store, ControllerOptions options)
    : store_(store), options_(std::move(options)) {
  result_writer_ = std::thread([this] { ResultWriterLoop(); });
}

Controller::~Controller() {
  Shutdown();
  {
    absl::MutexLock lock(&results_mu_);
    results_stop_ = true;
  }
  result_writer_.join();
}

absl::Status Controller::Start() {
  NAS_ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                       store_->ListRunningExperimentIds());
  {
    absl::MutexLock lock(&mu_);
    for (int64_t id : ids) NAS_RETURN_IF_ERROR(LoadExperiment(id));
  }
  NAS_RETURN_IF_ERROR(ExtendLeases());
  ticker_ = std::thread([this] { TickerLoop(); });
  return absl::OkStatus();
}

void Controller::Shutdown() {
  {
    absl::MutexLock lock(&tick_mu_);
    stop_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

int Controller::AddTickListener(std::function<void()> listener) {
  absl::MutexLock lock(&tick_mu_);
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void Controller::RemoveTickListener(int id) {
  absl::MutexLock lock(&tick_mu_);
  listeners_.erase(id);
}

void Controller::Wake() {
  absl::MutexLock lock(&tick_mu_);
  wake_ = true;
  wake_all_ = true;
}

void Controller::MarkDirty(int64_t id) {
  absl::MutexLock lock(&tick_mu_);
  wake_ = true;
  dirty_.insert(id);
}

void Controller::TickerLoop() {
  absl::Time last_full = absl::InfinitePast();
  absl::Time last_tick = absl::InfinitePast();
  while (true) {
    std::vector<std::function<void()>> listeners;
    std::set<int64_t> dirty;
    bool full = false;
    {
      absl::MutexLock lock(&tick_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_) {
        return wake_ || stop_;
      };
      tick_mu_.AwaitWithTimeout(absl::Condition(&ready), options_.tick);
      if (stop_) return;
      if (!wake_all_ && options_.min_tick > absl::ZeroDuration()) {
        // Woken by results: let those arriving close behind join this tick.
        auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_) {
          return stop_;
        };
        tick_mu_.AwaitWithDeadline(absl::Condition(&stopping),
                                   last_tick + options_.min_tick);
        if (stop_) return;
      }
      full = wake_all_ || absl::Now() - last_full >= options_.tick;
      wake_ = false;
      wake_all_ = false;
      dirty.swap(dirty_);
    }
    if (full) last_full = absl::Now();
    if (!paused_.load()) Tick(dirty, full);
    last_tick = absl::Now();
    {
      absl::MutexLock lock(&tick_mu_);
      for (auto& [id, l] : listeners_) listeners.push_back(l);
    }
    for (auto& l : listeners) l();
  }
}

absl::Status Controller::LoadExperiment(int64_t id) {
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec, store_->GetExperiment(id));
  Running run;
  run.spec = rec.spec;
  run.seed = rec.seed;
  NAS_ASSIGN_OR_RETURN(run.space,
                       GetSearchSpace(rec.spec.search_space().name()));
  NAS_ASSIGN_OR_RETURN(run.strategy,
                       MakeStrategy(rec.spec, run.space, rec.seed));
  // Replay proposals and observations interleaved as they happened: before
  // re-proposing candidate k, observe the results that had been observed
  // when k was proposed. With the stored seed this restores the strategy's
  // exact state, so it continues with the same sequence of proposals. Both
  // lists are read in pages, so memory does not grow with the experiment.
  const int kPage = std::max(1, options_.replay_page);
  std::deque<ResultRecord> results;
  bool results_done = false;
  // Makes `results` hold at least one record unless all were read.
  auto fill = [&]() -> absl::Status {
    while (results.empty() && !results_done) {
      NAS_ASSIGN_OR_RETURN(std::vector<ResultRecord> page,
                           store_->ListResults(id, run.last_result_id, kPage));
      results_done = static_cast<int>(page.size()) < kPage;
      for (ResultRecord& r : page) {
        run.last_result_id = r.result_id;
        results.push_back(std::move(r));
      }
    }
    return absl::OkStatus();
  };
  auto observe_next = [&]() -> absl::StatusOr<bool> {
    NAS_RETURN_IF_ERROR(fill());
    if (results.empty()) return false;
    Observe(run, results.front());
    results.pop_front();
    ++run.observed;
    return true;
  };
  int32_t after_seq = -1;
  while (true) {
    NAS_ASSIGN_OR_RETURN(std::vector<ProposalRecord> proposals,
                         store_->ListProposals(id, after_seq, kPage));
    for (const ProposalRecord& p : proposals) {
      while (run.observed < p.observed_results) {
        NAS_ASSIGN_OR_RETURN(bool more, observe_next());
        if (!more) break;
      }
      NAS_RETURN_IF_ERROR(run.strategy->Propose(1).status());
      after_seq = p.seq;
    }
    if (static_cast<int>(proposals.size()) < kPage) break;
  }
  while (true) {
    NAS_ASSIGN_OR_RETURN(bool more, observe_next());
    if (!more) break;
  }
  if (!run.spec.early_stopping().rule().empty()) {
    absl::MutexLock lock(&rules_mu_);
    stop_rules_[id] = {run.spec.early_stopping(),
                       run.spec.evaluation().epochs()};
  }
  running_[id] = std::move(run);
  return absl::OkStatus();
}

void Controller::Observe(Running& run, const ResultRecord& r) {
  run.strategy->Observe(
      {r.candidate_id, Choices(r.genotype), r.metrics, r.generation});
}

absl::Status Controller::FeedResults(int64_t id, Running& run) {
  // Only the results not observed yet are read.
  NAS_ASSIGN_OR_RETURN(std::vector<ResultRecord> results,
                       store_->ListResults(id, run.last_result_id));
  for (const ResultRecord& r : results) Observe(run, r);
  if (!results.empty()) run.last_result_id = results.back().result_id;
  run.observed += static_cast<int64_t>(results.size());
  return absl::OkStatus();
}

absl::StatusOr<bool> Controller::SupernetReady(int64_t id, Running& run,
                                               const v1::ExperimentCounts& c) {
  switch (c.supernet()) {
    case v1::CANDIDATE_EVALUATED:
      return true;
    case v1::CANDIDATE_STATE_UNSPECIFIED: {
      // First visit: the supernet-training row (and its trial).
      NewCandidate row;
      row.genotype.set_space(run.spec.search_space().name());
      row.genotype.set_canonical("supernet");
      row.genotype.set_hash("supernet");
      row.supernet = true;
      fprintf(stderr,
              "controller: experiment %lld: training the supernet first "
              "(%d epochs)\n",
              static_cast<long long>(id),
              run.spec.evaluation().supernet().epochs());
      NAS_RETURN_IF_ERROR(store_->InsertCandidates(id, {row}).status());
      return false;
    }
    case v1::CANDIDATE_QUEUED:
    case v1::CANDIDATE_RUNNING:
      return false;
    default: {
      // FAILED after max_attempts (or CANCELLED): nothing to inherit from.
      absl::Status s = store_->FinishExperiment(
          id, v1::EXPERIMENT_FAILED,
          absl::StrCat("the supernet's training ended ",
                       v1::CandidateState_Name(c.supernet()),
                       "; see its trial's error (nasctl candidates)"));
      NAS_RETURN_IF_ERROR(Forget(id, s));
      return false;
    }
  }
}

absl::Status Controller::TopUp(int64_t id, Running& run) {
  NAS_ASSIGN_OR_RETURN(v1::ExperimentCounts c, store_->CountExperiment(id));
  if (run.spec.evaluation().mode() == v1::SUPERNET) {
    // Candidates are dispatched only once the supernet is trained.
    NAS_ASSIGN_OR_RETURN(const bool ready, SupernetReady(id, run, c));
    if (!ready) return absl::OkStatus();
  }
  const int active = c.trials_queued() + c.trials_running();
  const int done = c.trials_succeeded() + c.trials_failed();
  const v1::BudgetSpec& budget = run.spec.budget();
  if (c.trials_succeeded() > run.observed) {
    NAS_RETURN_IF_ERROR(FeedResults(id, run));
  }
  const double max_sim = budget.max_simulated_seconds();
  if (max_sim > 0 && done != run.budget_done) {
    // Only trials that ended can move the budget.
    NAS_ASSIGN_OR_RETURN(std::vector<TrialCost> rows,
                         store_->ListTrialCosts(id, run.budget.cursor));
    AdvanceSimulatedBudget(rows, max_sim, &run.budget);
    run.budget_done = done;
  }
  if (max_sim > 0 && run.budget.ended) {
    // Tried again at every tick until it takes effect (e.g. after a
    // deadlock with a concurrent result, or with the database down).
    const bool any = run.budget.counted > 0;
    return Forget(
        id, store_->FinishOverBudget(
                id, any ? v1::EXPERIMENT_SUCCEEDED : v1::EXPERIMENT_FAILED,
                any ? ""
                    : absl::StrCat("no evaluation fits in budget.max_simulated_"
                                   "seconds ",
                                   max_sim),
                run.budget.first_uncounted_seq, run.budget.reason));
  }
  const bool trial_cap = budget.max_trials() > 0;
  if (!trial_cap && c.trials_failed() >= 10 &&
      c.trials_failed() > c.trials_succeeded()) {
    // Without max_trials nothing else would end an experiment whose every
    // trial fails (e.g. a table missing on the workers).
    absl::Status s = store_->FinishExperiment(
        id, v1::EXPERIMENT_FAILED,
        absl::StrCat(c.trials_failed(), " trials failed, ",
                     c.trials_succeeded(),
                     " succeeded; see the trials' errors"));
    return Forget(id, s);
  }
  if (trial_cap && done >= budget.max_trials() && active == 0) {
    // Budget spent. With spec.final, re-train the best candidates first.
    const bool any = c.trials_succeeded() > 0;
    if (any && run.spec.final().top_k() > 0) {
      if (c.final_trainings() == 0) return StartFinalTraining(id, run);
      if (c.final_trainings_done() < c.final_trainings()) {
        return absl::OkStatus();  // final re-trainings still running
      }
    }
    // Without a single successful trial there is no result to show: the
    // experiment failed (the trials carry their errors).
    absl::Status s = store_->FinishExperiment(
        id, any ? v1::EXPERIMENT_SUCCEEDED : v1::EXPERIMENT_FAILED,
        any ? ""
            : absl::StrCat("all ", done,
                           " trials failed; see the trials' errors"));
    return Forget(id, s);
  }
  const int64_t limit = options_.max_candidates_per_experiment;
  if (limit > 0 && c.candidates() >= limit) {
    // The candidate limit ends the search once the active trials are done:
    // a success when the budget is not in trials (and something succeeded),
    // else the trial budget can no longer be met.
    if (active > 0) return absl::OkStatus();
    const bool ok = !trial_cap && c.trials_succeeded() > 0;
    absl::Status s = store_->FinishExperiment(
        id, ok ? v1::EXPERIMENT_SUCCEEDED : v1::EXPERIMENT_FAILED,
        absl::StrCat("stored ", c.candidates(),
                     " candidates, this controller's limit per experiment "
                     "(--max_candidates_per_experiment), with ",
                     c.trials_succeeded(), " evaluated"));
    return Forget(id, s);
  }
  const int64_t cap = int64_t{trial_cap ? budget.max_trials() : done} *
                          options_.duplicate_factor +
                      100;
  if (c.candidates() >= cap) {
    absl::Status s = store_->FinishExperiment(
        id, v1::EXPERIMENT_FAILED,
        absl::StrCat("search space exhausted: ", c.candidates(),
                     " proposals, too many duplicates or rejections"));
    return Forget(id, s);
  }
  int n = budget.parallel_trials() - active;
  if (trial_cap) n = std::min(n, budget.max_trials() - done - active);
  if (limit > 0) {
    n = static_cast<int>(std::min<int64_t>(n, limit - c.candidates()));
  }
  // Once the reported costs reach the budget its end is certain.
  if (max_sim > 0 && run.budget.reported >= max_sim) n = 0;
  if (n <= 0) return absl::OkStatus();
  NAS_ASSIGN_OR_RETURN(std::vector<Proposal> proposals,
                       run.strategy->Propose(n));
  NAS_ASSIGN_OR_RETURN(InputShape input,
                       DatasetShape(run.spec.evaluation().dataset()));
  std::vector<NewCandidate> rows;
  std::set<std::string> batch_hashes;
  for (Proposal& p : proposals) {
    NewCandidate row;
    NAS_ASSIGN_OR_RETURN(row.genotype, run.space->ToProto(p.choices));
    row.parent_id = p.parent_id;
    row.generation = p.generation;
    row.strategy_data = p.strategy_data;
    row.observed_results = static_cast<int32_t>(run.observed);
    absl::StatusOr<Cost> cost =
        run.space->ComputeCost(p.choices, run.spec.search_space(), input);
    if (cost.ok()) {
      row.macs = cost->macs;
      row.params = cost->params;
      std::string violated =
          ViolatedConstraint(run.spec.objective().constraints(), *cost);
      if (!violated.empty()) {
        row.state = v1::CANDIDATE_REJECTED;
        row.reason = std::move(violated);
      }
    } else {
      row.state = v1::CANDIDATE_REJECTED;
      row.reason = std::string(cost.status().message());
    }
    rows.push_back(std::move(row));
  }
  // Earlier candidates with the same genotypes: one query for the batch.
  std::vector<std::string> hashes;
  for (const NewCandidate& row : rows) hashes.push_back(row.genotype.hash());
  NAS_ASSIGN_OR_RETURN(const auto firsts,
                       store_->FindCandidatesByHash(id, hashes));
  for (NewCandidate& row : rows) {
    auto it = firsts.find(row.genotype.hash());
    const std::optional<int64_t> first =
        it == firsts.end() ? std::nullopt : std::optional<int64_t>(it->second);
    const bool repeat_in_batch =
        !batch_hashes.insert(row.genotype.hash()).second;
    ApplyDuplicatePolicy(run.spec.duplicates(), first, repeat_in_batch, &row);
  }
  // Candidates are written before anything else happens to them.
  NAS_RETURN_IF_ERROR(store_->InsertCandidates(id, rows).status());
  if (options_.metrics != nullptr) {
    options_.metrics->CandidatesRejected(static_cast<int>(
        std::count_if(rows.begin(), rows.end(), [](const NewCandidate& r) {
          return r.state == v1::CANDIDATE_REJECTED;
        })));
  }
  for (const NewCandidate& row : rows) {
    if (row.state != v1::CANDIDATE_QUEUED) {
      // Rejected or duplicate proposals left room: propose again at once.
      MarkDirty(id);
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Controller::StartFinalTraining(int64_t id, Running& run) {
  CandidateQuery q;
  q.experiment_id = id;
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-val_accuracy";
  q.limit = run.spec.final().top_k();
  q.search_only = true;
  NAS_ASSIGN_OR_RETURN(CandidatePage top, store_->ListCandidates(q));
  std::vector<NewCandidate> rows;
  for (const v1::Candidate& c : top.candidates) {
    NewCandidate row;
    row.genotype = c.genotype();
    row.generation = c.generation();
    row.macs = c.macs();
    row.params = c.params();
    row.observed_results = static_cast<int32_t>(run.observed);
    row.final_of = c.id();
    rows.push_back(std::move(row));
  }
  fprintf(stderr,
          "controller: experiment %lld: search done; final re-training of "
          "the best %zu candidate(s) for %d epochs\n",
          static_cast<long long>(id), rows.size(), run.spec.final().epochs());
  return store_->InsertCandidates(id, rows).status();
}

void Controller::Tick(const std::set<int64_t>& dirty, bool full) {
  if (full) {
    absl::StatusOr<ExpiryOutcome> expired = store_->ExpireLeases();
    if (!expired.ok()) {
      fprintf(stderr, "controller: expiring leases: %s\n",
              std::string(expired.status().message()).c_str());
    } else if (expired->requeued + expired->failed > 0) {
      fprintf(stderr, "controller: leases expired: %d requeued, %d failed\n",
              expired->requeued, expired->failed);
      if (options_.metrics != nullptr) {
        options_.metrics->LeasesExpired(expired->requeued, expired->failed);
      }
    }
  }
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> ids;
  for (auto& [id, run] : running_) {
    if (full || dirty.count(id) > 0) ids.push_back(id);
  }
  for (int64_t id : ids) {
    if (full) {
      absl::Status folded = store_->FoldCounters(id);
      if (!folded.ok()) {
        fprintf(stderr, "controller: experiment %lld: %s\n",
                static_cast<long long>(id), folded.ToString().c_str());
      }
    }
    absl::Status s = TopUp(id, running_[id]);
    if (!s.ok()) {
      fprintf(stderr, "controller: experiment %lld: %s\n",
              static_cast<long long>(id), s.ToString().c_str());
    }
  }
}

absl::Status Controller::Forget(int64_t id, absl::Status finished) {
  if (finished.ok() || absl::IsFailedPrecondition(finished) ||
      absl::IsNotFound(finished)) {
    running_.erase(id);
  }
  return finished;
}

void Controller::Seen(const std::string& worker_id) {
  absl::MutexLock lock(&workers_mu_);
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) it->second.last_seen = absl::Now();
}

std::string Controller::WaitingReason(const v1::Experiment& e) {
  const int queued = e.counts().trials_queued();
  if (queued == 0 || e.state() != v1::EXPERIMENT_RUNNING) return "";
  const absl::Time cutoff = absl::Now() - options_.worker_alive;
  int alive = 0;
  int matching = 0;
  {
    absl::MutexLock lock(&workers_mu_);
    for (const auto& [id, w] : workers_) {
      if (w.last_seen < cutoff) continue;
      ++alive;
      bool match = true;
      for (const auto& [k, v] : e.spec().required_labels()) {
        auto it = w.labels.find(k);
        match = match && it != w.labels.end() && it->second == v;
      }
      matching += match;
    }
  }
  if (matching > 0) return "";
  if (e.spec().required_labels().empty()) {
    return absl::StrCat(queued, " queued trial(s) wait: no live worker");
  }
  std::vector<std::string> labels;
  for (const auto& [k, v] : e.spec().required_labels()) {
    labels.push_back(absl::StrCat(k, "=", v));
  }
  std::sort(labels.begin(), labels.end());
  return absl::StrCat(queued, " queued trial(s) wait for a worker with labels ",
                      absl::StrJoin(labels, ","), "; none of the ", alive,
                      " live worker(s) carries them");
}

absl::StatusOr<v1::Experiment> Controller::BuildExperiment(
    const ExperimentRecord& rec) {
  v1::Experiment e;
  e.set_id(rec.id);
  *e.mutable_spec() = rec.spec;
  e.mutable_spec()->mutable_strategy()->set_seed(rec.seed);
  e.set_state(rec.state);
  SetTime(rec.created_at, e.mutable_created_at());
  if (rec.finished_at.has_value())
    SetTime(*rec.finished_at, e.mutable_finished_at());
  e.set_error(rec.error);
  NAS_ASSIGN_OR_RETURN(*e.mutable_counts(), store_->CountExperiment(rec.id));
  CandidateQuery q;
  q.experiment_id = rec.id;
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-val_accuracy";
  q.limit = 1;
  q.search_only = true;
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
    NAS_ASSIGN_OR_RETURN(std::vector<TrialCost> costs,
                         store_->ListTrialCosts(rec.id, -1));
    double seconds = 0;
    for (const TrialCost& t : costs) {
      if (t.status == TrialStatus::kSucceeded) seconds += t.simulated_seconds;
    }
    e.set_simulated_seconds(seconds);
  }
  return e;
}

absl::StatusOr<v1::Experiment> Controller::CreateExperiment(
    const v1::CreateExperimentRequest& request) {
  NAS_ASSIGN_OR_RETURN(v1::ExperimentSpec spec,
                       PrepareSpec(request.spec(), request.spec_yaml()));
  const int64_t max_candidates = options_.max_candidates_per_experiment;
  if (max_candidates > 0 && spec.budget().max_trials() > max_candidates) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget.max_trials: ", spec.budget().max_trials(),
        " exceeds this controller's limit of ", max_candidates,
        " candidates per experiment (--max_candidates_per_experiment)"));
  }
  int64_t seed = spec.strategy().seed();
  if (seed == 0) seed = static_cast<int64_t>(std::random_device()() >> 1) + 1;
  NAS_ASSIGN_OR_RETURN(
      int64_t id,
      store_->CreateExperiment(spec, seed, options_.max_running_experiments));
  {
    absl::MutexLock lock(&mu_);
    NAS_RETURN_IF_ERROR(LoadExperiment(id));
  }
  Wake();
  return GetExperiment(id);
}

absl::StatusOr<v1::Experiment> Controller::GetExperiment(int64_t id) {
  NAS_RETURN_IF_ERROR(ValidateId("id", id));
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec, store_->GetExperiment(id));
  return BuildExperiment(rec);
}

absl::StatusOr<v1::ListExperimentsResponse> Controller::ListExperiments(
    const v1::ListExperimentsRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  int limit =
      request.page_size() <= 0 ? 50 : std::min(request.page_size(), 1000);
  int64_t before = 0;
  if (!request.page_token().empty() &&
      !absl::SimpleAtoi(request.page_token(), &before)) {
    return absl::InvalidArgumentError(
        "page_token: not a token from this service");
  }
  NAS_ASSIGN_OR_RETURN(std::vector<ExperimentRecord> recs,
                       store_->ListExperiments(before, limit + 1));
  v1::ListExperimentsResponse out;
  for (int i = 0; i < static_cast<int>(recs.size()) && i < limit; ++i) {
    NAS_ASSIGN_OR_RETURN(*out.add_experiments(), BuildExperiment(recs[i]));
  }
  if (static_cast<int>(recs.size()) > limit) {
    out.set_next_page_token(absl::StrCat(recs[limit - 1].id));
  }
  return out;
}

absl::StatusOr<v1::Experiment> Controller::StopExperiment(int64_t id) {
  NAS_RETURN_IF_ERROR(ValidateId("id", id));
  NAS_RETURN_IF_ERROR(store_->FinishExperiment(id, v1::EXPERIMENT_STOPPED, ""));
  {
    absl::MutexLock lock(&mu_);
    running_.erase(id);
  }
  Wake();
  return GetExperiment(id);
}

absl::StatusOr<v1::ListCandidatesResponse> Controller::ListCandidates(
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
  q.limit =
      request.page_size() <= 0 ? 100 : std::min(request.page_size(), 10000);
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &q.offset) || q.offset < 0)) {
    return absl::InvalidArgumentError(
        "page_token: not a token from this service");
  }
  NAS_RETURN_IF_ERROR(store_->GetExperiment(request.experiment_id()).status());
  NAS_ASSIGN_OR_RETURN(CandidatePage page, store_->ListCandidates(q));
  v1::ListCandidatesResponse out;
  for (auto& c : page.candidates) *out.add_candidates() = std::move(c);
  out.set_total(page.total);
  if (q.offset + out.candidates_size() < page.total) {
    out.set_next_page_token(absl::StrCat(q.offset + out.candidates_size()));
  }
  return out;
}

absl::StatusOr<v1::GetParetoFrontResponse> Controller::GetParetoFront(
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
  v1::ObjectiveSpec objective;
  for (const std::string& m : minimize) objective.add_minimize(m);
  CandidateQuery q;
  q.experiment_id = request.experiment_id();
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-val_accuracy";
  q.limit = 1000000;
  q.search_only = true;
  NAS_ASSIGN_OR_RETURN(CandidatePage page, store_->ListCandidates(q));
  std::vector<std::vector<double>> points;
  for (const v1::Candidate& c : page.candidates) {
    points.push_back(ObjectiveVector(objective, c.metrics()));
  }
  v1::GetParetoFrontResponse out;
  out.add_objectives("val_accuracy");
  for (const std::string& m : minimize) out.add_objectives(m);
  for (int i : ParetoFront(points)) *out.add_front() = page.candidates[i];
  return out;
}

absl::StatusOr<ArtifactInfo> Controller::GetArtifactInfo(
    const std::string& worker_id, const std::string& hash) {
  v1::FetchArtifactRequest request;
  request.set_worker_id(worker_id);
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  if (!worker_id.empty()) Seen(worker_id);
  if (!IsSha256Hex(hash)) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash: must be 64 lowercase hex digits (sha256), got \"",
                     hash.substr(0, 80), "\""));
  }
  return store_->GetArtifactInfo(hash);
}

absl::StatusOr<std::string> Controller::ReadArtifactChunk(
    const std::string& hash, int32_t seq) {
  return store_->ReadArtifactChunk(hash, seq);
}

absl::StatusOr<v1::ExportCandidateResponse> Controller::ExportCandidate(
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

absl::StatusOr<v1::RegisterWorkerResponse> Controller::RegisterWorker(
    const v1::RegisterWorkerRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  NAS_RETURN_IF_ERROR(store_->UpsertWorker(request));
  {
    absl::MutexLock lock(&workers_mu_);
    workers_[request.worker_id()] = {
        std::map<std::string, std::string>(request.labels().begin(),
                                           request.labels().end()),
        absl::Now()};
  }
  v1::RegisterWorkerResponse out;
  out.set_heartbeat_seconds(5);
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> Controller::WorkerLabels(
    const std::string& worker_id) {
  {
    absl::MutexLock lock(&workers_mu_);
    auto it = workers_.find(worker_id);
    if (it != workers_.end()) {
      it->second.last_seen = absl::Now();
      return it->second.labels;
    }
  }
  absl::StatusOr<std::map<std::string, std::string>> stored =
      store_->GetWorkerLabels(worker_id);
  if (absl::IsNotFound(stored.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "worker_id: '", worker_id, "' is not registered; call RegisterWorker"));
  }
  NAS_RETURN_IF_ERROR(stored.status());
  absl::MutexLock lock(&workers_mu_);
  workers_[worker_id] = {*stored, absl::Now()};
  return *stored;
}

std::vector<absl::StatusOr<v1::AcquireTrialResponse>> Controller::AcquireTrials(
    const std::vector<std::string>& worker_ids) {
  std::vector<absl::StatusOr<v1::AcquireTrialResponse>> out(
      worker_ids.size(), v1::AcquireTrialResponse());
  // One lease statement per set of labels (workers with equal labels match
  // the same trials).
  std::map<std::map<std::string, std::string>, std::vector<size_t>> groups;
  for (size_t i = 0; i < worker_ids.size(); ++i) {
    absl::StatusOr<std::map<std::string, std::string>> labels =
        WorkerLabels(worker_ids[i]);
    if (!labels.ok()) {
      out[i] = labels.status();
    } else {
      groups[*std::move(labels)].push_back(i);
    }
  }
  for (const auto& [labels, members] : groups) {
    std::vector<std::string> ids;
    ids.reserve(members.size());
    for (size_t i : members) ids.push_back(worker_ids[i]);
    const absl::Time lease_start = absl::Now();
    absl::StatusOr<std::vector<Store::LeaseAnswer>> answers =
        store_->LeaseTrials(ids, labels, options_.max_leases_per_worker);
    for (size_t k = 0; k < members.size(); ++k) {
      absl::StatusOr<v1::AcquireTrialResponse>& answer = out[members[k]];
      if (!answers.ok()) {
        answer = answers.status();
        continue;
      }
      Store::LeaseAnswer& a = (*answers)[k];
      if (!a.status.ok()) {
        answer = a.status;
      } else if (a.trial.has_value()) {
        if (options_.metrics != nullptr) {
          options_.metrics->TrialLeased(a.trial->trial_id, a.trial->queue_wait,
                                        absl::Now() - lease_start);
        }
        answer = TrialResponse(*a.trial);
      }
    }
  }
  return out;
}

v1::AcquireTrialResponse Controller::TrialResponse(const LeasedTrial& leased) {
  v1::AcquireTrialResponse out;
  v1::Trial* t = out.mutable_trial();
  t->set_trial_id(leased.trial_id);
  t->set_attempt(leased.attempt);
  t->set_experiment_id(leased.experiment_id);
  t->set_candidate_id(leased.candidate_id);
  *t->mutable_genotype() = leased.genotype;
  *t->mutable_search_space() = leased.spec.search_space();
  *t->mutable_nb201() = leased.spec.search_space().nb201();
  *t->mutable_evaluation() = leased.spec.evaluation();
  t->set_lease_seconds(leased.spec.lease_seconds());
  const v1::EvaluationMode mode = leased.spec.evaluation().mode();
  const bool trains = mode == v1::FULL || mode == v1::EARLY_STOPPED;
  if (leased.final_of != 0) {
    t->set_final_training(true);
    t->mutable_evaluation()->set_epochs(leased.spec.final().epochs());
    // A final re-training trains from scratch, in every mode.
    if (mode == v1::SUPERNET) t->mutable_evaluation()->set_mode(v1::FULL);
  }
  if (leased.supernet) {
    t->set_supernet_training(true);
    t->mutable_evaluation()->set_epochs(
        leased.spec.evaluation().supernet().epochs());
  } else if (mode == v1::SUPERNET) {
    t->set_supernet_hash(leased.supernet_hash);
  }
  // Inherited candidates are exported like trained ones; the supernet's
  // weights travel as the result's model anyway.
  const bool exports = trains || (mode == v1::SUPERNET && !leased.supernet);
  t->set_export_model(exports &&
                      (leased.final_of != 0 || leased.spec.keep_models() > 0));
  return out;
}

absl::StatusOr<v1::RenewLeaseResponse> Controller::RenewLease(
    const v1::RenewLeaseRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  Seen(request.worker_id());
  NAS_ASSIGN_OR_RETURN(bool ok,
                       store_->RenewLease(request.trial_id(), request.attempt(),
                                          request.worker_id()));
  v1::RenewLeaseResponse out;
  out.set_ok(ok);
  return out;
}

absl::StatusOr<v1::ReportProgressResponse> Controller::ReportProgress(
    const v1::ReportProgressRequest& request) {
  NAS_RETURN_IF_ERROR(ValidateRequest(request));
  Seen(request.worker_id());
  NAS_ASSIGN_OR_RETURN(bool held, store_->RecordProgress(request));
  v1::ReportProgressResponse out;
  if (!held) {
    out.set_action(v1::ReportProgressResponse::ABANDON);
    out.set_reason(
        "lease no longer held (expired, re-leased or experiment stopped)");
    return out;
  }
  out.set_action(v1::ReportProgressResponse::CONTINUE);
  // Early stopping: only experiments that asked for it pay the query.
  {
    absl::MutexLock lock(&rules_mu_);
    if (stop_rules_.empty()) return out;
  }
  NAS_ASSIGN_OR_RETURN(
      EpochPeers peers,
      store_->ProgressAtEpoch(request.trial_id(), request.epoch()));
  if (peers.final_training) return out;  // final re-trainings run to the end
  v1::EarlyStoppingSpec rule;
  int max_epochs = 0;
  {
    absl::MutexLock lock(&rules_mu_);
    auto it = stop_rules_.find(peers.experiment_id);
    if (it == stop_rules_.end()) return out;
    rule = it->second.rule;
    max_epochs = it->second.max_epochs;
  }
  StopDecision d = DecideStop(rule, request.epoch(), max_epochs,
                              request.val_accuracy(), peers.others);
  if (!d.stop) return out;
  NAS_RETURN_IF_ERROR(store_->RecordStopDecision(
      request.trial_id(), request.attempt(), request.epoch(), d.reason));
  out.set_action(v1::ReportProgressResponse::STOP);
  out.set_reason(d.reason);
  return out;
}

absl::StatusOr<v1::ReportResultResponse> Controller::ReportResult(
    const v1::ReportResultRequest& request) {
  absl::Notification stored;
  absl::StatusOr<v1::ReportResultResponse> out;
  ReportResultAsync(request, [&](absl::StatusOr<v1::ReportResultResponse> r) {
    out = std::move(r);
    stored.Notify();
  });
  stored.WaitForNotification();
  return out;
}

void Controller::ReportResultAsync(const v1::ReportResultRequest& request,
                                   ReportResultDone done) {
  if (absl::Status s = ValidateRequest(request); !s.ok()) {
    done(s);
    return;
  }
  Seen(request.worker_id());
  if (!request.error().empty() || !request.has_metrics() ||
      !ValidateMetrics(request.metrics()).ok()) {
    done(ReportFailure(request));
    return;
  }
  absl::MutexLock lock(&results_mu_);
  pending_results_.push_back({&request, std::move(done)});
}

void Controller::ResultWriterLoop() {
  constexpr size_t kMaxBatch = 256;
  while (true) {
    std::vector<PendingResult> batch;
    {
      absl::MutexLock lock(&results_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(results_mu_) {
        return !pending_results_.empty() || results_stop_;
      };
      results_mu_.Await(absl::Condition(&ready));
      if (pending_results_.empty()) return;  // stopping
      // A result carrying a model (megabytes) goes alone.
      while (!pending_results_.empty() && batch.size() < kMaxBatch) {
        const bool big = !pending_results_.front().request->model().empty();
        if (big && !batch.empty()) break;
        batch.push_back(std::move(pending_results_.front()));
        pending_results_.pop_front();
        if (big) break;
      }
    }
    std::vector<Store::ResultToStore> items;
    items.reserve(batch.size());
    for (const PendingResult& p : batch) {
      const v1::ReportResultRequest& r = *p.request;
      items.push_back({r.trial_id(), r.attempt(), &r.worker_id(), &r.metrics(),
                       &r.model()});
    }
    absl::StatusOr<std::vector<Store::ResultStored>> stored =
        store_->RecordResults(items);
    if (!stored.ok() && batch.size() > 1 &&
        !absl::IsUnavailable(stored.status())) {
      // One item broke the transaction: store them one by one.
      std::vector<Store::ResultStored> one_by_one(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        absl::StatusOr<ReportOutcome> o = store_->RecordResult(
            items[i].trial_id, items[i].attempt, *items[i].worker_id,
            *items[i].metrics, *items[i].model, &one_by_one[i].experiment_id);
        if (o.ok()) {
          one_by_one[i].outcome = *o;
        } else {
          one_by_one[i].status = o.status();
        }
      }
      stored = std::move(one_by_one);
    }
    std::set<int64_t> dirty;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!stored.ok()) {
        batch[i].done(stored.status());
        continue;
      }
      const Store::ResultStored& r = (*stored)[i];
      if (!r.status.ok()) {
        batch[i].done(r.status);
        continue;
      }
      if (r.outcome == ReportOutcome::kStored) {
        dirty.insert(r.experiment_id);
        if (options_.metrics != nullptr) {
          options_.metrics->TrialReported(items[i].trial_id, "succeeded");
        }
      }
      v1::ReportResultResponse out;
      out.set_accepted(true);
      batch[i].done(std::move(out));
    }
    for (int64_t id : dirty) MarkDirty(id);
  }
}

absl::StatusOr<v1::ReportResultResponse> Controller::ReportFailure(
    const v1::ReportResultRequest& request) {
  v1::ReportResultResponse out;
  int64_t experiment_id = 0;
  if (!request.error().empty()) {
    // Long errors (a whole traceback) are kept, cut to a bounded size.
    std::string error = request.error();
    if (error.size() > kMaxErrorBytes) {
      error.resize(kMaxErrorBytes);
      absl::StrAppend(&error, " ... [cut at ", kMaxErrorBytes, " of ",
                      request.error().size(), " bytes]");
    }
    NAS_RETURN_IF_ERROR(
        store_->RecordFailure(request.trial_id(), request.attempt(),
                              request.worker_id(), error, &experiment_id));
    out.set_accepted(true);
    MarkDirty(experiment_id);
    if (options_.metrics != nullptr) {
      options_.metrics->TrialReported(request.trial_id(), "failed");
    }
    return out;
  }
  absl::Status valid =
      request.has_metrics()
          ? ValidateMetrics(request.metrics())
          : absl::InvalidArgumentError(
                "metrics: required when error is empty (report either the "
                "evaluation's metrics or why it failed)");
  absl::Status s = store_->RecordFailure(
      request.trial_id(), request.attempt(), request.worker_id(),
      std::string(valid.message()), &experiment_id);
  if (!s.ok() && !absl::IsFailedPrecondition(s)) return s;
  if (s.ok()) MarkDirty(experiment_id);
  if (s.ok() && options_.metrics != nullptr) {
    options_.metrics->TrialReported(request.trial_id(), "failed");
  }
  return valid;
}

absl::Status Controller::ExtendLeases() {
  absl::StatusOr<int> n = store_->ExtendRunningLeases();
  if (!n.ok()) return n.status();
  if (*n > 0) {
    fprintf(stderr,
            "nas-controller: %d running trial(s) given a fresh lease (no "
            "controller could renew leases meanwhile)\n",
            *n);
  }
  return absl::OkStatus();
}

void Controller::SetPaused(bool paused) {
  if (!paused && paused_.load()) {
    absl::Status s = ExtendLeases();
    if (!s.ok()) {
      fprintf(stderr, "nas-controller: extending running leases: %s\n",
              s.ToString().c_str());
    }
  }
  paused_ = paused;
  if (!paused) Wake();
}

absl::StatusOr<OpsSnapshot> Controller::GetOpsSnapshot() {
  NAS_ASSIGN_OR_RETURN(OpsStats stats, store_->GetOpsStats());
  OpsSnapshot out;
  out.trials_by_status = std::move(stats.trials_by_status);
  out.oldest_queued_seconds = stats.oldest_queued_seconds;
  {
    const absl::Time cutoff = absl::Now() - options_.worker_alive;
    absl::MutexLock lock(&workers_mu_);
    for (const auto& [id, w] : workers_)
      out.workers_alive += w.last_seen >= cutoff;
  }
  for (const auto& [id, best] : stats.running_best_val_accuracy) {
    OpsSnapshot::Experiment& e = out.running[id];
    e.best_val_accuracy = best;
    v1::GetParetoFrontRequest req;
    req.set_experiment_id(id);
    absl::StatusOr<v1::GetParetoFrontResponse> front = GetParetoFront(req);
    // An experiment that finished meanwhile has no front to count: skip.
    if (front.ok()) e.pareto_front_size = front->front_size();
  }
  return out;
}

}  // namespace nas
