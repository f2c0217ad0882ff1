#include "worker/data/decode_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "worker/data/file_util.h"

namespace nas {
namespace {

constexpr char kMagic[8] = {'N', 'A', 'S', 'D', 'A', 'T', 'A', '\0'};
constexpr uint64_t kHeaderSize = 128;

struct CacheHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  int64_t count;
  int32_t channels, height, width, classes;
  uint64_t labels_offset, images_offset, file_size;
  char key[64];
};
static_assert(sizeof(CacheHeader) == kHeaderSize, "header layout");

uint64_t Align64(uint64_t v) { return (v + 63) / 64 * 64; }

int Threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

void Log(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

// Runs fn(begin, end) over [0, n) in chunks on `threads` threads; the
// calling thread reports progress. Returns the error of the lowest failed
// chunk (so that the message does not depend on scheduling).
absl::Status ParallelFor(
    int64_t n, int threads, int64_t chunk,
    const std::function<absl::Status(int64_t, int64_t)>& fn,
    const std::function<void(int64_t)>& progress) {
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable cv;
  // The pool's size is fixed before any thread starts: the threads count
  // `running` down as they finish, possibly while later ones are still
  // being created.
  const int pool_size = std::max<int>(
      1, static_cast<int>(std::min<int64_t>(threads, (n + chunk - 1) / chunk)));
  int running = pool_size;
  int64_t error_begin = INT64_MAX;
  absl::Status error;
  std::vector<std::thread> pool;
  for (int t = 0; t < pool_size; ++t) {
    pool.emplace_back([&] {
      while (!failed.load(std::memory_order_relaxed)) {
        const int64_t b = next.fetch_add(chunk);
        if (b >= n) break;
        const int64_t e = std::min(n, b + chunk);
        absl::Status s = fn(b, e);
        if (!s.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (b < error_begin) {
            error_begin = b;
            error = std::move(s);
          }
          failed = true;
          break;
        }
        done.fetch_add(e - b);
      }
      std::lock_guard<std::mutex> l(mu);
      --running;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> l(mu);
    while (running > 0) {
      cv.wait_for(l, std::chrono::milliseconds(250));
      if (running > 0 && progress) {
        l.unlock();
        progress(done.load());
        l.lock();
      }
    }
  }
  for (std::thread& t : pool) t.join();
  return error;
}

// A temporary file that is removed on destruction unless committed.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }
  void Commit() { committed_ = true; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool committed_ = false;
};

// A writable shared mapping; unmapped on destruction.
class WritableMapping {
 public:
  WritableMapping(void* p, size_t size) : p_(p), size_(size) {}
  ~WritableMapping() { ::munmap(p_, size_); }
  uint8_t* data() const { return static_cast<uint8_t*>(p_); }

 private:
  void* p_;
  size_t size_;
};

struct MemoryOwner {
  std::vector<uint8_t> images;
  std::vector<int64_t> labels;
};

// Cache directory trouble is the operator's, not the client's: never
// NotFound.
absl::Status Unavailable(absl::string_view what, const std::string& path) {
  const int err = errno;
  return absl::UnavailableError(
      absl::StrCat(what, " '", path, "': ", std::strerror(err)));
}

// Decodes the whole source into images/labels (count of them).
absl::Status DecodeAll(const Preprocess& pre, const SourceListing& listing,
                       const SourceDecoder& decoder, const DecodeOptions& o,
                       uint8_t* images, int64_t* labels) {
  const int64_t n = decoder.count();
  const auto start = std::chrono::steady_clock::now();
  auto last_log = start;
  const bool per_file = pre.format == "image_folder";
  const int threads = Threads(o.threads);
  const int64_t chunk = std::max<int64_t>(
      1, std::min<int64_t>(per_file ? 16 : 1024, n / (threads * 8) + 1));
  auto rate = [&](int64_t done) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return s > 0 ? static_cast<int64_t>(done / s) : 0;
  };
  absl::Status s = ParallelFor(
      n, threads, chunk,
      [&](int64_t b, int64_t e) {
        return decoder.Decode(b, e, images + b * pre.image_bytes(), labels + b);
      },
      [&](int64_t done) {
        if (o.on_progress) o.on_progress(done, n);
        const auto now = std::chrono::steady_clock::now();
        if (o.verbose && now - last_log >= std::chrono::seconds(2)) {
          last_log = now;
          Log(absl::StrCat("decoding ", listing.what, ": ", done, "/", n,
                           " images (", rate(done), " images/s)"));
        }
      });
  if (!s.ok()) return s;
  if (o.on_progress) o.on_progress(n, n);
  if (o.verbose) {
    Log(absl::StrCat("decoding ", listing.what, ": ", n, "/", n, " images (",
                     rate(n), " images/s)"));
  }
  return absl::OkStatus();
}

// Maps and checks a cache file. NotFound when absent; DataLoss (with the
// reason) when it is not a whole, matching cache file.
absl::StatusOr<DecodedSource> MapCacheFile(const std::string& path,
                                           const Preprocess& pre,
                                           const std::string& key) {
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f, MappedFile::Open(path));
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("cache file '", path, "' is unusable: ", why));
  };
  if (f->size() < kHeaderSize) return bad("shorter than its header");
  CacheHeader h;
  std::memcpy(&h, f->data(), sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) return bad("magic");
  if (h.version != kDecodeCacheVersion || h.header_size != kHeaderSize) {
    return bad("version");
  }
  if (std::string(h.key, 64) != key) return bad("key");
  if (h.count <= 0 || h.channels != pre.channels || h.height != pre.height ||
      h.width != pre.width || h.classes != pre.classes) {
    return bad("shape");
  }
  const uint64_t n = static_cast<uint64_t>(h.count);
  if (h.labels_offset != kHeaderSize ||
      h.images_offset != Align64(kHeaderSize + 8 * n) ||
      h.file_size !=
          h.images_offset + n * static_cast<uint64_t>(pre.image_bytes()) ||
      h.file_size != f->size()) {
    return bad("size");
  }
  const auto* labels =
      reinterpret_cast<const int64_t*>(f->data() + h.labels_offset);
  for (uint64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= pre.classes) return bad("labels");
  }
  DecodedSource d;
  d.pre = pre;
  d.count = h.count;
  d.labels = labels;
  d.images = f->data() + h.images_offset;
  d.cache_file = path;
  ::madvise(const_cast<uint8_t*>(f->data()), f->size(), MADV_RANDOM);
  d.owner = std::shared_ptr<const MappedFile>(std::move(f));
  return d;
}

// Removes temporary files of `key` left by a crashed decode (the caller
// holds the key's lock, so no live process is writing one).
void RemoveStaleTemps(const std::string& dir, const std::string& key) {
  std::error_code ec;
  const std::string prefix = key + ".nasdata.tmp.";
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (absl::StartsWith(e.path().filename().string(), prefix)) {
      std::filesystem::remove(e.path(), ec);
    }
  }
}

// OpenDecoder, refusing a source without images.
absl::StatusOr<std::unique_ptr<SourceDecoder>> OpenNonEmptyDecoder(
    const Preprocess& pre, const SourceListing& listing) {
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<SourceDecoder> decoder,
                       OpenDecoder(pre, listing));
  if (decoder->count() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(listing.field, ": ", listing.what, " has no images"));
  }
  return decoder;
}

// Decodes into a temporary file and renames it to `final_path`.
absl::Status DecodeToFile(const Preprocess& pre, const SourceListing& listing,
                          const DecodeOptions& o, const std::string& key,
                          const std::string& final_path) {
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<SourceDecoder> decoder,
                       OpenNonEmptyDecoder(pre, listing));
  const int64_t n = decoder->count();
  static std::atomic<uint64_t> counter{0};
  TempFile tmp(
      absl::StrCat(final_path, ".tmp.", ::getpid(), ".", counter.fetch_add(1)));
  ScopedFd fd(
      ::open(tmp.path().c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return Unavailable("cannot create cache file", tmp.path());
  CacheHeader h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kDecodeCacheVersion;
  h.header_size = kHeaderSize;
  h.count = n;
  h.channels = pre.channels;
  h.height = pre.height;
  h.width = pre.width;
  h.classes = pre.classes;
  h.labels_offset = kHeaderSize;
  h.images_offset = Align64(kHeaderSize + 8 * static_cast<uint64_t>(n));
  h.file_size = h.images_offset + static_cast<uint64_t>(n) * pre.image_bytes();
  std::memcpy(h.key, key.data(), 64);
  if (::ftruncate(fd.get(), static_cast<off_t>(h.file_size)) != 0) {
    return Unavailable("cannot size cache file", tmp.path());
  }
  {
    void* p = ::mmap(nullptr, h.file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd.get(), 0);
    if (p == MAP_FAILED)
      return Unavailable("cannot map cache file", tmp.path());
    WritableMapping m(p, h.file_size);
    NAS_RETURN_IF_ERROR(
        DecodeAll(pre, listing, *decoder, o, m.data() + h.images_offset,
                  reinterpret_cast<int64_t*>(m.data() + h.labels_offset)));
    // The header last: a file without it is never taken for a whole one.
    std::memcpy(m.data(), &h, sizeof(h));
  }
  if (::fsync(fd.get()) != 0) {
    return Unavailable("cannot sync cache file", tmp.path());
  }
  fd.reset();
  if (::rename(tmp.path().c_str(), final_path.c_str()) != 0) {
    return Unavailable("cannot rename cache file", tmp.path());
  }
  tmp.Commit();
  const std::string dir =
      std::filesystem::path(final_path).parent_path().string();
  ScopedFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return absl::OkStatus();
}

absl::StatusOr<DecodedSource> DecodeToMemory(const Preprocess& pre,
                                             const SourceListing& listing,
                                             const DecodeOptions& o) {
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<SourceDecoder> decoder,
                       OpenNonEmptyDecoder(pre, listing));
  const int64_t n = decoder->count();
  auto mem = std::make_shared<MemoryOwner>();
  mem->images.resize(static_cast<size_t>(n * pre.image_bytes()));
  mem->labels.resize(static_cast<size_t>(n));
  NAS_RETURN_IF_ERROR(DecodeAll(pre, listing, *decoder, o, mem->images.data(),
                                mem->labels.data()));
  DecodedSource d;
  d.pre = pre;
  d.count = n;
  d.images = mem->images.data();
  d.labels = mem->labels.data();
  d.owner = std::move(mem);
  d.decoded = true;
  return d;
}

struct MemoEntry {
  std::string digest;
  int64_t size = 0, mtime_ns = 0;
  uint64_t ino = 0;
};

std::unordered_map<std::string, MemoEntry> ReadMemo(const std::string& path) {
  std::unordered_map<std::string, MemoEntry> memo;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits('\t', 4));
    MemoEntry e;
    if (f.size() != 5 || !IsSha256Hex(f[0]) ||
        !absl::SimpleAtoi(f[1], &e.size) ||
        !absl::SimpleAtoi(f[2], &e.mtime_ns) ||
        !absl::SimpleAtoi(f[3], &e.ino)) {
      continue;
    }
    e.digest = f[0];
    memo[f[4]] = std::move(e);
  }
  return memo;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> FileDigests(
    const std::vector<std::string>& files, const std::string& cache_dir,
    int threads) {
  const std::string memo_path =
      cache_dir.empty()
          ? ""
          : absl::StrCat(cache_dir, "/digests/",
                         Sha256Hex(absl::StrJoin(files, "\n")), ".tsv");
  std::unordered_map<std::string, MemoEntry> memo;
  if (!memo_path.empty()) memo = ReadMemo(memo_path);
  const int64_t n = static_cast<int64_t>(files.size());
  std::vector<MemoEntry> entries(n);
  std::atomic<int64_t> hashed{0};
  NAS_RETURN_IF_ERROR(ParallelFor(
      n, Threads(threads), 64,
      [&](int64_t b, int64_t e) -> absl::Status {
        for (int64_t i = b; i < e; ++i) {
          const std::string& path = files[i];
          struct stat st;
          if (::stat(path.c_str(), &st) != 0) {
            return ErrnoStatus(errno, "cannot read", path);
          }
          MemoEntry& m = entries[i];
          m.size = st.st_size;
          m.mtime_ns =
              int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
          m.ino = st.st_ino;
          auto it = memo.find(path);
          if (it != memo.end() && it->second.size == m.size &&
              it->second.mtime_ns == m.mtime_ns && it->second.ino == m.ino) {
            m.digest = it->second.digest;
            continue;
          }
          NAS_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f,
                               MappedFile::Open(path, true));
          m.digest = Sha256Hex(f->view());
          hashed.fetch_add(1);
        }
        return absl::OkStatus();
      },
      nullptr));
  if (!memo_path.empty() && hashed.load() > 0) {
    std::string text;
    for (int64_t i = 0; i < n; ++i) {
      if (files[i].find('\n') != std::string::npos) continue;
      absl::StrAppend(&text, entries[i].digest, "\t", entries[i].size, "\t",
                      entries[i].mtime_ns, "\t", entries[i].ino, "\t", files[i],
                      "\n");
    }
    std::error_code ec;
    std::filesystem::create_directories(cache_dir + "/digests", ec);
    static std::atomic<uint64_t> counter{0};
    const std::string tmp =
        absl::StrCat(memo_path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
    }
    if (::rename(tmp.c_str(), memo_path.c_str()) != 0) ::unlink(tmp.c_str());
  }
  std::vector<std::string> digests;
  digests.reserve(n);
  for (MemoEntry& e : entries) digests.push_back(std::move(e.digest));
  return digests;
}

std::string DecodeCacheKey(const Preprocess& pre, const SourceListing& listing,
                           const std::vector<std::string>& digests) {
  std::string text =
      absl::StrCat("nas-decode-cache ", kDecodeCacheVersion, "\nformat ",
                   pre.format, "\nheight ", pre.height, "\nwidth ", pre.width,
                   "\nchannels ", pre.channels, "\nclasses ", pre.classes,
                   "\nresize ", kResizeRuleVersion, "\n");
  for (size_t i = 0; i < digests.size(); ++i) {
    absl::StrAppend(&text, digests[i]);
    if (i < listing.file_labels.size()) {
      absl::StrAppend(&text, " ", listing.file_labels[i]);
    }
    absl::StrAppend(&text, "\n");
  }
  for (const std::string& c : listing.class_names) {
    absl::StrAppend(&text, "class ", c.size(), ":", c, "\n");
  }
  return Sha256Hex(text);
}

absl::StatusOr<DecodedSource> LoadSource(const Preprocess& pre,
                                         const SourceListing& listing,
                                         const DecodeOptions& o) {
  if (o.cache_dir.empty()) return DecodeToMemory(pre, listing, o);
  std::error_code ec;
  std::filesystem::create_directories(o.cache_dir, ec);
  if (ec || ::access(o.cache_dir.c_str(), W_OK) != 0) {
    // A worker without a writable cache (a container with no volume, say)
    // still trains, as it did before the cache existed: data that fits in
    // memory works, and the log says what to set.
    Log(absl::StrCat("data cache: cannot use '", o.cache_dir, "' (",
                     ec ? ec.message() : std::strerror(errno), "); decoding ",
                     listing.what,
                     " into memory (set --data_cache_dir to a writable "
                     "directory to keep it)"));
    return DecodeToMemory(pre, listing, o);
  }
  NAS_ASSIGN_OR_RETURN(std::vector<std::string> digests,
                       FileDigests(listing.files, o.cache_dir, o.threads));
  const std::string key = DecodeCacheKey(pre, listing, digests);
  const std::string path = absl::StrCat(o.cache_dir, "/", key, ".nasdata");

  // Fast path: a whole cache file needs no lock.
  absl::StatusOr<DecodedSource> cached = MapCacheFile(path, pre, key);
  if (cached.ok()) {
    if (o.verbose)
      Log(absl::StrCat("data cache: ", listing.what, " <- ", path));
    return cached;
  }
  const std::string lock_path = absl::StrCat(o.cache_dir, "/", key, ".lock");
  ScopedFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.valid()) return Unavailable("cannot create lock file", lock_path);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (o.verbose) {
      Log(absl::StrCat("data cache: waiting for another worker decoding ",
                       listing.what));
    }
    while (::flock(lock.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return Unavailable("cannot lock", lock_path);
    }
  }
  cached = MapCacheFile(path, pre, key);
  if (cached.ok()) {
    if (o.verbose)
      Log(absl::StrCat("data cache: ", listing.what, " <- ", path));
    return cached;
  }
  if (cached.status().code() != absl::StatusCode::kNotFound) {
    Log(absl::StrCat("data cache: ", cached.status().message(),
                     "; decoding again"));
    ::unlink(path.c_str());
  }
  RemoveStaleTemps(o.cache_dir, key);
  NAS_RETURN_IF_ERROR(DecodeToFile(pre, listing, o, key, path));
  NAS_ASSIGN_OR_RETURN(DecodedSource d, MapCacheFile(path, pre, key));
  d.decoded = true;
  return d;
}

void ChannelMeanStd(const DecodedSource& source,
                    const std::vector<int64_t>& index, int threads,
                    std::vector<double>* mean, std::vector<double>* std) {
  const int c = source.pre.channels;
  const int64_t plane = int64_t{source.pre.height} * source.pre.width;
  std::mutex mu;
  std::vector<uint64_t> sum(c, 0), sq(c, 0);
  const int64_t n = static_cast<int64_t>(index.size());
  ParallelFor(
      n, Threads(threads), 256,
      [&](int64_t b, int64_t e) {
        std::vector<uint64_t> s(c, 0), q(c, 0);
        for (int64_t i = b; i < e; ++i) {
          const uint8_t* img =
              source.images + index[i] * source.pre.image_bytes();
          for (int ch = 0; ch < c; ++ch) {
            const uint8_t* p = img + ch * plane;
            uint64_t ps = 0, pq = 0;
            for (int64_t k = 0; k < plane; ++k) {
              ps += p[k];
              pq += uint32_t{p[k]} * p[k];
            }
            s[ch] += ps;
            q[ch] += pq;
          }
        }
        std::lock_guard<std::mutex> l(mu);
        for (int ch = 0; ch < c; ++ch) {
          sum[ch] += s[ch];
          sq[ch] += q[ch];
        }
        return absl::OkStatus();
      },
      nullptr)
      .IgnoreError();
  mean->assign(c, 0.0);
  std->assign(c, 1.0);
  const double count = static_cast<double>(n) * static_cast<double>(plane);
  if (count == 0) return;
  for (int ch = 0; ch < c; ++ch) {
    const double m = static_cast<double>(sum[ch]) / count;
    const double var = static_cast<double>(sq[ch]) / count - m * m;
    (*mean)[ch] = m / 255.0;
    (*std)[ch] = std::sqrt(std::max(0.0, var)) / 255.0;
  }
}

}  // namespace nas
