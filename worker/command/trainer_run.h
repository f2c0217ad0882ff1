// One run of a started trainer program to its end: reads its report lines
// as they arrive and hands each to a callback (which may ask for a stop or
// call the line malformed), replies "continue"/"stop" on its control
// socket, keeps the last lines of its stderr, echoes its output when asked,
// and stops it (SupervisedProcess::Terminate: SIGTERM to its group, SIGKILL
// after the grace period) when the callback says so, when `cancelled`
// returns true (polled every 100 ms), or at the timeout. Blocks the calling
// thread until the program has ended and its output is drained.
#ifndef NAS_WORKER_COMMAND_TRAINER_RUN_H_
#define NAS_WORKER_COMMAND_TRAINER_RUN_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "worker/command/supervised_process.h"

namespace nas {

// Lines and bytes of stderr kept for failure reasons.
inline constexpr int kStderrTailLines = 20;
inline constexpr size_t kStderrTailBytes = 2000;

struct RunHooks {
  // Each report line, without its newline: for an epoch line true to go
  // on ("continue" is written to the control socket) or false to stop the
  // program ("stop" is written, then Terminate); nullopt for other lines
  // (no reply). An error makes the line malformed: the program is stopped.
  // Lines that arrive after a stop began are still handed over; what they
  // return is ignored then. Required.
  std::function<absl::StatusOr<std::optional<bool>>(absl::string_view line)>
      on_report_line;
  // Longest report line; a longer one is malformed.
  size_t max_line_bytes = 64 * 1024;
  // True when the run must end now (lease lost, worker shutting down).
  // Optional.
  std::function<bool()> cancelled;
  // Wall-clock limit of the run.
  absl::Duration timeout = absl::Hours(1);
  // Each line of stdout and stderr, for echoing (optional).
  std::function<void(absl::string_view line)> echo;
};

enum class RunStop {
  kNone,       // ran to its end
  kRequested,  // on_report_line returned false
  kCancelled,  // `cancelled` returned true
  kTimeout,    // ran past the timeout
  kMalformed,  // on_report_line returned an error
};

struct RunOutcome {
  ProgramEnd end;
  RunStop stop = RunStop::kNone;
  // kMalformed: the error, with the line's number and its first 200 bytes.
  absl::Status malformed;
  // The last lines of stderr (kStderrTailLines / kStderrTailBytes).
  std::string stderr_tail;
  absl::Duration wall_time;
};

RunOutcome RunTrainerProcess(SupervisedProcess& process, const RunHooks& hooks);

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_TRAINER_RUN_H_
