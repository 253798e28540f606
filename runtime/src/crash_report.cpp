#include "crash_report.hpp"

#include <csignal>
#include <cstring>
#include <iterator>
#include <unistd.h>

namespace stream_smarts::runtime {
namespace {

thread_local const char* running = nullptr;

struct fatal_signal {
  int number;
  const char* what;
};
constexpr fatal_signal fatal_signals[] = {
    {SIGSEGV, "segmentation fault"}, {SIGBUS, "bus error"}, {SIGILL, "illegal instruction"},
    {SIGFPE, "arithmetic error"},    {SIGABRT, "abort"},
};
struct sigaction before[std::size(fatal_signals)];

void say(const char* text) {
  for (std::size_t left = std::strlen(text); left > 0;) {  // write() and strlen() are async-signal-safe
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

void report(int sig) {
  for (std::size_t i = 0; i < std::size(fatal_signals); ++i) {
    if (fatal_signals[i].number != sig) continue;
    if (running != nullptr) {
      say("stream-smarts: ");
      say(fatal_signals[i].what);
      say(" in ");
      say(running);
      say("; the process ends here\n");
    }
    ::sigaction(sig, &before[i], nullptr);
    ::raise(sig);  // delivered when this handler returns, to the handler there was before
    return;
  }
}

} // namespace

running_plugin::running_plugin(const char* note) noexcept : previous_(running) { running = note; }
running_plugin::~running_plugin() { running = previous_; }

void install_crash_report() {
  struct sigaction action {};
  action.sa_handler = report;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (std::size_t i = 0; i < std::size(fatal_signals); ++i)
    ::sigaction(fatal_signals[i].number, &action, &before[i]);
}

} // namespace stream_smarts::runtime
