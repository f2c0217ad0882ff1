#include "controller/commands.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

namespace nas {
namespace {
volatile std::sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }
}  // namespace

int RunMigrateCommand(const ServerOptions& options) {
  auto store = Store::Open(options.store);
  if (!store.ok()) {
    fprintf(stderr, "nas-controller: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto applied = (*store)->Migrate(options.migrations_dir);
  if (!applied.ok()) {
    fprintf(stderr, "nas-controller: migrate: %s\n",
            applied.status().ToString().c_str());
    return 1;
  }
  printf("applied %zu migration(s)\n", applied->size());
  return 0;
}

int RunServeCommand(const ServerOptions& options) {
  auto server = ControllerServer::Start(options);
  if (!server.ok()) {
    fprintf(stderr, "nas-controller: %s\n", server.status().ToString().c_str());
    return 1;
  }
  fprintf(stderr, "nas-controller: listening on port %d\n", (*server)->port());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (g_signal == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string failed = (*server)->Failed();
    if (!failed.empty()) {
      fprintf(stderr, "nas-controller: %s\n", failed.c_str());
      return 1;
    }
  }
  fprintf(stderr, "nas-controller: signal %d, shutting down\n",
          static_cast<int>(g_signal));
  (*server)->Shutdown();
  return 0;
}

}  // namespace nas
