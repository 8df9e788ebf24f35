#include "common/prometheus_text.h"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace batchq {

std::string RenderPrometheusText(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace batchq
