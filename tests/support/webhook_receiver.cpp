#include "tests/support/webhook_receiver.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace batchq::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

WebhookReceiver::WebhookReceiver(Answer answer)
    : answer_(std::move(answer)),
      acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { io_.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  io_.stop();
  thread_.join();
}

std::string WebhookReceiver::url(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + target;
}

std::vector<ReceivedWebhook> WebhookReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void WebhookReceiver::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, asio::ip::tcp::socket socket) {
    if (ec) return;
    // Synchronous on the receiver's one thread: a test receiver, one sender at a time.
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request, ec);
    if (!ec) {
      ReceivedWebhook got{std::string(request.target()), request.body(),
                          std::string(request["Batchq-Signature"]),
                          std::string(request["Batchq-Delivery"]), 0};
      got.answered = answer_(got, count_.load() + 1);
      http::response<http::string_body> response(static_cast<http::status>(got.answered), 11);
      response.set(http::field::content_type, "text/plain");
      response.keep_alive(false);
      if (got.answered != 204 && got.answered != 304) response.body() = "ok";
      response.prepare_payload();
      {
        std::lock_guard lock(mutex_);
        received_.push_back(std::move(got));
      }
      ++count_;
      http::write(socket, response, ec);
    }
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    Accept();
  });
}

}  // namespace batchq::test
