// nasctl watch: follows an experiment until it ends, with a progress line
// that fits the terminal and whose clock ticks between events.
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/commands.h"
#include "client/progress.h"
#include "client/terminal_text.h"
#include "common/text.h"

namespace nas {

// A stream that breaks after it was established (the controller
// restarted, or a standby took over) is opened again, for up to
// kReconnectFor; an unreachable controller at the start fails at once
// (exit 3).
int RunWatch(Ctx& c) {
  constexpr absl::Duration kReconnectFor = absl::Seconds(60);
  int64_t id;
  if (!ParseId(c, &id)) return kExitUsage;
  const bool tty = c.tty && !c.json;
  // Read again at each redraw: the terminal may be resized while watching.
  ProgressDisplay display(
      c.out, tty, [] { return absl::Now(); },
      [] { return TerminalWidth(STDOUT_FILENO); });
  // On a terminal the clock moves once a second between events.
  absl::Notification done;
  std::thread ticker;
  if (tty) {
    ticker = std::thread([&] {
      while (!done.WaitForNotificationWithTimeout(absl::Seconds(1))) {
        display.Tick();
      }
    });
  }
  // Stops the ticker and ends the line, before any error is printed.
  auto finish = [&] {
    done.Notify();
    if (ticker.joinable()) ticker.join();
    display.Finish();
  };
  v1::WatchExperimentRequest req;
  req.set_id(id);
  v1::ExperimentEvent ev;
  v1::Experiment last;
  bool connected = false;  // a stream delivered at least one event
  absl::Time broken_since = absl::InfiniteFuture();  // of this outage
  int front_size = -1, front_at = -1;  // front size, and at how many results
  while (true) {
    std::unique_ptr<grpc::ClientContext> ctx = c.Context(0);  // no deadline
    std::unique_ptr<grpc::ClientReader<v1::ExperimentEvent>> reader =
        c.stub->WatchExperiment(ctx.get(), req);
    while (reader->Read(&ev)) {
      connected = true;
      broken_since = absl::InfiniteFuture();
      last = ev.experiment();
      if (c.json) {
        PrintJson(c, ev, /*one_line=*/true);
        c.out << std::flush;
        continue;
      }
      MakePrintable(&last);
      if (last.counts().trials_succeeded() != front_at) {
        v1::GetParetoFrontRequest preq;
        preq.set_experiment_id(id);
        v1::GetParetoFrontResponse front;
        if (c.stub->GetParetoFront(c.Context(10).get(), preq, &front).ok()) {
          front_size = front.front_size();
          front_at = last.counts().trials_succeeded();
        }
      }
      display.Update(last, front_size);
    }
    grpc::Status s = reader->Finish();
    if (s.ok()) break;
    const bool transient = s.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (!connected || !transient) {
      finish();
      return Fail(c, s);
    }
    const absl::Time now = absl::Now();
    if (broken_since == absl::InfiniteFuture()) broken_since = now;
    if (now - broken_since > kReconnectFor) {
      finish();
      return Fail(c, s);
    }
    if (!c.json) {
      display.Note(absl::StrCat("[reconnecting to the controller: ",
                                Printable(s.error_message().substr(0, 120)),
                                "]"));
    }
    absl::SleepFor(absl::Seconds(1));
    // A fresh channel, to the next address when there are several (a
    // standby taking over).
    c.conn.Next();
    c.stub = v1::ExperimentService::NewStub(c.conn.channel);
  }
  finish();
  return last.state() == v1::EXPERIMENT_FAILED ? kExitError : kExitOk;
}

Command WatchCommand() {
  Command c;
  c.name = "watch";
  c.args = "ID";
  c.summary = "follow an experiment until it ends: a live progress line";
  c.details =
      "Trials done/budget, running, queued, best val_acc (or "
      "objective.metric),\nPareto-front size, elapsed and remaining time. On "
      "a terminal the line is\nredrawn in place, fits its width and its "
      "clock ticks every second; piped,\none line per event. -o json: one "
      "ExperimentEvent per line. Reconnects if\nthe controller restarts. "
      "Exit 1 when the experiment ends FAILED.";
  c.examples = {"nasctl watch 7",
                "nasctl watch 7 -o json | jq .experiment.state"};
  c.min_args = 1;
  c.max_args = 1;
  c.run = RunWatch;
  return c;
}

}  // namespace nas
