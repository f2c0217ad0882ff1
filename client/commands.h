// nasctl's commands, one factory per command (its flags, help and run
// function; see client/cli.h), and the few calls several commands share.
// nasctl.cc puts the factories' entries in its command table.
#ifndef NAS_CLIENT_COMMANDS_H_
#define NAS_CLIENT_COMMANDS_H_

#include <cstdint>
#include <vector>

#include "client/cli.h"

namespace nas {

// The command table (nasctl.cc), in `nasctl --help` order.
const std::vector<Command>& NasctlCommands();

// commands_experiment.cc
Command SubmitCommand();
Command ListCommand();
Command ShowCommand();
Command StopCommand();
Command ExtendCommand();
Command ResumeCommand();
// commands_watch.cc
Command WatchCommand();
// Follows experiment positional[0] until it ends (submit --watch too).
int RunWatch(Ctx& c);
// commands_candidates.cc
Command CandidatesCommand();
Command ParetoCommand();
Command ExportCommand();
// commands_analysis.cc
Command CurveCommand();
Command CurvesCommand();
Command SearchesCommand();
Command ProxiesCommand();

// Every candidate of experiment `id` in `state` (all pages).
grpc::Status ListAll(Ctx& c, int64_t id, v1::CandidateState state,
                     std::vector<v1::Candidate>* out);
// Experiment `id` and all its evaluated candidates.
grpc::Status GetEvaluated(Ctx& c, int64_t id, v1::Experiment* e,
                          std::vector<v1::Candidate>* all);

}  // namespace nas

#endif  // NAS_CLIENT_COMMANDS_H_
