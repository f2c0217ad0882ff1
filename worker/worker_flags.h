// The command lines of nas-worker and nas-simworker made into
// WorkerOptions (worker_loop.h): the values of their flags as given
// (filled by each main.cc from its ABSL_FLAGs), checked and converted, the
// token and TLS files read. Functions read files and the environment
// (NAS_TOKEN) and nothing else; thread-safe.
//
// Every error's message is the whole line the binary prints after its
// name ("nas-worker: ", exit 2): the flag checks are kInvalidArgument
// naming the flag; errors of reading the token or the TLS settings keep
// their code and, as the binaries have always printed them, start with the
// code's name ("NOT_FOUND: cannot read ...").
#ifndef NAS_WORKER_WORKER_FLAGS_H_
#define NAS_WORKER_WORKER_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "worker/command/trainer_setup.h"
#include "worker/worker_loop.h"

namespace nas {

// The flags of nas-worker that make its WorkerOptions, one field per flag
// of the same name (--threads and --metrics_address stay with main).
struct WorkerFlags {
  std::string controller;  // comma-separated addresses
  std::string id;          // "" = HostAndPid()
  std::string labels;      // key=value,key=value
  int max_trials = 0;
  int idle_exit_seconds = 0;
  std::string cache_dir;
  int unreachable_timeout_seconds = 0;
  // The wall-clock limit on a trial attempt and the grace after it was
  // asked to end (WorkerOptions::max_trial, abandon_grace); each >= 1.
  int max_trial_seconds = 86400;
  int abandon_grace_seconds = 30;
  std::string token_file;  // "" = the environment's NAS_TOKEN
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // Mode COMMAND (MakeTrainerSetup).
  std::string trainer;          // NAME=PATH,NAME=PATH
  std::string trainers_config;  // YAML file: trainers: {NAME: PATH, ...}
  std::string trainer_env;      // VAR,VAR
  std::string trial_dir;        // "" = <cache_dir or its default>/trials
  bool keep_trial_dirs = false;
};

// nas-worker's options, checked in this order: --controller names at least
// one address ("--controller: no address given"); each of --labels is
// key=value with a non-empty key ("--labels: 'x' is not key=value");
// --max_trial_seconds and --abandon_grace_seconds positive
// ("--max_trial_seconds: 0 is not positive"); the
// trainers (MakeTrainerSetup), each of which adds the label
// TrainerLabelKey(NAME)=yes (common/trainers.h); the token; the TLS files
// (--tls_cert, --tls_key and --tls_server_name need --tls_ca; --tls_cert
// and --tls_key go together; each file readable). `metrics` is left unset.
absl::StatusOr<WorkerOptions> MakeWorkerOptions(const WorkerFlags& flags);

// The trainers of mode COMMAND and how they run, from --trainer (a
// comma-separated list of NAME=PATH), --trainers_config (a YAML file
// `trainers: {NAME: PATH, ...}`), --trainer_env, --trial_dir and
// --keep_trial_dirs. Each NAME must pass IsValidTrainerName and appear
// once across both ("--trainer: 'x=/p': ..." / "--trainers_config: <file>:
// ..."); each PATH must be absolute and name an existing executable
// regular file. Each --trainer_env name must look like an environment
// variable and be none of NAS_TOKEN (never passed) and the NAS_ variables
// the worker sets per trial. trial_dir defaults to <--cache_dir, else
// DefaultArtifactCacheDir()>/trials ("" when that is relative: the
// evaluator then uses $TMPDIR); a given --trial_dir must be absolute.
// InvalidArgument naming the flag and the entry.
absl::StatusOr<TrainerSetup> MakeTrainerSetup(const WorkerFlags& flags);

// The flags of nas-simworker, one field per flag of the same name.
struct SimWorkerFlags {
  std::string controller;  // comma-separated addresses
  int workers = 0;
  std::string id_prefix;  // "" = "sim-" + HostAndPid()
  int eval_ms = 0;
  int max_trials = 0;
  int idle_exit_seconds = 0;
  int unreachable_timeout_seconds = 0;
  std::string latency_file;
  std::string token_file;  // "" = the environment's NAS_TOKEN
};

// What nas-simworker runs: `workers` copies of `worker` with the ids
// id_prefix-0 .. id_prefix-(workers-1).
struct SimFleetOptions {
  int workers = 0;
  std::string id_prefix;
  // Every worker's options but worker_id and the per-worker callbacks:
  // labeled simulated=true, trials not logged.
  WorkerOptions worker;
  absl::Duration eval_time;  // of each simulated evaluation
  std::string latency_file;  // "" = no latency file
};

// nas-simworker's options, checked in this order: --workers in [1, 4096]
// ("--workers must be in [1, 4096]"); the token.
absl::StatusOr<SimFleetOptions> MakeSimFleetOptions(
    const SimWorkerFlags& flags);

// Where nas-worker may read datasets from and keeps decoded ones.
struct WorkerDataOptions {
  // --data_root: the directories (absolute, as given) that every data path
  // of a trial must lie under; see docs/SECURITY.md.
  std::vector<std::string> roots;
  // --data_cache_dir: the decode cache; "" = none (decode into memory).
  std::string cache_dir;
  // --max_table_mib in bytes: the largest benchmark table
  // (evaluation.tabular.path, which must also lie under `roots`).
  int64_t max_table_bytes = 0;
};

// The largest --max_table_mib accepted (1 TiB).
inline constexpr int kMaxTableMibLimit = 1 << 20;

// nas-worker's --data_root (comma-separated directories) and
// --data_cache_dir. Each root must be an absolute path ("--data_root: 'x'
// is not an absolute path") and at least one given ("--data_root: no
// directory given"); --data_cache_dir must be absolute or "";
// --max_table_mib in [1, kMaxTableMibLimit] ("--max_table_mib: 0 is not in
// [1, 1048576]"; default kDefaultMaxTableMib of tabular_evaluator.h).
absl::StatusOr<WorkerDataOptions> MakeWorkerDataOptions(
    const std::string& data_root, const std::string& data_cache_dir,
    int max_table_mib = 1024);

// The default of --data_root.
inline constexpr char kDefaultDataRoot[] = "/usr/share/datasets";
// The default of --data_cache_dir: $NAS_CACHE_DIR/data (when absolute),
// else $XDG_CACHE_HOME/nas-worker/data, else $HOME/.cache/nas-worker/data,
// else "" (no cache).
std::string DefaultDataCacheDir();

// "<hostname>-<pid>", the default worker id.
std::string HostAndPid();

}  // namespace nas

#endif  // NAS_WORKER_WORKER_FLAGS_H_
