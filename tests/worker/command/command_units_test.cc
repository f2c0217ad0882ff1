// The pieces of mode COMMAND without processes: line splitting, the stderr
// tail, report lines, typed parameters, the trainer's environment.
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/command/handover.h"
#include "worker/command/line_buffers.h"
#include "worker/command/reports.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

TEST(LineSplitterTest, SplitsAcrossChunksAndFlagsLongLines) {
  LineSplitter s(8);
  std::vector<std::pair<std::string, bool>> lines;
  auto on = [&](absl::string_view l, bool too_long) {
    lines.emplace_back(std::string(l), too_long);
  };
  s.Append("ab", on);
  s.Append("c\nde", on);
  s.Append("f\n0123456789abc", on);
  s.Append("def\nok\ntail", on);
  s.Finish(on);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], std::make_pair(std::string("abc"), false));
  EXPECT_EQ(lines[1], std::make_pair(std::string("def"), false));
  EXPECT_EQ(lines[2], std::make_pair(std::string("01234567"), true));
  EXPECT_EQ(lines[3], std::make_pair(std::string("ok"), false));
  EXPECT_EQ(lines[4], std::make_pair(std::string("tail"), false));
}

TEST(TailBufferTest, KeepsTheLastLinesWithinBounds) {
  TailBuffer t(3, 20);
  t.Append("one\ntwo\nthree\nfour\nfi");
  t.Append("ve");
  EXPECT_EQ(t.Tail(), "three\nfour\nfive");
  TailBuffer bytes(20, 10);
  bytes.Append("aaaa\nbbbb\ncccc\n");
  EXPECT_EQ(bytes.Tail(), "bbbb\ncccc");
  TailBuffer huge(5, 6);
  huge.Append(std::string(100, 'x') + "END\n");
  EXPECT_EQ(huge.Tail(), "xxxEND");
  EXPECT_EQ(TailBuffer(3, 10).Tail(), "");
}

TEST(ReportReaderTest, EpochAndFinalLines) {
  ReportReader r("val_top2", /*final_training=*/false);
  auto p = r.Line(
      R"({"epoch": 1, "loss": 0.5, "val_top2": 0.8, "val_accuracy": 0.6})",
      1.5);
  NAS_ASSERT_OK(p);
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->epoch, 1);
  EXPECT_DOUBLE_EQ((*p)->train_loss, 0.5);
  EXPECT_DOUBLE_EQ((*p)->val_accuracy, 0.8);
  EXPECT_DOUBLE_EQ((*p)->seconds, 1.5);
  NAS_ASSERT_OK(r.Line("   ", 2));  // blank: skipped
  EXPECT_THAT(r.Result(false),
              StatusIs(absl::StatusCode::kFailedPrecondition, "no final line"));
  auto stopped = r.Result(true);
  NAS_ASSERT_OK(stopped);
  EXPECT_EQ(stopped->epochs(), 1);
  EXPECT_DOUBLE_EQ(stopped->val_accuracy(), 0.6);
  EXPECT_DOUBLE_EQ(stopped->named_metrics().at("val_top2"), 0.8);
  EXPECT_THAT(r.Line(R"({"final": true, "val_accuracy": 0.7})", 3),
              StatusIs(absl::StatusCode::kInvalidArgument, "no 'val_top2'"));
  NAS_ASSERT_OK(r.Line(
      R"({"final": true, "val_top2": 0.9, "val_accuracy": 0.7, "macs": 100, "params": 7, "val_class_recall": [0.5, 1], "train_loss": 0.1})",
      3));
  auto m = r.Result(false);
  NAS_ASSERT_OK(m);
  EXPECT_EQ(m->epochs(), 1);  // the last epoch line's
  EXPECT_EQ(m->macs(), 100);
  EXPECT_EQ(m->params(), 7);
  EXPECT_EQ(m->val_class_recall_size(), 2);
  EXPECT_DOUBLE_EQ(m->train_loss(), 0.1);
  EXPECT_DOUBLE_EQ(m->named_metrics().at("val_top2"), 0.9);
  EXPECT_EQ(m->named_metrics().size(), 1u);
}

TEST(ReportReaderTest, RefusesBadLines) {
  ReportReader r("", false);
  EXPECT_THAT(r.Line("{\"final\": false, \"val_accuracy\": 1}", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "'final' must be"));
  EXPECT_THAT(
      r.Line("{\"val_accuracy\": 1}", 0),
      StatusIs(absl::StatusCode::kInvalidArgument, "neither an epoch line"));
  EXPECT_THAT(r.Line("{\"epoch\": 1.5, \"val_accuracy\": 1}", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "whole number"));
  EXPECT_THAT(r.Line("{\"epoch\": 1, \"val_accuracy\": 1, \"macs\": -1}", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "'macs'"));
  EXPECT_THAT(
      r.Line("nonsense", 0),
      StatusIs(absl::StatusCode::kInvalidArgument, "not a JSON object"));
  // A final training needs no progress metric.
  ReportReader f("", true);
  NAS_ASSERT_OK(f.Line("{\"epoch\": 1, \"loss\": 2}", 0));
  NAS_ASSERT_OK(f.Line("{\"final\": true, \"test_accuracy\": 0.5}", 0));
}

TEST(HandoverTest, TypedParameters) {
  EXPECT_EQ(TypedParameter("3").number_value(), 3);
  EXPECT_EQ(TypedParameter("-0.5e-2").number_value(), -0.005);
  EXPECT_TRUE(TypedParameter("true").bool_value());
  EXPECT_EQ(TypedParameter("false").kind_case(),
            google::protobuf::Value::kBoolValue);
  for (const char* s : {"adam", "0x10", "1.", ".5", "nan", "inf", " 3", "1e",
                        "", "True", "01a"}) {
    EXPECT_EQ(TypedParameter(s).string_value(), s) << s;
  }
}

TEST(HandoverTest, EnvironmentHasOnlyWhatIsAllowed) {
  const std::map<std::string, std::string> worker_env = {
      {"PATH", "/usr/bin"}, {"HOME", "/home/w"}, {"NAS_TOKEN", "secret"},
      {"AWS_SECRET", "x"},  {"MY_VAR", "mine"},  {"CUDA_VISIBLE_DEVICES", "1"}};
  auto lookup = [&](const char* name) -> const char* {
    auto it = worker_env.find(name);
    return it == worker_env.end() ? nullptr : it->second.c_str();
  };
  const std::vector<std::string> env =
      TrainerEnvironment({"MY_VAR", "NAS_TOKEN"}, 4,
                         {{"NAS_TRIAL_FILE", "/t/trial.json"}}, lookup);
  EXPECT_EQ(env, (std::vector<std::string>{
                     "CUDA_VISIBLE_DEVICES=1", "HOME=/home/w", "MY_VAR=mine",
                     "NAS_TRIAL_FILE=/t/trial.json", "OMP_NUM_THREADS=4",
                     "PATH=/usr/bin"}));
}

}  // namespace
}  // namespace nas
