// batchq: the command-line client. Parses flags and calls one subcommand.
#include <cctype>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/key_commands.h"
#include "cli/keygen_command.h"
#include "cli/load_generator.h"
#include "cli/webhook_commands.h"

int main(int argc, char** argv) {
  using namespace batchq::cli;
  CLI::App app{
      "batchq: submit jobs to a batchq gateway, poll them, and load-test it.\n"
      "Exit codes: 0 ok, 1 job failed/cancelled/expired, 2 usage, 3 request refused "
      "(4xx), 4 gateway unreachable or 5xx, 5 wait timed out."};
  app.require_subcommand(1);
  Common common;
  std::string output = "text";
  app.add_option("--url", common.url, "Gateway base URL")
      ->envname("BATCHQ_URL")
      ->capture_default_str();
  app.add_option("--api-key", common.api_key,
                 "API key (Authorization: Bearer). Prefer the environment variable or "
                 "--api-key-file: a command line is visible to other users")
      ->envname("BATCHQ_API_KEY");
  std::string api_key_file;
  app.add_option("--api-key-file", api_key_file, "Read the API key from this file")
      ->envname("BATCHQ_API_KEY_FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--cacert", common.ca_file,
                 "https:// URLs: trust the CA certificates in this PEM file")
      ->envname("BATCHQ_CACERT")
      ->check(CLI::ExistingFile);
  int http_timeout_s = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(common.http_timeout).count());
  app.add_option("--http-timeout-s", http_timeout_s,
                 "Longest wait for each step of a request (connecting, sending, the answer), "
                 "seconds; long-polls ask the gateway to answer within half of it")
      ->envname("BATCHQ_HTTP_TIMEOUT_S")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--output,-o", output, "text|json")
      ->envname("BATCHQ_OUTPUT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  SubmitArgs submit;
  int submit_wait_s = static_cast<int>(submit.wait_timeout.count());
  auto* submit_cmd =
      app.add_subcommand("submit", "Submit a job; prints its id (or its result with --wait)");
  submit_cmd->add_option("type", submit.type, "Job type, e.g. upper")->required();
  submit_cmd
      ->add_option("input", submit.input,
                   "Job input: JSON, or plain text that is sent as a JSON string")
      ->required();
  submit_cmd->add_flag("--string", submit.input_is_string, "Send INPUT as a JSON string as-is");
  submit_cmd->add_option("--priority", submit.priority, "Higher runs first")->capture_default_str();
  submit_cmd
      ->add_option("--max-retries", submit.max_retries,
                   "Runs again after a retryable failure, at most this often (0-20); default: "
                   "the type's")
      ->check(CLI::Range(0, 20));
  submit_cmd->add_option("--callback-url", submit.callback_url,
                         "POST the ended job here, signed with the key's webhook secret (the key "
                         "needs one: keys create --webhook)");
  submit_cmd->add_option("--idempotency-key", submit.idempotency_key,
                         "Sent as Idempotency-Key: the same submit with the same key names the "
                         "same job while the gateway keeps the key (its --result-ttl-s; default "
                         "here: a random key)");
  submit_cmd->add_flag("--wait", submit.wait, "Wait for the job and print its result");
  submit_cmd->add_option("--timeout-s", submit_wait_s, "Longest wait with --wait, seconds")
      ->capture_default_str();
  submit_cmd->add_option("-o,--out", submit.output_path,
                         "With --wait: save the raw result (e.g. a PNG) to this file");

  std::string id;
  std::vector<std::string> ids;
  auto* status_cmd = app.add_subcommand("status", "Show jobs' status (many in one call)");
  status_cmd->add_option("ids", ids, "Job ids")->required();

  int wait_s = 300;
  auto* wait_cmd = app.add_subcommand("wait", "Wait until a job ends; print its result");
  wait_cmd->add_option("id", id, "Job id")->required();
  wait_cmd->add_option("--timeout-s", wait_s, "Longest wait, seconds")->capture_default_str();
  std::string wait_out;
  wait_cmd->add_option("-o,--out", wait_out, "Save the raw result (e.g. a PNG) to this file");

  auto* cancel_cmd = app.add_subcommand("cancel", "Cancel a queued or running job");
  cancel_cmd->add_option("id", id, "Job id")->required();
  auto* retry_cmd =
      app.add_subcommand("retry", "Run a failed, expired or cancelled job again under its id");
  retry_cmd->add_option("id", id, "Job id")->required();

  auto* webhooks_cmd = app.add_subcommand("webhooks", "Dead webhook deliveries of your tenant");
  webhooks_cmd->require_subcommand(1);
  int webhooks_limit = 100;
  auto* webhooks_failed_cmd =
      webhooks_cmd->add_subcommand("failed", "List deliveries that ran out of tries, newest first");
  webhooks_failed_cmd->add_option("--limit", webhooks_limit, "At most this many (1-1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  std::string delivery_id;
  auto* webhooks_resend_cmd =
      webhooks_cmd->add_subcommand("resend", "Queue a dead delivery again, its tries reset");
  webhooks_resend_cmd->add_option("id", delivery_id, "Delivery id (<job id>.<attempt>)")
      ->required();

  auto* types_cmd = app.add_subcommand("types", "List job types, their batching and live workers");
  auto* workers_cmd = app.add_subcommand(
      "workers", "List live workers: device, memory, batches in hand (BUSY), types");

  auto* keys_cmd = app.add_subcommand("keys", "Manage API keys (needs an admin key)");
  keys_cmd->require_subcommand(1);
  KeyCreateArgs key_create;
  auto* key_create_cmd =
      keys_cmd->add_subcommand("create", "Create a key; prints it once (store it then)");
  key_create_cmd->add_option("--tenant", key_create.tenant, "The tenant the key belongs to")
      ->required();
  key_create_cmd
      ->add_option("--scopes", key_create.scopes, "Comma-separated: submit, read, cancel, admin")
      ->required();
  key_create_cmd->add_option("--rate", key_create.rate, "Requests per second (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  key_create_cmd->add_option("--burst", key_create.burst, "Requests above the rate at once");
  key_create_cmd->add_option("--max-queued", key_create.max_queued,
                             "Refuse submits while the tenant has this many jobs queued");
  key_create_cmd->add_option("--max-stored-bytes", key_create.max_stored_bytes,
                             "Refuse submits while the tenant's jobs hold this many bytes in "
                             "Redis, finished ones included (0: the gateway's default)");
  key_create_cmd
      ->add_option("--weight", key_create.weight,
                   "The tenant's share of each job type against other tenants")
      ->check(CLI::Range(1, 1000));
  key_create_cmd->add_option("--expires-in", key_create.expires_in,
                             "Lifetime, e.g. 90d, 12h, 30m (default: never)");
  auto* key_list_cmd = keys_cmd->add_subcommand("list", "List keys (never their secrets)");
  std::string key_id;
  key_create_cmd->add_flag("--webhook", key_create.webhook,
                           "Give the key a secret that signs its jobs' webhooks (printed once)");
  auto* key_revoke_cmd = keys_cmd->add_subcommand("revoke", "Revoke a key at once");
  key_revoke_cmd->add_option("id", key_id, "Key id (from keys list)")->required();
  auto* key_rotate_cmd = keys_cmd->add_subcommand(
      "rotate-webhook-secret", "Give a key a new webhook secret (printed once); the old one ends");
  key_rotate_cmd->add_option("id", key_id, "Key id (from keys list)")->required();

  std::string keygen_prefix;
  auto* keygen_cmd = app.add_subcommand(
      "keygen",
      "Make a CURVE key pair for a broker, gateway or worker: PREFIX.key (secret, 0600) and "
      "PREFIX.pub; prints the public key");
  keygen_cmd->add_option("prefix", keygen_prefix, "Path without extension, e.g. keys/worker-a")
      ->required();

  LoadOptions load;
  int load_wait_s = static_cast<int>(load.wait_timeout.count());
  auto* bench_cmd = app.add_subcommand(
      "bench", "Load generator: submit COUNT jobs, wait for all, report throughput and latency");
  bench_cmd->add_option("--type", load.type, "Job type")->capture_default_str();
  bench_cmd->add_option("--input", load.input, "Each job's input, as JSON")->capture_default_str();
  bench_cmd->add_option("--count", load.count, "Jobs to submit")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bench_cmd->add_option("--rate", load.rate, "Offered load in jobs/s (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bench_cmd->add_option("--connections", load.connections, "Concurrent connections")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  bench_cmd
      ->add_option("--loop-threads", load.loop_threads,
                   "Threads the connections share while submitting (at most one per connection)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  bench_cmd
      ->add_option("--jobs-per-request", load.jobs_per_request,
                   "Jobs per HTTP request (>1 uses POST /v1/jobs:batch)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  int submit_wait_ms = 0;
  bench_cmd
      ->add_option("--submit-wait-ms", submit_wait_ms,
                   "Each single submit waits up to this long for its job to end "
                   "(POST /v1/jobs?wait_ms): one round trip per job")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str();
  bench_cmd->add_flag("--closed-loop", load.closed_loop,
                      "Each connection long-polls its job to the end before submitting the "
                      "next (single submits): the loop of a client that needs the answer");
  bench_cmd->add_option("--timeout-s", load_wait_s, "Longest wait for all jobs, seconds")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
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

  if (*submit_cmd) return Submit(common, submit);
  if (*status_cmd) return Status(common, ids);
  if (*wait_cmd) return Wait(common, id, std::chrono::seconds(wait_s), wait_out);
  if (*cancel_cmd) return Cancel(common, id);
  if (*retry_cmd) return Retry(common, id);
  if (*webhooks_failed_cmd) return WebhooksFailed(common, webhooks_limit);
  if (*webhooks_resend_cmd) return WebhooksResend(common, delivery_id);
  if (*types_cmd) return Types(common);
  if (*workers_cmd) return Workers(common);
  if (*keygen_cmd) return Keygen(keygen_prefix);
  if (*key_create_cmd) return KeysCreate(common, key_create);
  if (*key_list_cmd) return KeysList(common);
  if (*key_revoke_cmd) return KeysRevoke(common, key_id);
  if (*key_rotate_cmd) return KeysRotateWebhookSecret(common, key_id);
  if (*bench_cmd) {
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
