// The runtime's log: one line per message on stderr, with time, level and
// the stage it came from; lines from different threads never interleave.
#pragma once

#include <stream_smarts/log.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace stream_smarts::runtime {

std::optional<log_level> parse_log_level(std::string_view text);
const char* to_string(log_level level);

/// Process-wide log settings, set once by the CLI before anything runs.
void set_log_level(log_level level);
log_level current_log_level();

/// Writes one line: "2026-11-21T10:00:00.123Z warning [stage] message".
void write_log_line(log_level level, std::string_view stage, std::string_view message);

/// A logger that tags every line with a stage name; what plugins are given.
class stage_logger final : public logger {
public:
  explicit stage_logger(std::string stage) : stage_(std::move(stage)) {}
  bool enabled(log_level level) const override { return level >= current_log_level(); }
  void log(log_level level, std::string_view message) override { write_log_line(level, stage_, message); }

private:
  std::string stage_;
};

/// The runtime's own logger (stage "runtime").
logger& runtime_log();

} // namespace stream_smarts::runtime
