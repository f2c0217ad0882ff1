#include "tests/testing/image_datasets.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "worker/data/idx.h"

namespace nas::testing {
namespace {

void PutBigEndian32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

// The first `n` images of an IDX pair, stable-sorted by label.
absl::StatusOr<RawImages> TakeSorted(const std::string& images_path,
                                     const std::string& labels_path,
                                     int64_t n) {
  NAS_ASSIGN_OR_RETURN(IdxImages images, ReadIdxImages(images_path));
  NAS_ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadIdxLabels(labels_path));
  if (n > images.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("asked for ", n, " images of '", images_path, "'"));
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  RawImages out;
  out.count = n;
  out.height = images.rows;
  out.width = images.cols;
  const int64_t bytes = int64_t{images.rows} * images.cols;
  out.pixels.resize(n * bytes);
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(images.pixels.data() + order[i] * bytes, bytes,
                out.pixels.data() + i * bytes);
    out.labels.push_back(labels[order[i]]);
  }
  return out;
}

absl::Status Mkdirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(dir, ": ", ec.message()));
  return absl::OkStatus();
}

cv::Mat ImageMat(const RawImages& r, int64_t i) {
  const int64_t bytes = int64_t{r.height} * r.width * r.channels;
  return cv::Mat(r.height, r.width, CV_8UC(r.channels),
                 const_cast<uint8_t*>(r.pixels.data() + i * bytes));
}

// Writes images as <dir>/<class name>/<position>.<ext>; RGB input.
absl::Status WriteFolder(const RawImages& r, const std::string& dir,
                         const std::vector<std::string>& class_names,
                         const std::string& ext,
                         const std::vector<int>& params) {
  for (const std::string& c : class_names) {
    NAS_RETURN_IF_ERROR(Mkdirs(dir + "/" + c));
  }
  for (int64_t i = 0; i < r.count; ++i) {
    cv::Mat m = ImageMat(r, i);
    cv::Mat out;
    if (r.channels == 3) {
      cv::cvtColor(m, out, cv::COLOR_RGB2BGR);
    } else {
      out = m;
    }
    const std::string path =
        absl::StrFormat("%s/%s/%06d.%s", dir, class_names[r.labels[i]], i, ext);
    if (!cv::imwrite(path, out, params)) {
      return absl::UnavailableError(absl::StrCat("cannot write ", path));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteSplit(const RawImages& r, const std::string& dir,
                        const std::string& name, int cifar_files,
                        FormatPaths* p) {
  p->idx_images = absl::StrCat(dir, "/", name, "-images-idx3-ubyte");
  p->idx_labels = absl::StrCat(dir, "/", name, "-labels-idx1-ubyte");
  NAS_RETURN_IF_ERROR(WriteIdxImages(p->idx_images, r));
  NAS_RETURN_IF_ERROR(WriteIdxLabels(p->idx_labels, r.labels));
  std::vector<std::string> classes;
  for (int c = 0; c < 10; ++c) classes.push_back(absl::StrCat(c));
  p->png_dir = absl::StrCat(dir, "/png/", name);
  p->jpeg_dir = absl::StrCat(dir, "/jpeg/", name);
  NAS_RETURN_IF_ERROR(WriteFolder(r, p->png_dir, classes, "png", {}));
  NAS_RETURN_IF_ERROR(WriteFolder(r, p->jpeg_dir, classes, "jpg",
                                  {cv::IMWRITE_JPEG_QUALITY, 95}));
  const int64_t bytes = int64_t{r.height} * r.width;
  const int64_t per_file = (r.count + cifar_files - 1) / cifar_files;
  for (int f = 0; f < cifar_files; ++f) {
    std::string data;
    for (int64_t i = f * per_file; i < std::min(r.count, (f + 1) * per_file);
         ++i) {
      data.push_back(static_cast<char>(r.labels[i]));
      data.append(reinterpret_cast<const char*>(r.pixels.data() + i * bytes),
                  bytes);
    }
    const std::string path =
        absl::StrCat(dir, "/cifar_", name, "_batch_", f + 1, ".bin");
    NAS_RETURN_IF_ERROR(WriteFile(path, data));
    p->cifar_files.push_back(path);
  }
  p->npy_images = absl::StrCat(dir, "/", name, "_images.npy");
  p->npy_labels = absl::StrCat(dir, "/", name, "_labels.npy");
  NAS_RETURN_IF_ERROR(
      WriteNpy(p->npy_images, "|u1", {r.count, r.height, r.width},
               absl::string_view(reinterpret_cast<const char*>(r.pixels.data()),
                                 r.pixels.size())));
  NAS_RETURN_IF_ERROR(
      WriteNpy(p->npy_labels, "<i8", {r.count},
               absl::string_view(reinterpret_cast<const char*>(r.labels.data()),
                                 r.labels.size() * sizeof(int64_t))));
  return absl::OkStatus();
}

void SetSource(const FormatPaths& p, absl::string_view format,
               v1::DataSource* s) {
  if (format == "idx") {
    s->set_images(p.idx_images);
    s->set_labels(p.idx_labels);
  } else if (format == "npy") {
    s->set_images(p.npy_images);
    s->set_labels(p.npy_labels);
  } else if (format == "png") {
    s->set_dir(p.png_dir);
  } else if (format == "jpeg") {
    s->set_dir(p.jpeg_dir);
  } else {
    for (const std::string& f : p.cifar_files) s->add_files(f);
  }
}

}  // namespace

absl::Status WriteFile(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteNpy(const std::string& path, absl::string_view descr,
                      const std::vector<int64_t>& shape,
                      absl::string_view data) {
  std::string dims = absl::StrJoin(shape, ", ");
  if (shape.size() == 1) dims += ",";
  std::string header =
      absl::StrCat("{'descr': '", descr,
                   "', 'fortran_order': False, 'shape': (", dims, "), }");
  // Pad with spaces so that magic + version + length + header + '\n' is a
  // multiple of 64, as numpy does.
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(data.data(), data.size());
  return WriteFile(path, out);
}

absl::Status WriteIdxImages(const std::string& path, const RawImages& r) {
  std::string out;
  PutBigEndian32(&out, r.channels == 1 ? 0x803 : 0x804);
  PutBigEndian32(&out, static_cast<uint32_t>(r.count));
  PutBigEndian32(&out, r.height);
  PutBigEndian32(&out, r.width);
  if (r.channels != 1) PutBigEndian32(&out, r.channels);
  out.append(reinterpret_cast<const char*>(r.pixels.data()), r.pixels.size());
  return WriteFile(path, out);
}

absl::Status WriteIdxLabels(const std::string& path,
                            const std::vector<int64_t>& labels) {
  std::string out;
  PutBigEndian32(&out, 0x801);
  PutBigEndian32(&out, static_cast<uint32_t>(labels.size()));
  for (int64_t l : labels) out.push_back(static_cast<char>(l));
  return WriteFile(path, out);
}

std::string FreshTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/nas_",
                                       name, "_", ::getpid());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  return dir;
}

absl::StatusOr<FashionMnistFormats> WriteFashionMnistFormats(
    const std::string& dir, int64_t train, int64_t test,
    const std::string& source_dir) {
  NAS_RETURN_IF_ERROR(Mkdirs(dir));
  FashionMnistFormats f;
  NAS_ASSIGN_OR_RETURN(
      f.train, TakeSorted(source_dir + "/train-images-idx3-ubyte.gz",
                          source_dir + "/train-labels-idx1-ubyte.gz", train));
  NAS_ASSIGN_OR_RETURN(
      f.test, TakeSorted(source_dir + "/t10k-images-idx3-ubyte.gz",
                         source_dir + "/t10k-labels-idx1-ubyte.gz", test));
  NAS_RETURN_IF_ERROR(WriteSplit(f.train, dir, "train", 2, &f.train_paths));
  NAS_RETURN_IF_ERROR(WriteSplit(f.test, dir, "t10k", 1, &f.test_paths));
  return f;
}

v1::DataSpec FashionMnistFormatSpec(const FashionMnistFormats& f,
                                    absl::string_view format) {
  v1::DataSpec d;
  d.set_format(format == "png" || format == "jpeg" ? "image_folder"
                                                   : std::string(format));
  SetSource(f.train_paths, format, d.mutable_train());
  SetSource(f.test_paths, format, d.mutable_test());
  d.set_height(28);
  d.set_width(28);
  d.set_channels(1);
  d.set_classes(10);
  d.set_normalization("none");
  return d;
}

absl::StatusOr<ImbalancedDataset> WriteImbalancedRgbDataset(
    const std::string& dir, int64_t minority_train, int64_t minority_eval,
    const std::string& source_dir) {
  NAS_ASSIGN_OR_RETURN(
      IdxImages images,
      ReadIdxImages(source_dir + "/train-images-idx3-ubyte.gz"));
  NAS_ASSIGN_OR_RETURN(
      std::vector<uint8_t> labels,
      ReadIdxLabels(source_dir + "/train-labels-idx1-ubyte.gz"));
  ImbalancedDataset d;
  d.class_names = {"coat",     "defect", "dress",  "normal",
                   "pullover", "shirt",  "trouser"};
  // Fashion-MNIST class of each folder, and its tint (RGB).
  const int kSource[7] = {4, 5, 3, 0, 2, 6, 1};
  const cv::Vec3f kTint[7] = {{1.0f, 0.3f, 0.3f}, {0.3f, 1.0f, 0.3f},
                              {0.3f, 0.3f, 1.0f}, {1.0f, 1.0f, 0.3f},
                              {1.0f, 0.3f, 1.0f}, {0.3f, 1.0f, 1.0f},
                              {1.0f, 0.6f, 0.2f}};
  const int kMajority = 3;  // "normal"
  std::vector<std::vector<int64_t>> by_class(10);
  for (int64_t i = 0; i < images.count; ++i) by_class[labels[i]].push_back(i);
  std::vector<size_t> next(10, 0);
  d.train_dir = dir + "/train";
  d.validation_dir = dir + "/validation";
  d.test_dir = dir + "/test";
  d.train_counts.assign(7, 0);
  for (const auto& [split_dir, per_class] :
       {std::pair<std::string, int64_t>{d.train_dir, minority_train},
        {d.validation_dir, minority_eval},
        {d.test_dir, minority_eval}}) {
    for (int c = 0; c < 7; ++c) {
      const std::string class_dir = split_dir + "/" + d.class_names[c];
      NAS_RETURN_IF_ERROR(Mkdirs(class_dir));
      const int64_t n = c == kMajority ? 8 * per_class : per_class;
      const std::vector<int64_t>& pool = by_class[kSource[c]];
      if (next[kSource[c]] + n > pool.size()) {
        return absl::InvalidArgumentError("not enough Fashion-MNIST images");
      }
      if (split_dir == d.train_dir) d.train_counts[c] = n;
      for (int64_t k = 0; k < n; ++k) {
        const int64_t idx = pool[next[kSource[c]]++];
        cv::Mat grey(28, 28, CV_8UC1, images.pixels.data() + idx * 28 * 28);
        cv::Mat big;
        cv::resize(grey, big, cv::Size(32, 32), 0, 0, cv::INTER_LINEAR);
        cv::Mat bgr(32, 32, CV_8UC3);
        for (int y = 0; y < 32; ++y) {
          for (int x = 0; x < 32; ++x) {
            const float v = big.at<uint8_t>(y, x);
            bgr.at<cv::Vec3b>(y, x) =
                cv::Vec3b(cv::saturate_cast<uint8_t>(v * kTint[c][2]),
                          cv::saturate_cast<uint8_t>(v * kTint[c][1]),
                          cv::saturate_cast<uint8_t>(v * kTint[c][0]));
          }
        }
        const std::string path = absl::StrFormat("%s/%06d.png", class_dir, k);
        if (!cv::imwrite(path, bgr)) {
          return absl::UnavailableError(absl::StrCat("cannot write ", path));
        }
      }
    }
  }
  return d;
}

v1::DataSpec ImbalancedSpec(const ImbalancedDataset& d) {
  v1::DataSpec s;
  s.set_format("image_folder");
  s.mutable_train()->set_dir(d.train_dir);
  s.mutable_validation()->set_dir(d.validation_dir);
  s.mutable_test()->set_dir(d.test_dir);
  s.set_height(32);
  s.set_width(32);
  s.set_channels(3);
  s.set_classes(7);
  s.set_normalization("auto");
  return s;
}

}  // namespace nas::testing
