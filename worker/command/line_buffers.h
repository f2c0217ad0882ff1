// Byte streams of a trainer program cut into lines: LineSplitter for its
// report pipe (each line handed over whole, over-long lines flagged) and
// TailBuffer for the last lines of its stderr (bounded in lines and bytes,
// quoted in failure reasons). Not thread-safe.
#ifndef NAS_WORKER_COMMAND_LINE_BUFFERS_H_
#define NAS_WORKER_COMMAND_LINE_BUFFERS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace nas {

class LineSplitter {
 public:
  // `line` has no newline; `too_long` when it ran past max_line bytes
  // (then `line` is its first max_line bytes, and the rest up to the next
  // newline is dropped).
  using LineFn = std::function<void(absl::string_view line, bool too_long)>;
  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}
  // Calls `on_line` for each line completed by `data`.
  void Append(absl::string_view data, const LineFn& on_line);
  // At end of stream: the unterminated last line, if any.
  void Finish(const LineFn& on_line);

 private:
  const size_t max_line_;
  std::string partial_;
  bool discarding_ = false;  // inside an over-long line already reported
};

class TailBuffer {
 public:
  TailBuffer(int max_lines, size_t max_bytes)
      : max_lines_(max_lines), max_bytes_(max_bytes) {}
  void Append(absl::string_view data);
  // The last lines (at most max_lines, at most max_bytes in all, an
  // over-long line cut to its end), joined by newlines; "" when empty.
  std::string Tail() const;

 private:
  void Trim();
  const int max_lines_;
  const size_t max_bytes_;
  std::deque<std::string> lines_;  // complete lines
  std::string partial_;            // the line being written
  size_t bytes_ = 0;               // in lines_
};

}  // namespace nas

#endif  // NAS_WORKER_COMMAND_LINE_BUFFERS_H_
