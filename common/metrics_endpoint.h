// The HTTP endpoint `/metrics` that Prometheus scrapes, shared by
// nas-controller and nas-worker (prometheus-cpp's pull exposer), plus the
// process metrics both export. Thread-safe after construction.
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
  // Serves `registry` (and the process collector, see ProcessCollector)
  // on http://`address`/metrics, e.g. "127.0.0.1:9100" or "0.0.0.0:9100";
  // port 0 picks a free one. kInvalidArgument when `address` is not
  // host:port, kUnavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& address,
      std::shared_ptr<prometheus::Registry> registry);
  ~MetricsEndpoint();  // stops serving

  // The bound port (the chosen one when the address asked for port 0).
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::shared_ptr<prometheus::Registry> registry,
                  std::shared_ptr<prometheus::Collectable> process, int port);
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
  int port_;
};

// Read at every scrape from /proc/self: `nas_process_resident_memory_bytes`
// (RSS) and `nas_process_cpu_seconds_total` (user + system CPU time; its
// rate is the process's CPU utilisation in cores). Empty on systems
// without /proc.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace nas

#endif  // NAS_COMMON_METRICS_ENDPOINT_H_
