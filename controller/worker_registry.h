// WorkerRegistry: this controller's view of the fleet, each worker's labels
// and when it last called (liveness). The labels of a worker this process
// has not seen are read from the store once. Thread-safe; its lock is never
// held across a database call, so worker RPCs never wait for a tick.
#ifndef NAS_CONTROLLER_WORKER_REGISTRY_H_
#define NAS_CONTROLLER_WORKER_REGISTRY_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/store.h"

namespace nas {

class WorkerRegistry {
 public:
  using Labels = std::map<std::string, std::string>;

  // `store` must outlive the registry. A worker counts as alive for
  // `worker_alive` after its last call.
  WorkerRegistry(Store* store, absl::Duration worker_alive);

  // Records a registration (RegisterWorker, after the store's upsert).
  void Register(const std::string& worker_id, Labels labels);
  // Records a call from a worker (for liveness); a worker this process has
  // not seen yet is left alone (Labels adds it).
  void Seen(const std::string& worker_id);
  // A registered worker's labels (the store's, for one this process has
  // not seen), recording the call. FailedPrecondition when it never
  // registered; the store's error when it cannot be read.
  absl::StatusOr<Labels> GetLabels(const std::string& worker_id);

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

  // Constant after construction.
  Store* const store_;
  const absl::Duration worker_alive_;

  // State below is guarded by mu_.
  absl::Mutex mu_;
  std::map<std::string, WorkerInfo> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nas

#endif  // NAS_CONTROLLER_WORKER_REGISTRY_H_
