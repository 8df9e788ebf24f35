#pragma once
// A Redis command in RESP, the protocol's own framing of an argument list
// ("*<count>\r\n" then "$<length>\r\n<bytes>\r\n" per argument): what hiredis's
// redisFormatCommandArgv writes. A pipeline appends all its commands to one buffer
// and hands hiredis that buffer once; hiredis's own formatter builds each argument
// through its sds strings, which was a tenth of the gateway's instructions per job.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace batchq {

// The bytes AppendRespCommand appends for `args`: a pipeline sizes its buffer once.
std::size_t RespCommandSize(std::span<const std::string_view> args);
// Appends `args` as one RESP command to `out`. Arguments may hold any bytes.
void AppendRespCommand(std::string& out, std::span<const std::string_view> args);
// Appends each of `commands` in turn, with the buffer sized once for them all.
void AppendRespCommands(std::string& out, std::span<const std::vector<std::string_view>> commands);

}  // namespace batchq
