#include "common/job_change.h"

#include <array>

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace batchq {

std::string FormatJobChange(const JobChange& change) {
  return fmt::format("{}\t{}\t{}\t{}\t{}", change.id, ToString(change.status), change.attempt,
                     change.tenant, change.type);
}

namespace {

std::optional<JobChange> ParseLine(std::string_view line) {
  std::array<std::string_view, 5> parts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto tab = line.find('\t');
    if ((tab == std::string_view::npos) != (i + 1 == parts.size())) return std::nullopt;
    parts[i] = line.substr(0, tab);
    line = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
  }
  const auto status = ParseJobStatus(parts[1]);
  std::int64_t attempt = 0;
  const auto [end, ec] =
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), attempt);
  if (parts[0].empty() || !status || ec != std::errc() ||
      end != parts[2].data() + parts[2].size()) {
    return std::nullopt;
  }
  return JobChange{std::string(parts[0]), *status, attempt, std::string(parts[3]),
                   std::string(parts[4])};
}

}  // namespace

std::vector<JobChange> ParseJobChanges(std::string_view message, std::size_t* skipped) {
  std::vector<JobChange> changes;
  while (!message.empty()) {
    const auto newline = message.find('\n');
    const std::string_view line = message.substr(0, newline);
    message = newline == std::string_view::npos ? std::string_view{} : message.substr(newline + 1);
    if (auto change = ParseLine(line)) {
      changes.push_back(std::move(*change));
    } else if (skipped != nullptr) {
      ++*skipped;
    }
  }
  return changes;
}

}  // namespace batchq
