#include "gpu_worker/plugin_handler.h"

#include <dlfcn.h>

#include <functional>

#include <fmt/format.h>

#include "common/job_limits.h"
#include "gpu_worker/include/batchq_handler.h"

// The host's side of the opaque results handle.
struct batchq_results {
  std::vector<batchq::ItemResult> items;
  std::vector<bool> set;
  std::function<bool(std::size_t)> cancelled;  // by item index
};

namespace batchq {
namespace {

bool Claim(batchq_results* results, size_t index) {
  if (results == nullptr || index >= results->items.size() || results->set[index]) return false;
  results->set[index] = true;
  return true;
}

void SetJson(batchq_results* results, size_t index, const char* json, size_t json_len) {
  if (!Claim(results, index)) return;
  results->items[index] =
      ItemOutput(std::string(json == nullptr ? "null" : json, json == nullptr ? 4 : json_len));
}

void SetBinary(batchq_results* results, size_t index, const char* content_type, const void* data,
               size_t data_len, const char* json, size_t json_len) {
  if (!Claim(results, index)) return;
  results->items[index] =
      ItemOutput(json == nullptr ? std::string("{}") : std::string(json, json_len),
                 std::string(static_cast<const char*>(data), data == nullptr ? 0 : data_len),
                 content_type == nullptr ? "application/octet-stream" : content_type);
}

void SetError(batchq_results* results, size_t index, const char* code, const char* message) {
  if (!Claim(results, index)) return;
  std::string text = message == nullptr ? "The plugin failed this item." : message;
  // Codes come from the one table; a code it does not have is kept in the sentence.
  const auto known = ParseErrorCode(code == nullptr ? "" : code);
  if (!known && code != nullptr) text = fmt::format("[{}] {}", code, text);
  results->items[index] = Fail(known.value_or(ErrorCode::kHandlerError), std::move(text));
}

int IsCancelled(batchq_results* results, size_t index) {
  if (results == nullptr || index >= results->items.size() || !results->cancelled) return 0;
  return results->cancelled(index) ? 1 : 0;
}

constexpr batchq_host_api kHost{SetJson, SetBinary, SetError, IsCancelled};

class LoadedPlugin final : public Handler {
 public:
  LoadedPlugin(const batchq_handler_v1* api, void* state) : api_(api), state_(state) {}
  ~LoadedPlugin() override {
    if (api_->destroy != nullptr) api_->destroy(state_);
  }

  Result<std::vector<ItemResult>> Run(std::span<const std::string_view> inputs) override {
    std::vector<batchq_item> items;
    items.reserve(inputs.size());
    for (const auto input : inputs) items.push_back({input.data(), input.size()});
    batchq_results results;
    results.items.assign(inputs.size(),
                         Fail(ErrorCode::kHandlerError, "The plugin set no result for this item."));
    results.set.assign(inputs.size(), false);
    results.cancelled = [this, inputs](std::size_t index) { return Cancelled(inputs[index]); };
    char error[512] = {};
    if (api_->run(state_, items.data(), items.size(), &results, &kHost, error, sizeof error) != 0) {
      error[sizeof error - 1] = '\0';
      return Fail(ErrorCode::kPluginError, error[0] != '\0'
                                               ? std::string(error)
                                               : std::string("The plugin failed the batch."));
    }
    return std::move(results.items);
  }

 private:
  const batchq_handler_v1* api_;
  void* state_;
};

}  // namespace

Result<PluginHandler> LoadPluginHandler(const std::string& path, const std::string& config) {
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    return Fail(ErrorCode::kInvalidPlugin,
                fmt::format("Cannot load handler library {}: {}.", path, dlerror()));
  }
  using Entry = const batchq_handler_v1* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(library, "batchq_handler_entry"));
  if (entry == nullptr) {
    return Fail(
        ErrorCode::kInvalidPlugin,
        fmt::format("{} does not export batchq_handler_entry (see batchq_handler.h).", path));
  }
  const batchq_handler_v1* api = entry();
  // Version 1 plugins get the same host functions; they never read `cancelled`.
  if (api == nullptr || api->abi_version < 1 || api->abi_version > BATCHQ_HANDLER_ABI_VERSION) {
    return Fail(ErrorCode::kInvalidPlugin,
                fmt::format("{} speaks handler ABI version {}; this worker speaks 1 to {}.", path,
                            api == nullptr ? 0 : api->abi_version, BATCHQ_HANDLER_ABI_VERSION));
  }
  if (api->type == nullptr || !IsValidTypeName(api->type) || api->create == nullptr ||
      api->run == nullptr) {
    return Fail(ErrorCode::kInvalidPlugin,
                fmt::format("{} must give a valid type name and create/run functions.", path));
  }
  char error[512] = {};
  void* state = api->create(config.c_str(), error, sizeof error);
  if (state == nullptr) {
    error[sizeof error - 1] = '\0';
    return Fail(ErrorCode::kInvalidPlugin, fmt::format("{}: create() failed: {}", path, error));
  }
  return PluginHandler{api->type, std::make_unique<LoadedPlugin>(api, state)};
}

}  // namespace batchq
