#include "gateway/admin_key_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace batchq {
namespace {

std::string ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read the admin key file '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
    key.pop_back();
  }
  return key;
}

// Creates `path` with a new key, exclusively: when another gateway made it first,
// returns false and that key is read instead.
bool CreateKeyFile(const std::string& path, const std::string& key_text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw std::runtime_error(
        fmt::format("cannot create the admin key file '{}': {}", path, std::strerror(errno)));
  }
  const std::string line = key_text + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) {
    throw std::runtime_error(fmt::format("cannot write the admin key file '{}'", path));
  }
  return true;
}

}  // namespace

KeyRecord LoadOrCreateAdminKey(const std::string& path) {
  std::string text_form;
  if (::access(path.c_str(), F_OK) != 0) {
    const std::string fresh = FormatKeyText(NewKeyText());
    text_form = CreateKeyFile(path, fresh) ? fresh : ReadKeyFile(path);
  } else {
    text_form = ReadKeyFile(path);
  }
  const auto key = ParseKeyText(text_form);
  if (!key) {
    throw std::runtime_error(
        fmt::format("the admin key file '{}' does not hold a batchq key (bq_<id>_<secret>)", path));
  }
  KeyRecord record;
  record.id = key->id;
  record.tenant = kAdminTenant;
  record.scopes = kAllScopes;
  record.secret_sha256 = Sha256Hex(key->secret);
  return record;
}

}  // namespace batchq
