// Wires a Store, a Controller and both gRPC services into a running
// nas-controller (health checking and reflection included), with its
// Prometheus endpoint. RAII: the destructor shuts the server down before
// the controller and the store.
//
// A supervisor thread checks the database every `health_poll`: the
// grpc.health.v1 status (overall "" and each service) is SERVING while the
// database answers and this controller holds the leadership lock, else
// NOT_SERVING. When the lock's connection is lost (database restarted or
// unreachable) the ticker pauses and the lock is retaken as soon as the
// database is back; if another controller took it meanwhile, or the
// database stays unreachable longer than `database_outage`, Failed() says
// why and main exits.
//
// Authentication (docs/SECURITY.md): TLS when `tls` names a certificate,
// optionally requiring client certificates; bearer tokens per role checked
// by every handler of both services (controller/service/auth.h). Health checking
// and reflection stay open. The metrics' gauges are refreshed every
// `stats_interval` while SERVING.
#ifndef NAS_CONTROLLER_SERVER_H_
#define NAS_CONTROLLER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/controller.h"

namespace nas {

// TLS of the gRPC port: PEM file paths. All empty (the default): plaintext.
struct ServerTlsOptions {
  // Server certificate chain and its private key; both or neither.
  std::string cert_file;
  std::string key_file;
  // When set: clients must present a certificate signed by this CA.
  std::string client_ca_file;
};

struct ServerOptions {
  // gRPC listen address. Default "127.0.0.1:50051". Port 0 picks a free one.
  std::string listen = "127.0.0.1:50051";
  StoreOptions store;
  // Directory of migrations/NNNN_*.sql, applied at start-up.
  std::string migrations_dir;
  ControllerOptions controller;
  // How often a standby retries the leadership lock. Default 1 s.
  absl::Duration leadership_poll = absl::Seconds(1);
  // host:port of the Prometheus endpoint (/metrics); "" = no endpoint.
  // Default "".
  std::string metrics_address;
  // How often the supervisor checks the database. Default 500 ms.
  absl::Duration health_poll = absl::Milliseconds(500);
  // How often the metrics' gauges are read from the database. Default 2 s.
  absl::Duration stats_interval = absl::Seconds(2);
  // Longest database outage (leadership lock lost) survived. Default 60 s.
  absl::Duration database_outage = absl::Seconds(60);
  // Largest gRPC message received or sent, bytes (a result carrying a model
  // or supernet weights, an exported model). Larger ones are refused with
  // RESOURCE_EXHAUSTED. Default 256 MiB.
  int max_message_bytes = 256 << 20;
  ServerTlsOptions tls;
  // Bearer tokens of the two roles (controller/service/auth.h); "" = that role's
  // service is open. Default: both open.
  std::string client_token;
  std::string worker_token;
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
  // Port of /metrics, 0 when there is no metrics endpoint.
  int metrics_port() const;
  // Blocks until Shutdown() is called from another thread or a signal.
  void Wait();
  void Shutdown();
  // False once the leadership lock's connection is lost: another
  // controller may be active, so this one must stop (main exits).
  bool StillLeader();
  // Non-empty once this controller must stop: why (the leadership lock was
  // taken by another controller, or the database outage lasted too long).
  std::string Failed();

 private:
  struct Parts;
  explicit ControllerServer(std::unique_ptr<Parts> parts, int port);
  std::unique_ptr<Parts> parts_;
  int port_;
};

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVER_H_
