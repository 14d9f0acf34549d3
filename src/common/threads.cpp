#include "src/common/threads.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace comptoir {

void lower_thread_priority(int increment) {
  if (increment <= 0) return;
  // SCHED_BATCH: a woken request thread does not preempt the running thread (the writer, when it
  // wakes the callers of a commit); it runs on an idle CPU or at the next tick.
  sched_param param{};
  param.sched_priority = 0;
  ::sched_setscheduler(0, SCHED_BATCH, &param);
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) return;
  ::setpriority(PRIO_PROCESS, tid, current + increment > 19 ? 19 : current + increment);
}

}  // namespace comptoir
