#include "common/build_info.h"

#include "absl/strings/str_cat.h"

#ifndef NAS_VERSION
#error "NAS_VERSION is set by common/CMakeLists.txt"
#endif

namespace nas {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo* const info =
      new BuildInfo{NAS_VERSION, NAS_REVISION, NAS_BUILD_TYPE, NAS_COMPILER};
  return *info;
}

std::string VersionLine(absl::string_view program) {
  const BuildInfo& b = GetBuildInfo();
  return absl::StrCat(program, " ", b.version, " (revision ", b.revision, ", ",
                      b.build_type, ", ", b.compiler, ")");
}

}  // namespace nas
