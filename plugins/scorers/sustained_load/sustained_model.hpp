// The sustained_load model: how far above its usual level a house stays for
// several hours in a row, per hour of the day. A forgotten heater lifts every
// hour by the same amount; an ordinary busy spell lifts one or two hours and
// falls back, so the *smallest* excess over the last few hours (the floor)
// separates them better than any single hour or a sum does. Floors over a few
// windows side by side (2, 3 and 6 hours), each with its own thresholds: a
// short oven needs a short window, a small heater left on all day shows
// best over a long one. The usual level
// is the meter's own recent median for that hour (on that kind of day), so
// seasons, holidays and a new fridge move it without retraining. How much of
// the false-alarm budget each hour gets is learnt from rehearsals: the
// history with forgotten appliances added, so the budget goes to the hours
// where it catches the most. Pure (no plugin SDK beyond the
// reading type and option_error): tests compile it directly.
#pragma once

#include <common/model_errors.hpp>
#include <common/latest_verdict.hpp>
#include <common/vector_queue.hpp>
#include <stream_smarts/reading.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stream_smarts::sustained_load {

inline constexpr int hours_per_day = 24;
inline constexpr std::string_view model_format = "stream-smarts/sustained_load";
inline constexpr std::int64_t model_format_version = 2;  ///< 2: several windows; 1 (one) is read too
inline constexpr std::size_t most_windows = 6;  ///< floors side by side, at most
/// The settings' ranges: the options declare them (sustained_load.cpp), and
/// check() holds a model file's settings to them.
inline constexpr std::int64_t least_baseline_days = 3, most_baseline_days = 365;
inline constexpr double most_alerts_per_week = 84;  ///< half the hours of a week

using hourly = std::array<double, hours_per_day>;

using model_errors::model_error;
using model_errors::settings_error;

/// What training decides; stored in the model, so scoring does as training did.
struct settings {
  std::vector<std::int64_t> hours = {2, 3, 6};  ///< the floors' windows: hours usage must stay up (increasing)
  std::int64_t baseline_days = 28; ///< the usual level: median of the same hour over this many days
  bool by_weekday = true;          ///< ... of the same kind of day (Monday-Friday, or the weekend)
  double alerts_per_week = 1;    ///< alert-hours a week the thresholds allow on the training history
  double min_excess_wh = 200;    ///< no threshold below this, so a flat, quiet hour cannot alert on noise
  std::int64_t budget_days = 365; ///< alerts_per_week is met on the history's last this many days (0: all)
};

/// Throws settings_error for the first setting out of range (the options
/// declare the same ranges, so `train --set` refuses a value at once).
void check(const settings& s);

struct sustained_model {
  settings trained;
  hourly usual{};                ///< median Wh per hour: the level until a meter has its own
  std::vector<hourly> threshold; ///< per window of trained.hours: the floor (Wh above usual) that scores 1.0
  std::int64_t rehearsals = 0;  ///< rehearsals the budget was spread by (0: evenly over the hours)
  std::string timezone, trained_from, trained_to;
  std::int64_t readings = 0;
  std::int64_t reading_span_ms = 0;  ///< the span of the training readings' Wh; 0: not recorded
};

/// One meter's recent usual level: per local hour (and kind of day, if
/// by_weekday), the median of the readings there over the last baseline_days days.
class usual_level {
public:
  usual_level(std::int64_t baseline_days, bool by_weekday)
      : keep_ms_(baseline_days * 24 * hour_ms), by_weekday_(by_weekday) {}
  /// The usual Wh at this reading's hour, or `fallback` while the meter has
  /// less than three days of its own; then remembers the reading.
  double next(const reading& r, double fallback);

private:
  std::int64_t keep_ms_;
  bool by_weekday_;
  std::array<vector_queue<std::pair<std::int64_t, double>>, 2 * hours_per_day> by_slot_;  // weekdays, then weekends
  std::vector<double> scratch_;
};

/// One meter's floor: the smallest excess over the usual level among the
/// readings of the last `hours` hours. Works for hourly readings and for a
/// trailing-hour reading every minute alike (the window is time, not count).
class floor_window {
public:
  explicit floor_window(std::int64_t hours) : span_ms_(hours * hour_ms) {}
  /// Adds the reading's excess; returns the floor, or NaN until the window
  /// spans `hours` hours without a gap of more than an hour.
  double next(std::int64_t ts_ms, double excess);
  /// The time of the oldest reading the floor was taken over: when a rise
  /// that has stayed up for the whole window began.
  std::int64_t first_ms() const { return times_.empty() ? 0 : times_.front(); }

private:
  std::int64_t span_ms_;
  std::int64_t run_start_ms_ = 0, last_ms_ = 0;
  bool started_ = false;
  vector_queue<std::pair<std::int64_t, double>> minima_;  // increasing excess, increasing time
  vector_queue<std::int64_t> times_;                      // every reading in the window, oldest first
};

/// Both, for one meter: what the scorer keeps per meter and training replays.
class meter_state {
public:
  explicit meter_state(const settings& s);
  struct step {
    double usual_wh;                             ///< the usual level at this reading's hour
    std::array<double, most_windows> floor_wh;   ///< per window of settings::hours; NaN until it is covered
    int hour;                                    ///< the local hour of the reading it is of: what judges it
    double excess_wh = 0;                        ///< the reading's own Wh above the usual level
  };
  /// The step after `r`; a reading delivered again (latest_verdict) changes
  /// nothing and gets the latest step, to be judged as it was.
  step next(const reading& r, const hourly& usual_fallback);
  /// Window `w`'s oldest reading (floor_window::first_ms), after next().
  std::int64_t window_start_ms(std::size_t w) const { return floors_[w].first_ms(); }
  /// When a rise of at least `threshold_wh` that window `w` sees began, as
  /// far back as the windows see: the start of the longest window whose
  /// floor in step `s` is above it (window `w`'s if none is).
  std::int64_t rise_start_ms(const step& s, std::size_t w, double threshold_wh) const;

private:
  usual_level usual_;
  std::vector<floor_window> floors_;
  latest_verdict<step> latest_;
};

/// What a step says at its local hour: the highest floor / threshold among
/// the windows (0 while none is covered), and the window that gave it.
struct verdict {
  double score = 0;
  std::size_t window = 0;
};
verdict judge(const sustained_model& m, const meter_state::step& s, int hour);

/// One meter's rise, followed from a step that scores above 1.0 until it has
/// gone. Thresholds differ from hour to hour, so a heater still on may score
/// below 1.0 at an hour that allows more (the evening): the rise is still on
/// while the floor of the window that first scored above 1.0 stays above the
/// threshold it crossed then (after a gap in the readings, until the window
/// is covered again, while the reading itself does). Scores are not changed
/// (what alerts is what training budgeted); only "back to normal" waits for
/// the rise to go.
class followed_rise {
public:
  /// Whether a rise is on after step `s`, judged `v` at its hour.
  bool still_on(const sustained_model& m, const meter_state::step& s, const verdict& v);

private:
  bool on_ = false;
  std::size_t window_ = 0;
  double threshold_wh_ = 0;  // the threshold the window crossed
};

/// "3-hour floor", "2-, 3- and 6-hour floors": the windows, for messages.
std::string windows_text(const std::vector<std::int64_t>& hours);

/// Rehearsals to train with (stage_context::rehearsal_count and rehearsal):
/// `make(i)` is the i-th, the history with events added (each event's readings
/// labelled `label` = its kind). Taken one at a time, so only one is in memory.
struct rehearsals {
  int count = 0;
  std::function<std::vector<reading>(int)> make;
};

/// Learns the usual levels and thresholds from history (in time order, as
/// train hands it over; local fields filled).
/// With rehearsals the budget goes where it catches the most of their
/// events; without, every hour gets the same share.
/// Throws std::runtime_error naming an hour without readings, or too short a history.
sustained_model train(const std::vector<reading>& history, const settings& s, const rehearsals& rehearsed = {});

/// The model as a commented TOML document, and back (model_error on problems).
std::string to_toml(const sustained_model& m);
sustained_model from_toml(std::string_view text, std::string_view source_name = "model");
void write_model_file(const sustained_model& m, const std::string& path);
sustained_model read_model_file(const std::string& path);

/// "sustained_load: N readings from A to B, 3-hour floor, ... written to FILE"
std::string summary(const sustained_model& m, const std::string& path);

} // namespace stream_smarts::sustained_load
