// batchq gpu_worker: parses flags, picks the backend, builds a handler per job
// type and runs the Worker until SIGINT/SIGTERM.
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/command_line.h"
#include "common/logging.h"
#include "common/process_flags.h"
#include "common/stop_signal.h"
#include "gpu_worker/handler_factory.h"
#include "gpu_worker/plugin_handler.h"
#include "gpu_worker/python_handler.h"
#include "gpu_worker/worker.h"

int main(int argc, char** argv) {
  batchq::WorkerConfig config;
  batchq::CommandLine command_line{
      "batchq gpu_worker: runs batches of jobs through CUDA handlers (CPU twins "
      "without a GPU) and writes results to Redis.\nEvery flag can also be set through "
      "the environment variable shown in brackets."};
  batchq::ProcessFlags common;
  batchq::AddProcessFlags(command_line, common);
  int sleep_fixed_us = static_cast<int>(config.sleep.fixed.count());
  int sleep_per_item_us = static_cast<int>(config.sleep.per_item.count());
  int heartbeat_ms = static_cast<int>(config.heartbeat_interval.count());
  batchq::AddMetricsFlag(command_line, config.metrics_listen);
  command_line
      .Option("--broker", config.broker,
              "Broker backend endpoint, or several separated by commas (brokers sharing "
              "one Redis: the worker finds and follows the active one)")
      .Env("BATCHQ_WORKER_BROKER")
      .ShowDefault();
  command_line.Option("--name", config.name, "Worker name shown in /v1/types (default host-pid)")
      .Env("BATCHQ_WORKER_NAME");
  command_line.Option("--type", config.types, "Job types to serve; repeatable")
      .Env("BATCHQ_WORKER_TYPES")
      .Delimiter(',')
      .ShowDefault();
  command_line.Option("--backend", config.backend, "auto|cuda|cpu")
      .Env("BATCHQ_BACKEND")
      .Check(batchq::FlagCheck::OneOf({"auto", "cuda", "cpu"}))
      .ShowDefault();
  command_line.Option("--device", config.device, "CUDA device index")
      .Env("BATCHQ_DEVICE")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line.Option("--credits", config.credits, "Batches held at once (>=2 keeps the GPU fed)")
      .Env("BATCHQ_CREDITS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line.Option("--sleep-fixed-us", sleep_fixed_us, "sleep type: fixed cost per batch, µs")
      .Env("BATCHQ_SLEEP_FIXED_US")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line.Option("--sleep-per-item-us", sleep_per_item_us, "sleep type: cost per item, µs")
      .Env("BATCHQ_SLEEP_PER_ITEM_US")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line.Option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval, ms")
      .Env("BATCHQ_HEARTBEAT_MS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  int claim_at_write_below_ms = 5;
  command_line
      .Option("--claim-at-write-below-ms", claim_at_write_below_ms,
              "A type whose last batch ran for less than this is marked running by the "
              "write of its results, not before it runs: one Redis round trip and two "
              "commands per job less, but its jobs read as queued while the batch runs "
              "(a cancel then ends them and their results are dropped); 0: never")
      .Env("BATCHQ_CLAIM_AT_WRITE_BELOW_MS")
      .Check(batchq::FlagCheck::NonNegative())
      .ShowDefault();
  command_line
      .Option("--heartbeat-liveness", config.heartbeat_liveness,
              "Missed heartbeats before the broker counts as gone")
      .Env("BATCHQ_HEARTBEAT_LIVENESS")
      .Check(batchq::FlagCheck::Positive())
      .ShowDefault();
  command_line
      .Option("--mlp-weights", config.mlp.weights_path,
              "mlp type: safetensors file of layers P.weight [out,in] and P.bias [out] "
              "(float32); empty: seeded weights")
      .Env("BATCHQ_MLP_WEIGHTS");
  command_line
      .Option("--mlp-widths", config.mlp.widths,
              "mlp type without a weights file: widths input,hidden...,output")
      .Env("BATCHQ_MLP_WIDTHS")
      .Delimiter(',')
      .ShowDefault();
  command_line.Option("--mlp-seed", config.mlp.seed, "mlp type without a weights file: weight seed")
      .Env("BATCHQ_MLP_SEED")
      .ShowDefault();
  command_line.Option("--mlp-activation", config.mlp.activation, "mlp hidden activation: relu|gelu")
      .Env("BATCHQ_MLP_ACTIVATION")
      .Check(batchq::FlagCheck::OneOf({"relu", "gelu"}))
      .ShowDefault();
  command_line
      .Switch("--mlp-tf32", config.mlp.tf32,
              "mlp on CUDA: TF32 tensor-core GEMMs (faster; ~1e-3 relative error)")
      .Env("BATCHQ_MLP_TF32");
  command_line
      .Option("--handler-lib", config.handler_libs,
              "Shared library implementing batchq_handler.h; adds its job type; repeatable")
      .Env("BATCHQ_HANDLER_LIBS")
      .Delimiter(',');
  command_line
      .Option("--python-handler", config.python_handlers,
              "TYPE=FILE: serve job type TYPE with the Python file FILE, which defines "
              "handle_batch(inputs) -> list (and may define setup(config) and close()); "
              "repeatable")
      .Env("BATCHQ_PYTHON_HANDLERS")
      .Delimiter(';');
  command_line
      .Option("--handler-config", config.handler_config,
              "Text passed to each handler library's create() and each Python file's "
              "setup()")
      .Env("BATCHQ_HANDLER_CONFIG");
  command_line
      .Option("--fault-crash-on-input", config.fault_crash_on_input,
              "Reliability tests only: abort when a batch holds this exact input (JSON)")
      .Env("BATCHQ_FAULT_CRASH_ON_INPUT");
  batchq::CurveClientFlags curve_flags;
  batchq::AddCurveClientFlags(command_line, curve_flags);
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;
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
