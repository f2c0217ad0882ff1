// nasctl, the command-line client, as a function so tests can run it in
// process. Writes results to `out`, diagnostics to `err`; returns the exit
// code: 0 success, 1 the controller refused or failed the call, 2 bad
// usage or a spec that failed local validation, 3 controller unreachable.
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
