// What a server binary's --version and --help print, set once before
// absl::ParseCommandLine: --version prints VersionLine(program)
// (common/build_info.h); --help prints `usage` and the flags defined in the
// source file whose path ends with `flags_file` (absl's default looks for a
// file named after the binary, which ours are not). Not thread-safe: call
// it first thing in main.
#ifndef NAS_COMMON_BINARY_USAGE_H_
#define NAS_COMMON_BINARY_USAGE_H_

#include "absl/strings/string_view.h"

namespace nas {

void SetBinaryUsage(absl::string_view program, absl::string_view flags_file,
                    absl::string_view usage);

}  // namespace nas

#endif  // NAS_COMMON_BINARY_USAGE_H_
