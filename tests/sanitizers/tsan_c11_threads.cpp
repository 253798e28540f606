// C11 threads (<threads.h>) on top of pthreads, linked into every executable
// of a ThreadSanitizer build (STREAM_SMARTS_SANITIZE=thread) and exported, so
// that librdkafka's calls land here instead of in glibc.
//
// librdkafka makes its threads with thrd_create and locks with mtx_lock and
// cnd_wait. glibc implements those by calling its pthread functions
// internally, where TSan's interceptors never see them, and bookworm's TSan
// runtimes (gcc 12's libtsan2, clang 14's) have no interceptors for C11
// threads. So each thread librdkafka starts is unknown to TSan, whose
// runtime then crashes on the thread's first malloc ("ThreadSanitizer: SEGV
// ... nested bug in the same thread"), and its locks would be invisible.
// Going through pthread_create, pthread_mutex_lock and the rest here, every
// call meets an interceptor.
//
// glibc's own implementation is this same mapping: thrd_t is a pthread_t,
// mtx_t and cnd_t have the layout of pthread_mutex_t and pthread_cond_t,
// once_flag holds a pthread_once_t.
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <pthread.h>

namespace {

int result_of(int pthread_error) {
  switch (pthread_error) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM:
    case EAGAIN: return thrd_nomem;
    default: return thrd_error;
  }
}

pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

struct start {
  thrd_start_t func;
  void* arg;
};

void* run(void* p) {
  const start s = *static_cast<start*>(p);
  std::free(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.func(s.arg)));
}

} // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* s = static_cast<start*>(std::malloc(sizeof(start)));
  if (s == nullptr) return thrd_nomem;
  *s = {func, arg};
  const int error = pthread_create(thr, nullptr, run, s);
  if (error != 0) std::free(s);
  return result_of(error);
}

int thrd_join(thrd_t thr, int* res) {
  void* value = nullptr;
  const int error = pthread_join(thr, &value);
  if (error == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return result_of(error);
}

int thrd_detach(thrd_t thr) { return result_of(pthread_detach(thr)); }

void thrd_exit(int res) { pthread_exit(reinterpret_cast<void*>(static_cast<std::intptr_t>(res))); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int error = pthread_mutex_init(native(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return result_of(error);
}

int mtx_lock(mtx_t* m) { return result_of(pthread_mutex_lock(native(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict until) {
  return result_of(pthread_mutex_timedlock(native(m), until));
}
int mtx_trylock(mtx_t* m) { return result_of(pthread_mutex_trylock(native(m))); }
int mtx_unlock(mtx_t* m) { return result_of(pthread_mutex_unlock(native(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(native(m)); }

int cnd_init(cnd_t* c) { return result_of(pthread_cond_init(native(c), nullptr)); }
int cnd_signal(cnd_t* c) { return result_of(pthread_cond_signal(native(c))); }
int cnd_broadcast(cnd_t* c) { return result_of(pthread_cond_broadcast(native(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return result_of(pthread_cond_wait(native(c), native(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict until) {
  return result_of(pthread_cond_timedwait(native(c), native(m), until));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(native(c)); }

void call_once(once_flag* flag, void (*func)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(&flag->__data), func);
}

} // extern "C"
