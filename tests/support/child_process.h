#pragma once
// A child process for integration tests: started with posix_spawn, output to a log
// file, stopped with SIGTERM (or killed) when the object goes away.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace batchq::test {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  bool running();
  void Signal(int signal);
  // SIGTERM, then SIGKILL if it has not exited within `grace`; returns the exit status.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void Kill();  // SIGKILL and reap
  // Waits for exit (bounded); returns the raw wait status or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string ReadLog() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// Runs a command to completion (bounded), capturing stdout; returns the exit code.
int RunCommand(const std::vector<std::string>& argv, std::string* stdout_text,
               std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Polls `condition` until it holds or `timeout` passes (readiness, not timing).
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace batchq::test
