#include "common/packed_start.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "common/parse_number.h"

namespace batchq {
namespace {

// The whitespace of Lua's %S, which the scripts' reader of the text (job_store_scripts.cpp,
// `unpack_start`) splits its words on: a word holding any of it would read back here but
// not there.
constexpr std::string_view kWhitespace = " \t\n\v\f\r";

bool Packable(std::string_view word) {
  return !word.empty() && word.find_first_of(kWhitespace) == std::string_view::npos;
}

}  // namespace

std::optional<std::string> PackStart(const JobRecord& start) {
  if (!Packable(start.close_reason) || !Packable(start.batch_id)) return std::nullopt;
  std::string text = fmt::format("{} {} {} {} {}", start.dispatched.count(),
                                 start.started.count() - start.dispatched.count(), start.batch_size,
                                 start.close_reason, start.batch_id);
  if (text.size() > kMaxPackedStartBytes) return std::nullopt;
  return text;
}

bool UnpackStart(std::string_view text, JobRecord& record) {
  // Exactly five words, split on single spaces: an empty word or a sixth one does not parse.
  std::array<std::string_view, 5> words;
  std::size_t count = 0;
  for (std::size_t pos = 0; pos <= text.size(); ++count) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    if (count == words.size() || end == pos) return false;
    words[count] = text.substr(pos, end - pos);
    pos = end + 1;
  }
  if (count != words.size()) return false;
  const auto dispatched = ParseWholeNumber<std::int64_t>(words[0]);
  const auto since_dispatch = ParseWholeNumber<std::int64_t>(words[1]);
  const auto batch_size = ParseWholeNumber<std::uint32_t>(words[2]);
  if (!dispatched || !since_dispatch || !batch_size) return false;
  record.dispatched = WallMicros(*dispatched);
  record.started = WallMicros(*dispatched + *since_dispatch);
  record.batch_size = *batch_size;
  record.close_reason.assign(words[3]);
  record.batch_id.assign(words[4]);
  return true;
}

}  // namespace batchq
