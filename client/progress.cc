#include "client/progress.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli.h"
#include "client/terminal_text.h"
#include "common/objective.h"

namespace nas {
namespace {

// One part of the line: its text with its leading separator, and how long
// it stays when the line is too wide (higher stays longer).
struct Part {
  std::string text;
  int keep;
};

}  // namespace

std::string ProgressLine(const v1::Experiment& e, int front_size,
                         absl::Time now, int width) {
  const auto& n = e.counts();
  const int total = e.spec().budget().max_trials();
  const int done = n.trials_succeeded() + n.trials_failed();
  const double sim_budget = e.spec().budget().max_simulated_seconds();
  double fraction = total > 0 ? static_cast<double>(done) / total : 0;
  std::string progress = absl::StrFormat("%d/%d done", done, total);
  if (sim_budget > 0) {  // a simulated-seconds budget: show its progress
    fraction = std::max(fraction, e.simulated_seconds() / sim_budget);
    progress = absl::StrFormat("%d done, %.0f/%.0f simulated s", done,
                               e.simulated_seconds(), sim_budget);
  }
  const bool running = e.state() == v1::EXPERIMENT_RUNNING;
  if (!running && e.state() == v1::EXPERIMENT_SUCCEEDED) fraction = 1;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const absl::Time end =
      !running && e.has_finished_at() ? ToTime(e.finished_at()) : now;
  const double elapsed =
      std::max(0.0, absl::ToDoubleSeconds(end - ToTime(e.created_at())));
  std::string left = "-";
  if (!running) {
    left = "0s";
  } else if (fraction > 0 && fraction < 1) {
    left = "~" + Duration(elapsed * (1 - fraction) / fraction);
  }
  const std::string metric = ObjectiveMetricName(e.spec().objective());
  std::vector<Part> parts = {
      {progress, 100},
      {absl::StrCat(", ", n.trials_running(), " running"), 50},
      {absl::StrCat(", ", n.trials_queued(), " queued"), 10},
      {absl::StrCat(
           ", best ", metric == "val_accuracy" ? "val_acc" : metric, " ",
           e.has_best() ? absl::StrFormat(
                              "%.4f", ObjectiveMetricValue(e.spec().objective(),
                                                           e.best().metrics()))
                        : "-"),
       70},
      {absl::StrCat(", front ",
                    front_size < 0 ? "-" : absl::StrCat(front_size)),
       20},
      {absl::StrCat(", ", Duration(elapsed), " elapsed"), 90},
      {absl::StrCat(", ", left, " left"), 60},
      {absl::StrCat(", ", State(e.state())), 95},
  };
  if (n.final_trainings() > 0) {
    parts.push_back(
        {absl::StrCat(", final re-training ", n.final_trainings_done(), "/",
                      n.final_trainings(), " done"),
         40});
  }
  if (!e.waiting().empty()) parts.push_back({" [" + e.waiting() + "]", 30});
  if (!e.error().empty()) parts.push_back({" error: " + e.error(), 80});

  auto compose = [&](int bar) {
    std::string line;
    if (bar > 0) {
      const int filled = static_cast<int>(bar * fraction);
      line = absl::StrCat("[", std::string(filled, '#'),
                          std::string(bar - filled, '.'), "] ");
    }
    for (const Part& p : parts) absl::StrAppend(&line, p.text);
    return line;
  };
  constexpr int kBar = 30, kMinBar = 10;
  if (width <= 0) return compose(kBar);
  const int max = width - 1;
  while (true) {
    // The widest bar that fits next to the parts left.
    const int rest = static_cast<int>(compose(0).size()) + 3;  // "[] "
    const int bar = std::min(kBar, max - rest);
    if (bar >= kMinBar) return compose(bar);
    // Leave out the least important part that may go.
    auto least = std::min_element(
        parts.begin(), parts.end(),
        [](const Part& a, const Part& b) { return a.keep < b.keep; });
    if (least == parts.end() || least->keep >= 80) break;
    parts.erase(least);
  }
  return FitWidth(compose(0), max);
}

ProgressDisplay::ProgressDisplay(std::ostream& out, bool tty,
                                 std::function<absl::Time()> now,
                                 std::function<int()> width)
    : tty_(tty), now_(std::move(now)), width_(std::move(width)), out_(out) {}

void ProgressDisplay::Draw(const std::string& line) {
  if (tty_) {
    out_ << "\r" << line << "\033[K" << std::flush;
    open_ = true;
  } else {
    out_ << line << "\n" << std::flush;
  }
}

void ProgressDisplay::Update(const v1::Experiment& e, int front_size) {
  absl::MutexLock lock(&mu_);
  last_ = e;
  front_size_ = front_size;
  shown_ = true;
  Draw(ProgressLine(last_, front_size_, now_(), tty_ ? width_() : 0));
}

void ProgressDisplay::Note(const std::string& text) {
  absl::MutexLock lock(&mu_);
  shown_ = false;
  Draw(tty_ ? FitWidth(text, width_() - 1) : text);
}

void ProgressDisplay::Tick() {
  absl::MutexLock lock(&mu_);
  if (!tty_ || !shown_) return;
  Draw(ProgressLine(last_, front_size_, now_(), width_()));
}

void ProgressDisplay::Finish() {
  absl::MutexLock lock(&mu_);
  if (open_) out_ << "\n" << std::flush;
  open_ = false;
  shown_ = false;
}

}  // namespace nas
