// Slow and hostile HTTP clients against a real gateway: hundreds of connections that
// trickle headers, more connections than the cap, and more than the process may open.
// Each is bounded by the server, and an ordinary client is still answered.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/address_sanitizer.h"
#include "tests/support/stack.h"

namespace batchq::test {
namespace {

// A raw TCP connection to 127.0.0.1:port, closed on destruction; -1 when refused.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  RawConnection(RawConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RawConnection(const RawConnection&) = delete;
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  void Send(std::string_view bytes) { (void)send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Whatever the server sent until it closed, once it has closed; nullopt while open.
  std::optional<std::string> ClosedWith() {
    for (;;) {
      pollfd item{fd_, POLLIN, 0};
      if (poll(&item, 1, 0) <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n > 0) {
        received_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
      return received_;  // 0: closed; ECONNRESET: closed hard
    }
  }

 private:
  int fd_;
  std::string received_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Port(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

TEST(SlowClientTest, TricklingClientsAreCutOffAndTheCapRefusesTheRestWhileOthersAreServed) {
  Stack stack(StackOptions{
      .workers = 0, .gateway_args = {"--max-connections", "150", "--header-timeout-ms", "1500"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  auto regular = stack.Client();  // connected before the flood, kept alive
  ASSERT_TRUE(regular->Get("/healthz"));
  const int port = Port(stack.url());
  std::vector<RawConnection> slow;
  for (int i = 0; i < 300; ++i) {
    slow.emplace_back(port);
    ASSERT_TRUE(slow.back().ok()) << i;
    // Most never finish their headers; one in ten never sends a byte, and must not keep
    // its place for the 75 s a kept-alive connection may idle.
    if (i % 10 != 0) slow.back().Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  // An ordinary client with its connection already open is answered meanwhile.
  auto served = regular->Get("/healthz");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  // Trickling more does not buy time: the header timeout counts from the first byte.
  std::size_t closed = 0, refused = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        closed = refused = 0;
        for (std::size_t i = 0; i < slow.size(); ++i) {
          auto& connection = slow[i];
          if (i % 10 != 0) connection.Send("y");
          if (auto got = connection.ClosedWith()) {
            ++closed;
            if (got->find(R"("code":"overloaded")") != std::string::npos) ++refused;
          }
        }
        return closed == slow.size();
      },
      std::chrono::seconds(30)))
      << closed << " of " << slow.size() << " closed\n"
      << stack.Logs();
  EXPECT_GE(refused, 100u) << "past the cap of 150, new connections are told 503 overloaded";
  EXPECT_GE(slow.size() - refused, 140u)
      << "up to the cap (less the test's own connections), connections are taken";
  auto after = stack.Client()->Get("/healthz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  const std::string metrics = ScrapeMetrics(stack.url(), stack.admin_key());
  EXPECT_GE(MetricValue(metrics, R"(batchq_http_connections_dropped_total{reason="limit"})"),
            static_cast<double>(refused))
      << metrics;
  EXPECT_GE(
      MetricValue(metrics, R"(batchq_http_connections_dropped_total{reason="header_timeout"})"),
      static_cast<double>(slow.size() - refused))
      << metrics;
}

TEST(SlowClientTest, AHeaderOverTheLimitIsRefusedWithASentence) {
  Stack stack(StackOptions{.workers = 0, .gateway_args = {"--max-header-bytes", "2048"}});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  RawConnection big(Port(stack.url()));
  ASSERT_TRUE(big.ok());
  big.Send(
      fmt::format("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", std::string(4096, 'a')));
  std::optional<std::string> answer;
  ASSERT_TRUE(WaitFor([&] { return (answer = big.ClosedWith()).has_value(); }));
  EXPECT_NE(answer->find("400 Bad Request"), std::string::npos) << *answer;
  EXPECT_NE(answer->find("exceed the limit of 2048 bytes"), std::string::npos) << *answer;
}

TEST(SlowClientTest, AcceptFailingForWantOfFilesBacksOffAndRecovers) {
#ifdef BATCHQ_ASAN
  // UBSan's type checks open files when they meet a type (GCC's reads /proc/self/maps,
  // clang's tests through a pipe that a vtable is readable), which fails in a process out
  // of files: the sanitizer, not the gateway, then reports and aborts.
  GTEST_SKIP() << "a process out of file descriptors cannot run the sanitizers' checks";
#endif
  Stack stack(StackOptions{.workers = 0});
  ASSERT_TRUE(stack.WaitReady(0)) << stack.Logs();
  // A second gateway on the same stack, allowed few open files, with a cap above them.
  const std::string ready = stack.dir() + "/starved.ready";
  std::vector<std::string> argv{"/bin/sh", "-c", "ulimit -n 128 && exec \"$@\"", "sh"};
  for (auto& arg : stack.GatewayArgv(ready)) argv.push_back(arg);
  ChildProcess starved(argv, stack.dir() + "/starved.log");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready); })) << starved.ReadLog();
  const int port = static_cast<int>(JsonInt(ReadFile(ready), "port"));
  const std::string url = fmt::format("http://127.0.0.1:{}", port);
  {
    HttpClientOptions options;
    options.bearer_token = stack.admin_key();
    auto client = HttpClient::Connect(url, options);
    ASSERT_TRUE(client);
    auto health = (*client)->Get("/healthz");
    ASSERT_TRUE(health);
    ASSERT_EQ(health->status, 200);
    ASSERT_FALSE(ScrapeMetrics(url, stack.admin_key()).empty());
  }
  {
    std::vector<RawConnection> hogs;
    for (int i = 0; i < 250; ++i) hogs.emplace_back(port);  // the kernel queues what is not taken
    // Accept fails with EMFILE while the hogs hold the files, and waits longer each
    // time until a second between tries (a busy loop would never log that wait).
    ASSERT_TRUE(WaitFor([&] {
      return starved.ReadLog().find(
                 "accept failed: Too many open files; accepting again in 1000 ms") !=
             std::string::npos;
    })) << starved.ReadLog();
  }  // the hogs close
  std::unique_ptr<HttpClient> client;
  ASSERT_TRUE(WaitFor([&] {
    HttpClientOptions options;
    options.bearer_token = stack.admin_key();
    auto connected = HttpClient::Connect(url, options);
    if (!connected) return false;
    auto health = (*connected)->Get("/healthz");
    if (!health || health->status != 200) return false;
    client = std::move(*connected);
    return true;
  })) << starved.ReadLog();
  const std::string metrics = ScrapeMetrics(url, stack.admin_key());
  const double failures =
      MetricValue(metrics, R"(batchq_http_connections_dropped_total{reason="accept_error"})");
  EXPECT_GE(failures, 1) << metrics;
  // 10 ms doubling to 1 s: about nine tries in the first two seconds, then one a second.
  EXPECT_LT(failures, 100) << "accept backs off instead of spinning";
}

}  // namespace
}  // namespace batchq::test
