#include "cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <simdjson.h>

#include "cli/exit_codes.h"
#include "cli/gateway_call.h"
#include "cli/json_field.h"
#include "cli/progress_bar.h"
#include "common/http_client.h"
#include "common/job_id.h"
#include "common/job_status.h"
#include "common/json_writer.h"

namespace batchq::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Prints a job record: the whole JSON, or in text the result (or error) alone.
int PrintJob(const Common& common, const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) {
    std::cerr << "error: the gateway sent a job that is not JSON\n";
    return kExitUnavailable;
  }
  std::string_view status;
  status = JsonOr(root["status"], status);
  const auto parsed = ParseJobStatus(status);
  const bool success = parsed == JobStatus::kSucceeded;
  const bool terminal = parsed && IsTerminal(*parsed);
  if (common.output == OutputFormat::kJson) {
    std::cout << body << "\n";
  } else if (success) {
    simdjson::dom::element result;
    std::string_view text;
    if (root["result"].get(result) == simdjson::SUCCESS) {
      if (result.get(text) == simdjson::SUCCESS) {
        std::cout << text << "\n";
      } else {
        std::cout << simdjson::minify(result) << "\n";
      }
    }
  } else {
    std::string_view id, code, message;
    id = JsonOr(root["id"], id);
    code = JsonOr(root["error"]["code"], code);
    message = JsonOr(root["error"]["message"], message);
    std::cout << id << " " << status;
    if (!code.empty()) std::cout << " " << code << ": " << message;
    std::cout << "\n";
  }
  if (!terminal) return kExitOk;
  return success ? kExitOk : kExitJobFailed;
}

std::optional<JobStatus> JsonStatus(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view status;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return std::nullopt;
  if (root["status"].get(status) != simdjson::SUCCESS) return std::nullopt;
  return ParseJobStatus(status);
}

// Fetches the job's raw result and writes it to `path`.
int SaveResult(HttpClient& client, const Common& common, const std::string& id,
               const std::string& path) {
  auto response = client.Get(fmt::format("/v1/jobs/{}/result", id));
  if (!response) return ReportFailure(response.error());
  if (response->status != 200) return ReportHttpError(*response);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  bool written = file != nullptr && std::fwrite(response->body.data(), 1, response->body.size(),
                                                file) == response->body.size();
  if (file != nullptr) written = std::fclose(file) == 0 && written;
  if (!written) {
    std::cerr << "error: cannot write " << path << "\n";
    return kExitRequestError;
  }
  if (common.output == OutputFormat::kText) {
    std::cerr << fmt::format("wrote {} ({}, {} bytes)\n", path, response->Header("Content-Type"),
                             response->body.size());
  }
  return kExitOk;
}

// How long a submit with --wait, or a long-poll, asks the gateway to hold its answer at
// most: 30 s, and half the HTTP timeout, which must outlast the wait.
std::chrono::milliseconds LongestWait(const Common& common) {
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(30), common.http_timeout / 2);
}

// Prints an ended job (or saves its result to `output_path`); the exit code.
int PrintEnded(HttpClient& client, const Common& common, const std::string& id,
               const std::string& body, JobStatus status, const std::string& output_path) {
  const int code = output_path.empty() || common.output == OutputFormat::kJson
                       ? PrintJob(common, body)
                       : kExitOk;
  if (output_path.empty()) return code;
  if (status != JobStatus::kSucceeded) return PrintJob(common, body);
  if (const int saved = SaveResult(client, common, id, output_path); saved != kExitOk) {
    return saved;
  }
  return code;
}

int WaitWith(HttpClient& client, const Common& common, const std::string& id,
             std::chrono::seconds timeout, const std::string& output_path) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  // Progress on stderr in text mode: the status and time so far, redrawn on a terminal
  // (so the long-poll is cut to a second), a plain line per status change otherwise.
  const bool tty = ProgressBar::StderrIsTty();
  std::optional<ProgressBar> progress;
  if (common.output == OutputFormat::kText) progress.emplace(stderr, tty, "job " + id, 0);
  std::optional<JobStatus> last_status;
  const auto longest =
      tty ? std::min<std::chrono::milliseconds>(std::chrono::seconds(1), LongestWait(common))
          : LongestWait(common);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const auto wait = std::clamp(left, std::chrono::milliseconds(0), longest);
    auto response = client.Get(fmt::format("/v1/jobs/{}?wait_ms={}", id, wait.count()));
    if (!response) return ReportFailure(response.error());
    if (response->status != 200) return ReportHttpError(*response);
    const auto status = JsonStatus(response->body);
    if (progress && (tty || status != last_status)) {
      progress->Show(0, fmt::format("{} after {:.1f} s", status ? ToString(*status) : "unknown",
                                    std::chrono::duration<double>(Clock::now() - start).count()));
      last_status = status;
    }
    if (status && IsTerminal(*status)) {
      progress.reset();  // end the progress line before the result
      return PrintEnded(client, common, id, response->body, *status, output_path);
    }
    if (Clock::now() >= deadline) {
      std::cerr << "error: job " << id << " did not finish within " << timeout.count() << " s\n";
      return kExitTimeout;
    }
  }
}

}  // namespace

std::string InputJson(const std::string& input, bool force_string) {
  if (!force_string) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(input).get(root) == simdjson::SUCCESS) return simdjson::minify(root);
  }
  std::string out;
  AppendJsonString(out, input);
  return out;
}

int Submit(const Common& common, const SubmitArgs& args) {
  auto client = Connect(common);
  if (!client) return ReportFailure(client.error());
  JsonWriter body;
  body.BeginObject().Key("type").String(args.type);
  body.Key("input").Raw(InputJson(args.input, args.input_is_string));
  if (args.priority != 0) body.Key("priority").Int(args.priority);
  if (args.max_retries >= 0) body.Key("max_retries").Int(args.max_retries);
  if (!args.callback_url.empty()) body.Key("callback_url").String(args.callback_url);
  body.EndObject();
  // With --wait, the gateway holds the answer until the job ends (up to 30 s, then it
  // answers 202 and the wait goes on with long-polls): most jobs take one round trip.
  const auto first_wait =
      std::min<std::chrono::milliseconds>(args.wait_timeout, LongestWait(common));
  // Every submit carries a key: when its answer is lost, the same submit sent again
  // (by the user, with the key the hint names) gets the job it made, not a second one.
  const std::string key = args.idempotency_key.empty() ? NewJobId() : args.idempotency_key;
  auto response = (*client)->Send(
      HttpRequest{"POST",
                  args.wait ? fmt::format("/v1/jobs?wait_ms={}", first_wait.count()) : "/v1/jobs",
                  body.str(),
                  {{"Content-Type", "application/json"}, {"Idempotency-Key", key}}});
  if (!response) {
    const int code = ReportFailure(response.error());
    // Past connecting (kConnectFailed), the request may have reached the gateway.
    if (response.error().code == ErrorCode::kIoError) {
      std::cerr << "The gateway may have taken the job: the same submit with --idempotency-key "
                << key << " names it rather than making another.\n";
    }
    return code;
  }
  if (response->status != 202 && response->status != 200) return ReportHttpError(*response);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view id;
  if (parser.parse(response->body).get(root) != simdjson::SUCCESS ||
      root["id"].get(id) != simdjson::SUCCESS) {
    std::cerr << "error: the gateway's answer has no job id\n";
    return kExitUnavailable;
  }
  const std::string job_id(id);
  if (response->status == 200) {
    const auto status = JsonStatus(response->body);
    if (status && IsTerminal(*status)) {
      return PrintEnded(**client, common, job_id, response->body, *status, args.output_path);
    }
  }
  if (!args.wait) {
    std::cout << (common.output == OutputFormat::kJson ? response->body : job_id) << "\n";
    return kExitOk;
  }
  if (common.output == OutputFormat::kText) std::cerr << "submitted " << job_id << "\n";
  return WaitWith(**client, common, job_id, args.wait_timeout, args.output_path);
}

namespace {

// One line per job in text ("ID STATUS type=... attempts=..."), the record in JSON.
int PrintStatus(const Common& common, const std::string& id, const std::string& body) {
  if (common.output == OutputFormat::kJson) {
    std::cout << body << "\n";
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return kExitUnavailable;
  std::string_view status, type, worker;
  int64_t attempts = 0, batch_size = 0;
  status = JsonOr(root["status"], status);
  type = JsonOr(root["type"], type);
  attempts = JsonOr(root["attempts"], attempts);
  worker = JsonOr(root["worker"], worker);
  batch_size = JsonOr(root["batch"]["size"], batch_size);
  std::cout << fmt::format("{} {} type={} attempts={}", id, status, type, attempts);
  if (!worker.empty()) std::cout << fmt::format(" worker={} batch_size={}", worker, batch_size);
  std::cout << "\n";
  return kExitOk;
}

// The jobs `ids` through one POST /v1/batch: each printed, or its refusal
// on stderr ("ID: code: message"). kExitRequestError when any was refused.
int StatusBatch(const Common& common, std::span<const std::string> ids) {
  JsonWriter request;
  request.BeginObject().Key("requests").BeginArray();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    request.BeginObject().Key("id").String(std::to_string(i)).Key("method").String("GET");
    request.Key("url").String("/v1/jobs/" + ids[i]).EndObject();
  }
  request.EndArray().EndObject();
  std::string body;
  if (int code = Fetch(
          common,
          HttpRequest{"POST", "/v1/batch", request.Take(), {{"Content-Type", "application/json"}}},
          200, &body)) {
    return code;
  }
  simdjson::dom::parser parser;
  simdjson::dom::array responses;
  if (parser.parse(body)["responses"].get(responses) != simdjson::SUCCESS) return kExitUnavailable;
  int exit = kExitOk;
  std::size_t i = 0;
  for (const simdjson::dom::element response : responses) {
    const std::string& id = ids[i++];
    std::int64_t status = 0;
    status = JsonOr(response["status"], status);
    simdjson::dom::element record;
    if (status == 200 && response["body"].get(record) == simdjson::SUCCESS) {
      if (int code = PrintStatus(common, id, simdjson::minify(record))) exit = code;
      continue;
    }
    std::string_view code, message;
    code = JsonOr(response["body"]["error"]["code"], code);
    message = JsonOr(response["body"]["error"]["message"], message);
    std::cerr << fmt::format("{}: {}: {}\n", id, code, message);
    exit = kExitRequestError;
  }
  return exit;
}

}  // namespace

int Status(const Common& common, const std::vector<std::string>& ids) {
  if (ids.size() == 1) {
    std::string body;
    if (int code = Fetch(common, HttpRequest{"GET", "/v1/jobs/" + ids[0], {}, {}}, 200, &body)) {
      return code;
    }
    return PrintStatus(common, ids[0], body);
  }
  // Many jobs: one call per kMaxApiBatch ids, not one per job.
  constexpr std::size_t kMaxApiBatch = 100;
  int exit = kExitOk;
  for (std::size_t first = 0; first < ids.size(); first += kMaxApiBatch) {
    const std::size_t count = std::min(kMaxApiBatch, ids.size() - first);
    if (int code = StatusBatch(common, std::span(ids).subspan(first, count))) exit = code;
  }
  return exit;
}

int Wait(const Common& common, const std::string& id, std::chrono::seconds timeout,
         const std::string& output_path) {
  auto client = Connect(common);
  if (!client) return ReportFailure(client.error());
  return WaitWith(**client, common, id, timeout, output_path);
}

int Cancel(const Common& common, const std::string& id) {
  std::string body;
  if (int code = Fetch(common, HttpRequest{"DELETE", "/v1/jobs/" + id, {}, {}}, 200, &body)) {
    return code;
  }
  std::cout << (common.output == OutputFormat::kJson ? body : id + " cancelled") << "\n";
  return kExitOk;
}

int Retry(const Common& common, const std::string& id) {
  std::string body;
  if (int code =
          Fetch(common, HttpRequest{"POST", "/v1/jobs/" + id + ":retry", "{}", {}}, 202, &body)) {
    return code;
  }
  std::cout << (common.output == OutputFormat::kJson ? body : id + " queued again") << "\n";
  return kExitOk;
}

int Types(const Common& common) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool printed = false;
  if (int code = FetchListing(common, "/v1/types", parser, &root, &printed); code || printed) {
    return code;
  }
  std::cout << fmt::format("{:<16} {:>9} {:>12} {:>8} {:>9} {:>8}\n", "TYPE", "MAX_BATCH",
                           "MAX_DELAY_US", "QUEUED", "IN_FLIGHT", "WORKERS");
  simdjson::dom::array types;
  if (root["types"].get(types) == simdjson::SUCCESS) {
    for (auto type : types) {
      std::string_view name;
      int64_t max_batch = 0, delay = 0, depth = 0, in_flight = 0, workers = 0;
      name = JsonOr(type["name"], name);
      max_batch = JsonOr(type["max_batch_size"], max_batch);
      delay = JsonOr(type["max_delay_us"], delay);
      depth = JsonOr(type["queue_depth"], depth);
      in_flight = JsonOr(type["in_flight_batches"], in_flight);
      workers = JsonOr(type["workers"], workers);
      std::cout << fmt::format("{:<16} {:>9} {:>12} {:>8} {:>9} {:>8}\n", name, max_batch, delay,
                               depth, in_flight, workers);
    }
  }
  return kExitOk;
}

int Workers(const Common& common) {
  std::string body;
  if (int code = Fetch(common, HttpRequest{"GET", "/v1/types", {}, {}}, 200, &body)) return code;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return kExitUnavailable;
  simdjson::dom::array workers;
  if (root["workers"].get(workers) != simdjson::SUCCESS) return kExitUnavailable;
  if (common.output == OutputFormat::kJson) {
    std::cout << simdjson::minify(workers) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<20} {:<7} {:<28} {:>9} {:>6} {:>10}  {}\n", "WORKER", "BACKEND",
                           "DEVICE", "MEMORY", "BUSY", "BATCHES", "TYPES");
  for (auto worker : workers) {
    std::string_view name, backend, device;
    int64_t memory = 0, credits = 0, free_credits = 0, batches = 0;
    name = JsonOr(worker["name"], name);
    backend = JsonOr(worker["backend"], backend);
    device = JsonOr(worker["device"], device);
    memory = JsonOr(worker["device_memory_bytes"], memory);
    credits = JsonOr(worker["credits"], credits);
    free_credits = JsonOr(worker["free_credits"], free_credits);
    batches = JsonOr(worker["batches_done"], batches);
    std::string types;
    simdjson::dom::array list;
    if (worker["types"].get(list) == simdjson::SUCCESS) {
      for (auto type : list) {
        std::string_view t;
        if (type.get(t) != simdjson::SUCCESS) continue;
        if (!types.empty()) types += ',';
        types += t;
      }
    }
    const std::string memory_text =
        memory > 0 ? fmt::format("{:.1f} GiB", static_cast<double>(memory) / (1 << 30)) : "-";
    std::cout << fmt::format("{:<20} {:<7} {:<28} {:>9} {:>6} {:>10}  {}\n", name, backend, device,
                             memory_text, fmt::format("{}/{}", credits - free_credits, credits),
                             batches, types);
  }
  return kExitOk;
}

}  // namespace batchq::cli
