#include "common/metrics_endpoint.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/build_info.h"
#include "prometheus/exposer.h"

namespace nas {

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry,
    const std::string& program) {
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
  std::vector<std::shared_ptr<prometheus::Collectable>> own;
  own.push_back(std::make_shared<ProcessCollector>());
  if (!program.empty()) {
    own.push_back(std::make_shared<BuildInfoCollector>(program));
  }
  exposer->RegisterCollectable(registry);
  for (const auto& c : own) exposer->RegisterCollectable(c);
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(
      std::move(exposer), std::move(registry), std::move(own), ports[0]));
}

MetricsEndpoint::MetricsEndpoint(
    std::unique_ptr<prometheus::Exposer> exposer,
    std::shared_ptr<prometheus::Registry> registry,
    std::vector<std::shared_ptr<prometheus::Collectable>> own, int port)
    : exposer_(std::move(exposer)),
      registry_(std::move(registry)),
      own_(std::move(own)),
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

// Seconds since the epoch at which the system booted (/proc/stat btime),
// -1 when unreadable.
double BootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = -1;
  while (stat >> key) {
    if (key == "btime") {
      stat >> value;
      return value;
    }
    stat.ignore(1 << 20, '\n');
  }
  return -1;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  // stat: after the command in parentheses (which may contain spaces, so
  // count from the last ')'), field 3 (state) is index 0: utime (14) and
  // stime (15) are indexes 11 and 12, starttime (22) is 19, vsize (23,
  // bytes) is 20 and rss (24, pages) is 21.
  std::ifstream stat("/proc/self/stat");
  std::stringstream buffer;
  buffer << stat.rdbuf();
  const std::string text = buffer.str();
  const size_t paren = text.rfind(')');
  if (paren != std::string::npos && paren + 2 <= text.size()) {
    std::istringstream rest(text.substr(paren + 2));
    std::vector<std::string> fields;
    std::string field;
    while (fields.size() < 22 && rest >> field) fields.push_back(field);
    double utime = -1, stime = -1, start = -1, vsize = -1, rss = -1;
    if (fields.size() == 22 && absl::SimpleAtod(fields[11], &utime) &&
        absl::SimpleAtod(fields[12], &stime)) {
      out.push_back(OneValue("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.",
                             prometheus::MetricType::Counter,
                             (utime + stime) / ticks));
    }
    if (fields.size() == 22 && absl::SimpleAtod(fields[21], &rss)) {
      out.push_back(OneValue("process_resident_memory_bytes",
                             "Resident memory size in bytes.",
                             prometheus::MetricType::Gauge, rss * page));
    }
    if (fields.size() == 22 && absl::SimpleAtod(fields[20], &vsize)) {
      out.push_back(OneValue("process_virtual_memory_bytes",
                             "Virtual memory size in bytes.",
                             prometheus::MetricType::Gauge, vsize));
    }
    const double boot = BootTimeSeconds();
    if (fields.size() == 22 && boot >= 0 &&
        absl::SimpleAtod(fields[19], &start)) {
      out.push_back(
          OneValue("process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.",
                   prometheus::MetricType::Gauge, boot + start / ticks));
    }
  }
  std::error_code ec;
  std::filesystem::directory_iterator fds("/proc/self/fd", ec);
  if (!ec) {
    double open = 0;
    for (auto it = fds; it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      if (ec) break;
      ++open;
    }
    if (!ec) {
      out.push_back(OneValue("process_open_fds",
                             "Number of open file descriptors.",
                             prometheus::MetricType::Gauge, open));
    }
  }
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(OneValue(
        "process_max_fds", "Maximum number of open file descriptors.",
        prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

BuildInfoCollector::BuildInfoCollector(const std::string& program)
    : name_(absl::StrCat(absl::StrReplaceAll(program, {{"-", "_"}}),
                         "_build_info")) {}

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  const BuildInfo& b = GetBuildInfo();
  prometheus::MetricFamily f = OneValue(
      name_,
      "A metric with a constant '1' value labeled by version, revision, "
      "build_type and compiler from which the binary was built.",
      prometheus::MetricType::Gauge, 1);
  f.metric[0].label = {{"version", b.version},
                       {"revision", b.revision},
                       {"build_type", b.build_type},
                       {"compiler", b.compiler}};
  return {f};
}

}  // namespace nas
