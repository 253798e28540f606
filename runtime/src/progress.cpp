#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace stream_smarts::runtime {

progress_bar::progress_bar(int phases) : phases_(phases) {
  const char* term = std::getenv("TERM");
  enabled_ = ::isatty(STDERR_FILENO) == 1 && !(term && std::strcmp(term, "dumb") == 0);
}

void progress_bar::phase(std::string name) {
  ++phase_;
  name_ = std::move(name);
  draw("", true);
}

void progress_bar::fraction(double done) {
  constexpr int width = 30;
  done = std::clamp(done, 0.0, 1.0);
  const int filled = static_cast<int>(done * width);
  std::string tail = " [" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  tail += std::to_string(static_cast<int>(done * 100)) + " %";
  draw(tail, done == 0 || done == 1);
}

void progress_bar::count(std::size_t items, const char* what) {
  draw(" " + std::to_string(items) + " " + what, false);
}

void progress_bar::draw(const std::string& tail, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;  // a terminal need not see more
  last_draw_ = now;
  std::fprintf(stderr, "\r\033[K[%d/%d] %s%s", phase_, phases_, name_.c_str(), tail.c_str());
  std::fflush(stderr);
}

void progress_bar::finish() {
  if (!enabled_ || phase_ == 0) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  phase_ = 0;
}

} // namespace stream_smarts::runtime
