#include "step_model.hpp"

#include <common/alert_budget.hpp>
#include <common/atomic_file.hpp>
#include <common/loaded_model.hpp>
#include <common/model_text.hpp>
#include <common/statistics.hpp>
#include <common/toml_text.hpp>
#include <stream_smarts/options.hpp>
#include <stream_smarts/time.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

namespace stream_smarts::power_step {

using json::format_number;
using toml_text::toml_float;
using toml_text::two_digits;

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

std::string duration(std::int64_t ms) { return duration_text(std::chrono::milliseconds(ms)); }
} // namespace

void check(const settings& s) {
  if (s.hold_ms < least_hold_ms || s.hold_ms > most_hold_ms)
    throw settings_error("hold", "must be within " + duration(least_hold_ms) + ".." + duration(most_hold_ms) +
                                     "; got " + duration(s.hold_ms));
  if (s.before_ms < least_before_ms || s.before_ms > most_before_ms)
    throw settings_error("before", "must be within " + duration(least_before_ms) + ".." + duration(most_before_ms) +
                                       "; got " + duration(s.before_ms));
  if (!(s.alerts_per_week > 0 && s.alerts_per_week <= most_alerts_per_week))
    throw settings_error("alerts_per_week", "must be above 0 and at most " + format_number(most_alerts_per_week) +
                                                "; got " + format_number(s.alerts_per_week));
  if (!(std::isfinite(s.min_step_w) && s.min_step_w > 0))
    throw settings_error("min_step_w", "must be a number of W above 0; got " + format_number(s.min_step_w));
}

// ---------------------------------------------------------------- scoring state

power_sample power_of(const reading& r, std::string_view power_label) {
  if (const auto w = power_label.empty() ? std::nullopt : label_number(r, power_label)) return {end_ms(r), *w};
  return {r.ts_ms, r.wh};
}

local_fields drawn_local(const reading& r, const power_sample& p, const time_zone& zone) {
  return p.ts_ms == r.ts_ms ? r.local : zone.local(p.ts_ms);
}

step_window::step step_window::next(std::int64_t ts_ms, double power_w) {
  // What was on before a gap says nothing about now.
  if (recent_.empty() || ts_ms <= recent_.back().first || ts_ms - recent_.back().first > hour_ms ||
      !std::isfinite(power_w))
    recent_.clear();
  if (!std::isfinite(power_w)) return {nan, nan};
  recent_.emplace_back(ts_ms, power_w);
  // Keep the before period, and the last reading ahead of it: with hourly
  // readings that one (the hour before) is all there is before the hold.
  const std::int64_t hold_start = ts_ms - hold_ms_, before_start = hold_start - before_ms_;
  while (recent_.size() > 1 && recent_[1].first < before_start) recent_.pop_front();

  double floor_w = power_w;
  std::int64_t hold_from_ms = ts_ms;
  scratch_.clear();
  for (const auto& [ts, w] : recent_) {
    if (ts > hold_start) floor_w = std::min(floor_w, w), hold_from_ms = std::min(hold_from_ms, ts);
    else if (ts >= before_start) scratch_.push_back(w);
  }
  if (scratch_.empty() && recent_.front().first < before_start) scratch_.push_back(recent_.front().second);
  if (scratch_.empty()) return {nan, nan};
  const auto middle = scratch_.begin() + static_cast<std::ptrdiff_t>(scratch_.size() / 2);
  std::nth_element(scratch_.begin(), middle, scratch_.end());
  return {*middle, floor_w, hold_from_ms};
}

meter_state::scored meter_state::next(std::int64_t ts_ms, double power_w, double threshold_w, bool watching) {
  if (const scored* again = latest_.again(ts_ms, power_w)) return *again;
  return latest_.note(ts_ms, power_w, judge(ts_ms, power_w, threshold_w, watching));
}

meter_state::scored meter_state::judge(std::int64_t ts_ms, double power_w, double threshold_w, bool watching) {
  const step_window::step s = window_.next(ts_ms, power_w);
  if (!std::isfinite(s.floor_w)) {
    held_before_w_.reset();
    return {0, std::isfinite(s.before_w) ? s.before_w : 0, 0, threshold_w};
  }
  const double before = held_before_w_.value_or(s.before_w);
  const double threshold = held_before_w_ ? std::min(held_threshold_w_, threshold_w) : threshold_w;
  const double score = (s.floor_w - before) / threshold;
  if (score <= 1 || (!held_before_w_ && !watching)) {
    held_before_w_.reset();
    return {score <= 1 ? score : 0, before, 0, threshold};
  }
  if (!held_before_w_) {
    held_since_ms_ = s.hold_from_ms;
    held_threshold_w_ = threshold_w;
  }
  held_before_w_ = before;
  return {score, before, held_since_ms_, threshold};
}

// ---------------------------------------------------------------- training

step_model train(const std::vector<reading>& history, const settings& s, const time_zone& zone,
                 std::string_view power_label) {
  check(s);
  if (const std::size_t days = statistics::days_with_readings(history); days < 28)
    throw std::runtime_error("power_step: the history has readings on " + std::to_string(days) +
                             " days, fewer than 28; give it more, a few months is best");

  // Replay the history as the scorer would see it, and note every step.
  std::array<std::vector<double>, hours_per_day> steps;
  step_window window(s.hold_ms, s.before_ms);
  for (const auto& r : history) {
    const power_sample p = power_of(r, power_label);
    if (const auto st = window.next(p.ts_ms, p.w); std::isfinite(st.floor_w))
      steps[static_cast<std::size_t>(threshold_hour(r, p, zone))].push_back(st.floor_w - st.before_w);
  }

  step_model m;
  m.trained = s;
  m.threshold =
      alert_budget::thresholds(steps, s.alerts_per_week, alert_budget::median_spacing_ms(history), s.min_step_w);
  for (int h = 0; h < hours_per_day; ++h)
    if (std::isnan(m.threshold[static_cast<std::size_t>(h)]))
      throw std::runtime_error("power_step: no two readings in a row around hour " + two_digits(h) +
                               " in the history; every hour of the day needs readings");
  loaded_model::record_training_span(m, history);
  return m;
}

// ---------------------------------------------------------------- the file

std::string to_toml(const step_model& m) {
  std::ostringstream out;
  out << "# stream-smarts power_step model. Per local hour, the threshold: how far (W) the\n"
         "# lowest power of the last `hold_s` seconds must be above the median of the\n"
         "# `before_s` seconds ahead of it to score 1.0.\n"
      << model_text::format_lines(model_format, model_format_version, m)
      << "hold_s = " << m.trained.hold_ms / 1000 << "\n"
      << "before_s = " << m.trained.before_ms / 1000 << "\n"
      << "alerts_per_week = " << toml_float(m.trained.alerts_per_week) << "\n"
      << "min_step_w = " << toml_float(m.trained.min_step_w) << "\n"
      << model_text::training_span_lines(m)
      << "thresholds = [  # W\n";
  for (int h = 0; h < hours_per_day; ++h)
    out << "  " << toml_float(m.threshold[static_cast<std::size_t>(h)]) << ",  # " << two_digits(h) << ":00\n";
  out << "]\n";
  return out.str();
}

namespace {

void read_thresholds(const toml::table& t, step_model& m) {
  const auto* rows = t["thresholds"].as_array();
  if (rows == nullptr || rows->size() != hours_per_day)
    throw model_error("'thresholds' must be 24 numbers, one per hour (a truncated file?)");
  for (int h = 0; h < hours_per_day; ++h) {
    const double w = (*rows)[static_cast<std::size_t>(h)].value<double>().value_or(nan);
    if (!(std::isfinite(w) && w > 0))
      throw model_error("threshold for hour " + two_digits(h) + ": expected a number of W above 0");
    m.threshold[static_cast<std::size_t>(h)] = w;
  }
}

/// A whole number of seconds, in ms. One that cannot be a duration is refused
/// before 1000 * s overflows; check() then says which range is allowed.
std::int64_t seconds_as_ms(const toml::table& t, std::string_view key) {
  constexpr std::int64_t longest_s = std::int64_t{1} << 40;  // 35,000 years
  const auto s = model_text::required<std::int64_t, model_error>(t, key, "an integer");
  if (s < -longest_s || s > longest_s)
    throw model_error("'" + std::string(key) + "' is out of range: " + std::to_string(s) + " s");
  return 1000 * s;
}

} // namespace

step_model from_toml(std::string_view text, std::string_view source_name) {
  using model_text::required;
  const toml::table t = model_text::parse<model_error>(text, source_name);
  model_text::check_format<model_error>(t, model_format, model_format_version, "power_step");
  step_model m;
  m.trained.hold_ms = seconds_as_ms(t, "hold_s");
  m.trained.before_ms = seconds_as_ms(t, "before_s");
  m.trained.alerts_per_week = required<double, model_error>(t, "alerts_per_week", "a number");
  m.trained.min_step_w = required<double, model_error>(t, "min_step_w", "a number");
  model_errors::check_as_model(m.trained, check);
  read_thresholds(t, m);
  model_text::read_provenance(t, m);
  return m;
}

void write_model_file(const step_model& m, const std::string& path) { files::write_file_atomically(path, to_toml(m)); }

step_model read_model_file(const std::string& path) {
  return from_toml(model_text::read_file<model_error>(path), path);
}

std::string summary(const step_model& m, const std::string& path) {
  const auto [lo, hi] = std::minmax_element(m.threshold.begin(), m.threshold.end());
  return "power_step: " + std::to_string(m.readings) + " readings from " + m.trained_from + " to " + m.trained_to +
         ", a step held " + duration(m.trained.hold_ms) + " against the " + duration(m.trained.before_ms) +
         " before, thresholds " + format_number(std::round(*lo)) + "-" + format_number(std::round(*hi)) +
         " W (alerts_per_week = " + format_number(m.trained.alerts_per_week) + " on this history), written to " +
         path;
}

} // namespace stream_smarts::power_step
