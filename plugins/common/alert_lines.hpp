// The lines the console and file sinks write, one per event: a sentence for
// people (or the sink's own `message` for it) or a JSON object. One
// formatter, so that a file and the console say the same; pure functions
// appending to a buffer, so tests can check exact strings.
#pragma once

#include <common/json.hpp>
#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace stream_smarts::alert_lines {

using json::append_chars;
using json::append_json_number;
using json::append_json_string;

inline void append_two_digits(std::string& out, int n) {
  out += static_cast<char>('0' + n / 10 % 10);
  out += static_cast<char>('0' + n % 10);
}

inline void append_date(std::string& out, const local_fields& l) {
  append_chars(out, static_cast<int>(l.year));
  out += '-';
  append_two_digits(out, l.month);
  out += '-';
  append_two_digits(out, l.day);
}

inline void append_clock(std::string& out, const local_fields& l) {
  append_two_digits(out, l.hour);
  out += ':';
  append_two_digits(out, l.minute);
}

/// How a line begins and ends, by what the event is.
struct text_frame {
  const char* opening;  ///< after "[date meter scorer] "
  const char* since;    ///< before the time the usage began
  const char* closing;  ///< after the score
};

inline text_frame frame_of(alert_kind kind) {
  switch (kind) {
    case alert_kind::raised: return {"Unusual power usage of ", ", since ", "). Please check!\n"};
    case alert_kind::reminder: return {"Still unusual power usage of ", ", since ", "). Please check!\n"};
    case alert_kind::resolved: return {"Power usage back to normal: ", ", unusual since ", ").\n"};
    case alert_kind::none: break;
  }
  return {"Power usage of ", ", since ", ").\n"};
}

/// "[2007-01-14 home band] Unusual power usage of 1500 Wh at 04:00 (score 5.46). Please check!";
/// a reminder says "Still unusual power usage of ...", an all-clear
/// "Power usage back to normal: 200 Wh at 07:00, unusual since 04:00 (score 0.38).",
/// and a reading that is not an alert "Power usage of 800 Wh at 09:00 (score 0.42).".
/// When the usage began before the reading (a rise that has stayed up for
/// hours), "... at 04:00, since 01:00 (score ...": `zone` tells its clock time.
inline void append_text_line(std::string& out, const alert& a, const time_zone& zone) {
  const text_frame frame = frame_of(a.kind);
  const reading& r = a.scored.reading;
  const local_fields& l = r.local;
  out += '[';
  append_date(out, l);
  out += ' ';
  append_text_escaped(out, r.meter);  // a Kafka key: it must not start a line of its own
  out += ' ';
  append_text_escaped(out, a.scored.scorer);
  out += "] ";
  out += frame.opening;
  append_chars(out, r.wh, std::chars_format::fixed, 0);
  out += " Wh at ";
  append_clock(out, l);
  if (json::says_since(a)) {
    out += frame.since;
    const local_fields since = zone.local(a.since_ms);
    append_clock(out, since);
    if (json::says_since_date(a)) {
      out += " on ";
      append_date(out, since);
    }
  }
  out += " (score ";
  append_chars(out, a.scored.score, std::chars_format::fixed, 2);
  out += frame.closing;
}

/// A line someone wrote (a sink's `message` template, rendered): escaped as
/// the meter name in the standard line, so that a line break in the template
/// or in a field cannot make two lines of one event, or forge one.
inline void append_message_line(std::string& out, std::string_view text) {
  append_text_escaped(out, text);
  out += '\n';
}

/// One JSON object per line (the shared alert object, see common/json.hpp).
inline void append_json_line(std::string& out, const alert& a) {
  json::append_alert(out, a);
  out += '\n';
}

} // namespace stream_smarts::alert_lines
