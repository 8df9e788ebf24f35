// batchq: the command-line client. Parses flags and calls one subcommand.
#include <cctype>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/key_commands.h"
#include "cli/keygen_command.h"
#include "cli/load_generator.h"
#include "cli/webhook_commands.h"
#include "common/command_line.h"

int main(int argc, char** argv) {
  using namespace batchq::cli;
  batchq::CommandLine command_line{
      "batchq: submit jobs to a batchq gateway, poll them, and load-test it.\n"
      "Exit codes: 0 ok, 1 job failed/cancelled/expired, 2 usage, 3 request refused "
      "(4xx), 4 gateway unreachable or 5xx, 5 wait timed out."};
  command_line.RequireOneSubcommand();
  Common common;
  std::string output = "text";
  command_line.Option("--url", common.url, "Gateway base URL").Env("BATCHQ_URL").ShowDefault();
  command_line
      .Option("--api-key", common.api_key,
              "API key (Authorization: Bearer). Prefer the environment variable or "
              "--api-key-file: a command line is visible to other users")
      .Env("BATCHQ_API_KEY");
  std::string api_key_file;
  command_line.Option("--api-key-file", api_key_file, "Read the API key from this file")
      .Env("BATCHQ_API_KEY_FILE")
      .Check(batchq::FlagCheck::ExistingFile());
  command_line
      .Option("--cacert", common.ca_file,
              "https:// URLs: trust the CA certificates in this PEM file")
      .Env("BATCHQ_CACERT")
      .Check(batchq::FlagCheck::ExistingFile());
  int http_timeout_s = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(common.http_timeout).count());
  command_line
      .Option("--http-timeout-s", http_timeout_s,
              "Longest wait for each step of a request (connecting, sending, the answer), "
              "seconds; long-polls ask the gateway to answer within half of it")
      .Env("BATCHQ_HTTP_TIMEOUT_S")
      .Check(batchq::FlagCheck::Range(1, 3600))
      .ShowDefault();
  command_line.Option("--output,-o", output, "text|json")
      .Env("BATCHQ_OUTPUT")
      .Check(batchq::FlagCheck::OneOf({"text", "json"}))
      .ShowDefault();

  SubmitArgs submit;
  int submit_wait_s = static_cast<int>(submit.wait_timeout.count());
  auto& submit_cmd =
      command_line.Subcommand("submit", "Submit a job; prints its id (or its result with --wait)");
  submit_cmd.Option("type", submit.type, "Job type, e.g. upper").Required();
  submit_cmd
      .Option("input", submit.input, "Job input: JSON, or plain text that is sent as a JSON string")
      .Required();
  submit_cmd.Switch("--string", submit.input_is_string, "Send INPUT as a JSON string as-is");
  submit_cmd.Option("--priority", submit.priority, "Higher runs first").ShowDefault();
  submit_cmd
      .Option("--max-retries", submit.max_retries,
              "Runs again after a retryable failure, at most this often (0-20); default: "
              "the type's")
      .Check(batchq::FlagCheck::Range(0, 20));
  submit_cmd.Option("--callback-url", submit.callback_url,
                    "POST the ended job here, signed with the key's webhook secret (the key "
                    "needs one: keys create --webhook)");
  submit_cmd.Option("--idempotency-key", submit.idempotency_key,
                    "Sent as Idempotency-Key: the same submit with the same key names the "
                    "same job while the gateway keeps the key (its --result-ttl-s; default "
                    "here: a random key)");
  submit_cmd.Switch("--wait", submit.wait, "Wait for the job and print its result");
  submit_cmd.Option("--timeout-s", submit_wait_s, "Longest wait with --wait, seconds")
      .ShowDefault();
  submit_cmd.Option("-o,--out", submit.output_path,
                    "With --wait: save the raw result (e.g. a PNG) to this file");

  std::string id;
  std::vector<std::string> ids;
  auto& status_cmd = command_line.Subcommand("status", "Show jobs' status (many in one call)");
  status_cmd.Option("ids", ids, "Job ids").Required();

  int wait_s = 300;
  auto& wait_cmd = command_line.Subcommand("wait", "Wait until a job ends; print its result");
  wait_cmd.Option("id", id, "Job id").Required();
  wait_cmd.Option("--timeout-s", wait_s, "Longest wait, seconds").ShowDefault();
  std::string wait_out;
  wait_cmd.Option("-o,--out", wait_out, "Save the raw result (e.g. a PNG) to this file");

  auto& cancel_cmd = command_line.Subcommand("cancel", "Cancel a queued or running job");
  cancel_cmd.Option("id", id, "Job id").Required();
  auto& retry_cmd =
      command_line.Subcommand("retry", "Run a failed, expired or cancelled job again under its id");
  retry_cmd.Option("id", id, "Job id").Required();

  auto& webhooks_cmd =
      command_line.Subcommand("webhooks", "Dead webhook deliveries of your tenant");
  webhooks_cmd.RequireOneSubcommand();
  int webhooks_limit = 100;
  auto& webhooks_failed_cmd =
      webhooks_cmd.Subcommand("failed", "List deliveries that ran out of tries, newest first");
  webhooks_failed_cmd.Option("--limit", webhooks_limit, "At most this many (1-1000)")
      .Check(batchq::FlagCheck::Range(1, 1000))
      .ShowDefault();
  std::string delivery_id;
  auto& webhooks_resend_cmd =
      webhooks_cmd.Subcommand("resend", "Queue a dead delivery again, its tries reset");
  webhooks_resend_cmd.Option("id", delivery_id, "Delivery id (<job id>.<attempt>)").Required();

  auto& types_cmd =
      command_line.Subcommand("types", "List job types, their batching and live workers");
  auto& workers_cmd = command_line.Subcommand(
      "workers", "List live workers: device, memory, batches in hand (BUSY), types");

  auto& keys_cmd = command_line.Subcommand("keys", "Manage API keys (needs an admin key)");
  keys_cmd.RequireOneSubcommand();
  KeyCreateArgs key_create;
  auto& key_create_cmd =
      keys_cmd.Subcommand("create", "Create a key; prints it once (store it then)");
  key_create_cmd.Option("--tenant", key_create.tenant, "The tenant the key belongs to").Required();
  key_create_cmd
      .Option("--scopes", key_create.scopes, "Comma-separated: submit, read, cancel, admin")
      .Required();
  key_create_cmd.Option("--rate", key_create.rate, "Requests per second (0: no limit)")
      .Check(batchq::FlagCheck::NonNegative());
  key_create_cmd.Option("--burst", key_create.burst, "Requests above the rate at once");
  key_create_cmd.Option("--max-queued", key_create.max_queued,
                        "Refuse submits while the tenant has this many jobs queued");
  key_create_cmd.Option("--max-stored-bytes", key_create.max_stored_bytes,
                        "Refuse submits while the tenant's jobs hold this many bytes in "
                        "Redis, finished ones included (0: the gateway's default)");
  key_create_cmd
      .Option("--weight", key_create.weight,
              "The tenant's share of each job type against other tenants")
      .Check(batchq::FlagCheck::Range(1, 1000));
  key_create_cmd.Option("--expires-in", key_create.expires_in,
                        "Lifetime, e.g. 90d, 12h, 30m (default: never)");
  auto& key_list_cmd = keys_cmd.Subcommand("list", "List keys (never their secrets)");
  std::string key_id;
  key_create_cmd.Switch("--webhook", key_create.webhook,
                        "Give the key a secret that signs its jobs' webhooks (printed once)");
  auto& key_revoke_cmd = keys_cmd.Subcommand("revoke", "Revoke a key at once");
  key_revoke_cmd.Option("id", key_id, "Key id (from keys list)").Required();
  auto& key_rotate_cmd = keys_cmd.Subcommand(
      "rotate-webhook-secret", "Give a key a new webhook secret (printed once); the old one ends");
  key_rotate_cmd.Option("id", key_id, "Key id (from keys list)").Required();

  std::string keygen_prefix;
  auto& keygen_cmd = command_line.Subcommand(
      "keygen",
      "Make a CURVE key pair for a broker, gateway or worker: PREFIX.key (secret, 0600) and "
      "PREFIX.pub; prints the public key");
  keygen_cmd.Option("prefix", keygen_prefix, "Path without extension, e.g. keys/worker-a")
      .Required();

  LoadOptions load;
  int load_wait_s = static_cast<int>(load.wait_timeout.count());
  auto& bench_cmd = command_line.Subcommand(
      "bench", "Load generator: submit COUNT jobs, wait for all, report throughput and latency");
  bench_cmd.Option("--type", load.type, "Job type").ShowDefault();
  bench_cmd.Option("--input", load.input, "Each job's input, as JSON").ShowDefault();
  bench_cmd.Option("--count", load.count, "Jobs to submit")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  bench_cmd.Option("--rate", load.rate, "Offered load in jobs/s (0: as fast as possible)")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  bench_cmd.Option("--connections", load.connections, "Concurrent connections")
      .Check(batchq::FlagCheck::Range(1, 256))
      .ShowDefault();
  bench_cmd
      .Option("--loop-threads", load.loop_threads,
              "Threads the connections share while submitting (at most one per connection)")
      .Check(batchq::FlagCheck::Range(1, 64))
      .ShowDefault();
  bench_cmd
      .Option("--jobs-per-request", load.jobs_per_request,
              "Jobs per HTTP request (>1 uses POST /v1/jobs:batch)")
      .Check(batchq::FlagCheck::Range(1, 1000))
      .ShowDefault();
  int submit_wait_ms = 0;
  bench_cmd
      .Option("--submit-wait-ms", submit_wait_ms,
              "Each single submit waits up to this long for its job to end "
              "(POST /v1/jobs?wait_ms): one round trip per job")
      .Check(batchq::FlagCheck::Range(0, 600000))
      .ShowDefault();
  bench_cmd.Switch("--closed-loop", load.closed_loop,
                   "Each connection long-polls its job to the end before submitting the "
                   "next (single submits): the loop of a client that needs the answer");
  bench_cmd.Option("--timeout-s", load_wait_s, "Longest wait for all jobs, seconds").ShowDefault();

  if (const auto exit_code = command_line.Parse(argc, argv)) {
    return *exit_code == 0 ? kExitOk : kExitUsage;
  }
  common.output = output == "json" ? OutputFormat::kJson : OutputFormat::kText;
  common.http_timeout = std::chrono::seconds(http_timeout_s);
  if (!api_key_file.empty()) {
    std::ifstream in(api_key_file);
    std::getline(in, common.api_key);
    while (!common.api_key.empty() &&
           std::isspace(static_cast<unsigned char>(common.api_key.back()))) {
      common.api_key.pop_back();
    }
  }
  submit.wait_timeout = std::chrono::seconds(submit_wait_s);

  if (submit_cmd.Chosen()) return Submit(common, submit);
  if (status_cmd.Chosen()) return Status(common, ids);
  if (wait_cmd.Chosen()) return Wait(common, id, std::chrono::seconds(wait_s), wait_out);
  if (cancel_cmd.Chosen()) return Cancel(common, id);
  if (retry_cmd.Chosen()) return Retry(common, id);
  if (webhooks_failed_cmd.Chosen()) return WebhooksFailed(common, webhooks_limit);
  if (webhooks_resend_cmd.Chosen()) return WebhooksResend(common, delivery_id);
  if (types_cmd.Chosen()) return Types(common);
  if (workers_cmd.Chosen()) return Workers(common);
  if (keygen_cmd.Chosen()) return Keygen(keygen_prefix);
  if (key_create_cmd.Chosen()) return KeysCreate(common, key_create);
  if (key_list_cmd.Chosen()) return KeysList(common);
  if (key_revoke_cmd.Chosen()) return KeysRevoke(common, key_id);
  if (key_rotate_cmd.Chosen()) return KeysRotateWebhookSecret(common, key_id);
  if (bench_cmd.Chosen()) {
    load.url = common.url;
    load.api_key = common.api_key;
    load.ca_file = common.ca_file;
    load.json = common.output == OutputFormat::kJson;
    load.progress = !load.json;  // JSON output stays machine-readable
    load.wait_timeout = std::chrono::seconds(load_wait_s);
    load.submit_wait = std::chrono::milliseconds(submit_wait_ms);
    std::string error;
    const LoadReport report = RunLoad(load, &error);
    if (report.accepted == 0 && !error.empty()) {
      std::cerr << "error: " << error << "\n";
      return kExitUnavailable;
    }
    std::cout << FormatReport(load, report) << "\n";
    return report.unfinished == 0 ? kExitOk : kExitTimeout;
  }
  return kExitUsage;
}
