#pragma once
// Loads a user's handler from a shared library through the C ABI of
// include/batchq_handler.h and adapts it to the Handler interface.

#include <memory>
#include <string>

#include "common/error.h"
#include "gpu_worker/handler.h"

namespace batchq {

struct PluginHandler {
  std::string type;  // the job type the plugin serves
  std::unique_ptr<Handler> handler;
};

// invalid_plugin when the library cannot be opened, lacks batchq_handler_entry, has an
// unknown ABI version or a bad type name, or its create() fails. The library stays
// loaded for the life of the process (its code may still be on the stack at exit).
Result<PluginHandler> LoadPluginHandler(const std::string& path, const std::string& config);

}  // namespace batchq
