// The console sink's lines, as pure functions appending to a buffer, so tests
// can check exact strings.
#pragma once

#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace stream_smarts::console {

template <class... Args>
void append_chars(std::string& out, Args... args) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, args...);
  if (ec == std::errc{}) out.append(buf, end);
}

/// Shortest text that reads back as the same double; JSON has no NaN or
/// infinity, so those become null.
inline void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) out += "null";
  else append_chars(out, v);
}

/// A JSON string literal: quote and backslash escaped, control characters as
/// \u00XX; other bytes (UTF-8) pass through.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

inline void append_two_digits(std::string& out, int n) {
  out += static_cast<char>('0' + n / 10 % 10);
  out += static_cast<char>('0' + n % 10);
}

/// "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00 (score 5.46). Please check!"
/// or, for a reading that is not an alert, "[...] Power usage of 800 Wh at 09:00 (score 0.42)."
inline void append_text_line(std::string& out, const alert& a) {
  const reading& r = a.scored.reading;
  const local_fields& l = r.local;
  out += '[';
  append_chars(out, static_cast<int>(l.year));
  out += '-';
  append_two_digits(out, l.month);
  out += '-';
  append_two_digits(out, l.day);
  out += ' ';
  out += r.meter;
  out += ' ';
  out += a.scored.scorer;
  out += a.kind == alert_kind::raised ? "] Unusual power usage of " : "] Power usage of ";
  append_chars(out, r.wh, std::chars_format::fixed, 0);
  out += " Wh at ";
  append_two_digits(out, l.hour);
  out += ':';
  append_two_digits(out, l.minute);
  out += " (score ";
  append_chars(out, a.scored.score, std::chars_format::fixed, 2);
  out += a.kind == alert_kind::raised ? "). Please check!\n" : ").\n";
}

/// One JSON object per line, keys in a fixed order; "labels" only if any.
inline void append_json_line(std::string& out, const alert& a) {
  const scored_reading& s = a.scored;
  const reading& r = s.reading;
  out += "{\"ts\":";
  append_json_string(out, format_local_iso8601(r.local));
  out += ",\"ts_ms\":";
  append_chars(out, r.ts_ms);
  out += ",\"meter\":";
  append_json_string(out, r.meter);
  out += ",\"hour\":";
  append_chars(out, static_cast<int>(r.local.hour));
  out += ",\"wh\":";
  append_json_number(out, r.wh);
  out += ",\"score\":";
  append_json_number(out, s.score);
  out += ",\"expected_lo\":";
  append_json_number(out, s.expected_lo);
  out += ",\"expected_hi\":";
  append_json_number(out, s.expected_hi);
  out += ",\"scorer\":";
  append_json_string(out, s.scorer);
  out += ",\"alert\":";
  append_json_string(out, to_string(a.kind));
  out += ",\"threshold\":";
  append_json_number(out, a.threshold);
  if (!r.labels.empty()) {
    out += ",\"labels\":{";
    for (std::size_t i = 0; i < r.labels.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, r.labels[i].key);
      out += ':';
      append_json_string(out, r.labels[i].value);
    }
    out += '}';
  }
  out += "}\n";
}

} // namespace stream_smarts::console
