#include "gpu_worker/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

namespace batchq {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

constexpr std::size_t kMaxHeaderBytes = 100u << 20;  // the format's own limit

std::size_t DtypeSize(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2")
    return 1;
  return 0;
}

std::unexpected<Error> Malformed(std::string message) {
  return Fail(ErrorCode::kInvalidModel, "Malformed safetensors file: " + std::move(message));
}

Result<SafetensorsTensor> ParseEntry(std::string_view name, simdjson::dom::element value,
                                     std::size_t data_size) {
  simdjson::dom::object entry;
  if (value.get(entry) != simdjson::SUCCESS) {
    return Malformed(fmt::format("tensor '{}' is not a JSON object.", name));
  }
  SafetensorsTensor tensor;
  tensor.name = std::string(name);
  std::string_view dtype;
  if (entry["dtype"].get(dtype) != simdjson::SUCCESS) {
    return Malformed(fmt::format("tensor '{}' has no string \"dtype\".", name));
  }
  const std::size_t item = DtypeSize(dtype);
  if (item == 0) return Malformed(fmt::format("tensor '{}' has unknown dtype '{}'.", name, dtype));
  tensor.dtype = std::string(dtype);

  simdjson::dom::array shape;
  if (entry["shape"].get(shape) != simdjson::SUCCESS) {
    return Malformed(fmt::format("tensor '{}' has no \"shape\" array.", name));
  }
  std::size_t count = 1;
  for (auto dim : shape) {
    std::int64_t n = 0;
    if (dim.get(n) != simdjson::SUCCESS || n < 0) {
      return Malformed(fmt::format("tensor '{}' has a shape entry that is not a size.", name));
    }
    if (n != 0 && count > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(n)) {
      return Malformed(fmt::format("tensor '{}' is impossibly large.", name));
    }
    count *= static_cast<std::size_t>(n);
    tensor.shape.push_back(n);
  }

  simdjson::dom::array offsets;
  std::uint64_t bounds[2] = {0, 0};
  int seen = 0;
  if (entry["data_offsets"].get(offsets) == simdjson::SUCCESS) {
    for (auto offset : offsets) {
      if (seen == 2 || offset.get(bounds[seen]) != simdjson::SUCCESS) {
        seen = 3;
        break;
      }
      ++seen;
    }
  }
  if (seen != 2) {
    return Malformed(fmt::format("tensor '{}' needs \"data_offsets\": [begin, end].", name));
  }
  if (bounds[0] > bounds[1] || bounds[1] > data_size) {
    return Malformed(fmt::format("tensor '{}' has data_offsets [{}, {}] outside the {} data bytes.",
                                 name, bounds[0], bounds[1], data_size));
  }
  if (count > std::numeric_limits<std::size_t>::max() / item ||
      bounds[1] - bounds[0] != count * item) {
    return Malformed(fmt::format("tensor '{}' holds {} bytes but its shape and dtype need {}.",
                                 name, bounds[1] - bounds[0], count * item));
  }
  tensor.begin = bounds[0];
  tensor.end = bounds[1];
  return tensor;
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::Parse(std::string bytes) {
  if (bytes.size() < 8) return Malformed("shorter than its 8-byte header length.");
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > kMaxHeaderBytes) {
    return Malformed(
        fmt::format("header length {} exceeds the format's 100 MB limit.", header_size));
  }
  if (header_size > bytes.size() - 8) {
    return Malformed(fmt::format("header length {} runs past the end of the {}-byte file.",
                                 header_size, bytes.size()));
  }
  SafetensorsFile file;
  file.data_offset_ = 8 + header_size;
  const std::size_t data_size = bytes.size() - file.data_offset_;

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(bytes.data() + 8, header_size, /*realloc_if_needed=*/true).get(root) !=
      simdjson::SUCCESS) {
    return Malformed("the header is not valid JSON.");
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) return Malformed("the header is not a JSON object.");
  for (auto field : object) {
    if (field.key == "__metadata__") continue;
    auto tensor = ParseEntry(field.key, field.value, data_size);
    if (!tensor) return std::unexpected(tensor.error());
    file.tensors_.push_back(std::move(*tensor));
  }
  // Names are unique and byte ranges disjoint: a file that aliases tensors is not trusted.
  std::vector<const SafetensorsTensor*> sorted;
  for (const auto& t : file.tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->name == sorted[i - 1]->name) {
      return Malformed(fmt::format("tensor '{}' appears twice.", sorted[i]->name));
    }
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->begin < sorted[i - 1]->end) {
      return Malformed(
          fmt::format("tensors '{}' and '{}' overlap.", sorted[i - 1]->name, sorted[i]->name));
    }
  }
  file.bytes_ = std::move(bytes);
  return file;
}

Result<SafetensorsFile> SafetensorsFile::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Fail(ErrorCode::kInvalidModel, fmt::format("Cannot open the weights file '{}'.", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  auto file = Parse(std::move(contents).str());
  if (!file) file.error().message = fmt::format("{}: {}", path, file.error().message);
  return file;
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  for (const auto& tensor : tensors_) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

std::string_view SafetensorsFile::Data(const SafetensorsTensor& tensor) const {
  return std::string_view(bytes_).substr(data_offset_ + tensor.begin, tensor.end - tensor.begin);
}

Result<std::vector<float>> SafetensorsFile::Floats(const SafetensorsTensor& tensor) const {
  if (tensor.dtype != "F32") {
    return Fail(ErrorCode::kInvalidModel,
                fmt::format("Tensor '{}' is {}; export the model as float32 (F32).", tensor.name,
                            tensor.dtype));
  }
  const std::string_view data = Data(tensor);
  std::vector<float> values(data.size() / sizeof(float));
  // An empty tensor's vector has no buffer, and memcpy must not be given a null one.
  if (!values.empty()) std::memcpy(values.data(), data.data(), values.size() * sizeof(float));
  return values;
}

std::string WriteSafetensors(const std::vector<NamedFloats>& tensors) {
  std::string header = "{";
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    if (header.size() > 1) header += ',';
    const std::size_t bytes = t.values.size() * sizeof(float);
    header += fmt::format(R"("{}":{{"dtype":"F32","shape":[{}],"data_offsets":[{},{}]}})", t.name,
                          fmt::join(t.shape, ","), offset, offset + bytes);
    offset += bytes;
  }
  header += '}';
  while (header.size() % 8 != 0) header += ' ';  // the format aligns the data section
  std::string out(8, '\0');
  const std::uint64_t size = header.size();
  std::memcpy(out.data(), &size, 8);
  out += header;
  for (const auto& t : tensors) {
    out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
  }
  return out;
}

}  // namespace batchq
