#pragma once
// The two log line formats, as spdlog formatters (pure: they only turn a message and
// the thread's LogContext into text, so tests drive them without a logger).
//   text: 2026-11-22 04:57:56.217 gateway[3406] info message batch=… job=…
//   JSON: {"ts":"…Z","level":"info","process":"gateway","pid":3406,"msg":"…",
//          "batch_id":"…","job_id":"…"}   one object per line, every string escaped.

#include <memory>
#include <string_view>

#include <spdlog/formatter.h>

namespace batchq {

std::unique_ptr<spdlog::formatter> MakeTextLogFormatter();
std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter(std::string_view process);

}  // namespace batchq
