// A trainer program run under a supervisor process, so that it never
// outlives the worker. The worker forks a supervisor (async-signal-safe
// code only after the fork: everything is prepared before it); the
// supervisor forks the program into a process group of its own and execs
// it, then watches a lifeline pipe from the worker. When the lifeline
// closes (Terminate(), the object's destruction, or the worker dying, even
// by SIGKILL) the supervisor sends SIGTERM to the program's group, waits the
// grace period, and SIGKILLs the group. Processes the program leaves behind
// in its group are SIGKILLed when it exits. The supervisor relays the
// program's end on a status pipe ("exited with N" or "killed by signal S")
// and exits with N or 128+S.
//
// The program's file descriptors: 0 = /dev/null, 1 and 2 = pipes to the
// worker (stdout_fd(), stderr_fd()), 3 = the write end of the report pipe
// (report_fd()), 4 = a stream socket for the worker's replies
// (SendControl); nothing else. Its environment is exactly `env`, its working
// directory `cwd`, its signal dispositions default and mask empty.
// Not thread-safe: one thread owns the object.
#ifndef NAS_WORKER_COMMAND_SUPERVISED_PROCESS_H_
#define NAS_WORKER_COMMAND_SUPERVISED_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace nas {

// An owned file descriptor, closed on destruction (-1 = none).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct SpawnRequest {
  // Absolute path of the program; argv[0] is the path too.
  std::string program;
  // Further arguments (argv[1..]).
  std::vector<std::string> args;
  // The program's whole environment, "NAME=value" each.
  std::vector<std::string> env;
  // Its working directory (must exist).
  std::string cwd;
  // Between SIGTERM and SIGKILL of the group when the lifeline closes.
  absl::Duration grace = absl::Seconds(10);
};

// How the program ended.
struct ProgramEnd {
  bool exited = false;  // exited with `code`
  int code = 0;
  bool signaled = false;  // killed by `signal`
  int signal = 0;
  // Set when the program could not be started (exec failed: errno's text)
  // or the supervisor itself failed; `exited` and `signaled` are false.
  std::string start_error;
};

class SupervisedProcess {
 public:
  // Forks the supervisor, which starts the program. An error (kInternal)
  // only when pipes or the fork fail; a program that cannot be executed
  // shows as ProgramEnd::start_error.
  static absl::StatusOr<std::unique_ptr<SupervisedProcess>> Start(
      const SpawnRequest& request);
  // Terminate(), then waits for the supervisor (at most the grace period
  // and a little more).
  ~SupervisedProcess();
  SupervisedProcess(const SupervisedProcess&) = delete;
  SupervisedProcess& operator=(const SupervisedProcess&) = delete;

  // Read ends of the program's report pipe (fd 3), stdout and stderr; -1
  // once closed with CloseOutput. Non-blocking.
  int report_fd() const { return report_.get(); }
  int stdout_fd() const { return stdout_.get(); }
  int stderr_fd() const { return stderr_.get(); }
  // The status pipe: readable when the supervisor reports the program's
  // end; then call Poll.
  int status_fd() const { return status_.get(); }
  // Closes one of the output read ends (after EOF).
  void CloseOutput(int fd);

  // Writes `line` and a newline to the program's fd 4 without blocking;
  // false when it could not be written whole (the program does not read
  // it, or closed it). Never raises SIGPIPE.
  bool SendControl(absl::string_view line);

  // Closes the lifeline: the supervisor sends SIGTERM to the group, and
  // SIGKILL after the grace period. Idempotent.
  void Terminate();

  // Reads the status pipe without blocking. True, with `*end` set, once the
  // program's end is known (the supervisor is then reaped, which takes at
  // most a moment: it exits right after reporting); false before.
  bool Poll(ProgramEnd* end);

  // The program's pid (= its process group id), 0 while unknown.
  pid_t program_pid() const { return program_pid_; }
  pid_t supervisor_pid() const { return supervisor_pid_; }

 private:
  SupervisedProcess() = default;
  // Reaps the supervisor, blocking at most `limit`; true when reaped.
  bool ReapSupervisor(absl::Duration limit);

  pid_t supervisor_pid_ = 0;
  pid_t program_pid_ = 0;
  bool reaped_ = false;
  bool ended_ = false;
  ProgramEnd end_;
  absl::Duration grace_;
  std::string status_buf_;  // partial status records
  UniqueFd lifeline_;       // write end; closing it stops the program
  UniqueFd status_;         // read end of the supervisor's status records
  UniqueFd report_;
  UniqueFd stdout_;
  UniqueFd stderr_;
  UniqueFd control_;  // our end of the socket pair (fd 4 in the program)
};

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_SUPERVISED_PROCESS_H_
