#include "worker/command/line_buffers.h"

#include <utility>

namespace nas {

void LineSplitter::Append(absl::string_view data, const LineFn& on_line) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    const absl::string_view piece =
        nl == absl::string_view::npos ? data : data.substr(0, nl);
    if (!discarding_) {
      partial_.append(piece.data(), piece.size());
      if (partial_.size() > max_line_) {
        partial_.resize(max_line_);
        on_line(partial_, /*too_long=*/true);
        partial_.clear();
        discarding_ = true;
      }
    }
    if (nl == absl::string_view::npos) break;
    if (!discarding_) on_line(partial_, /*too_long=*/false);
    partial_.clear();
    discarding_ = false;
    data.remove_prefix(nl + 1);
  }
}

void LineSplitter::Finish(const LineFn& on_line) {
  if (!discarding_ && !partial_.empty()) on_line(partial_, false);
  partial_.clear();
  discarding_ = false;
}

void TailBuffer::Append(absl::string_view data) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    if (nl == absl::string_view::npos) {
      partial_.append(data.data(), data.size());
      if (partial_.size() > max_bytes_) {
        partial_.erase(0, partial_.size() - max_bytes_);
      }
      break;
    }
    partial_.append(data.data(), nl);
    if (partial_.size() > max_bytes_) {
      partial_.erase(0, partial_.size() - max_bytes_);
    }
    bytes_ += partial_.size() + 1;
    lines_.push_back(std::move(partial_));
    partial_.clear();
    data.remove_prefix(nl + 1);
    Trim();
  }
}

void TailBuffer::Trim() {
  // Drop the oldest line while it could not be part of Tail() anyway.
  while (
      !lines_.empty() &&
      (static_cast<int>(lines_.size()) > max_lines_ ||
       bytes_ - (lines_.front().size() + 1) + partial_.size() >= max_bytes_)) {
    bytes_ -= lines_.front().size() + 1;
    lines_.pop_front();
  }
}

std::string TailBuffer::Tail() const {
  // Newest first until a bound is reached, then in order.
  std::deque<const std::string*> picked;
  size_t bytes = 0;
  if (!partial_.empty()) {
    picked.push_front(&partial_);
    bytes = partial_.size();
  }
  for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) {
    const size_t add = it->size() + (picked.empty() ? 0 : 1);  // newline
    if (static_cast<int>(picked.size()) >= max_lines_ ||
        bytes + add > max_bytes_) {
      break;
    }
    picked.push_front(&*it);
    bytes += add;
  }
  std::string out;
  for (const std::string* line : picked) {
    if (!out.empty()) out += '\n';
    out += *line;
  }
  return out;
}

}  // namespace nas
