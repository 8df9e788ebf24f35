#include "gateway/server_sent_event.h"

#include <fmt/format.h>

namespace batchq {

std::string FormatServerSentEvent(std::string_view id, std::string_view name,
                                  std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + name.size() + 32);
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  if (!name.empty()) out.append("event: ").append(name).append("\n");
  // A line break inside the data would end its field: each line gets its own.
  for (;;) {
    const auto newline = data.find_first_of("\r\n");
    out.append("data: ").append(data.substr(0, newline)).append("\n");
    if (newline == std::string_view::npos) break;
    const bool crlf =
        data[newline] == '\r' && newline + 1 < data.size() && data[newline + 1] == '\n';
    data = data.substr(newline + (crlf ? 2 : 1));
  }
  out.append("\n");
  return out;
}

std::string FormatServerSentComment(std::string_view text) { return fmt::format(": {}\n\n", text); }

std::string FormatServerSentRetry(std::chrono::milliseconds delay) {
  return fmt::format("retry: {}\n\n", delay.count());
}

}  // namespace batchq
