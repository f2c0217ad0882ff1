#include "client/connection.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace nas {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

absl::StatusOr<std::string> ReadNonEmpty(const std::string& path,
                                         const std::string& option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": cannot read \"", path, "\""));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (absl::StripAsciiWhitespace(ss.str()).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": \"", path, "\" is empty"));
  }
  return ss.str();
}

}  // namespace

ConnectionOptions ConnectionOptionsFromEnv() {
  ConnectionOptions o;
  if (!Env("NAS_CONTROLLER").empty()) o.controller = Env("NAS_CONTROLLER");
  const std::string tls = Env("NAS_TLS");
  o.tls = tls == "1" || tls == "true" || tls == "yes";
  o.tls_ca_file = Env("NAS_TLS_CA");
  o.tls_server_name = Env("NAS_TLS_SERVER_NAME");
  o.token = Env("NAS_TOKEN");
  o.token_file = Env("NAS_TOKEN_FILE");
  return o;
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(
    int deadline_seconds) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (deadline_seconds > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(deadline_seconds));
  }
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

void Connection::Next() {
  current = (current + 1) % addresses.size();
  channel = grpc::CreateCustomChannel(addresses[current], credentials, args);
}

bool Connection::ConnectFirstReachable(absl::Duration timeout) {
  if (addresses.size() < 2) return true;
  const absl::Time end = absl::Now() + timeout;
  while (true) {
    for (size_t i = 0; i < addresses.size(); ++i) {
      if (channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::seconds(1))) {
        return true;
      }
      Next();
    }
    if (absl::Now() >= end) return false;
  }
}

absl::StatusOr<Connection> Connect(const ConnectionOptions& options) {
  Connection c;
  for (absl::string_view a :
       absl::StrSplit(options.controller, ',', absl::SkipWhitespace())) {
    c.addresses.emplace_back(absl::StripAsciiWhitespace(a));
  }
  if (c.addresses.empty()) {
    return absl::InvalidArgumentError("--controller: no address given");
  }
  if (!options.token.empty()) {
    c.token = options.token;
  } else if (!options.token_file.empty()) {
    absl::StatusOr<std::string> t =
        ReadNonEmpty(options.token_file, "--token-file");
    if (!t.ok()) return t.status();
    c.token = std::string(absl::StripAsciiWhitespace(*t));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);  // exported models
  // Reconnect within seconds of a controller restart (watch re-opens its
  // stream), not after gRPC's default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls || !options.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      absl::StatusOr<std::string> pem =
          ReadNonEmpty(options.tls_ca_file, "--tls-ca");
      if (!pem.ok()) return pem.status();
      ssl.pem_root_certs = *pem;
    }
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  c.credentials = creds;
  c.args = args;
  c.channel = grpc::CreateCustomChannel(c.addresses[0], creds, args);
  return c;
}

}  // namespace nas
