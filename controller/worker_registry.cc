#include "controller/worker_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nas {

WorkerRegistry::WorkerRegistry(Store* store, absl::Duration worker_alive)
    : store_(store), worker_alive_(worker_alive) {}

void WorkerRegistry::Register(const std::string& worker_id, Labels labels) {
  absl::MutexLock lock(&mu_);
  workers_[worker_id] = {std::move(labels), absl::Now()};
}

void WorkerRegistry::Seen(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it != workers_.end()) it->second.last_seen = absl::Now();
}

absl::StatusOr<WorkerRegistry::Labels> WorkerRegistry::GetLabels(
    const std::string& worker_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it != workers_.end()) {
      it->second.last_seen = absl::Now();
      return it->second.labels;
    }
  }
  absl::StatusOr<Labels> stored = store_->GetWorkerLabels(worker_id);
  if (absl::IsNotFound(stored.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "worker_id: '", worker_id, "' is not registered; call RegisterWorker"));
  }
  NAS_RETURN_IF_ERROR(stored.status());
  absl::MutexLock lock(&mu_);
  workers_[worker_id] = {*stored, absl::Now()};
  return *stored;
}

int WorkerRegistry::CountAlive() {
  const absl::Time cutoff = absl::Now() - worker_alive_;
  int alive = 0;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, w] : workers_) alive += w.last_seen >= cutoff;
  return alive;
}

WorkerRegistry::Fleet WorkerRegistry::CountMatching(const Labels& required) {
  const absl::Time cutoff = absl::Now() - worker_alive_;
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
