#include "controller/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics_endpoint.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "controller/service/experiment_service.h"
#include "controller/metrics.h"
#include "controller/service/rpc_metrics.h"
#include "controller/service/worker_service.h"

namespace nas {

namespace {

// Sets the grpc.health.v1 status of the server ("") and of each service.
void SetHealth(grpc::Server* server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus("", serving);
  health->SetServingStatus(v1::ExperimentService::service_full_name(), serving);
  health->SetServingStatus(v1::WorkerService::service_full_name(), serving);
}

// The credentials of the listening port: TLS from PEM files, or plaintext.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const ServerTlsOptions& tls) {
  if (tls.cert_file.empty() && tls.key_file.empty()) {
    if (!tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca needs --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key must be given together");
  }
  grpc::SslServerCredentialsOptions ssl(
      tls.client_ca_file.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  NAS_ASSIGN_OR_RETURN(pair.cert_chain, ReadFileContents(tls.cert_file));
  NAS_ASSIGN_OR_RETURN(pair.private_key, ReadFileContents(tls.key_file));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file.empty()) {
    NAS_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                         ReadFileContents(tls.client_ca_file));
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

struct ControllerServer::Parts {
  ServerOptions options;
  std::unique_ptr<ControllerMetrics> metrics;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint;
  std::unique_ptr<LeadershipLock> leadership;
  std::unique_ptr<Store> store;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<TokenAuthorizer> auth;
  std::unique_ptr<ExperimentServiceImpl> experiments;
  std::unique_ptr<WorkerServiceImpl> workers;
  std::unique_ptr<grpc::Server> server;
  bool shut_down = false;

  absl::Mutex mu;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::string failed ABSL_GUARDED_BY(mu);
  std::thread supervisor;

  void Supervise();
  // One check; returns false once failed.
  bool Check(bool* serving, absl::Time* lost_since, absl::Time* last_stats);
};

bool ControllerServer::Parts::Check(bool* serving, absl::Time* lost_since,
                                    absl::Time* last_stats) {
  bool leader = leadership->StillHeld();
  if (!leader) {
    if (*lost_since == absl::InfiniteFuture()) {
      *lost_since = absl::Now();
      controller->SetPaused(true);
      fprintf(stderr,
              "nas-controller: lost the database connection of the "
              "leadership lock; NOT_SERVING, ticker paused, retaking the "
              "lock for up to %s\n",
              absl::FormatDuration(options.database_outage).c_str());
    }
    absl::Status s = leadership->Retake();
    if (s.ok()) {
      leader = true;
      *lost_since = absl::InfiniteFuture();
      controller->SetPaused(false);
      fprintf(stderr, "nas-controller: leadership lock retaken; resuming\n");
    } else if (absl::IsFailedPrecondition(s) ||
               absl::Now() - *lost_since > options.database_outage) {
      absl::MutexLock lock(&mu);
      failed =
          absl::IsFailedPrecondition(s)
              ? "another controller took the leadership lock while the "
                "database connection was lost; exiting so that only "
                "one controller is active"
              : absl::StrCat("database unreachable for longer than ",
                             absl::FormatDuration(options.database_outage),
                             " (--database_outage_seconds): ", s.message());
      return false;
    }
  }
  const bool ok = leader && store->Ping().ok();
  if (ok != *serving) {
    *serving = ok;
    SetHealth(server.get(), ok);
    fprintf(stderr, "nas-controller: health: %s\n",
            ok ? "SERVING" : "NOT_SERVING (database unreachable)");
  }
  if (ok && metrics != nullptr &&
      absl::Now() - *last_stats >= options.stats_interval) {
    *last_stats = absl::Now();
    absl::StatusOr<OpsSnapshot> snap = controller->GetOpsSnapshot();
    if (snap.ok()) {
      metrics->SetSnapshot(*snap);
    } else {
      fprintf(stderr, "nas-controller: metrics: %s\n",
              snap.status().ToString().c_str());
    }
  }
  return true;
}

void ControllerServer::Parts::Supervise() {
  bool serving = true;
  absl::Time lost_since = absl::InfiniteFuture();
  absl::Time last_stats = absl::InfinitePast();
  while (true) {
    {
      absl::MutexLock lock(&mu);
      auto stopping = [this]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return stop; };
      mu.AwaitWithTimeout(absl::Condition(&stopping), options.health_poll);
      if (stop) return;
    }
    if (!Check(&serving, &lost_since, &last_stats)) return;
  }
}

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const ServerOptions& options) {
  auto parts = std::make_unique<Parts>();
  parts->options = options;
  NAS_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                       MakeCredentials(options.tls));
  parts->auth = std::make_unique<TokenAuthorizer>(options.client_token,
                                                  options.worker_token);
  ControllerOptions controller_options = options.controller;
  if (!options.metrics_address.empty()) {
    parts->metrics = std::make_unique<ControllerMetrics>();
    NAS_ASSIGN_OR_RETURN(
        parts->metrics_endpoint,
        MetricsEndpoint::Start(options.metrics_address,
                               parts->metrics->registry(), "nas-controller"));
    fprintf(stderr, "nas-controller: metrics on port %d (/metrics)\n",
            parts->metrics_endpoint->port());
    controller_options.metrics = parts->metrics.get();
  }
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
      std::make_unique<Controller>(parts->store.get(), controller_options);
  NAS_RETURN_IF_ERROR(parts->controller->Start());
  parts->experiments = std::make_unique<ExperimentServiceImpl>(
      parts->controller.get(), parts->auth.get());
  parts->workers = std::make_unique<WorkerServiceImpl>(parts->controller.get(),
                                                       parts->auth.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  // Workers send trained models (TorchScript) with their results.
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(parts->experiments.get());
  builder.RegisterService(parts->workers.get());
  if (parts->metrics != nullptr) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        MakeRpcMetricsInterceptorFactory(parts->metrics.get()));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  parts->server = builder.BuildAndStart();
  if (parts->server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  SetHealth(parts->server.get(), true);
  fprintf(
      stderr, "nas-controller: %s, %s\n",
      options.tls.cert_file.empty() ? "plaintext gRPC"
                                    : (options.tls.client_ca_file.empty()
                                           ? "TLS"
                                           : "TLS with client certificates"),
      parts->auth->enabled() ? "bearer tokens required" : "no tokens (open)");
  Parts* raw = parts.get();
  parts->supervisor = std::thread([raw] { raw->Supervise(); });
  return std::unique_ptr<ControllerServer>(
      new ControllerServer(std::move(parts), port));
}

ControllerServer::ControllerServer(std::unique_ptr<Parts> parts, int port)
    : parts_(std::move(parts)), port_(port) {}

ControllerServer::~ControllerServer() { Shutdown(); }

void ControllerServer::Wait() { parts_->server->Wait(); }

bool ControllerServer::StillLeader() { return parts_->leadership->StillHeld(); }

int ControllerServer::metrics_port() const {
  return parts_->metrics_endpoint == nullptr ? 0
                                             : parts_->metrics_endpoint->port();
}

std::string ControllerServer::Failed() {
  absl::MutexLock lock(&parts_->mu);
  return parts_->failed;
}

void ControllerServer::Shutdown() {
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  {
    absl::MutexLock lock(&parts_->mu);
    parts_->stop = true;
  }
  if (parts_->supervisor.joinable()) parts_->supervisor.join();
  parts_->controller->Shutdown();
  parts_->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
}

}  // namespace nas
