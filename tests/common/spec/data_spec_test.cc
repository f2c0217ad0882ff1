// evaluation.data: the preset's defaults, the user's data with its
// defaults, every validation error with its field path, DatasetShape, and
// objective.metric over the class-balanced metrics.
#include <regex>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/spaces/search_space.h"
#include "common/spec/spec.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using absl::StatusCode;
using ::nas::testing::StatusIs;

constexpr char kHead[] = R"(
name: data-test
search_space:
  name: nb201
  nb201:
    channels: 8
    cells_per_stage: 1
budget:
  max_trials: 8
)";

// A spec whose evaluation is `evaluation` (YAML lines indented by 2) and
// whose objective is `objective`.
std::string Spec(const std::string& evaluation,
                 const std::string& objective = "") {
  return absl::StrCat(kHead, objective.empty() ? "" : "objective:\n", objective,
                      "evaluation:\n", evaluation);
}

constexpr char kFolder[] = R"(  data:
    format: image_folder
    train: {dir: /data/parts/train}
    test: {dir: /data/parts/test}
    height: 32
    width: 32
    channels: 3
    classes: 7
    class_names: [a, b, c, defect, e, f, g]
)";

TEST(DataSpec, PresetFillsDataAndKeepsItsDefaults) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, Spec("  epochs: 1\n"));
  NAS_ASSERT_OK(spec);
  const v1::EvaluationSpec& e = spec->evaluation();
  EXPECT_EQ(e.dataset(), "fashion_mnist");
  EXPECT_EQ(e.data_dir(), "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(e.val_samples(), 10000);
  const v1::DataSpec& d = e.data();
  EXPECT_EQ(d.format(), "idx");
  EXPECT_EQ(d.train().images(),
            "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  EXPECT_EQ(d.train().labels(),
            "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
  EXPECT_EQ(d.test().images(),
            "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(d.test().labels(),
            "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(d.height(), 28);
  EXPECT_EQ(d.width(), 28);
  EXPECT_EQ(d.channels(), 1);
  EXPECT_EQ(d.classes(), 10);
  ASSERT_EQ(d.class_names_size(), 10);
  EXPECT_EQ(d.class_names(0), "T-shirt/top");
  EXPECT_EQ(d.class_names(9), "Ankle boot");
  EXPECT_EQ(d.normalization(), "explicit");
  ASSERT_EQ(d.mean_size(), 1);
  EXPECT_DOUBLE_EQ(d.mean(0), 0.2860);
  EXPECT_DOUBLE_EQ(d.std(0), 0.3530);
  EXPECT_EQ(d.validation_fraction(), 0);
  EXPECT_EQ(e.class_weighting(), "none");
  EXPECT_EQ(e.progress_metric(), "val_accuracy");
  // Preparing the prepared message again changes nothing.
  absl::StatusOr<v1::ExperimentSpec> again = PrepareSpec(*spec, "");
  NAS_ASSERT_OK(again);
  EXPECT_EQ(again->SerializeAsString(), spec->SerializeAsString());
}

TEST(DataSpec, PresetDataDirMovesTheFiles) {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, Spec("  dataset: fashion_mnist\n  data_dir: /srv/fm\n"));
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->evaluation().data().test().labels(),
            "/srv/fm/t10k-labels-idx1-ubyte.gz");
}

TEST(DataSpec, UserDataDefaults) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, Spec(kFolder));
  NAS_ASSERT_OK(spec);
  const v1::EvaluationSpec& e = spec->evaluation();
  EXPECT_EQ(e.dataset(), "");
  EXPECT_EQ(e.data_dir(), "");
  EXPECT_EQ(e.val_samples(), 0);
  EXPECT_EQ(e.data().normalization(), "auto");
  EXPECT_DOUBLE_EQ(e.data().validation_fraction(), 0.1);
  EXPECT_EQ(e.class_weighting(), "none");
  EXPECT_EQ(e.progress_metric(), "val_accuracy");
  absl::StatusOr<v1::ExperimentSpec> again = PrepareSpec(*spec, "");
  NAS_ASSERT_OK(again);
  EXPECT_EQ(again->SerializeAsString(), spec->SerializeAsString());
}

TEST(DataSpec, ImpliedExplicitAndNoFractionWithOwnValidation) {
  const std::string ev =
      absl::StrCat(kFolder, R"(    validation: {dir: /data/parts/val}
    mean: [0.5, 0.4, 0.3]
    std: [0.2]
  class_weights: [1, 1, 1, 5, 1, 1, 1]
)");
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, Spec(ev));
  NAS_ASSERT_OK(spec);
  EXPECT_EQ(spec->evaluation().data().normalization(), "explicit");
  EXPECT_EQ(spec->evaluation().data().validation_fraction(), 0);
  EXPECT_EQ(spec->evaluation().class_weighting(), "explicit");
  // val_samples as a count instead of the fraction.
  absl::StatusOr<v1::ExperimentSpec> counted =
      PrepareSpec({}, Spec(absl::StrCat(kFolder, "  val_samples: 500\n")));
  NAS_ASSERT_OK(counted);
  EXPECT_EQ(counted->evaluation().data().validation_fraction(), 0);
}

// PrepareSpec refuses the spec of `evaluation` (and `objective`) with
// InvalidArgument containing `substring`, YAML lines left out of the
// message (ErrorsNameTheirLines checks them).
void ExpectError(const std::string& evaluation, const std::string& substring,
                 const std::string& objective = "") {
  absl::StatusOr<v1::ExperimentSpec> spec =
      PrepareSpec({}, Spec(evaluation, objective));
  ASSERT_EQ(spec.status().code(), StatusCode::kInvalidArgument) << evaluation;
  const std::string message = std::regex_replace(
      std::string(spec.status().message()), std::regex(R"( \(line \d+\))"), "");
  EXPECT_NE(message.find(substring), std::string::npos)
      << "expected \"" << substring << "\" in: " << message;
}

// PrepareSpec's error contains `substring`, lines included.
void ExpectErrorWithLine(const std::string& evaluation,
                         const std::string& substring,
                         const std::string& objective = "") {
  EXPECT_THAT(PrepareSpec({}, Spec(evaluation, objective)),
              StatusIs(StatusCode::kInvalidArgument, substring));
}

// kFolder with `line` (indented by 4) replacing the line that starts with
// the same key, or appended.
std::string Folder(const std::string& line) {
  std::string out;
  const std::string key = line.substr(0, line.find(':'));
  bool replaced = false;
  for (absl::string_view l : absl::StrSplit(kFolder, '\n')) {
    if (l.empty()) continue;
    if (absl::StartsWith(l, absl::StrCat("    ", key, ":"))) {
      absl::StrAppend(&out, "    ", line, "\n");
      replaced = true;
    } else {
      absl::StrAppend(&out, l, "\n");
    }
  }
  if (!replaced) absl::StrAppend(&out, "    ", line, "\n");
  return out;
}

TEST(DataSpec, FormatAndSources) {
  ExpectError(Folder("format: tiff"),
              "spec.evaluation.data.format: unknown format 'tiff'; "
              "one of idx, cifar10, cifar100, npy, image_folder");
  ExpectError("  data: {height: 28}\n", "spec.evaluation.data.format");
  ExpectError(Folder("format: idx"),
              "spec.evaluation.data.train.images: required for "
              "format idx");
  ExpectError(Folder("format: idx"), "spec.evaluation.data.test.labels");
  ExpectError(Folder("format: idx"),
              "spec.evaluation.data.train.dir: not used by format "
              "idx (it reads images and labels)");
  ExpectError(Folder("format: cifar10"),
              "spec.evaluation.data.train.files: required for "
              "format cifar10");
  ExpectError(Folder("format: npy"), "spec.evaluation.data.train.labels");
  ExpectError(Folder("train: {}"),
              "spec.evaluation.data.train.dir: required for format "
              "image_folder");
  ExpectError(Folder("validation: {images: /v.npy}"),
              "spec.evaluation.data.validation.dir");
  ExpectError(Folder("validation: {images: /v.npy}"),
              "spec.evaluation.data.validation.images: not used");
  ExpectError(Folder("train: {dir: parts/train}"),
              "spec.evaluation.data.train.dir: must be an absolute "
              "path");
  ExpectError(
      Folder(absl::StrCat("train: {dir: /", std::string(4096, 'a'), "}")),
      "spec.evaluation.data.train.dir: at most 4096 bytes");
}

TEST(DataSpec, ErrorsNameTheirLines) {
  ExpectErrorWithLine(Folder("format: tiff"),
                      "spec.evaluation.data.format (line 12)");
  ExpectErrorWithLine(Folder("train: {dir: parts/train}"),
                      "spec.evaluation.data.train.dir (line 13)");
  ExpectErrorWithLine(Folder("class_names: [a, b, c, a, e, f, g]"),
                      "spec.evaluation.data.class_names[3] (line 19)");
  ExpectErrorWithLine(kFolder, "spec.objective.metric (line 11)",
                      "  metric: val_recall:cat\n");
}

TEST(DataSpec, CifarFiles) {
  const std::string cifar = R"(  data:
    format: cifar10
    train: {files: [/c/data_batch_1.bin, c/data_batch_2.bin]}
    test: {files: [/c/test_batch.bin]}
    height: 32
    width: 32
    channels: 3
    classes: 10
)";
  ExpectError(cifar, "spec.evaluation.data.train.files[1]");
  std::string many = "[";
  for (int i = 0; i < 1001; ++i) absl::StrAppend(&many, i ? ", " : "", "/f");
  many += "]";
  std::string too_many = cifar;
  too_many.replace(too_many.find("[/c/data_batch_1.bin, c/data_batch_2.bin]"),
                   41, many);
  ExpectError(too_many,
              "spec.evaluation.data.train.files: at most 1000 files, got 1001");
}

TEST(DataSpec, ShapeClassesAndNames) {
  ExpectError(Folder("height: 0"),
              "spec.evaluation.data.height: "
              "must be in [1, 4096], got 0");
  ExpectError(Folder("width: 4097"), "spec.evaluation.data.width");
  ExpectError(Folder("channels: 2"),
              "spec.evaluation.data.channels: must be 1 (grey) or "
              "3 (RGB), got 2");
  ExpectError(Folder("classes: 1"),
              "spec.evaluation.data.classes: "
              "must be in [2, 10000], got 1");
  ExpectError(Folder("classes: 10001"), "spec.evaluation.data.classes");
  ExpectError(Folder("class_names: [a, b]"),
              "spec.evaluation.data.class_names: needs exactly "
              "data.classes (7) names, got 2");
  ExpectError(Folder("class_names: [a, b, c, a, e, f, g]"),
              "spec.evaluation.data.class_names[3]: 'a' repeated");
  ExpectError(Folder("class_names: [a, b, c, '', e, f, g]"),
              "spec.evaluation.data.class_names[3]: must be 1 to "
              "128 bytes");
}

TEST(DataSpec, NormalizationAndSplits) {
  ExpectError(Folder("normalization: zscore"),
              "spec.evaluation.data.normalization: unknown "
              "normalization 'zscore' (one of: auto, explicit, none)");
  ExpectError(absl::StrCat(Folder("normalization: auto"), "    mean: [0.5]\n"),
              "spec.evaluation.data.mean: only with normalization "
              "explicit (it is auto)");
  ExpectError(Folder("mean: [0.1, 0.2]"),
              "spec.evaluation.data.mean: needs 1 value or one per "
              "channel (3), got 2");
  ExpectError(absl::StrCat(Folder("mean: [0.1]"), "    std: [0.2, 0, 1]\n"),
              "spec.evaluation.data.std[1]: must be a finite number "
              "> 0, got 0");
  ExpectError(absl::StrCat(Folder("mean: [0.1]"), "    std: [0.2, 1, -1]\n"),
              "spec.evaluation.data.std[2]");
  ExpectError(Folder("validation_fraction: 1"),
              "spec.evaluation.data.validation_fraction: must be in "
              "(0, 1), got 1");
  ExpectError(absl::StrCat(Folder("validation_fraction: 0.2"),
                           "    validation: {dir: /v}\n"),
              "spec.evaluation.data.validation_fraction: not "
              "together with data.validation");
  ExpectError(
      absl::StrCat(Folder("validation_fraction: 0.2"), "  val_samples: 100\n"),
      "spec.evaluation.data.validation_fraction: not "
      "together with evaluation.val_samples");
  ExpectError(
      absl::StrCat(Folder("validation: {dir: /v}"), "  val_samples: 100\n"),
      "spec.evaluation.val_samples: holds images of the "
      "training set out");
  ExpectError(Folder("validation_fraction: 0"),
              "spec.evaluation.data.validation_fraction: a "
              "validation set is needed");
}

TEST(DataSpec, DatasetOrDataAndWeights) {
  ExpectError(absl::StrCat("  dataset: fashion_mnist\n", kFolder),
              "spec.evaluation.dataset: set either dataset (a "
              "preset) or data (your own dataset), not both");
  ExpectError("  dataset: mnist\n",
              "spec.evaluation.dataset: unknown dataset 'mnist'");
  ExpectError(absl::StrCat("  data_dir: /x\n", kFolder),
              "spec.evaluation.data_dir: only for a preset");
  ExpectError(absl::StrCat(kFolder, "  class_weighting: balanced\n"),
              "spec.evaluation.class_weighting: unknown class "
              "weighting 'balanced' (one of: none, auto, explicit)");
  ExpectError(absl::StrCat(kFolder, "  class_weights: [1, 2]\n"),
              "spec.evaluation.class_weights: needs exactly "
              "data.classes (7) weights, got 2");
  ExpectError(absl::StrCat(kFolder, "  class_weights: [1, 2, 3, 0, 1, 1, 1]\n"),
              "spec.evaluation.class_weights[3]: must be a finite "
              "number > 0, got 0");
  ExpectError(
      absl::StrCat(kFolder, "  class_weighting: auto\n  class_weights: [1]\n"),
      "spec.evaluation.class_weights: only with "
      "class_weighting explicit (it is auto)");
  // The preset takes class weights for its 10 classes.
  NAS_EXPECT_OK(PrepareSpec({}, Spec("  class_weighting: auto\n")));
  ExpectError("  class_weights: [1, 2]\n",
              "needs exactly data.classes (10) weights");
}

TEST(DataSpec, ObjectiveMetrics) {
  for (const char* metric :
       {"val_accuracy", "val_balanced_accuracy", "val_macro_f1"}) {
    absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
        {}, Spec(kFolder, absl::StrCat("  metric: ", metric, "\n")));
    NAS_ASSERT_OK(spec);
    EXPECT_EQ(spec->evaluation().progress_metric(), metric);
    EXPECT_EQ(spec->objective().metric_class(), 0);
  }
  // By name and by index; progress_metric carries the index.
  for (const char* metric : {"val_recall:defect", "val_recall:3"}) {
    absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec(
        {}, Spec(kFolder, absl::StrCat("  metric: ", metric, "\n")));
    NAS_ASSERT_OK(spec);
    EXPECT_EQ(spec->objective().metric(), metric);
    EXPECT_EQ(spec->objective().metric_class(), 3);
    EXPECT_EQ(spec->evaluation().progress_metric(), "val_recall:3");
  }
  // The preset's named classes.
  absl::StatusOr<v1::ExperimentSpec> fm =
      PrepareSpec({}, Spec("  epochs: 1\n", "  metric: val_recall:Shirt\n"));
  NAS_ASSERT_OK(fm);
  EXPECT_EQ(fm->objective().metric_class(), 6);
  ExpectError(kFolder,
              "spec.objective.metric: val_recall: unknown class "
              "'cat' (a name from evaluation.data.class_names or an index in "
              "[0, 7))",
              "  metric: val_recall:cat\n");
  ExpectError(kFolder, "unknown class '7'", "  metric: val_recall:7\n");
  ExpectError(kFolder,
              "spec.objective.metric: unknown metric 'test_accuracy' "
              "(one of: val_accuracy, val_balanced_accuracy, val_macro_f1, "
              "val_recall:<class>)",
              "  metric: test_accuracy\n");
}

TEST(DataSpec, DatasetShapeFromTheSpec) {
  absl::StatusOr<v1::ExperimentSpec> spec = PrepareSpec({}, Spec(kFolder));
  NAS_ASSERT_OK(spec);
  absl::StatusOr<InputShape> shape = DatasetShape(spec->evaluation());
  NAS_ASSERT_OK(shape);
  EXPECT_EQ(shape->channels, 3);
  EXPECT_EQ(shape->height, 32);
  EXPECT_EQ(shape->width, 32);
  EXPECT_EQ(shape->classes, 7);
  absl::StatusOr<InputShape> fm = DatasetShape(v1::EvaluationSpec());
  NAS_ASSERT_OK(fm);  // a spec stored before data existed: the preset
  EXPECT_EQ(fm->channels, 1);
  EXPECT_EQ(fm->height, 28);
  EXPECT_EQ(fm->classes, 10);
  // The nb201 cost model sees the difference.
  absl::StatusOr<const SearchSpace*> space = GetSearchSpace("nb201");
  NAS_ASSERT_OK(space);
  const std::vector<int> g = {2, 3, 4, 0, 1, 0};
  absl::StatusOr<Cost> c32 =
      (*space)->ComputeCost(g, spec->search_space(), *shape);
  absl::StatusOr<Cost> c28 =
      (*space)->ComputeCost(g, spec->search_space(), *fm);
  NAS_ASSERT_OK(c32);
  NAS_ASSERT_OK(c28);
  EXPECT_GT(c32->macs, c28->macs);
  EXPECT_NE(c32->params, c28->params);  // 3 input channels, 7 classes
  v1::EvaluationSpec bad;
  bad.set_dataset("mnist");
  EXPECT_THAT(DatasetShape(bad), StatusIs(StatusCode::kInvalidArgument,
                                          "unknown dataset 'mnist'"));
  bad = spec->evaluation();
  bad.mutable_data()->set_channels(4);
  EXPECT_THAT(DatasetShape(bad), StatusIs(StatusCode::kInvalidArgument,
                                          "evaluation.data.channels"));
}

TEST(DataSpec, TabularReportsOnlyValAccuracy) {
  EXPECT_THAT(
      PrepareSpec({}, Spec(R"(  mode: TABULAR
  tabular:
    path: /t.csv
    val_column: v
    test_column: t
    cost_column: c
)",
                           "  metric: val_macro_f1\n")),
      StatusIs(StatusCode::kInvalidArgument,
               "spec.objective.metric (line 11): evaluation.mode TABULAR "
               "reports only val_accuracy"));
}

}  // namespace
}  // namespace nas
