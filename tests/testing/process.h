// Test support for end-to-end tests: child processes with RAII (killed and
// reaped by the destructor), free loopback ports, and psql queries so tests
// check the database independently of the code under test. Not thread-safe.
#ifndef NAS_TESTS_TESTING_PROCESS_H_
#define NAS_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nas::testing {

class ChildProcess {
 public:
  // Starts argv[0] with its arguments; stdout and stderr go to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();  // SIGKILL if still running, then reap

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Exit status (or 128+signal) once exited within `timeout`, else nullopt.
  std::optional<int> WaitFor(absl::Duration timeout);
  bool Running();
  const std::string& log_path() const { return log_path_; }

 private:
  ChildProcess(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// Whole file contents ("" when missing).
std::string ReadFile(const std::string& path);
// Runs `psql -tA` with the query; returns trimmed stdout (rows on lines,
// columns separated by '|'). Fails the current test on error.
std::string Psql(const std::string& conninfo, const std::string& sql);
// Path of a built binary, e.g. Binary("controller/nas-controller").
std::string Binary(const std::string& relative);
// Runs a shell command, returning exit code and stdout.
int RunCommand(const std::string& command, std::string* output);
// `s` single-quoted as one /bin/sh word ('it'\''s').
std::string ShellQuote(const std::string& s);
// KiB of a /proc/<pid>/status field (VmRSS, VmHWM), -1 when unreadable.
int64_t ProcStatusKib(pid_t pid, const std::string& field);

}  // namespace nas::testing

#endif  // NAS_TESTS_TESTING_PROCESS_H_
