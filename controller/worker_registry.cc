#include "controller/worker_registry.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nas {

WorkerRegistry::WorkerRegistry(Store* store, Options options)
    : store_(store), options_(std::move(options)) {}

WorkerRegistry::WorkerRegistry(Store* store, absl::Duration worker_alive)
    : WorkerRegistry(store, Options{worker_alive}) {}

absl::Duration WorkerRegistry::PruneInterval() const {
  return std::min(options_.retention / 4, absl::Minutes(1));
}

int WorkerRegistry::PruneLocked(absl::Time now, size_t cap) {
  last_prune_ = now;
  const absl::Time cutoff = now - options_.retention;
  const size_t before = workers_.size();
  for (auto it = workers_.begin(); it != workers_.end();) {
    it = it->second.last_seen < cutoff ? workers_.erase(it) : std::next(it);
  }
  if (workers_.size() > cap) {
    // Keep the `cap` most recently seen (ties: any of them).
    std::vector<absl::Time> seen;
    seen.reserve(workers_.size());
    for (const auto& [id, w] : workers_) seen.push_back(w.last_seen);
    const size_t drop = workers_.size() - cap;
    std::nth_element(seen.begin(), seen.begin() + (drop - 1), seen.end());
    const absl::Time newest_dropped = seen[drop - 1];
    size_t dropped = 0;
    for (auto it = workers_.begin(); it != workers_.end() && dropped < drop;) {
      if (it->second.last_seen <= newest_dropped) {
        it = workers_.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  return static_cast<int>(before - workers_.size());
}

void WorkerRegistry::PutLocked(const std::string& worker_id, Labels labels,
                               absl::Time now) {
  const bool is_new = workers_.count(worker_id) == 0;
  if (now - last_prune_ >= PruneInterval() ||
      (is_new && workers_.size() >= Cap())) {
    // Full: down to 90 % of the cap, so that a stream of new ids pays for
    // a pass only once per tenth of the cap.
    PruneLocked(now, is_new ? Cap() - 1 - Cap() / 10 : Cap());
  }
  workers_[worker_id] = {std::move(labels), now};
}

void WorkerRegistry::Register(const std::string& worker_id, Labels labels) {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  PutLocked(worker_id, std::move(labels), now);
}

void WorkerRegistry::Seen(const std::string& worker_id) {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) it->second.last_seen = now;
}

absl::StatusOr<WorkerRegistry::Labels> WorkerRegistry::GetLabels(
    const std::string& worker_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it != workers_.end()) {
      it->second.last_seen = Now();
      return it->second.labels;
    }
  }
  absl::StatusOr<Labels> stored = store_->GetWorkerLabels(worker_id);
  if (absl::IsNotFound(stored.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "worker_id: '", worker_id, "' is not registered; call RegisterWorker"));
  }
  NAS_RETURN_IF_ERROR(stored.status());
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  PutLocked(worker_id, *stored, now);
  return *stored;
}

int WorkerRegistry::Prune() {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  return PruneLocked(now, Cap());
}

absl::Status WorkerRegistry::PruneStore() {
  const absl::Time now = Now();
  std::vector<std::string> live;
  {
    absl::MutexLock lock(&mu_);
    if (now - last_store_prune_ < PruneInterval()) return absl::OkStatus();
    PruneLocked(now, Cap());
    for (const auto& [id, w] : workers_) {
      if (w.last_seen >= last_store_prune_) live.push_back(id);
    }
    last_store_prune_ = now;
  }
  NAS_ASSIGN_OR_RETURN(int64_t deleted,
                       store_->PruneWorkers(live, options_.retention));
  if (deleted > 0) {
    fprintf(stderr, "controller: pruned %lld silent worker(s)\n",
            static_cast<long long>(deleted));
  }
  return absl::OkStatus();
}

int WorkerRegistry::Size() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(workers_.size());
}

int WorkerRegistry::CountAlive() {
  const absl::Time cutoff = Now() - options_.worker_alive;
  int alive = 0;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, w] : workers_) alive += w.last_seen >= cutoff;
  return alive;
}

WorkerRegistry::Fleet WorkerRegistry::CountMatching(const Labels& required) {
  const absl::Time cutoff = Now() - options_.worker_alive;
  Fleet out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, w] : workers_) {
    if (w.last_seen < cutoff) continue;
    ++out.alive;
    bool match = true;
    for (const auto& [k, v] : required) {
      auto it = w.labels.find(k);
      match = match && it != w.labels.end() && it->second == v;
    }
    out.matching += match;
  }
  return out;
}

}  // namespace nas
