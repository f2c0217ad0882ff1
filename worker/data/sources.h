// The readers of each dataset format (idx, npy, cifar10, cifar100,
// image_folder): ListSource finds a source's files (cheap: no image is
// read), OpenDecoder reads them into uint8 C x H x W images at the training
// resolution. LibTorch-free; OpenCV decodes and resizes images.
#ifndef NAS_WORKER_DATA_SOURCES_H_
#define NAS_WORKER_DATA_SOURCES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nas/v1/architecture.pb.h"

namespace nas {

// What every image becomes: uint8, `channels` x `height` x `width`
// (planar; channel order RGB), labels in [0, classes).
struct Preprocess {
  std::string format;  // "idx", "npy", "cifar10", "cifar100", "image_folder"
  int height = 0;
  int width = 0;
  int channels = 0;
  int classes = 0;
  int64_t image_bytes() const { return int64_t{channels} * height * width; }
};

// Version of the resize rule (INTER_AREA when shrinking both sides,
// INTER_LINEAR otherwise, none at the same size) and of the channel
// conversion; part of the cache key, so bump it when either changes.
inline constexpr int kResizeRuleVersion = 1;

// A source's files, resolved (real paths under the allowed roots).
struct SourceListing {
  // The spec field, e.g. "evaluation.data.train", for messages.
  std::string field;
  // For logs: the format and the main path.
  std::string what;
  // The files whose content makes the source, in order (idx/npy: images
  // then labels; cifar: the batch files; image_folder: the images, class
  // by class, each class's files sorted by name).
  std::vector<std::string> files;
  // image_folder only: the class subfolder names (sorted) and each file's
  // class index.
  std::vector<std::string> class_names;
  std::vector<int32_t> file_labels;
};

// Lists `source` (the spec field `field`) for `pre.format`. Every path is
// resolved and must lie under `allowed_roots` (when not empty) before
// anything is opened: PermissionDenied naming the field. InvalidArgument
// for an unknown format, a required path left empty, an image folder with
// no class folders, a class folder count other than pre.classes, or an
// empty class folder; NotFound for a missing path. An image folder's
// class folders are its subdirectories (sorted by name); within each,
// files ending in .png, .jpg or .jpeg (any case) are images and all other
// files, subfolders and hidden files are ignored.
absl::StatusOr<SourceListing> ListSource(
    const Preprocess& pre, const v1::DataSource& source,
    absl::string_view field, const std::vector<std::string>& allowed_roots);

// Reads a listed source. Thread-safe: Decode may run on several threads at
// once (over disjoint ranges).
class SourceDecoder {
 public:
  virtual ~SourceDecoder() = default;
  // Images in the source.
  virtual int64_t count() const = 0;
  // Decodes images [begin, end): writes (end - begin) * pre.image_bytes()
  // bytes to `images` and end - begin labels to `labels`. DataLoss naming
  // the file for an undecodable image; InvalidArgument naming the file, the
  // index and the value for a label outside [0, classes).
  virtual absl::Status Decode(int64_t begin, int64_t end, uint8_t* images,
                              int64_t* labels) const = 0;
};

// Opens the listed files and checks them against the spec: counts of
// images and labels agree, channels equal pre.channels, record sizes fit.
// NotFound for a missing file, DataLoss for a truncated or malformed one,
// InvalidArgument for a disagreement with the spec; messages name the file
// and both values. idx and npy read the whole image array into memory (or
// map it); image folders read nothing yet.
absl::StatusOr<std::unique_ptr<SourceDecoder>> OpenDecoder(
    const Preprocess& pre, const SourceListing& listing);

// Converts one interleaved (H x W x C, C = pre.channels) uint8 image to
// planar pre.channels x pre.height x pre.width at `dst`, resizing by the
// kResizeRuleVersion rule; `bgr` reverses the channel order (OpenCV's).
void ToPlanar(const uint8_t* src, int height, int width, const Preprocess& pre,
              bool bgr, uint8_t* dst);

}  // namespace nas

#endif  // NAS_WORKER_DATA_SOURCES_H_
