#include "controller/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/experiment_service.h"
#include "controller/worker_service.h"

namespace nas {

struct ControllerServer::Parts {
  std::unique_ptr<LeadershipLock> leadership;
  std::unique_ptr<Store> store;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<ExperimentServiceImpl> experiments;
  std::unique_ptr<WorkerServiceImpl> workers;
  std::unique_ptr<grpc::Server> server;
  bool shut_down = false;
};

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const ServerOptions& options) {
  auto parts = std::make_unique<Parts>();
  NAS_ASSIGN_OR_RETURN(
      parts->leadership,
      LeadershipLock::Acquire(
          options.store.conninfo, options.leadership_poll,
          [] {
            fprintf(stderr,
                    "nas-controller: standby: another controller is active "
                    "on this database; waiting for its lock\n");
          },
          nullptr));
  fprintf(stderr, "nas-controller: active (holds the leadership lock)\n");
  NAS_ASSIGN_OR_RETURN(parts->store, Store::Open(options.store));
  NAS_ASSIGN_OR_RETURN(std::vector<int> applied,
                       parts->store->Migrate(options.migrations_dir));
  for (int v : applied)
    fprintf(stderr, "nas-controller: applied migration %04d\n", v);
  parts->controller =
      std::make_unique<Controller>(parts->store.get(), options.controller);
  NAS_RETURN_IF_ERROR(parts->controller->Start());
  parts->experiments =
      std::make_unique<ExperimentServiceImpl>(parts->controller.get());
  parts->workers = std::make_unique<WorkerServiceImpl>(parts->controller.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           &port);
  // Workers send trained models (TorchScript) with their results.
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.SetMaxSendMessageSize(256 << 20);
  builder.RegisterService(parts->experiments.get());
  builder.RegisterService(parts->workers.get());
  parts->server = builder.BuildAndStart();
  if (parts->server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  return std::unique_ptr<ControllerServer>(
      new ControllerServer(std::move(parts), port));
}

ControllerServer::ControllerServer(std::unique_ptr<Parts> parts, int port)
    : parts_(std::move(parts)), port_(port) {}

ControllerServer::~ControllerServer() { Shutdown(); }

void ControllerServer::Wait() { parts_->server->Wait(); }

bool ControllerServer::StillLeader() { return parts_->leadership->StillHeld(); }

void ControllerServer::Shutdown() {
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  parts_->controller->Shutdown();
  parts_->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
}

}  // namespace nas
