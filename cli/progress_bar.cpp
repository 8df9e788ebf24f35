#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace batchq::cli {

std::string RenderBar(std::uint64_t done, std::uint64_t total, int width) {
  const std::uint64_t filled =
      total == 0 ? static_cast<std::uint64_t>(width)
                 : std::min<std::uint64_t>(width, done * static_cast<std::uint64_t>(width) / total);
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

ProgressBar::ProgressBar(std::FILE* out, bool tty, std::string label, std::uint64_t total)
    : out_(out), tty_(tty), label_(std::move(label)), total_(total) {}

ProgressBar::~ProgressBar() {
  if (tty_ && drawn_) std::fputc('\n', out_);
}

bool ProgressBar::StderrIsTty() { return isatty(STDERR_FILENO) == 1; }

void ProgressBar::Show(std::uint64_t done, std::string_view detail) {
  const auto now = std::chrono::steady_clock::now();
  const bool complete = total_ > 0 && done >= total_;
  if (finished_) return;
  // A terminal can take ten redraws a second; a log file one line a second.
  const auto every = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000);
  if (!complete && drawn_ && now - last_ < every) return;
  last_ = now;
  drawn_ = true;
  finished_ = complete;
  // A bar only on a terminal, and only with a total (not for one job's wait).
  const std::string counts = total_ > 0 ? fmt::format("{}/{}", done, total_) : "";
  const std::string bar = tty_ && total_ > 0 ? RenderBar(done, total_, 30) : "";
  std::string line = label_;
  for (const std::string_view part : {std::string_view(bar), std::string_view(counts), detail}) {
    if (part.empty()) continue;
    line += ' ';
    line += part;
  }
  if (tty_) {
    fmt::print(out_, "\r{}\x1b[K", line);
  } else {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

}  // namespace batchq::cli
