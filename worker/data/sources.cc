#include "worker/data/sources.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "worker/data/file_util.h"
#include "worker/data/idx.h"
#include "worker/data/npy.h"

namespace nas {
namespace {

absl::Status LabelOutOfRange(const std::string& path, int64_t index,
                             int64_t value, int classes) {
  return absl::InvalidArgumentError(
      absl::StrCat("'", path, "': label ", value, " at index ", index,
                   " is outside [0, ", classes, ") (evaluation.data.classes)"));
}

absl::Status ChannelMismatch(const std::string& path, int64_t got, int want) {
  return absl::InvalidArgumentError(absl::StrCat(
      "'", path, "' has ", got,
      " channels per image but evaluation.data.channels is ", want));
}

bool IsImageName(absl::string_view name) {
  if (name.empty() || name[0] == '.') return false;
  const std::string lower = absl::AsciiStrToLower(name);
  return absl::EndsWith(lower, ".png") || absl::EndsWith(lower, ".jpg") ||
         absl::EndsWith(lower, ".jpeg");
}

struct DirEntry {
  std::string name;
  bool is_dir = false;
  bool is_symlink = false;
};

// The entries of `dir` (without "." and ".."), sorted by name.
absl::StatusOr<std::vector<DirEntry>> ReadDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "cannot read folder", dir);
  std::vector<DirEntry> out;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) {
      continue;
    }
    DirEntry entry;
    entry.name = e->d_name;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN || type == DT_LNK) {
      struct stat st;
      const std::string p = dir + "/" + entry.name;
      if (type == DT_UNKNOWN && ::lstat(p.c_str(), &st) == 0 &&
          S_ISLNK(st.st_mode)) {
        type = DT_LNK;
      }
      entry.is_symlink = type == DT_LNK;
      entry.is_dir = ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    } else {
      entry.is_dir = type == DT_DIR;
    }
    out.push_back(std::move(entry));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) {
    return a.name < b.name;
  });
  return out;
}

absl::StatusOr<SourceListing> ListImageFolder(
    const Preprocess& pre, const v1::DataSource& source,
    absl::string_view field, const std::vector<std::string>& roots) {
  SourceListing l;
  const std::string dir_field = absl::StrCat(field, ".dir");
  NAS_ASSIGN_OR_RETURN(std::string dir,
                       ResolveUnderRoots(source.dir(), dir_field, roots));
  l.what = absl::StrCat("image_folder ", dir);
  NAS_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ReadDir(dir));
  std::vector<std::string> class_dirs;
  for (const DirEntry& e : entries) {
    if (!e.is_dir || e.name[0] == '.') continue;
    std::string path = dir + "/" + e.name;
    if (e.is_symlink) {
      NAS_ASSIGN_OR_RETURN(path, ResolveUnderRoots(path, dir_field, roots));
    }
    l.class_names.push_back(e.name);
    class_dirs.push_back(std::move(path));
  }
  if (static_cast<int>(class_dirs.size()) != pre.classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir_field, ": '", dir, "' has ", class_dirs.size(),
        " class folders but evaluation.data.classes is ", pre.classes));
  }
  for (size_t c = 0; c < class_dirs.size(); ++c) {
    NAS_ASSIGN_OR_RETURN(std::vector<DirEntry> files, ReadDir(class_dirs[c]));
    size_t found = 0;
    for (const DirEntry& f : files) {
      if (f.is_dir || !IsImageName(f.name)) continue;
      std::string path = class_dirs[c] + "/" + f.name;
      if (f.is_symlink) {
        NAS_ASSIGN_OR_RETURN(path, ResolveUnderRoots(path, dir_field, roots));
      }
      l.files.push_back(std::move(path));
      l.file_labels.push_back(static_cast<int32_t>(c));
      ++found;
    }
    if (found == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir_field, ": class folder '", class_dirs[c],
                       "' has no .png, .jpg or .jpeg image"));
    }
  }
  return l;
}

}  // namespace

absl::StatusOr<SourceListing> ListSource(
    const Preprocess& pre, const v1::DataSource& source,
    absl::string_view field, const std::vector<std::string>& allowed_roots) {
  if (pre.format == "image_folder") {
    NAS_ASSIGN_OR_RETURN(SourceListing l,
                         ListImageFolder(pre, source, field, allowed_roots));
    l.field = std::string(field);
    return l;
  }
  SourceListing l;
  l.field = std::string(field);
  if (pre.format == "idx" || pre.format == "npy") {
    NAS_ASSIGN_OR_RETURN(
        std::string images,
        ResolveUnderRoots(source.images(), absl::StrCat(field, ".images"),
                          allowed_roots));
    NAS_ASSIGN_OR_RETURN(
        std::string labels,
        ResolveUnderRoots(source.labels(), absl::StrCat(field, ".labels"),
                          allowed_roots));
    l.what = absl::StrCat(pre.format, " ", images);
    l.files = {std::move(images), std::move(labels)};
    return l;
  }
  if (pre.format == "cifar10" || pre.format == "cifar100") {
    if (source.files_size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".files is empty (", pre.format,
                       " needs one or more binary batch files)"));
    }
    for (int i = 0; i < source.files_size(); ++i) {
      NAS_ASSIGN_OR_RETURN(
          std::string f,
          ResolveUnderRoots(source.files(i),
                            absl::StrCat(field, ".files[", i, "]"),
                            allowed_roots));
      l.files.push_back(std::move(f));
    }
    l.what = absl::StrCat(
        pre.format, " ", l.files[0],
        l.files.size() > 1 ? absl::StrCat(" (+", l.files.size() - 1, ")") : "");
    return l;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "evaluation.data.format '", pre.format,
      "' is not one of idx, npy, cifar10, cifar100, image_folder"));
}

void ToPlanar(const uint8_t* src, int height, int width, const Preprocess& pre,
              bool bgr, uint8_t* dst) {
  const int c = pre.channels;
  cv::Mat in(height, width, CV_8UC(c), const_cast<uint8_t*>(src));
  cv::Mat m = in;
  if (height != pre.height || width != pre.width) {
    const bool shrink = pre.height <= height && pre.width <= width;
    cv::resize(in, m, cv::Size(pre.width, pre.height), 0, 0,
               shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const int64_t plane = int64_t{pre.height} * pre.width;
  if (c == 1) {
    for (int y = 0; y < pre.height; ++y) {
      std::memcpy(dst + int64_t{y} * pre.width, m.ptr<uint8_t>(y), pre.width);
    }
    return;
  }
  for (int y = 0; y < pre.height; ++y) {
    const uint8_t* row = m.ptr<uint8_t>(y);
    for (int ch = 0; ch < c; ++ch) {
      uint8_t* out =
          dst + (bgr ? c - 1 - ch : ch) * plane + int64_t{y} * pre.width;
      for (int x = 0; x < pre.width; ++x) out[x] = row[x * c + ch];
    }
  }
}

namespace {

// idx: the whole (gzip) file in memory; images interleaved H x W x C.
class IdxDecoder final : public SourceDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<SourceDecoder>> Open(
      const Preprocess& pre, const SourceListing& l) {
    auto d = std::unique_ptr<IdxDecoder>(new IdxDecoder(pre, l));
    NAS_ASSIGN_OR_RETURN(d->images_, ReadIdxImages(l.files[0]));
    NAS_ASSIGN_OR_RETURN(d->labels_, ReadIdxLabels(l.files[1]));
    if (d->images_.count != static_cast<int64_t>(d->labels_.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", l.files[0], "' has ", d->images_.count, " images but '",
          l.files[1], "' has ", d->labels_.size(), " labels"));
    }
    if (d->images_.channels != pre.channels) {
      return ChannelMismatch(l.files[0], d->images_.channels, pre.channels);
    }
    return std::unique_ptr<SourceDecoder>(std::move(d));
  }
  int64_t count() const override { return images_.count; }
  absl::Status Decode(int64_t begin, int64_t end, uint8_t* images,
                      int64_t* labels) const override {
    const int64_t src_bytes =
        int64_t{images_.rows} * images_.cols * images_.channels;
    for (int64_t i = begin; i < end; ++i) {
      const int v = labels_[i];
      if (v >= pre_.classes) {
        return LabelOutOfRange(listing_.files[1], i, v, pre_.classes);
      }
      labels[i - begin] = v;
      ToPlanar(images_.pixels.data() + i * src_bytes, images_.rows,
               images_.cols, pre_, false,
               images + (i - begin) * pre_.image_bytes());
    }
    return absl::OkStatus();
  }

 private:
  IdxDecoder(const Preprocess& pre, const SourceListing& l)
      : pre_(pre), listing_(l) {}
  Preprocess pre_;
  SourceListing listing_;
  IdxImages images_;
  std::vector<uint8_t> labels_;
};

// npy: the images file mapped; labels read whole.
class NpyDecoder final : public SourceDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<SourceDecoder>> Open(
      const Preprocess& pre, const SourceListing& l) {
    auto d = std::unique_ptr<NpyDecoder>(new NpyDecoder(pre, l));
    NAS_ASSIGN_OR_RETURN(d->file_, MappedFile::Open(l.files[0], true));
    NAS_ASSIGN_OR_RETURN(NpyHeader h,
                         ParseNpyHeader(d->file_->view(), l.files[0]));
    NAS_RETURN_IF_ERROR(CheckNpyImages(
        h, static_cast<int64_t>(d->file_->size()), l.files[0], d->dims_));
    d->offset_ = h.data_offset;
    NAS_ASSIGN_OR_RETURN(d->labels_, ReadNpyLabels(l.files[1]));
    if (d->dims_[0] != static_cast<int64_t>(d->labels_.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", l.files[0], "' has ", d->dims_[0], " images but '",
                       l.files[1], "' has ", d->labels_.size(), " labels"));
    }
    if (d->dims_[3] != pre.channels) {
      return ChannelMismatch(l.files[0], d->dims_[3], pre.channels);
    }
    return std::unique_ptr<SourceDecoder>(std::move(d));
  }
  int64_t count() const override { return dims_[0]; }
  absl::Status Decode(int64_t begin, int64_t end, uint8_t* images,
                      int64_t* labels) const override {
    const int64_t src_bytes = dims_[1] * dims_[2] * dims_[3];
    for (int64_t i = begin; i < end; ++i) {
      const int64_t v = labels_[i];
      if (v < 0 || v >= pre_.classes) {
        return LabelOutOfRange(listing_.files[1], i, v, pre_.classes);
      }
      labels[i - begin] = v;
      ToPlanar(file_->data() + offset_ + i * src_bytes,
               static_cast<int>(dims_[1]), static_cast<int>(dims_[2]), pre_,
               false, images + (i - begin) * pre_.image_bytes());
    }
    return absl::OkStatus();
  }

 private:
  NpyDecoder(const Preprocess& pre, const SourceListing& l)
      : pre_(pre), listing_(l) {}
  Preprocess pre_;
  SourceListing listing_;
  std::unique_ptr<MappedFile> file_;
  int64_t offset_ = 0;
  int64_t dims_[4] = {0, 0, 0, 0};
  std::vector<int64_t> labels_;
};

// CIFAR-10 (1 label byte) / CIFAR-100 (coarse, fine label bytes) records of
// channels x height x width planar pixels; each file mapped.
class CifarDecoder final : public SourceDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<SourceDecoder>> Open(
      const Preprocess& pre, const SourceListing& l) {
    auto d = std::unique_ptr<CifarDecoder>(new CifarDecoder(pre, l));
    d->label_bytes_ = pre.format == "cifar100" ? 2 : 1;
    d->record_ = d->label_bytes_ + pre.image_bytes();
    for (const std::string& path : l.files) {
      NAS_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f,
                           MappedFile::Open(path, true));
      if (f->size() % d->record_ != 0) {
        return absl::DataLossError(absl::StrCat(
            "'", path, "' holds ", f->size(), " bytes, not a whole number of ",
            pre.format, " records of ", d->record_, " bytes (", d->label_bytes_,
            " label byte", d->label_bytes_ > 1 ? "s" : "", " + ", pre.channels,
            "x", pre.height, "x", pre.width, " pixels from evaluation.data)"));
      }
      d->total_ += static_cast<int64_t>(f->size()) / d->record_;
      d->ends_.push_back(d->total_);
      d->files_.push_back(std::move(f));
    }
    return std::unique_ptr<SourceDecoder>(std::move(d));
  }
  int64_t count() const override { return total_; }
  absl::Status Decode(int64_t begin, int64_t end, uint8_t* images,
                      int64_t* labels) const override {
    size_t f =
        std::upper_bound(ends_.begin(), ends_.end(), begin) - ends_.begin();
    for (int64_t i = begin; i < end; ++i) {
      while (i >= ends_[f]) ++f;
      const int64_t first = f == 0 ? 0 : ends_[f - 1];
      const uint8_t* rec = files_[f]->data() + (i - first) * record_;
      const int v = rec[label_bytes_ - 1];
      if (v >= pre_.classes) {
        return LabelOutOfRange(files_[f]->path(), i - first, v, pre_.classes);
      }
      labels[i - begin] = v;
      std::memcpy(images + (i - begin) * pre_.image_bytes(), rec + label_bytes_,
                  pre_.image_bytes());
    }
    return absl::OkStatus();
  }

 private:
  CifarDecoder(const Preprocess& pre, const SourceListing& l)
      : pre_(pre), listing_(l) {}
  Preprocess pre_;
  SourceListing listing_;
  int label_bytes_ = 1;
  int64_t record_ = 0;
  int64_t total_ = 0;
  std::vector<int64_t> ends_;
  std::vector<std::unique_ptr<MappedFile>> files_;
};

// Image folders: one file per image, decoded by OpenCV.
class ImageFolderDecoder final : public SourceDecoder {
 public:
  ImageFolderDecoder(const Preprocess& pre, const SourceListing& l)
      : pre_(pre), listing_(l) {}
  int64_t count() const override {
    return static_cast<int64_t>(listing_.files.size());
  }
  absl::Status Decode(int64_t begin, int64_t end, uint8_t* images,
                      int64_t* labels) const override {
    for (int64_t i = begin; i < end; ++i) {
      const std::string& path = listing_.files[i];
      cv::Mat m;
      try {
        m = cv::imread(
            path, pre_.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
      } catch (const cv::Exception& e) {
        m = cv::Mat();
      }
      if (m.empty()) {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
          return ErrnoStatus(errno, "cannot read image", path);
        }
        return absl::DataLossError(
            absl::StrCat("'", path, "' is not a decodable PNG or JPEG image"));
      }
      if (!m.isContinuous()) m = m.clone();
      labels[i - begin] = listing_.file_labels[i];
      ToPlanar(m.data, m.rows, m.cols, pre_, /*bgr=*/pre_.channels == 3,
               images + (i - begin) * pre_.image_bytes());
    }
    return absl::OkStatus();
  }

 private:
  Preprocess pre_;
  SourceListing listing_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SourceDecoder>> OpenDecoder(
    const Preprocess& pre, const SourceListing& listing) {
  if (pre.channels != 1 && pre.channels != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.data.channels is ", pre.channels, "; must be 1 or 3"));
  }
  if (pre.format == "idx") return IdxDecoder::Open(pre, listing);
  if (pre.format == "npy") return NpyDecoder::Open(pre, listing);
  if (pre.format == "cifar10" || pre.format == "cifar100") {
    return CifarDecoder::Open(pre, listing);
  }
  if (pre.format == "image_folder") {
    return std::unique_ptr<SourceDecoder>(new ImageFolderDecoder(pre, listing));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "evaluation.data.format '", pre.format,
      "' is not one of idx, npy, cifar10, cifar100, image_folder"));
}

}  // namespace nas
