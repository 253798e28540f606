// Appliance-left-on events added to a real history, for `stream-smarts
// inject`: what a forgotten heater or oven would have added on top of what
// the house really used, labelled so that `eval` can tell caught events from
// false alerts. The pure parts: kinds, placing events, adding their energy.
#pragma once

#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

/// One kind of event: a power, switched on at a local time between
/// first_hour:00 and last_hour:00 (first_hour > last_hour wraps midnight:
/// 22-1 is 22:00 to 01:00), left on for min_hours to max_hours: constant,
/// or cycling on a thermostat, on_minutes on then off_minutes off from the
/// switch-on.
struct event_kind {
  std::string name;
  double watts = 0;
  int first_hour = 0, last_hour = 0;
  double min_hours = 0, max_hours = 0;
  int on_minutes = 0, off_minutes = 0;  ///< off_minutes 0: always on
};

/// heater_night (2000 W, 22-1, 2-7 h), oven_afternoon (1500 W, 13-16, 2-4 h),
/// heater_day (1000 W, 8-12, 6-10 h).
std::vector<event_kind> builtin_kinds();

/// "NAME:WATTS:FIRST_HOUR-LAST_HOUR:MIN_H-MAX_H[:ON_MIN/OFF_MIN]", e.g.
/// heater_night:2000:22-1:2-7, or convector:2400:22-1:2-7:3/2 (3 minutes on,
/// 2 off).
/// Throws std::invalid_argument saying what is wrong with it.
event_kind parse_kind(const std::string& spec);

/// The kinds to inject: the built-in ones, overridden or extended by
/// `definitions` (--kind), then chosen by `chosen` (--kinds, comma separated;
/// not given = the built-in ones and every newly defined one). Throws
/// std::invalid_argument naming the option at fault.
std::vector<event_kind> choose_kinds(const std::vector<std::string>& definitions,
                                     const std::optional<std::string>& chosen);

/// The highest --per-week that still leaves each event a period of its
/// longest duration plus a day to be placed in.
double max_per_week(const std::vector<event_kind>& kinds);

struct planned_event {
  std::size_t kind = 0;       ///< index into the kinds
  std::int64_t start_ms = 0;  ///< UTC, a whole minute
  std::int64_t end_ms = 0;    ///< exclusive
  std::size_t readings = 0;   ///< readings it added energy to (0: it fell wholly or partly in a gap of the history)
};

/// Places events in [from_ms, to_ms): the span is cut into periods of
/// 7 / per_week days on the local wall clock, from the local midnight at or
/// before from_ms, and each
/// whole period gets one event: a kind, a duration (whole minutes from
/// min_hours to max_hours) and a start (a whole minute whose local time is in
/// the kind's window, the event ending inside the period), each drawn
/// uniformly with std::mt19937_64 seeded with `seed` and a fixed mapping to
/// ranges, so the same seed places the same events on every machine. Events
/// never overlap.
std::vector<planned_event> place_events(const std::vector<event_kind>& kinds, std::int64_t from_ms,
                                        std::int64_t to_ms, double per_week, std::uint64_t seed,
                                        const time_zone& zone);

/// How long each reading covers, by position: its span, as its source says
/// (an hour, or a Pi's trailing hour read every minute); for a reading that
/// does not say (span 0: a source written before spans), the distance to
/// the nearest other timestamp (before or after, so a gap in the history
/// does not make the reading before it longer), or an hour if it is the
/// only one.
std::vector<std::int64_t> reading_intervals(const std::vector<reading>& history);

/// The end of the history: the latest end of a reading's interval.
std::int64_t history_end_ms(const std::vector<reading>& history, const std::vector<std::int64_t>& intervals);

/// Adds each event's energy to the readings whose interval it overlaps
/// (watts x the time it is on within the overlap, so an hourly reading half
/// covered by a constant load gets half of watts x 1 h, and a Pi's trailing
/// hour what the hour holds of it), adds watts to a reading's `power_label`
/// if the event is on at the reading's end, when that power was measured,
/// and sets their `label` label to the kind's name, its off minutes' too;
/// counts them per event. Returns, by position, whether a reading was
/// changed.
std::vector<bool> apply_events(std::vector<reading>& history, const std::vector<std::int64_t>& intervals,
                               std::vector<planned_event>& events, const std::vector<event_kind>& kinds);

/// What inject_events did: the events (with the readings each changed) and,
/// by position, whether a reading was changed.
struct injection {
  std::vector<planned_event> events;
  std::vector<bool> touched;
};

/// Places events over the whole span of the history (place_events) and adds
/// them to it (apply_events): what `stream-smarts inject` writes out. Here
/// and in the functions above, `history` is in time order, as
/// offline_session::read_history gives it.
injection inject_events(std::vector<reading>& history, const std::vector<event_kind>& kinds, double per_week,
                        std::uint64_t seed, const time_zone& zone);

/// For `stream-smarts train`: the i-th rehearsal, a copy of the history
/// without its own `label`s, with events placed one a week by seed + i, for
/// a trainer that learns where its false-alarm budget catches the most
/// (stage_context::rehearsal), and for the hold-out report's events.
std::vector<reading> rehearsal(const std::vector<reading>& history, const std::vector<event_kind>& kinds, int i,
                               std::uint64_t seed, const time_zone& zone);

/// The history as CSV `ts,wh,<its other labels>,label`: ts as local time
/// with its UTC offset (what the replay source reads back as the same
/// instant), wh to a millionth of a Wh, the other labels (gpio_meter's
/// power_w, ...) as columns in the order they first appear in `history`, the
/// reading's `label` if it is anomalous, else "0". When a reading covers
/// other than an hour (the sources' default span), a `span_ms` column after
/// wh says each reading's, so the file reads back as the history it was.
class labelled_csv {
public:
  explicit labelled_csv(const std::vector<reading>& history);
  std::string header() const;
  std::string line(const reading& r) const;

private:
  bool says_span_ = false;
  bool says_meter_ = false;           ///< a meter other than replay's default: kept, so it replays as it was
  std::vector<std::string> columns_;  ///< the labels other than `label`
};

} // namespace stream_smarts::runtime
