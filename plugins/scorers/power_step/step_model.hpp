// The power_step model: how large a rise in power, held for a few minutes,
// is unusual at each hour of the day. A heater switched on lifts the power by
// its rating at once and keeps it there; a kettle lifts it for two minutes.
// So the step is the *lowest* power of the last `hold` (the floor) against
// the median of the `before` period just ahead of it. With a reading every
// minute that tells of a large load within minutes of its start, where an
// hour's energy takes an hour. Pure (no plugin SDK beyond the reading type
// and option_error): tests compile it directly.
#pragma once

#include <common/model_errors.hpp>
#include <common/latest_verdict.hpp>
#include <common/vector_queue.hpp>
#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stream_smarts::power_step {

inline constexpr int hours_per_day = 24;
inline constexpr std::string_view model_format = "stream-smarts/power_step";
inline constexpr std::int64_t model_format_version = 1;

using model_errors::model_error;
using model_errors::settings_error;

/// The settings' ranges: the options declare them (power_step.cpp), and
/// check() holds a model file's settings to them.
inline constexpr std::int64_t least_hold_ms = minute_ms, most_hold_ms = hour_ms;
inline constexpr std::int64_t least_before_ms = minute_ms, most_before_ms = 6 * hour_ms;
inline constexpr double most_alerts_per_week = 84;  ///< half the hours of a week

/// What training decides; stored in the model, so scoring does as training did.
struct settings {
  std::int64_t hold_ms = 10 * minute_ms;   ///< how long the new level must hold (the floor's window)
  std::int64_t before_ms = 30 * minute_ms; ///< the level before: the median of this period ahead of the hold
  double alerts_per_week = 1;              ///< alerting readings a week the thresholds allow on the training history
  double min_step_w = 1500;                ///< no threshold below this: smaller loads are everyday life
};

/// Throws settings_error for the first setting out of range (the options
/// declare the same ranges, so `train --set` refuses a value at once).
void check(const settings& s);

struct step_model {
  settings trained;
  std::array<double, hours_per_day> threshold{};  ///< the step (W) that scores 1.0, per local hour
  std::string timezone, trained_from, trained_to;
  std::int64_t readings = 0;
  std::int64_t reading_span_ms = 0;  ///< the span of the training readings' Wh; 0: not recorded
};

/// A reading's power in W, and when the house drew it.
struct power_sample {
  std::int64_t ts_ms;
  double w;
};

/// The label `power_label` when the reading has a number there: gpio_meter's
/// `power_w`, the power when the reading was emitted, at its end (ts + its
/// span: the end of the hour its Wh covers). Else the reading's Wh, which for
/// an hour's energy (a history) is its mean power, at its ts.
power_sample power_of(const reading& r, std::string_view power_label);

/// When the house drew `p`, on the local clock: the reading's own time for
/// its Wh (no zone lookup), its end for the power at its end.
local_fields drawn_local(const reading& r, const power_sample& p, const time_zone& zone);

/// The local hour whose threshold judges `p`: the hour it was drawn in (a
/// heater switched on at 01:00 is judged by 01:00's threshold, not midnight's).
inline int threshold_hour(const reading& r, const power_sample& p, const time_zone& zone) {
  return drawn_local(r, p, zone).hour;
}

/// One meter's last readings: the floor of the hold and the level before it.
class step_window {
public:
  step_window(std::int64_t hold_ms, std::int64_t before_ms) : hold_ms_(hold_ms), before_ms_(before_ms) {}
  struct step {
    double before_w;  ///< median power of the `before` period (or the last reading ahead of the hold)
    double floor_w;   ///< lowest power of the hold; NaN while nothing is known before the hold
    std::int64_t hold_from_ms = 0;  ///< the hold's first reading: when a step held since began
  };
  /// A gap of more than an hour, time going backwards or a power that is not
  /// a number starts again.
  step next(std::int64_t ts_ms, double power_w);

private:
  std::int64_t hold_ms_, before_ms_;
  vector_queue<std::pair<std::int64_t, double>> recent_;  // oldest first; the oldest may be ahead of the before period
  std::vector<double> scratch_;
};

/// One meter as the scorer keeps it: the window, and the level from before
/// a step that is still on, so the alert lasts as long as the load does
/// (the level before would otherwise catch up with it after `before`).
class meter_state {
public:
  explicit meter_state(const settings& s) : window_(s.hold_ms, s.before_ms) {}
  struct scored {
    double score;     ///< 0 while the window is not covered
    double before_w;  ///< the level the step is measured from
    std::int64_t since_ms = 0;  ///< while the score is above 1: when the step began (its hold's first reading)
    double threshold_w = 0;     ///< the step that scores 1.0
  };
  /// `threshold_w`: the step that scores 1.0 at this reading's hour.
  /// `watching`: whether a new step may be judged now (the scorer's
  /// active_hours). Outside them a new step scores 0; a step already held
  /// is followed until it ends, so its alert lasts as long as the load: it
  /// is measured by the lower of its first hour's threshold and this
  /// hour's, so a later hour with a higher threshold (the morning) does not
  /// end it while the load is still on. A power delivered again
  /// (latest_verdict) changes nothing and gets the latest verdict:
  /// restarting the window there would end a step still held.
  scored next(std::int64_t ts_ms, double power_w, double threshold_w, bool watching = true);

private:
  scored judge(std::int64_t ts_ms, double power_w, double threshold_w, bool watching);

  latest_verdict<scored> latest_;
  step_window window_;
  std::optional<double> held_before_w_;
  double held_threshold_w_ = 0;  // the threshold of the hour the held step was found
  std::int64_t held_since_ms_ = 0;
};

/// Learns the thresholds from history (in time order, as train hands it
/// over; local fields filled). Throws std::runtime_error for too short a
/// history or an hour without steps.
step_model train(const std::vector<reading>& history, const settings& s, const time_zone& zone,
                 std::string_view power_label = stream_smarts::power_label);

/// The model as a commented TOML document, and back (model_error on problems).
std::string to_toml(const step_model& m);
step_model from_toml(std::string_view text, std::string_view source_name = "model");
void write_model_file(const step_model& m, const std::string& path);
step_model read_model_file(const std::string& path);

/// "power_step: N readings from A to B, ... written to FILE"
std::string summary(const step_model& m, const std::string& path);

} // namespace stream_smarts::power_step
