// The runtime's log: one line per message on stderr, with time, level and
// the stage it came from, as text or as JSON; lines from different threads
// never interleave, and no secret of the pipeline ever appears in one.
#pragma once

#include <stream_smarts/log.hpp>
#include <stream_smarts/reading.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::runtime {

std::optional<log_level> parse_log_level(std::string_view text);
const char* to_string(log_level level);

/// "text": 2026-11-21T10:00:00.123Z warning [stage] message
/// "json": {"ts":"2026-11-21T10:00:00.123Z","level":"warning","stage":"stage","message":"message"}
enum class log_format { text, json };
std::optional<log_format> parse_log_format(std::string_view text);

/// Process-wide log settings, set once by the CLI before anything runs.
void set_log_level(log_level level);
log_level current_log_level();
void set_log_format(log_format format);
log_format current_log_format();

/// Values that must never appear in a log line (the pipeline's secret
/// options): each occurrence is written as "[secret]". Values shorter than
/// min_secret_length are left alone: they would garble every line and hide
/// nothing. Set before the stages start; replaces what was set before.
inline constexpr std::size_t min_secret_length = 4;
void set_log_secrets(std::vector<std::string> secrets);
/// `text` with every secret set above replaced by "[secret]".
std::string without_secrets(std::string_view text);

/// One line as written, without its newline (the message is taken as is:
/// write_log_line removes secrets first).
std::string format_log_line(log_format format, std::string_view timestamp, log_level level, std::string_view stage,
                            std::string_view message);
/// `text` for a text log line: a line break or other control character from
/// input (a CR in a CSV cell, a terminal escape in a Kafka message) shown
/// as \n, \r, \x1b, so it can neither forge a line nor drive the terminal.
std::string text_escape(std::string_view text);
/// `text` as the contents of a JSON string: quotes, backslashes and control
/// characters escaped, invalid UTF-8 replaced by U+FFFD.
std::string json_escape(std::string_view text);

/// Writes one line in the format set above, secrets removed.
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

/// "home 2007-01-01 04:00": a reading's meter and local time in a log line.
std::string meter_and_time(const reading& r);
/// "home 2007-01-01 04:00 (band, 1500 Wh, score 5.38)": a scored reading in a log line.
std::string describe(const scored_reading& s);
/// "the raised alert for home 2007-01-01 04:00 (band, 1500 Wh, score 5.38)";
/// "the scored reading for ..." for a sink with receive = "all".
std::string describe(const alert& a);

} // namespace stream_smarts::runtime
