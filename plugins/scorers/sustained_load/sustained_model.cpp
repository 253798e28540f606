#include "sustained_model.hpp"

#include <common/alert_budget.hpp>
#include <common/atomic_file.hpp>
#include <common/model_text.hpp>
#include <common/statistics.hpp>
#include <common/toml_text.hpp>
#include <stream_smarts/time.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

namespace stream_smarts::sustained_load {

using json::format_number;
using statistics::percentile;
using toml_text::toml_float;
using toml_text::toml_string;
using toml_text::two_digits;

namespace {
constexpr std::int64_t day_ms = 24 * hour_ms;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
}

void check(const settings& s) {
  if (s.hours < 1 || s.hours > 24) throw settings_error("hours", "must be within 1..24; got " + std::to_string(s.hours));
  if (s.baseline_days < 3 || s.baseline_days > 365)
    throw settings_error("baseline_days", "must be within 3..365; got " + std::to_string(s.baseline_days));
  if (!(s.alerts_per_week > 0 && s.alerts_per_week <= 84))
    throw settings_error("alerts_per_week", "must be above 0 and at most 84 (half the hours of a week); got " +
                                                format_number(s.alerts_per_week));
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
    run_start_ms_ = ts_ms;
  }
  started_ = std::isfinite(excess);
  last_ms_ = ts_ms;
  if (!started_) return nan;
  while (!minima_.empty() && minima_.back().second >= excess) minima_.pop_back();
  minima_.emplace_back(ts_ms, excess);
  while (minima_.front().first <= ts_ms - span_ms_) minima_.pop_front();
  const bool covered = run_start_ms_ <= ts_ms - span_ms_ + hour_ms;
  return covered ? minima_.front().second : nan;
}

meter_state::step meter_state::next(const reading& r, const std::array<double, hours_per_day>& usual_fallback) {
  const double usual = usual_.next(r, usual_fallback[static_cast<std::size_t>(r.local.hour)]);
  return {usual, floor_.next(r.ts_ms, r.wh - usual)};
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

using floors_by_hour = std::array<std::vector<double>, hours_per_day>;

/// How many of `floors` may alert: alerts_per_week of them, readings `spacing_ms` apart.
double alerts_allowed(const floors_by_hour& floors, const settings& s, double spacing_ms) {
  std::size_t count = 0;
  for (const auto& by_hour : floors) count += by_hour.size();
  return alert_budget::share_alerting(s.alerts_per_week, spacing_ms) * static_cast<double>(count);
}

/// Replays readings (in time order) as the scorer would see them and calls
/// `seen(reading, floor)` for each; the floor is NaN until it is known.
template <class Seen>
void replay(const std::vector<reading>& readings, const sustained_model& m, Seen&& seen) {
  meter_state state(m.trained);
  for (const auto& r : readings) seen(r, state.next(r, m.usual).floor_wh);
}

/// An event of a rehearsal: its highest floor at each local hour it covers.
using event_peaks = std::array<double, hours_per_day>;

/// The events of one rehearsal: runs of readings with the same event label.
std::vector<event_peaks> rehearsed_events(const std::vector<reading>& rehearsal, const sustained_model& m) {
  std::vector<event_peaks> events;
  event_peaks none;
  none.fill(-std::numeric_limits<double>::infinity());
  std::string_view current;
  replay(rehearsal, m, [&](const reading& r, double f) {
    const std::string_view label = event_label(r);
    if (label != current && !label.empty()) events.push_back(none);
    current = label;
    if (!label.empty() && std::isfinite(f)) {
      double& peak = events.back()[static_cast<std::size_t>(r.local.hour)];
      peak = std::max(peak, f);
    }
  });
  return events;
}

/// Spends the budget (`allowed` readings above their threshold over the
/// history) an alert-hour's worth (`unit` readings) or a few at a time, each
/// time at the hour where it catches the most events not yet caught per
/// reading spent. `pools` holds each hour's floors with those of the hours
/// beside it (alert_budget::pooled), sorted highest first: what a threshold
/// costs is estimated from three hours of history, not one hour's few
/// busiest days, so it holds on days the training never saw. An hour left
/// without budget keeps the highest floor of its pool.
std::array<double, hours_per_day> spend_budget(const floors_by_hour& pools, const std::vector<event_peaks>& events,
                                               double allowed, std::size_t unit, double minimum) {
  constexpr std::size_t most_units_at_once = 40;  // lets a step cross a few hours of no gain
  constexpr double pool_hours = alert_budget::pooled_hours;
  auto above = [&](int h, double t) {  // readings of hour h above t: what threshold t costs there
    const auto& f = pools[static_cast<std::size_t>(h)];
    return static_cast<double>(std::upper_bound(f.begin(), f.end(), t, std::greater<>()) - f.begin()) / pool_hours;
  };
  std::array<double, hours_per_day> threshold{};
  for (int h = 0; h < hours_per_day; ++h)
    threshold[static_cast<std::size_t>(h)] = std::max(pools[static_cast<std::size_t>(h)].front(), minimum);
  std::vector<bool> caught(events.size(), false);
  double spent = 0;
  for (;;) {
    struct step { double gain_per_reading = 0; int hour = 0; double threshold = 0, cost = 0; } best;
    for (int h = 0; h < hours_per_day; ++h) {
      const auto& f = pools[static_cast<std::size_t>(h)];
      const double used = above(h, threshold[static_cast<std::size_t>(h)]);
      for (std::size_t m = 1; m <= most_units_at_once; ++m) {
        const auto next = static_cast<std::size_t>(std::llround((used + static_cast<double>(m * unit)) * pool_hours));
        const double t = std::max(next < f.size() ? f[next] : -std::numeric_limits<double>::infinity(), minimum);
        const double cost = above(h, t) - used;
        if (spent + cost > allowed) break;
        if (cost <= 0) continue;
        std::size_t gain = 0;
        for (std::size_t e = 0; e < events.size(); ++e)
          gain += !caught[e] && events[e][static_cast<std::size_t>(h)] > t;
        if (gain > 0 && gain / cost > best.gain_per_reading) best = {gain / cost, h, t, cost};
      }
    }
    if (best.gain_per_reading <= 0) return threshold;
    threshold[static_cast<std::size_t>(best.hour)] = best.threshold;
    spent += best.cost;
    for (std::size_t e = 0; e < events.size(); ++e)
      caught[e] = caught[e] || events[e][static_cast<std::size_t>(best.hour)] > best.threshold;
  }
}

/// Scales every threshold by one factor so that the last `budget_days` days
/// of the history alert `alerts_per_week` times a week. Which hours get the
/// budget is learnt from all of the history (more days estimate it better),
/// but how much the house's own use rises has changed over the years: a
/// house that uses less than it did would otherwise leave budget unspent.
/// `recent`: the floors of those days by hour.
void meet_budget_on_recent_days(sustained_model& m, const floors_by_hour& recent, double spacing_ms) {
  const settings& s = m.trained;
  const double allowed = alerts_allowed(recent, s, spacing_ms);
  auto alerts_at = [&](double scale) {
    std::size_t n = 0;
    for (int h = 0; h < hours_per_day; ++h) {
      const double t = std::max(scale * m.threshold[static_cast<std::size_t>(h)], s.min_excess_wh);
      for (double f : recent[static_cast<std::size_t>(h)]) n += f > t;
    }
    return static_cast<double>(n);
  };
  // Alerts fall as the scale rises: the smallest scale within the budget, to 1 part in 1000.
  double within = 16, over = 1.0 / 16;
  if (alerts_at(over) <= allowed) within = over;
  while (within / over > 1.001) {
    const double mid = std::sqrt(within * over);
    (alerts_at(mid) <= allowed ? within : over) = mid;
  }
  for (auto& t : m.threshold) t = std::max(t * within, s.min_excess_wh);
}

} // namespace

sustained_model train(const std::vector<reading>& history, const settings& s, const rehearsals& rehearsed) {
  check(s);
  const std::int64_t needed_ms = (s.baseline_days + 14) * day_ms;
  if (history.empty() || history.back().ts_ms - history.front().ts_ms < needed_ms)
    throw std::runtime_error("sustained_load: the history spans less than " + std::to_string(s.baseline_days + 14) +
                             " days (baseline_days + 2 weeks); give it more, a few months is best");
  sustained_model m;
  m.trained = s;
  m.usual = hourly_medians(history);

  floors_by_hour floors, recent;  // recent: of the last budget_days
  const std::int64_t recent_from_ms = history.back().ts_ms - s.budget_days * day_ms;
  replay(history, m, [&](const reading& r, double f) {
    if (!std::isfinite(f)) return;
    floors[static_cast<std::size_t>(r.local.hour)].push_back(f);
    if (s.budget_days > 0 && r.ts_ms > recent_from_ms) recent[static_cast<std::size_t>(r.local.hour)].push_back(f);
  });
  for (int h = 0; h < hours_per_day; ++h)
    if (floors[static_cast<std::size_t>(h)].empty())
      throw std::runtime_error("sustained_load: no " + std::to_string(s.hours) + " hours in a row around hour " +
                               two_digits(h) + " in the history");
  const double spacing_ms = alert_budget::median_spacing_ms(history);
  if (rehearsed.count == 0) {
    m.threshold = alert_budget::thresholds(floors, s.alerts_per_week, spacing_ms, s.min_excess_wh);
  } else {
    std::vector<event_peaks> events;
    for (int i = 0; i < rehearsed.count; ++i) {
      auto more = rehearsed_events(rehearsed.make(i), m);
      events.insert(events.end(), more.begin(), more.end());
    }
    floors_by_hour pools;
    for (int h = 0; h < hours_per_day; ++h) {
      auto& pool = pools[static_cast<std::size_t>(h)] = alert_budget::pooled(floors, h);
      std::sort(pool.begin(), pool.end(), std::greater<>());
    }
    const double allowed = alerts_allowed(floors, s, spacing_ms);
    const auto unit = static_cast<std::size_t>(std::max(1.0, std::round(hour_ms / spacing_ms)));
    m.threshold = spend_budget(pools, events, allowed, unit, s.min_excess_wh);
    m.rehearsals = rehearsed.count;
  }
  if (s.budget_days > 0) meet_budget_on_recent_days(m, recent, spacing_ms);
  model_text::record_training_span(m, history);
  return m;
}

// ---------------------------------------------------------------- the file

std::string to_toml(const sustained_model& m) {
  std::ostringstream out;
  out << "# stream-smarts sustained_load model. Per local hour: the usual Wh (used until a\n"
         "# meter has three days of its own) and the threshold: how far above the usual\n"
         "# level every reading of the last `hours` hours must be to score 1.0.\n"
      << "format = " << toml_string(model_format) << "\n"
      << "format_version = " << model_format_version << "\n"
      << "timezone = " << toml_string(m.timezone) << "\n"
      << "hours = " << m.trained.hours << "\n"
      << "baseline_days = " << m.trained.baseline_days << "\n"
      << "by_weekday = " << (m.trained.by_weekday ? "true" : "false") << "\n"
      << "alerts_per_week = " << toml_float(m.trained.alerts_per_week) << "\n"
      << "min_excess_wh = " << toml_float(m.trained.min_excess_wh) << "\n"
      << "budget_days = " << m.trained.budget_days << "  # the budget met on the last this many days (0: all)\n"
      << "rehearsals = " << m.rehearsals << "  # 0: the budget spread evenly over the hours\n"
      << model_text::training_span_lines(m)
      << "hourly = [  # [usual Wh, threshold Wh]\n";
  for (int h = 0; h < hours_per_day; ++h)
    out << "  [" << toml_float(m.usual[static_cast<std::size_t>(h)]) << ", "
        << toml_float(m.threshold[static_cast<std::size_t>(h)]) << "],  # " << two_digits(h) << ":00\n";
  out << "]\n";
  return out.str();
}

namespace {

void read_hourly(const toml::table& t, sustained_model& m) {
  const auto* rows = t["hourly"].as_array();
  if (rows == nullptr || rows->size() != hours_per_day)
    throw model_error("'hourly' must be 24 [usual, threshold] rows, one per hour (a truncated file?)");
  for (int h = 0; h < hours_per_day; ++h) {
    const auto* row = (*rows)[static_cast<std::size_t>(h)].as_array();
    const double usual = row && row->size() == 2 ? (*row)[0].value<double>().value_or(nan) : nan;
    const double threshold = row && row->size() == 2 ? (*row)[1].value<double>().value_or(nan) : nan;
    if (!std::isfinite(usual) || !(std::isfinite(threshold) && threshold > 0))
      throw model_error("hourly row for hour " + two_digits(h) +
                        ": expected [usual, threshold] with a threshold above 0");
    m.usual[static_cast<std::size_t>(h)] = usual;
    m.threshold[static_cast<std::size_t>(h)] = threshold;
  }
}

} // namespace

sustained_model from_toml(std::string_view text, std::string_view source_name) {
  const toml::table t = model_text::parse<model_error>(text, source_name);
  model_text::check_format<model_error>(t, model_format, model_format_version, "sustained_load");
  sustained_model m;
  m.trained.hours = model_text::required<std::int64_t, model_error>(t, "hours", "an integer");
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
  try {
    check(m.trained);
  } catch (const settings_error& e) {
    throw model_error(e.what());
  }
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
  const auto [lo, hi] = std::minmax_element(m.threshold.begin(), m.threshold.end());
  return "sustained_load: " + std::to_string(m.readings) + " readings from " + m.trained_from + " to " +
         m.trained_to + ", " + std::to_string(m.trained.hours) + "-hour floor over a " +
         std::to_string(m.trained.baseline_days) + "-day usual level, thresholds " + format_number(std::round(*lo)) +
         "-" + format_number(std::round(*hi)) + " Wh (alerts_per_week = " +
         format_number(m.trained.alerts_per_week) +
         (m.trained.budget_days > 0 ? " on the last " + std::to_string(m.trained.budget_days) + " days of this history, "
                                    : std::string(" on this history, ")) +
         (m.rehearsals > 0 ? "spent where " + std::to_string(m.rehearsals) + " rehearsals catch the most events"
                           : std::string("spread evenly over the hours")) +
         "), written to " + path;
}

} // namespace stream_smarts::sustained_load
