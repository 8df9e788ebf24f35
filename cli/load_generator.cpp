#include "cli/load_generator.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cli/json_field.h"
#include "cli/progress_bar.h"
#include "common/async_http_client.h"
#include "common/http_client.h"
#include "common/job_status.h"
#include "common/json_writer.h"

namespace batchq::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Finished {
  JobStatus status = JobStatus::kFailed;
  std::int64_t created_us = 0;
  std::int64_t started_us = 0;
  std::int64_t finished_us = 0;
  std::int64_t batch_size = 0;
  std::int64_t attempts = 0;
};

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

std::string BuildBody(const LoadOptions& options, unsigned jobs) {
  JsonWriter job;
  job.BeginObject().Key("type").String(options.type).Key("input").Raw(options.input).EndObject();
  if (options.jobs_per_request <= 1) return job.Take();
  std::string body = R"({"jobs":[)";
  for (unsigned i = 0; i < jobs; ++i) {
    if (i > 0) body += ',';
    body += job.str();
  }
  body += "]}";
  return body;
}

// Collects the ids of accepted jobs from a 202 body (single or :batch).
void CollectIds(const std::string& body, std::vector<std::string>& ids, std::uint64_t& refused) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return;
  simdjson::dom::array jobs;
  std::string_view id;
  if (root["jobs"].get(jobs) == simdjson::SUCCESS) {
    for (auto job : jobs) {
      if (job["id"].get(id) == simdjson::SUCCESS) {
        ids.emplace_back(id);
      } else {
        ++refused;
      }
    }
  } else if (root["id"].get(id) == simdjson::SUCCESS) {
    ids.emplace_back(id);
  }
}

// Shows `count` of `total` until `threads` workers are done (bounded by them).
void ShowProgress(bool enabled, std::string_view label, std::uint64_t total,
                  const std::atomic<std::uint64_t>& count, const std::atomic<unsigned>& done,
                  unsigned threads) {
  if (!enabled) return;
  ProgressBar bar(stderr, ProgressBar::StderrIsTty(), std::string(label), total);
  while (done.load() < threads) {
    bar.Show(count.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  bar.Show(count.load());
}

// Counts a thread as done however it leaves.
struct CountOnExit {
  std::atomic<unsigned>& count;
  ~CountOnExit() { ++count; }
};

HttpClientOptions ClientOptions(const LoadOptions& options, std::chrono::milliseconds timeout) {
  HttpClientOptions client;
  client.timeout = timeout;
  client.bearer_token = options.api_key;
  client.ca_file = options.ca_file;
  return client;
}

// Runs `work(c)` on one thread per connection, showing `label` progress as `progress`
// grows towards `total`, and returns once every thread ended.
template <class Work>
void OnEveryConnection(const LoadOptions& options, unsigned connections, const char* label,
                       std::uint64_t total, const std::atomic<std::uint64_t>& progress, Work work) {
  std::atomic<unsigned> threads_done{0};
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      CountOnExit done{threads_done};
      work(c);
    });
  }
  ShowProgress(options.progress, label, total, progress, threads_done, connections);
  for (auto& thread : threads) thread.join();
}

std::optional<Finished> WaitForJob(HttpClient& client, simdjson::dom::parser& parser,
                                   const std::string& id, Clock::time_point deadline);
std::optional<Finished> EndedJob(simdjson::dom::element job);

struct SubmitTotals {
  std::uint64_t submitted = 0;
  std::uint64_t refused = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;  // per request, from when it was due
  std::map<int, std::uint64_t> answers;
};

// What the submit phase's event loops share: the next request to send (each takes the
// next free one, so a fast loop sends more) and the jobs sent so far.
struct SubmitShared {
  Clock::time_point start = Clock::now();
  std::atomic<std::uint64_t> next_request{0};
  std::atomic<std::uint64_t> submitted{0};
};

// One event loop of the submit phase, over some of the connections: each sends its next
// request once its last one was answered (and, in an open loop, once the next is due), so
// the generator costs its host a wake-up per loop turn rather than a thread's two context
// switches per request. Of what connection c got accepted, `ended[c]` collects the jobs
// it saw end (a closed loop's long-poll, or a submit that waited), and `ids[c]` the rest;
// a loop touches only its own connections' entries. Runs on the thread that calls Run.
class SubmitRun {
 public:
  SubmitRun(const LoadOptions& options, SubmitShared& shared,
            const std::vector<unsigned>& connections, std::vector<std::vector<std::string>>& ids,
            std::vector<std::vector<Finished>>& ended)
      : options_(options),
        shared_(shared),
        per_request_(std::max(1u, options.jobs_per_request)),
        requests_((options.count + per_request_ - 1) / per_request_),
        request_interval_s_(options.rate > 0 ? per_request_ / options.rate : 0),
        target_(per_request_ > 1 ? "/v1/jobs:batch"
                : options.submit_wait.count() > 0
                    ? fmt::format("/v1/jobs?wait_ms={}", options.submit_wait.count())
                    : "/v1/jobs"),
        ids_(ids),
        ended_(ended) {
    lanes_.reserve(connections.size());
    for (unsigned c : connections) lanes_.emplace_back(io_, c);
  }

  // Sends requests until none is left; the error of the last failed one, if any, goes to
  // `error`. The totals' `submitted` and `seconds` are left to the caller.
  SubmitTotals Run(std::string* error) {
    // Long-polls wait up to 30 s, and a submit up to its own wait.
    HttpClientOptions client;
    client.timeout = std::chrono::seconds(60) + options_.submit_wait;
    client.bearer_token = options_.api_key;
    client.ca_file = options_.ca_file;
    for (std::size_t c = 0; c < lanes_.size(); ++c) {
      auto created = AsyncHttpClient::Create(io_, options_.url, client);
      if (!created) {
        *error = created.error().message;
        return {};
      }
      lanes_[c].client = std::move(*created);
      Next(c);
    }
    io_.run();
    if (!last_error_.empty()) *error = last_error_;
    return std::move(totals_);
  }

 private:
  struct Lane {
    Lane(boost::asio::io_context& io, unsigned connection) : connection(connection), timer(io) {}
    unsigned connection;  // its index in ids_ and ended_
    std::shared_ptr<AsyncHttpClient> client;
    boost::asio::steady_timer timer;
    unsigned jobs = 0;        // of the request in flight
    Clock::time_point due{};  // when it was due (open loop) or sent
    Clock::time_point wait_deadline{};
  };

  void Next(std::size_t c) {
    const std::uint64_t r = shared_.next_request++;
    if (r >= requests_) return;  // this lane is done
    Lane& lane = lanes_[c];
    lane.jobs = static_cast<unsigned>(
        std::min<std::uint64_t>(per_request_, options_.count - r * per_request_));
    if (request_interval_s_ <= 0) {
      lane.due = Clock::now();
      return Post(c);
    }
    // An open loop: each request has its slot, so a slow server shows as latency rather
    // than as a lower offered load.
    lane.due = shared_.start +
               std::chrono::duration_cast<Clock::duration>(
                   std::chrono::duration<double>(request_interval_s_ * static_cast<double>(r)));
    lane.timer.expires_at(lane.due);
    lane.timer.async_wait([this, c](boost::system::error_code) { Post(c); });
  }

  void Post(std::size_t c) {
    HttpRequest request{"POST",
                        target_,
                        BuildBody(options_, lanes_[c].jobs),
                        {{"Content-Type", "application/json"}}};
    lanes_[c].client->Send(std::move(request),
                           [this, c](Result<HttpResponse> response) { OnSubmitted(c, response); });
  }

  void OnSubmitted(std::size_t c, const Result<HttpResponse>& response) {
    Lane& lane = lanes_[c];
    totals_.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - lane.due).count());
    ++totals_.answers[response ? response->status : 0];
    shared_.submitted += lane.jobs;
    if (!response) last_error_ = response.error().message;
    // 200: a submit that waited, answered with the ended job.
    if (!response || (response->status != 202 && response->status != 200)) {
      totals_.refused += lane.jobs;
      return Next(c);
    }
    // A single submit that waited and got its job ended needs no read at the end.
    simdjson::dom::element job;
    if (per_request_ == 1 && response->status == 200 &&
        parser_.parse(response->body).get(job) == simdjson::SUCCESS) {
      if (auto finished = EndedJob(job)) {
        ended_[lanes_[c].connection].push_back(*finished);
        return Next(c);
      }
    }
    CollectIds(response->body, ids_[lanes_[c].connection], totals_.refused);
    if (options_.closed_loop && per_request_ == 1 && response->status == 202 &&
        !ids_[lanes_[c].connection].empty()) {
      lane.wait_deadline = Clock::now() + options_.wait_timeout;
      return Poll(c);
    }
    Next(c);
  }

  // Long-polls connection c's newest job until it ends or its deadline passes; a job
  // that did not end stays in ids_[lanes_[c].connection], for the read-back.
  void Poll(std::size_t c) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        lanes_[c].wait_deadline - Clock::now());
    if (left.count() <= 0) return Next(c);
    const auto wait = std::min<std::int64_t>(left.count(), 30'000);
    lanes_[c].client->Send(
        HttpRequest{"GET",
                    fmt::format("/v1/jobs/{}?wait_ms={}", ids_[lanes_[c].connection].back(), wait),
                    {},
                    {}},
        [this, c](Result<HttpResponse> response) {
          simdjson::dom::element root;
          if (!response || response->status != 200 ||
              parser_.parse(response->body).get(root) != simdjson::SUCCESS) {
            return Next(c);
          }
          auto finished = EndedJob(root);
          if (!finished) return Poll(c);
          ended_[lanes_[c].connection].push_back(*finished);
          ids_[lanes_[c].connection].pop_back();
          Next(c);
        });
  }

  const LoadOptions& options_;
  SubmitShared& shared_;
  const unsigned per_request_;
  const std::uint64_t requests_;
  const double request_interval_s_;
  const std::string target_;
  std::vector<std::vector<std::string>>& ids_;
  std::vector<std::vector<Finished>>& ended_;
  boost::asio::io_context io_{1};
  std::vector<Lane> lanes_;
  simdjson::dom::parser parser_;
  SubmitTotals totals_;
  std::string last_error_;
};

// Runs options.loop_threads event loops (at most one per connection), connection c on
// loop c mod loops.
SubmitTotals SubmitAll(const LoadOptions& options, unsigned connections,
                       std::vector<std::vector<std::string>>& ids,
                       std::vector<std::vector<Finished>>& ended, std::string* error) {
  const unsigned loops = std::clamp(options.loop_threads, 1u, connections);
  std::vector<std::vector<unsigned>> shares(loops);
  for (unsigned c = 0; c < connections; ++c) shares[c % loops].push_back(c);
  SubmitShared shared;
  std::vector<std::unique_ptr<SubmitRun>> runs;
  for (const auto& share : shares) {
    runs.push_back(std::make_unique<SubmitRun>(options, shared, share, ids, ended));
  }
  std::vector<SubmitTotals> parts(loops);
  std::vector<std::string> errors(loops);
  std::atomic<unsigned> done{0};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < loops; ++i) {
    threads.emplace_back([&, i] {
      CountOnExit count{done};
      parts[i] = runs[i]->Run(&errors[i]);
    });
  }
  ShowProgress(options.progress, "submit", options.count, shared.submitted, done, loops);
  for (auto& thread : threads) thread.join();
  SubmitTotals totals;
  for (unsigned i = 0; i < loops; ++i) {
    if (!errors[i].empty()) *error = errors[i];
    totals.refused += parts[i].refused;
    totals.latencies_ms.insert(totals.latencies_ms.end(), parts[i].latencies_ms.begin(),
                               parts[i].latencies_ms.end());
    for (const auto& [status, n] : parts[i].answers) totals.answers[status] += n;
  }
  totals.submitted = shared.submitted.load();
  totals.seconds = std::chrono::duration<double>(Clock::now() - shared.start).count();
  return totals;
}

// Long-polls one job until it ends; nullopt when it did not by `deadline`.
std::optional<Finished> WaitForJob(HttpClient& client, simdjson::dom::parser& parser,
                                   const std::string& id, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    const auto wait = std::min<std::int64_t>(left.count(), 30'000);
    auto response = client.Get(fmt::format("/v1/jobs/{}?wait_ms={}", id, wait));
    if (!response || response->status != 200) return std::nullopt;
    simdjson::dom::element root;
    if (parser.parse(response->body).get(root) != simdjson::SUCCESS) return std::nullopt;
    if (auto finished = EndedJob(root)) return finished;
  }
}

// The job a body describes, once it ended; nullopt while it has not.
std::optional<Finished> EndedJob(simdjson::dom::element job) {
  std::string_view status;
  status = JsonOr(job["status"], status);
  const auto parsed = ParseJobStatus(status);
  if (parsed && !IsTerminal(*parsed)) return std::nullopt;
  Finished f;
  f.status = parsed.value_or(JobStatus::kFailed);  // a status no row names: failed
  f.created_us = JsonOr(job["timeline"]["created_us"], f.created_us);
  f.started_us = JsonOr(job["timeline"]["started_us"], f.started_us);
  f.finished_us = JsonOr(job["timeline"]["finished_us"], f.finished_us);
  f.batch_size = JsonOr(job["batch"]["size"], f.batch_size);
  f.attempts = JsonOr(job["attempts"], f.attempts);
  return f;
}

std::vector<Finished> WaitForAll(const LoadOptions& options, unsigned connections,
                                 const std::vector<std::vector<std::string>>& ids,
                                 std::uint64_t accepted) {
  std::vector<Finished> finished_all;
  std::mutex finished_mutex;
  const auto deadline = Clock::now() + options.wait_timeout;
  std::atomic<std::uint64_t> finished_count{0};
  OnEveryConnection(options, connections, "finish", accepted, finished_count, [&](unsigned c) {
    auto client =
        HttpClient::Connect(options.url, ClientOptions(options, std::chrono::seconds(60)));
    if (!client) return;
    simdjson::dom::parser parser;
    std::vector<Finished> local;
    for (const auto& id : ids[c]) {
      if (auto finished = WaitForJob(**client, parser, id, deadline)) {
        local.push_back(*finished);
        ++finished_count;
      }
    }
    std::lock_guard lock(finished_mutex);
    finished_all.insert(finished_all.end(), local.begin(), local.end());
  });
  return finished_all;
}

// Outcomes, latencies, queue waits and batch sizes of the finished jobs.
void Summarise(const std::vector<Finished>& finished, LoadReport& report) {
  std::vector<double> latencies, waits;
  std::int64_t first_created = INT64_MAX, last_finished = 0;
  double batch_sum = 0;
  std::uint64_t batch_count = 0;
  for (const auto& f : finished) {
    ++(f.status == JobStatus::kSucceeded ? report.succeeded : report.failed);
    if (f.attempts > 1) ++report.retried;
    if (f.finished_us > 0) {
      latencies.push_back(static_cast<double>(f.finished_us - f.created_us) / 1000.0);
      first_created = std::min(first_created, f.created_us);
      last_finished = std::max(last_finished, f.finished_us);
    }
    if (f.started_us > 0)
      waits.push_back(static_cast<double>(f.started_us - f.created_us) / 1000.0);
    if (f.batch_size > 0) {
      batch_sum += static_cast<double>(f.batch_size);
      ++batch_count;
    }
  }
  report.unfinished = report.accepted - finished.size();
  if (last_finished > first_created) {
    report.end_to_end_jobs_per_s =
        static_cast<double>(finished.size()) / ((last_finished - first_created) / 1e6);
  }
  report.latency_p50_ms = Percentile(latencies, 0.50);
  report.latency_p99_ms = Percentile(latencies, 0.99);
  report.latency_max_ms =
      latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  report.queue_wait_p50_ms = Percentile(waits, 0.50);
  report.queue_wait_p99_ms = Percentile(waits, 0.99);
  report.mean_batch_size = batch_count > 0 ? batch_sum / static_cast<double>(batch_count) : 0;
}

}  // namespace

LoadReport RunLoad(const LoadOptions& options, std::string* error) {
  const unsigned connections = std::max(1u, options.connections);
  std::vector<std::vector<std::string>> ids(connections);
  std::vector<std::vector<Finished>> ended(connections);
  SubmitTotals totals = SubmitAll(options, connections, ids, ended, error);
  LoadReport report;
  report.submitted = totals.submitted;
  report.refused = totals.refused;
  std::uint64_t unseen = 0;
  for (const auto& list : ids) unseen += list.size();
  report.accepted = unseen;
  for (const auto& list : ended) report.accepted += list.size();
  report.submit_seconds = totals.seconds;
  report.submit_p50_ms = Percentile(totals.latencies_ms, 0.50);
  report.submit_p99_ms = Percentile(totals.latencies_ms, 0.99);
  report.answers = std::move(totals.answers);
  report.submit_jobs_per_s = totals.seconds > 0 ? report.accepted / totals.seconds : 0;
  // Only the jobs not seen ending are read again.
  std::vector<Finished> finished = WaitForAll(options, connections, ids, unseen);
  for (const auto& list : ended) finished.insert(finished.end(), list.begin(), list.end());
  Summarise(finished, report);
  return report;
}

std::string FormatReport(const LoadOptions& options, const LoadReport& r) {
  if (options.json) {
    JsonWriter json;
    json.BeginObject();
    json.Key("type")
        .String(options.type)
        .Key("count")
        .Int(static_cast<std::int64_t>(options.count));
    json.Key("rate").Double(options.rate).Key("connections").Int(options.connections);
    json.Key("jobs_per_request").Int(options.jobs_per_request);
    json.Key("submitted").Int(static_cast<std::int64_t>(r.submitted));
    json.Key("accepted").Int(static_cast<std::int64_t>(r.accepted));
    json.Key("refused").Int(static_cast<std::int64_t>(r.refused));
    json.Key("succeeded").Int(static_cast<std::int64_t>(r.succeeded));
    json.Key("failed").Int(static_cast<std::int64_t>(r.failed));
    json.Key("unfinished").Int(static_cast<std::int64_t>(r.unfinished));
    json.Key("retried").Int(static_cast<std::int64_t>(r.retried));
    json.Key("submit_jobs_per_s").Double(r.submit_jobs_per_s);
    json.Key("submit_p50_ms").Double(r.submit_p50_ms);
    json.Key("submit_p99_ms").Double(r.submit_p99_ms);
    json.Key("answers").BeginObject();
    for (const auto& [status, n] : r.answers) {
      json.KeyText(std::to_string(status)).Int(static_cast<std::int64_t>(n));
    }
    json.EndObject();
    json.Key("end_to_end_jobs_per_s").Double(r.end_to_end_jobs_per_s);
    json.Key("latency_p50_ms").Double(r.latency_p50_ms);
    json.Key("latency_p99_ms").Double(r.latency_p99_ms);
    json.Key("latency_max_ms").Double(r.latency_max_ms);
    json.Key("queue_wait_p50_ms").Double(r.queue_wait_p50_ms);
    json.Key("queue_wait_p99_ms").Double(r.queue_wait_p99_ms);
    json.Key("mean_batch_size").Double(r.mean_batch_size);
    json.EndObject();
    return json.Take();
  }
  std::string answers;
  for (const auto& [status, n] : r.answers) {
    answers += fmt::format("{}{}={}", answers.empty() ? "" : " ",
                           status == 0 ? std::string("none") : std::to_string(status), n);
  }
  return fmt::format(
      "type={} count={} rate={} connections={} jobs_per_request={}\n"
      "submitted={} accepted={} refused={} succeeded={} failed={} unfinished={} retried={}\n"
      "answers             {}\n"
      "submit latency (ms) p50 {:.2f}  p99 {:.2f}   [from when each request was due]\n"
      "submit throughput   {:.0f} jobs/s ({:.2f} s)\n"
      "end-to-end          {:.0f} jobs/s\n"
      "latency (ms)        p50 {:.2f}  p99 {:.2f}  max {:.2f}   [gateway accept -> result "
      "written]\n"
      "queue wait (ms)     p50 {:.2f}  p99 {:.2f}\n"
      "mean batch size     {:.2f}",
      options.type, options.count,
      options.rate == 0 ? std::string("max") : fmt::format("{}", options.rate), options.connections,
      options.jobs_per_request, r.submitted, r.accepted, r.refused, r.succeeded, r.failed,
      r.unfinished, r.retried, answers, r.submit_p50_ms, r.submit_p99_ms, r.submit_jobs_per_s,
      r.submit_seconds, r.end_to_end_jobs_per_s, r.latency_p50_ms, r.latency_p99_ms,
      r.latency_max_ms, r.queue_wait_p50_ms, r.queue_wait_p99_ms, r.mean_batch_size);
}

}  // namespace batchq::cli
