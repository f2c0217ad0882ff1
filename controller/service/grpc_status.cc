#include "controller/service/grpc_status.h"

#include <string>

namespace nas {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  constexpr size_t kMaxMessage = 1024;
  std::string message(status.message());
  if (message.size() > kMaxMessage) {
    message.resize(kMaxMessage - 3);
    message += "...";
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

absl::Status CheckCaller(const grpc::CallbackServerContext* context,
                         const TokenAuthorizer& auth, Role role) {
  if (!auth.enabled()) return absl::OkStatus();
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return auth.Authorize(nullptr, role);
  const absl::string_view value(it->second.data(), it->second.size());
  return auth.Authorize(&value, role);
}

grpc::ServerUnaryReactor* RejectUnauthorized(
    grpc::CallbackServerContext* context, const TokenAuthorizer& auth,
    Role role) {
  absl::Status s = CheckCaller(context, auth, role);
  if (s.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace nas
