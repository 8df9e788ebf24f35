#pragma once
// Out-of-memory on a large batch should cost a split, not the batch: when the handler
// reports kOutOfMemory for the whole batch, run each half (recursively). A single
// item that still does not fit fails alone with kOutOfMemory. Any other whole-batch
// error is returned as is. Pure: drives any Handler.

#include <span>
#include <string_view>
#include <vector>

#include "gpu_worker/handler.h"

namespace batchq {

Result<std::vector<ItemResult>> RunSplittingOnOom(Handler& handler,
                                                  std::span<const std::string_view> inputs);

}  // namespace batchq
