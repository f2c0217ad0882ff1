// The evaluator a worker runs: routes each trial to the evaluator of its
// evaluation mode. Used by one thread at a time, like every Evaluator.
#ifndef NAS_WORKER_EVALUATORS_MODE_ROUTER_H_
#define NAS_WORKER_EVALUATORS_MODE_ROUTER_H_

#include <memory>

#include "worker/evaluators/evaluator.h"

namespace nas {

// Routes each trial by evaluation.mode: TABULAR to `tabular`, COMMAND to
// `command` (nullptr: a COMMAND trial fails with FailedPrecondition, this
// worker has no trainers), every other mode to `trained`; TakeModel and
// TakeSearch ask the one that ran the last trial; the artifact fetcher and the
// stop check go to all. Takes ownership of each; device() is `trained`'s.
std::unique_ptr<Evaluator> MakeModeRouter(
    std::unique_ptr<Evaluator> trained, std::unique_ptr<Evaluator> tabular,
    std::unique_ptr<Evaluator> command = nullptr);

}  // namespace nas

#endif  // NAS_WORKER_EVALUATORS_MODE_ROUTER_H_
