#include "client/nasctl.h"

#include <unistd.h>

#include <iostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli.h"
#include "client/commands.h"
#include "common/build_info.h"

namespace nas {

// The command table: one line per command, in `nasctl --help` order.
const std::vector<Command>& NasctlCommands() {
  static const auto* commands = new std::vector<Command>{
      SubmitCommand(),     ListCommand(),    ShowCommand(),   WatchCommand(),
      CandidatesCommand(), ParetoCommand(),  CurveCommand(),  CurvesCommand(),
      SearchesCommand(),   ProxiesCommand(), ExportCommand(), StopCommand(),
      ExtendCommand(),     ResumeCommand(),
  };
  return *commands;
}

namespace {

const Command* FindCommand(const std::string& name) {
  for (const Command& c : NasctlCommands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Flags every command accepts, anywhere on the line.
const std::vector<Flag>& GlobalFlags() {
  static const auto* flags = new std::vector<Flag>{
      {"controller", 0, "HOST:PORT", "", ""},
      {"output", 'o', "FORMAT", "", ""},
      {"tls", 0, "", "", ""},
      {"tls-ca", 0, "FILE", "", ""},
      {"tls-server-name", 0, "NAME", "", ""},
      {"token", 0, "TOKEN", "", ""},
      {"token-file", 0, "FILE", "", ""},
      {"help", 'h', "", "", ""},
      {"version", 0, "", "", ""},
  };
  return *flags;
}

const Flag* FindFlag(const std::vector<Flag>& flags, const std::string& name,
                     char short_name) {
  for (const Flag& f : flags) {
    if (short_name != 0 ? f.short_name == short_name : f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

std::string GlobalUsage() {
  std::string out =
      "usage: nasctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]\n\ncommands:\n";
  for (const Command& c : NasctlCommands()) {
    const std::string synopsis =
        absl::StrCat(c.name, c.args.empty() ? "" : " ", c.args);
    if (synopsis.size() <= 22) {
      absl::StrAppendFormat(&out, "  %-22s %s\n", synopsis,
                            WrapText(c.summary, 25, 25, 80));
    } else {
      absl::StrAppendFormat(&out, "  %s\n  %-22s %s\n", synopsis, "",
                            WrapText(c.summary, 25, 25, 80));
    }
  }
  absl::StrAppend(&out, "  help [COMMAND]         this text, or COMMAND's\n",
                  R"(
nasctl COMMAND --help (or nasctl help COMMAND): its flags, defaults, examples.

global flags (each also from an environment variable):
  --controller HOST:PORT   NAS_CONTROLLER       default 127.0.0.1:50051; or a
                                                list A,B,...: the first that
                                                accepts a connection (an
                                                active controller, not a
                                                standby); watch moves on
  -o, --output table|json  (default table)      json: the API's messages as
                                                JSON, every field printed
                                                (watch: one per line)
  --tls                    NAS_TLS=1            TLS with the system's CAs
  --tls-ca FILE            NAS_TLS_CA           TLS, server verified with FILE
  --tls-server-name NAME   NAS_TLS_SERVER_NAME  name expected in the cert
  --token TOKEN            NAS_TOKEN            sent as authorization: Bearer
  --token-file FILE        NAS_TOKEN_FILE       token read from FILE
  -h, --help                                    usage (of COMMAND after it)
  --version                                     nasctl's version

exit codes: 0 ok; 1 refused by the controller (or the watched experiment
FAILED); 2 bad usage (flag, argument) or spec; 3 controller unreachable;
4 not authenticated or not allowed
)");
  return out;
}

// "nasctl: MESSAGE; see 'nasctl [COMMAND] --help'"; returns 2.
int UsageError(std::ostream& err, const std::string& command,
               const std::string& message) {
  err << "nasctl: " << message << "; see 'nasctl "
      << (command.empty() ? "" : command + " ") << "--help'\n";
  return kExitUsage;
}

bool IsFlag(const std::string& a) { return a.size() > 1 && a[0] == '-'; }

}  // namespace

int RunNasctl(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err) {
  // Pass 1: the command is the first argument that is neither a flag nor
  // a flag's value (a flag of any command that takes one).
  auto takes_value = [](const std::string& a) {
    if (a.find('=') != std::string::npos) return false;
    const bool is_long = absl::StartsWith(a, "--");
    const std::string name = a.substr(is_long ? 2 : 1);
    const char short_name = !is_long && name.size() == 1 ? name[0] : 0;
    if (const Flag* f = FindFlag(GlobalFlags(), name, short_name)) {
      return !f->value.empty();
    }
    for (const Command& c : NasctlCommands()) {
      const Flag* f =
          short_name != 0 ? c.FindShort(short_name) : c.FindFlag(name);
      if (f != nullptr && !f->value.empty()) return true;
    }
    return false;
  };
  size_t command_at = args.size();
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      command_at = i + 1;
      break;
    }
    if (!IsFlag(args[i])) {
      command_at = i;
      break;
    }
    if (takes_value(args[i])) ++i;
  }
  std::string name = command_at < args.size() ? args[command_at] : "";
  bool help = false;
  if (name == "help") {  // nasctl help [COMMAND]
    help = true;
    name.clear();
    for (size_t i = command_at + 1; i < args.size(); ++i) {
      if (!IsFlag(args[i])) {
        name = args[i];
        break;
      }
      if (takes_value(args[i])) ++i;
    }
    if (!name.empty() && FindCommand(name) == nullptr) {
      return UsageError(err, "", "unknown command '" + name + "'");
    }
    if (name.empty()) {
      out << GlobalUsage();
    } else {
      out << CommandHelp(*FindCommand(name));
    }
    return kExitOk;
  }
  const Command* command = name.empty() ? nullptr : FindCommand(name);
  // -h/--help and --version win over every other mistake on the line.
  for (size_t i = 0; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "-h" || args[i] == "--help") help = true;
    if (args[i] == "--version") {
      out << VersionLine("nasctl") << "\n";
      return kExitOk;
    }
  }
  if (!name.empty() && command == nullptr) {
    return UsageError(err, "", "unknown command '" + name + "'");
  }
  if (help) {
    out << (command != nullptr ? CommandHelp(*command) : GlobalUsage());
    return kExitOk;
  }

  // Pass 2: every flag, global or the command's, anywhere on the line.
  ConnectionOptions conn = ConnectionOptionsFromEnv();
  std::string output = "table";
  Ctx c{out, err, name};
  const std::map<std::string, std::string*> global_values = {
      {"controller", &conn.controller},
      {"output", &output},
      {"tls-ca", &conn.tls_ca_file},
      {"tls-server-name", &conn.tls_server_name},
      {"token", &conn.token},
      {"token-file", &conn.token_file}};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i == command_at) continue;
    if (a == "--") {
      for (++i; i < args.size(); ++i) {
        if (i != command_at) c.positional.push_back(args[i]);
      }
      break;
    }
    if (!IsFlag(a)) {
      c.positional.push_back(a);
      continue;
    }
    const bool is_long = absl::StartsWith(a, "--");
    std::string key = a.substr(is_long ? 2 : 1);
    std::string value;
    const size_t eq = key.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    const std::string shown = absl::StrCat(is_long ? "--" : "-", key);
    const char short_name = !is_long && key.size() == 1 ? key[0] : 0;
    const Flag* flag = FindFlag(GlobalFlags(), key, short_name);
    const bool global = flag != nullptr;
    if (flag == nullptr && command != nullptr) {
      flag = short_name != 0 ? command->FindShort(short_name)
                             : (is_long ? command->FindFlag(key) : nullptr);
    }
    if (flag == nullptr) {
      return UsageError(
          err, name,
          absl::StrCat("unknown flag ", shown,
                       command != nullptr ? " for \"" + name + "\"" : ""));
    }
    if (flag->value.empty()) {  // boolean: --all, --all=false
      if (has_value && value != "true" && value != "false" && value != "1" &&
          value != "0") {
        return UsageError(
            err, name,
            absl::StrCat("flag --", flag->name,
                         ": expected true or false, got '", value, "'"));
      }
      const bool on = !has_value || value == "true" || value == "1";
      if (flag->name == "tls") {
        conn.tls = on;
      } else if (on) {
        c.flags[flag->name] = "true";
      } else {
        c.flags.erase(flag->name);
      }
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size() || absl::StartsWith(args[i + 1], "--") ||
          i + 1 == command_at) {
        return UsageError(
            err, name,
            absl::StrCat("flag ", shown, " needs a value (", flag->value, ")"));
      }
      value = args[++i];
    }
    if (global) {
      *global_values.at(flag->name) = value;
    } else {
      c.flags[flag->name] = value;
    }
  }
  if (command == nullptr) {
    err << GlobalUsage();
    return kExitUsage;
  }
  if (output != "table" && output != "json") {
    return Usage(
        c,
        absl::StrCat("--output: expected table or json, got '", output, "'",
                     name == "export" ? " (the model's file is -f FILE)" : ""));
  }
  c.json = output == "json";
  const int n = static_cast<int>(c.positional.size());
  if (n < command->min_args) {
    return Usage(c, "expected " + command->args);
  }
  if (n > command->max_args) {
    return Usage(
        c, "unexpected argument '" + c.positional[command->max_args] + "'");
  }
  c.tty = &out == &std::cout && isatty(STDOUT_FILENO);
  c.width = TerminalWidth(c.tty ? STDOUT_FILENO : -1);
  absl::StatusOr<Connection> connection = Connect(conn);
  if (!connection.ok()) {
    return Usage(c, std::string(connection.status().message()));
  }
  c.conn = *std::move(connection);
  // Several addresses: the active controller is the one that listens.
  c.conn.ConnectFirstReachable(absl::Seconds(10));
  c.stub = v1::ExperimentService::NewStub(c.conn.channel);
  return command->run(c);
}

}  // namespace nas
