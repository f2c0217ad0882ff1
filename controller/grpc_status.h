// The one place where absl::Status becomes grpc::Status (messages capped at
// 1 KB), and the unary-reactor helper every handler uses.
#ifndef NAS_CONTROLLER_GRPC_STATUS_H_
#define NAS_CONTROLLER_GRPC_STATUS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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

}  // namespace nas

#endif  // NAS_CONTROLLER_GRPC_STATUS_H_
