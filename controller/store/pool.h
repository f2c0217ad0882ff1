// The store's connection pool, and the one place where libpqxx exceptions
// become absl::Status. Private to controller/store/ (it includes pqxx;
// nothing outside the store includes this). Thread-safe: any number of
// callers may Run at once; each gets a connection of its own (waiting for
// one when all are in use), with every statement of statements.h prepared.
#ifndef NAS_CONTROLLER_STORE_POOL_H_
#define NAS_CONTROLLER_STORE_POOL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/store.h"

namespace nas {
namespace store_internal {

class Pool {
 public:
  // options.pool_size > 0 slots, none connected yet.
  explicit Pool(StoreOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Connects every slot now, so that Store::Open reports an unreachable
  // server. kUnavailable when a connection fails. Call before sharing.
  absl::Status ConnectAll();

  const StoreOptions& options() const { return options_; }

  // Runs f(pqxx::connection&) (which returns absl::Status or StatusOr<T>)
  // on a pooled connection, reconnecting its slot first when needed;
  // converts every exception to a status (StatusOfException). `op` prefixes
  // every error message.
  template <typename F>
  auto Run(absl::string_view op, F&& f)
      -> decltype(f(std::declval<pqxx::connection&>())) {
    int slot = Acquire();
    Lease lease(this, slot);
    if (conns_[slot] == nullptr || !conns_[slot]->is_open() ||
        slot_epochs_[slot] != epoch_.load()) {
      absl::Status s = Connect(slot);
      if (!s.ok()) {
        return absl::UnavailableError(absl::StrCat(op, ": ", s.message()));
      }
    }
    pqxx::connection& conn = lease.conn();
    try {
      return f(conn);
    } catch (...) {
      return StatusOfException(op, conn, &lease);
    }
  }

 private:
  // A connection used by one caller at a time; returned to the pool when
  // destroyed. A connection marked broken is dropped and reconnected by the
  // next user of its slot.
  class Lease {
   public:
    Lease(Pool* pool, int slot) : pool_(pool), slot_(slot) {}
    ~Lease() { pool_->Release(slot_, broken_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    pqxx::connection& conn() { return *pool_->conns_[slot_]; }
    void MarkBroken() { broken_ = true; }

   private:
    Pool* pool_;
    int slot_;
    bool broken_ = false;
  };

  // Called from a catch handler: the status for the exception in flight.
  // Connection failures -> kUnavailable (lease marked broken), commit
  // outcome unknown -> kUnknown (broken), serialization failure or deadlock
  // -> kAborted, data exceptions and constraint violations ->
  // kInvalidArgument, anything else -> kInternal (kUnavailable, broken,
  // when the connection closed under it).
  static absl::Status StatusOfException(absl::string_view op,
                                        pqxx::connection& conn, Lease* lease);

  // (Re)connects `slot` and prepares every statement on it. Only the holder
  // of the slot's lease (or ConnectAll) calls it.
  absl::Status Connect(int slot);
  // Waits for a free slot and takes it.
  int Acquire();
  // Gives `slot` back; `broken`: drop its connection and have every slot
  // reconnect on its next use.
  void Release(int slot, bool broken);

  // Constant after construction.
  const StoreOptions options_;

  // One connection per slot; a slot's pointer and epoch are touched only by
  // the holder of its lease (or by ConnectAll before the pool is shared).
  std::vector<std::unique_ptr<pqxx::connection>> conns_;
  std::vector<int64_t> slot_epochs_;  // epoch_ when each slot connected
  std::atomic<int64_t> epoch_{0};     // bumped when a connection breaks

  // State below is guarded by mu_.
  absl::Mutex mu_;
  absl::CondVar free_cv_;                       // signalled when a slot frees
  std::vector<int> free_ ABSL_GUARDED_BY(mu_);  // slots not leased
};

}  // namespace store_internal
}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_POOL_H_
