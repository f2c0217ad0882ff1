#include "tests/testing/postgres_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/testing/process.h"

#ifndef NAS_SOURCE_DIR
#error "NAS_SOURCE_DIR must be defined (see tests/CMakeLists.txt)"
#endif

namespace nas::testing {
namespace {

std::string Script() {
  return std::string(NAS_SOURCE_DIR) + "/scripts/pg-temp.sh";
}

// Runs `command` through the shell; returns its stdout (stderr merged when
// `merge_stderr`) and its exit code.
std::pair<std::string, int> RunCommand(const std::string& command,
                                       bool merge_stderr) {
  const std::string full = merge_stderr ? command + " 2>&1" : command;
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return {"popen failed", -1};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {std::move(out), code};
}

absl::Status RunScript(const std::string& verb, const std::string& dir) {
  auto [out, code] = RunCommand(
      absl::StrCat(ShellQuote(Script()), " ", verb, " ", ShellQuote(dir)),
      /*merge_stderr=*/true);
  if (code != 0) {
    return absl::UnavailableError(absl::StrCat(
        "pg-temp.sh ", verb, " ", dir, " failed (exit ", code, "):\n", out));
  }
  return absl::OkStatus();
}

}  // namespace

PostgresServer::PostgresServer(std::string dir, int port)
    : dir_(std::move(dir)),
      port_(port),
      conninfo_(
          absl::StrCat("host=127.0.0.1 port=", port, " dbname=nas user=nas")) {}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  char tmpl[] = "/tmp/nas-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    return absl::UnavailableError("mkdtemp under /tmp failed");
  }
  const std::string dir = tmpl;
  // stdout carries only the connection line; the script's stderr goes to a
  // log file that is shown on failure.
  const std::string log = dir + ".log";
  auto [out, code] =
      RunCommand(absl::StrCat(ShellQuote(Script()), " start ", ShellQuote(dir),
                              " 2>", ShellQuote(log)),
                 /*merge_stderr=*/false);
  auto [log_text, log_code] = RunCommand(
      absl::StrCat("cat ", ShellQuote(log), "; rm -f ", ShellQuote(log)),
      /*merge_stderr=*/true);
  (void)log_code;
  int port = 0;
  for (absl::string_view field :
       absl::StrSplit(absl::StripAsciiWhitespace(out), ' ')) {
    if (absl::ConsumePrefix(&field, "port=")) {
      if (!absl::SimpleAtoi(field, &port)) port = 0;
    }
  }
  if (code != 0 || port == 0) {
    RunCommand(absl::StrCat("rm -rf ", ShellQuote(dir)), true);
    return absl::UnavailableError(absl::StrCat(
        "pg-temp.sh start failed (exit ", code, "): ", out, "\n", log_text));
  }
  return std::unique_ptr<PostgresServer>(new PostgresServer(dir, port));
}

PostgresServer::~PostgresServer() {
  if (running_) (void)Stop();
  RunCommand(absl::StrCat("rm -rf ", ShellQuote(dir_)), true);
}

absl::Status PostgresServer::Stop() {
  absl::Status s = RunScript("stop", dir_);
  if (s.ok()) running_ = false;
  return s;
}

absl::Status PostgresServer::Restart() {
  absl::Status s = RunScript("restart", dir_);
  if (s.ok()) running_ = true;
  return s;
}

}  // namespace nas::testing
