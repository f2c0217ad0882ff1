// The HTTP endpoint `/metrics` that Prometheus scrapes, shared by
// nas-controller and nas-worker (prometheus-cpp's pull exposer), plus what
// every binary exports there: the standard process metrics and a
// `<program>_build_info` gauge. Thread-safe after construction.
#ifndef NAS_COMMON_METRICS_ENDPOINT_H_
#define NAS_COMMON_METRICS_ENDPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace nas {

class MetricsEndpoint {
 public:
  // Serves `registry`, the process metrics (ProcessCollector) and, when
  // `program` is not empty, BuildInfoCollector(program) on
  // http://`address`/metrics, e.g. "127.0.0.1:9100" or "0.0.0.0:9100";
  // port 0 picks a free one. kInvalidArgument when `address` is not
  // host:port, kUnavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& address,
      std::shared_ptr<prometheus::Registry> registry,
      const std::string& program = "");
  ~MetricsEndpoint();  // stops serving

  // The bound port (the chosen one when the address asked for port 0).
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::shared_ptr<prometheus::Registry> registry,
                  std::vector<std::shared_ptr<prometheus::Collectable>> own,
                  int port);
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  // The collectors the endpoint made (the exposer holds weak pointers).
  std::vector<std::shared_ptr<prometheus::Collectable>> own_;
  int port_;
};

// The standard process metrics of the Prometheus client libraries
// (client_golang, client_python), read at every scrape from /proc:
//   process_cpu_seconds_total      user + system CPU time (rate = cores busy)
//   process_resident_memory_bytes  RSS
//   process_virtual_memory_bytes   virtual memory size
//   process_start_time_seconds     start time, seconds since the Unix epoch
//   process_open_fds               open file descriptors
//   process_max_fds                the soft RLIMIT_NOFILE
// A metric whose source cannot be read is left out (all of them on
// systems without /proc).
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// `<program>_build_info` (program's '-' as '_', e.g. nas_controller_build_info)
// = 1 with labels version, revision, build_type and compiler from
// common/build_info.h, as prometheus_build_info does: join on it to label
// other series with the running version.
class BuildInfoCollector : public prometheus::Collectable {
 public:
  explicit BuildInfoCollector(const std::string& program);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string name_;
};

}  // namespace nas

#endif  // NAS_COMMON_METRICS_ENDPOINT_H_
