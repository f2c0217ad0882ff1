// Wires a Store, a Controller and both gRPC services into a running
// nas-controller (health checking and reflection included). RAII: the
// destructor shuts the server down before the controller and the store.
#ifndef NAS_CONTROLLER_SERVER_H_
#define NAS_CONTROLLER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/controller.h"

namespace nas {

struct ServerOptions {
  // gRPC listen address. Default "127.0.0.1:50051". Port 0 picks a free one.
  std::string listen = "127.0.0.1:50051";
  StoreOptions store;
  // Directory of migrations/NNNN_*.sql, applied at start-up.
  std::string migrations_dir;
  ControllerOptions controller;
  // How often a standby retries the leadership lock. Default 1 s.
  absl::Duration leadership_poll = absl::Seconds(1);
};

class ControllerServer {
 public:
  // Takes the database's leadership lock (waiting as a standby while
  // another controller holds it), migrates, rebuilds running experiments,
  // starts serving.
  static absl::StatusOr<std::unique_ptr<ControllerServer>> Start(
      const ServerOptions& options);
  ~ControllerServer();
  int port() const { return port_; }
  // Blocks until Shutdown() is called from another thread or a signal.
  void Wait();
  void Shutdown();
  // False once the leadership lock's connection is lost: another
  // controller may be active, so this one must stop (main exits).
  bool StillLeader();

 private:
  struct Parts;
  explicit ControllerServer(std::unique_ptr<Parts> parts, int port);
  std::unique_ptr<Parts> parts_;
  int port_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVER_H_
