#include "tests/support/child_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace batchq::test {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn failed for " + argv[0]);
  return pid;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
  const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open log " + log_path_);
  pid_ = Spawn(argv, fd);
  close(fd);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Stop();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), log_path_(std::move(other.log_path_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) Stop();
    pid_ = std::exchange(other.pid_, -1);
    log_path_ = std::move(other.log_path_);
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGCONT);  // a stopped process cannot handle SIGTERM
  kill(pid_, SIGTERM);
  const int status = Wait(grace);
  if (status != -1) return status;
  Kill();
  return -1;
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ChildProcess::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int RunCommand(const std::vector<std::string>& argv, std::string* stdout_text,
               std::chrono::milliseconds timeout) {
  char path[] = "/tmp/batchq-cmd-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  pid_t pid = -1;
  try {
    pid = Spawn(argv, fd);
  } catch (...) {
    close(fd);
    unlink(path);
    throw;
  }
  close(fd);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (stdout_text != nullptr) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    *stdout_text = text.str();
  }
  unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

// The lowest port the kernel hands out for outgoing connections and bind(0).
int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  in >> low;
  return low;
}

bool Bindable(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Ports handed out in the last minute by any test process on this machine, kept in a
// file under an flock: two test binaries that ctest runs at once must not pick the same
// port in the moment before either binds it.
class RecentPorts {
 public:
  RecentPorts() : fd_(open("/tmp/batchq-test-ports", O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    now_ = now;
    std::ifstream in("/tmp/batchq-test-ports");
    long long at = 0;
    int port = 0;
    while (in >> at >> port) {
      if (now - at < 60) ports_.emplace(port, at);
    }
  }
  ~RecentPorts() {
    std::ofstream out("/tmp/batchq-test-ports", std::ios::trunc);
    for (const auto& [port, at] : ports_) out << at << ' ' << port << '\n';
    out.close();
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  bool Taken(int port) const { return ports_.contains(port); }
  void Take(int port) { ports_.emplace(port, now_); }

 private:
  int fd_;
  long long now_ = 0;
  std::map<int, long long> ports_;
};

// A port below the ephemeral range that binds now and no test process took lately. Not
// one bind(0) gives: between choosing a port and a process binding it, any outgoing
// connection on the machine may take an ephemeral port as its own (CI's broker once
// could not bind its port while a Sentinel stack was busy connecting), but never one
// below that range.
int AnyFreePort() {
  static std::mt19937 random(std::random_device{}());
  const int high = std::max(11000, EphemeralLow());
  std::uniform_int_distribution<int> pick(10000, high - 1);
  RecentPorts recent;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(random);
    if (recent.Taken(port) || !Bindable(port)) continue;
    recent.Take(port);
    return port;
  }
  throw std::runtime_error("no bindable loopback port below the ephemeral range");
}

}  // namespace

int FreePort() {
  // A Stack asks for several ports before anything binds them: once, CI's broker found
  // its backend port already taken by the Redis started a moment earlier. So no port is
  // given twice by one process.
  static std::mutex mutex;
  static std::set<int> given;
  std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = AnyFreePort();
    if (given.insert(port).second) return port;
  }
  throw std::runtime_error("no free loopback port that was not handed out before");
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace batchq::test
