#include "controller/scheduler.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/spec/spec.h"
#include "common/status_macros.h"

namespace nas {
namespace {

std::vector<int> Choices(const v1::Genotype& g) {
  return std::vector<int>(g.choices().begin(), g.choices().end());
}

}  // namespace

Scheduler::Scheduler(Store* store, Dispatch* dispatch,
                     const ControllerOptions& options)
    : store_(store), dispatch_(dispatch), options_(options) {}

Scheduler::~Scheduler() { Shutdown(); }

absl::Status Scheduler::Start() {
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

void Scheduler::Shutdown() {
  {
    absl::MutexLock lock(&tick_mu_);
    stop_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

int Scheduler::AddTickListener(std::function<void()> listener) {
  absl::MutexLock lock(&tick_mu_);
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void Scheduler::RemoveTickListener(int id) {
  absl::MutexLock lock(&tick_mu_);
  listeners_.erase(id);
}

void Scheduler::Wake() {
  absl::MutexLock lock(&tick_mu_);
  wake_ = true;
  wake_all_ = true;
}

void Scheduler::MarkDirty(int64_t id) {
  absl::MutexLock lock(&tick_mu_);
  wake_ = true;
  dirty_.insert(id);
}

absl::Status Scheduler::Load(int64_t id) {
  absl::MutexLock lock(&mu_);
  return LoadExperiment(id);
}

void Scheduler::Drop(int64_t id) {
  absl::MutexLock lock(&mu_);
  running_.erase(id);
}

absl::Status Scheduler::Reload(int64_t id,
                               const std::function<absl::Status()>& reopen) {
  absl::MutexLock lock(&mu_);
  NAS_RETURN_IF_ERROR(reopen());
  running_.erase(id);
  return LoadExperiment(id);
}

absl::Status Scheduler::ExtendLeases() {
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

void Scheduler::SetPaused(bool paused) {
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

void Scheduler::TickerLoop() {
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

void Scheduler::Tick(const std::set<int64_t>& dirty, bool full) {
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

absl::Status Scheduler::LoadExperiment(int64_t id) {
  NAS_ASSIGN_OR_RETURN(ExperimentRecord rec, store_->GetExperiment(id));
  Running run;
  run.spec = rec.spec;
  run.seed = rec.seed;
  NAS_ASSIGN_OR_RETURN(run.space, MakeSearchSpace(rec.spec.search_space()));
  NAS_ASSIGN_OR_RETURN(run.strategy,
                       MakeStrategy(rec.spec, run.space.get(), rec.seed));
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
    dispatch_->SetStopRule(id, run.spec.early_stopping(),
                           run.spec.evaluation().epochs(),
                           run.spec.evaluation().progress_metric().empty()
                               ? "val_accuracy"
                               : run.spec.evaluation().progress_metric());
  }
  running_[id] = std::move(run);
  return absl::OkStatus();
}

void Scheduler::Observe(Running& run, const ResultRecord& r) {
  run.strategy->Observe(
      {r.candidate_id, Choices(r.genotype), r.metrics, r.generation});
}

absl::Status Scheduler::FeedResults(int64_t id, Running& run) {
  // Only the results not observed yet are read.
  NAS_ASSIGN_OR_RETURN(std::vector<ResultRecord> results,
                       store_->ListResults(id, run.last_result_id));
  for (const ResultRecord& r : results) Observe(run, r);
  if (!results.empty()) run.last_result_id = results.back().result_id;
  run.observed += static_cast<int64_t>(results.size());
  return absl::OkStatus();
}

absl::Status Scheduler::TopUp(int64_t id, Running& run) {
  // Read.
  NAS_ASSIGN_OR_RETURN(v1::ExperimentCounts c, store_->CountExperiment(id));
  if (run.spec.evaluation().mode() == v1::SUPERNET) {
    // Candidates are dispatched only once the supernet is trained.
    if (std::optional<TopUpDecision> d = DecideSupernet(c.supernet())) {
      return Apply(id, run, *d);
    }
  }
  const int done = c.trials_succeeded() + c.trials_failed();
  v1::BudgetSpec budget = run.spec.budget();
  if (run.spec.strategy().name() == "darts") {
    // Searches first; their derived cells are the experiment's candidates.
    std::vector<SearchOutcome> underived;
    if (c.searches_done() > 0) {
      NAS_ASSIGN_OR_RETURN(underived, store_->ListUnderivedSearches(id));
    }
    if (std::optional<TopUpDecision> d =
            DecideDarts(c, static_cast<int>(underived.size()))) {
      if (d->action == TopUpDecision::kDeriveCandidates) {
        return DeriveCandidates(id, run, underived);
      }
      return Apply(id, run, *d);
    }
    // Every cell is stored: the experiment ends once they are evaluated.
    budget.set_max_trials(std::max(1, done));
  }
  if (c.screens_pending() > 0) {
    // Proxy-guided evolution: train the best child of every scored slot.
    NAS_ASSIGN_OR_RETURN(
        std::vector<ScreenedGroup> scored,
        store_->ListScreenedGroups(
            id, run.spec.strategy().evolution().proxy().metric()));
    if (!scored.empty()) {
      NAS_RETURN_IF_ERROR(StoreScreenedWinners(id, run, scored));
      MarkDirty(id);  // decide again from fresh counts
      return absl::OkStatus();
    }
  }
  if (c.trials_succeeded() > run.observed) {
    NAS_RETURN_IF_ERROR(FeedResults(id, run));
  }
  const double max_sim = run.spec.budget().max_simulated_seconds();
  if (max_sim > 0 && done != run.budget_done) {
    // Only trials that ended can move the budget.
    NAS_ASSIGN_OR_RETURN(std::vector<TrialCost> rows,
                         store_->ListTrialCosts(id, run.budget.cursor));
    AdvanceSimulatedBudget(rows, max_sim, &run.budget);
    run.budget_done = done;
  }
  // Decide.
  TopUpInput in;
  in.counts = std::move(c);
  in.budget = budget;
  in.final_top_k = run.spec.final().top_k();
  in.simulated = run.budget;
  in.max_candidates = options_.max_candidates_per_experiment;
  in.duplicate_factor = options_.duplicate_factor;
  // Write.
  return Apply(id, run, DecideTopUp(in));
}

absl::Status Scheduler::Apply(int64_t id, Running& run,
                              const TopUpDecision& d) {
  switch (d.action) {
    case TopUpDecision::kWait:
      return absl::OkStatus();
    case TopUpDecision::kTrainSupernet:
      return StartSupernetTraining(id, run);
    case TopUpDecision::kStartSearches:
      return StartSearches(id, run);
    case TopUpDecision::kDeriveCandidates:
      return absl::OkStatus();  // TopUp derives (it has the searches)
    case TopUpDecision::kFinish:
      return Forget(id, store_->FinishExperiment(id, d.state, d.error));
    case TopUpDecision::kFinishOverBudget:
      // Tried again at every tick until it takes effect (e.g. after a
      // deadlock with a concurrent result, or with the database down).
      return Forget(id, store_->FinishOverBudget(id, d.state, d.error,
                                                 run.budget.first_uncounted_seq,
                                                 run.budget.reason));
    case TopUpDecision::kStartFinalTraining:
      return StartFinalTraining(id, run);
    case TopUpDecision::kPropose:
      return Propose(id, run, d.n);
  }
  return absl::OkStatus();
}

absl::Status Scheduler::Propose(int64_t id, Running& run, int n) {
  NAS_ASSIGN_OR_RETURN(std::vector<Proposal> proposals,
                       run.strategy->Propose(n));
  if (!proposals.empty() && !proposals.front().alternatives.empty()) {
    return StoreScreening(id, run, std::move(proposals));
  }
  NAS_ASSIGN_OR_RETURN(
      const CandidatesDecision d,
      StoreProposals(id, run, std::move(proposals), /*from_searches=*/false));
  // Rejected or duplicate proposals left room: propose again at once.
  if (d.propose_again) MarkDirty(id);
  return absl::OkStatus();
}

absl::StatusOr<CandidatesDecision> Scheduler::StoreProposals(
    int64_t id, Running& run, std::vector<Proposal> proposals,
    bool from_searches, const std::vector<int64_t>& screen_groups) {
  NAS_ASSIGN_OR_RETURN(InputShape input, DatasetShape(run.spec.evaluation()));
  CandidatesInput in;
  // A space without analytic costs (custom) has no hard constraints
  // (validation refuses them); its candidates are never rejected for cost.
  if (run.space->has_analytic_cost()) {
    in.constraints = run.spec.objective().constraints();
  }
  in.duplicates = run.spec.duplicates();
  in.observed = run.observed;
  std::vector<std::string> hashes;
  for (Proposal& p : proposals) {
    ProposedCandidate pc;
    NAS_ASSIGN_OR_RETURN(pc.genotype, run.space->ToProto(p.choices));
    pc.parent_id = p.parent_id;
    pc.generation = p.generation;
    pc.strategy_data = std::move(p.strategy_data);
    pc.cost = run.space->ComputeCost(p.choices, run.spec.search_space(), input);
    hashes.push_back(pc.genotype.hash());
    in.proposals.push_back(std::move(pc));
  }
  // Earlier candidates with the same genotypes: one query for the batch.
  NAS_ASSIGN_OR_RETURN(in.stored, store_->FindCandidatesByHash(id, hashes));
  CandidatesDecision d = DecideCandidates(in);
  if (from_searches) {
    for (NewCandidate& row : d.rows) {
      row.search_of = row.parent_id;  // derived, not mutated: no parent
      row.parent_id = 0;
    }
  }
  for (size_t i = 0; i < screen_groups.size() && i < d.rows.size(); ++i) {
    d.rows[i].screen_group = screen_groups[i];
  }
  // Candidates are written before anything else happens to them.
  NAS_RETURN_IF_ERROR(store_->InsertCandidates(id, d.rows).status());
  if (options_.metrics != nullptr) {
    options_.metrics->CandidatesRejected(d.rejected);
  }
  return d;
}

absl::Status Scheduler::StoreScreening(int64_t id, Running& run,
                                       std::vector<Proposal> slots) {
  NAS_ASSIGN_OR_RETURN(InputShape input, DatasetShape(run.spec.evaluation()));
  std::vector<NewCandidate> rows;
  for (Proposal& slot : slots) {
    const int first = static_cast<int>(rows.size());
    std::vector<Proposal> children = std::move(slot.alternatives);
    slot.alternatives.clear();
    children.insert(children.begin(), std::move(slot));
    for (Proposal& p : children) {
      NewCandidate row;
      NAS_ASSIGN_OR_RETURN(row.genotype, run.space->ToProto(p.choices));
      row.parent_id = p.parent_id;
      row.generation = p.generation;
      row.strategy_data = std::move(p.strategy_data);
      row.observed_results = static_cast<int32_t>(run.observed);
      // Neither constraints nor duplicates apply to a score: the trained
      // child goes through DecideCandidates (StoreScreenedWinners).
      if (absl::StatusOr<Cost> cost =
              run.space->ComputeCost(p.choices, run.spec.search_space(), input);
          cost.ok()) {
        row.macs = cost->macs;
        row.params = cost->params;
      }
      row.supernet = true;  // never a result of the search itself
      row.screening = true;
      row.screen_first = first;
      rows.push_back(std::move(row));
    }
  }
  return store_->InsertCandidates(id, rows).status();
}

absl::Status Scheduler::StoreScreenedWinners(
    int64_t id, Running& run, const std::vector<ScreenedGroup>& groups) {
  const std::string& proxy = run.spec.strategy().evolution().proxy().metric();
  std::vector<Proposal> winners;
  std::vector<int64_t> winner_groups;
  std::vector<NewCandidate> unscored;
  for (const ScreenedGroup& g : groups) {
    if (g.best_id == 0) {
      // Every child failed: the slot ends with nothing to train.
      NewCandidate row;
      row.genotype.set_space(run.spec.search_space().name());
      row.genotype.set_canonical(absl::StrCat("screen-", g.group));
      row.genotype.set_hash(row.genotype.canonical());
      row.state = v1::CANDIDATE_REJECTED;
      row.reason = absl::StrCat("none of the slot's ", g.children,
                                " children could be scored with ", proxy,
                                "; see their trials' errors");
      row.observed_results = static_cast<int32_t>(run.observed);
      row.screen_group = g.group;
      unscored.push_back(std::move(row));
      continue;
    }
    Proposal p;
    p.choices.assign(g.best.choices().begin(), g.best.choices().end());
    p.parent_id = g.best_parent_id;
    p.generation = g.best_generation;
    p.strategy_data = absl::StrCat(
        "{\"screen_group\": ", g.group, ", \"screened_id\": ", g.best_id,
        ", \"proxy\": \"", proxy, "\", \"score\": ", g.best_score,
        ", \"children\": ", g.children, ", \"scored\": ", g.scored,
        ", \"proposed\": ", g.best_strategy_data, "}");
    winners.push_back(std::move(p));
    winner_groups.push_back(g.group);
  }
  if (!unscored.empty()) {
    NAS_RETURN_IF_ERROR(store_->InsertCandidates(id, unscored).status());
  }
  if (winners.empty()) return absl::OkStatus();
  return StoreProposals(id, run, std::move(winners), /*from_searches=*/false,
                        winner_groups)
      .status();
}

absl::Status Scheduler::StartSearches(int64_t id, Running& run) {
  const v1::DartsOptions& o = run.spec.strategy().darts();
  std::vector<NewCandidate> rows;
  for (int i = 0; i < o.seeds(); ++i) {
    NewCandidate row;
    const int64_t seed = run.seed + i;
    row.genotype.set_space(run.spec.search_space().name());
    row.genotype.set_canonical(absl::StrCat("darts-search-", seed));
    row.genotype.set_hash(row.genotype.canonical());
    row.supernet = true;  // a weight-sharing training, not a result
    row.search_seed = seed;
    rows.push_back(std::move(row));
  }
  fprintf(stderr,
          "controller: experiment %lld: %d differentiable searches (%s, %d "
          "epochs each) first\n",
          static_cast<long long>(id), o.seeds(), o.method().c_str(),
          o.epochs());
  return store_->InsertCandidates(id, rows).status();
}

absl::Status Scheduler::DeriveCandidates(
    int64_t id, Running& run, const std::vector<SearchOutcome>& searches) {
  std::vector<Proposal> cells;
  for (const SearchOutcome& s : searches) {
    Proposal p;
    p.choices.assign(s.derived.choices().begin(), s.derived.choices().end());
    p.parent_id = s.search_id;  // becomes search_of
    p.strategy_data =
        absl::StrCat("{\"search_id\": ", s.search_id, ", \"seed\": ", s.seed,
                     ", \"param_free_share\": ", s.param_free_share, "}");
    cells.push_back(std::move(p));
    fprintf(stderr,
            "controller: experiment %lld: search %lld (seed %lld) derived "
            "%s, %.0f%% parameter-free%s\n",
            static_cast<long long>(id), static_cast<long long>(s.search_id),
            static_cast<long long>(s.seed), s.derived.canonical().c_str(),
            100 * s.param_free_share,
            s.param_free_share > 0.5
                ? " (WARNING: parameter-free operations dominate: the "
                  "search collapsed)"
                : "");
  }
  return StoreProposals(id, run, std::move(cells), /*from_searches=*/true)
      .status();
}

absl::Status Scheduler::StartSupernetTraining(int64_t id, Running& run) {
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
  return store_->InsertCandidates(id, {row}).status();
}

absl::Status Scheduler::StartFinalTraining(int64_t id, Running& run) {
  CandidateQuery q;
  q.experiment_id = id;
  q.state = v1::CANDIDATE_EVALUATED;
  q.order_by = "-objective";  // the top_k by objective.metric
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

absl::Status Scheduler::Forget(int64_t id, absl::Status finished) {
  if (finished.ok() || absl::IsFailedPrecondition(finished) ||
      absl::IsNotFound(finished)) {
    running_.erase(id);
  }
  return finished;
}

}  // namespace nas
