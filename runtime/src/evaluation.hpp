// Judging a scorer on history: how much of it lies inside the expected band,
// how far the centre is off, and (on labelled history) how well alerts match
// the truly anomalous readings. Used by `train` (hold-out report) and `eval`.
#pragma once

#include <stream_smarts/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace stream_smarts::runtime {

/// How the events of one kind (one anomalous label value) fared.
struct kind_figures {
  std::size_t events = 0;            ///< runs of readings with this label
  std::size_t caught = 0;            ///< of which at least one reading alerted
  /// Per caught event, from the event's first reading to its first alerted
  /// reading (timestamps), in milliseconds: 0 = its first reading alerted.
  std::vector<std::int64_t> delays_ms;
  double share_caught() const;       ///< caught / events
  double median_delay_ms() const;    ///< NaN if none was caught; the mean of the middle two for an even count
  double max_delay_ms() const;       ///< NaN if none was caught
};

/// When a reading was and what it measured: what an event keeps of its
/// readings (not their meter and labels, copied for every reading otherwise).
struct reading_moment {
  std::int64_t ts_ms = 0;
  double wh = 0;
  local_fields local;
  explicit reading_moment(const reading& r) : ts_ms(r.ts_ms), wh(r.wh), local(r.local) {}
};

/// One event (a run of consecutive readings with the same anomalous label)
/// and how a model did on it.
struct event_outcome {
  event_outcome(std::string kind, const reading& r) : kind(std::move(kind)), first(r), last(r) {}
  std::string kind;                      ///< the label
  reading_moment first, last;            ///< its first and last readings
  std::size_t readings = 0;
  std::optional<reading_moment> first_alert;  ///< its first reading scored above the threshold
  double highest_score = -std::numeric_limits<double>::infinity();  ///< -inf if no reading had a score
  bool caught() const { return first_alert.has_value(); }
  std::int64_t delay_ms() const { return first_alert ? first_alert->ts_ms - first.ts_ms : 0; }
};

/// The hold-out part of a history: its last days, as a scorer is used
/// (trained on the past, then run on the days after). Random days would let
/// a model learn the weeks around each held-out day, and would spend a budget
/// met on the last year (sustained_load) on days from all the years.
class holdout {
public:
  /// The last `fraction` of the local days with readings, rounded (none if
  /// that is under half a day), whatever the order of the readings.
  holdout(const std::vector<reading>& history, double fraction);
  bool contains(const reading& r) const;
  std::size_t days() const { return days_; }

private:
  std::int64_t first_day_ = std::numeric_limits<std::int64_t>::max();
  std::size_t days_ = 0;
};

class evaluation {
public:
  explicit evaluation(double threshold) : threshold_(threshold) {}
  void add(const reading& r, const score_result& s);

  std::size_t readings() const { return readings_; }
  std::size_t alerts() const { return alerts_; }
  std::size_t anomalous() const { return anomalous_; }  ///< labelled so
  /// Whether any reading had a `label` at all: without, precision and
  /// recall mean nothing and are NaN.
  bool labelled() const { return labelled_; }
  double weeks() const { return static_cast<double>(days_.size()) / 7; }  ///< days with readings / 7
  /// The measures below are of the banded value (banded_value): the energy,
  /// or for a scorer whose band is in W (power_step), the power.
  double coverage() const;         ///< share of readings with lo <= value <= hi
  double centre_mae() const;       ///< mean |value - centre|, centre = expected or the band's middle
  band_unit unit() const { return unit_; }  ///< what coverage and centre_mae are in
  double precision() const;        ///< alerts that were anomalous / alerts
  double recall() const;           ///< anomalous readings alerted / anomalous readings
  double f1() const;
  /// Clock hours (of the reading's zone) with at least one alert on a
  /// reading not labelled anomalous: for hourly readings the false alerts,
  /// for minute readings an hour with 1 or 60 false alerts counts once.
  std::size_t false_alert_hours() const { return false_hours_.size(); }
  /// Clock hours with at least one alert, labelled or not: what a false-alarm
  /// budget in alert-hours a week is counted in, whatever the readings' pace.
  std::size_t alert_hours() const { return alert_hours_.size(); }
  double false_alert_hours_per_week() const;
  /// Events: runs of consecutive readings with the same anomalous label (a
  /// heater left on for five hours is one event); caught if any alerted.
  const std::vector<event_outcome>& event_outcomes() const { return events_; }
  std::size_t events() const { return events_.size(); }
  std::size_t events_caught() const;
  /// The events by kind (label value), in label order.
  std::map<std::string, kind_figures> kinds() const;
  double alerts_per_week() const;

private:
  void add_to_event(const reading& r, double score, bool alert, const std::string& label);

  double threshold_;
  std::size_t readings_ = 0, alerts_ = 0, inside_ = 0, anomalous_ = 0, caught_ = 0;
  double abs_error_ = 0;
  band_unit unit_ = band_unit::wh;
  bool labelled_ = false;
  std::vector<event_outcome> events_;
  std::string event_label_;       // label of the event the last reading was in; empty if none
  std::int64_t covered_to_ms_ = std::numeric_limits<std::int64_t>::max();  // the end of the last reading's span
  std::set<std::int64_t> days_;
  std::set<std::int64_t> false_hours_;  // clock hours with a false alert
  std::set<std::int64_t> alert_hours_;  // clock hours with any alert
};

/// The hold-out report's judging: `score` is given every reading of
/// `history` in order, because a scorer's running state (a recent usual
/// level, the floor of the last hours) needs the days before, as it has them
/// when running; only the readings of held-out days are added to `e`, but
/// not those of an event (a labelled run) that began before them.
void judge_held_out(evaluation& e, const std::vector<reading>& history, const holdout& held,
                    const std::function<score_result(const reading&)>& score);

} // namespace stream_smarts::runtime
