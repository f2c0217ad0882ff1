// watch's progress display: the line for one experiment event, composed to
// fit the terminal's width, and a display that redraws it in place (a
// terminal) or prints one line per event (a pipe or file). The line
// composer is a pure function; ProgressDisplay is thread-safe (the watch
// loop calls Update, a ticker thread Tick).
#ifndef NAS_CLIENT_PROGRESS_H_
#define NAS_CLIENT_PROGRESS_H_

#include <functional>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nas/v1/experiment.pb.h"

namespace nas {

// The progress line of `e` at time `now` (elapsed time is measured from
// e.created_at to now, or to finished_at once it ended): a bar, trials
// done/budget (or simulated seconds), running, queued, best objective,
// Pareto-front size (`front_size` < 0: unknown), elapsed, estimated time
// left, state, then final re-trainings, what it waits for, its error.
// `width` > 0: at most width - 1 columns (a line that fills the last
// column wraps on some terminals): the bar narrows (30 down to 10
// columns), then the least important parts are left out (queued, front,
// the waiting note, running, time left, best), and the rest is cut with
// "...". width <= 0: everything, a 30-column bar.
std::string ProgressLine(const v1::Experiment& e, int front_size,
                         absl::Time now, int width);

// Shows watch's progress. On a terminal (`tty`) the line is redrawn in
// place ("\r", line, erase to end of line) and Tick redraws it with the
// current time, so the elapsed clock moves between events; otherwise each
// event is one line and Tick prints nothing.
class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool tty, std::function<absl::Time()> now,
                  std::function<int()> width);

  // An event: remembers the experiment and draws its line.
  void Update(const v1::Experiment& e, int front_size);
  // A note in place of the line (e.g. reconnecting); Tick leaves it be
  // until the next Update.
  void Note(const std::string& text);
  // Redraws the last experiment's line at the current time (a terminal and
  // an experiment shown only).
  void Tick();
  // Ends the line on a terminal (a newline), so the shell prompt starts on
  // its own line. Idempotent.
  void Finish();

 private:
  void Draw(const std::string& line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const bool tty_;
  const std::function<absl::Time()> now_;
  const std::function<int()> width_;

  absl::Mutex mu_;
  std::ostream& out_ ABSL_GUARDED_BY(mu_);
  v1::Experiment last_ ABSL_GUARDED_BY(mu_);
  int front_size_ ABSL_GUARDED_BY(mu_) = -1;
  bool shown_ ABSL_GUARDED_BY(mu_) = false;  // an experiment's line is up
  bool open_ ABSL_GUARDED_BY(mu_) = false;   // a line without newline is up
};

}  // namespace nas

#endif  // NAS_CLIENT_PROGRESS_H_
