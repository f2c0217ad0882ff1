#include "worker/sim_fleet.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "worker/worker_loop.h"

namespace nas {
namespace {

// One AcquireTrial or ReportResult call, for the latency file.
struct Sample {
  const char* method;
  int64_t end_us;
  int64_t latency_us;
  bool useful;
};

}  // namespace

SimFleetResult RunSimFleet(const SimFleetOptions& options, Evaluator* evaluator,
                           const std::atomic<bool>* stop) {
  const int n = options.workers;
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> from_report{0};
  // Failures reported by the worker threads.
  struct Failures {
    absl::Mutex mu;
    int count ABSL_GUARDED_BY(mu) = 0;
    absl::Status first ABSL_GUARDED_BY(mu);
  } failures;
  SimFleetResult result;
  // One vector per worker thread: no lock on the measured path.
  std::vector<std::vector<Sample>> samples(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      WorkerOptions worker = options.worker;
      worker.worker_id = absl::StrCat(options.id_prefix, "-", i);
      worker.results_accepted = &accepted;
      worker.trials_from_report = &from_report;
      if (!options.latency_file.empty()) {
        std::vector<Sample>* mine = &samples[i];
        worker.on_rpc = [mine](const char* method, absl::Duration latency,
                               bool useful) {
          mine->push_back({method, absl::ToUnixMicros(absl::Now()),
                           absl::ToInt64Microseconds(latency), useful});
        };
      }
      absl::Status s = RunWorker(worker, evaluator, stop);
      if (!s.ok()) {
        absl::MutexLock lock(&failures.mu);
        if (failures.count++ == 0) failures.first = s;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  {
    absl::MutexLock lock(&failures.mu);  // the threads have ended
    result.failed = failures.count;
    result.first_error = failures.first;
  }
  if (!options.latency_file.empty()) {
    std::ofstream out(options.latency_file);
    for (const std::vector<Sample>& v : samples) {
      for (const Sample& x : v) {
        out << x.method << ' ' << x.end_us << ' ' << x.latency_us << ' '
            << (x.useful ? 1 : 0) << '\n';
      }
    }
    result.latency_file_written = static_cast<bool>(out);
  }
  result.results_accepted = accepted.load();
  result.trials_from_report = from_report.load();
  return result;
}

}  // namespace nas
