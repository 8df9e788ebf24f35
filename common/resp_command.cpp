#include "common/resp_command.h"

#include <charconv>

namespace batchq {
namespace {

void AppendCountLine(std::string& out, char kind, std::size_t count) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, count).ptr;
  out.push_back(kind);
  out.append(digits, end);
  out.append("\r\n", 2);
}

}  // namespace

void AppendRespCommand(std::string& out, std::span<const std::string_view> args) {
  AppendCountLine(out, '*', args.size());
  for (const std::string_view arg : args) {
    AppendCountLine(out, '$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
}

}  // namespace batchq
