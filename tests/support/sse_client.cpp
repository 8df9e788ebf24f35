#include "tests/support/sse_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace batchq::test {

SseClient::SseClient(const std::string& base_url, const std::string& path,
                     const std::string& api_key, const std::string& last_event_id,
                     std::chrono::milliseconds timeout) {
  const std::string authority = base_url.substr(base_url.find("//") + 2);
  const auto colon = authority.rfind(':');
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(authority.c_str() + colon + 1)));
  inet_pton(AF_INET, authority.substr(0, colon).c_str(), &address.sin_addr);
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return;
  std::string request =
      fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n", path, authority);
  if (!api_key.empty()) request += fmt::format("Authorization: Bearer {}\r\n", api_key);
  if (!last_event_id.empty()) request += fmt::format("Last-Event-ID: {}\r\n", last_event_id);
  request += "\r\n";
  if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) < 0) return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end = std::string::npos;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !ReadSome(left)) return;
  }
  headers_ = raw_.substr(0, end + 4);
  raw_.erase(0, end + 4);
  status_ = std::atoi(headers_.c_str() + headers_.find(' ') + 1);
  // Only a 200 stream is chunked here; any other answer's body is left unread.
  if (status_ != 200) ended_ = true;
}

SseClient::~SseClient() {
  if (fd_ >= 0) close(fd_);
}

bool SseClient::ReadSome(std::chrono::milliseconds timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buffer[4096];
  const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
  if (n <= 0) {
    ended_ = true;
    return false;
  }
  raw_.append(buffer, static_cast<std::size_t>(n));
  return true;
}

void SseClient::Unchunk() {
  for (;;) {
    const auto line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) return;
    const std::size_t size = std::strtoul(raw_.c_str(), nullptr, 16);
    if (size == 0) {
      ended_ = true;
      raw_.clear();
      return;
    }
    if (raw_.size() < line_end + 2 + size + 2) return;
    body_.append(raw_, line_end + 2, size);
    raw_.erase(0, line_end + 2 + size + 2);
  }
}

std::optional<SseEvent> SseClient::Next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Unchunk();
    const auto end = body_.find("\n\n");
    if (end != std::string::npos) {
      const std::string block = body_.substr(0, end + 1);
      body_.erase(0, end + 2);
      SseEvent event;
      bool any = false;
      for (std::size_t at = 0; at < block.size();) {
        const auto newline = block.find('\n', at);
        const std::string line = block.substr(at, newline - at);
        at = newline + 1;
        if (line.starts_with(":")) continue;
        const auto colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (value.starts_with(" ")) value.erase(0, 1);
        if (field == "id") event.id = value;
        if (field == "event") event.name = value;
        if (field == "retry") retry_ms_ = std::atol(value.c_str());
        if (field == "data") event.data += (event.data.empty() ? "" : "\n") + value;
        any = any || field == "data";
      }
      if (any) return event;
      if (block.starts_with(":")) ++comments_;
      continue;
    }
    if (ended_) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !ReadSome(left)) {
      if (ended_) continue;  // what was read before the end may hold events
      return std::nullopt;
    }
  }
}

}  // namespace batchq::test
