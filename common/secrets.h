// Reading secrets (bearer tokens, TLS keys) and comparing them without
// leaking their content through timing. Thread-safe (pure functions).
#ifndef NAS_COMMON_SECRETS_H_
#define NAS_COMMON_SECRETS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nas {

// The whole content of `path`. kNotFound when it cannot be opened (the
// message names the path, never the content).
absl::StatusOr<std::string> ReadFileContents(const std::string& path);

// A token from the file `file` (when non-empty) or else from the
// environment variable `env` (when set); surrounding whitespace (a final
// newline) is stripped. "" when neither is given: not an error.
// kInvalidArgument when the file or variable holds only whitespace;
// kNotFound when the file cannot be read.
absl::StatusOr<std::string> ReadToken(const std::string& file, const char* env);

// True when a == b; the time taken depends on neither content nor length
// (both are hashed with SHA-256 and the digests compared in full).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace nas

#endif  // NAS_COMMON_SECRETS_H_
