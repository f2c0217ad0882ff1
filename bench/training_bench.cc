#include "bench/training_bench.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spaces/mobilenet_space.h"
#include "common/spaces/nb201_space.h"
#include "worker/data/idx.h"

namespace nas {

std::vector<ReferenceArch> ReferenceArchs() {
  v1::SearchSpaceSpec nb;
  nb.set_name("nb201");
  nb.mutable_nb201()->set_channels(16);
  nb.mutable_nb201()->set_cells_per_stage(1);
  v1::SearchSpaceSpec mb;
  mb.set_name("mobilenet");
  const MobileNetShape d;
  auto* o = mb.mutable_mobilenet();
  o->set_width_multiplier(d.width_multiplier);
  o->set_channel_divisor(d.channel_divisor);
  o->set_stem_channels(d.stem_channels);
  o->set_stem_stride(d.stem_stride);
  for (int c : d.stage_channels) o->add_stage_channels(c);
  for (int s : d.stage_strides) o->add_stage_strides(s);
  o->set_head_channels(d.head_channels);
  return {
      {"nb201-small", "nb201",
       "|skip_connect~0|+|skip_connect~0|none~1|+|skip_connect~0|"
       "nor_conv_1x1~1|avg_pool_3x3~2|",
       nb},
      {"nb201-medium", "nb201",
       "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
       "nor_conv_3x3~1|skip_connect~2|",
       nb},
      {"nb201-large", "nb201",
       "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
       "nor_conv_3x3~1|nor_conv_3x3~2|",
       nb},
      {"mobilenet-small", "mobilenet",
       "k3e3d2se0-k3e3d2se0-k3e3d2se0-k3e3d2se0", mb},
      {"mobilenet-medium", "mobilenet",
       "k5e4d3se1-k5e4d3se0-k5e4d3se1-k5e4d3se0", mb},
      {"mobilenet-large", "mobilenet",
       "k7e6d4se1-k7e6d4se1-k7e6d4se1-k7e6d4se1", mb},
  };
}

absl::Status ResolveArch(ReferenceArch& a, const InputShape& shape) {
  absl::StatusOr<const SearchSpace*> space = GetSearchSpace(a.space);
  if (!space.ok()) return space.status();
  absl::StatusOr<std::vector<int>> choices = (*space)->Parse(a.canonical);
  if (!choices.ok()) return choices.status();
  absl::StatusOr<Cost> cost = (*space)->ComputeCost(*choices, a.spec, shape);
  if (!cost.ok()) return cost.status();
  a.choices = *std::move(choices);
  a.macs = cost->macs;
  a.params = cost->params;
  return absl::OkStatus();
}

std::string ArchJsonFields(const ReferenceArch& a) {
  std::string shape;
  if (a.space == "nb201") {
    shape = absl::StrCat(
        "\"nb201\": {\"channels\": ", a.spec.nb201().channels(),
        ", \"cells_per_stage\": ", a.spec.nb201().cells_per_stage(), "}");
  } else {
    const v1::MobileNetOptions& o = a.spec.mobilenet();
    shape = absl::StrCat(
        "\"mobilenet\": {\"width_multiplier\": ", o.width_multiplier(),
        ", \"channel_divisor\": ", o.channel_divisor(),
        ", \"stem_channels\": ", o.stem_channels(),
        ", \"stem_stride\": ", o.stem_stride(), ", \"stage_channels\": [",
        absl::StrJoin(o.stage_channels(), ", "), "], \"stage_strides\": [",
        absl::StrJoin(o.stage_strides(), ", "),
        "], \"head_channels\": ", o.head_channels(), "}");
  }
  return absl::StrCat("\"space\": \"", a.space, "\", \"choices\": [",
                      absl::StrJoin(a.choices, ", "), "], ", shape);
}

absl::StatusOr<LabelledImages> LoadFashionMnist(const std::string& dir,
                                                bool train) {
  const std::string prefix = absl::StrCat(dir, train ? "/train" : "/t10k");
  absl::StatusOr<IdxImages> images =
      ReadIdxImages(prefix + "-images-idx3-ubyte.gz");
  if (!images.ok()) return images.status();
  absl::StatusOr<std::vector<uint8_t>> labels =
      ReadIdxLabels(prefix + "-labels-idx1-ubyte.gz");
  if (!labels.ok()) return labels.status();
  constexpr double kFashionMnistMean = 0.2860, kFashionMnistStd = 0.3530;
  LabelledImages out;
  // .to() copies, so the tensors own their data after the vectors go.
  out.x = ((torch::from_blob(images->pixels.data(),
                             {images->count, 1, images->rows, images->cols},
                             torch::kUInt8)
                .to(torch::kFloat32) /
            255.0) -
           kFashionMnistMean) /
          kFashionMnistStd;
  out.y =
      torch::from_blob(labels->data(), {static_cast<int64_t>(labels->size())},
                       torch::kUInt8)
          .to(torch::kInt64);
  out.shape = InputShape{1, images->rows, images->cols, 10};
  return out;
}

bool JsonLinesChild::Start(const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return false;
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  to_ = fdopen(in[1], "w");
  from_ = fdopen(out[0], "r");
  return to_ != nullptr && from_ != nullptr;
}

std::string JsonLinesChild::Call(const std::string& line) {
  if (!line.empty()) {
    std::fprintf(to_, "%s\n", line.c_str());
    std::fflush(to_);
  }
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, from_) != nullptr) {
    out += buf;
    if (!out.empty() && out.back() == '\n') break;
  }
  return out;
}

JsonLinesChild::~JsonLinesChild() {
  if (to_ != nullptr) {
    std::fprintf(to_, "{\"quit\": true}\n");
    std::fclose(to_);
  }
  if (from_ != nullptr) std::fclose(from_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

double JsonNumber(const std::string& json, const std::string& key) {
  const std::string k = absl::StrCat("\"", key, "\": ");
  const size_t pos = json.find(k);
  if (pos == std::string::npos) return NAN;
  return std::atof(json.c_str() + pos + k.size());
}

std::string JsonString(const std::string& json, const std::string& key) {
  const std::string k = absl::StrCat("\"", key, "\": \"");
  const size_t pos = json.find(k);
  if (pos == std::string::npos) return "";
  const size_t end = json.find('"', pos + k.size());
  if (end == std::string::npos) return "";
  return json.substr(pos + k.size(), end - pos - k.size());
}

absl::StatusOr<std::string> JsonLinesChild::StartReady(
    const std::string& python, const std::string& script) {
  if (!Start({python, script})) {
    return absl::UnavailableError("cannot start the Python side");
  }
  std::string hello = Call("");
  if (hello.find("\"ready\": true") == std::string::npos) {
    return absl::UnavailableError(absl::StrCat("Python side failed: ", hello));
  }
  return hello;
}

}  // namespace nas
