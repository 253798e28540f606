#include "evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace stream_smarts::runtime {
namespace {

double ratio(std::size_t a, std::size_t b) {
  return b == 0 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(a) / static_cast<double>(b);
}

std::int64_t day_number(const local_fields& l) { return days_from_civil(l.year, l.month, l.day); }

/// The reading's `label` value, or nullptr if it has none.
const std::string* label_of(const reading& r) {
  for (const auto& l : r.labels)
    if (l.key == "label") return &l.value;
  return nullptr;
}

} // namespace

holdout::holdout(const std::vector<reading>& history, double fraction) {
  std::set<std::int64_t> days;
  for (const auto& r : history) days.insert(day_number(r.local));
  days_ = static_cast<std::size_t>(std::floor(fraction * static_cast<double>(days.size()) + 0.5));
  if (days_ > 0) first_day_ = *std::next(days.rbegin(), static_cast<std::ptrdiff_t>(days_ - 1));
}

bool holdout::contains(const reading& r) const { return day_number(r.local) >= first_day_; }

void judge_held_out(evaluation& e, const std::vector<reading>& history, const holdout& held,
                    const std::function<score_result(const reading&)>& score) {
  std::string begun_before;  // the label of an event begun before the hold-out, while it goes on
  for (const auto& r : history) {
    const score_result s = score(r);
    const std::string_view label = event_label(r);
    if (!held.contains(r)) {
      begun_before = label;
    } else if (label.empty() || label != begun_before) {
      begun_before.clear();
      e.add(r, s);
    }  // else the rest of an event that began on a trained day: it belongs there, as eval judges it
  }
}

double kind_figures::share_caught() const { return ratio(caught, events); }

double kind_figures::median_delay_ms() const {
  if (delays_ms.empty()) return NAN;
  std::vector<std::int64_t> d = delays_ms;
  std::sort(d.begin(), d.end());
  const std::size_t n = d.size();
  return n % 2 ? static_cast<double>(d[n / 2]) : (static_cast<double>(d[n / 2 - 1]) + static_cast<double>(d[n / 2])) / 2;
}

double kind_figures::max_delay_ms() const {
  return delays_ms.empty() ? NAN : static_cast<double>(*std::max_element(delays_ms.begin(), delays_ms.end()));
}

void evaluation::add(const reading& r, const score_result& s) {
  ++readings_;
  days_.insert(day_number(r.local));
  const std::string label(event_label(r));
  const bool alert = s.score > threshold_, truly = !label.empty();
  alerts_ += alert;
  const double value = banded_value(r, s.unit);
  unit_ = s.unit;
  inside_ += value >= s.expected_lo && value <= s.expected_hi;
  anomalous_ += truly;
  labelled_ = labelled_ || label_of(r) != nullptr;
  caught_ += alert && truly;
  if (alert) {
    const std::int64_t hour = clock_hour(r);
    alert_hours_.insert(hour);
    if (!truly) false_hours_.insert(hour);
  }
  // After a hole in the readings (the one before ended before this one
  // starts) an event is another one: inject never places one over a hole.
  const bool after_hole = r.ts_ms > covered_to_ms_;
  covered_to_ms_ = r.span_ms > 0 ? r.ts_ms + r.span_ms : std::numeric_limits<std::int64_t>::max();
  if (after_hole) event_label_.clear();
  if (truly) add_to_event(r, s.score, alert, label);
  event_label_ = label;
  const double centre = std::isnan(s.expected) ? (s.expected_lo + s.expected_hi) / 2 : s.expected;
  abs_error_ += std::fabs(value - centre);
}

void evaluation::add_to_event(const reading& r, double score, bool alert, const std::string& label) {
  if (label != event_label_) events_.emplace_back(label, r);  // an event ends, another starts
  event_outcome& e = events_.back();
  e.last = reading_moment(r);
  ++e.readings;
  if (score > e.highest_score) e.highest_score = score;
  if (alert && !e.first_alert) e.first_alert.emplace(r);
}

std::size_t evaluation::events_caught() const {
  return static_cast<std::size_t>(
      std::count_if(events_.begin(), events_.end(), [](const event_outcome& e) { return e.caught(); }));
}

std::map<std::string, kind_figures> evaluation::kinds() const {
  std::map<std::string, kind_figures> by_kind;
  for (const event_outcome& e : events_) {
    kind_figures& k = by_kind[e.kind];
    ++k.events;
    if (!e.caught()) continue;
    ++k.caught;
    k.delays_ms.push_back(e.delay_ms());
  }
  return by_kind;
}

double evaluation::coverage() const { return ratio(inside_, readings_); }
double evaluation::centre_mae() const { return readings_ ? abs_error_ / static_cast<double>(readings_) : NAN; }
double evaluation::precision() const { return labelled_ ? ratio(caught_, alerts_) : NAN; }
double evaluation::recall() const { return labelled_ ? ratio(caught_, anomalous_) : NAN; }
double evaluation::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : (std::isnan(p) || std::isnan(r) ? NAN : 0.0);
}
double evaluation::false_alert_hours_per_week() const {
  return labelled_ && weeks() > 0 ? static_cast<double>(false_hours_.size()) / weeks() : NAN;
}
double evaluation::alerts_per_week() const { return weeks() > 0 ? static_cast<double>(alerts_) / weeks() : NAN; }

} // namespace stream_smarts::runtime
