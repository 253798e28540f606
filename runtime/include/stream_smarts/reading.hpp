// The events that flow through a pipeline: readings, scored readings, alerts.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts {

/// Readings' times and spans are in milliseconds.
inline constexpr std::int64_t minute_ms = 60'000, hour_ms = 60 * minute_ms, day_ms = 24 * hour_ms;

/// Calendar fields of a timestamp in the pipeline's time zone. The runtime
/// fills them, so every scorer agrees on what "4 am on a Sunday" means,
/// including across daylight-saving changes.
struct local_fields {
  std::int16_t year = 1970;
  std::int8_t month = 1;        ///< 1..12
  std::int8_t day = 1;          ///< 1..31
  std::int8_t hour = 0;         ///< 0..23, wall-clock hour
  std::int8_t minute = 0;       ///< 0..59
  std::int8_t second = 0;       ///< 0..59
  std::int8_t weekday = 3;      ///< 0 = Monday .. 6 = Sunday
  std::int16_t day_of_year = 0; ///< 0..365
  std::int32_t utc_offset_s = 0;
};

/// A free-form key/value attached to a reading (e.g. instantaneous power).
struct label {
  std::string key;
  std::string value;
};

/// One measurement of household energy use.
struct reading {
  std::string meter = "home";  ///< which meter (a Kafka key, a house)
  std::int64_t ts_ms = 0;      ///< UTC milliseconds since the epoch; for hourly data, the start of the hour
  std::int64_t span_ms = 0;    ///< how long wh was measured over, from ts_ms (an hour: 3600000); 0 = not said
  double wh = 0;               ///< energy in watt-hours
  std::vector<label> labels;   ///< optional extras
  local_fields local;          ///< ts_ms in the pipeline's time zone, filled by the runtime
  /// Read again only to rebuild what the stages keep of its meter (kafka_source,
  /// a partition taken over): scored and weighed by the alert policy, never
  /// delivered: its alerts were sent by whoever read it first.
  bool warm_up = false;
};

/// When a reading was complete: the end of its span, the earliest it can be
/// known, and the time of what its source measured at the end (gpio_meter's
/// `power_w`). A reading emitted at 01:10 with the energy of the hour before
/// has ts 00:10 and ends at 01:10. With no span said, its ts.
inline std::int64_t end_ms(const reading& r) { return r.ts_ms + r.span_ms; }

/// The clock hour a reading falls in, numbered on the UTC time line: hours
/// begin where the reading's zone has them begin (at :30 UTC in India), and
/// the hour repeated when clocks go back is two hours, not one. "False
/// alert-hours a week" counts these, in eval and in the budgets that
/// training aims at it.
inline std::int64_t clock_hour(const reading& r) {
  const std::int64_t shift = (static_cast<std::int64_t>(r.local.utc_offset_s) * 1000 % hour_ms + hour_ms) % hour_ms;
  const std::int64_t t = r.ts_ms + shift;
  return t / hour_ms - (t % hour_ms < 0);  // floor, for times before 1970
}

/// The most a household draws, in W: its supply (36 kVA in France, 200 A at
/// 240 V in the US). More is a meter's glitch, not usage.
inline constexpr double most_household_w = 60'000;

/// The label holding a reading's power in W at its end (`end_ms`), from a
/// source that measures power as well as energy (gpio_meter). power_step
/// reads it; `stream-smarts inject` adds an event's power to it.
inline constexpr std::string_view power_label = "power_w";

/// A finite number written in full ("1520.5"; not " 1", "1 W" or "inf"), or nothing.
inline std::optional<double> number_in_full(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

/// The number in the reading's `key` label, if it has that label and it
/// holds a number in full.
inline std::optional<double> label_number(const reading& r, std::string_view key) {
  for (const auto& l : r.labels)
    if (l.key == key) return number_in_full(l.value);
  return std::nullopt;
}

namespace detail {
/// Whether `a` and `b` are the same text but for the case of ASCII letters
/// ("False" and "false"; a header's "TS" and "ts"). In `detail`: not part of
/// the SDK's names a plugin's `using namespace` brings in.
inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
} // namespace detail

/// A `label` value that says "not anomalous": empty, a zero however written
/// ("0", or "0.0" as pandas writes a column of floats), or "false" or "no" in
/// any case (JSON, pandas' False, a spreadsheet's FALSE).
inline bool says_not_anomalous(const std::string& label) {
  const auto number = number_in_full(label);
  return label.empty() || detail::equal_ignoring_case(label, "false") || detail::equal_ignoring_case(label, "no") ||
         (number && *number == 0);
}

/// The kind of event a reading is labelled with: its `label` label, as
/// `stream-smarts inject` and a labelled history set it; empty if it is not
/// labelled anomalous (no such label, or says_not_anomalous).
inline std::string_view event_label(const reading& r) {
  for (const auto& l : r.labels)
    if (l.key == "label") return says_not_anomalous(l.value) ? std::string_view() : std::string_view(l.value);
  return {};
}

/// What a scorer's expected range is measured in: the reading's energy, or
/// (power_step, judging gpio_meter's power_w) power.
enum class band_unit : std::uint8_t {
  wh,  ///< energy, as the reading's wh
  w,   ///< power
};

inline const char* to_string(band_unit unit) { return unit == band_unit::w ? "W" : "Wh"; }

/// What a band in `unit` is compared with: the reading's energy, or its power
/// as power_step judges it (the power_w label; without one, an hourly
/// reading's Wh, which is its mean power in W).
inline double banded_value(const reading& r, band_unit unit) {
  if (unit == band_unit::wh) return r.wh;
  return label_number(r, power_label).value_or(r.wh);
}

/// A reading with a scorer's verdict. score = (wh - expected_lo) /
/// (expected_hi - expected_lo) in the original design: above 1.0 means more
/// than the top of the expected band.
struct scored_reading {
  stream_smarts::reading reading;
  double score = 0;
  double expected_lo = 0;
  double expected_hi = 0;
  std::string scorer;          ///< name of the scorer stage that scored it
  std::int64_t since_ms = 0;   ///< when the usage the score judges began (score_result::since_ms); 0 = this reading
  band_unit unit = band_unit::wh;  ///< what expected_lo and expected_hi are in (score_result::unit)
  bool still_on = false;       ///< the rise behind an earlier unusual reading is still there (score_result::still_on)
};

/// Why a sink is being handed a scored reading.
/// The alert policy (threshold, sustain, cooldown, reminders) decides it per
/// sink, so a sink only formats what it is given.
enum class alert_kind : std::uint8_t {
  none,      ///< not an alert: only sinks with receive = "all" see these
  raised,    ///< usage became unusual (the first notification of an episode)
  reminder,  ///< still unusual, remind_every after the last notification
  resolved,  ///< back inside the expected range after a raised alert
};

/// What a sink receives: a scored reading and whether it is an alert.
struct alert {
  scored_reading scored;
  alert_kind kind = alert_kind::raised;
  double threshold = 1.0;      ///< the threshold it was judged against
  /// When the unusual usage began ("unusual since 22:00"): the first reading
  /// above the threshold in a row, or when the scorer says that reading's
  /// usage began (scored_reading::since_ms); 0 for none.
  std::int64_t since_ms = 0;
};

inline const char* to_string(alert_kind kind) {
  switch (kind) {
    case alert_kind::none: return "none";
    case alert_kind::raised: return "raised";
    case alert_kind::reminder: return "reminder";
    case alert_kind::resolved: return "resolved";
  }
  return "unknown";
}

} // namespace stream_smarts
