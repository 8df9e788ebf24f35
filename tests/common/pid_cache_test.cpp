// common/pid_cache.cpp, linked into this test binary as into the broker, gateway and
// worker: getpid() comes from memory and stays right across fork().
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

pid_t KernelPid() { return static_cast<pid_t>(::syscall(SYS_getpid)); }

TEST(PidCacheTest, SharedLibrariesReachTheExecutablesGetpid) {
  // What a shared library's PLT resolves to, against glibc's own definition.
  void* seen_by_libraries = ::dlsym(RTLD_DEFAULT, "getpid");
  void* glibcs = ::dlsym(RTLD_NEXT, "getpid");
  ASSERT_NE(seen_by_libraries, nullptr);
  ASSERT_NE(glibcs, nullptr);
  EXPECT_NE(seen_by_libraries, glibcs);
  EXPECT_EQ(seen_by_libraries, reinterpret_cast<void*>(&::getpid));
}

TEST(PidCacheTest, AnswersThisProcesssPid) { EXPECT_EQ(::getpid(), KernelPid()); }

TEST(PidCacheTest, AForkedChildAnswersItsOwnPid) {
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes say what the child saw: 0 right, 1 its parent's pid, 2 another.
    const pid_t seen = ::getpid();
    ::_exit(seen == KernelPid() ? 0 : seen == parent ? 1 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the child answered its parent's pid";
  EXPECT_EQ(::getpid(), parent);
}

}  // namespace
