#include "common/metrics_endpoint.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"

namespace nas {

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address,
    std::shared_ptr<prometheus::Registry> registry) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address,
                     "': expected host:port, e.g. ", "127.0.0.1:9100"));
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // One thread: Prometheus scrapes every few seconds.
    exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics address '", address,
                                               "': cannot listen: ", e.what()));
  }
  std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("metrics address '", address, "': cannot listen"));
  }
  auto process = std::make_shared<ProcessCollector>();
  exposer->RegisterCollectable(registry);
  exposer->RegisterCollectable(process);
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(
      std::move(exposer), std::move(registry), std::move(process), ports[0]));
}

MetricsEndpoint::MetricsEndpoint(
    std::unique_ptr<prometheus::Exposer> exposer,
    std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<prometheus::Collectable> process, int port)
    : exposer_(std::move(exposer)),
      registry_(std::move(registry)),
      process_(std::move(process)),
      port_(port) {}

MetricsEndpoint::~MetricsEndpoint() = default;

namespace {

prometheus::MetricFamily OneValue(const std::string& name,
                                  const std::string& help,
                                  prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  // statm: size resident shared ... (pages)
  std::ifstream statm("/proc/self/statm");
  long size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    out.push_back(OneValue(
        "nas_process_resident_memory_bytes", "Resident set size of the process",
        prometheus::MetricType::Gauge,
        static_cast<double>(resident_pages) * sysconf(_SC_PAGESIZE)));
  }
  // stat: fields 14 and 15 are utime and stime in clock ticks; field 2
  // (comm) may contain spaces, so count from the closing parenthesis.
  std::ifstream stat("/proc/self/stat");
  std::stringstream buffer;
  buffer << stat.rdbuf();
  const std::string text = buffer.str();
  const size_t paren = text.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream rest(text.substr(paren + 2));
    std::string field;
    double utime = -1, stime = -1;
    // After ") ": field 3 (state) is index 0; utime is field 14 -> index 11.
    for (int i = 0; i <= 12 && rest >> field; ++i) {
      if (i == 11) absl::SimpleAtod(field, &utime);
      if (i == 12) absl::SimpleAtod(field, &stime);
    }
    if (utime >= 0 && stime >= 0) {
      out.push_back(OneValue(
          "nas_process_cpu_seconds_total",
          "User and system CPU time spent by the process, in seconds",
          prometheus::MetricType::Counter,
          (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK))));
    }
  }
  return out;
}

}  // namespace nas
