// The commands of the nas-controller binary, given checked options
// (server_options.h). Each prints its progress and errors to stderr,
// prefixed "nas-controller: ", and returns the process's exit status. One
// command per process; not for use from other code.
#ifndef NAS_CONTROLLER_COMMANDS_H_
#define NAS_CONTROLLER_COMMANDS_H_

#include "controller/server.h"

namespace nas {

// `nas-controller migrate`: applies the migrations in
// options.migrations_dir and prints "applied N migration(s)" to stdout.
// 0 on success, 1 when the database cannot be opened or migrated.
int RunMigrateCommand(const ServerOptions& options);

// `nas-controller`: starts the server (1 when it cannot), then handles
// SIGINT and SIGTERM (before that they end the process, as by default) and
// serves until one arrives (shut down, 0) or the server fails (leadership
// lost, database outage too long: 1). Call at most once per process.
int RunServeCommand(const ServerOptions& options);

}  // namespace nas

#endif  // NAS_CONTROLLER_COMMANDS_H_
