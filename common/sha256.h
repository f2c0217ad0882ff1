// SHA-256 content hashes (OpenSSL's libcrypto), the addresses of stored
// artifacts. Thread-safe.
#ifndef NAS_COMMON_SHA256_H_
#define NAS_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace nas {

// SHA-256 of `data` as 64 lowercase hex digits.
std::string Sha256Hex(absl::string_view data);

// True when `s` has the form Sha256Hex returns (64 lowercase hex digits).
bool IsSha256Hex(absl::string_view s);

}  // namespace nas

#endif  // NAS_COMMON_SHA256_H_
