#include "client/cli.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/text.h"
#include "google/protobuf/util/json_util.h"

namespace nas {

const Flag* Command::FindFlag(const std::string& flag) const {
  for (const Flag& f : flags) {
    if (f.name == flag) return &f;
  }
  return nullptr;
}

const Flag* Command::FindShort(char short_name) const {
  for (const Flag& f : flags) {
    if (short_name != 0 && f.short_name == short_name) return &f;
  }
  return nullptr;
}

std::string WrapText(const std::string& text, int first, int indent,
                     int width) {
  std::string out;
  int column = first;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    const int n = static_cast<int>(word.size());
    if (column > indent && column + 1 + n > width) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
    } else if (column > first || !out.empty()) {
      out.push_back(' ');
      ++column;
    }
    absl::StrAppend(&out, word);
    column += n;
  }
  return out;
}

std::string CommandHelp(const Command& c) {
  std::string out =
      absl::StrCat("usage: nasctl ", c.name, c.args.empty() ? "" : " ", c.args,
                   c.flags.empty() ? "" : " [flags]", "\n\n", c.summary, "\n");
  if (!c.details.empty()) absl::StrAppend(&out, "\n", c.details, "\n");
  if (!c.flags.empty()) absl::StrAppend(&out, "\nflags:\n");
  for (const Flag& f : c.flags) {
    std::string name =
        f.short_name != 0
            ? absl::StrCat("-", std::string(1, f.short_name), ", --", f.name)
            : absl::StrCat("    --", f.name);
    if (!f.value.empty()) absl::StrAppend(&name, " ", f.value);
    std::string help = f.help;
    if (!f.default_text.empty()) {
      absl::StrAppend(&help, " (default ", f.default_text, ")");
    }
    if (name.size() <= 26) {
      absl::StrAppendFormat(&out, "  %-26s %s\n", name,
                            WrapText(help, 29, 29, 80));
    } else {
      absl::StrAppendFormat(&out, "  %s\n  %-26s %s\n", name, "",
                            WrapText(help, 29, 29, 80));
    }
  }
  absl::StrAppend(&out,
                  "\nglobal flags (--controller, -o/--output table|json, "
                  "--token, ...):\n  nasctl --help\n");
  if (!c.examples.empty()) {
    absl::StrAppend(&out, "\nexample", c.examples.size() > 1 ? "s" : "", ":\n");
    for (const std::string& e : c.examples)
      absl::StrAppend(&out, "  ", e, "\n");
  }
  return out;
}

int TerminalWidth(int fd) {
  int width = 0;
  struct winsize ws {};
  if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    width = ws.ws_col;
  } else if (const char* columns = std::getenv("COLUMNS");
             columns == nullptr || !absl::SimpleAtoi(columns, &width)) {
    width = 80;
  }
  return std::max(width, 20);
}

namespace {

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

}  // namespace

int Fail(Ctx& c, const grpc::Status& s) {
  c.err << "nasctl " << c.command << ": " << Printable(s.error_message())
        << " (" << CodeName(s.error_code()) << ")\n";
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitDenied;
    default:
      return kExitError;
  }
}

int Usage(Ctx& c, const std::string& message) {
  c.err << "nasctl " << c.command << ": " << message << "; see 'nasctl "
        << c.command << " --help'\n";
  return kExitUsage;
}

std::string ToJson(const google::protobuf::Message& m, bool one_line) {
  std::string s;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = !one_line;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  // Cannot fail for a message nasctl built or parsed (no Any fields).
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

void PrintJson(Ctx& c, const google::protobuf::Message& m, bool one_line) {
  c.out << ToJson(m, one_line) << "\n";
}

bool ParseId(Ctx& c, int64_t* id) {
  if (c.positional.empty() || !absl::SimpleAtoi(c.positional[0], id) ||
      *id <= 0) {
    Usage(c, "expected an experiment ID (a positive integer)");
    return false;
  }
  return true;
}

bool ParseLimit(Ctx& c, int fallback, int* limit) {
  *limit = fallback;
  if (c.flags.count("limit") &&
      (!absl::SimpleAtoi(c.flags["limit"], limit) || *limit < 1)) {
    Usage(c, "--limit: expected a positive integer, got '" + c.flags["limit"] +
                 "'");
    return false;
  }
  return true;
}

std::string State(v1::ExperimentState s) {
  std::string n = v1::ExperimentState_Name(s);
  return n.substr(n.find('_') + 1);
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string Duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

int WriteFile(Ctx& c, const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  f.close();
  if (!f) return Usage(c, "cannot write " + path);
  c.err << "wrote " << path << "\n";
  return kExitOk;
}

}  // namespace nas
