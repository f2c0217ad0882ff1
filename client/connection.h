// How nasctl reaches the controller: address, TLS and bearer token, from
// flags or environment variables. Pure functions, thread-safe.
#ifndef NAS_CLIENT_CONNECTION_H_
#define NAS_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nas {

// Every field falls back to its environment variable when the flag is not
// given (ConnectionOptionsFromEnv), then to the default.
struct ConnectionOptions {
  // host:port of the controller, or a comma-separated list of them (an
  // active controller and its standbys, tried in order). NAS_CONTROLLER;
  // default "127.0.0.1:50051".
  std::string controller = "127.0.0.1:50051";
  // Use TLS, verifying the server with the system's root certificates.
  // NAS_TLS=1; default false (plaintext). Implied by tls_ca_file.
  bool tls = false;
  // PEM file of the certificate authorities that signed the controller's
  // certificate; setting it turns TLS on. NAS_TLS_CA; default none.
  std::string tls_ca_file;
  // Name the server certificate must carry, when it differs from the host
  // in `controller` (e.g. connecting by IP). NAS_TLS_SERVER_NAME.
  std::string tls_server_name;
  // Bearer token sent with every call as "authorization: Bearer <token>".
  // NAS_TOKEN; default none.
  std::string token;
  // File holding the token (surrounding whitespace stripped); used when
  // `token` is empty. NAS_TOKEN_FILE.
  std::string token_file;
};

// Options filled from the environment variables named above.
ConnectionOptions ConnectionOptionsFromEnv();

// A connection ready for calls, to one of the controller addresses at a
// time.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;  // to addresses[current]
  std::string token;                   // resolved bearer token, empty for none
  std::vector<std::string> addresses;  // never empty
  size_t current = 0;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments args;

  // A context with the deadline and the authorization metadata set.
  std::unique_ptr<grpc::ClientContext> NewContext(int deadline_seconds) const;
  // Replaces `channel` by one to the next address (round robin; a fresh
  // channel to the same address when there is only one).
  void Next();
  // With several addresses: moves to the first one that accepts a
  // connection (a standby does not listen), trying each for up to 1 s in
  // turn until `timeout`; false when none did (the channel is then to the
  // first address). With one address: true at once, without connecting.
  bool ConnectFirstReachable(absl::Duration timeout);
};

// Builds the channel to the first address. InvalidArgument naming the
// option ("--controller", "--tls-ca", "--token-file") when no address is
// given or a file cannot be read or is empty. Does not connect: an
// unreachable controller shows up on the first call.
absl::StatusOr<Connection> Connect(const ConnectionOptions& options);

}  // namespace nas

#endif  // NAS_CLIENT_CONNECTION_H_
