// WorkerRegistry: this controller's view of the fleet, each worker's labels
// and when it last called (liveness). The labels of a worker this process
// has not seen are read from the store once. Memory is bounded: a worker
// silent for the retention is forgotten (and re-read from the store if it
// calls again), and at most max_workers are held. Thread-safe; its lock is
// never held across a database call, so worker RPCs never wait for a tick.
#ifndef NAS_CONTROLLER_WORKER_REGISTRY_H_
#define NAS_CONTROLLER_WORKER_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/store.h"

namespace nas {

class WorkerRegistry {
 public:
  using Labels = std::map<std::string, std::string>;

  struct Options {
    // A worker counts as alive for this long after its last call.
    absl::Duration worker_alive = absl::Seconds(30);
    // A worker silent this long is forgotten (memory; PruneStore: its row).
    absl::Duration retention = absl::Hours(1);
    // Most workers held in memory; past it the least recently seen go.
    int max_workers = 100000;
    // The clock (tests); default absl::Now.
    std::function<absl::Time()> now;
  };

  // `store` must outlive the registry (nullptr only in unit tests that
  // never call GetLabels for an unknown worker nor PruneStore).
  WorkerRegistry(Store* store, Options options);
  WorkerRegistry(Store* store, absl::Duration worker_alive);

  // Records a registration (RegisterWorker, after the store's upsert).
  // Forgets silent workers now and then (memory only).
  void Register(const std::string& worker_id, Labels labels);
  // Records a call from a worker (for liveness); a worker this process has
  // not seen yet is left alone (Labels adds it).
  void Seen(const std::string& worker_id);
  // A registered worker's labels (the store's, for one this process has
  // not seen), recording the call. FailedPrecondition when it never
  // registered (or its row was pruned); the store's error when it cannot be
  // read.
  absl::StatusOr<Labels> GetLabels(const std::string& worker_id);

  // Forgets the workers silent for the retention (and the least recently
  // seen past max_workers). Returns how many it forgot.
  int Prune();
  // At most once per quarter retention (a minute at most): Prune, then
  // the store's PruneWorkers (marks the workers seen since the last call,
  // deletes silent rows without a RUNNING trial). OK when it had nothing to
  // do; the store's error otherwise.
  absl::Status PruneStore();

  // Workers held in memory now.
  int Size();
  // Workers alive now.
  int CountAlive();
  // Workers alive now, and how many of them carry every `required` label.
  struct Fleet {
    int alive = 0;
    int matching = 0;
  };
  Fleet CountMatching(const Labels& required);

 private:
  struct WorkerInfo {
    Labels labels;
    absl::Time last_seen;
  };

  absl::Time Now() const { return options_.now ? options_.now() : absl::Now(); }
  absl::Duration PruneInterval() const;
  size_t Cap() const {
    return static_cast<size_t>(options_.max_workers > 1 ? options_.max_workers
                                                        : 1);
  }
  // Forgets the silent workers, then the least recently seen past `cap`.
  int PruneLocked(absl::Time now, size_t cap)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts or refreshes, pruning first when due or full.
  void PutLocked(const std::string& worker_id, Labels labels, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  Store* const store_;
  const Options options_;

  // State below is guarded by mu_.
  absl::Mutex mu_;
  std::map<std::string, WorkerInfo> workers_ ABSL_GUARDED_BY(mu_);
  absl::Time last_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_store_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace nas

#endif  // NAS_CONTROLLER_WORKER_REGISTRY_H_
