#include "worker/command/trainer_run.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "worker/command/line_buffers.h"

namespace nas {
namespace {

// How long output may keep flowing after the program's end (a process
// that escaped its group may hold the pipes open).
constexpr absl::Duration kDrainLimit = absl::Seconds(2);
constexpr size_t kMaxReadPerWake = 256 * 1024;

// Reads what `fd` has now (at most kMaxReadPerWake) into `sink`; false at
// end of stream or on an error.
bool ReadAvailable(int fd, const std::function<void(absl::string_view)>& sink) {
  char buf[16384];
  size_t total = 0;
  while (total < kMaxReadPerWake) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      sink(absl::string_view(buf, static_cast<size_t>(n)));
      total += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // EOF or error
  }
  return true;
}

}  // namespace

RunOutcome RunTrainerProcess(SupervisedProcess& process,
                             const RunHooks& hooks) {
  RunOutcome out;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + hooks.timeout;
  LineSplitter report(hooks.max_line_bytes);
  LineSplitter stdout_lines(64 * 1024), stderr_lines(64 * 1024);
  TailBuffer tail(kStderrTailLines, kStderrTailBytes);
  int line_number = 0;
  bool terminated = false;
  auto stop = [&](RunStop why) {
    if (terminated) return;
    terminated = true;
    out.stop = why;
    process.Terminate();
  };
  const LineSplitter::LineFn on_report = [&](absl::string_view line,
                                             bool too_long) {
    ++line_number;
    absl::StatusOr<std::optional<bool>> verdict =
        too_long ? absl::InvalidArgumentError(absl::StrCat(
                       "longer than ", hooks.max_line_bytes, " bytes"))
                 : hooks.on_report_line(line);
    if (terminated) return;
    if (!verdict.ok()) {
      out.malformed = absl::InvalidArgumentError(absl::StrCat(
          "report line ", line_number, " is malformed (",
          verdict.status().message(), "): '", line.substr(0, 200), "'"));
      process.SendControl("stop");
      stop(RunStop::kMalformed);
      return;
    }
    if (!verdict->has_value()) return;
    if (**verdict) {
      process.SendControl("continue");
    } else {
      process.SendControl("stop");
      stop(RunStop::kRequested);
    }
  };
  const LineSplitter::LineFn echo = [&](absl::string_view line, bool) {
    if (hooks.echo) hooks.echo(line);
  };
  bool ended = false;
  absl::Time ended_at;
  while (true) {
    std::vector<struct pollfd> fds;
    for (int fd : {process.report_fd(), process.stdout_fd(),
                   process.stderr_fd(), process.status_fd()}) {
      if (fd >= 0) fds.push_back({fd, POLLIN, 0});
    }
    if (!fds.empty()) poll(fds.data(), fds.size(), 100);
    if (process.report_fd() >= 0 &&
        !ReadAvailable(process.report_fd(), [&](absl::string_view d) {
          report.Append(d, on_report);
        })) {
      report.Finish(on_report);
      process.CloseOutput(process.report_fd());
    }
    if (process.stdout_fd() >= 0 &&
        !ReadAvailable(process.stdout_fd(), [&](absl::string_view d) {
          stdout_lines.Append(d, echo);
        })) {
      stdout_lines.Finish(echo);
      process.CloseOutput(process.stdout_fd());
    }
    if (process.stderr_fd() >= 0 &&
        !ReadAvailable(process.stderr_fd(), [&](absl::string_view d) {
          tail.Append(d);
          stderr_lines.Append(d, echo);
        })) {
      stderr_lines.Finish(echo);
      process.CloseOutput(process.stderr_fd());
    }
    const absl::Time now = absl::Now();
    if (!ended && process.Poll(&out.end)) {
      ended = true;
      ended_at = now;
    }
    if (ended) {
      const bool drained = process.report_fd() < 0 && process.stdout_fd() < 0 &&
                           process.stderr_fd() < 0;
      if (drained || now - ended_at > kDrainLimit) break;
      continue;
    }
    if (terminated) continue;
    if (hooks.cancelled && hooks.cancelled()) {
      process.SendControl("stop");
      stop(RunStop::kCancelled);
    } else if (now >= deadline) {
      stop(RunStop::kTimeout);
    }
  }
  out.stderr_tail = tail.Tail();
  out.wall_time = absl::Now() - start;
  return out;
}

}  // namespace nas
