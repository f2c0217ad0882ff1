// The trainers a worker's operator allowed and how they run (nas-worker's
// --trainer, --trainers_config, --trainer_env, --trial_dir,
// --keep_trial_dirs, checked by MakeTrainerSetup in worker/worker_flags.h).
// A plain struct.
#ifndef NAS_WORKER_COMMAND_TRAINER_SETUP_H_
#define NAS_WORKER_COMMAND_TRAINER_SETUP_H_

#include <map>
#include <string>
#include <vector>

namespace nas {

struct TrainerSetup {
  // Trainer name -> absolute path of an executable regular file. Empty: the
  // worker runs no COMMAND trials.
  std::map<std::string, std::string> trainers;
  // Further environment variables passed to trainers when set (beyond
  // worker/command/handover.h's PassedEnvironmentNames()).
  std::vector<std::string> env;
  // Parent of the trials' output directories; "" = a directory under
  // $TMPDIR (or /tmp). Made (0700) on first use; when that fails the
  // $TMPDIR one is used instead.
  std::string trial_dir;
  // Keep each trial's output directory after its evaluation (debugging).
  bool keep_trial_dirs = false;
};

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_TRAINER_SETUP_H_
