// The gpio_meter source's pulse files: lines in, UTC nanoseconds out. Pure
// (the plugin reads the bytes; this splits and parses them), so every
// malformed case is tested without a file.
#pragma once

#include "pulse_counter.hpp"

#include <common/reading_fields.hpp>
#include <stream_smarts/time.hpp>
#include <stream_smarts/utf8.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stream_smarts::gpio_meter {

enum class line_kind { pulse, ignored, malformed };

inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Parses one line of a pulse file into `ts_ns` (UTC nanoseconds):
///   1718000000.123456789        epoch seconds (UTC), up to 9 decimals: the
///                               kernel's resolution, `date +%s.%N`
///   2024-06-10T08:13:20.123+02:00  ISO-8601, millisecond resolution; without
///                               an offset (or Z) it is local to `zone`, and
///                               in the hour the end of summer time repeats
///                               it follows `previous_ns` (the pulse before)
///   blank, or starting with #   ignored
/// On malformed input returns line_kind::malformed with the reason in `why`.
inline constexpr std::int64_t max_epoch_s = 9'000'000'000;  ///< in 2255

inline line_kind parse_pulse_line(std::string_view line, const time_zone& zone, std::optional<std::int64_t> previous_ns,
                                  std::int64_t& ts_ns, std::string& why) {
  line = trim_blanks(line);
  if (line.empty() || line.front() == '#') return line_kind::ignored;
  if (line.size() >= 5 && line[4] == '-') {
    const auto t = parse_iso8601(line);
    if (!t) {
      why = "not a timestamp: '" + std::string(line) +
            "' (expected epoch seconds such as 1718000000.25, or ISO-8601 such as 2024-06-10T08:13:20.250+02:00)";
      return line_kind::malformed;
    }
    std::int64_t ms = to_utc_ms(*t, zone);
    if (!t->utc_offset_s && previous_ns)
      ms = reading_fields::later_if_repeated(ms, floor_div(*previous_ns, ns_per_ms), zone);
    if (ms < 0 || ms > max_epoch_s * 1000) {  // as epoch seconds below: int64 nanoseconds end in 2262
      why = "time out of range: '" + std::string(line) + "' (pulses are from 1970 to 2255)";
      return line_kind::malformed;
    }
    ts_ns = ms * ns_per_ms;
    return line_kind::pulse;
  }
  // Epoch seconds: digits, optionally '.' and 1..9 digits. No sign, no exponent.
  std::int64_t seconds = 0, fraction = 0;
  std::size_t i = 0, int_digits = 0, frac_digits = 0;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i, ++int_digits)
    if (int_digits < 12) seconds = seconds * 10 + (line[i] - '0');
  bool ok = int_digits > 0;
  if (ok && i < line.size() && line[i] == '.') {
    ++i;
    for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i, ++frac_digits)
      if (frac_digits < 9) fraction = fraction * 10 + (line[i] - '0');
    ok = frac_digits > 0;
  }
  ok = ok && i == line.size();
  if (!ok) {
    why = "not a timestamp: '" + std::string(line) +
          "' (expected epoch seconds such as 1718000000.25, or ISO-8601 such as 2024-06-10T08:13:20.250+02:00)";
    return line_kind::malformed;
  }
  if (frac_digits > 9) {
    why = "more than 9 decimals (nanoseconds) in '" + std::string(line) + "'";
    return line_kind::malformed;
  }
  // int64 nanoseconds end in 2262; anything this large is another unit.
  if (int_digits > 10 || seconds > max_epoch_s) {
    why = "epoch seconds out of range: '" + std::string(line) + "'" +
          (int_digits >= 12 ? " (milliseconds? write seconds with a fraction, e.g. 1718000000.123)" : "");
    return line_kind::malformed;
  }
  for (std::size_t d = frac_digits; d < 9; ++d) fraction *= 10;
  ts_ns = seconds * ns_per_s + fraction;
  return line_kind::pulse;
}

/// Splits a byte stream (a file read in blocks, a FIFO read as data comes)
/// into lines, however the blocks fall. A line longer than `max_line` is
/// dropped whole and reported as overlong, so a file of garbage without
/// newlines cannot grow the buffer.
class line_splitter {
public:
  explicit line_splitter(std::size_t max_line = 4096) : max_(max_line) {}

  void feed(const char* data, std::size_t n) {
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    buf_.append(data, n);
  }

  /// The next complete line (without '\n', a trailing '\r' and, on the first
  /// line, a UTF-8 byte order mark); false if no complete line is buffered.
  /// `overlong` is set for a dropped long line.
  bool next(std::string& line, bool& overlong) {
    const std::size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (!skipping_ && buf_.size() - pos_ > max_) skipping_ = true;
      if (skipping_) {
        buf_.clear();
        pos_ = 0;
      }
      return false;
    }
    ++line_number_;
    overlong = skipping_ || nl - pos_ > max_;
    skipping_ = false;
    if (overlong) line.clear();
    else line.assign(buf_, pos_, nl - pos_);
    trim_line(line);
    pos_ = nl + 1;
    return true;
  }

  /// At the end of the input (end of file, or a FIFO's writer closed it): the
  /// unterminated rest, if any, as a last line.
  bool flush(std::string& line, bool& overlong) {
    if (!skipping_ && pos_ == buf_.size()) return false;
    ++line_number_;
    overlong = skipping_ || buf_.size() - pos_ > max_;
    skipping_ = false;
    if (overlong) line.clear();
    else line.assign(buf_, pos_, std::string::npos);
    trim_line(line);
    buf_.clear();
    pos_ = 0;
    return true;
  }

  /// 1-based number of the line last returned.
  std::size_t line_number() const { return line_number_; }
  std::size_t max_line() const { return max_; }

private:
  // Without a CRLF line's '\r', nor the first line's byte order mark.
  void trim_line(std::string& line) const {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number_ == 1) line.erase(0, line.size() - without_bom(line).size());
  }

  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool skipping_ = false;
  std::size_t line_number_ = 0;
};

} // namespace stream_smarts::gpio_meter
