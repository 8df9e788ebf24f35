#include "common/packed_start.h"

#include <cstdint>

#include <fmt/format.h>

#include "common/parse_number.h"

namespace batchq {
namespace {

// The next space-separated word of `text` from `pos` on, moving `pos` past it and its
// space; nullopt at the end.
std::optional<std::string_view> NextWord(std::string_view text, std::size_t& pos) {
  if (pos > text.size()) return std::nullopt;
  const std::size_t space = text.find(' ', pos);
  const std::size_t end = space == std::string_view::npos ? text.size() : space;
  const std::string_view word = text.substr(pos, end - pos);
  pos = end + 1;
  return word;
}

template <class T>
std::optional<T> Number(std::optional<std::string_view> word) {
  return word ? ParseWholeNumber<T>(*word) : std::nullopt;
}

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
  std::size_t pos = 0;
  const auto dispatched = Number<std::int64_t>(NextWord(text, pos));
  const auto since_dispatch = Number<std::int64_t>(NextWord(text, pos));
  const auto batch_size = Number<std::uint32_t>(NextWord(text, pos));
  const auto close_reason = NextWord(text, pos);
  const auto batch_id = NextWord(text, pos);
  if (!dispatched || !since_dispatch || !batch_size || !close_reason || close_reason->empty() ||
      !batch_id || batch_id->empty() || pos <= text.size()) {
    return false;
  }
  record.dispatched = WallMicros(*dispatched);
  record.started = WallMicros(*dispatched + *since_dispatch);
  record.batch_size = *batch_size;
  record.close_reason.assign(*close_reason);
  record.batch_id.assign(*batch_id);
  return true;
}

}  // namespace batchq
