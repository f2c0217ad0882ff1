// watch's progress line (client/progress.h): composed to fit widths 40, 80
// and 200 without wrapping, everything shown when there is room, and a
// display whose clock ticks between events on a terminal only (the clock
// is injected).
#include "client/progress.h"

#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/cli.h"
#include "client/terminal_text.h"
#include "gtest/gtest.h"

namespace nas {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

v1::Experiment Running() {
  v1::Experiment e;
  e.set_id(3);
  e.set_state(v1::EXPERIMENT_RUNNING);
  e.mutable_created_at()->set_seconds(absl::ToUnixSeconds(kStart));
  e.mutable_spec()->mutable_budget()->set_max_trials(40);
  auto& n = *e.mutable_counts();
  n.set_trials_succeeded(9);
  n.set_trials_failed(1);
  n.set_trials_running(4);
  n.set_trials_queued(12);
  e.mutable_best()->mutable_metrics()->set_val_accuracy(0.9123);
  e.set_waiting("2 queued trials wait for a worker with labels gpu=h100");
  return e;
}

int Columns(const std::string& s) {
  int n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

TEST(ProgressLine, FitsEachWidthAndKeepsWhatMattersMost) {
  const v1::Experiment e = Running();
  const absl::Time now = kStart + absl::Seconds(100);
  const std::string full = ProgressLine(e, 5, now, 0);
  EXPECT_EQ(full,
            "[#######.......................] 10/40 done, 4 running, 12 "
            "queued, best val_acc 0.9123, front 5, 1m40s elapsed, ~5m00s "
            "left, RUNNING [2 queued trials wait for a worker with labels "
            "gpu=h100]");
  const std::string at200 = ProgressLine(e, 5, now, 200);
  EXPECT_EQ(at200, full);  // room for everything
  EXPECT_LT(Columns(at200), 200);

  const std::string at80 = ProgressLine(e, 5, now, 80);
  EXPECT_LT(Columns(at80), 80) << at80;
  EXPECT_TRUE(absl::StartsWith(at80, "[")) << at80;  // a (narrower) bar
  for (const char* kept :
       {"10/40 done", "best val_acc 0.9123", "1m40s elapsed", "RUNNING"}) {
    EXPECT_TRUE(absl::StrContains(at80, kept)) << kept << ": " << at80;
  }
  EXPECT_FALSE(absl::StrContains(at80, "queued")) << at80;  // left out first

  const std::string at40 = ProgressLine(e, 5, now, 40);
  EXPECT_LT(Columns(at40), 40) << at40;
  EXPECT_TRUE(absl::StrContains(at40, "10/40 done")) << at40;
  EXPECT_TRUE(absl::StrContains(at40, "elapsed")) << at40;

  // An error is kept and cut, never wrapped.
  v1::Experiment failed = e;
  failed.set_state(v1::EXPERIMENT_FAILED);
  failed.set_error(std::string(300, 'e'));
  for (int width : {40, 80, 200}) {
    const std::string line = ProgressLine(failed, 5, now, width);
    EXPECT_EQ(Columns(line), width - 1) << line;
    EXPECT_TRUE(absl::EndsWith(line, "...")) << line;
  }
}

TEST(ProgressLine, ElapsedIsMeasuredToNowWhileRunningAndToTheEndAfter) {
  v1::Experiment e = Running();
  EXPECT_TRUE(absl::StrContains(
      ProgressLine(e, -1, kStart + absl::Seconds(7), 0), "7s elapsed"));
  EXPECT_TRUE(absl::StrContains(
      ProgressLine(e, -1, kStart + absl::Seconds(8), 0), "8s elapsed"));
  e.set_state(v1::EXPERIMENT_SUCCEEDED);
  e.mutable_finished_at()->set_seconds(absl::ToUnixSeconds(kStart) + 30);
  EXPECT_TRUE(absl::StrContains(ProgressLine(e, -1, kStart + absl::Hours(5), 0),
                                "30s elapsed, 0s left"));
}

TEST(ProgressDisplay, TicksBetweenEventsOnATerminal) {
  absl::Time now = kStart + absl::Seconds(10);
  std::ostringstream out;
  ProgressDisplay display(
      out, /*tty=*/true, [&] { return now; }, [] { return 80; });
  display.Tick();  // nothing shown yet: nothing to redraw
  EXPECT_EQ(out.str(), "");
  display.Update(Running(), 5);
  EXPECT_TRUE(absl::StartsWith(out.str(), "\r[")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "10s elapsed\033[K") ||
              absl::StrContains(out.str(), "10s elapsed,"))
      << out.str();
  now += absl::Seconds(1);
  display.Tick();  // no event, the clock moved
  EXPECT_TRUE(absl::StrContains(out.str(), "11s elapsed")) << out.str();
  now += absl::Seconds(1);
  display.Tick();
  EXPECT_TRUE(absl::StrContains(out.str(), "12s elapsed")) << out.str();
  EXPECT_EQ(out.str().find('\n'), std::string::npos);  // redrawn in place
  for (absl::string_view line : absl::StrSplit(out.str(), '\r')) {
    EXPECT_LT(Columns(std::string(line.substr(
                  0, line.size() - (absl::EndsWith(line, "\033[K") ? 3 : 0)))),
              80)
        << line;
  }
  display.Note("[reconnecting to the controller: gone]");
  const size_t before = out.str().size();
  now += absl::Seconds(1);
  display.Tick();  // a note stays until the next event
  EXPECT_EQ(out.str().size(), before);
  display.Finish();
  EXPECT_TRUE(absl::EndsWith(out.str(), "\n"));
}

TEST(ProgressDisplay, NotATerminalPrintsOneFullLinePerEventAndNoTicks) {
  absl::Time now = kStart + absl::Seconds(10);
  std::ostringstream out;
  ProgressDisplay display(
      out, /*tty=*/false, [&] { return now; }, [] { return 40; });
  display.Update(Running(), 5);
  now += absl::Seconds(5);
  display.Tick();
  display.Tick();
  display.Update(Running(), 6);
  display.Finish();
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out.str();
  EXPECT_EQ(lines[0],
            ProgressLine(Running(), 5, kStart + absl::Seconds(10), 0));
  EXPECT_TRUE(absl::StrContains(lines[1], "front 6, 15s elapsed")) << lines[1];
}

TEST(FitWidth, CutsByColumnsNotBytes) {
  EXPECT_EQ(FitWidth("short", 10), "short");
  EXPECT_EQ(FitWidth("0123456789abc", 10), "0123456...");
  EXPECT_EQ(FitWidth("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4),
            "\xc3\xa9...");
}

TEST(WrapText, BreaksAtWordsWithinTheWidth) {
  EXPECT_EQ(WrapText("aa bb cc dd", 0, 2, 5), "aa bb\n  cc\n  dd");
  EXPECT_EQ(WrapText("one", 10, 10, 12), "one");
}

}  // namespace
}  // namespace nas
