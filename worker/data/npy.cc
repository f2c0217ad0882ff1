#include "worker/data/npy.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "worker/data/file_util.h"

namespace nas {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// Headers longer than this are not something numpy writes for our arrays.
constexpr uint32_t kMaxHeaderLen = 1 << 16;

absl::Status Malformed(const std::string& path, absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat("'", path, "' is not a valid .npy file: ", why));
}

// A cursor over the header dict, e.g.
// {'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }
class DictParser {
 public:
  explicit DictParser(absl::string_view s) : s_(s) {}
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool String(std::string* out) {
    SkipSpace();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) return false;
    const char q = s_[i_++];
    const size_t end = s_.find(q, i_);
    if (end == absl::string_view::npos) return false;
    *out = std::string(s_.substr(i_, end - i_));
    i_ = end + 1;
    return true;
  }
  bool Word(absl::string_view w) {
    SkipSpace();
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool Int(int64_t* out) {
    SkipSpace();
    size_t j = i_;
    while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) {
      ++j;
    }
    if (j == i_ || j - i_ > 15) return false;
    if (!absl::SimpleAtoi(s_.substr(i_, j - i_), out)) return false;
    i_ = j;
    return true;
  }
  bool AtEnd() {
    SkipSpace();
    return i_ == s_.size();
  }

 private:
  absl::string_view s_;
  size_t i_ = 0;
};

int ItemSize(const std::string& descr) {
  static const struct {
    const char* descr;
    int size;
  } kKnown[] = {{"|u1", 1}, {"<u1", 1}, {"=u1", 1}, {"|i1", 1}, {"<i1", 1},
                {"<i2", 2}, {"<i4", 4}, {"<i8", 8}, {"<u2", 2}, {"<u4", 4},
                {"<u8", 8}, {"=i2", 2}, {"=i4", 4}, {"=i8", 8}, {"=u2", 2},
                {"=u4", 4}, {"=u8", 8}};
  for (const auto& k : kKnown) {
    if (descr == k.descr) return k.size;
  }
  return 0;
}

}  // namespace

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file,
                                         const std::string& path) {
  if (file.size() < kMagicLen + 4 ||
      std::memcmp(file.data(), kMagic, kMagicLen) != 0) {
    return Malformed(path, "no \\x93NUMPY magic");
  }
  const auto* b = reinterpret_cast<const uint8_t*>(file.data());
  const int major = b[6];
  uint32_t header_len;
  size_t prefix;
  if (major == 1) {
    header_len = b[8] | (uint32_t{b[9]} << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (file.size() < 12) return Malformed(path, "truncated header");
    header_len = b[8] | (uint32_t{b[9]} << 8) | (uint32_t{b[10]} << 16) |
                 (uint32_t{b[11]} << 24);
    prefix = 12;
  } else {
    return Malformed(path, absl::StrCat("unsupported format version ", major));
  }
  if (header_len > kMaxHeaderLen || prefix + header_len > file.size()) {
    return Malformed(path, "truncated header");
  }
  DictParser p(file.substr(prefix, header_len));
  NpyHeader h;
  bool have_descr = false, have_order = false, have_shape = false;
  bool fortran = false;
  if (!p.Consume('{')) return Malformed(path, "header is not a dict");
  while (!p.Consume('}')) {
    std::string key;
    if (!p.String(&key) || !p.Consume(':')) {
      return Malformed(path, "bad header dict");
    }
    if (key == "descr") {
      if (!p.String(&h.descr)) return Malformed(path, "bad descr");
      have_descr = true;
    } else if (key == "fortran_order") {
      if (p.Word("False")) {
        fortran = false;
      } else if (p.Word("True")) {
        fortran = true;
      } else {
        return Malformed(path, "bad fortran_order");
      }
      have_order = true;
    } else if (key == "shape") {
      if (!p.Consume('(')) return Malformed(path, "bad shape");
      while (!p.Consume(')')) {
        int64_t d;
        if (!p.Int(&d)) return Malformed(path, "bad shape");
        h.shape.push_back(d);
        if (!p.Consume(',')) {
          if (!p.Consume(')')) return Malformed(path, "bad shape");
          break;
        }
      }
      have_shape = true;
    } else {
      return Malformed(path, absl::StrCat("unexpected header key '", key, "'"));
    }
    if (!p.Consume(',')) {
      if (!p.Consume('}')) return Malformed(path, "bad header dict");
      break;
    }
  }
  // The dict is padded with spaces and ends with a newline.
  if (!p.AtEnd()) return Malformed(path, "trailing bytes in the header");
  if (!have_descr || !have_order || !have_shape) {
    return Malformed(path, "header lacks descr, fortran_order or shape");
  }
  if (fortran) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path,
                     "' is in Fortran order; save it in C order (numpy.save of "
                     "numpy.ascontiguousarray(a))"));
  }
  h.item_size = ItemSize(h.descr);
  if (h.item_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' has dtype '", h.descr,
        "'; expected uint8 images or little-endian integer labels"));
  }
  h.data_offset = static_cast<int64_t>(prefix + header_len);
  return h;
}

absl::Status CheckNpyImages(const NpyHeader& header, int64_t file_size,
                            const std::string& path, int64_t dims[4]) {
  if (header.descr != "|u1" && header.descr != "<u1" && header.descr != "=u1") {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has dtype '", header.descr,
                     "'; images must be uint8 ('|u1')"));
  }
  const auto& s = header.shape;
  if (s.size() != 3 && s.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has ", s.size(),
                     " dimensions; images must be N x H x W or N x H x W x C"));
  }
  dims[0] = s[0];
  dims[1] = s[1];
  dims[2] = s[2];
  dims[3] = s.size() == 4 ? s[3] : 1;
  if (dims[0] < 1 || dims[1] < 1 || dims[2] < 1 || dims[1] > 65536 ||
      dims[2] > 65536 || dims[3] < 1 || dims[3] > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has an implausible shape (", dims[0], ", ",
                     dims[1], ", ", dims[2], ", ", dims[3], ")"));
  }
  const int64_t want =
      header.data_offset + dims[0] * dims[1] * dims[2] * dims[3];
  if (file_size != want) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' holds ", file_size, " bytes but its header describes ",
        want, file_size < want ? " (truncated)" : " (trailing data)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> ReadNpyLabels(const std::string& path) {
  NAS_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f, MappedFile::Open(path));
  NAS_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(f->view(), path));
  const bool one_column = h.shape.size() == 2 && h.shape[1] == 1;
  if (h.shape.size() != 1 && !one_column) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has ", h.shape.size(),
                     " dimensions; labels must be (N,)"));
  }
  const int64_t n = h.shape[0];
  const int64_t want = h.data_offset + n * h.item_size;
  if (static_cast<int64_t>(f->size()) != want) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' holds ", f->size(), " bytes but its header describes ",
        want,
        static_cast<int64_t>(f->size()) < want ? " (truncated)"
                                               : " (trailing data)"));
  }
  const uint8_t* d = f->data() + h.data_offset;
  const bool is_signed = h.descr[1] == 'i';
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* e = d + i * h.item_size;
    uint64_t u = 0;
    for (int k = h.item_size - 1; k >= 0; --k) u = (u << 8) | e[k];
    int64_t v;
    if (is_signed) {
      const int bits = 8 * h.item_size;
      v = bits == 64 ? static_cast<int64_t>(u)
                     : static_cast<int64_t>(u << (64 - bits)) >> (64 - bits);
    } else {
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", path, "': label ", u, " at ", i, " does not fit int64"));
      }
      v = static_cast<int64_t>(u);
    }
    labels[i] = v;
  }
  return labels;
}

}  // namespace nas
