#include "common/binary_usage.h"

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "common/build_info.h"

namespace nas {

void SetBinaryUsage(absl::string_view program, absl::string_view flags_file,
                    absl::string_view usage) {
  absl::FlagsUsageConfig config;
  config.version_string = [line = VersionLine(program)] { return line + "\n"; };
  config.contains_help_flags =
      [file = std::string(flags_file)](absl::string_view path) {
        return absl::EndsWith(path, file);
      };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
}

}  // namespace nas
