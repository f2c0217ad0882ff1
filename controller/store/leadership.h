// LeadershipLock: at most one active controller per database, by a
// PostgreSQL advisory lock. Part of the store's public API: store.h
// includes this header, so callers include store.h. Not thread-safe (one
// owner uses it). This header includes no pqxx.
#ifndef NAS_CONTROLLER_STORE_LEADERSHIP_H_
#define NAS_CONTROLLER_STORE_LEADERSHIP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nas {

// Leadership of one controller per database: a session-level PostgreSQL
// advisory lock held on a dedicated connection for the object's lifetime.
// When the holder dies its connection closes and the server releases the
// lock, so a standby waiting in Acquire takes over. Not thread-safe.
class LeadershipLock {
 public:
  // Connects and tries the lock every `poll` until it is held (calling
  // `on_wait` once, before the first wait) or `give_up()` returns true
  // (kCancelled). kUnavailable when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<LeadershipLock>> Acquire(
      const std::string& conninfo, absl::Duration poll,
      const std::function<void()>& on_wait,
      const std::function<bool()>& give_up);
  ~LeadershipLock();  // closes the connection: the lock is released
  // False once the lock's connection is lost (then the lock may be held
  // by another controller already).
  bool StillHeld();
  // After StillHeld() turned false: reconnects and tries the lock once. OK
  // when held again; kFailedPrecondition when another controller holds it
  // now (this one must stop); kUnavailable when the database is still
  // unreachable (try again later).
  absl::Status Retake();

 private:
  class Impl;
  explicit LeadershipLock(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_STORE_LEADERSHIP_H_
