#include "common/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <zmq.h>

namespace batchq {
namespace {

constexpr std::size_t kZ85KeyLength = 40;

std::string Trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

Result<std::string> ReadKeyText(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Fail(ErrorCode::kIoError,
                fmt::format("Cannot read the CURVE key file {}: {}.", path, std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string key = Trimmed(text.str());
  if (!IsCurveKeyText(key)) {
    return Fail(ErrorCode::kInvalidCurveKey,
                fmt::format("{} does not hold a CURVE key (40 characters of Z85, as "
                            "`batchq keygen` writes).",
                            path));
  }
  return key;
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Fail(ErrorCode::kIoError,
                fmt::format("Cannot create {}: {}.", path, std::strerror(errno)));
  }
  const std::string line = text + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) return Fail(ErrorCode::kIoError, fmt::format("Cannot write {}.", path));
  return Ok();
}

}  // namespace

bool IsCurveKeyText(std::string_view text) {
  if (text.size() != kZ85KeyLength) return false;
  const std::string copy(text);
  std::array<std::uint8_t, 32> raw{};
  return zmq_z85_decode(raw.data(), copy.c_str()) != nullptr;
}

CurveKeyPair NewCurveKeyPair() {
  std::array<char, kZ85KeyLength + 1> public_key{};
  std::array<char, kZ85KeyLength + 1> secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
    throw std::runtime_error(
        fmt::format("cannot make a CURVE key pair: {}", zmq_strerror(zmq_errno())));
  }
  return CurveKeyPair{public_key.data(), secret_key.data()};
}

Result<CurveKeyPair> LoadCurveSecretFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Fail(ErrorCode::kIoError, fmt::format("Cannot read the CURVE secret key file {}: {}.",
                                                 path, std::strerror(errno)));
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Fail(ErrorCode::kInvalidCurveKey,
                fmt::format("The CURVE secret key file {} may be read by others (mode {:o}); "
                            "make it 0600.",
                            path, info.st_mode & 0777));
  }
  auto secret = ReadKeyText(path);
  if (!secret) return std::unexpected(secret.error());
  std::array<char, kZ85KeyLength + 1> public_key{};
  if (zmq_curve_public(public_key.data(), secret->c_str()) != 0) {
    return Fail(ErrorCode::kInvalidCurveKey,
                fmt::format("Cannot derive the public key of {}.", path));
  }
  return CurveKeyPair{public_key.data(), std::move(*secret)};
}

Result<std::string> LoadCurvePublicFile(const std::string& path) { return ReadKeyText(path); }

Status WriteCurveKeyPair(const std::string& prefix, const CurveKeyPair& pair) {
  if (auto status = WriteFile(prefix + ".key", pair.secret_key, 0600); !status) return status;
  return WriteFile(prefix + ".pub", pair.public_key, 0644);
}

}  // namespace batchq
