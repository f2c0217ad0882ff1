// nasctl's command framework: a command's table entry (name, arguments,
// flags with their defaults, an example, the function that runs it), the
// parsed invocation a command receives (Ctx), and what every command
// shares: errors with their exit codes, JSON output, ID parsing. A Ctx
// belongs to one invocation and is not shared between threads (watch's
// ticker writes only through its ProgressDisplay).
//
// Adding a command: write `Command FooCommand()` (its flags, help and run
// function) in a client/commands_*.cc file, declare it in
// client/commands.h and add one line to the table in client/nasctl.cc.
#ifndef NAS_CLIENT_CLI_H_
#define NAS_CLIENT_CLI_H_

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/connection.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "nas/v1/experiment.grpc.pb.h"

namespace nas {

// nasctl's exit codes (kubectl's and git's convention: 0 ok, 1 error, 2
// usage); documented in nasctl.h, `nasctl --help` and docs/USER_GUIDE.md.
enum NasctlExit {
  kExitOk = 0,
  kExitError = 1,        // refused or failed by the controller, FAILED watch
  kExitUsage = 2,        // bad flag, argument or spec
  kExitUnavailable = 3,  // UNAVAILABLE, DEADLINE_EXCEEDED
  kExitDenied = 4,       // UNAUTHENTICATED, PERMISSION_DENIED
};

// One flag of a command (global flags are in nasctl.cc).
struct Flag {
  std::string name;          // long name, without "--"
  char short_name = 0;       // e.g. 'f' for -f; 0: none
  std::string value;         // placeholder ("N", "FILE"); empty: boolean
  std::string default_text;  // shown as "(default ...)"; empty: none
  std::string help;          // one or more sentences
};

struct Ctx;

// One entry of nasctl's command table.
struct Command {
  std::string name;
  std::string args;     // positional synopsis, e.g. "ID CANDIDATE"
  std::string summary;  // one line, for `nasctl --help`
  std::string details;  // more text for `nasctl NAME --help`; may be empty
  std::vector<Flag> flags;
  std::vector<std::string> examples;  // whole command lines
  int min_args = 0;                   // positional arguments accepted
  int max_args = 0;
  int (*run)(Ctx&) = nullptr;  // returns the exit code

  const Flag* FindFlag(const std::string& name) const;
  const Flag* FindShort(char short_name) const;
};

// `text`'s words in lines of at most `width` columns (a longer word has
// one to itself), the first starting at column `first`, the others
// indented by `indent` spaces.
std::string WrapText(const std::string& text, int first, int indent, int width);

// `nasctl NAME --help`: synopsis, description, the command's flags with
// their defaults, a pointer to the global flags, examples.
std::string CommandHelp(const Command& command);

// The invocation a command runs with.
struct Ctx {
  std::ostream& out;
  std::ostream& err;
  std::string command;
  Connection conn;
  std::unique_ptr<v1::ExperimentService::Stub> stub;
  bool json = false;                         // --output json
  int width = 80;                            // terminal columns (see below)
  bool tty = false;                          // `out` is a terminal
  std::map<std::string, std::string> flags;  // command flags by long name
  std::vector<std::string> positional;

  std::unique_ptr<grpc::ClientContext> Context(int seconds = 30) const {
    return conn.NewContext(seconds);
  }
};

// Columns of the terminal behind file descriptor `fd` (ioctl TIOCGWINSZ),
// else $COLUMNS, else 80. Never below 20.
int TerminalWidth(int fd);

// Prints "nasctl CMD: MESSAGE (CODE)" to err; the exit code for the status.
int Fail(Ctx& c, const grpc::Status& s);
// Prints "nasctl CMD: MESSAGE; see 'nasctl CMD --help'" to err; returns 2.
int Usage(Ctx& c, const std::string& message);
// The message as JSON (proto3 mapping, snake_case field names as in the
// .proto, every field printed including zero values and empty lists);
// indented, or on one line.
void PrintJson(Ctx& c, const google::protobuf::Message& m,
               bool one_line = false);
std::string ToJson(const google::protobuf::Message& m, bool one_line = false);
// positional[0] as a positive experiment ID; else prints a usage error and
// returns false.
bool ParseId(Ctx& c, int64_t* id);
// The --limit flag (a positive integer), `fallback` when absent.
bool ParseLimit(Ctx& c, int fallback, int* limit);

// "RUNNING" for EXPERIMENT_RUNNING.
std::string State(v1::ExperimentState s);
absl::Time ToTime(const google::protobuf::Timestamp& t);
// "42s", "3m05s", "2h07m".
std::string Duration(double seconds);
// Writes `data` to `path`, "wrote PATH" to err; 2 when it cannot.
int WriteFile(Ctx& c, const std::string& path, const std::string& data);

}  // namespace nas

#endif  // NAS_CLIENT_CLI_H_
