// bench/data_pipeline: the worker's data path for user image datasets
// (worker/data/): three measurements, each printed as a table and written
// as CSV under --out.
//
//  1. decode: images/s of the one-time decode into the cache (listing,
//     content hashing, decoding, resizing, writing) of PNG and JPEG image
//     folders of camera-like 320 x 240 RGB images to 64 x 64 and 224 x 224,
//     with 1 and 2 decode threads; side by side with torchvision's
//     ImageFolder loader (PIL open + convert + resize, what a PyTorch
//     DataLoader worker does per image), run by Debian's Python on the
//     same files, one process per core.
//  2. train: training images/s of the worker's Trainer fed by a BatchStream
//     from the memory-mapped cache against the same images held in memory
//     (cloned into anonymous memory), alternating, medians.
//  3. memory: a child process per dataset size (10k, 50k, 200k images of
//     64 x 64 x 3) maps the cache and streams a full epoch through the
//     batch pipeline plus ten training steps, with malloc tuned as the
//     worker tunes it; its anonymous memory (RssAnon, sampled during the
//     epoch) against the file-backed pages (RssFile) and the cache size.
//
//   NAS_BUILD_DIR=/tmp/b bash scripts/build.sh data_pipeline
//   /tmp/b/bench/data_pipeline --out=docs/bench/issue17 --work=/tmp/dp
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/spaces/nb201_space.h"
#include "worker/data/batches.h"
#include "worker/data/dataset.h"
#include "worker/data/decode_cache.h"
#include "worker/data/idx.h"
#include "worker/data/sources.h"
#include "worker/device.h"
#include "worker/models/model_builder.h"
#include "worker/trainer.h"

ABSL_FLAG(std::string, work, "/tmp/nas-data-pipeline",
          "scratch directory for the generated images and caches");
ABSL_FLAG(std::string, out, "", "directory for the CSV files (optional)");
ABSL_FLAG(std::string, sections, "decode,train,memory",
          "which measurements to run");
ABSL_FLAG(int, decode_images, 2000, "images per folder for the decode bench");
ABSL_FLAG(std::string, memory_sizes, "10000,50000,200000",
          "dataset sizes of the memory bench");
ABSL_FLAG(int, train_reps, 5, "alternating repetitions of the train bench");
ABSL_FLAG(int, train_epochs, 1, "epochs per train repetition");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torchvision");
ABSL_FLAG(std::string, pil_script, NAS_SOURCE_DIR "/bench/data_pipeline_pil.py",
          "the torchvision/PIL side");
ABSL_FLAG(std::string, fashion_mnist, "/usr/share/datasets/fashion-mnist",
          "source of the image content");
ABSL_FLAG(bool, keep_freed_memory, true,
          "memory child: tune malloc as nas-worker does "
          "(KeepFreedMemoryForReuse); false = glibc's defaults");
ABSL_FLAG(int, train_steps, 10,
          "memory child: training steps on the first batches");
// Internal: the memory child.
ABSL_FLAG(std::string, memory_child, "", "(internal) image folder to stream");

namespace nas {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "data_pipeline: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v) {
  if (!v.ok()) Die(v.status().ToString());
  return *std::move(v);
}

// Fashion-MNIST training images (28 x 28 grey) and labels.
struct Source {
  IdxImages images;
  std::vector<uint8_t> labels;
};

Source ReadFashionMnist() {
  const std::string dir = absl::GetFlag(FLAGS_fashion_mnist);
  Source s;
  s.images = OrDie(ReadIdxImages(dir + "/train-images-idx3-ubyte.gz"));
  s.labels = OrDie(ReadIdxLabels(dir + "/train-labels-idx1-ubyte.gz"));
  return s;
}

// Image i of the source (cycling) as a `w` x `h` BGR image: the garment
// tinted by class over a diagonal gradient, so that PNG and JPEG sizes are
// those of smooth photographs rather than of flat synthetic squares.
cv::Mat MakeImage(const Source& s, int64_t i, int w, int h) {
  const int64_t n = s.images.count;
  const int64_t k = i % n;
  cv::Mat grey(s.images.rows, s.images.cols, CV_8UC1,
               const_cast<uint8_t*>(s.images.pixels.data() +
                                    k * s.images.rows * s.images.cols));
  cv::Mat big;
  cv::resize(grey, big, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  const int c = s.labels[k];
  const cv::Vec3f tint(0.3f + 0.07f * c, 0.9f - 0.06f * c,
                       0.5f + 0.04f * ((c * 3) % 10));
  cv::Mat out(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const float g = big.at<uint8_t>(y, x);
      const float bg = 40.0f + 60.0f * (x + y) / (w + h) + (i % 7);
      cv::Vec3b& px = out.at<cv::Vec3b>(y, x);
      for (int ch = 0; ch < 3; ++ch) {
        px[ch] = cv::saturate_cast<uint8_t>(bg * (1 - g / 255) + g * tint[ch]);
      }
    }
  }
  return out;
}

// Writes images [from, to) of a 10-class folder under `dir` (ext png/jpg).
void WriteFolder(const Source& s, const std::string& dir, int64_t from,
                 int64_t to, int w, int h, const std::string& ext) {
  std::vector<int> params;
  if (ext == "jpg") params = {cv::IMWRITE_JPEG_QUALITY, 90};
  for (int c = 0; c < 10; ++c)
    fs::create_directories(absl::StrCat(dir, "/c", c));
  for (int64_t i = from; i < to; ++i) {
    const int c = s.labels[i % s.images.count];
    const std::string path = absl::StrFormat("%s/c%d/%07d.%s", dir, c, i, ext);
    if (!cv::imwrite(path, MakeImage(s, i, w, h), params)) {
      Die("cannot write " + path);
    }
  }
}

v1::DataSource DirSource(const std::string& dir) {
  v1::DataSource src;
  src.set_dir(dir);
  return src;
}

// An image-folder dataset of 10 classes at 3 x 64 x 64, 10% of `train`
// held out for validation.
v1::EvaluationSpec FolderSpec(const std::string& train, const std::string& test,
                              const std::string& normalization) {
  v1::EvaluationSpec e;
  v1::DataSpec* d = e.mutable_data();
  d->set_format("image_folder");
  *d->mutable_train() = DirSource(train);
  *d->mutable_test() = DirSource(test);
  d->set_height(64);
  d->set_width(64);
  d->set_channels(3);
  d->set_classes(10);
  d->set_normalization(normalization);
  d->set_validation_fraction(0.1);
  return e;
}

// --- 1. decode -------------------------------------------------------------

struct DecodeRow {
  std::string format;
  int side = 0;
  int threads = 0;
  double images_per_s = 0;
  double pil_images_per_s = 0;  // one process (one core)
};

double DecodeOnce(const std::string& dir, int side, int threads,
                  const std::string& cache) {
  fs::remove_all(cache);
  Preprocess pre;
  pre.format = "image_folder";
  pre.height = pre.width = side;
  pre.channels = 3;
  pre.classes = 10;
  const Clock::time_point t0 = Clock::now();
  const SourceListing listing =
      OrDie(ListSource(pre, DirSource(dir), "bench", {}));
  DecodeOptions o;
  o.cache_dir = cache;
  o.threads = threads;
  const DecodedSource d = OrDie(LoadSource(pre, listing, o));
  const double s = Since(t0);
  if (!d.decoded) Die("the decode bench found a cache it should not have");
  return static_cast<double>(d.count) / s;
}

// torchvision's ImageFolder default loader on the same files: images/s of
// one Python process.
double PilImagesPerSecond(const std::string& dir, int side) {
  const std::string out = absl::GetFlag(FLAGS_work) + "/pil.txt";
  const std::string cmd = absl::StrCat(absl::GetFlag(FLAGS_python), " ",
                                       absl::GetFlag(FLAGS_pil_script), " ",
                                       dir, " ", side, " > ", out);
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "data_pipeline: the PIL side failed: %s\n",
                 cmd.c_str());
    return 0;
  }
  std::ifstream in(out);
  double v = 0;
  in >> v;
  return v;
}

std::vector<DecodeRow> RunDecode(const Source& s) {
  const std::string work = absl::GetFlag(FLAGS_work);
  const int n = absl::GetFlag(FLAGS_decode_images);
  std::vector<DecodeRow> rows;
  for (const std::string ext : {"png", "jpg"}) {
    const std::string dir = absl::StrCat(work, "/decode-", ext);
    fs::remove_all(dir);
    const Clock::time_point t0 = Clock::now();
    WriteFolder(s, dir, 0, n, 320, 240, ext);
    std::fprintf(stderr, "wrote %d %s images of 320x240 (%.1fs)\n", n,
                 ext.c_str(), Since(t0));
    for (int side : {64, 224}) {
      const double pil = PilImagesPerSecond(dir, side);
      for (int threads : {1, 2}) {
        DecodeRow r;
        r.format = ext == "png" ? "PNG" : "JPEG";
        r.side = side;
        r.threads = threads;
        r.images_per_s =
            DecodeOnce(dir, side, threads, absl::StrCat(work, "/cache-dec"));
        r.pil_images_per_s = pil;
        std::fprintf(stderr,
                     "decode %s -> %dx%d, %d thread(s): %.0f images/s "
                     "(torchvision/PIL, 1 process: %.0f)\n",
                     r.format.c_str(), side, side, threads, r.images_per_s,
                     pil);
        rows.push_back(r);
      }
    }
  }
  return rows;
}

// --- 2. train ----------------------------------------------------------------

// A small nb201 network on 3 x 64 x 64: the cell of NAS-Bench-201's best
// CIFAR-10 architecture, 8 channels, 1 cell per stage.
std::shared_ptr<CandidateNet> SmallNet(const InputShape& shape,
                                       v1::SearchSpaceSpec* spec) {
  spec->set_name("nb201");
  spec->mutable_nb201()->set_channels(8);
  spec->mutable_nb201()->set_cells_per_stage(1);
  const std::vector<int> choices = {3, 3, 1, 1, 3, 3};
  return OrDie(BuildCandidateNet("nb201", choices, *spec, shape));
}

struct TrainResult {
  double cache_images_per_s = 0, memory_images_per_s = 0;
  int64_t images = 0;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

TrainResult RunTrain() {
  const std::string work = absl::GetFlag(FLAGS_work);
  const v1::EvaluationSpec e =
      FolderSpec(work + "/decode-png", work + "/decode-jpg", "auto");
  DataLoadOptions o;
  o.cache_dir = work + "/cache-train";
  const std::shared_ptr<const Dataset> data = OrDie(LoadDataset(e, o));
  // The same images, copied into anonymous memory.
  auto mem_set = std::make_shared<ImageSet>();
  const Split::Part& part = data->train.parts.at(0);
  mem_set->images = part.source->images.clone();
  mem_set->labels = part.source->labels.clone();
  Split in_memory;
  in_memory.parts.push_back({mem_set, part.index});

  torch::set_num_threads(1);
  const Normalizer norm = Normalizer::For(*data, torch::kCPU);
  v1::SearchSpaceSpec spec;
  TrainResult r;
  r.images = data->train.size();
  std::vector<double> cache_rates, mem_rates;
  const int reps = absl::GetFlag(FLAGS_train_reps);
  const int epochs = absl::GetFlag(FLAGS_train_epochs);
  for (int rep = 0; rep < reps; ++rep) {
    for (int side = 0; side < 2; ++side) {
      // Alternate which side goes first.
      const bool cache = (side == 0) == (rep % 2 == 0);
      torch::manual_seed(1);
      std::shared_ptr<CandidateNet> net = SmallNet(data->shape, &spec);
      TrainOptions to;
      to.batch_size = 128;
      const int64_t steps = (r.images + 127) / 128;
      Trainer trainer(*net, to, torch::kCPU, steps * (epochs + 1));
      trainer.RunEpoch(cache ? data->train : in_memory, norm);  // warm-up
      const Clock::time_point t0 = Clock::now();
      for (int ep = 0; ep < epochs; ++ep) {
        trainer.RunEpoch(cache ? data->train : in_memory, norm);
      }
      const double rate = static_cast<double>(r.images) * epochs / Since(t0);
      (cache ? cache_rates : mem_rates).push_back(rate);
      std::fprintf(stderr, "train rep %d %s: %.1f images/s\n", rep,
                   cache ? "cache " : "memory", rate);
    }
  }
  r.cache_images_per_s = Median(cache_rates);
  r.memory_images_per_s = Median(mem_rates);
  return r;
}

// --- 3. memory ---------------------------------------------------------------

struct ProcMemory {
  int64_t anon_kb = 0, file_kb = 0, hwm_kb = 0;
};

ProcMemory ReadProcMemory() {
  std::ifstream in("/proc/self/status");
  std::string line;
  ProcMemory m;
  while (std::getline(in, line)) {
    long long v = 0;
    if (std::sscanf(line.c_str(), "RssAnon: %lld", &v) == 1) m.anon_kb = v;
    if (std::sscanf(line.c_str(), "RssFile: %lld", &v) == 1) m.file_kb = v;
    if (std::sscanf(line.c_str(), "VmHWM: %lld", &v) == 1) m.hwm_kb = v;
  }
  return m;
}

v1::EvaluationSpec MemorySpec(const std::string& dir) {
  return FolderSpec(dir, absl::GetFlag(FLAGS_work) + "/mem-test", "none");
}

// The child: loads (decoding on the first call for this folder) and then
// streams one epoch of the training split through the batch pipeline
// (every image of the cache is gathered and normalized), with training
// steps on the first ten batches; prints one CSV line.
int MemoryChild(const std::string& dir) {
  if (absl::GetFlag(FLAGS_keep_freed_memory)) KeepFreedMemoryForReuse();
  torch::set_num_threads(1);
  DataLoadOptions o;
  o.cache_dir = absl::GetFlag(FLAGS_work) + "/cache-mem";
  const Clock::time_point t0 = Clock::now();
  const std::shared_ptr<const Dataset> data =
      OrDie(LoadDataset(MemorySpec(dir), o));
  const double load_s = Since(t0);
  const ProcMemory after_load = ReadProcMemory();
  const Normalizer norm = Normalizer::For(*data, torch::kCPU);
  v1::SearchSpaceSpec spec;
  std::shared_ptr<CandidateNet> net = SmallNet(data->shape, &spec);
  TrainOptions to;
  Trainer trainer(*net, to, torch::kCPU, 1000);
  const int64_t n = data->train.size();
  BatchStream stream(data->train, EpochOrder(n, torch::kCPU), 256, norm);
  torch::Tensor x, y;
  int64_t batches = 0, peak_anon = after_load.anon_kb;
  double checksum = 0;
  const Clock::time_point t1 = Clock::now();
  while (stream.Next(&x, &y)) {
    checksum += x.sum().item<double>();
    // The same training work whatever the dataset's size (ten steps), so
    // that what grows with the dataset can only be the data path's.
    if (batches < absl::GetFlag(FLAGS_train_steps)) trainer.Step(x, y);
    if (batches % 20 == 0) {
      peak_anon = std::max(peak_anon, ReadProcMemory().anon_kb);
    }
    ++batches;
  }
  const ProcMemory end = ReadProcMemory();
  peak_anon = std::max(peak_anon, end.anon_kb);
  std::printf(
      "%lld,%.2f,%lld,%lld,%lld,%lld,%.2f,%.6g\n", static_cast<long long>(n),
      load_s, static_cast<long long>(after_load.anon_kb),
      static_cast<long long>(peak_anon), static_cast<long long>(end.file_kb),
      static_cast<long long>(end.hwm_kb), Since(t1), checksum);
  return 0;
}

struct MemoryRow {
  int64_t images_on_disk = 0;
  int64_t train_images = 0;
  double cache_mb = 0;
  double first_load_s = 0;  // decode
  int64_t decode_peak_anon_kb = 0;
  int64_t anon_after_load_kb = 0, peak_anon_kb = 0, file_kb = 0;
  int64_t data_peak_anon_kb = 0;  // batch pipeline only, no training
  double epoch_s = 0;
};

// Runs this binary as the memory child on `dir`; the CSV line it printed.
std::vector<std::string> RunChild(const std::string& self,
                                  const std::string& dir, int train_steps) {
  const std::string out = absl::GetFlag(FLAGS_work) + "/child.csv";
  const std::string cmd = absl::StrCat(
      self, " --work=", absl::GetFlag(FLAGS_work), " --keep_freed_memory=",
      absl::GetFlag(FLAGS_keep_freed_memory) ? "true" : "false",
      " --train_steps=", train_steps, " --memory_child=", dir, " > ", out);
  if (std::system(cmd.c_str()) != 0) Die("memory child failed: " + cmd);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  return absl::StrSplit(line, ',');
}

double DirMegabytes(const std::string& dir, const std::string& suffix) {
  double bytes = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (p.size() >= suffix.size() &&
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      bytes += static_cast<double>(fs::file_size(e.path()));
    }
  }
  return bytes / 1e6;
}

std::vector<MemoryRow> RunMemory(const Source& s, const std::string& self) {
  const std::string work = absl::GetFlag(FLAGS_work);
  const std::string dir = work + "/mem-train";
  fs::remove_all(dir);
  fs::remove_all(work + "/mem-test");
  fs::remove_all(work + "/cache-mem");
  WriteFolder(s, work + "/mem-test", 0, 200, 64, 64, "png");
  std::vector<MemoryRow> rows;
  int64_t written = 0;
  double cache_before = 0;  // the test folder's and earlier sizes' caches
  for (absl::string_view size_text :
       absl::StrSplit(absl::GetFlag(FLAGS_memory_sizes), ',')) {
    const int64_t size = std::stoll(std::string(size_text));
    const Clock::time_point t0 = Clock::now();
    WriteFolder(s, dir, written, size, 64, 64, "png");
    written = size;
    std::fprintf(stderr, "memory: %lld images on disk (wrote in %.1fs)\n",
                 static_cast<long long>(size), Since(t0));
    // The first child decodes (its load time is the decode); the second
    // maps the cache and streams an epoch through the batch pipeline only
    // (the data path's memory); the third adds ten training steps (the
    // worker's, whose activations do not depend on the dataset's size).
    const std::vector<std::string> first = RunChild(self, dir, 0);
    const std::vector<std::string> data_only = RunChild(self, dir, 0);
    const std::vector<std::string> second = RunChild(self, dir, 10);
    MemoryRow r;
    r.images_on_disk = size;
    r.train_images = std::stoll(second.at(0));
    r.first_load_s = std::stod(first.at(1));
    r.decode_peak_anon_kb = std::stoll(first.at(3));
    r.anon_after_load_kb = std::stoll(second.at(2));
    r.peak_anon_kb = std::stoll(second.at(3));
    r.data_peak_anon_kb = std::stoll(data_only.at(3));
    r.file_kb = std::stoll(second.at(4));
    r.epoch_s = std::stod(second.at(6));
    r.cache_mb = DirMegabytes(work + "/cache-mem", ".nasdata") - cache_before;
    cache_before += r.cache_mb;
    std::fprintf(stderr,
                 "memory %lld: decode %.1fs (peak anon %.0f MB); reuse: anon "
                 "%.0f MB after load, peak %.0f MB streaming the epoch, "
                 "%.0f MB with training steps, file-backed %.0f MB, cache "
                 "%.0f MB\n",
                 static_cast<long long>(size), r.first_load_s,
                 r.decode_peak_anon_kb / 1024.0, r.anon_after_load_kb / 1024.0,
                 r.data_peak_anon_kb / 1024.0, r.peak_anon_kb / 1024.0,
                 r.file_kb / 1024.0, r.cache_mb);
    rows.push_back(r);
  }
  return rows;
}

void WriteCsv(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) Die("cannot write " + path);
}

int Main(const std::string& self) {
  const std::string work = absl::GetFlag(FLAGS_work);
  const std::string out = absl::GetFlag(FLAGS_out);
  fs::create_directories(work);
  if (!out.empty()) fs::create_directories(out);
  const std::string sections = absl::GetFlag(FLAGS_sections);
  const Source s = ReadFashionMnist();
  if (sections.find("decode") != std::string::npos ||
      sections.find("train") != std::string::npos) {
    const std::vector<DecodeRow> rows = RunDecode(s);
    std::string csv =
        "format,side,threads,images_per_s,images_per_s_per_thread,"
        "torchvision_pil_images_per_s_one_process,ratio_per_core\n";
    std::printf(
        "\n| format | to | threads | images/s | per thread | "
        "torchvision (PIL), 1 process | ratio per core |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (const DecodeRow& r : rows) {
      const double per = r.images_per_s / r.threads;
      const double ratio =
          r.pil_images_per_s > 0 ? per / r.pil_images_per_s : 0;
      absl::StrAppendFormat(&csv, "%s,%d,%d,%.1f,%.1f,%.1f,%.3f\n", r.format,
                            r.side, r.threads, r.images_per_s, per,
                            r.pil_images_per_s, ratio);
      std::printf("| %s 320x240 | %dx%d | %d | %.0f | %.0f | %.0f | %.2f |\n",
                  r.format.c_str(), r.side, r.side, r.threads, r.images_per_s,
                  per, r.pil_images_per_s, ratio);
    }
    if (!out.empty()) WriteCsv(out + "/decode.csv", csv);
  }
  if (sections.find("train") != std::string::npos) {
    const TrainResult t = RunTrain();
    const double ratio = t.cache_images_per_s / t.memory_images_per_s;
    std::printf(
        "\n| training images/s (%lld images, 3x64x64) | from the "
        "mapped cache | in memory | cache / memory |\n"
        "| --- | --- | --- | --- |\n| nb201 C=8 N=1, batch 128, 1 "
        "thread | %.1f | %.1f | %.3f |\n",
        static_cast<long long>(t.images), t.cache_images_per_s,
        t.memory_images_per_s, ratio);
    if (!out.empty()) {
      WriteCsv(out + "/train.csv",
               absl::StrFormat("images,cache_images_per_s,memory_images_per_s,"
                               "ratio\n%d,%.2f,%.2f,%.4f\n",
                               t.images, t.cache_images_per_s,
                               t.memory_images_per_s, ratio));
    }
  }
  if (sections.find("memory") != std::string::npos) {
    const std::vector<MemoryRow> rows = RunMemory(s, self);
    std::string csv =
        "images_on_disk,train_images,cache_mb,decode_s,decode_peak_anon_mb,"
        "anon_after_load_mb,data_peak_anon_mb,peak_anon_mb,file_backed_mb,"
        "epoch_s\n";
    std::printf(
        "\n| images on disk | its cache file | decode (first load) | peak "
        "anon while decoding | anon after load | peak anon streaming an "
        "epoch | peak anon with 10 training steps | file-backed after the "
        "epoch |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const MemoryRow& r : rows) {
      absl::StrAppendFormat(
          &csv, "%d,%d,%.1f,%.2f,%.1f,%.1f,%.1f,%.1f,%.1f,%.2f\n",
          r.images_on_disk, r.train_images, r.cache_mb, r.first_load_s,
          r.decode_peak_anon_kb / 1024.0, r.anon_after_load_kb / 1024.0,
          r.data_peak_anon_kb / 1024.0, r.peak_anon_kb / 1024.0,
          r.file_kb / 1024.0, r.epoch_s);
      std::printf(
          "| %lld | %.0f MB | %.1f s | %.0f MB | %.0f MB | %.0f MB | "
          "%.0f MB | %.0f MB |\n",
          static_cast<long long>(r.images_on_disk), r.cache_mb, r.first_load_s,
          r.decode_peak_anon_kb / 1024.0, r.anon_after_load_kb / 1024.0,
          r.data_peak_anon_kb / 1024.0, r.peak_anon_kb / 1024.0,
          r.file_kb / 1024.0);
    }
    if (!out.empty()) WriteCsv(out + "/memory.csv", csv);
  }
  return 0;
}

}  // namespace
}  // namespace nas

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string child = absl::GetFlag(FLAGS_memory_child);
  if (!child.empty()) return nas::MemoryChild(child);
  return nas::Main(std::filesystem::canonical("/proc/self/exe").string());
}
