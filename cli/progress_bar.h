#pragma once
// Progress on stderr for `batchq wait` and `batchq bench`: a bar redrawn in place on a
// terminal, plain lines (at most one a second, and the last) when stderr is not one,
// so logs and CI output stay readable. Not thread-safe: one caller.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace batchq::cli {

// "[######------]" for done of total in `width` cells (pure, for tests).
std::string RenderBar(std::uint64_t done, std::uint64_t total, int width);

class ProgressBar {
 public:
  // `tty`: redraw in place; otherwise plain lines.
  ProgressBar(std::FILE* out, bool tty, std::string label, std::uint64_t total);
  ~ProgressBar();  // ends the line on a terminal

  void Show(std::uint64_t done, std::string_view detail = {});
  // True when stderr is a terminal.
  static bool StderrIsTty();

 private:
  std::FILE* out_;
  const bool tty_;
  const std::string label_;
  const std::uint64_t total_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace batchq::cli
