#include "sustained_model.hpp"

#include <common/alert_budget.hpp>
#include <common/atomic_file.hpp>
#include <common/loaded_model.hpp>
#include <common/model_text.hpp>
#include <common/statistics.hpp>
#include <common/toml_text.hpp>
#include <stream_smarts/time.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <span>
#include <sstream>

namespace stream_smarts::sustained_load {

using json::format_number;
using statistics::percentile;
using toml_text::toml_float;
using toml_text::two_digits;

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

std::string hours_text(const std::vector<std::int64_t>& hours) {
  std::string text = "[";
  for (std::size_t i = 0; i < hours.size(); ++i) text += (i ? ", " : "") + std::to_string(hours[i]);
  return text + "]";
}
} // namespace

void check(const settings& s) {
  if (s.hours.empty() || s.hours.size() > most_windows)
    throw settings_error("hours", "must name 1 to " + std::to_string(most_windows) + " windows; got " +
                                      std::to_string(s.hours.size()));
  for (std::size_t i = 0; i < s.hours.size(); ++i) {
    if (s.hours[i] < 1 || s.hours[i] > 24)
      throw settings_error("hours", "must be within 1..24; got " + std::to_string(s.hours[i]));
    if (i > 0 && s.hours[i] <= s.hours[i - 1])
      throw settings_error("hours", "must be in increasing order, each once, e.g. [2, 3, 6]; got " +
                                        std::to_string(s.hours[i - 1]) + " before " + std::to_string(s.hours[i]));
  }
  if (s.baseline_days < least_baseline_days || s.baseline_days > most_baseline_days)
    throw settings_error("baseline_days", "must be within " + std::to_string(least_baseline_days) + ".." +
                                              std::to_string(most_baseline_days) + "; got " +
                                              std::to_string(s.baseline_days));
  if (!(s.alerts_per_week > 0 && s.alerts_per_week <= most_alerts_per_week))
    throw settings_error("alerts_per_week", "must be above 0 and at most " + format_number(most_alerts_per_week) +
                                                " (half the hours of a week); got " + format_number(s.alerts_per_week));
  if (!(std::isfinite(s.min_excess_wh) && s.min_excess_wh > 0))
    throw settings_error("min_excess_wh", "must be a number of Wh above 0; got " + format_number(s.min_excess_wh));
  if (s.budget_days != 0 && (s.budget_days < 14 || s.budget_days > 3660))
    throw settings_error("budget_days",
                         "must be 0 (all of the history) or within 14..3660; got " + std::to_string(s.budget_days));
}

// ---------------------------------------------------------------- scoring state

double usual_level::next(const reading& r, double fallback) {
  const bool weekend = by_weekday_ && r.local.weekday >= 5;
  auto& seen = by_slot_[static_cast<std::size_t>(r.local.hour + (weekend ? hours_per_day : 0))];
  while (!seen.empty() && seen.front().first < r.ts_ms - keep_ms_) seen.pop_front();  // keeps exactly N days ago
  double usual = fallback;
  // Three days of its own before the meter's level replaces the trained one:
  // one odd day must not become "usual".
  if (!seen.empty() && seen.front().first <= r.ts_ms - 3 * day_ms + hour_ms) {
    scratch_.clear();
    for (const auto& [ts, wh] : seen) scratch_.push_back(wh);
    const auto middle = scratch_.begin() + static_cast<std::ptrdiff_t>(scratch_.size() / 2);
    std::nth_element(scratch_.begin(), middle, scratch_.end());
    usual = *middle;
  }
  if (std::isfinite(r.wh) && (seen.empty() || r.ts_ms > seen.back().first)) seen.emplace_back(r.ts_ms, r.wh);
  return usual;
}

double floor_window::next(std::int64_t ts_ms, double excess) {
  // A gap of more than an hour (or time going backwards) starts a new window:
  // what was left on before the gap says nothing about now.
  if (!started_ || ts_ms <= last_ms_ || ts_ms - last_ms_ > hour_ms || !std::isfinite(excess)) {
    minima_.clear();
    times_.clear();
    run_start_ms_ = ts_ms;
  }
  started_ = std::isfinite(excess);
  last_ms_ = ts_ms;
  if (!started_) return nan;
  while (!minima_.empty() && minima_.back().second >= excess) minima_.pop_back();
  minima_.emplace_back(ts_ms, excess);
  while (minima_.front().first <= ts_ms - span_ms_) minima_.pop_front();
  times_.push_back(ts_ms);
  while (times_.front() <= ts_ms - span_ms_) times_.pop_front();
  const bool covered = run_start_ms_ <= ts_ms - span_ms_ + hour_ms;
  return covered ? minima_.front().second : nan;
}

meter_state::meter_state(const settings& s) : usual_(s.baseline_days, s.by_weekday) {
  for (std::int64_t h : s.hours) floors_.emplace_back(h);
}

meter_state::step meter_state::next(const reading& r, const hourly& usual_fallback) {
  if (const step* again = latest_.again(r.ts_ms, r.wh)) return *again;
  step s{usual_.next(r, usual_fallback[static_cast<std::size_t>(r.local.hour)]), {}, r.local.hour, 0};
  s.excess_wh = r.wh - s.usual_wh;
  s.floor_wh.fill(nan);
  for (std::size_t w = 0; w < floors_.size(); ++w) s.floor_wh[w] = floors_[w].next(r.ts_ms, s.excess_wh);
  return latest_.note(r.ts_ms, r.wh, s);
}

std::int64_t meter_state::rise_start_ms(const step& s, std::size_t w, double threshold_wh) const {
  std::int64_t since = window_start_ms(w);
  for (std::size_t i = 0; i < floors_.size(); ++i)
    if (s.floor_wh[i] > threshold_wh) since = std::min(since, window_start_ms(i));  // NaN: not covered
  return since;
}

verdict judge(const sustained_model& m, const meter_state::step& s, int hour) {
  verdict v{-std::numeric_limits<double>::infinity(), 0};
  for (std::size_t w = 0; w < m.threshold.size(); ++w) {
    const double score = s.floor_wh[w] / m.threshold[w][static_cast<std::size_t>(hour)];
    if (std::isfinite(score) && score > v.score) v = {score, w};
  }
  if (!std::isfinite(v.score)) v.score = 0;  // no window covered yet
  return v;
}

// A step delivered again (latest_verdict) is the same step: judged again, it
// leaves the rise as it was.
bool followed_rise::still_on(const sustained_model& m, const meter_state::step& s, const verdict& v) {
  if (v.score > 1) {
    if (!on_) on_ = true, window_ = v.window, threshold_wh_ = m.threshold[v.window][static_cast<std::size_t>(s.hour)];
    return true;
  }
  // A gap of more than an hour starts the window again: until it is covered,
  // the reading alone says whether the rise is still there (the alert policy
  // ends a spell only after a longer gap, and would say "back to normal").
  const double floor = std::isfinite(s.floor_wh[window_]) ? s.floor_wh[window_] : s.excess_wh;
  on_ = on_ && floor > threshold_wh_;  // NaN (a reading that is not a number): gone
  return on_;
}

std::string windows_text(const std::vector<std::int64_t>& hours) {
  std::string text;
  for (std::size_t i = 0; i < hours.size(); ++i)
    text += (i == 0 ? "" : i + 1 == hours.size() ? " and " : ", ") + std::to_string(hours[i]) +
            (i + 1 == hours.size() ? "-hour floor" : "-");
  return text + (hours.size() > 1 ? "s" : "");
}

// ---------------------------------------------------------------- training

namespace {

std::array<double, hours_per_day> hourly_medians(const std::vector<reading>& history) {
  std::array<std::vector<double>, hours_per_day> by_hour;
  for (const auto& r : history)
    if (std::isfinite(r.wh)) by_hour[static_cast<std::size_t>(r.local.hour)].push_back(r.wh);
  std::array<double, hours_per_day> medians{};
  for (int h = 0; h < hours_per_day; ++h) {
    auto& v = by_hour[static_cast<std::size_t>(h)];
    if (v.empty())
      throw std::runtime_error("sustained_load: no reading at hour " + two_digits(h) +
                               " in the history; every hour of the day needs readings");
    std::sort(v.begin(), v.end());
    medians[static_cast<std::size_t>(h)] = percentile(v, 50);
  }
  return medians;
}

/// A reading of the history as training sees it: its local hour and its
/// floors, once all of them are known.
struct replayed {
  int hour;
  std::array<double, most_windows> floor;
  std::int64_t clock_hour;  ///< stream_smarts::clock_hour of the reading
};

/// How many of `readings` may alert: alerts_per_week of them, readings
/// `spacing_ms` apart. As many alert-hours as readings in hourly readings.
double alerts_allowed(std::size_t readings, const settings& s, double spacing_ms) {
  return alert_budget::share_alerting(s.alerts_per_week, spacing_ms) * static_cast<double>(readings);
}

/// Replays readings (in time order) as the scorer would see them and calls
/// `seen(reading, step)` for each.
template <class Seen>
void replay(const std::vector<reading>& readings, const sustained_model& m, Seen&& seen) {
  meter_state state(m.trained);
  for (const auto& r : readings) seen(r, state.next(r, m.usual));
}

/// An event of a rehearsal: per window, its highest floor at each local hour it covers.
using event_peaks = std::array<hourly, most_windows>;

/// The events of one rehearsal: runs of readings with the same event label.
std::vector<event_peaks> rehearsed_events(const std::vector<reading>& rehearsal, const sustained_model& m) {
  std::vector<event_peaks> events;
  event_peaks none;
  for (auto& by_hour : none) by_hour.fill(-std::numeric_limits<double>::infinity());
  std::string_view current;
  replay(rehearsal, m, [&](const reading& r, const meter_state::step& s) {
    const std::string_view label = event_label(r);
    if (label != current && !label.empty()) events.push_back(none);
    current = label;
    if (label.empty()) return;
    for (std::size_t w = 0; w < m.trained.hours.size(); ++w)
      if (std::isfinite(s.floor_wh[w])) {
        double& peak = events.back()[w][static_cast<std::size_t>(r.local.hour)];
        peak = std::max(peak, s.floor_wh[w]);
      }
  });
  return events;
}

/// What the thresholds of one hour would cost: the readings of that hour and
/// of the two beside it (alert_budget::pooled_hours), so that the cost holds
/// on days the history never saw, and which of them these thresholds alert.
struct hour_pool {
  std::vector<const replayed*> readings;
  std::vector<bool> alerting;
  std::array<std::vector<std::uint32_t>, most_windows> highest_first;  ///< per window, readings by floor
  std::array<std::size_t, most_windows> above{};  ///< of highest_first[w]: how many are above the threshold
  double floor_at(std::size_t w, std::size_t i) const { return readings[highest_first[w][i]]->floor[w]; }
};

std::vector<hour_pool> hour_pools(const std::vector<replayed>& seen, std::size_t windows) {
  std::vector<hour_pool> pools(hours_per_day);
  for (const auto& r : seen)
    for (int h : alert_budget::pooled_with(r.hour)) pools[static_cast<std::size_t>(h)].readings.push_back(&r);
  for (auto& p : pools) {
    p.alerting.assign(p.readings.size(), false);
    for (std::size_t w = 0; w < windows; ++w) {
      auto& order = p.highest_first[w];
      order.resize(p.readings.size());
      for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](auto a, auto b) { return p.readings[a]->floor[w] > p.readings[b]->floor[w]; });
    }
  }
  return pools;
}

/// A lower threshold for one window at one hour, and what it would buy.
struct budget_step {
  double gain_per_reading = 0;  ///< events newly caught per reading newly alerting
  std::size_t window = 0;
  int hour = 0;
  double threshold = 0, cost = 0;
  std::size_t above = 0;  ///< of the pool's highest_first[window]: how many alert at `threshold`
};

/// The best step at one window and hour that `left` of the budget pays for.
/// Walks down the pool's floors, a candidate every `unit` more readings
/// alerting: a threshold at the i-th highest floor alerts those strictly above
/// it, as the scorer does (ties stay together), of which only those no other
/// window alerts yet cost anything.
template <class Gain>
budget_step best_step_at(const hour_pool& p, std::size_t w, int h, double left, std::size_t unit, double minimum,
                         const Gain& gain_at) {
  constexpr std::size_t most_units_at_once = 40;  // lets a step cross a few hours of no gain
  constexpr double pool_hours = alert_budget::pooled_hours;
  budget_step best;
  const std::size_t n = p.readings.size(), first = p.above[w];
  std::size_t added = 0, added_above_tie = 0, tie = first;
  for (std::size_t i = first, stop = 1; stop <= most_units_at_once; ++i) {
    const double t = i < n ? p.floor_at(w, i) : -std::numeric_limits<double>::infinity();
    if (i == first || t != p.floor_at(w, i - 1)) tie = i, added_above_tie = added;
    const bool at_minimum = t <= minimum;
    if (at_minimum || added >= stop * unit * pool_hours) {
      ++stop;
      const double cost = static_cast<double>(added_above_tie) / pool_hours;
      if (cost > left) break;
      const double threshold = std::max(t, minimum);
      const std::size_t gain = cost > 0 ? gain_at(w, h, threshold) : 0;
      if (gain > 0 && gain / cost > best.gain_per_reading) best = {gain / cost, w, h, threshold, cost, tie};
      if (at_minimum) break;
    }
    added += !p.alerting[p.highest_first[w][i]];
  }
  return best;
}

/// Spends the budget (`allowed` readings alerting over the history) an
/// alert-hour's worth (`unit` readings) or a few at a time, each time on the
/// window and hour where a lower threshold catches the most events not yet
/// caught per reading it adds to the alerts. What a threshold costs is
/// estimated from the hour's pool (never empty: training refuses a history
/// with an hour never covered). A window and hour left without budget keeps
/// the highest floor of its pool.
std::vector<hourly> spend_budget(std::vector<hour_pool>& pools, const std::vector<event_peaks>& events,
                                 std::size_t windows, double allowed, std::size_t unit, double minimum) {
  std::vector<hourly> threshold(windows);
  for (std::size_t w = 0; w < windows; ++w)
    for (int h = 0; h < hours_per_day; ++h)
      threshold[w][static_cast<std::size_t>(h)] = std::max(pools[static_cast<std::size_t>(h)].floor_at(w, 0), minimum);
  std::vector<bool> caught(events.size(), false);
  auto gain_at = [&](std::size_t w, int h, double t) {
    std::size_t gain = 0;
    for (std::size_t e = 0; e < events.size(); ++e) gain += !caught[e] && events[e][w][static_cast<std::size_t>(h)] > t;
    return gain;
  };
  for (double spent = 0;;) {
    budget_step best;
    for (std::size_t w = 0; w < windows; ++w)
      for (int h = 0; h < hours_per_day; ++h) {
        const budget_step step = best_step_at(pools[static_cast<std::size_t>(h)], w, h, allowed - spent, unit, minimum, gain_at);
        if (step.gain_per_reading > best.gain_per_reading) best = step;
      }
    if (best.gain_per_reading <= 0) return threshold;
    auto& p = pools[static_cast<std::size_t>(best.hour)];
    for (std::size_t i = p.above[best.window]; i < best.above; ++i) p.alerting[p.highest_first[best.window][i]] = true;
    p.above[best.window] = best.above;
    threshold[best.window][static_cast<std::size_t>(best.hour)] = best.threshold;
    spent += best.cost;
    for (std::size_t e = 0; e < events.size(); ++e)
      caught[e] = caught[e] || events[e][best.window][static_cast<std::size_t>(best.hour)] > best.threshold;
  }
}

/// Every hour the same share of the budget, split evenly between the windows.
std::vector<hourly> even_budget(const std::vector<replayed>& seen, const settings& s, double spacing_ms,
                                double lowest_wh) {
  std::vector<hourly> threshold;
  for (std::size_t w = 0; w < s.hours.size(); ++w) {
    std::array<std::vector<double>, hours_per_day> floors;
    for (const auto& r : seen) floors[static_cast<std::size_t>(r.hour)].push_back(r.floor[w]);
    threshold.push_back(alert_budget::thresholds(floors, s.alerts_per_week / static_cast<double>(s.hours.size()),
                                                 spacing_ms, lowest_wh));
  }
  return threshold;
}

/// Scales every threshold by one factor so that `recent` (the last
/// `budget_days` days of the history) alerts `alerts_per_week` times a week.
/// Which hours get the budget is learnt from all of the history (more days
/// estimate it better), but how much the house's own use rises has changed
/// over the years: a house that uses less than it did would otherwise leave
/// budget unspent.
void meet_budget_on_recent_days(sustained_model& m, std::span<const replayed> recent, double spacing_ms,
                                double lowest_wh) {
  if (recent.empty()) return;  // a meter silent through those days: nothing to meet the budget on
  const settings& s = m.trained;
  const double allowed = alerts_allowed(recent.size(), s, spacing_ms);
  // Counted as eval counts false alerts: clock hours with an alert, so that
  // four quarter-hours alerting in one hour cost one alert-hour, not four.
  auto alert_hours_at = [&](double scale) {
    std::size_t n = 0;
    std::int64_t counted = std::numeric_limits<std::int64_t>::min();
    for (const replayed& r : recent) {  // in time order
      bool alert = false;
      for (std::size_t w = 0; w < s.hours.size() && !alert; ++w)
        alert = r.floor[w] > std::max(scale * m.threshold[w][static_cast<std::size_t>(r.hour)], lowest_wh);
      if (alert && r.clock_hour != counted) ++n, counted = r.clock_hour;
    }
    return static_cast<double>(n);
  };
  // Alerts fall as the scale rises: the smallest scale within the budget, to 1 part in 1000.
  double within = 16, over = 1.0 / 16;
  if (alert_hours_at(over) <= allowed) within = over;
  while (within / over > 1.001) {
    const double mid = std::sqrt(within * over);
    (alert_hours_at(mid) <= allowed ? within : over) = mid;
  }
  for (auto& by_hour : m.threshold)
    for (auto& t : by_hour) t = std::max(t * within, lowest_wh);
}

/// The lowest threshold for readings of the history's span: min_excess_wh is
/// per hour, so that a minute's reading (a 2 kW heater adds 33 Wh to it) is
/// not held to an hour's 200 Wh, and could never alert.
double lowest_threshold_wh(const settings& s, const std::vector<reading>& history) {
  const std::int64_t span_ms = loaded_model::typical_span_ms(history);
  return span_ms > 0 ? s.min_excess_wh * static_cast<double>(span_ms) / static_cast<double>(hour_ms) : s.min_excess_wh;
}

/// The history's readings whose floors are all known, in time order, and
/// where those of the last budget_days begin.
std::pair<std::vector<replayed>, std::size_t> replay_history(const std::vector<reading>& history,
                                                             const sustained_model& m) {
  const settings& s = m.trained;
  std::vector<replayed> seen;
  std::size_t recent_begin = std::numeric_limits<std::size_t>::max();
  const std::int64_t recent_from_ms = history.back().ts_ms - s.budget_days * day_ms;
  std::array<bool, hours_per_day> covered{};
  replay(history, m, [&](const reading& r, const meter_state::step& step) {
    if (!std::isfinite(step.floor_wh[s.hours.size() - 1])) return;  // the longest is covered last
    if (r.ts_ms > recent_from_ms) recent_begin = std::min(recent_begin, seen.size());
    covered[static_cast<std::size_t>(r.local.hour)] = true;
    seen.push_back({r.local.hour, step.floor_wh, clock_hour(r)});
  });
  for (int h = 0; h < hours_per_day; ++h)
    if (!covered[static_cast<std::size_t>(h)])
      throw std::runtime_error("sustained_load: no " + std::to_string(s.hours.back()) + " hours in a row around hour " +
                               two_digits(h) + " in the history");
  recent_begin = std::min(recent_begin, seen.size());
  return {std::move(seen), recent_begin};
}

} // namespace

sustained_model train(const std::vector<reading>& history, const settings& s, const rehearsals& rehearsed) {
  check(s);
  const auto needed = static_cast<std::size_t>(s.baseline_days + 14);
  if (const std::size_t days = statistics::days_with_readings(history); days < needed)
    throw std::runtime_error("sustained_load: the history has readings on " + std::to_string(days) +
                             " days, fewer than " + std::to_string(needed) +
                             " (baseline_days + 2 weeks); give it more, a few months is best");
  sustained_model m;
  m.trained = s;
  m.usual = hourly_medians(history);
  auto [seen, recent_begin] = replay_history(history, m);
  const double spacing_ms = alert_budget::median_spacing_ms(history);
  const double lowest_wh = lowest_threshold_wh(s, history);
  if (rehearsed.count == 0) {
    m.threshold = even_budget(seen, s, spacing_ms, lowest_wh);
  } else {
    std::vector<event_peaks> events;
    for (int i = 0; i < rehearsed.count; ++i) {
      auto more = rehearsed_events(rehearsed.make(i), m);
      events.insert(events.end(), more.begin(), more.end());
    }
    auto pools = hour_pools(seen, s.hours.size());
    const double allowed = alerts_allowed(seen.size(), s, spacing_ms);
    const auto unit = static_cast<std::size_t>(std::max(1.0, std::round(hour_ms / spacing_ms)));
    m.threshold = spend_budget(pools, events, s.hours.size(), allowed, unit, lowest_wh);
    m.rehearsals = rehearsed.count;
  }
  if (s.budget_days > 0) meet_budget_on_recent_days(m, std::span(seen).subspan(recent_begin), spacing_ms, lowest_wh);
  loaded_model::record_training_span(m, history);
  return m;
}

// ---------------------------------------------------------------- the file

std::string to_toml(const sustained_model& m) {
  std::ostringstream out;
  out << "# stream-smarts sustained_load model. Per local hour: the usual Wh (used until a\n"
         "# meter has three days of its own) and, per window of `hours`, the threshold: how\n"
         "# far above the usual level every reading of that many hours must be to score 1.0.\n"
      << model_text::format_lines(model_format, model_format_version, m)
      << "hours = " << hours_text(m.trained.hours) << "\n"
      << "baseline_days = " << m.trained.baseline_days << "\n"
      << "by_weekday = " << (m.trained.by_weekday ? "true" : "false") << "\n"
      << "alerts_per_week = " << toml_float(m.trained.alerts_per_week) << "\n"
      << "min_excess_wh = " << toml_float(m.trained.min_excess_wh) << "\n"
      << "budget_days = " << m.trained.budget_days << "  # the budget met on the last this many days (0: all)\n"
      << "rehearsals = " << m.rehearsals << "  # 0: the budget spread evenly over the hours\n"
      << model_text::training_span_lines(m)
      << "hourly = [  # [usual Wh, threshold Wh of each window of `hours`]\n";
  for (int h = 0; h < hours_per_day; ++h) {
    out << "  [" << toml_float(m.usual[static_cast<std::size_t>(h)]);
    for (const auto& by_hour : m.threshold) out << ", " << toml_float(by_hour[static_cast<std::size_t>(h)]);
    out << "],  # " << two_digits(h) << ":00\n";
  }
  out << "]\n";
  return out.str();
}

namespace {

/// `hours = 3` (format version 1) or `hours = [2, 3, 6]`.
std::vector<std::int64_t> read_hours(const toml::table& t) {
  if (t["hours"].is_integer()) return {model_text::required<std::int64_t, model_error>(t, "hours", "an integer")};
  const auto* list = t["hours"].as_array();
  std::vector<std::int64_t> hours;
  if (list != nullptr)
    for (const auto& n : *list)
      if (const auto v = n.value_exact<std::int64_t>()) hours.push_back(*v);
  if (list == nullptr || list->empty() || hours.size() != list->size())
    throw model_error("'hours' must be a list of whole numbers of hours, e.g. [2, 3, 6]");
  return hours;
}

void read_hourly(const toml::table& t, sustained_model& m) {
  const std::size_t windows = m.trained.hours.size();
  const auto* rows = t["hourly"].as_array();
  if (rows == nullptr || rows->size() != hours_per_day)
    throw model_error("'hourly' must be 24 [usual, threshold, ...] rows, one per hour (a truncated file?)");
  m.threshold.assign(windows, hourly{});
  for (int h = 0; h < hours_per_day; ++h) {
    const auto* row = (*rows)[static_cast<std::size_t>(h)].as_array();
    auto value = [&](std::size_t i) { return row && row->size() == 1 + windows ? (*row)[i].value<double>().value_or(nan) : nan; };
    bool usable = std::isfinite(value(0));
    for (std::size_t w = 0; w < windows; ++w) {
      const double threshold = value(1 + w);
      usable = usable && std::isfinite(threshold) && threshold > 0;
      m.threshold[w][static_cast<std::size_t>(h)] = threshold;
    }
    if (!usable)
      throw model_error("hourly row for hour " + two_digits(h) + ": expected [usual, " +
                        (windows == 1 ? std::string("threshold] with a threshold") : "then a threshold for each of " + std::to_string(windows) + " windows] with thresholds") +
                        " above 0");
    m.usual[static_cast<std::size_t>(h)] = value(0);
  }
}

} // namespace

sustained_model from_toml(std::string_view text, std::string_view source_name) {
  const toml::table t = model_text::parse<model_error>(text, source_name);
  model_text::check_format<model_error>(t, model_format, model_format_version, "sustained_load", 1);
  sustained_model m;
  m.trained.hours = read_hours(t);
  m.trained.baseline_days = model_text::required<std::int64_t, model_error>(t, "baseline_days", "an integer");
  m.trained.alerts_per_week = model_text::required<double, model_error>(t, "alerts_per_week", "a number");
  m.trained.min_excess_wh = model_text::required<double, model_error>(t, "min_excess_wh", "a number");
  // Files from before these keys: the same hour on every day, an even budget.
  m.trained.by_weekday = t.contains("by_weekday") &&
                         model_text::required<bool, model_error>(t, "by_weekday", "true or false");
  // Files from before this key met the budget on all of their history.
  m.trained.budget_days =
      t.contains("budget_days") ? model_text::required<std::int64_t, model_error>(t, "budget_days", "an integer") : 0;
  m.rehearsals = t.contains("rehearsals") ? model_text::required<std::int64_t, model_error>(t, "rehearsals", "an integer") : 0;
  if (m.rehearsals < 0) throw model_error("'rehearsals' must be 0 or more; got " + std::to_string(m.rehearsals));
  model_errors::check_as_model(m.trained, check);
  read_hourly(t, m);
  model_text::read_provenance(t, m);
  return m;
}

void write_model_file(const sustained_model& m, const std::string& path) {
  files::write_file_atomically(path, to_toml(m));
}

sustained_model read_model_file(const std::string& path) {
  return from_toml(model_text::read_file<model_error>(path), path);
}

std::string summary(const sustained_model& m, const std::string& path) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& by_hour : m.threshold)
    for (double t : by_hour) lo = std::min(lo, t), hi = std::max(hi, t);
  return "sustained_load: " + std::to_string(m.readings) + " readings from " + m.trained_from + " to " +
         m.trained_to + ", " + windows_text(m.trained.hours) + " over a " +
         std::to_string(m.trained.baseline_days) + "-day usual level, thresholds " + format_number(std::round(lo)) +
         "-" + format_number(std::round(hi)) + " Wh (alerts_per_week = " +
         format_number(m.trained.alerts_per_week) +
         (m.trained.budget_days > 0 ? " on the last " + std::to_string(m.trained.budget_days) + " days of this history, "
                                    : std::string(" on this history, ")) +
         (m.rehearsals > 0 ? "spent where " + std::to_string(m.rehearsals) + " rehearsals catch the most events"
                           : std::string("spread evenly over the hours")) +
         "), written to " + path;
}

} // namespace stream_smarts::sustained_load
