// What a binary was built from: the project version (CMake's
// project(VERSION)), the git revision at configure time ("unknown" outside
// a git checkout), the build type and the compiler. Printed by every
// binary's --version and exported as the `<binary>_build_info` gauge.
// Thread-safe: the values are constants.
#ifndef NAS_COMMON_BUILD_INFO_H_
#define NAS_COMMON_BUILD_INFO_H_

#include <string>

#include "absl/strings/string_view.h"

namespace nas {

struct BuildInfo {
  std::string version;     // e.g. "0.23.0"
  std::string revision;    // e.g. "87e58c2", or "unknown"
  std::string build_type;  // e.g. "RelWithDebInfo"
  std::string compiler;    // e.g. "GNU 12.2.0"
};

const BuildInfo& GetBuildInfo();

// One line for --version, e.g.
// "nas-worker 0.23.0 (revision 87e58c2, RelWithDebInfo, GNU 12.2.0)".
std::string VersionLine(absl::string_view program);

}  // namespace nas

#endif  // NAS_COMMON_BUILD_INFO_H_
