#include "log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace stream_smarts::runtime {
namespace {
std::atomic<log_level> level_{log_level::info};
std::mutex write_mutex_;
} // namespace

std::optional<log_level> parse_log_level(std::string_view text) {
  if (text == "debug") return log_level::debug;
  if (text == "info") return log_level::info;
  if (text == "warning" || text == "warn") return log_level::warning;
  if (text == "error") return log_level::error;
  return std::nullopt;
}

const char* to_string(log_level level) {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "?";
}

void set_log_level(log_level level) { level_ = level; }
log_level current_log_level() { return level_; }

void write_log_line(log_level level, std::string_view stage, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard<std::mutex> guard(write_mutex_);
  std::fprintf(stderr, "%s.%03dZ %-7s [%.*s] %.*s\n", stamp, static_cast<int>(ms), to_string(level),
               static_cast<int>(stage.size()), stage.data(), static_cast<int>(message.size()), message.data());
}

logger& runtime_log() {
  static stage_logger log{"runtime"};
  return log;
}

} // namespace stream_smarts::runtime
