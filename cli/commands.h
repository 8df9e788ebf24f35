#pragma once
// The CLI's subcommands, each a function returning an exit code. Output goes to
// stdout (results) and stderr (errors).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace batchq::cli {

enum class OutputFormat { kText, kJson };

struct Common {
  std::string url = "http://127.0.0.1:8080";
  OutputFormat output = OutputFormat::kText;
  // Each step of a request (connecting, sending, the answer); a long-poll asks the
  // gateway to hold its answer at most half of it.
  std::chrono::milliseconds http_timeout{70'000};
  std::string api_key;  // sent as Authorization: Bearer; from the environment or a file
  std::string ca_file;  // https: trust these CAs (PEM) instead of the system's
};

struct SubmitArgs {
  std::string type;
  std::string input;             // JSON text, or a plain string when it is not JSON
  bool input_is_string = false;  // always send `input` as a JSON string
  std::int32_t priority = 0;
  std::int32_t max_retries = -1;  // retries after retryable failures; -1: the type's default
  std::string callback_url;       // POSTed the ended job (a webhook); empty: none
  // Sent as Idempotency-Key, so that the same submit sent again names the same job;
  // empty: a random one.
  std::string idempotency_key;
  bool wait = false;
  std::chrono::seconds wait_timeout{300};
  std::string output_path;  // with wait: save the result's raw bytes here
};

int Submit(const Common& common, const SubmitArgs& args);
// One job (GET), or many through POST /v1/batch, 100 a call.
int Status(const Common& common, const std::vector<std::string>& ids);
// With `output_path`, a succeeded job's result (GET /v1/jobs/{id}/result, e.g. a PNG)
// is written there byte for byte.
int Wait(const Common& common, const std::string& id, std::chrono::seconds timeout,
         const std::string& output_path = "");
int Cancel(const Common& common, const std::string& id);
// POST /v1/jobs/{id}:retry: a failed, expired or cancelled job runs again under its id.
int Retry(const Common& common, const std::string& id);
int Types(const Common& common);
// Live workers: name, backend, device and its memory, types, credits in use, batches done.
int Workers(const Common& common);

// Builds the JSON value for a job input: INPUT as given when it parses as JSON
// (and !force_string), otherwise INPUT as a JSON string.
std::string InputJson(const std::string& input, bool force_string);

}  // namespace batchq::cli
