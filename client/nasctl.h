// nasctl, the command-line client, as a function so tests can run it in
// process. Writes results to `out`, diagnostics to `err`. Thread-compatible
// (reads the environment; no shared state between calls).
//
// Exit codes (also in `nasctl help` and docs/USER_GUIDE.md):
//   0  success (for watch: the experiment ended SUCCEEDED or STOPPED)
//   1  the controller refused or failed the call (NOT_FOUND,
//      INVALID_ARGUMENT, FAILED_PRECONDITION, ...), or the watched
//      experiment ended FAILED
//   2  bad usage (an unknown command or flag, a flag without its value, a
//      missing, extra or malformed argument: the message names it and
//      points at 'nasctl CMD --help'), or a spec that failed local
//      validation
//   3  controller unreachable (UNAVAILABLE, DEADLINE_EXCEEDED)
//   4  not authenticated or not allowed (UNAUTHENTICATED,
//      PERMISSION_DENIED)
// (kubectl's and git's convention, 0 ok, 1 error, 2 usage, refined by 3
// and 4; the enum is NasctlExit in client/cli.h.) --help, -h, `help` and
// --version print to `out` and return 0.
#ifndef NAS_CLIENT_NASCTL_H_
#define NAS_CLIENT_NASCTL_H_

#include <ostream>
#include <string>
#include <vector>

namespace nas {

int RunNasctl(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err);

}  // namespace nas

#endif  // NAS_CLIENT_NASCTL_H_
