// A throw-away PostgreSQL 15 server for tests: initdb into a temporary
// directory, start on a free loopback port, create a database; stopped and
// deleted by the destructor. Runs the server as user `postgres` when the
// test runs as root (PostgreSQL refuses root). Uses scripts/pg-temp.sh, the
// same script the demo uses. Not thread-safe; one per test fixture/suite.
#ifndef NAS_TESTS_TESTING_POSTGRES_SERVER_H_
#define NAS_TESTS_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace nas::testing {

class PostgresServer {
 public:
  // Starts a server; kUnavailable with the script's output when it fails.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();  // stops the server, deletes the directory

  // libpq connection string for the test database.
  const std::string& conninfo() const { return conninfo_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // Stops / restarts the server (for outage tests); data is kept.
  absl::Status Stop();
  absl::Status Restart();

 private:
  PostgresServer(std::string dir, int port);
  std::string dir_;
  int port_;
  std::string conninfo_;
  bool running_ = true;
};

}  // namespace nas::testing

#endif  // NAS_TESTS_TESTING_POSTGRES_SERVER_H_
