#include "log.hpp"

#include <stream_smarts/utf8.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace stream_smarts::runtime {
namespace {
std::atomic<log_level> level_{log_level::info};
std::atomic<log_format> format_{log_format::text};
std::mutex mutex_;              // guards the writes and secrets_
std::vector<std::string> secrets_;  // longest first, so a secret containing another is replaced whole

std::string redact(std::string_view text) {
  std::string out(text);
  for (const auto& secret : secrets_)
    for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret, at + 8))
      out.replace(at, secret.size(), "[secret]");
  return out;
}

std::string timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms));
  return stamp;
}

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

std::optional<log_format> parse_log_format(std::string_view text) {
  if (text == "text") return log_format::text;
  if (text == "json") return log_format::json;
  return std::nullopt;
}

void set_log_level(log_level level) { level_ = level; }
log_level current_log_level() { return level_; }
void set_log_format(log_format format) { format_ = format; }
log_format current_log_format() { return format_; }

void set_log_secrets(std::vector<std::string> secrets) {
  std::erase_if(secrets, [](const std::string& s) { return s.size() < min_secret_length; });
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  std::lock_guard<std::mutex> guard(mutex_);
  secrets_ = std::move(secrets);
}

std::string without_secrets(std::string_view text) {
  std::lock_guard<std::mutex> guard(mutex_);
  return redact(text);
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  append_json_escaped(out, text);
  return out;
}

std::string text_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_text_escaped(out, text);
  return out;
}

std::string format_log_line(log_format format, std::string_view timestamp, log_level level, std::string_view stage,
                            std::string_view message) {
  std::string out;
  if (format == log_format::json) {
    out.reserve(message.size() + stage.size() + 64);
    out += "{\"ts\":\"" + json_escape(timestamp) + "\",\"level\":\"" + to_string(level) + "\",\"stage\":\"" +
           json_escape(stage) + "\",\"message\":\"" + json_escape(message) + "\"}";
    return out;
  }
  std::string level_text = to_string(level);
  level_text.resize(std::max<std::size_t>(level_text.size(), 7), ' ');
  out.reserve(message.size() + stage.size() + 40);
  out.append(timestamp).append(" ").append(level_text).append(" [").append(text_escape(stage)).append("] ");
  out.append(text_escape(message));
  return out;
}

void write_log_line(log_level level, std::string_view stage, std::string_view message) {
  const std::string stamp = timestamp();
  std::lock_guard<std::mutex> guard(mutex_);
  std::string line = format_log_line(format_, stamp, level, redact(stage), redact(message));
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

logger& runtime_log() {
  static stage_logger log{"runtime"};
  return log;
}

std::string meter_and_time(const reading& r) {
  const local_fields& l = r.local;
  char when[32];
  std::snprintf(when, sizeof when, "%04d-%02d-%02d %02d:%02d", l.year, l.month, l.day, l.hour, l.minute);
  return r.meter + " " + when;
}

std::string describe(const scored_reading& s) {
  char numbers[64];
  std::snprintf(numbers, sizeof numbers, "%.0f Wh, score %.2f", s.reading.wh, s.score);
  return meter_and_time(s.reading) + " (" + s.scorer + ", " + numbers + ")";
}

std::string describe(const alert& a) {
  const std::string what = a.kind == alert_kind::none ? "scored reading" : std::string(to_string(a.kind)) + " alert";
  return "the " + what + " for " + describe(a.scored);
}

} // namespace stream_smarts::runtime
