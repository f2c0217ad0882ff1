// Bearer-token authorization of the controller's two services, free of gRPC
// types (controller/service/grpc_status.h adapts it to calls). Two roles: a client
// token may call only nas.v1.ExperimentService, a worker token only
// nas.v1.WorkerService. Immutable after construction, so safe to share
// between threads.
#ifndef NAS_CONTROLLER_SERVICE_AUTH_H_
#define NAS_CONTROLLER_SERVICE_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace nas {

enum class Role { kClient, kWorker };

class TokenAuthorizer {
 public:
  // "" for a role means no token for it: that role's service stays open.
  // With both empty (the default) the controller runs open, as without
  // authentication.
  TokenAuthorizer(std::string client_token, std::string worker_token);
  TokenAuthorizer() = default;

  // Whether a call carrying the `authorization` metadata value
  // `authorization` (nullptr: none sent) may call the service of `role`.
  // OK when it carries "Bearer <that role's token>" or the role has no
  // token; kUnauthenticated when the token is missing, malformed or
  // unknown; kPermissionDenied when it is the other role's token. Tokens
  // are compared in constant time and never appear in the messages.
  absl::Status Authorize(const absl::string_view* authorization,
                         Role role) const;

  bool enabled() const {
    return !client_token_.empty() || !worker_token_.empty();
  }

 private:
  std::string client_token_;
  std::string worker_token_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVICE_AUTH_H_
