#include "controller/service/auth.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/secrets.h"

namespace nas {

namespace {

const char* ServiceOf(Role role) {
  return role == Role::kClient ? "nas.v1.ExperimentService"
                               : "nas.v1.WorkerService";
}

}  // namespace

TokenAuthorizer::TokenAuthorizer(std::string client_token,
                                 std::string worker_token)
    : client_token_(std::move(client_token)),
      worker_token_(std::move(worker_token)) {}

absl::Status TokenAuthorizer::Authorize(const absl::string_view* authorization,
                                        Role role) const {
  const std::string& own =
      role == Role::kClient ? client_token_ : worker_token_;
  const std::string& other =
      role == Role::kClient ? worker_token_ : client_token_;
  if (own.empty()) return absl::OkStatus();
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization == nullptr || !absl::StartsWith(*authorization, kBearer)) {
    return absl::UnauthenticatedError(
        absl::StrCat("missing bearer token (authorization: Bearer <token>) "
                     "for ",
                     ServiceOf(role)));
  }
  const absl::string_view token = authorization->substr(kBearer.size());
  // Both comparisons always run, so timing tells nothing about which
  // matched.
  const bool is_own = ConstantTimeEquals(token, own);
  const bool is_other = !other.empty() && ConstantTimeEquals(token, other);
  if (is_own) return absl::OkStatus();
  if (is_other) {
    return absl::PermissionDeniedError(
        absl::StrCat("a ", role == Role::kClient ? "worker" : "client",
                     " token may not call ", ServiceOf(role), " (needs a ",
                     role == Role::kClient ? "client" : "worker", " token)"));
  }
  return absl::UnauthenticatedError(
      absl::StrCat("invalid bearer token for ", ServiceOf(role)));
}

}  // namespace nas
