// LoadDataset: lists and decodes (or maps from the cache) each source with
// nas_worker_data, then makes the LibTorch views, the splits and the
// normalization. The only LibTorch part of worker/data's loading.
#include "worker/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/spec/defaults.h"
#include "common/status_macros.h"
#include "worker/data/decode_cache.h"
#include "worker/data/idx.h"
#include "worker/data/sources.h"

namespace nas {
namespace {

bool HasSource(const v1::DataSource& s) {
  return !s.images().empty() || !s.labels().empty() || s.files_size() > 0 ||
         !s.dir().empty();
}

absl::Status CheckRange(int64_t v, int64_t lo, int64_t hi,
                        absl::string_view field) {
  if (v < lo || v > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", v, "; must be in [", lo, ", ", hi, "]"));
  }
  return absl::OkStatus();
}

std::shared_ptr<const ImageSet> ToImageSet(const DecodedSource& d) {
  auto set = std::make_shared<ImageSet>();
  std::shared_ptr<const void> owner = d.owner;
  const Preprocess& p = d.pre;
  // The mapping is read-only: the tensors must never be written in place.
  set->images = torch::from_blob(
      const_cast<uint8_t*>(d.images), {d.count, p.channels, p.height, p.width},
      [owner](void*) {}, torch::kUInt8);
  set->labels = torch::from_blob(
      const_cast<int64_t*>(d.labels), {d.count}, [owner](void*) {},
      torch::kInt64);
  set->keepalive = owner;
  return set;
}

torch::Tensor IndexTensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kInt64);
}

std::vector<int64_t> Iota(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

Split OnePart(std::shared_ptr<const ImageSet> source,
              const std::vector<int64_t>& index) {
  Split s;
  s.parts.push_back({std::move(source), IndexTensor(index)});
  return s;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Dataset>> LoadDataset(
    const v1::EvaluationSpec& spec, const DataLoadOptions& options) {
  v1::DataSpec data = spec.data();
  bool preset = false;
  if (data.format().empty()) {
    if (!spec.dataset().empty() && spec.dataset() != "fashion_mnist") {
      return absl::InvalidArgumentError(absl::StrCat(
          "evaluation.data is missing and evaluation.dataset '", spec.dataset(),
          "' is not a known preset (fashion_mnist)"));
    }
    // A spec the controller's defaults did not fill (older controllers,
    // tests): the same preset, from common/spec.
    data =
        PresetData("fashion_mnist", spec.data_dir().empty() ? kFashionMnistDir
                                                            : spec.data_dir());
    preset = true;
  }
  NAS_RETURN_IF_ERROR(
      CheckRange(data.height(), 1, 4096, "evaluation.data.height"));
  NAS_RETURN_IF_ERROR(
      CheckRange(data.width(), 1, 4096, "evaluation.data.width"));
  NAS_RETURN_IF_ERROR(
      CheckRange(data.classes(), 2, 10000, "evaluation.data.classes"));
  if (data.channels() != 1 && data.channels() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.data.channels is ", data.channels(), "; must be 1 or 3"));
  }
  if (spec.train_samples() < 0 || spec.val_samples() < 0 ||
      spec.test_samples() < 0) {
    return absl::InvalidArgumentError(
        "evaluation.train_samples, val_samples and test_samples must not be "
        "negative");
  }
  Preprocess pre;
  pre.format = data.format();
  pre.height = data.height();
  pre.width = data.width();
  pre.channels = data.channels();
  pre.classes = data.classes();

  // Every path is resolved and checked against the roots before anything
  // is opened.
  const bool separate_val = HasSource(data.validation());
  NAS_ASSIGN_OR_RETURN(SourceListing train_l,
                       ListSource(pre, data.train(), "evaluation.data.train",
                                  options.allowed_roots));
  SourceListing val_l;
  if (separate_val) {
    NAS_ASSIGN_OR_RETURN(
        val_l, ListSource(pre, data.validation(), "evaluation.data.validation",
                          options.allowed_roots));
  }
  NAS_ASSIGN_OR_RETURN(SourceListing test_l,
                       ListSource(pre, data.test(), "evaluation.data.test",
                                  options.allowed_roots));
  for (const SourceListing* l : {&val_l, &test_l}) {
    if (!l->class_names.empty() && l->class_names != train_l.class_names) {
      return absl::InvalidArgumentError(
          absl::StrCat(l->field, ": the class folders of ", l->what,
                       " differ from those of ", train_l.what));
    }
  }

  DecodeOptions dopt;
  dopt.cache_dir = options.cache_dir;
  dopt.threads = options.threads;
  dopt.on_progress = options.on_progress;
  dopt.verbose = options.verbose;
  NAS_ASSIGN_OR_RETURN(DecodedSource train_d, LoadSource(pre, train_l, dopt));
  DecodedSource val_d;
  if (separate_val) {
    NAS_ASSIGN_OR_RETURN(val_d, LoadSource(pre, val_l, dopt));
  }
  NAS_ASSIGN_OR_RETURN(DecodedSource test_d, LoadSource(pre, test_l, dopt));

  const uint64_t seed =
      static_cast<uint64_t>(spec.data_seed() != 0 ? spec.data_seed() : 1);
  const int64_t n = train_d.count;
  std::vector<int64_t> train_index, val_index;
  if (!separate_val) {
    double fraction = data.validation_fraction();
    if (fraction == 0) fraction = 0.1;
    if (!(fraction > 0 && fraction < 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation.data.validation_fraction is ", fraction,
                       "; must be in (0, 1)"));
    }
    const int64_t val =
        spec.val_samples() > 0
            ? spec.val_samples()
            : (preset ? 10000
                      : std::llround(fraction * static_cast<double>(n)));
    if (val < 1 || val >= n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "evaluation.val_samples ", val, " leaves no training images (", n,
          " in ", train_l.what, ")"));
    }
    const int64_t rest = n - val;
    if (spec.train_samples() > rest) {
      return absl::InvalidArgumentError(absl::StrCat(
          "evaluation.train_samples ", spec.train_samples(), " exceeds the ",
          rest, " training images left after val_samples ", val));
    }
    const int64_t train =
        spec.train_samples() > 0 ? spec.train_samples() : rest;
    const std::vector<int64_t> perm = SeededPermutation(n, seed);
    val_index.assign(perm.begin(), perm.begin() + val);
    train_index.assign(perm.begin() + val, perm.begin() + val + train);
  } else {
    if (spec.train_samples() > n) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation.train_samples ", spec.train_samples(),
                       " exceeds the ", n, " images of ", train_l.what));
    }
    if (spec.train_samples() > 0 && spec.train_samples() < n) {
      const std::vector<int64_t> perm = SeededPermutation(n, seed);
      train_index.assign(perm.begin(), perm.begin() + spec.train_samples());
    } else {
      train_index = Iota(n);
    }
    const int64_t m = val_d.count;
    if (spec.val_samples() > m) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation.val_samples ", spec.val_samples(),
                       " exceeds the ", m, " images of ", val_l.what));
    }
    if (spec.val_samples() > 0 && spec.val_samples() < m) {
      const std::vector<int64_t> perm = SeededPermutation(m, seed);
      val_index.assign(perm.begin(), perm.begin() + spec.val_samples());
    } else {
      val_index = Iota(m);
    }
  }
  if (spec.test_samples() > test_d.count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.test_samples ", spec.test_samples(), " exceeds the ",
        test_d.count, " images of ", test_l.what));
  }
  const int64_t test =
      spec.test_samples() > 0 ? spec.test_samples() : test_d.count;

  auto ds = std::make_shared<Dataset>();
  ds->shape.channels = pre.channels;
  ds->shape.height = pre.height;
  ds->shape.width = pre.width;
  ds->shape.classes = pre.classes;

  // Normalization.
  std::string norm = data.normalization();
  if (norm.empty()) norm = data.mean_size() > 0 ? "explicit" : "auto";
  if (norm == "auto") {
    ChannelMeanStd(train_d, train_index, options.threads, &ds->mean, &ds->std);
    for (double& s : ds->std) {
      if (s <= 0) s = 1;  // a constant channel: only shift it
    }
  } else if (norm == "none") {
    ds->mean.assign(pre.channels, 0.0);
    ds->std.assign(pre.channels, 1.0);
  } else if (norm == "explicit") {
    auto expand = [&](const google::protobuf::RepeatedField<double>& v,
                      absl::string_view field,
                      std::vector<double>* out) -> absl::Status {
      if (v.size() == 1) {
        out->assign(pre.channels, v[0]);
      } else if (v.size() == pre.channels) {
        out->assign(v.begin(), v.end());
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(field, " has ", v.size(), " values; give 1 or ",
                         pre.channels, " (evaluation.data.channels)"));
      }
      return absl::OkStatus();
    };
    NAS_RETURN_IF_ERROR(expand(data.mean(), "evaluation.data.mean", &ds->mean));
    NAS_RETURN_IF_ERROR(expand(data.std(), "evaluation.data.std", &ds->std));
    for (double s : ds->std) {
      if (!(s > 0)) {
        return absl::InvalidArgumentError(
            "evaluation.data.std values must be positive");
      }
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation.data.normalization '", norm,
                     "' is not one of auto, explicit, none"));
  }

  // Class names.
  if (data.class_names_size() > 0) {
    if (data.class_names_size() != pre.classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "evaluation.data.class_names has ", data.class_names_size(),
          " names but evaluation.data.classes is ", pre.classes));
    }
    ds->class_names.assign(data.class_names().begin(),
                           data.class_names().end());
  } else if (!train_l.class_names.empty()) {
    ds->class_names = train_l.class_names;
  } else {
    for (int c = 0; c < pre.classes; ++c) {
      ds->class_names.push_back(absl::StrCat(c));
    }
  }

  ds->train_class_counts.assign(pre.classes, 0);
  for (int64_t i : train_index) ++ds->train_class_counts[train_d.labels[i]];

  std::shared_ptr<const ImageSet> train_set = ToImageSet(train_d);
  ds->train = OnePart(train_set, train_index);
  ds->val = OnePart(separate_val ? ToImageSet(val_d) : train_set, val_index);
  ds->test = OnePart(ToImageSet(test_d), Iota(test));

  auto where = [](const DecodedSource& d) {
    return d.cache_file.empty()
               ? std::string("in memory")
               : absl::StrCat(d.decoded ? "decoded to " : "cached in ",
                              d.cache_file);
  };
  ds->description = absl::StrCat(
      pre.format, " ", pre.channels, "x", pre.height, "x", pre.width, ", ",
      pre.classes, " classes: train ", train_index.size(), " and val ",
      val_index.size(), separate_val ? "" : " (held out)", " of ", train_l.what,
      " (", where(train_d), ")");
  if (separate_val) {
    absl::StrAppend(&ds->description, ", val of ", val_l.what, " (",
                    where(val_d), ")");
  }
  absl::StrAppend(&ds->description, ", test ", test, " of ", test_l.what, " (",
                  where(test_d), ")");
  return std::shared_ptr<const Dataset>(std::move(ds));
}

}  // namespace nas
