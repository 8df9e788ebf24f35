#include "common/resp_command.h"

#include <charconv>
#include <cstring>

namespace batchq {
namespace {

std::size_t DecimalDigits(std::size_t n) {
  std::size_t digits = 1;
  for (; n >= 10; n /= 10) ++digits;
  return digits;
}

// "<kind><count>\r\n" at `at`, which has room for it; returns the end.
char* PutCountLine(char* at, char kind, std::size_t count) {
  *at++ = kind;
  at = std::to_chars(at, at + 20, count).ptr;
  *at++ = '\r';
  *at++ = '\n';
  return at;
}

// Writes `args` as one RESP command at `at`, which has room for RespCommandSize(args)
// bytes; returns the end.
char* PutRespCommand(char* at, std::span<const std::string_view> args) {
  at = PutCountLine(at, '*', args.size());
  for (const std::string_view arg : args) {
    at = PutCountLine(at, '$', arg.size());
    if (!arg.empty()) std::memcpy(at, arg.data(), arg.size());
    at += arg.size();
    *at++ = '\r';
    *at++ = '\n';
  }
  return at;
}

}  // namespace

std::size_t RespCommandSize(std::span<const std::string_view> args) {
  std::size_t size = 3 + DecimalDigits(args.size());
  for (const std::string_view arg : args) size += 5 + DecimalDigits(arg.size()) + arg.size();
  return size;
}

void AppendRespCommand(std::string& out, std::span<const std::string_view> args) {
  // Sized once and written through a pointer: appending piece by piece cost five calls,
  // each with its capacity check, per argument (docs/BENCHMARKS.md).
  const std::size_t start = out.size();
  out.resize(start + RespCommandSize(args));
  PutRespCommand(out.data() + start, args);
}

void AppendRespCommands(std::string& out, std::span<const std::vector<std::string_view>> commands) {
  std::size_t size = 0;
  for (const auto& command : commands) size += RespCommandSize(command);
  const std::size_t start = out.size();
  out.resize(start + size);
  char* at = out.data() + start;
  for (const auto& command : commands) at = PutRespCommand(at, command);
}

}  // namespace batchq
