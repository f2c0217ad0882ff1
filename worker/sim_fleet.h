// A fleet of simulated workers in one process (nas-simworker): each runs
// the real worker loop (RunWorker) over its own gRPC channel with its own
// id, on one thread each, sharing one thread-safe evaluator. Blocking; call
// from one thread.
#ifndef NAS_WORKER_SIM_FLEET_H_
#define NAS_WORKER_SIM_FLEET_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "worker/evaluators/evaluator.h"
#include "worker/worker_flags.h"

namespace nas {

struct SimFleetResult {
  int64_t results_accepted = 0;    // ReportResult calls accepted
  int64_t trials_from_report = 0;  // trials that came with a report's answer
  int failed = 0;                  // workers whose RunWorker failed
  absl::Status first_error;        // the first of those failures
  // False when options.latency_file was set and could not be written.
  bool latency_file_written = true;
};

// Runs options.workers workers until each ends (`stop` becomes true,
// max_trials, idle_exit, or an error). When options.latency_file is set,
// writes there, at the end, one line per AcquireTrial and ReportResult
// call: "<method> <end, unix microseconds> <latency microseconds> <useful:
// 1 = got a trial / result accepted>". `evaluator` must be thread-safe.
SimFleetResult RunSimFleet(const SimFleetOptions& options, Evaluator* evaluator,
                           const std::atomic<bool>* stop);

}  // namespace nas

#endif  // NAS_WORKER_SIM_FLEET_H_
