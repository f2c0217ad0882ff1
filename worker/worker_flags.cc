#include "worker/worker_flags.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "common/trainers.h"
#include "worker/artifact_cache.h"
#include "yaml-cpp/yaml.h"

namespace nas {
namespace {

// Reads the PEM files named by the --tls_* flags into `options`.
absl::Status ReadTls(const WorkerFlags& flags, WorkerOptions* options) {
  options->tls_server_name = flags.tls_server_name;
  if (flags.tls_ca.empty()) {
    if (!flags.tls_cert.empty() || !flags.tls_key.empty() ||
        !options->tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert, --tls_key and --tls_server_name need --tls_ca");
    }
    return absl::OkStatus();
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key must be given together");
  }
  for (auto [path, pem] : {std::pair{&flags.tls_ca, &options->tls_ca_pem},
                           std::pair{&flags.tls_cert, &options->tls_cert_pem},
                           std::pair{&flags.tls_key, &options->tls_key_pem}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> content = ReadFileContents(*path);
    if (!content.ok()) return content.status();
    *pem = *std::move(content);
  }
  return absl::OkStatus();
}

// Checks one trainer entry and adds it to `setup`; `flag` and `entry` name
// it in errors.
absl::Status AddTrainer(const std::string& flag, const std::string& entry,
                        const std::string& name, const std::string& path,
                        TrainerSetup* setup) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", entry, "': ", why));
  };
  if (!IsValidTrainerName(name)) {
    return bad(
        "the name must be 1 to 64 letters, digits, '_', '-' or '.', not "
        "starting with '.' or '-'");
  }
  if (setup->trainers.count(name) > 0) {
    return bad(absl::StrCat("trainer '", name, "' is given twice"));
  }
  if (path.empty() || path.front() != '/') {
    return bad("the path must be absolute");
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return bad(absl::StrCat("cannot stat the path: ", strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return bad("the path is not a regular file");
  if (access(path.c_str(), X_OK) != 0) return bad("the file is not executable");
  setup->trainers[name] = path;
  return absl::OkStatus();
}

bool IsEnvName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name.front())) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<TrainerSetup> MakeTrainerSetup(const WorkerFlags& flags) {
  TrainerSetup setup;
  for (absl::string_view entry :
       absl::StrSplit(flags.trainer, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::pair<std::string, std::string> p =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (entry.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--trainer: '", entry, "' is not NAME=PATH"));
    }
    NAS_RETURN_IF_ERROR(
        AddTrainer("--trainer", std::string(entry), p.first, p.second, &setup));
  }
  if (!flags.trainers_config.empty()) {
    const std::string flag =
        absl::StrCat("--trainers_config: ", flags.trainers_config);
    absl::StatusOr<std::string> text = ReadFileContents(flags.trainers_config);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": ", text.status().message()));
    }
    YAML::Node root;
    try {
      root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": not YAML: ", e.what()));
    }
    const YAML::Node trainers = root.IsMap() ? root["trainers"] : YAML::Node();
    if (!trainers.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": expected a map `trainers: {NAME: /abs/path, ...}`"));
    }
    for (const auto& kv : trainers) {
      if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
        return absl::InvalidArgumentError(absl::StrCat(
            flag, ": trainers: each entry must be NAME: /abs/path"));
      }
      const std::string name = kv.first.as<std::string>();
      const std::string path = kv.second.as<std::string>();
      NAS_RETURN_IF_ERROR(AddTrainer(flag, absl::StrCat("trainers.", name),
                                     name, path, &setup));
    }
  }
  for (absl::string_view name :
       absl::StrSplit(flags.trainer_env, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--trainer_env: '", name, "' is not an environment variable name"));
    }
    if (name == "NAS_TOKEN") {
      return absl::InvalidArgumentError(
          "--trainer_env: 'NAS_TOKEN': the worker's token is never passed to "
          "a trainer");
    }
    for (absl::string_view own :
         {"NAS_TRIAL_FILE", "NAS_OUTPUT_DIR", "NAS_REPORT_FILE",
          "NAS_REPORT_FD", "NAS_CONTROL_FD"}) {
      if (name == own) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--trainer_env: '", name, "' is set by the worker for each trial"));
      }
    }
    setup.env.emplace_back(name);
  }
  setup.trial_dir = flags.trial_dir;
  if (!setup.trial_dir.empty() && setup.trial_dir.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--trial_dir: '", setup.trial_dir, "' is not an absolute path"));
  }
  if (setup.trial_dir.empty()) {
    setup.trial_dir = absl::StrCat(
        flags.cache_dir.empty() ? DefaultArtifactCacheDir() : flags.cache_dir,
        "/trials");
    // A relative cache directory: the evaluator's $TMPDIR fallback.
    if (setup.trial_dir.front() != '/') setup.trial_dir.clear();
  }
  setup.keep_trial_dirs = flags.keep_trial_dirs;
  return setup;
}

absl::StatusOr<WorkerDataOptions> MakeWorkerDataOptions(
    const std::string& data_root, const std::string& data_cache_dir,
    int max_table_mib) {
  WorkerDataOptions options;
  if (max_table_mib < 1 || max_table_mib > kMaxTableMibLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_table_mib: ", max_table_mib, " is not in [1, ",
                     kMaxTableMibLimit, "]"));
  }
  options.max_table_bytes = int64_t{max_table_mib} * 1024 * 1024;
  for (absl::string_view root :
       absl::StrSplit(data_root, ',', absl::SkipWhitespace())) {
    if (root.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--data_root: '", root, "' is not an absolute path"));
    }
    options.roots.emplace_back(root);
  }
  if (options.roots.empty()) {
    return absl::InvalidArgumentError("--data_root: no directory given");
  }
  if (!data_cache_dir.empty() && data_cache_dir.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--data_cache_dir: '", data_cache_dir, "' is not an absolute path"));
  }
  options.cache_dir = data_cache_dir;
  return options;
}

std::string DefaultDataCacheDir() {
  const char* nas = std::getenv("NAS_CACHE_DIR");
  if (nas != nullptr && nas[0] == '/') return absl::StrCat(nas, "/data");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    return absl::StrCat(xdg, "/nas-worker/data");
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') {
    return absl::StrCat(home, "/.cache/nas-worker/data");
  }
  return "";
}

std::string HostAndPid() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

absl::StatusOr<WorkerOptions> MakeWorkerOptions(const WorkerFlags& flags) {
  WorkerOptions options;
  options.controllers =
      absl::StrSplit(flags.controller, ',', absl::SkipWhitespace());
  if (options.controllers.empty()) {
    return absl::InvalidArgumentError("--controller: no address given");
  }
  options.worker_id = flags.id.empty() ? HostAndPid() : flags.id;
  for (absl::string_view kv :
       absl::StrSplit(flags.labels, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--labels: '", kv, "' is not key=value"));
    }
    options.labels[p.first] = p.second;
  }
  NAS_ASSIGN_OR_RETURN(const TrainerSetup trainers, MakeTrainerSetup(flags));
  for (const auto& [name, path] : trainers.trainers) {
    options.labels[TrainerLabelKey(name)] = std::string(kTrainerLabelValue);
  }
  if (flags.max_trial_seconds < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_trial_seconds: ", flags.max_trial_seconds, " is not positive"));
  }
  if (flags.abandon_grace_seconds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--abandon_grace_seconds: ", flags.abandon_grace_seconds,
                     " is not positive"));
  }
  options.max_trial = absl::Seconds(flags.max_trial_seconds);
  options.abandon_grace = absl::Seconds(flags.abandon_grace_seconds);
  options.max_trials = flags.max_trials;
  options.cache_dir = flags.cache_dir;
  options.idle_exit = absl::Seconds(flags.idle_exit_seconds);
  options.unreachable_timeout =
      absl::Seconds(flags.unreachable_timeout_seconds);
  absl::StatusOr<std::string> token = ReadToken(flags.token_file, "NAS_TOKEN");
  if (!token.ok()) return StatusWithCodeInMessage(token.status());
  options.token = *std::move(token);
  if (absl::Status s = ReadTls(flags, &options); !s.ok()) {
    return StatusWithCodeInMessage(s);
  }
  return options;
}

absl::StatusOr<SimFleetOptions> MakeSimFleetOptions(
    const SimWorkerFlags& flags) {
  if (flags.workers < 1 || flags.workers > 4096) {
    return absl::InvalidArgumentError("--workers must be in [1, 4096]");
  }
  absl::StatusOr<std::string> token = ReadToken(flags.token_file, "NAS_TOKEN");
  if (!token.ok()) return StatusWithCodeInMessage(token.status());
  SimFleetOptions fleet;
  fleet.workers = flags.workers;
  fleet.id_prefix = flags.id_prefix.empty() ? absl::StrCat("sim-", HostAndPid())
                                            : flags.id_prefix;
  fleet.eval_time = absl::Milliseconds(flags.eval_ms);
  fleet.latency_file = flags.latency_file;
  WorkerOptions& w = fleet.worker;
  w.controllers = absl::StrSplit(flags.controller, ',', absl::SkipEmpty());
  w.labels["simulated"] = "true";
  w.max_trials = flags.max_trials;
  w.idle_exit = absl::Seconds(flags.idle_exit_seconds);
  w.unreachable_timeout = absl::Seconds(flags.unreachable_timeout_seconds);
  w.token = *std::move(token);
  w.log_trials = false;
  return fleet;
}

}  // namespace nas
