// Parsing the fields every reading has, the same way in every source plugin:
// timestamps and energy values as text, and the span a recorded reading covers.
#pragma once

#include <stream_smarts/options.hpp>
#include <stream_smarts/plugin.hpp>
#include <stream_smarts/time.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace stream_smarts::reading_fields {

/// Counts records a source skipped because it could not decode them, under
/// one name and help for every source. Counting 0 at start makes the series
/// exist from the start, as the runtime's own do.
inline void count_decode_errors(stage_context& ctx, double skipped = 1, const metric_labels& labels = {}) {
  ctx.count("decode_errors",
            "Records a source skipped because it could not decode them (malformed lines, undecodable messages).",
            skipped, labels);
}

/// The records a source skipped: each counted (decode_errors), the first
/// 100 logged with where and why, then the rest only counted, so a file in
/// the wrong format cannot flood the log; a source that runs for months
/// (Kafka) says every 10,000th. `what` names them: "malformed lines".
/// Records that decoded but were left out (an index out of line) are not
/// decode errors: `decode_errors` false.
class skipped_records {
public:
  skipped_records(stage_context& ctx, std::string what, bool decode_errors = true)
      : ctx_(ctx), what_(std::move(what)), decode_errors_(decode_errors) {}

  /// One more, logged as `where_and_why` while under the limit.
  void skip(const std::string& where_and_why, const metric_labels& labels = {}) {
    if (decode_errors_) count_decode_errors(ctx_, 1, labels);
    if (++count_ <= reported) ctx_.log().warning(where_and_why);
    if (count_ == reported)
      ctx_.log().warning(std::to_string(reported) + " " + what_ + " reported; further ones are only counted");
    else if (count_ % 10'000 == 0)
      ctx_.log().warning(std::to_string(count_) + " " + what_ + " so far");
  }

  std::uint64_t count() const { return count_; }

  static constexpr std::uint64_t reported = 100;

private:
  stage_context& ctx_;
  std::string what_;
  bool decode_errors_;
  std::uint64_t count_ = 0;
};

/// A recorded history's readings further apart than this are a gap, not
/// time to wait through or to fill with empty readings: a stray row stamped
/// 1970 (a Pi's clock before NTP), a meter off for more than a month.
inline constexpr std::int64_t max_gap_ms = 31 * day_ms;
inline constexpr const char* max_gap_text = "31 days";

/// The instants a reading may have: years 0000 to 9999, as ISO-8601 writes
/// them. Epoch milliseconds far outside (a counter, a corrupted field) are
/// refused: the local time of such an instant cannot be computed.
inline constexpr std::int64_t min_ts_ms = -62167219200000;  // 0000-01-01T00:00:00Z
inline constexpr std::int64_t max_ts_ms = 253402300799999;  // 9999-12-31T23:59:59.999Z
inline bool ts_in_range(std::int64_t ts_ms) { return ts_ms >= min_ts_ms && ts_ms <= max_ts_ms; }
inline constexpr const char* ts_range_text = "years 0000 to 9999";

/// Parses a timestamp field: ISO-8601, local to `zone` unless it has an offset.
inline bool parse_timestamp(std::string_view text, const time_zone& zone, std::int64_t& ts_ms) {
  const auto t = parse_iso8601(text);
  if (!t) return false;
  ts_ms = to_utc_ms(*t, zone);
  return true;
}

/// Why `text` is not an ISO-8601 timestamp.
inline std::string not_iso8601(std::string_view text) {
  return "bad timestamp '" + std::string(text) + "' (expected ISO-8601 such as 2007-01-01T04:00:00)";
}

/// parse_timestamp, with the reason when it is not one. `wall_clock` (if
/// given) says whether it was written without an offset: a local time, which
/// the end of summer time repeats.
inline bool parse_timestamp(std::string_view text, const time_zone& zone, std::int64_t& ts_ms, std::string& why,
                            bool* wall_clock = nullptr) {
  const auto t = parse_iso8601(text);
  if (!t) {
    why = not_iso8601(text);
    return false;
  }
  ts_ms = to_utc_ms(*t, zone);
  if (wall_clock) *wall_clock = !t->utc_offset_s;
  return true;
}

/// A local time written twice when summer time ends (02:30, then 02:30
/// again, in Europe/Paris) is read as its earlier instant; the second time
/// round it is the later one, an hour on, which follows the time before it
/// (`previous_ms`, the same meter's). So a time read as at or before that
/// one, which the zone repeats an hour on and whose later instant comes after
/// it, is taken as the later instant. Only for a time written without an
/// offset (parse_timestamp's `wall_clock`): one with its offset is what it says.
inline std::int64_t later_if_repeated(std::int64_t ts_ms, std::int64_t previous_ms, const time_zone& zone) {
  if (ts_ms > previous_ms || ts_ms + hour_ms <= previous_ms) return ts_ms;
  const local_fields a = zone.local(ts_ms), b = zone.local(ts_ms + hour_ms);
  const bool repeated = a.day == b.day && a.hour == b.hour && a.minute == b.minute && a.second == b.second;
  return repeated ? ts_ms + hour_ms : ts_ms;
}

/// Parses a JSON number (`text` as written) that is a timestamp field's
/// epoch milliseconds: whole ("1.2e12" is), in range, and not epoch seconds
/// by mistake. Seconds of any year since 2001 read as milliseconds fall in
/// 1970-01-12..1973-03-03, where no meter's history is: they are refused
/// rather than scored at the wrong hour.
/// `remedy` is what to do about seconds, if the source can read them.
inline bool parse_epoch_ms(std::string_view text, std::string_view field, std::int64_t& ts_ms, std::string& why,
                           std::string_view remedy = {}) {
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  const bool whole = end == text.data() + text.size() && ec == std::errc{} && std::trunc(number) == number;
  if (!whole && ec != std::errc::result_out_of_range) {
    why = std::string(field) + " is not a whole number of epoch milliseconds: " + std::string(text);
    return false;
  }
  // Compared as doubles first: a cast of one beyond int64 would be undefined.
  if (ec != std::errc{} || number < static_cast<double>(min_ts_ms) || number > static_cast<double>(max_ts_ms)) {
    why = std::string(field) + " is out of range: " + std::string(text) + " (epoch milliseconds of " + ts_range_text +
          ")";
    return false;
  }
  if (number >= 1e9 && number < 1e11) {
    why = std::string(field) + " is " + std::string(text) + ", which as epoch milliseconds is in 1970; it looks "
          "like epoch seconds: " +
          (remedy.empty() ? "timestamps are epoch milliseconds (" + std::string(text) + "000)" : std::string(remedy));
    return false;
  }
  ts_ms = static_cast<std::int64_t>(number);
  return true;
}

/// Why a timestamp field holds neither an ISO-8601 string nor a number.
inline std::string timestamp_kind_problem(std::string_view field, std::string_view got) {
  return std::string(field) + " must be an ISO-8601 string or epoch milliseconds, got " + std::string(got);
}

/// Parses an energy value: a finite, non-negative number written in full,
/// with `decimal` ('.' or ',') as its decimal separator.
inline bool parse_wh(std::string_view text, std::string_view name, double& wh, std::string& why,
                     double wh_per_unit = 1.0, char decimal = '.') {
  if (text.empty()) {
    why = std::string(name) + " is empty";
    return false;
  }
  // With a decimal comma, the number as from_chars reads it. A '.' there is
  // not read as a point: in such an export "1.500" is a thousand and five hundred.
  char number[64] = {};
  std::string_view read = text;
  if (decimal != '.') {
    if (text.size() >= sizeof number || text.find('.') != std::string_view::npos) read = text.substr(0, 0);
    else read = std::string_view(number, std::replace_copy(text.begin(), text.end(), number, decimal, '.') - number);
  }
  const auto [end, ec] = std::from_chars(read.data(), read.data() + read.size(), wh);
  if (read.empty() || end != read.data() + read.size() ||
      (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    why = std::string(name) + " is not a number: '" + std::string(text) + "'";
    if (decimal != '.' && text.find('.') != std::string_view::npos)
      why += std::string(" (with decimal = \"") + decimal + "\", a '.' is not a decimal point)";
  } else if (!std::isfinite(wh) && ec != std::errc::result_out_of_range) {
    why = std::string(name) + " is not finite: '" + std::string(text) + "'";
  } else if (ec == std::errc::result_out_of_range || !std::isfinite(wh * wh_per_unit)) {
    why = std::string(name) + " is out of range: '" + std::string(text) + "'";  // in kWh, 1e307 was infinite Wh
  } else if (wh < 0) {
    why = std::string(name) + " is negative: '" + std::string(text) + "' (energy sent to the grid? read the "
          "energy drawn from it)";
  } else {
    wh = wh * wh_per_unit + 0.0;  // -0 is 0: written as "-0" it would read as a negative reading downstream
    return true;
  }
  return false;
}

/// What a meter_field's value says, the same in every source.
enum class meter_value { named, unsaid, refused };

/// The meter a JSON number names, by its value: 42, 42.0 and 4.2e1 are all
/// "42" (producers in different languages write one id differently). A whole
/// number written without a point or exponent stays as written, however long:
/// as a double, ids past 2^53 would run together.
inline std::string meter_of_number(std::string_view text) {
  if (text.find_first_of(".eE") == std::string_view::npos) return std::string(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return std::string(text);
  if (std::trunc(value) == value && std::fabs(value) <= 9007199254740992.0)  // 2^53: every whole double is exact
    return std::to_string(static_cast<std::int64_t>(value));
  char shortest[32];
  return std::string(shortest, std::to_chars(shortest, shortest + sizeof shortest, value).ptr);
}

/// A string, or a number (meter_of_number), names the meter (set in
/// `meter`); null or "" is not saying, and the source's fallback stands; a
/// value of another kind (`other_kind` says which: "a boolean") names no
/// meter (`why`).
inline meter_value read_meter(std::string_view field, std::string_view other_kind, bool number, bool null,
                              std::string_view text, std::string& meter, std::string& why) {
  if (!other_kind.empty()) {
    why = std::string(field) + " must name the meter as a string or a number, got " + std::string(other_kind);
    return meter_value::refused;
  }
  if (null || text.empty()) return meter_value::unsaid;
  meter = number ? meter_of_number(text) : std::string(text);
  return meter_value::named;
}

/// The `wh_unit` option of a source of recorded readings: utility portals and
/// Home Assistant export kWh, which read as Wh would never alert; a load
/// curve (Enedis's Linky export) gives each interval's mean power in W.
inline option_spec wh_unit_option() {
  return optional_option("wh_unit", option_type::string, std::string("Wh"),
                         "What wh_field's numbers are: energy in \"Wh\" or \"kWh\" (as many exports are), or the "
                         "mean power over the reading's span in \"W\" or \"kW\" (a load curve), read as the Wh "
                         "of that span.",
                         {"Wh", "kWh", "W", "kW"});
}

/// What wh_field's numbers are in: energy, or a mean power over the reading's
/// span, whose energy needs that span.
struct energy_unit {
  double factor = 1.0;  ///< Wh (or W) per number: 1000 for kWh and kW
  bool power = false;   ///< W or kW: a mean power over the reading's span
  std::string name = "Wh";

  /// The Wh one number stands for in a reading that covers `span_ms`.
  double wh_per_number(std::int64_t span_ms) const {
    return power ? factor * static_cast<double>(span_ms) / hour_ms : factor;
  }
};

/// The `wh_unit_option` of a source's options. A power needs a span to be
/// energy: with `span = "0s"` it is refused (option_error).
inline energy_unit energy_unit_of(const options& o) {
  const std::string& unit = o.string("wh_unit");
  const energy_unit u{unit == "kWh" || unit == "kW" ? 1000.0 : 1.0, unit == "W" || unit == "kW", unit};
  if (u.power && o.duration("span").count() == 0)
    throw option_error("wh_unit", "\"" + unit + "\" is a mean power over each reading's span, and span is \"0s\": "
                                  "set span to the time each reading covers (\"30m\" for a half-hourly load curve)");
  return u;
}

/// Parses an energy value written in `unit`, for a reading that covers
/// `span_ms`: parse_wh, and for a power a reading that covers some time.
inline bool parse_energy(std::string_view text, std::string_view name, const energy_unit& unit,
                         std::int64_t span_ms, double& wh, std::string& why, char decimal = '.') {
  if (unit.power && span_ms == 0) {
    why = std::string(name) + " is a mean power (wh_unit = \"" + unit.name + "\"), and the reading covers no time "
          "(span_ms 0): its energy cannot be known";
    return false;
  }
  return parse_wh(text, name, wh, why, unit.wh_per_number(span_ms), decimal);
}

/// The longest span a reading may cover: the scorers judge hours, and an end
/// years away has no local time.
inline constexpr std::int64_t max_span_ms = day_ms;

/// The `span` option of a source of recorded readings (a file, a topic):
/// how long each reading's Wh covers from its ts, for readings that do not
/// say it themselves (span_field).
inline option_spec span_option() {
  return optional_option("span", option_type::duration, std::chrono::milliseconds{hour_ms},
                         "How long each reading's Wh covers from its timestamp: \"1h\" for an hour's energy (a "
                         "history; gpio_meter's trailing hour, read every minute), \"1m\" for a minute's, \"0s\" "
                         "for none. A reading's own span_ms (stream-smarts's JSON records say it) comes first. "
                         "Sinks' quiet hours are those of the reading's end, and a power label is of then.")
      .at_most(std::chrono::milliseconds{max_span_ms});
}

/// The field (JSON member, CSV column) in which a recorded reading says its
/// own span, as stream-smarts's JSON records do (json::append_alert). Said,
/// it is taken before the source's `span` option, which is for readings that
/// do not say; it is never a label.
inline constexpr std::string_view span_field = "span_ms";

/// Parses a record's own span: whole milliseconds from 0 to a day.
inline bool parse_span_ms(std::string_view text, std::int64_t& span_ms, std::string& why) {
  std::int64_t value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc{} && end == text.data() + text.size() && value >= 0 && value <= max_span_ms) {
    span_ms = value;
    return true;
  }
  why = std::string(span_field) + " must be whole milliseconds from 0 to " + std::to_string(max_span_ms) +
        " (a day), got '" + std::string(text) + "'";
  return false;
}

} // namespace stream_smarts::reading_fields
