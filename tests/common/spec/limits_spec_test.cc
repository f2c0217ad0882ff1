// The limits of common/spec/limits.h and the YAML reader's defences (issue
// 22): each refusal is InvalidArgument naming the field (and line), for a
// raw proto spec (CreateExperimentRequest.spec) and for YAML.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

// A valid nb201 spec as a message (PrepareSpec applies the defaults).
v1::ExperimentSpec Valid() {
  v1::ExperimentSpec spec;
  spec.set_name("ok");
  spec.mutable_search_space()->set_name("nb201");
  spec.mutable_budget()->set_max_trials(5);
  return spec;
}

TEST(SpecLimits, ValidSpecPasses) { NAS_EXPECT_OK(PrepareSpec(Valid(), "")); }

TEST(SpecLimits, FourThousandRequiredLabelsAreRefused) {
  v1::ExperimentSpec spec = Valid();
  for (int i = 0; i < 4000; ++i) {
    (*spec.mutable_required_labels())[absl::StrCat("k", i)] =
        std::string(250, 'v');
  }
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.required_labels: at most 64 labels, got 4000"));
}

TEST(SpecLimits, RequiredLabelKeysAndValuesFollowTheWorkerRules) {
  v1::ExperimentSpec spec = Valid();
  (*spec.mutable_required_labels())["gpu"] = "h100";
  (*spec.mutable_required_labels())["zone/a-1.b_2"] = "x";
  NAS_EXPECT_OK(PrepareSpec(spec, ""));

  v1::ExperimentSpec bad = Valid();
  (*bad.mutable_required_labels())["has space"] = "x";
  EXPECT_THAT(PrepareSpec(bad, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.required_labels[\"has space\"]: label names may "
                       "only contain letters, digits and _ - . /"));
  bad = Valid();
  (*bad.mutable_required_labels())[std::string(73, 'k')] = "x";
  EXPECT_THAT(PrepareSpec(bad, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "label names must be 1 to 72 bytes, got 73"));
  bad = Valid();
  (*bad.mutable_required_labels())["gpu"] = std::string(257, 'v');
  EXPECT_THAT(PrepareSpec(bad, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.required_labels[\"gpu\"]: at most 256 bytes, "
                       "got 257"));
  bad = Valid();
  (*bad.mutable_required_labels())["gpu"] = "h100\r\nfake";
  EXPECT_THAT(PrepareSpec(bad, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.required_labels[\"gpu\"]: contains a control "
                       "character U+000D at byte 4"));
}

TEST(SpecLimits, NulControlAndInvalidUtf8InRawProtoStringsNameTheField) {
  v1::ExperimentSpec spec = Valid();
  spec.set_name(std::string("a\0b", 3));
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.name: contains a NUL character at byte 1"));
  spec.set_name("\x1b[2Jfake");
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.name: contains a control character U+001B"));
  spec.set_name("a\xc2\x85");  // U+0085, a C1 control (NEL)
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.name: contains a control character U+0085"));
  spec.set_name("a\x7f");
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument, "U+007F"));
  spec.set_name("ok\xff");
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.name: contains an invalid UTF-8 byte 0xFF"));
  spec.set_name("caf\xc3\xa9 \xe6\x97\xa5");  // valid UTF-8 passes
  NAS_EXPECT_OK(PrepareSpec(spec, ""));
}

TEST(SpecLimits, NestedStringsAndListsNameTheirPath) {
  v1::ExperimentSpec spec = Valid();
  v1::DataSpec* data = spec.mutable_evaluation()->mutable_data();
  for (int i = 0; i < 5; ++i) data->add_class_names(absl::StrCat("c", i));
  data->set_class_names(3, "cat\nfake row");
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.data.class_names[3]: contains a "
                       "control character U+000A"));

  spec = Valid();
  spec.mutable_evaluation()->mutable_data()->mutable_train()->add_files(
      std::string(5000, 'f'));
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.data.train.files[0]: at most 4096 "
                       "bytes, got 5000"));

  spec = Valid();
  for (int i = 0; i < 2000; ++i) {
    spec.mutable_evaluation()->mutable_data()->add_mean(0.5);
  }
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.data.mean: at most 1024 entries, got "
                       "2000"));

  spec = Valid();
  spec.mutable_search_space()->set_name("custom");
  v1::SpaceDecision* d = spec.mutable_search_space()->add_decisions();
  d->set_name("k");
  for (int i = 0; i < 1025; ++i) d->add_choices("3");
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.search_space.decisions[0].choices: at most 1024 "
                       "entries, got 1025"));

  spec = Valid();
  (*spec.mutable_evaluation()
        ->mutable_command()
        ->mutable_parameters())["lr\x1b"] = "0.1";
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.command.parameters (a key): contains "
                       "a control character U+001B"));
}

TEST(SpecLimits, PerClassListsMayHoldAsManyEntriesAsClasses) {
  v1::ExperimentSpec spec = Valid();
  for (int i = 0; i < 5000; ++i) {
    spec.mutable_evaluation()->mutable_data()->add_class_names(absl::StrCat(i));
  }
  FieldErrorList errors;
  CheckSpecLimits(spec, &errors);
  EXPECT_TRUE(errors.errors().empty())
      << ErrorsToStatus(errors.errors()).message();
  for (int i = 0; i < 10001; ++i) {
    spec.mutable_evaluation()->add_class_weights(1);
  }
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.evaluation.class_weights: at most 10000 entries, "
                       "got 10001"));
}

TEST(SpecLimits, WhatDefaultsBuildObeysTheLimitsToo) {
  // data_dir is within 4096 bytes; the preset's file paths built from it
  // are not. A spec accepted as YAML must be accepted as a message too.
  EXPECT_THAT(
      PrepareSpec({}, absl::StrCat("name: d\nsearch_space: {name: nb201}\n"
                                   "budget: {max_trials: 1}\nevaluation: "
                                   "{dataset: fashion_mnist, data_dir: /",
                                   std::string(4080, 'd'), "}\n")),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.evaluation.data.train.images (line 4): at most 4096 "
               "bytes, got 4108"));
}

TEST(SpecLimits, SerializedSizeIsBounded) {
  v1::ExperimentSpec spec = Valid();
  for (int i = 0; i < 1000; ++i) {  // each entry within the limits
    spec.mutable_evaluation()->mutable_data()->add_class_names(
        std::string(100, 'c'));
  }
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument, "spec: the spec is 10"));
  EXPECT_THAT(PrepareSpec(spec, ""),
              StatusIs(StatusCode::kInvalidArgument,
                       "bytes serialized, more than the 65536 allowed"));
}

TEST(SpecLimits, YamlAliasFanOutIsRefusedByItsNodeCount) {
  const std::string yaml = testing::AliasBombYaml(1000);
  EXPECT_LT(yaml.size(), 12000u);
  EXPECT_THAT(ParseSpecYaml(yaml),
              StatusIs(StatusCode::kInvalidArgument,
                       "more than 100000 YAML nodes once aliases are "
                       "expanded"));
  EXPECT_THAT(PrepareSpec({}, yaml),
              StatusIs(StatusCode::kInvalidArgument, "spec_yaml: line "));
}

TEST(SpecLimits, YamlAliasOfALongStringIsRefusedByItsExpandedBytes) {
  // 64 uses of one 100,000-byte string: 6.4 MB once expanded. The line
  // named is the aliased value's (yaml-cpp shares the node).
  std::string yaml = absl::StrCat(
      "name: s\nsearch_space:\n  name: custom\n  decisions:\n"
      "  - {name: k, choices: [&s ",
      std::string(100000, 'x'), "]}\n  - {name: j, choices: [");
  for (int i = 0; i < 64; ++i) yaml += i ? ", *s" : "*s";
  yaml += "]}\n";
  EXPECT_THAT(ParseSpecYaml(yaml),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec_yaml: line 5: more than 1048576 bytes of YAML "
                       "values once aliases are expanded"));
}

TEST(SpecLimits, YamlListsAreBounded) {
  std::string choices;
  for (int i = 0; i < 1025; ++i) absl::StrAppend(&choices, i ? "," : "", i);
  EXPECT_THAT(
      ParseSpecYaml(absl::StrCat("name: x\nsearch_space:\n  name: custom\n"
                                 "  decisions:\n  - {name: k, choices: [",
                                 choices, "]}\n")),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.search_space.decisions[0].choices (line 5): at most "
               "1024 entries, got 1025"));
}

TEST(SpecLimits, YamlDuplicateKeysNameTheKeyAndBothLines) {
  EXPECT_THAT(ParseSpecYaml("name: a\nsearch_space: {name: nb201}\nname: b\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.name (line 3): duplicate key 'name' (lines 1 "
                       "and 3)"));
  EXPECT_THAT(
      ParseSpecYaml("name: a\nbudget:\n  max_trials: 5\n  max_trials: 9\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.budget.max_trials (line 4): duplicate key 'max_trials' "
               "(lines 3 and 4)"));
  EXPECT_THAT(ParseSpecYaml("name: a\nrequired_labels:\n  gpu: a100\n"
                            "  zone: x\n  gpu: h100\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "duplicate key 'gpu' (lines 3 and 5)"));
}

TEST(SpecLimits, YamlTextWithNulControlOrInvalidUtf8NamesTheLine) {
  constexpr char kNul[] = "name: a\nbudget: {}\nx: \0\n";
  EXPECT_THAT(ParseSpecYaml(std::string(kNul, sizeof(kNul) - 1)),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec_yaml: line 3: contains a NUL character"));
  EXPECT_THAT(ParseSpecYaml("search_space: {name: nb201}\nname: \x1b[2J\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec_yaml: line 2: contains a control character "
                       "U+001B"));
  EXPECT_THAT(
      ParseSpecYaml("name: caf\xe9\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec_yaml: line 1: contains an invalid UTF-8 byte 0xE9"));
  // Tabs, CR LF line ends and valid UTF-8 are fine.
  NAS_EXPECT_OK(ParseSpecYaml("name: \"caf\xc3\xa9\t1\"\r\nbudget: {}\r\n"));
}

TEST(SpecLimits, YamlEscapesThatMakeControlCharactersNameTheFieldAndLine) {
  // Double-quoted YAML escapes make control characters the text scan
  // cannot see; the limits see them in the proto.
  EXPECT_THAT(
      PrepareSpec({}, "search_space: {name: nb201}\nname: \"a\\e[2Jb\"\n"),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.name (line 2): contains a control character U+001B"));
  EXPECT_THAT(PrepareSpec({},
                          "search_space: {name: nb201}\n"
                          "name: \"a\\0b\"\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "spec.name (line 2): contains a NUL character"));
}

TEST(SpecLimits, ErrorMessagesEscapeTheTextTheyEcho) {
  absl::StatusOr<ParsedSpec> p = ParseSpecYaml("\"bad\\e[2J\": 1\n");
  EXPECT_THAT(p, StatusIs(StatusCode::kInvalidArgument,
                          "spec.bad\\x1b[2J (line 1): unknown field"));
  EXPECT_EQ(p.status().message().find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace nas
