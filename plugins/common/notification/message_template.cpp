#include "message_template.hpp"

#include <common/alert_lines.hpp>
#include <common/json.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/utf8.hpp>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>

namespace stream_smarts::notification {
namespace {

constexpr std::pair<std::string_view, field> fields[] = {
    {"wh", field::wh},
    {"hour", field::hour},
    {"time", field::time},
    {"date", field::date},
    {"score", field::score},
    {"expected_lo", field::expected_lo},
    {"expected_hi", field::expected_hi},
    {"expected_unit", field::expected_unit},
    {"expected_unit_words", field::expected_unit_words},
    {"scorer", field::scorer},
    {"meter", field::meter},
    {"since", field::since},
    {"end", field::end},
    {"status", field::status},
};

using alert_lines::append_date;
using alert_lines::append_two_digits;
using json::append_chars;

/// `decimals` after the point; never "-0" (a band starting at -0.2 Wh is "0").
void append_fixed(std::string& out, double value, int decimals) {
  const std::size_t start = out.size();
  append_chars(out, value, std::chars_format::fixed, decimals);
  if (out[start] == '-' && out.find_first_not_of("-0.", start) == std::string::npos) out.erase(start, 1);
}

/// "4:00", "16:30": how people write a time of day (the alert lines' "04:00"
/// is for reading in columns).
void append_time_of_day(std::string& out, const local_fields& l) {
  append_chars(out, static_cast<int>(l.hour));
  out += ':';
  append_two_digits(out, l.minute);
}

/// "23:00"; with its date once the usage began a day or more before the
/// reading ("4:00 on 2024-01-10"): a spell of days is not "since 4:00".
void append_since(std::string& out, const alert& a, const time_zone& zone) {
  const std::int64_t since = a.since_ms != 0 ? a.since_ms : a.scored.reading.ts_ms;
  const local_fields l = zone.local(since);
  append_time_of_day(out, l);
  if (!json::says_since_date(a)) return;
  out += " on ";
  append_date(out, l);
}

/// For one title over all three kinds: "Power usage {status} at {meter}".
std::string_view status_of(alert_kind kind) {
  switch (kind) {
    case alert_kind::raised: return "unusual";
    case alert_kind::reminder: return "still unusual";
    case alert_kind::resolved: return "back to normal";
    case alert_kind::none: break;
  }
  return "usual";
}

void append_field(std::string& out, field f, const alert& a, const time_zone& zone) {
  const scored_reading& s = a.scored;
  const reading& r = s.reading;
  switch (f) {
    case field::literal: break;
    case field::wh: append_fixed(out, r.wh, 0); break;
    case field::hour: append_chars(out, static_cast<int>(r.local.hour)); break;
    case field::time: append_time_of_day(out, r.local); break;
    case field::date: append_date(out, r.local); break;
    case field::score: append_fixed(out, s.score, 2); break;
    case field::expected_lo: append_fixed(out, s.expected_lo, 0); break;
    case field::expected_hi: append_fixed(out, s.expected_hi, 0); break;
    case field::expected_unit: out += to_string(s.unit); break;
    case field::expected_unit_words: out += s.unit == band_unit::w ? "watts" : "watt hours"; break;
    case field::scorer: out += s.scorer; break;
    case field::meter: out += r.meter; break;
    case field::since: append_since(out, a, zone); break;
    case field::end: append_time_of_day(out, end_local(r, zone)); break;
    case field::status: out += status_of(a.kind); break;
  }
}

} // namespace

std::string field_list() {
  std::string out;
  for (const auto& [name, f] : fields) out += (out.empty() ? "{" : ", {") + std::string(name) + "}";
  return out;
}

message_template::message_template(const std::string& option, std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw option_error(option, std::string(text.empty() ? "is empty" : "is only blanks") +
                                   "; write the text to send, e.g. with " + field_list());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t brace = text.find_first_of("{}", i);
    add_literal(text.substr(i, brace - i));
    if (brace == std::string_view::npos) break;
    if (brace + 1 < text.size() && text[brace + 1] == text[brace]) {  // {{ or }}: one literal brace
      add_literal(text.substr(brace, 1));
      i = brace + 2;
      continue;
    }
    const std::string at = " at character " + std::to_string(character_position(text, brace));
    if (text[brace] == '}') throw option_error(option, "'}'" + at + " closes nothing; write }} for a literal brace");
    const std::size_t close = text.find_first_of("{}", brace + 1);
    if (close == std::string_view::npos || text[close] == '{')
      throw option_error(option, "'{'" + at + " is not closed; write {{ for a literal brace");
    const std::string_view name = text.substr(brace + 1, close - brace - 1);
    const auto known = std::find_if(std::begin(fields), std::end(fields), [&](const auto& f) { return f.first == name; });
    if (known == std::end(fields))
      throw option_error(option, "unknown field {" + std::string(name) + "}; the fields are " + field_list() +
                                     " ({{ and }} for literal braces)");
    pieces_.push_back({known->second, {}});
    i = close + 1;
  }
}

void message_template::add_literal(std::string_view text) {
  if (text.empty()) return;
  if (pieces_.empty() || pieces_.back().what != field::literal) pieces_.push_back({field::literal, {}});
  pieces_.back().text += text;
}

std::string message_template::render(const alert& a, const time_zone& zone) const {
  std::string out;
  for (const piece& p : pieces_) {
    if (p.what == field::literal) out += p.text;
    else append_field(out, p.what, a, zone);
  }
  return out;
}

} // namespace stream_smarts::notification
