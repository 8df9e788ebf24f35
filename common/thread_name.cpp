#include "common/thread_name.h"

#include <pthread.h>

namespace batchq {

void NameThisThread(const std::string& name) {
  constexpr std::size_t kMaxBytes = 15;  // the kernel's TASK_COMM_LEN, less its NUL
  // Failure leaves the inherited name, which is only less helpful.
  pthread_setname_np(pthread_self(), name.substr(0, kMaxBytes).c_str());
}

}  // namespace batchq
