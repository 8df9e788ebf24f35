#include "common/logging.h"

#include "common/log_format.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace batchq {

void SetUpLogging(std::string_view process, std::string_view level, bool json) {
  auto logger = spdlog::stderr_logger_mt(std::string(process));
  logger->set_formatter(json ? MakeJsonLogFormatter(process) : MakeTextLogFormatter());
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace batchq
