#pragma once
// A blocking client of one server-sent-event stream over plain HTTP/1.1, for tests: it
// sends the GET, reads the status and headers, then undoes the chunked framing and
// splits events as they arrive. Not thread-safe.

#include <chrono>
#include <optional>
#include <string>

namespace batchq::test {

struct SseEvent {
  std::string id;
  std::string name;
  std::string data;
};

class SseClient {
 public:
  // `base_url` is "http://host:port". Connects, sends the request and reads the answer's
  // headers (status() is 0 when that failed within `timeout`).
  SseClient(const std::string& base_url, const std::string& path, const std::string& api_key,
            const std::string& last_event_id = "",
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  int status() const { return status_; }
  const std::string& headers() const { return headers_; }
  // The next event, comments skipped (and counted); nullopt when the stream ended (see
  // ended()) or nothing came within `timeout`.
  std::optional<SseEvent> Next(std::chrono::milliseconds timeout);
  bool ended() const { return ended_; }
  int comments() const { return comments_; }
  // The "retry:" the server last sent, in ms; -1 before one.
  long retry_ms() const { return retry_ms_; }

 private:
  // Reads more bytes into raw_ within `timeout`; false on timeout, error or end.
  bool ReadSome(std::chrono::milliseconds timeout);
  // Moves whole chunks from raw_ to body_.
  void Unchunk();

  int fd_ = -1;
  int status_ = 0;
  std::string headers_;
  std::string raw_;   // bytes after the headers, still framed
  std::string body_;  // unframed, not yet split into events
  bool ended_ = false;
  int comments_ = 0;
  long retry_ms_ = -1;
};

}  // namespace batchq::test
