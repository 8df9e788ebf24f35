#include "broker/key_directory.h"

#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/curve_keys.h"

namespace batchq {
namespace {

Result<std::set<std::filesystem::path>> PublicKeyFiles(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return Fail(ErrorCode::kIoError,
                fmt::format("Cannot read the key directory {}: {}.", dir, ec.message()));
  }
  std::set<std::filesystem::path> files;
  for (const auto& entry : it) {
    if (entry.path().extension() == ".pub") files.insert(entry.path());
  }
  return files;
}

}  // namespace

Result<std::string> KeyDirectoryFingerprint(const std::string& dir) {
  auto files = PublicKeyFiles(dir);
  if (!files) return std::unexpected(files.error());
  std::string fingerprint;
  for (const auto& path : *files) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    const auto time = std::filesystem::last_write_time(path, ec);
    fingerprint +=
        fmt::format("{}:{}:{}\n", path.filename().string(), size, time.time_since_epoch().count());
  }
  return fingerprint;
}

Result<AllowedKeys> ReadKeyDirectory(const std::string& dir) {
  auto files = PublicKeyFiles(dir);
  if (!files) return std::unexpected(files.error());
  AllowedKeys keys;
  for (const auto& path : *files) {
    auto key = LoadCurvePublicFile(path.string());
    if (!key) {
      spdlog::warn("allow-list: skipping {}: {}", path.string(), key.error().message);
      continue;
    }
    keys.emplace(std::move(*key), path.stem().string());
  }
  return keys;
}

}  // namespace batchq
