#include "common/secrets.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace nas {

absl::StatusOr<std::string> ReadFileContents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::string> ReadToken(const std::string& file,
                                      const char* env) {
  std::string raw;
  std::string source;
  if (!file.empty()) {
    absl::StatusOr<std::string> content = ReadFileContents(file);
    if (!content.ok()) return content.status();
    raw = *std::move(content);
    source = file;
  } else if (env != nullptr && std::getenv(env) != nullptr) {
    raw = std::getenv(env);
    source = absl::StrCat("$", env);
  } else {
    return std::string();
  }
  std::string token(absl::StripAsciiWhitespace(raw));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token in ", source, " is empty"));
  }
  return token;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  const std::string ha = Sha256Hex(a);
  const std::string hb = Sha256Hex(b);
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < ha.size() && i < hb.size(); ++i) {
    diff = diff | (ha[i] ^ hb[i]);
  }
  return diff == 0 && ha.size() == hb.size();
}

}  // namespace nas
