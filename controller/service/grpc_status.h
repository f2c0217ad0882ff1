// The one place where absl::Status becomes grpc::Status (messages capped at
// 1 KB), the unary-reactor helper every handler uses, and the adapters of
// TokenAuthorizer (controller/service/auth.h) that every handler calls first.
#ifndef NAS_CONTROLLER_SERVICE_GRPC_STATUS_H_
#define NAS_CONTROLLER_SERVICE_GRPC_STATUS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/service/auth.h"

namespace nas {

grpc::Status ToGrpcStatus(const absl::Status& status);

// Finishes the context's default reactor with `result`, moving the value
// into `response` on success.
template <typename T>
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      absl::StatusOr<T> result, T* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (result.ok()) *response = *std::move(result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

// The call's `authorization` metadata checked by `auth` for `role`.
absl::Status CheckCaller(const grpc::CallbackServerContext* context,
                         const TokenAuthorizer& auth, Role role);

// For unary handlers: nullptr when the caller may call the service of
// `role`; else the context's default reactor, finished with the refusal
// (the handler returns it).
grpc::ServerUnaryReactor* RejectUnauthorized(
    grpc::CallbackServerContext* context, const TokenAuthorizer& auth,
    Role role);

// For server-streaming handlers: a reactor that only finishes with
// `status` (a refusal), writing nothing.
template <typename T>
class RefusedWriter final : public grpc::ServerWriteReactor<T> {
 public:
  explicit RefusedWriter(const absl::Status& status) {
    this->Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVICE_GRPC_STATUS_H_
