// getpid() answered from memory, for the processes that link this object.
//
// Why: libzmq checks getpid() on every operation of its internal signaler (to notice a
// fork), and glibc has made that a system call since 2.25. The stack's processes made
// 8 to 21 getpid calls per job at 1,000 jobs/s, each about 1 µs on the benchmark VM
// (docs/BENCHMARKS.md, "the pid from memory"). Defining getpid in the executable
// interposes it for every shared library that calls it through its PLT, libzmq
// included; glibc's own internal calls are unaffected.
//
// Correctness: the value is read once at start-up and again in the child after every
// fork() that runs glibc's fork handlers (fork, and the forks of Python and
// multiprocessing). A child made by vfork() or posix_spawn() shares or replaces the
// image before it could ask, and a raw clone() syscall that makes a new process without
// exec is not used by anything linked here. Until the constructor has run, the answer
// comes from the system call.

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace {

std::atomic<pid_t> cached_pid{0};

pid_t AskTheKernel() { return static_cast<pid_t>(::syscall(SYS_getpid)); }

void RefreshInChild() { cached_pid.store(AskTheKernel(), std::memory_order_relaxed); }

__attribute__((constructor)) void FillPidCache() {
  cached_pid.store(AskTheKernel(), std::memory_order_relaxed);
  ::pthread_atfork(nullptr, nullptr, &RefreshInChild);
}

}  // namespace

extern "C" pid_t getpid() noexcept {
  const pid_t pid = cached_pid.load(std::memory_order_relaxed);
  return pid != 0 ? pid : AskTheKernel();
}
