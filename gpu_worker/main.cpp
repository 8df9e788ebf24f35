// batchq gpu_worker: parses flags, picks the backend, builds a handler per job
// type and runs the Worker until SIGINT/SIGTERM.
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/logging.h"
#include "common/process_flags.h"
#include "common/stop_signal.h"
#include "gpu_worker/handler_factory.h"
#include "gpu_worker/plugin_handler.h"
#include "gpu_worker/python_handler.h"
#include "gpu_worker/worker.h"

int main(int argc, char** argv) {
  batchq::WorkerConfig config;
  CLI::App app{
      "batchq gpu_worker: runs batches of jobs through CUDA handlers (CPU twins "
      "without a GPU) and writes results to Redis.\nEvery flag can also be set through "
      "the environment variable shown in brackets."};
  batchq::ProcessFlags common;
  batchq::AddProcessFlags(app, common);
  int sleep_fixed_us = static_cast<int>(config.sleep.fixed.count());
  int sleep_per_item_us = static_cast<int>(config.sleep.per_item.count());
  int heartbeat_ms = static_cast<int>(config.heartbeat_interval.count());
  batchq::AddMetricsFlag(app, config.metrics_listen);
  app.add_option("--broker", config.broker,
                 "Broker backend endpoint, or several separated by commas (brokers sharing "
                 "one Redis: the worker finds and follows the active one)")
      ->envname("BATCHQ_WORKER_BROKER")
      ->capture_default_str();
  app.add_option("--name", config.name, "Worker name shown in /v1/types (default host-pid)")
      ->envname("BATCHQ_WORKER_NAME");
  app.add_option("--type", config.types, "Job types to serve; repeatable")
      ->envname("BATCHQ_WORKER_TYPES")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--backend", config.backend, "auto|cuda|cpu")
      ->envname("BATCHQ_BACKEND")
      ->check(CLI::IsMember({"auto", "cuda", "cpu"}))
      ->capture_default_str();
  app.add_option("--device", config.device, "CUDA device index")
      ->envname("BATCHQ_DEVICE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--credits", config.credits, "Batches held at once (>=2 keeps the GPU fed)")
      ->envname("BATCHQ_CREDITS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sleep-fixed-us", sleep_fixed_us, "sleep type: fixed cost per batch, µs")
      ->envname("BATCHQ_SLEEP_FIXED_US")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--sleep-per-item-us", sleep_per_item_us, "sleep type: cost per item, µs")
      ->envname("BATCHQ_SLEEP_PER_ITEM_US")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval, ms")
      ->envname("BATCHQ_HEARTBEAT_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  int claim_at_write_below_ms = 5;
  app.add_option("--claim-at-write-below-ms", claim_at_write_below_ms,
                 "A type whose last batch ran for less than this is marked running by the "
                 "write of its results, not before it runs: one Redis round trip and two "
                 "commands per job less, but its jobs read as queued while the batch runs "
                 "(a cancel then ends them and their results are dropped); 0: never")
      ->envname("BATCHQ_CLAIM_AT_WRITE_BELOW_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--heartbeat-liveness", config.heartbeat_liveness,
                 "Missed heartbeats before the broker counts as gone")
      ->envname("BATCHQ_HEARTBEAT_LIVENESS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--mlp-weights", config.mlp.weights_path,
                 "mlp type: safetensors file of layers P.weight [out,in] and P.bias [out] "
                 "(float32); empty: seeded weights")
      ->envname("BATCHQ_MLP_WEIGHTS");
  app.add_option("--mlp-widths", config.mlp.widths,
                 "mlp type without a weights file: widths input,hidden...,output")
      ->envname("BATCHQ_MLP_WIDTHS")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--mlp-seed", config.mlp.seed, "mlp type without a weights file: weight seed")
      ->envname("BATCHQ_MLP_SEED")
      ->capture_default_str();
  app.add_option("--mlp-activation", config.mlp.activation, "mlp hidden activation: relu|gelu")
      ->envname("BATCHQ_MLP_ACTIVATION")
      ->check(CLI::IsMember({"relu", "gelu"}))
      ->capture_default_str();
  app.add_flag("--mlp-tf32", config.mlp.tf32,
               "mlp on CUDA: TF32 tensor-core GEMMs (faster; ~1e-3 relative error)")
      ->envname("BATCHQ_MLP_TF32");
  app.add_option("--handler-lib", config.handler_libs,
                 "Shared library implementing batchq_handler.h; adds its job type; repeatable")
      ->envname("BATCHQ_HANDLER_LIBS")
      ->delimiter(',');
  app.add_option("--python-handler", config.python_handlers,
                 "TYPE=FILE: serve job type TYPE with the Python file FILE, which defines "
                 "handle_batch(inputs) -> list (and may define setup(config) and close()); "
                 "repeatable")
      ->envname("BATCHQ_PYTHON_HANDLERS")
      ->delimiter(';');
  app.add_option("--handler-config", config.handler_config,
                 "Text passed to each handler library's create() and each Python file's "
                 "setup()")
      ->envname("BATCHQ_HANDLER_CONFIG");
  app.add_option("--fault-crash-on-input", config.fault_crash_on_input,
                 "Reliability tests only: abort when a batch holds this exact input (JSON)")
      ->envname("BATCHQ_FAULT_CRASH_ON_INPUT");
  batchq::CurveClientFlags curve_flags;
  batchq::AddCurveClientFlags(app, curve_flags);
  CLI11_PARSE(app, argc, argv);
  config.sleep = {std::chrono::microseconds(sleep_fixed_us),
                  std::chrono::microseconds(sleep_per_item_us)};
  config.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
  config.claim_at_write_below = std::chrono::milliseconds(claim_at_write_below_ms);
  config.redis_url = common.redis_url;
  config.redis_password_file = common.redis_password_file;
  config.redis_sentinel_password_file = common.redis_sentinel_password_file;
  config.key_prefix = common.key_prefix;
  config.result_ttl = common.result_ttl();
  if (config.name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    config.name = fmt::format("{}-{}", host, getpid());
  }

  batchq::SetUpLogging("gpu_worker", common.log_level, common.log_json);
  // Held until the worker runs: a stop during its start ends it once built.
  batchq::StopSignals signals;
  try {
    auto curve =
        batchq::LoadCurveClientKeys(curve_flags.secret_file, curve_flags.broker_public_file,
                                    curve_flags.no_curve, config.broker);
    if (!curve) throw std::runtime_error(curve.error().message);
    config.curve = std::move(*curve);
    auto choice = batchq::ChooseBackend(config.backend, config.device);
    if (!choice) throw std::runtime_error(choice.error().message);
    batchq::BatchExecutor::Handlers handlers;
    for (const auto& type : config.types) {
      auto handler = batchq::MakeHandler(
          type, choice->backend, batchq::HandlerOptions{config.sleep, config.device, config.mlp});
      if (!handler) throw std::runtime_error(handler.error().message);
      handlers.emplace(type, std::move(*handler));
    }
    for (const auto& path : config.handler_libs) {
      auto plugin = batchq::LoadPluginHandler(path, config.handler_config);
      if (!plugin) throw std::runtime_error(plugin.error().message);
      if (handlers.contains(plugin->type)) {
        throw std::runtime_error(fmt::format(
            "{} serves '{}', which another handler serves already.", path, plugin->type));
      }
      handlers.emplace(plugin->type, std::move(plugin->handler));
    }
    for (const auto& text : config.python_handlers) {
      auto spec = batchq::ParsePythonHandlerSpec(text);
      if (!spec) throw std::runtime_error(spec.error().message);
      if (handlers.contains(spec->type)) {
        throw std::runtime_error(fmt::format(
            "{} serves '{}', which another handler serves already.", spec->file, spec->type));
      }
      auto handler = batchq::LoadPythonHandler(spec->file, config.handler_config);
      if (!handler) throw std::runtime_error(handler.error().message);
      handlers.emplace(spec->type, std::move(*handler));
    }
    batchq::Worker worker(config, std::move(handlers), *choice);
    worker.Run(signals.Listen());
  } catch (const std::exception& e) {
    spdlog::critical("worker cannot start: {}", e.what());
    return 1;
  }
  return 0;
}
