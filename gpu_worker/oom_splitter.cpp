#include "gpu_worker/oom_splitter.h"

namespace batchq {

Result<std::vector<ItemResult>> RunSplittingOnOom(Handler& handler,
                                                  std::span<const std::string_view> inputs) {
  auto results = handler.Run(inputs);
  if (results || results.error().code != kOutOfMemory) return results;
  if (inputs.size() == 1) return std::vector<ItemResult>{std::unexpected(results.error())};
  const std::size_t half = inputs.size() / 2;
  auto first = RunSplittingOnOom(handler, inputs.first(half));
  if (!first) return first;
  auto second = RunSplittingOnOom(handler, inputs.subspan(half));
  if (!second) return second;
  first->reserve(inputs.size());
  for (auto& item : *second) first->push_back(std::move(item));
  return first;
}

}  // namespace batchq
