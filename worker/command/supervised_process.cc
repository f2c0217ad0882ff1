#include "worker/command/supervised_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace nas {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

namespace {

// One record on the status pipe (written atomically: < PIPE_BUF).
struct StatusRecord {
  char tag;  // 'P' program pid, 'E' exit code, 'S' signal, 'X' exec errno,
             // 'F' fork errno
  char pad[3];
  int32_t value;
};

// The fixed descriptor layout inside the supervisor.
constexpr int kLifelineFd = 10;
constexpr int kStatusFd = 11;
constexpr int kReportFd = 12;
constexpr int kControlFd = 13;
constexpr int kStdoutFd = 14;
constexpr int kStderrFd = 15;
constexpr int kDevNullFd = 16;
constexpr int kFirstFreeFd = 17;

// ---- Async-signal-safe code: runs in the forked supervisor and program. --

void WriteRecord(int fd, char tag, int32_t value) {
  StatusRecord r;
  memset(&r, 0, sizeof(r));
  r.tag = tag;
  r.value = value;
  ssize_t n;
  do {
    n = write(fd, &r, sizeof(r));
  } while (n < 0 && errno == EINTR);
}

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void SleepMs(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = static_cast<long>(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

void SetSignals(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, nullptr);  // fails harmlessly for reserved signals
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The program: fds 0-4 in place, default signals, exec.
[[noreturn]] void ExecProgram(const char* path, char* const* argv,
                              char* const* envp, const char* cwd) {
  setpgid(0, 0);
  SetSignals(SIG_DFL);
  if (dup2(kDevNullFd, 0) < 0 || dup2(kStdoutFd, 1) < 0 ||
      dup2(kStderrFd, 2) < 0 || dup2(kReportFd, 3) < 0 ||
      dup2(kControlFd, 4) < 0 || chdir(cwd) < 0) {
    WriteRecord(kStatusFd, 'X', errno);
    _exit(127);
  }
  // Descriptors 10.. are close-on-exec; 5..9 were closed by the supervisor.
  execve(path, argv, envp);
  WriteRecord(kStatusFd, 'X', errno);
  _exit(127);
}

// Sends `sig` to the group, then waits (without reaping) until the leader
// has exited or `grace_ms` passed; returns true when it exited.
bool WaitForExit(pid_t pid, int64_t until_ms) {
  while (true) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      return true;
    }
    if (NowMs() >= until_ms) return false;
    SleepMs(20);
  }
}

// The supervisor: starts the program, watches the lifeline, relays the end.
[[noreturn]] void Supervise(const char* path, char* const* argv,
                            char* const* envp, const char* cwd,
                            int64_t grace_ms) {
  setpgid(0, 0);  // out of the worker's group: a terminal's ^C reaches the
                  // worker, which then closes the lifeline
  SetSignals(SIG_IGN);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, nullptr);  // ignored, children would not wait
  const pid_t pid = fork();
  if (pid < 0) {
    WriteRecord(kStatusFd, 'F', errno);
    _exit(126);
  }
  if (pid == 0) ExecProgram(path, argv, envp, cwd);
  setpgid(pid, pid);  // both sides, so that the group exists before a kill
  WriteRecord(kStatusFd, 'P', pid);
  // The program's ends of its pipes belong to it alone now.
  close(kReportFd);
  close(kControlFd);
  close(kStdoutFd);
  close(kStderrFd);
  close(kDevNullFd);
  bool terminating = false;
  int64_t kill_at = 0;
  while (true) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      // The leader has exited but is not reaped yet, so the group id
      // cannot be reused: kill what it left behind, then reap it.
      kill(-pid, SIGKILL);
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (WIFSIGNALED(status)) {
        WriteRecord(kStatusFd, 'S', WTERMSIG(status));
        _exit(128 + WTERMSIG(status));
      }
      WriteRecord(kStatusFd, 'E', WEXITSTATUS(status));
      _exit(WEXITSTATUS(status));
    }
    if (terminating) {
      if (NowMs() >= kill_at) {
        kill(-pid, SIGKILL);
        WaitForExit(pid, NowMs() + 5000);
      } else {
        WaitForExit(pid, NowMs() + 20);
      }
      continue;
    }
    struct pollfd p;
    p.fd = kLifelineFd;
    p.events = POLLIN;
    p.revents = 0;
    const int r = poll(&p, 1, 50);
    if (r > 0) {
      char buf[64];
      const ssize_t n = read(kLifelineFd, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        terminating = true;
        kill(-pid, SIGTERM);
        kill_at = NowMs() + grace_ms;
      }
    }
  }
}

// ---- End of the async-signal-safe part. ----

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

// A pipe, both ends close-on-exec.
absl::Status MakePipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return Errno("pipe2");
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  return absl::OkStatus();
}

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// argv/envp arrays pointing into `strings` (which must outlive them).
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SupervisedProcess>> SupervisedProcess::Start(
    const SpawnRequest& request) {
  std::unique_ptr<SupervisedProcess> p(new SupervisedProcess());
  p->grace_ = request.grace;
  // Every descriptor and string the children need, made before the fork.
  UniqueFd lifeline_r, status_w, report_w, stdout_w, stderr_w, control_child;
  absl::Status s = MakePipe(&lifeline_r, &p->lifeline_);
  if (s.ok()) s = MakePipe(&p->status_, &status_w);
  if (s.ok()) s = MakePipe(&p->report_, &report_w);
  if (s.ok()) s = MakePipe(&p->stdout_, &stdout_w);
  if (s.ok()) s = MakePipe(&p->stderr_, &stderr_w);
  if (!s.ok()) return s;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    return Errno("socketpair");
  }
  p->control_.reset(pair[0]);
  control_child.reset(pair[1]);
  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return Errno("open /dev/null");
  for (int fd : {p->report_.get(), p->stdout_.get(), p->stderr_.get(),
                 p->status_.get(), p->control_.get()}) {
    SetNonBlocking(fd);
  }
  std::vector<std::string> argv_strings = {request.program};
  argv_strings.insert(argv_strings.end(), request.args.begin(),
                      request.args.end());
  std::vector<std::string> env_strings = request.env;
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  const char* path = request.program.c_str();
  const char* cwd = request.cwd.c_str();
  const int64_t grace_ms = absl::ToInt64Milliseconds(request.grace);
  const int sources[] = {lifeline_r.get(),    status_w.get(), report_w.get(),
                         control_child.get(), stdout_w.get(), stderr_w.get(),
                         devnull.get()};
  const pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    // The supervisor. Move our descriptors to 10..16 (via copies above
    // them, so that no move clobbers another), then close everything else:
    // above all the worker's end of the lifeline.
    int tmp[7];
    for (int i = 0; i < 7; ++i) {
      tmp[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, 64);
      if (tmp[i] < 0) _exit(125);
    }
    for (int i = 0; i < 7; ++i) {
      if (dup2(tmp[i], kLifelineFd + i) < 0) _exit(125);
      fcntl(kLifelineFd + i, F_SETFD, FD_CLOEXEC);
    }
    for (int fd = 3; fd < kLifelineFd; ++fd) close(fd);
    if (close_range(kFirstFreeFd, ~0U, 0) < 0) {
      for (int fd = kFirstFreeFd; fd < 65536; ++fd) close(fd);
    }
    Supervise(path, argv.data(), envp.data(), cwd, grace_ms);
  }
  p->supervisor_pid_ = pid;
  // The children's ends of the pipes are theirs alone now (EOF on ours
  // then means they are gone).
  for (UniqueFd* fd : {&lifeline_r, &status_w, &report_w, &stdout_w, &stderr_w,
                       &control_child, &devnull}) {
    fd->reset();
  }
  // The program's pid arrives first on the status pipe.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (p->program_pid_ == 0 && !p->ended_ && absl::Now() < until) {
    struct pollfd pfd = {p->status_.get(), POLLIN, 0};
    poll(&pfd, 1, 50);
    ProgramEnd ignored;
    p->Poll(&ignored);
  }
  return p;
}

SupervisedProcess::~SupervisedProcess() {
  Terminate();
  if (!ReapSupervisor(grace_ + absl::Seconds(10))) {
    // The supervisor is stuck (cannot happen short of a kernel problem):
    // kill it and the group outright.
    if (program_pid_ > 0) kill(-program_pid_, SIGKILL);
    kill(supervisor_pid_, SIGKILL);
    ReapSupervisor(absl::InfiniteDuration());
  }
}

void SupervisedProcess::CloseOutput(int fd) {
  for (UniqueFd* f : {&report_, &stdout_, &stderr_}) {
    if (f->get() == fd) f->reset();
  }
}

bool SupervisedProcess::SendControl(absl::string_view line) {
  if (!control_.valid()) return false;
  const std::string msg = absl::StrCat(line, "\n");
  const ssize_t n =
      send(control_.get(), msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(msg.size());
}

void SupervisedProcess::Terminate() { lifeline_.reset(); }

bool SupervisedProcess::Poll(ProgramEnd* end) {
  if (ended_) {
    *end = end_;
    return true;
  }
  char buf[256];
  bool eof = false;
  while (status_.valid()) {
    const ssize_t n = read(status_.get(), buf, sizeof(buf));
    if (n > 0) {
      status_buf_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) eof = true;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  while (status_buf_.size() >= sizeof(StatusRecord)) {
    StatusRecord r;
    memcpy(&r, status_buf_.data(), sizeof(r));
    status_buf_.erase(0, sizeof(r));
    switch (r.tag) {
      case 'P':
        program_pid_ = r.value;
        break;
      case 'E':
        end_.exited = true;
        end_.code = r.value;
        ended_ = true;
        break;
      case 'S':
        end_.signaled = true;
        end_.signal = r.value;
        ended_ = true;
        break;
      case 'X':
        end_.start_error = absl::StrCat("cannot execute: ", strerror(r.value));
        ended_ = true;
        break;
      case 'F':
        end_.start_error = absl::StrCat("fork failed: ", strerror(r.value));
        ended_ = true;
        break;
      default:
        break;
    }
  }
  if (!ended_ && eof) {
    // The supervisor went away without a word: find out how.
    ReapSupervisor(absl::Seconds(1));
    end_.start_error = "the trainer's supervisor process died";
    ended_ = true;
  }
  if (!ended_) return false;
  status_.reset();
  ReapSupervisor(absl::Seconds(5));
  *end = end_;
  return true;
}

bool SupervisedProcess::ReapSupervisor(absl::Duration limit) {
  if (reaped_ || supervisor_pid_ <= 0) return true;
  const absl::Time until = absl::Now() + limit;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(supervisor_pid_, &status, WNOHANG);
    if (r == supervisor_pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      return true;
    }
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace nas
