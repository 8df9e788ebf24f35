#pragma once
// A webhook receiver on loopback for tests and benchmarks: a real HTTP server (Beast)
// that records each POST (target, body, Batchq-Signature, Batchq-Delivery) and answers
// the status its `answer` gives, counting from 1. One connection at a time, on its own
// thread; Connection: close.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace batchq::test {

struct ReceivedWebhook {
  std::string target;
  std::string body;
  std::string signature;  // Batchq-Signature
  std::string delivery;   // Batchq-Delivery
  int answered = 0;       // the status sent back
};

class WebhookReceiver {
 public:
  // `answer(webhook, n)`: the status for the n-th POST (1-based); called on the
  // receiver's thread.
  using Answer = std::function<int(const ReceivedWebhook&, std::size_t)>;
  explicit WebhookReceiver(Answer answer);
  ~WebhookReceiver();

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& target = "/hook") const;
  std::vector<ReceivedWebhook> received() const;
  std::size_t count() const { return count_.load(); }

 private:
  void Accept();

  Answer answer_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<ReceivedWebhook> received_;
  std::atomic<std::size_t> count_{0};
  std::thread thread_;
};

}  // namespace batchq::test
